package kafkatest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kshift/kshift/internal/zktest"
)

// stopGrace is how long a broker gets after SIGTERM before it is sent
// SIGKILL: a controlled shutdown that cannot hand its leaderships over
// retries three times 5 s apart (about 20 s seen) before it gives up.
const stopGrace = 45 * time.Second

// Broker is one broker of a Cluster: its id, rack and port are fixed when
// the cluster is made; its process can be started, stopped, killed and
// started again on the same port and data.
type Broker struct {
	// ID is the broker.id.
	ID int32
	// Rack is the broker.rack.
	Rack string
	// Port is the PLAINTEXT listener's port on 127.0.0.1.
	Port int

	c   *Cluster
	dir string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// Addr is the broker's listener, 127.0.0.1:PORT.
func (b *Broker) Addr() string { return fmt.Sprintf("127.0.0.1:%d", b.Port) }

// Dir is the broker's folder: server.properties, logs/, data/, stdout.log.
func (b *Broker) Dir() string { return b.dir }

// PropertiesPath is the server.properties the broker runs with.
func (b *Broker) PropertiesPath() string { return filepath.Join(b.dir, "server.properties") }

// DataDir is the broker's log.dirs.
func (b *Broker) DataDir() string { return filepath.Join(b.dir, "data") }

// LogDir is the folder of the broker's log4j files.
func (b *Broker) LogDir() string { return filepath.Join(b.dir, "logs") }

// ServerLog is the broker's server.log.
func (b *Broker) ServerLog() string { return filepath.Join(b.LogDir(), "server.log") }

// ControllerLog is the broker's controller.log (what it did while controller).
func (b *Broker) ControllerLog() string { return filepath.Join(b.LogDir(), "controller.log") }

// StateChangeLog is the broker's state-change.log (when it learnt of each
// controller decision).
func (b *Broker) StateChangeLog() string { return filepath.Join(b.LogDir(), "state-change.log") }

// stdoutLog receives the JVM's own output (warnings, crashes).
func (b *Broker) stdoutLog() string { return filepath.Join(b.dir, "stdout.log") }

// Running reports whether the broker's process was started and has not
// been stopped or killed (it may still be starting, or have died).
func (b *Broker) Running() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cmd != nil
}

// Pid is the broker's java process id, or 0 when it is not running.
func (b *Broker) Pid() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd == nil {
		return 0
	}
	return b.cmd.Process.Pid
}

// RSS is the resident memory of the broker's process in bytes (VmRSS).
func (b *Broker) RSS() (int64, error) {
	pid := b.Pid()
	if pid == 0 {
		return 0, fmt.Errorf("broker %d is not running", b.ID)
	}
	return processRSS(pid)
}

// Start starts the broker (never started, or stopped or killed before) and
// waits until it is up (see Cluster.StartBrokers), failing t otherwise.
func (b *Broker) Start(t testing.TB) {
	t.Helper()
	b.c.StartBrokers(t, b.ID)
}

// Stop stops the broker cleanly: SIGTERM, which runs a controlled shutdown
// (its leaderships move first: 1-4 s, about 20 s when no other replica can
// take them), then waits for the process to exit. It fails t when the
// broker had to be killed after 45 s. Stopping a stopped broker does
// nothing.
func (b *Broker) Stop(t testing.TB) {
	t.Helper()
	if err := b.stop(stopGrace); err != nil {
		t.Fatalf("kafkatest: %v", err)
	}
}

// Kill sends the broker SIGKILL and waits for the process to exit. Its
// ZooKeeper session lives on until it times out (zookeeper.session.timeout.ms,
// 6 s in 2.4), so the cluster sees it gone only then, and Start waits for
// that before starting it again.
func (b *Broker) Kill(t testing.TB) {
	t.Helper()
	b.kill()
}

func (b *Broker) kill() {
	b.mu.Lock()
	cmd, exited := b.cmd, b.exited
	b.cmd = nil
	b.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exited
}

// Restart stops the broker cleanly when it runs, then starts it again on
// the same port, properties and data.
func (b *Broker) Restart(t testing.TB) {
	t.Helper()
	b.Stop(t)
	b.Start(t)
}

// launch starts the broker's process without waiting for it to be up. It
// returns the size server.log had before, where this run's lines begin.
func (b *Broker) launch() (int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd != nil {
		return 0, fmt.Errorf("broker %d is already running (pid %d)", b.ID, b.cmd.Process.Pid)
	}
	mark := fileSize(b.ServerLog())
	cmd := exec.Command("bash", filepath.Join(b.c.home, "bin", "kafka-broker.sh"), b.PropertiesPath(), b.LogDir())
	cmd.Env = os.Environ()
	if b.c.opts.Heap != "" {
		cmd.Env = append(cmd.Env, "KAFKA_HEAP_OPTS="+b.c.opts.Heap)
	}
	out, err := os.OpenFile(b.stdoutLog(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, fmt.Errorf("opening broker %d's stdout log: %w", b.ID, err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	// The script execs java, so the pid is the JVM's and the parent-death
	// signal survives the exec.
	cmd.SysProcAttr = zktest.ChildProcAttr()
	if err := cmd.Start(); err != nil {
		out.Close()
		return 0, fmt.Errorf("starting broker %d: %w", b.ID, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		out.Close()
		close(exited)
	}()
	b.cmd, b.exited = cmd, exited
	return mark, nil
}

// waitUp waits until this run's server.log says the broker started and the
// broker answers a Metadata request listing itself (the controller has
// told it of its own registration). A process that exits fails at once.
func (b *Broker) waitUp(ctx context.Context, mark int64) error {
	b.mu.Lock()
	exited := b.exited
	b.mu.Unlock()
	startedLine := []byte(fmt.Sprintf("[KafkaServer id=%d] started", b.ID))
	err := Poll(ctx, 200*time.Millisecond, func(ctx context.Context) error {
		select {
		case <-exited:
			return Unrecoverable(fmt.Errorf("broker %d exited while starting", b.ID))
		default:
		}
		if !bytes.Contains(readFrom(b.ServerLog(), mark), startedLine) {
			return fmt.Errorf("server.log has no %q yet", startedLine)
		}
		return b.registered(ctx)
	})
	if err != nil {
		return fmt.Errorf("broker %d (%s) not up: %w\n%s", b.ID, b.Addr(), err, b.tails(20))
	}
	return nil
}

// registered asks the broker itself for metadata and checks that it lists itself.
func (b *Broker) registered(ctx context.Context) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.MetadataMinAge(10*time.Millisecond), kgo.RequestRetries(0))
	if err != nil {
		return err
	}
	defer cl.Close()
	req := kmsg.NewPtrMetadataRequest()
	req.Topics = []kmsg.MetadataRequestTopic{}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("metadata from broker %d: %w", b.ID, err)
	}
	for _, br := range resp.Brokers {
		if br.NodeID == b.ID {
			return nil
		}
	}
	return fmt.Errorf("broker %d's metadata does not list it yet", b.ID)
}

// stop sends SIGTERM and waits for the exit; after grace it sends SIGKILL
// and reports that it had to.
func (b *Broker) stop(grace time.Duration) error {
	b.mu.Lock()
	cmd, exited := b.cmd, b.exited
	b.cmd = nil
	b.mu.Unlock()
	if cmd == nil {
		return nil
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-exited:
		return nil
	case <-timer.C:
		_ = cmd.Process.Kill()
		<-exited
		return fmt.Errorf("broker %d did not stop within %s of SIGTERM: killed\n%s", b.ID, grace, b.tails(20))
	}
}

// waitDeregistered waits until ZooKeeper no longer holds the broker's
// registration: after a kill it stays until the old session times out,
// and a broker started before that refuses to register.
func (b *Broker) waitDeregistered(ctx context.Context) error {
	conn, _, err := zk.Connect([]string{b.c.zkAddr}, 10*time.Second, zk.WithLogInfo(false), zk.WithLogger(quietZK{}))
	if err != nil {
		return fmt.Errorf("connecting to ZooKeeper %s: %w", b.c.zkAddr, err)
	}
	defer conn.Close()
	path := b.c.chroot + "/brokers/ids/" + strconv.Itoa(int(b.ID))
	return Poll(ctx, 200*time.Millisecond, func(context.Context) error {
		ok, _, err := conn.Exists(path)
		if err != nil {
			return fmt.Errorf("reading %s: %w", path, err)
		}
		if ok {
			return fmt.Errorf("%s still exists (the killed broker's session has not timed out)", path)
		}
		return nil
	})
}

type quietZK struct{}

func (quietZK) Printf(string, ...any) {}

// tails is the end of the broker's server.log and stdout, for error messages.
func (b *Broker) tails(n int) string {
	return fmt.Sprintf("--- broker %d server.log (last %d lines):\n%s\n--- broker %d stdout:\n%s",
		b.ID, n, tailLines(readFrom(b.ServerLog(), 0), n), b.ID, tailLines(readFrom(b.stdoutLog(), 0), n))
}

// processRSS reads VmRSS of pid from /proc.
func processRSS(pid int) (int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("reading the memory of pid %d: %w", pid, err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parsing VmRSS %q of pid %d: %w", v, pid, err)
			}
			return kb * 1024, nil
		}
	}
	return 0, errors.New("no VmRSS in /proc/PID/status")
}
