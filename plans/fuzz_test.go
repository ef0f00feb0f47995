package plans

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Fuzz targets for every parser: run with e.g.
//
//	go test ./plans -run '^$' -fuzz FuzzDecodePlan -fuzztime 60s
//
// They check that decoding never panics, that the fast path for kshift's own
// form (fastdecode.go) decodes what yaml.v3 decodes, and that a value that decodes
// re-marshals to a file that decodes to the same value (compared by its
// canonical marshalled form, so that nil and empty lists count as equal);
// for plans, also that a file taken for a plan as kshift writes it (whose
// hash is then that of its bytes) is exactly that.

func addSeeds(f *testing.F, prefix string) {
	files, err := filepath.Glob(filepath.Join("testdata", prefix+"*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

func fuzzRoundTrip[T any, P interface {
	*T
	validator
	versioned
}](t *testing.T, data []byte) {
	v, err := Decode[T, P](data, "fuzz.yaml")
	if err != nil {
		if !strings.HasPrefix(err.Error(), "fuzz.yaml: ") {
			t.Fatalf("error does not name the file: %v", err)
		}
		return
	}
	out, err := Marshal(v)
	if err != nil {
		t.Fatalf("marshal a decoded value: %v", err)
	}
	again, err := Decode[T, P](out, "remarshalled.yaml")
	if err != nil {
		t.Fatalf("decode the re-marshalled value: %v\ninput:\n%s\nre-marshalled:\n%s", err, data, out)
	}
	out2, err := Marshal(again)
	if err != nil {
		t.Fatalf("marshal again: %v", err)
	}
	if !bytes.Equal(out, out2) {
		t.Fatalf("round trip changed the value:\n%s\n---\n%s", out, out2)
	}
}

func FuzzDecodeSnapshot(f *testing.F) {
	addSeeds(f, "snapshot-")
	f.Fuzz(func(t *testing.T, data []byte) {
		checkFastDecode[Snapshot](t, data)
		checkSnapshotAsWritten(t, data)
		fuzzRoundTrip[Snapshot](t, data)
	})
}

func FuzzDecodeMapping(f *testing.F) {
	addSeeds(f, "mapping-")
	f.Fuzz(func(t *testing.T, data []byte) { fuzzRoundTrip[Mapping](t, data) })
}

func FuzzDecodePlan(f *testing.F) {
	addSeeds(f, "plan-")
	f.Fuzz(func(t *testing.T, data []byte) {
		checkFastDecode[Plan](t, data)
		checkPlanAsWritten(t, data)
		fuzzRoundTrip[Plan](t, data)
	})
}

func FuzzDecodeKafkaJSON(f *testing.F) {
	addSeeds(f, "kafka-")
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := DecodeKafkaJSON(data, "fuzz.json")
		if err != nil {
			return
		}
		out, err := MarshalKafkaJSON(r)
		if err != nil {
			t.Fatalf("marshal a decoded value: %v", err)
		}
		again, err := DecodeKafkaJSON(out, "remarshalled.json")
		if err != nil {
			t.Fatalf("decode the re-marshalled value: %v\n%s", err, out)
		}
		out2, err := MarshalKafkaJSON(again)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, out2) {
			t.Fatalf("round trip changed the value:\n%s\n---\n%s", out, out2)
		}
	})
}
