package kafkatest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// These run under -short: they start nothing.

func TestRelativeHomeResolvesAgainstTheModuleRoot(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(wd, "..", "..") // internal/kafkatest
	got, err := resolveHome("../shared/kafka-2.4")
	if err != nil {
		t.Fatalf("resolveHome: %v", err)
	}
	if want := filepath.Join(root, "..", "shared", "kafka-2.4"); got != want {
		t.Fatalf("resolveHome(../shared/kafka-2.4) = %s, want %s (relative to the module root, not the package)", got, want)
	}
	if got, _ := resolveHome("/opt/kafka/"); got != "/opt/kafka" {
		t.Fatalf("an absolute home became %s", got)
	}
}

func TestMissingKafkaSaysWhatAndHow(t *testing.T) {
	for _, tc := range []struct{ env, want string }{
		{"", "KSHIFT_KAFKA_HOME is not set"},
		{"no/such/kafka", filepath.Join("no", "such", "kafka", "bin", "kafka-broker.sh")},
	} {
		t.Setenv(HomeEnv, tc.env)
		_, err := findHome()
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "run with KSHIFT_KAFKA_HOME=") {
			t.Errorf("%s=%q: error %v, want one naming %q and saying how to run", HomeEnv, tc.env, err, tc.want)
		}
	}
}

func TestOptionsRefuseTheHarnesssKeysAndWrongCounts(t *testing.T) {
	o, err := Options{}.withDefaults()
	if err != nil || o.Brokers != 3 || len(o.IDs) != 3 || o.IDs[2] != 3 {
		t.Fatalf("zero options: %+v, %v; want three brokers 1-3", o, err)
	}
	_, err = Options{
		Brokers: 2, Later: 1, IDs: []int32{1, 1},
		Properties:       map[string]string{"log.dirs": "/x", "min.insync.replicas": "2"},
		BrokerProperties: map[int32]map[string]string{9: {"a": "b"}},
	}.withDefaults()
	for _, want := range []string{"2 IDs for 3 brokers", "broker id 1 is negative or repeated", "property log.dirs is set by the harness", "BrokerProperties for broker 9"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want it to say %q", err, want)
		}
	}
}

func TestPropertiesKeepTheShippedFileAndSetTheHarnesssKeys(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "server.properties")
	if err := os.WriteFile(base, []byte("# c\nbroker.id=7\nnum.partitions = 1\noffsets.topic.replication.factor=3\n\nlog.dirs=/var/x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	props, err := readProperties(base)
	if err != nil {
		t.Fatal(err)
	}
	opts, err := Options{Brokers: 2, Properties: map[string]string{"num.partitions": "4", "auto.leader.rebalance.enable": "false"},
		BrokerProperties: map[int32]map[string]string{2: {"num.partitions": "5"}}}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{home: dir, opts: opts, chroot: "/kafka-x", zkAddr: "127.0.0.1:2181"}
	b := &Broker{ID: 2, Rack: "r2", Port: 9999, c: c, dir: filepath.Join(dir, "b2")}
	if err := c.writeProperties(b, props); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(b.PropertiesPath())
	if err != nil {
		t.Fatal(err)
	}
	got := string(raw)
	for _, want := range []string{
		"broker.id=2\n", "num.partitions=5\n", "log.dirs=" + b.DataDir() + "\n",
		"offsets.topic.replication.factor=2\n", // two brokers at start
		"listeners=PLAINTEXT://127.0.0.1:9999\n", "zookeeper.connect=127.0.0.1:2181/kafka-x\n",
		"broker.rack=r2\n", "auto.leader.rebalance.enable=false\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("properties lack %q:\n%s", want, got)
		}
	}
}

// TestOnlyTestCodeImportsTheHarness keeps kafkatest and zktest out of the
// binary: no package's non-test files may import them, except other test
// helper packages (named ...test).
func TestOnlyTestCodeImportsTheHarness(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	out, err := exec.Command(goBin, "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "github.com/kshift/kshift/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.HasSuffix(fields[0], "test") {
			continue
		}
		for _, imp := range fields[1:] {
			if strings.HasSuffix(imp, "/internal/kafkatest") || strings.HasSuffix(imp, "/internal/zktest") {
				t.Errorf("%s imports the test harness %s in its non-test files", fields[0], imp)
			}
		}
	}
}
