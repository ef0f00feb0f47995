package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kshift/kshift/executor"
	"github.com/prometheus/prometheus/promql/parser"
)

// dashboardPath is the Grafana dashboard of --metrics-addr.
var dashboardPath = filepath.Join("..", "..", "examples", "grafana", "kshift-migration.json")

// grafanaVars stands in for the Grafana variables the dashboard's queries
// use, so that they parse as PromQL.
var grafanaVars = strings.NewReplacer(
	"$__rate_interval", "1m", "$__interval", "1m", "$__range_s", "3600", "$__range", "1h",
	"${instance}", ".*", "$instance", ".*", "${datasource}", "prometheus")

// labelValues is Grafana's label_values(METRIC, LABEL) of a query variable.
var labelValues = regexp.MustCompile(`^label_values\((.+),\s*\w+\)$`)

// dashboardQueries returns every PromQL expression of the dashboard: each
// panel's targets (rows' panels included) and the metric of each query
// variable, named by where it is.
func dashboardQueries(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	type panel struct {
		ID      int    `json:"id"`
		Title   string `json:"title"`
		Type    string `json:"type"`
		Targets []struct {
			Expr  string `json:"expr"`
			RefID string `json:"refId"`
		} `json:"targets"`
		Panels  []json.RawMessage         `json:"panels"`
		GridPos *struct{ X, Y, W, H int } `json:"gridPos"`
	}
	var dash struct {
		Title      string            `json:"title"`
		UID        string            `json:"uid"`
		Panels     []json.RawMessage `json:"panels"`
		Templating struct {
			List []struct {
				Name  string          `json:"name"`
				Type  string          `json:"type"`
				Query json.RawMessage `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("%s: %v", dashboardPath, err)
	}
	if dash.Title == "" || dash.UID == "" {
		t.Errorf("the dashboard needs a title and a uid (Grafana keys imports by uid)")
	}
	out := map[string]string{}
	ids := map[int]bool{}
	var walk func([]json.RawMessage)
	walk = func(raw []json.RawMessage) {
		for _, r := range raw {
			var p panel
			if err := json.Unmarshal(r, &p); err != nil {
				t.Fatal(err)
			}
			if ids[p.ID] {
				t.Errorf("panel id %d twice", p.ID)
			}
			ids[p.ID] = true
			if p.GridPos == nil || p.GridPos.W <= 0 || p.GridPos.H <= 0 {
				t.Errorf("panel %q has no place on the grid", p.Title)
			}
			if p.Type != "row" && len(p.Targets) == 0 {
				t.Errorf("panel %q queries nothing", p.Title)
			}
			for _, tg := range p.Targets {
				out["panel "+p.Title+" "+tg.RefID] = tg.Expr
			}
			walk(p.Panels)
		}
	}
	walk(dash.Panels)
	for _, v := range dash.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct {
			Query string `json:"query"`
		}
		if err := json.Unmarshal(v.Query, &q); err != nil {
			var s string
			if json.Unmarshal(v.Query, &s) != nil {
				t.Fatalf("variable %s: query is neither a string nor an object", v.Name)
			}
			q.Query = s
		}
		m := labelValues.FindStringSubmatch(q.Query)
		if m == nil {
			t.Fatalf("variable %s: query %q is not label_values(METRIC, LABEL)", v.Name, q.Query)
		}
		out["variable "+v.Name] = m[1]
	}
	return out
}

// exportedMetrics scrapes the /metrics endpoint apply serves with
// --metrics-addr, after a progress report that sets every gauge, and
// returns the metric names it serves.
func exportedMetrics(t *testing.T) []string {
	t.Helper()
	m, addr, stop, err := serveMetrics("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	m.update(executor.Progress{Step: 2, Partitions: 4, Done: 1, InFlight: 3, BytesTotal: 300, BytesCopied: 100, Rate: 50, ETA: time.Minute,
		Throttle: 10 << 20, BusiestBroker: 5, BusiestRate: 40, Stalled: true,
		Replicas: []executor.ReplicaProgress{{Topic: "orders", Partition: 1, Broker: 5, Copied: 100, Size: 300}}})
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range regexp.MustCompile(`(?m)^# TYPE (\S+) \w+$`).FindAllStringSubmatch(string(body), -1) {
		names = append(names, m[1])
	}
	return names
}

// TestDashboardMetrics parses every PromQL expression of the Grafana
// dashboard with Prometheus's own parser and checks that each metric it
// selects is one kshift apply --metrics-addr serves: a renamed or dropped
// metric breaks the dashboard here, not on an operator's screen.
func TestDashboardMetrics(t *testing.T) {
	exported := exportedMetrics(t)
	queries := dashboardQueries(t)
	if len(queries) == 0 {
		t.Fatal("the dashboard has no query")
	}
	p := parser.NewParser(parser.Options{})
	used := map[string]bool{}
	for where, q := range queries {
		expr, err := p.ParseExpr(grafanaVars.Replace(q))
		if err != nil {
			t.Errorf("%s: %q does not parse as PromQL: %v", where, q, err)
			continue
		}
		n := 0
		parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
			vs, ok := node.(*parser.VectorSelector)
			if !ok {
				return nil
			}
			name := vs.Name
			for _, m := range vs.LabelMatchers {
				if m.Name == "__name__" {
					name = m.Value
				}
			}
			n++
			used[name] = true
			if !slices.Contains(exported, name) {
				t.Errorf("%s: %s is not a metric kshift exports (it serves %v)", where, name, exported)
			}
			return nil
		})
		if n == 0 {
			t.Errorf("%s: %q selects no metric", where, q)
		}
	}
	// Every metric kshift serves has a place on the dashboard.
	for _, name := range exported {
		if strings.HasPrefix(name, "kshift_") && !used[name] {
			t.Errorf("kshift exports %s, which the dashboard does not show", name)
		}
	}
}
