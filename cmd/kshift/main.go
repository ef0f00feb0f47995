// Command kshift moves a live ZooKeeper-mode Kafka cluster onto new brokers and
// new ZooKeeper nodes with zero downtime, by the shared-cluster method.
//
// This package is the command line only: flags, prompts, printing and exit
// codes. The work is done by planner/, executor/, zkops/ and plans/.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newApp().RunContext(ctx, os.Args)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "kshift: "+err.Error())
	}
	os.Exit(exitCode(err))
}
