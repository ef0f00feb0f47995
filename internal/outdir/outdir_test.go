package outdir

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func files(version string) []File {
	return []File{{Name: "plan.yaml", Data: []byte("plan " + version)}, {Name: "SUMMARY.md", Data: []byte("summary " + version)}}
}

func readAll(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(data)
	}
	return out
}

// leftovers lists what is in parent besides the names given.
func leftovers(t *testing.T, parent string, keep ...string) []string {
	t.Helper()
	entries, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if !slices.Contains(keep, e.Name()) {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestWriteNew(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "out")
	if err := Write(dir, files("1")); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, dir)
	if len(got) != 2 || got["plan.yaml"] != "plan 1" || got["SUMMARY.md"] != "summary 1" {
		t.Errorf("dir holds %v", got)
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o755 {
		t.Errorf("dir mode %v, want 0755", st.Mode().Perm())
	}
	if l := leftovers(t, parent, "out"); len(l) > 0 {
		t.Errorf("left behind %v", l)
	}
}

func TestReplaceEarlierOutput(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "out")
	if err := Write(dir, []File{{Name: "plan.yaml", Data: []byte("old")}}); err != nil {
		t.Fatal(err)
	}
	if err := Write(dir, files("2")); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, dir); got["plan.yaml"] != "plan 2" || len(got) != 2 {
		t.Errorf("dir holds %v", got)
	}
	// A file this write would not rewrite makes the directory not ours.
	if err := Write(dir, []File{{Name: "plan.yaml", Data: []byte("3")}}); !errors.Is(err, ErrRefused) {
		t.Fatalf("error %v, want ErrRefused", err)
	}
	if got := readAll(t, dir); got["plan.yaml"] != "plan 2" {
		t.Errorf("refused write changed the directory: %v", got)
	}
	if l := leftovers(t, parent, "out"); len(l) > 0 {
		t.Errorf("left behind %v", l)
	}
}

func TestReplaceEmptyDir(t *testing.T) {
	dir := t.TempDir()
	if err := Write(dir, files("1")); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, dir); len(got) != 2 {
		t.Errorf("dir holds %v", got)
	}
}

func TestRefuseForeignDirectory(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  string
	}{
		{"other file", func(t *testing.T, dir string) {
			os.Mkdir(dir, 0o755)
			os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644)
		}, `holds "notes.txt"`},
		{"subdirectory named like an output", func(t *testing.T, dir string) {
			os.MkdirAll(filepath.Join(dir, "plan.yaml"), 0o755)
		}, `holds "plan.yaml"`},
		{"a file", func(t *testing.T, dir string) {
			os.WriteFile(dir, []byte("mine"), 0o644)
		}, "is not a directory"},
		{"a symlink", func(t *testing.T, dir string) {
			os.Symlink(t.TempDir(), dir)
		}, "is not a directory"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "out")
			tc.setup(t, dir)
			before := leftovers(t, parent)
			err := Write(dir, files("1"))
			if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want ErrRefused and %q", err, tc.want)
			}
			if after := leftovers(t, parent); !slices.Equal(before, after) {
				t.Errorf("parent changed from %v to %v", before, after)
			}
		})
	}
}

func TestMissingParent(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "no", "out")
	if err := Write(dir, files("1")); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("error %v", err)
	}
}

// TestFailureLeavesNothing: a write that fails midway leaves neither the
// destination nor a temporary directory, and keeps an earlier output intact.
func TestFailureLeavesNothing(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "out")
	bad := []File{{Name: "plan.yaml", Data: []byte("x")}, {Name: "plan.yaml", Data: []byte("y")}}
	if err := Write(dir, bad); err == nil {
		t.Fatal("no error for a duplicate name")
	}
	if l := leftovers(t, parent); len(l) > 0 {
		t.Errorf("left behind %v", l)
	}
	if err := Write(dir, files("1")); err != nil {
		t.Fatal(err)
	}
	// A read-only parent makes the temporary directory impossible to create.
	if os.Geteuid() != 0 {
		os.Chmod(parent, 0o555)
		defer os.Chmod(parent, 0o755)
		if err := Write(dir, files("2")); err == nil {
			t.Fatal("no error writing into a read-only parent")
		}
		if got := readAll(t, dir); got["plan.yaml"] != "plan 1" {
			t.Errorf("earlier output changed: %v", got)
		}
	}
	if err := Write(dir, []File{{Name: "../escape", Data: nil}}); err == nil {
		t.Fatal("no error for a name with a directory")
	}
	if l := leftovers(t, parent, "out"); len(l) > 0 {
		t.Errorf("left behind %v", l)
	}
}

func TestWriteFile(t *testing.T) {
	parent := t.TempDir()
	path := filepath.Join(parent, "snapshot.yaml")
	for _, data := range []string{"first", "second"} {
		if err := WriteFile(path, []byte(data)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != data {
			t.Fatalf("read %q, %v; want %q", got, err, data)
		}
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode().Perm())
	}
	if l := leftovers(t, parent, "snapshot.yaml"); len(l) > 0 {
		t.Errorf("left behind %v", l)
	}
	if err := WriteFile(filepath.Join(parent, "missing", "x"), nil); err == nil {
		t.Error("no error writing into a missing directory")
	}
}
