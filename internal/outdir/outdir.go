// Package outdir writes a command's output files as one directory that
// appears whole or not at all: the files are written into a temporary
// directory beside the destination, synced, and renamed into place.
//
// When the destination exists, it is replaced only if it is empty or holds
// nothing but files of the names being written (an earlier output of the same
// command); anything else is refused, so a mistyped --out never clobbers a
// directory kshift did not write. WriteFile does the same for a single file:
// it replaces a regular file only, never a directory, a device (/dev/null),
// a FIFO or a socket, and CheckFile lets a command refuse such a path before
// it starts its work. It must not print or talk to the network.
package outdir

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
)

// File is one output file: a plain name (no directories) and its contents,
// either Data or, streamed, what Write writes (for files too large to hold
// in memory whole).
type File struct {
	Name  string
	Data  []byte
	Write func(io.Writer) error
}

// ErrRefused is returned (wrapped) when the destination may not be written:
// a directory that exists and is not an earlier output of the same files, a
// file path that exists and is not a regular file, or a parent directory that
// is missing or cannot be written. It is the person's input that is wrong.
var ErrRefused = errors.New("output refused")

// Write makes dir hold exactly files. The parent of dir must exist. On any
// error dir is left as it was (absent, or the earlier output) and no
// temporary directory is left behind.
//
// A crash (kill -9, power loss) between the two renames of a replacement can
// leave the earlier output under a hidden ".NAME.old-*" name beside dir;
// nothing is ever left half-written under dir itself.
func Write(dir string, files []File) error { return WriteGated(dir, files, nil) }

// WriteGated is Write with a gate: once every file is written (in a hidden
// temporary directory), gate runs, and dir is only put in place when it
// returns nil; its error is returned as is. Work that decides whether the
// output may be kept (a check run beside the writing) ends in gate.
func WriteGated(dir string, files []File, gate func() error) error {
	dir = filepath.Clean(dir)
	parent, base := filepath.Dir(dir), filepath.Base(dir)
	names := make([]string, 0, len(files))
	for _, f := range files {
		if f.Name == "" || f.Name != filepath.Base(f.Name) || f.Name == "." || f.Name == ".." {
			return fmt.Errorf("output file name %q: want a plain file name", f.Name)
		}
		if slices.Contains(names, f.Name) {
			return fmt.Errorf("output file %q is given twice", f.Name)
		}
		names = append(names, f.Name)
	}
	if err := checkParent(dir); err != nil {
		return err
	}
	existing, err := checkExisting(dir, names)
	if err != nil {
		return err
	}

	tmp, err := os.MkdirTemp(parent, "."+base+".tmp-")
	if err != nil {
		return fmt.Errorf("create a temporary directory beside %s: %w", dir, err)
	}
	committed := false
	defer func() {
		if !committed {
			os.RemoveAll(tmp)
		}
	}()
	// The files are independent: they are written side by side.
	errs := make([]error, len(files))
	var wg sync.WaitGroup
	for i, f := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = writeSynced(filepath.Join(tmp, f.Name), f)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if gate != nil {
		if err := gate(); err != nil {
			return err
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("set permissions on %s: %w", tmp, err)
	}
	if err := syncDir(tmp); err != nil {
		return err
	}

	if !existing {
		if err := os.Rename(tmp, dir); err != nil {
			return fmt.Errorf("move the new output into place at %s: %w", dir, err)
		}
		committed = true
		return syncDir(parent)
	}
	old, err := os.MkdirTemp(parent, "."+base+".old-")
	if err != nil {
		return fmt.Errorf("create a temporary directory beside %s: %w", dir, err)
	}
	// MkdirTemp reserved the name; rename needs it free (or an empty dir on
	// Linux only), so remove it and use the name.
	if err := os.Remove(old); err != nil {
		return fmt.Errorf("prepare to replace %s: %w", dir, err)
	}
	if err := os.Rename(dir, old); err != nil {
		return fmt.Errorf("move the earlier output %s aside: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if rerr := os.Rename(old, dir); rerr != nil {
			return fmt.Errorf("move the new output into place at %s: %w; the earlier output is at %s (restoring it failed: %v)", dir, err, old, rerr)
		}
		return fmt.Errorf("move the new output into place at %s: %w", dir, err)
	}
	committed = true
	if err := syncDir(parent); err != nil {
		return err
	}
	if err := os.RemoveAll(old); err != nil {
		return fmt.Errorf("remove the earlier output at %s: %w", old, err)
	}
	return nil
}

// CheckDir refuses (ErrRefused) a dir that Write of files with these names
// would refuse, writing nothing: commands call it before their work, and
// Write checks again.
func CheckDir(dir string, names []string) error {
	dir = filepath.Clean(dir)
	if err := checkParent(dir); err != nil {
		return err
	}
	_, err := checkExisting(dir, names)
	return err
}

// checkExisting reports whether dir exists and may be replaced, or refuses.
func checkExisting(dir string, names []string) (bool, error) {
	st, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("inspect %s: %w", dir, err)
	}
	if !st.IsDir() {
		return false, fmt.Errorf("%w: %s exists and is not a directory: choose another output directory", ErrRefused, dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, fmt.Errorf("read %s: %w", dir, err)
	}
	var foreign []string
	for _, e := range entries {
		if !e.Type().IsRegular() || !slices.Contains(names, e.Name()) {
			foreign = append(foreign, e.Name())
		}
	}
	if len(foreign) > 0 {
		return false, fmt.Errorf("%w: %s exists and holds %s, which kshift did not write there (kshift replaces a directory only when it holds nothing but %s): choose another output directory or remove it",
			ErrRefused, dir, strings.Join(quoteAll(first(foreign, 3)), ", ")+more(foreign, 3), strings.Join(names, ", "))
	}
	return true, nil
}

// checkParent refuses path when its parent directory is missing, is not a
// directory, or cannot be written.
func checkParent(path string) error {
	parent := filepath.Dir(path)
	st, err := os.Stat(parent)
	if err == nil && !st.IsDir() {
		return fmt.Errorf("%w: %s: %s is not a directory", ErrRefused, path, parent)
	}
	if err != nil {
		return fmt.Errorf("%w: %s: the parent directory %s does not exist: create it first", ErrRefused, path, parent)
	}
	if err := syscall.Access(parent, wOK); err != nil {
		return fmt.Errorf("%w: %s: the directory %s cannot be written (%v): choose a path you can write", ErrRefused, path, parent, err)
	}
	return nil
}

// wOK asks access(2) whether a path can be written.
const wOK = 0x2

// CheckFile refuses (ErrRefused) a path WriteFile must not write: one that
// exists and is not a regular file (a directory, a device such as /dev/null,
// a FIFO, a socket; a symbolic link is judged by what it points to), or
// whose directory is missing or cannot be written. It writes nothing:
// commands call it before their work (reading a cluster, planning) so that a
// wrong --out fails at once, and WriteFile calls it again.
func CheckFile(path string) error {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		// Absent, or under a path that is not a directory: checkParent says which.
	case err != nil:
		return fmt.Errorf("%w: %s: %v", ErrRefused, path, err)
	case st.IsDir():
		return fmt.Errorf("%w: %s is a directory: give the path of the file to write in it", ErrRefused, path)
	case !st.Mode().IsRegular():
		return fmt.Errorf("%w: %s exists and is not a regular file (%s): kshift writes regular files only, never a device, FIFO or socket; choose another path", ErrRefused, path, fileKind(st.Mode()))
	}
	return checkParent(path)
}

// fileKind names what a non-regular file is.
func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeDevice != 0 && m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	default:
		return "not a regular file"
	}
}

// WriteFile writes one file so that readers see the old contents or the new,
// never half a file: a temporary file beside path, synced, renamed into place.
// It refuses a path CheckFile refuses.
func WriteFile(path string, data []byte) error {
	return WriteFileFunc(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteFileFunc is WriteFile for contents that write streams into the file,
// too large to hold twice in memory (a snapshot of a large cluster).
func WriteFileFunc(path string, write func(io.Writer) error) error {
	if err := CheckFile(path); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	name := tmp.Name()
	defer os.Remove(name)
	// CreateTemp made the file 0600; the output is 0644 like any other.
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := write(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", name, err)
	}
	if err := os.Rename(name, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return syncDir(dir)
}

func writeSynced(path string, file File) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if file.Write != nil {
		err = file.Write(f)
	} else {
		_, err = f.Write(file.Data)
	}
	if err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	return nil
}

func syncDir(path string) error {
	d, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open %s to sync it: %w", path, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return nil
}

func first(s []string, n int) []string { return s[:min(n, len(s))] }

func more(s []string, n int) string {
	if len(s) <= n {
		return ""
	}
	return fmt.Sprintf(" and %d more", len(s)-n)
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = fmt.Sprintf("%q", x)
	}
	return out
}
