// Package outdir writes a command's output files as one directory that
// appears whole or not at all: the files are written into a temporary
// directory beside the destination, synced, and renamed into place.
//
// When the destination exists, it is replaced only if it is empty or holds
// nothing but files of the names being written (an earlier output of the same
// command); anything else is refused, so a mistyped --out never clobbers a
// directory kshift did not write. WriteFile does the same for a single file.
// It must not print or talk to the network.
package outdir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// File is one output file: a plain name (no directories) and its contents.
type File struct {
	Name string
	Data []byte
}

// ErrRefused is returned (wrapped) when the destination exists and is not
// an earlier output of the same files, or is not a directory.
var ErrRefused = errors.New("output directory refused")

// Write makes dir hold exactly files. The parent of dir must exist. On any
// error dir is left as it was (absent, or the earlier output) and no
// temporary directory is left behind.
//
// A crash (kill -9, power loss) between the two renames of a replacement can
// leave the earlier output under a hidden ".NAME.old-*" name beside dir;
// nothing is ever left half-written under dir itself.
func Write(dir string, files []File) error {
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
	if st, err := os.Stat(parent); err != nil || !st.IsDir() {
		return fmt.Errorf("%w: %s: the parent directory %s does not exist: create it first", ErrRefused, dir, parent)
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
	for _, f := range files {
		if err := writeSynced(filepath.Join(tmp, f.Name), f.Data); err != nil {
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

// WriteFile writes one file so that readers see the old contents or the new,
// never half a file: a temporary file beside path, synced, renamed into place.
func WriteFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	name := tmp.Name()
	tmp.Close()
	defer os.Remove(name)
	// CreateTemp made the file 0600; writeSynced wants to create it.
	if err := os.Remove(name); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := writeSynced(name, data); err != nil {
		return err
	}
	if err := os.Rename(name, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return syncDir(dir)
}

func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
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
