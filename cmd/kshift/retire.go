package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/kshift/kshift/executor"
)

// printRetire prints what a retire-sources step (or its undo) found and
// what the operator does next: the controller, the target bootstrap list,
// the checklist, the order to stop the sources in, and where it stands.
func printRetire(w io.Writer, label string, res *executor.StepResult, err error) {
	r := res.Retire
	if err != nil {
		return // the error says why
	}
	if r.Restart {
		switch {
		case !r.Waiting:
			fmt.Fprintf(w, "%s (%s): source brokers %v are registered again: nothing else to undo; roll back the steps before it next\n", label, res.Phase, r.Sources)
		default:
			fmt.Fprintf(w, "%s (%s): waiting for the operator: start source brokers %v again (registered: %v); run this again, or give --wait-for-sources, to check\n", label, res.Phase, r.Sources, r.Registered)
		}
		return
	}
	if len(r.StopOrder) == 0 && !r.Waiting {
		fmt.Fprintf(w, "%s (%s): done: source brokers %v have left; nothing is offline or under-replicated; controller %d\n", label, res.Phase, r.Sources, r.Controller)
		return
	}
	fmt.Fprintf(w, "%s (%s): the source brokers hold nothing: no replica, leader or coordinator, nothing uncovered, nothing moving, everything in sync\n", label, res.Phase)
	switch {
	case r.ControllerMoved != "":
		fmt.Fprintf(w, "  controller: moved %s\n", r.ControllerMoved)
	default:
		fmt.Fprintf(w, "  controller: broker %d\n", r.Controller)
	}
	if r.Bootstrap != "" {
		fmt.Fprintf(w, "  clients' bootstrap list: %s\n", r.Bootstrap)
	}
	fmt.Fprintln(w, "  checklist before stopping the sources:")
	if r.SourceAddrs != "" {
		fmt.Fprintf(w, "    - no client's bootstrap.servers may name the sources any more (%s): give them the list above\n", r.SourceAddrs)
	}
	for _, item := range r.Checklist {
		fmt.Fprintf(w, "    - %s\n", item)
	}
	if len(r.StopOrder) > 0 {
		ids := make([]string, len(r.StopOrder))
		for i, id := range r.StopOrder {
			ids[i] = fmt.Sprint(id)
		}
		fmt.Fprintf(w, "  stop the source brokers one at a time, each after the one before has left, in this order: %s\n", strings.Join(ids, ", "))
	}
	if r.Waiting {
		fmt.Fprintf(w, "%s (%s): waiting for the operator: source brokers %v are still registered; run this again (or give --wait-for-sources) once they are stopped: it checks that they left and that nothing went offline or under-replicated\n", label, res.Phase, r.Registered)
		return
	}
	fmt.Fprintf(w, "%s (%s): done: source brokers %v have left; nothing is offline or under-replicated; controller %d\n", label, res.Phase, r.Sources, r.Controller)
}
