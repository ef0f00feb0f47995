package kafkatest

import (
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
)

// logTailLines is how many lines of each log file a failed test is shown.
const logTailLines = 40

// LogFiles lists the cluster's log files: ZooKeeper's, then each broker's
// server.log, controller.log and state-change.log, in broker order.
func (c *Cluster) LogFiles() []string {
	files := []string{c.zk.LogPath()}
	for _, id := range c.ids {
		b := c.brokers[id]
		files = append(files, b.ServerLog(), b.ControllerLog(), b.StateChangeLog())
	}
	return files
}

// DumpLogs writes the last lines of every log file into t's log.
func (c *Cluster) DumpLogs(t testing.TB, lines int) {
	t.Helper()
	c.dumpSince(t, map[string]int64{}, lines)
}

// dumpLogsOnFailure makes t show, if it fails, the last lines each log file
// got while t ran (on a shared cluster, earlier tests' lines are not its).
func (c *Cluster) dumpLogsOnFailure(t testing.TB) {
	marks := map[string]int64{}
	for _, f := range c.LogFiles() {
		marks[f] = fileSize(f)
	}
	t.Cleanup(func() {
		if t.Failed() {
			c.dumpSince(t, marks, logTailLines)
		}
	})
}

func (c *Cluster) dumpSince(t testing.TB, marks map[string]int64, lines int) {
	t.Helper()
	var b strings.Builder
	for _, f := range c.LogFiles() {
		body := readFrom(f, marks[f])
		if len(body) == 0 {
			continue
		}
		fmt.Fprintf(&b, "--- %s (last %d lines):\n%s\n", f, lines, tailLines(body, lines))
	}
	if b.Len() > 0 {
		t.Logf("kafkatest: cluster logs:\n%s", b.String())
	}
}

// fileSize is the size of path, 0 when it does not exist.
func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// readFrom returns path's content from offset on (nothing when it cannot
// be read: a log that does not exist yet is empty).
func readFrom(path string, offset int64) []byte {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil
	}
	b, _ := io.ReadAll(f)
	return b
}

// tailLines is the last n lines of body.
func tailLines(body []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(body), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
