package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/kshift/kshift/internal/zktest"
	"github.com/kshift/kshift/kafkasim"
	"github.com/kshift/kshift/state"
)

// testZK is the test binary's one real ZooKeeper server, started by the
// first test that needs it (a JVM costs seconds) and stopped by TestMain.
// Each simulated cluster registers under a chroot of its own in it, as a
// ZooKeeper-mode cluster does, so that the kshift subprocesses of a test
// find the cluster's state there through --zookeeper HOST:PORT/CHROOT.
var testZK struct {
	once    sync.Once
	dir     string
	srv     *zktest.Server
	err     error
	chroots atomic.Int64
}

// sharedZooKeeper returns the shared server, starting it on first use. It
// skips t under -short and without ZooKeeper (zktest.Require).
func sharedZooKeeper(t *testing.T) *zktest.Server {
	t.Helper()
	zktest.Require(t)
	testZK.once.Do(func() {
		if testZK.dir, testZK.err = os.MkdirTemp("", "kshift-cmd-zookeeper-"); testZK.err != nil {
			return
		}
		testZK.srv, testZK.err = zktest.StartServer(testZK.dir, 60*time.Second)
	})
	if testZK.err != nil {
		t.Fatalf("starting the shared ZooKeeper: %v", testZK.err)
	}
	return testZK.srv
}

// stopSharedZooKeeper stops the shared server, if a test started it.
func stopSharedZooKeeper() {
	if testZK.srv != nil {
		if err := testZK.srv.Stop(10 * time.Second); err != nil {
			fmt.Fprintln(os.Stderr, "stopping the shared ZooKeeper:", err)
		}
	}
	if testZK.dir != "" {
		os.RemoveAll(testZK.dir)
	}
}

// clusterZK is a simulated cluster's registration in the shared ZooKeeper.
type clusterZK struct {
	// Connect is what --zookeeper takes: 127.0.0.1:PORT/CHROOT.
	Connect string
	Chroot  string
	// Conn is the test's own session (the simulated brokers' registrations
	// are its ephemeral znodes).
	Conn *zk.Conn
}

var notInChroot = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// registerZooKeeper registers the simulated cluster c under a fresh chroot
// of the shared ZooKeeper (its /cluster/id, /brokers/ids, topics and broker
// configs, kept in sync until c closes) and returns where it is.
func registerZooKeeper(t *testing.T, c *kafkasim.Cluster) *clusterZK {
	t.Helper()
	srv := sharedZooKeeper(t)
	chroot := fmt.Sprintf("/%s-%d", notInChroot.ReplaceAllString(t.Name(), "_"), testZK.chroots.Add(1))
	conn := zktest.Dial(t, srv.Addr(), false)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.RegisterZooKeeper(ctx, conn, chroot); err != nil {
		t.Fatalf("registering the simulated cluster in ZooKeeper: %v", err)
	}
	// Before the session closes (cleanups run last registered first):
	// the cluster stops syncing and removes its brokers' registrations.
	t.Cleanup(func() { c.Close() })
	return &clusterZK{Connect: srv.Addr() + chroot, Chroot: chroot, Conn: conn}
}

// store is the cluster's kshift state as kshift keeps it in ZooKeeper,
// read through the test's session.
func (z *clusterZK) store(t *testing.T) state.Store {
	t.Helper()
	st, err := state.NewZooKeeper(z.Conn, z.Chroot, state.Options{SessionTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// describeRecordForTest shows a throttle record in a failure message.
func describeRecordForTest(r *state.ThrottleRecord) string {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Sprintf("%+v", r)
	}
	return string(b)
}
