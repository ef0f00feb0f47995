package zkdial

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kshift/kshift/internal/nettest"
)

func TestAllRefused(t *testing.T) {
	open, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	a, b := nettest.RefusedAddr(t), nettest.RefusedAddr(t)

	var w watch
	for _, addr := range []string{a, b} {
		if _, err := w.Dial("tcp", addr, time.Second); err == nil {
			t.Fatalf("%s accepted", addr)
		}
	}
	if err := w.AllRefused(); err != nil {
		t.Errorf("before the client came round again: %v", err)
	}
	w.Dial("tcp", a, time.Second)
	err = w.AllRefused()
	if err == nil || !strings.Contains(err.Error(), "connection refused by ") || !strings.Contains(err.Error(), a) || !strings.Contains(err.Error(), b) {
		t.Errorf("every server refused: %v", err)
	}

	// One server that answers is enough to keep waiting for a session.
	var some watch
	for _, addr := range []string{a, open.Addr().String(), a} {
		if c, err := some.Dial("tcp", addr, time.Second); err == nil {
			c.Close()
		}
	}
	if err := some.AllRefused(); err != nil {
		t.Errorf("one server listens: %v", err)
	}
}

func TestParse(t *testing.T) {
	for connect, want := range map[string]Connect{
		"z1:2181,z2:2181/kafka/prod": {Servers: []string{"z1:2181", "z2:2181"}, Chroot: "/kafka/prod"},
		"z1":                         {Servers: []string{"z1"}, Chroot: "/"},
		"z1:2181/":                   {Servers: []string{"z1:2181"}, Chroot: "/"},
		"z1:2181/kafka/":             {Servers: []string{"z1:2181"}, Chroot: "/kafka"},
		"[::1]:2181/kafka":           {Servers: []string{"[::1]:2181"}, Chroot: "/kafka"},
		" z1:2181 , z2:2182":         {Servers: []string{"z1:2181", "z2:2182"}, Chroot: "/"},
	} {
		got, err := Parse(connect)
		if err != nil || strings.Join(got.Servers, ",") != strings.Join(want.Servers, ",") || got.Chroot != want.Chroot {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", connect, got, err, want)
		}
	}
	if got, _ := Parse("z1:2181,z2:2181/kafka/prod"); got.String() != "z1:2181,z2:2181/kafka/prod" {
		t.Errorf("String() = %q", got.String())
	}
	for bad, want := range map[string]string{
		"z1:2181:2182":        "more than one port",
		"z1:0":                "not a number from 1 to 65535",
		",/kafka":             "names no server",
		"z1:2181/kafka/ /x":   "empty or blank part",
		"u:pw-secret@z1:2181": "holds credentials",
	} {
		_, err := Parse(bad)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", bad, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "pw-secret") {
			t.Errorf("%q: the error echoes the password: %v", bad, err)
		}
	}
}

// Dial fails at once on a port where nothing listens (the client would
// retry it forever), and after its timeout on a server that accepts and
// never answers, each saying so.
func TestDialFailsFastAndInTime(t *testing.T) {
	c, _ := Parse(nettest.RefusedAddr(t) + "/kafka")
	start := time.Now()
	_, err := Dial(context.Background(), c, Options{Timeout: 30 * time.Second})
	if took := time.Since(start); err == nil || took > 10*time.Second || !strings.Contains(err.Error(), "connection refused by "+c.Servers[0]) {
		t.Errorf("refused: after %s: %v; want a refusal within 10s", took.Round(time.Millisecond), err)
	}

	c, _ = Parse(nettest.SilentAddr(t))
	start = time.Now()
	_, err = Dial(context.Background(), c, Options{Timeout: 500 * time.Millisecond})
	if took := time.Since(start); err == nil || took > 10*time.Second || !strings.Contains(err.Error(), "no session within 500ms") {
		t.Errorf("silent server: after %s: %v; want no session within 500ms", took.Round(time.Millisecond), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err = Dial(ctx, c, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v, want context.Canceled", err)
	}
}

// TestOneDialer pins that kshift opens ZooKeeper sessions in one place:
// no product package but this one calls the client's zk.Connect (test-only
// helper packages, named ...test, start their own test servers' sessions).
func TestOneDialer(t *testing.T) {
	root := filepath.Join("..", "..")
	var others []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); p != root && (strings.HasPrefix(name, ".") || strings.HasSuffix(name, "test") || name == "testdata" || name == "zkdial") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if strings.Contains(string(src), "zk.Connect(") {
			others = append(others, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(others) > 0 {
		t.Errorf("ZooKeeper sessions opened outside zkdial.Dial, in %v: dial through zkdial (one connect-string parser, the fast refusal check, the session wait)", others)
	}
}
