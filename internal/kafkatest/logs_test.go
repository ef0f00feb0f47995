package kafkatest

import (
	"fmt"
	"os"
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
	// Lines appended by hand mark the moment exactly: Kafka's own lines
	// about a topic can be written a little after CreateTopic returns.
	serverLog := c.Broker(t, 1).ServerLog()
	appendLine(t, serverLog, "kafkatest-marker before "+t.Name())
	failed := &failedTB{TB: t}
	c.dumpLogsOnFailure(failed)
	appendLine(t, serverLog, "kafkatest-marker during "+t.Name())
	topic := TopicName(t, "during")
	c.CreateTopic(t, topic, Topic{Partitions: 1, ReplicationFactor: 1})
	if len(failed.cleanups) != 1 {
		t.Fatalf("%d cleanups registered, want 1", len(failed.cleanups))
	}
	failed.cleanups[0]()
	logged := strings.Join(failed.logs, "\n")
	for _, want := range []string{"kafkatest-marker during", topic, "controller.log", "state-change.log"} {
		if !strings.Contains(logged, want) {
			t.Errorf("the failed test was not shown %q:\n%s", want, logged)
		}
	}
	if strings.Contains(logged, "kafkatest-marker before") {
		t.Errorf("the failed test was shown a line written before it began:\n%s", logged)
	}
}

func appendLine(t *testing.T, path, line string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(line + "\n"); err != nil {
		t.Fatal(err)
	}
}
