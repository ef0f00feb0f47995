package main

import (
	"archive/zip"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// goreleaserConfig is the part of .goreleaser.yaml kshift uses. GoReleaser
// itself does not run here (its module is not an approved release in this
// project's module list): this strict decoding is the check, so a field
// added to the file must be added here, which makes its author look up
// what it means.
type goreleaserConfig struct {
	Version     int    `yaml:"version"`
	ProjectName string `yaml:"project_name"`
	Builds      []struct {
		ID           string   `yaml:"id"`
		Main         string   `yaml:"main"`
		Binary       string   `yaml:"binary"`
		Env          []string `yaml:"env"`
		GOOS         []string `yaml:"goos"`
		GOARCH       []string `yaml:"goarch"`
		Flags        []string `yaml:"flags"`
		LDFlags      []string `yaml:"ldflags"`
		ModTimestamp string   `yaml:"mod_timestamp"`
	} `yaml:"builds"`
	Archives []struct {
		ID           string   `yaml:"id"`
		IDs          []string `yaml:"ids"`
		Formats      []string `yaml:"formats"`
		NameTemplate string   `yaml:"name_template"`
		Files        []string `yaml:"files"`
	} `yaml:"archives"`
	Checksum struct {
		NameTemplate string `yaml:"name_template"`
		Algorithm    string `yaml:"algorithm"`
	} `yaml:"checksum"`
	Snapshot struct {
		VersionTemplate string `yaml:"version_template"`
	} `yaml:"snapshot"`
	Changelog struct {
		Sort string `yaml:"sort"`
	} `yaml:"changelog"`
}

const repoRoot = "../.."

func loadGoreleaser(t *testing.T) goreleaserConfig {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, ".goreleaser.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg goreleaserConfig
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		t.Fatalf(".goreleaser.yaml: %v", err)
	}
	return cfg
}

// TestGoreleaserConfig checks .goreleaser.yaml with yaml.v3 (strict), not
// with goreleaser check: a version 2 file that builds cmd/kshift for linux
// and darwin on amd64 and arm64, statically, stamps the version, archives
// every build with files that exist, and writes SHA-256 checksums.
func TestGoreleaserConfig(t *testing.T) {
	cfg := loadGoreleaser(t)
	if cfg.Version != 2 {
		t.Errorf("version: %d, want 2 (GoReleaser v2 reads only version 2 files)", cfg.Version)
	}
	if len(cfg.Builds) != 1 {
		t.Fatalf("want one build, got %d", len(cfg.Builds))
	}
	b := cfg.Builds[0]
	if b.Main != "./cmd/kshift" || b.Binary != "kshift" {
		t.Errorf("build main %q binary %q, want ./cmd/kshift and kshift", b.Main, b.Binary)
	}
	if _, err := os.Stat(filepath.Join(repoRoot, b.Main, "main.go")); err != nil {
		t.Errorf("build main %s: %v", b.Main, err)
	}
	for _, want := range []string{"linux", "darwin"} {
		if !slices.Contains(b.GOOS, want) {
			t.Errorf("goos %v lacks %s", b.GOOS, want)
		}
	}
	for _, want := range []string{"amd64", "arm64"} {
		if !slices.Contains(b.GOARCH, want) {
			t.Errorf("goarch %v lacks %s", b.GOARCH, want)
		}
	}
	if !slices.Contains(b.Env, "CGO_ENABLED=0") {
		t.Errorf("build env %v: want CGO_ENABLED=0, a static binary that runs on any linux", b.Env)
	}
	if !strings.Contains(strings.Join(b.LDFlags, " "), "-X github.com/kshift/kshift/internal/version.release=") {
		t.Errorf("ldflags %v do not stamp internal/version.release", b.LDFlags)
	}
	if len(cfg.Archives) != 1 || !slices.Contains(cfg.Archives[0].IDs, b.ID) {
		t.Fatalf("want one archive of build %q, got %+v", b.ID, cfg.Archives)
	}
	for _, f := range cfg.Archives[0].Files {
		if _, err := os.Stat(filepath.Join(repoRoot, f)); err != nil {
			t.Errorf("archive file %s: %v", f, err)
		}
	}
	if cfg.Checksum.NameTemplate == "" || cfg.Checksum.Algorithm != "sha256" {
		t.Errorf("checksum %+v: want a checksums file of sha256", cfg.Checksum)
	}
}

// TestReleaseVersionStamp builds kshift with the ldflags .goreleaser.yaml
// gives (the tag for {{ .Version }}) and checks kshift --version prints it.
func TestReleaseVersionStamp(t *testing.T) {
	if testing.Short() {
		t.Skip("builds kshift: skipped under -short")
	}
	cfg := loadGoreleaser(t)
	ldflags := strings.ReplaceAll(strings.Join(cfg.Builds[0].LDFlags, " "), "{{ .Version }}", "7.8.9")
	bin := filepath.Join(t.TempDir(), "kshift")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", ldflags, "-o", bin, "./cmd/kshift")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "kshift version v7.8.9" {
		t.Fatalf("kshift --version of a release build: %q (%v), want kshift version v7.8.9", out, err)
	}
}

// TestGoInstallFromModulePath runs what the README tells people to run,
// go install github.com/kshift/kshift/cmd/kshift@VERSION, against a module
// proxy made here from the repository's files (GOPROXY=file://..., the
// dependencies from the local module cache, nothing from the network), and
// checks the installed kshift reports VERSION from its build info. It
// fails when the module cannot be installed by path (a replace directive
// in go.mod, cmd/kshift not a main package, a wrong module path).
func TestGoInstallFromModulePath(t *testing.T) {
	if testing.Short() {
		t.Skip("builds kshift: skipped under -short")
	}
	const module, ver = "github.com/kshift/kshift", "v0.99.0"
	files, err := exec.Command("git", "-C", repoRoot, "ls-files", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Skipf("listing the repository's files needs git: %v", err)
	}
	proxy := t.TempDir()
	at := filepath.Join(proxy, module, "@v")
	if err := os.MkdirAll(at, 0o755); err != nil {
		t.Fatal(err)
	}
	var zipped bytes.Buffer
	zw := zip.NewWriter(&zipped)
	for _, f := range strings.Split(strings.TrimSpace(string(files)), "\n") {
		data, err := os.ReadFile(filepath.Join(repoRoot, f))
		if os.IsNotExist(err) {
			continue // deleted in the work tree, not yet committed
		}
		if err != nil {
			t.Fatal(err)
		}
		w, err := zw.Create(module + "@" + ver + "/" + f)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	gomod, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"list":        []byte(ver + "\n"),
		ver + ".info": fmt.Appendf(nil, `{"Version":%q,"Time":"2026-12-01T00:00:00Z"}`, ver),
		ver + ".mod":  gomod,
		ver + ".zip":  zipped.Bytes(),
	} {
		if err := os.WriteFile(filepath.Join(at, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	modcache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	// A module cache of its own: the shared one would keep the first
	// run's kshift@VERSION and install that on every later run.
	env := append(os.Environ(), "GOMODCACHE="+t.TempDir(),
		"GOBIN="+bin, "GOFLAGS=-modcacherw", "GOTOOLCHAIN=local", "GOSUMDB=off", "GONOSUMDB=", "GOPRIVATE=",
		"GOPROXY=file://"+proxy+",file://"+filepath.Join(strings.TrimSpace(string(modcache)), "cache", "download"))
	// -trimpath lets the build cache serve the dependencies compiled before.
	install := exec.Command("go", "install", "-trimpath", module+"/cmd/kshift@"+ver)
	install.Dir = t.TempDir() // outside any module, as a user runs it
	install.Env = env
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("go install %s/cmd/kshift@%s: %v\n%s", module, ver, err, out)
	}
	out, err := exec.Command(filepath.Join(bin, "kshift"), "--version").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "kshift version "+ver {
		t.Fatalf("kshift --version after go install @%s: %q (%v)", ver, out, err)
	}
}
