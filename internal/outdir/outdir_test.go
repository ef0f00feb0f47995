package outdir

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
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

// specialFiles makes, in a fresh directory, the kinds of path an output must
// never replace: a FIFO and a unix socket (a device is checked on /dev/null,
// read only). The socket's listener stays open for the test.
func specialFiles(t *testing.T) (parent string, paths map[string]string) {
	t.Helper()
	parent = t.TempDir()
	fifo := filepath.Join(parent, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(parent, "sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	dir := filepath.Join(parent, "dir")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(parent, "link-to-fifo")
	if err := os.Symlink(fifo, link); err != nil {
		t.Fatal(err)
	}
	return parent, map[string]string{"a FIFO": fifo, "a socket": sock, "is a directory": dir, "a FIFO (link)": link}
}

// TestWriteFileNeverReplacesSpecialFiles pins issue 12: --out of a device
// node or a FIFO made it a regular file (as root, /dev/null). WriteFile
// refuses before writing anything: the file is not even produced.
func TestWriteFileNeverReplacesSpecialFiles(t *testing.T) {
	parent, paths := specialFiles(t)
	for kind, path := range paths {
		t.Run(kind, func(t *testing.T) {
			before, _ := os.Lstat(path)
			produced := false
			err := WriteFileFunc(path, func(w io.Writer) error { produced = true; _, err := w.Write([]byte("x")); return err })
			want := strings.TrimSuffix(kind, " (link)")
			if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), want) {
				t.Errorf("error %v, want ErrRefused naming %q", err, want)
			}
			if produced {
				t.Error("the contents were produced before the refusal")
			}
			if after, err := os.Lstat(path); err != nil || after.Mode() != before.Mode() {
				t.Errorf("%s changed: %v -> %v (%v)", path, before.Mode(), after.Mode(), err)
			}
			if err := WriteFile(path, []byte("x")); !errors.Is(err, ErrRefused) {
				t.Errorf("WriteFile: %v, want ErrRefused", err)
			}
		})
	}
	if l := leftovers(t, parent, "fifo", "sock", "dir", "link-to-fifo"); len(l) > 0 {
		t.Errorf("left behind %v", l)
	}
}

// CheckFile is what commands run before their work. /dev/null is only
// looked at: it is never written, whatever this test finds.
func TestCheckFile(t *testing.T) {
	if err := CheckFile("/dev/null"); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "a character device") {
		t.Errorf("/dev/null: %v, want ErrRefused naming a character device", err)
	}
	_, paths := specialFiles(t)
	for kind, path := range paths {
		if err := CheckFile(path); !errors.Is(err, ErrRefused) {
			t.Errorf("%s: %v, want ErrRefused", kind, err)
		}
	}
	parent := t.TempDir()
	file := filepath.Join(parent, "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, ok := range []string{file, filepath.Join(parent, "new")} {
		if err := CheckFile(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for path, want := range map[string]string{
		filepath.Join(parent, "missing", "x"): "does not exist",
		filepath.Join(file, "x"):              "is not a directory",
	} {
		if err := CheckFile(path); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want ErrRefused and %q", path, err, want)
		}
	}
	if os.Geteuid() != 0 {
		ro := filepath.Join(parent, "ro")
		if err := os.Mkdir(ro, 0o555); err != nil {
			t.Fatal(err)
		}
		if err := CheckFile(filepath.Join(ro, "x")); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "cannot be written") {
			t.Errorf("read-only directory: %v", err)
		}
	}
}

// TestWriteGated: streamed files are written whole; a gate that fails leaves
// the earlier output in place and nothing behind; one that passes lets the
// new output in.
func TestWriteGated(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "out")
	if err := Write(dir, files("1")); err != nil {
		t.Fatal(err)
	}
	streamed := []File{{Name: "plan.yaml", Write: func(w io.Writer) error {
		_, err := io.WriteString(w, "plan 2")
		return err
	}}, {Name: "SUMMARY.md", Data: []byte("summary 2")}}
	stop := errors.New("the check failed")
	if err := WriteGated(dir, streamed, func() error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("gate error not returned: %v", err)
	}
	if got := readAll(t, dir); got["plan.yaml"] != "plan 1" {
		t.Errorf("a failed gate replaced the output: %v", got)
	}
	if l := leftovers(t, parent, "out"); len(l) > 0 {
		t.Errorf("left behind %v", l)
	}
	if err := WriteGated(dir, streamed, func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, dir); got["plan.yaml"] != "plan 2" || got["SUMMARY.md"] != "summary 2" {
		t.Errorf("dir holds %v", got)
	}
	failing := []File{{Name: "plan.yaml", Write: func(w io.Writer) error { return errors.New("encode failed") }}, {Name: "SUMMARY.md"}}
	if err := WriteGated(dir, failing, nil); err == nil || !strings.Contains(err.Error(), "encode failed") {
		t.Errorf("a failed stream was not reported: %v", err)
	}
	if got := readAll(t, dir); got["plan.yaml"] != "plan 2" {
		t.Errorf("a failed stream replaced the output: %v", got)
	}
}
