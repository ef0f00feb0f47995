package kafkatest

import (
	"fmt"
	"strings"
	"testing"
)

// failedTB is a test that has failed, recording what it is told to log
// and the cleanups it is given.
type failedTB struct {
	testing.TB
	logs     []string
	cleanups []func()
}

func (f *failedTB) Helper()           {}
func (f *failedTB) Failed() bool      { return true }
func (f *failedTB) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }
func (f *failedTB) Logf(format string, args ...any) {
	f.logs = append(f.logs, fmt.Sprintf(format, args...))
}

func TestAFailedTestSeesTheLogLinesWrittenWhileItRan(t *testing.T) {
	c := Shared(t, sharedOptions)
	before := TopicName(t, "before")
	c.CreateTopic(t, before, Topic{Partitions: 1, ReplicationFactor: 1})
	failed := &failedTB{TB: t}
	c.dumpLogsOnFailure(failed)
	during := TopicName(t, "during")
	c.CreateTopic(t, during, Topic{Partitions: 1, ReplicationFactor: 1})
	if len(failed.cleanups) != 1 {
		t.Fatalf("%d cleanups registered, want 1", len(failed.cleanups))
	}
	failed.cleanups[0]()
	logged := strings.Join(failed.logs, "\n")
	if !strings.Contains(logged, during) || strings.Contains(logged, before) {
		t.Fatalf("the failed test was shown lines about %s: %v, and about %s, made before it: %v; want only the first\n%s",
			during, strings.Contains(logged, during), before, strings.Contains(logged, before), logged)
	}
	for _, f := range []string{"state-change.log", "server.log"} {
		if !strings.Contains(logged, f) {
			t.Errorf("no %s in the dump:\n%s", f, logged)
		}
	}
}
