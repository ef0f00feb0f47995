package kafkatest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// sharedPrefix names the temp folders of shared clusters.
const sharedPrefix = "kafkatest-"

// ownerFile holds, in a shared cluster's folder, the pid of the test binary
// that owns it.
const ownerFile = "owner.pid"

// shared is the package's one shared cluster.
var shared struct {
	mu      sync.Mutex
	main    bool // Main runs the tests, so it will close the cluster
	started bool // a start was tried: its result is c or err
	opts    Options
	dir     string
	c       *Cluster
	err     error
}

// Main runs a package's tests and then stops the cluster Shared started,
// if any. A package whose tests call Shared has:
//
//	func TestMain(m *testing.M) { os.Exit(kafkatest.Main(m)) }
//
// It returns m.Run's exit code, or 1 when the tests passed but the cluster
// did not stop cleanly (then it says why on stderr: there is no test to
// report it to).
func Main(m *testing.M) int {
	shared.mu.Lock()
	shared.main = true
	shared.mu.Unlock()
	code := m.Run()
	if err := closeShared(); err != nil {
		fmt.Fprintf(os.Stderr, "kafkatest: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

func closeShared() error {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	var errs []error
	if shared.c != nil {
		errs = append(errs, shared.c.Close())
		shared.c = nil
	}
	if shared.dir != "" {
		if err := os.RemoveAll(shared.dir); err != nil {
			errs = append(errs, fmt.Errorf("removing the shared cluster's folder: %w", err))
		}
		shared.dir = ""
	}
	return errors.Join(errs...)
}

// Shared is the package's cluster: the first call starts it with opts, in
// a temp folder of its own, and later calls (with the same opts) return it;
// Main stops it after the last test. A cluster that failed to start fails
// every later call with the same error at once. It skips or fails t as
// Require does, and makes t show the cluster's new log lines if it fails.
//
// Tests on a shared cluster must not depend on each other: name topics and
// groups with TopicName and GroupName, and start again any broker they stop.
func Shared(t testing.TB, opts Options) *Cluster {
	t.Helper()
	home := Require(t)
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.main {
		t.Fatal("kafkatest: Shared needs the package's TestMain to run kafkatest.Main(m), which stops the shared cluster after the last test; or use Start for a cluster of this test's own")
	}
	if !shared.started {
		shared.started, shared.opts = true, opts
		shared.c, shared.err = startShared(home, opts)
	}
	if shared.err != nil {
		t.Fatalf("kafkatest: the package's shared cluster did not start: %v", shared.err)
	}
	if !reflect.DeepEqual(opts, shared.opts) {
		t.Fatalf("kafkatest: Shared called with options %+v, but the package's cluster was started with %+v: one package shares one cluster (use Start for another)", opts, shared.opts)
	}
	shared.c.dumpLogsOnFailure(t)
	return shared.c
}

// startShared starts the shared cluster in a fresh temp folder marked with
// this process's pid, after removing the folders of dead test binaries.
func startShared(home string, opts Options) (*Cluster, error) {
	sweepShared()
	dir, err := os.MkdirTemp("", sharedPrefix)
	if err != nil {
		return nil, fmt.Errorf("making the shared cluster's folder: %w", err)
	}
	shared.dir = dir
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return nil, fmt.Errorf("marking the shared cluster's folder: %w", err)
	}
	return newCluster(context.Background(), home, dir, opts)
}

// sweepShared removes the shared-cluster folders whose test binary is gone
// (killed before Main could remove them; its JVMs died with it).
func sweepShared() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), sharedPrefix+"*"))
	for _, dir := range dirs {
		raw, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
		if err != nil || pid <= 0 {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			continue
		}
		_ = os.RemoveAll(dir)
	}
}
