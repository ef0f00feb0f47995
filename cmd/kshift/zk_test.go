package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/kshift/kshift/internal/zktest"
	"github.com/kshift/kshift/zkops"
)

// runKshift runs the app in-process and returns its output and exit code.
func runKshift(t *testing.T, args ...string) (string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	app := newApp()
	app.Writer, app.ErrWriter = &out, &errOut
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := app.RunContext(ctx, append([]string{"kshift"}, args...))
	if err != nil {
		errOut.WriteString(err.Error())
	}
	return out.String() + errOut.String(), exitCode(err)
}

func TestZKStatusConfigAndPruneCommands(t *testing.T) {
	e := zktest.StartEnsemble(t, zktest.Options{Voters: 3})
	admin := e.Client()
	acl := zk.WorldACL(zk.PermAll)
	for _, p := range []string{"/kafka", "/kafka/cluster", "/kafka/brokers", "/kafka/brokers/ids", "/other", "/other/x", "/gone", "/gone/brokers", "/gone/brokers/ids"} {
		if _, err := admin.Create(p, nil, 0, acl); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := admin.Create("/kafka/cluster/id", []byte(`{"version":"1","id":"abc"}`), 0, acl); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Create("/kafka/brokers/ids/1", []byte(`{}`), zk.FlagEphemeral, acl); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Create("/kafka/controller", []byte(`{"version":1,"brokerid":1}`), zk.FlagEphemeral, acl); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KSHIFT_ZK_DIGEST", zktest.SuperUser+":"+zktest.SuperPassword)

	out, code := runKshift(t, "zk", "status", "--zookeeper", e.Connect()+"/kafka", "-o", "json")
	if code != 0 {
		t.Fatalf("zk status: exit %d\n%s", code, out)
	}
	var st struct {
		Ensemble zkops.EnsembleStatus `json:"ensemble"`
		Layout   zkops.Layout         `json:"layout"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("zk status json: %v\n%s", err, out)
	}
	if len(st.Ensemble.Members) != 3 || st.Ensemble.Leader == 0 || !st.Ensemble.Reconfig.Authorised || st.Ensemble.QuorumSize != 3 {
		t.Errorf("ensemble: %+v", st.Ensemble)
	}
	for _, m := range st.Ensemble.Members {
		if !m.InSync || m.Lag != 0 {
			t.Errorf("member %d: %+v, want in sync", m.ID, m)
		}
	}
	if got := fmt.Sprintf("%+v", st.Layout); got != "{Clusters:[{Chroot:/gone ClusterID: Brokers:[] Controller:-1 Reassignment:[]} {Chroot:/kafka ClusterID:abc Brokers:[1] Controller:1 Reassignment:[]}] Other:[{Path:/other ZNodes:2}]}" {
		t.Errorf("layout: %s", got)
	}
	// One JSON naming for every field: the members' addresses too.
	for _, want := range []string{`"id": 1`, `"client_port": `, `"quorum_port": `, `"in_sync": true`} {
		if !strings.Contains(out, want) {
			t.Errorf("zk status json lacks %s:\n%s", want, out)
		}
	}
	out, code = runKshift(t, "zk", "status", "--zookeeper", e.Connect())
	if code != 0 || !strings.Contains(out, "authorised: yes") || !strings.Contains(out, "abc") {
		t.Errorf("zk status table: exit %d\n%s", code, out)
	}
	// A frozen server in the connect string: skipped for the session,
	// reported as not answering, well within the timeout.
	var frozen, others []int
	for _, id := range e.IDs() {
		if len(frozen) == 0 && id != e.Leader() {
			frozen = append(frozen, id)
		} else {
			others = append(others, id)
		}
	}
	// The client shuffles the connect string: the frozen server, listed
	// four times, is the first it tries two times in three, each run.
	e.Node(frozen[0]).Pause()
	for i := 0; i < 2; i++ {
		start := time.Now()
		out, code = runKshift(t, "zk", "status", "--zookeeper", e.Connect(append([]int{frozen[0], frozen[0], frozen[0], frozen[0]}, others...)...), "--timeout", "30s", "-o", "json")
		took := time.Since(start)
		if code != 0 || !strings.Contains(out, "no answer") || took > 20*time.Second {
			t.Errorf("zk status with server %d frozen: exit %d after %s\n%s", frozen[0], code, took.Round(time.Millisecond), out)
		}
		t.Logf("zk status with server %d frozen took %s", frozen[0], took.Round(time.Millisecond))
	}
	e.Node(frozen[0]).Resume()
	admin = e.Client(others...)
	// Without credentials: reconfig not authorised, unreadable data listed as such.
	if _, err := admin.Create("/secret", nil, 0, zk.DigestACL(zk.PermAll, "someone", "else")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KSHIFT_ZK_DIGEST", "")
	out, code = runKshift(t, "zk", "status", "--zookeeper", e.Connect(), "-o", "json")
	if code != 0 || !strings.Contains(out, `"authorised": false`) || !strings.Contains(out, "super digest") ||
		!strings.Contains(out, "\"path\": \"/secret\",\n        \"znodes\": -1") {
		t.Errorf("zk status without credentials: exit %d\n%s", code, out)
	}
	t.Setenv("KSHIFT_ZK_DIGEST", zktest.SuperUser+":"+zktest.SuperPassword)

	dir := t.TempDir()
	mapping := filepath.Join(dir, "mapping.yaml")
	if err := os.WriteFile(mapping, []byte(`version: 1
source_brokers: [1]
target_brokers: [2]
zookeeper:
  targets:
    - {id: 4, host: 10.0.0.4, data_dir: /data/zk}
    - {id: 5, host: 10.0.0.5, client_port: 2182}
    - {id: 6, host: 10.0.0.6}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code = runKshift(t, "zk", "config", "--mapping", mapping, "--zookeeper", e.Connect())
	if code != 0 {
		t.Fatalf("zk config: exit %d\n%s", code, out)
	}
	cfg, err := zkops.ReadConfig(context.Background(), admin)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"### server 4 (10.0.0.4)", "dataDir=/data/zk", "dynamicConfigFile=/etc/zookeeper/conf/zoo.cfg.dynamic",
		zkops.ServerSpec(cfg.Members[0]), "server.5=10.0.0.5:2888:3888:observer;10.0.0.5:2182", "# /var/lib/zookeeper/myid\n6\n",
		// The super digest every server needs, from KSHIFT_ZK_DIGEST.
		"# /etc/zookeeper/conf/java.env\n", "-Dzookeeper.DigestAuthenticationProvider.superDigest=" + zktest.SuperDigest(zktest.SuperUser, zktest.SuperPassword) + `"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("zk config output lacks %q:\n%s", want, out)
		}
	}
	out, code = runKshift(t, "zk", "config", "--mapping", mapping, "--kind", "static", "--zookeeper", e.Connect())
	if code != 0 || !strings.Contains(out, "reconfigEnabled=false") || !strings.Contains(out, "server.4=10.0.0.4:2888:3888:observer\n") || !strings.Contains(out, "peerType=observer") {
		t.Errorf("zk config --kind static: exit %d\n%s", code, out)
	}

	// /kafka has a live broker: refused (exit 3) and nothing deleted.
	out, code = runKshift(t, "zk", "prune", "--zookeeper", e.Connect(), "--chroot", "/gone", "--sources", "9", "--prune", "/kafka", "--execute")
	if code != exitRefused || !strings.Contains(out, "no broker of the migrated cluster is registered under /gone") {
		t.Errorf("zk prune of a live chroot, /gone given as the migrated one: exit %d\n%s", code, out)
	}
	out, code = runKshift(t, "zk", "prune", "--zookeeper", e.Connect(), "--chroot", "/kafka", "--sources", "9", "--prune", "/gone", "--prune", "/other")
	if code != 0 || !strings.Contains(out, "Dry run") || !strings.Contains(out, "/gone") {
		t.Errorf("zk prune dry run: exit %d\n%s", code, out)
	}
	if ok, _, _ := admin.Exists("/gone"); !ok {
		t.Error("the dry run deleted /gone")
	}
	out, code = runKshift(t, "zk", "prune", "--zookeeper", e.Connect(), "--chroot", "/kafka", "--sources", "9", "--prune", "/gone", "--prune", "/other", "--execute")
	if code != 0 {
		t.Errorf("zk prune: exit %d\n%s", code, out)
	}
	for _, p := range []string{"/gone", "/other"} {
		if ok, _, _ := admin.Exists(p); ok {
			t.Errorf("%s still exists after the prune", p)
		}
	}
}

func TestZKConfigFallsBackToStaticWithoutReconfig(t *testing.T) {
	e := zktest.StartEnsemble(t, zktest.Options{Voters: 1, ReconfigDisabled: true})
	mapping := filepath.Join(t.TempDir(), "mapping.yaml")
	if err := os.WriteFile(mapping, []byte("version: 1\nsource_brokers: [1]\ntarget_brokers: [2]\nzookeeper:\n  targets:\n    - {id: 4, host: 10.0.0.4}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code := runKshift(t, "zk", "config", "--mapping", mapping, "--zookeeper", e.Connect())
	if code != 0 || !strings.Contains(out, "reconfigEnabled=false") || !strings.Contains(out, "--kind static") || !strings.Contains(out, "static-config rolling restart") {
		t.Fatalf("zk config on an ensemble without reconfig: exit %d\n%s", code, out)
	}
}
