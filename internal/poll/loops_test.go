package poll

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// ownClocks are the product files allowed their own timers, with why: they
// model time rather than wait for a value.
var ownClocks = map[string]string{
	"internal/rehearsal/simulator.go": "the rehearsal's simulated clock, advanced on a ticker",
}

// waiting matches what a hand-written wait loop sleeps or ticks with.
var waiting = regexp.MustCompile(`time\.(Sleep|After|NewTicker|Tick|NewTimer|AfterFunc)\(`)

// TestOneWaitingLoop pins that kshift's product code waits for a value only
// through Until (and pauses only through Sleep): no package but this one
// sleeps or ticks on its own, except the Kafka simulator (package kafkasim,
// whose clock-driven loops are its model), the files of ownClocks, and
// test-only helper packages (named ...test).
func TestOneWaitingLoop(t *testing.T) {
	root := filepath.Join("..", "..")
	var found []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			name := d.Name()
			if p != root && (strings.HasPrefix(name, ".") || strings.HasSuffix(name, "test") || name == "testdata" || rel == "kafkasim" || rel == "internal/poll") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") || ownClocks[rel] != "" {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(src), "\n") {
			if waiting.MatchString(line) {
				found = append(found, rel+":"+strconv.Itoa(i+1)+": "+strings.TrimSpace(line))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range found {
		t.Errorf("a wait of its own: %s (wait with poll.Until, pause with poll.Sleep)", f)
	}
}
