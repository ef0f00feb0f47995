package plans

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// checkFastDecode decodes data with both paths: when the fast path takes the
// file, it must give what yaml.v3 gives.
func checkFastDecode[T any, P interface {
	*T
	fastDecoder
}](t *testing.T, data []byte) (tookFast bool) {
	t.Helper()
	fast := P(new(T))
	if _, ok := fast.decodeFast(data); !ok {
		return false
	}
	slow := P(new(T))
	if err := decodeStrict(data, slow); err != nil {
		t.Fatalf("the fast path took a file yaml.v3 refuses (%v):\n%s", err, data)
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("fast and yaml.v3 decoding differ:\nfast %+v\nslow %+v\nfile:\n%s", fast, slow, data)
	}
	return true
}

// givePlainTopicNames renames the topics of a random plan's moves to the
// plain names real topics have (randomPlan's are awkward on purpose), so
// that the plan is one the fast decoder takes.
func givePlainTopicNames(p *Plan) {
	for j := range p.Steps {
		for k := range p.Steps[j].Partitions {
			p.Steps[j].Partitions[k].Topic = "topic-" + string(rune('a'+k))
		}
	}
}

func TestFastDecodeMatchesYAMLv3(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	fastPlans, fastSnaps := 0, 0
	for i := range 1000 {
		p := randomPlan(rng)
		if i%2 == 0 {
			givePlainTopicNames(p) // half with the plain names real topics have
		}
		data, err := Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		if checkFastDecode[Plan](t, data) {
			fastPlans++
		}
		s := randomSnapshot(rng)
		data, err = Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if checkFastDecode[Snapshot](t, data) {
			fastSnaps++
		}
	}
	// Most random files are in kshift's form; odd topic names and empty runs
	// are not, and go to yaml.v3.
	if fastPlans < 100 || fastSnaps < 100 {
		t.Errorf("fast path taken for only %d plans and %d snapshots of 1000", fastPlans, fastSnaps)
	}
}

func TestFastDecodeFallsBack(t *testing.T) {
	good := "version: 1\ncluster_id: c\ncontroller: 1\nbrokers:\n  - {id: 1}\ntopics:\n  - name: t\n    partitions:\n      - {id: 0, replicas: [1], leader: 1, isr: [1], size: 5}\n"
	if !checkFastDecode[Snapshot](t, []byte(good)) {
		t.Fatal("the fast path refused kshift's own form")
	}
	for name, edit := range map[string][2]string{
		"leading zero":         {"size: 5", "size: 05"},
		"human size":           {"size: 5", "size: 5KiB"},
		"other key order":      {"{id: 0, replicas: [1]", "{replicas: [1], id: 0"},
		"extra field":          {"size: 5}", "size: 5, rack: a}"},
		"unknown skeleton key": {"controller: 1", "controller: 1\nowner: me"},
		"block scalar":         {"cluster_id: c", "cluster_id: |\n  c"},
		"negative zero":        {"leader: 1", "leader: -0"},
		"int32 overflow":       {"id: 0", "id: 2147483648"},
		"int32 far overflow":   {"id: 0", "id: 21474836480000000000000"},
		"int64 overflow":       {"size: 5", "size: 9223372036854775808"},
		"int64 wrap-around":    {"size: 5", "size: 18446744073709551621"},
		"list int32 overflow":  {"isr: [1]", "isr: [4294967297]"},
		"not under partitions": {"    partitions:\n", "    partitions:\n    # note\n"},
	} {
		bad := strings.Replace(good, edit[0], edit[1], 1)
		if bad == good {
			t.Fatalf("%s: edit did not apply", name)
		}
		var s Snapshot
		if _, ok := s.decodeFast([]byte(bad)); ok {
			t.Errorf("%s: the fast path took\n%s", name, bad)
		}
	}
}

// The fast path reads the extremes of each range as yaml.v3 does.
func TestFastDecodeRangeEnds(t *testing.T) {
	good := "version: 1\ncluster_id: c\ncontroller: 1\nbrokers:\n  - {id: 1}\ntopics:\n  - name: t\n    partitions:\n      - {id: 2147483647, replicas: [1, 2147483647], leader: -2147483648, isr: [1], size: 9223372036854775807}\n"
	if !checkFastDecode[Snapshot](t, []byte(good)) {
		t.Fatal("the fast path refused the ends of the int32 and int64 ranges")
	}
	var s Snapshot
	s.decodeFast([]byte(good))
	p := s.Topics[0].Partitions[0]
	if p.ID != 2147483647 || p.Leader != -2147483648 || p.Size != 9223372036854775807 || !slices.Equal(p.Replicas, []int32{1, 2147483647}) {
		t.Errorf("read %+v", p)
	}
}

// shortIDs reads only lists that anyIDs reads, and reads them the same way.
func FuzzShortIDs(f *testing.F) {
	for _, s := range []string{"[1, 2, 3], to", "[]", "[0]", "[01, 2]", "[-1]", "[123456789]", "[1234567890]", "[2147483648]",
		"[1,2]", "[1, 2", "[1 ]", "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]", "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		short := lineParser{b: []byte(s), ok: true}
		ids, ok := short.shortIDs()
		if !ok {
			if string(short.b) != s || !short.ok {
				t.Fatalf("%q: shortIDs declined but read %q", s, s[:len(s)-len(short.b)])
			}
			return
		}
		anyp := lineParser{b: []byte(s), ok: true}
		want := anyp.anyIDs()
		if !anyp.ok || !slices.Equal(ids, want) || string(short.b) != string(anyp.b) {
			t.Fatalf("%q: shortIDs read %v leaving %q, anyIDs %v (ok %v) leaving %q", s, ids, short.b, want, anyp.ok, anyp.b)
		}
	})
}

// int's shortcut for short positive numbers reads what intAnyLength reads.
func FuzzInt(f *testing.F) {
	for _, s := range []string{"7, ", "0", "01", "-5", "123456789", "1234567890", "2147483647", "2147483648", "9223372036854775807}", "12a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, bits := range []int{32, 64} {
			p := lineParser{b: []byte(s), ok: true}
			got := p.int(bits)
			q := lineParser{b: []byte(s), ok: true}
			want := q.intAnyLength(bits)
			if got != want || p.ok != q.ok || (p.ok && string(p.b) != string(q.b)) {
				t.Fatalf("%q as int%d: int %d (ok %v) leaving %q, intAnyLength %d (ok %v) leaving %q", s, bits, got, p.ok, p.b, want, q.ok, q.b)
			}
		}
	})
}

// The fast path parses topic items in kshift's form by hand (cutTopicHeads)
// and leaves any other to yaml.v3: each file decodes as yaml.v3 decodes it,
// or is refused as yaml.v3 refuses it.
func TestFastDecodeTopicHeads(t *testing.T) {
	const part = "      - {id: 0, replicas: [1], leader: 1, isr: [1], size: 5}\n"
	good := "version: 1\ncluster_id: c\ncontroller: 1\nbrokers:\n  - id: 1\n    rack: a\ntopics:\n" +
		"  - name: a\n    configs:\n      min.insync.replicas: \"2\"\n      x: plain\n      z: \"\"\n    partitions:\n" + part +
		"  - name: b\n    partitions: []\n" +
		"  - name: c\n    partitions:\n" + part +
		"  - name: placeholder\n    partitions:\n" + part +
		"zookeeper:\n  connect: zk:2181\n"
	skel, _, ok := splitRuns([]byte(good), snapshotPlaceholder)
	if !ok {
		t.Fatal("splitRuns refused kshift's own form")
	}
	if _, heads := cutTopicHeads(skel, 3); len(heads) != 1 || len(heads[0]) != 4 {
		t.Fatalf("topic heads cut: %d runs (%v), want one of all 4 topics", len(heads), heads)
	}
	if !checkFastDecode[Snapshot](t, []byte(good)) {
		t.Fatal("the fast path refused kshift's own form")
	}
	for _, c := range []struct {
		name, from, to string
		refused        bool // yaml.v3 refuses the file too
	}{
		{name: "quoted name", from: "  - name: b\n", to: "  - name: \"b\"\n"},
		{name: "name needing quotes", from: "  - name: b\n", to: "  - name: \"yes\"\n"},
		{name: "quoted word", from: "x: plain", to: "x: \"pl ain\""},
		{name: "single-quoted digits", from: "\"2\"", to: "'2'"},
		{name: "a number", from: "\"2\"", to: "2"},
		{name: "a boolean", from: "x: plain", to: "x: true"},
		{name: "null", from: "x: plain", to: "x: ~"},
		{name: "comment after a value", from: "x: plain", to: "x: plain # why"},
		{name: "comment line in a topic", from: "  - name: c\n", to: "  - name: c\n    # c\n"},
		{name: "configs in flow style", from: "  - name: b\n", to: "  - name: b\n    configs: {k: v}\n"},
		{name: "configs after the partitions", from: "  - name: b\n    partitions: []\n", to: "  - name: b\n    partitions: []\n    configs:\n      k: v\n"},
		{name: "deeper config", from: "      x: plain\n", to: "      x: plain\n        z: w\n", refused: true},
		{name: "config key twice", from: "      x: plain\n", to: "      x: plain\n      x: other\n", refused: true},
		{name: "unknown topic field", from: "  - name: b\n", to: "  - name: b\n    owner: me\n", refused: true},
		{name: "topics twice", from: "zookeeper:", to: "topics: []\nzookeeper:", refused: true},
		{name: "no configs", from: "  - name: b\n", to: "  - name: b\n    configs:\n", refused: false},
	} {
		t.Run(c.name, func(t *testing.T) {
			file := strings.Replace(good, c.from, c.to, 1)
			if file == good {
				t.Fatal("the edit did not apply")
			}
			took := checkFastDecode[Snapshot](t, []byte(file))
			if err := decodeStrict([]byte(file), &Snapshot{}); (err != nil) != c.refused {
				t.Fatalf("yaml.v3 refuses it: %v, want %v", err, c.refused)
			}
			if c.refused && took {
				t.Error("the fast path took a file yaml.v3 refuses")
			}
		})
	}
}
