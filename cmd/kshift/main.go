// Command kshift moves a live ZooKeeper-mode Kafka cluster onto new brokers and
// new ZooKeeper nodes with zero downtime, by the shared-cluster method.
//
// This package is the command line only: flags, prompts, printing and exit
// codes. The work is done by planner/, executor/, zkops/, inspect/ and plans/.
package main

import (
	"context"
	"fmt"
	"os"
)

func main() {
	ctx, stop := context.WithCancel(context.Background())
	notes := newInterruptNotes(os.Stderr)
	notes.listen(ctx, stop)
	app := newApp()
	app.Metadata = map[string]any{metaInterrupts: notes}
	err := app.RunContext(ctx, os.Args)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "kshift: "+err.Error())
	}
	os.Exit(exitCode(err))
}
