package kafkatest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kshift/kshift/internal/zktest"
)

// HomeEnv names the environment variable that points at a Kafka 2.4 folder.
const HomeEnv = "KSHIFT_KAFKA_HOME"

// RequireEnv, when set, turns a missing Kafka into a test failure instead
// of a skip (CI sets it).
const RequireEnv = "KSHIFT_REQUIRE_KAFKA"

// Require returns the Kafka folder to run brokers from. It skips t under
// -short and when KSHIFT_KAFKA_HOME is unset or unusable (its layout, java
// or ZooKeeper missing), saying how to run the test; with
// KSHIFT_REQUIRE_KAFKA set it fails t instead of skipping.
func Require(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("kafkatest: starts real Kafka brokers (JVMs), which -short skips")
	}
	home, err := findHome()
	if err == nil {
		return home
	}
	if os.Getenv(RequireEnv) != "" {
		t.Fatalf("kafkatest: %v; %s is set, so this is a failure", err, RequireEnv)
	}
	t.Skipf("kafkatest: %v", err)
	return ""
}

// findHome resolves KSHIFT_KAFKA_HOME and checks that brokers can run from it.
func findHome() (string, error) {
	how := fmt.Sprintf("run with %s=../shared/kafka-2.4 (a Kafka 2.4 folder; relative to the repository root)", HomeEnv)
	raw := os.Getenv(HomeEnv)
	if raw == "" {
		return "", fmt.Errorf("real Kafka needed: %s is not set; %s", HomeEnv, how)
	}
	home, err := resolveHome(raw)
	if err != nil {
		return "", fmt.Errorf("real Kafka needed: %w; %s", err, how)
	}
	var missing []string
	for _, rel := range []string{"bin/kafka-broker.sh", "config/server.properties", "lib"} {
		if _, err := os.Stat(filepath.Join(home, rel)); err != nil {
			missing = append(missing, filepath.Join(home, rel))
		}
	}
	if _, err := exec.LookPath("java"); err != nil {
		missing = append(missing, "java")
	}
	missing = append(missing, zktest.Missing()...)
	if len(missing) > 0 {
		return "", fmt.Errorf("real Kafka needed: %s=%s, but %s not found; %s", HomeEnv, raw, strings.Join(missing, ", "), how)
	}
	return home, nil
}

// resolveHome makes a relative KSHIFT_KAFKA_HOME absolute against the
// module root, the folder above the working directory that holds go.mod
// (go test runs each package in its own folder).
func resolveHome(raw string) (string, error) {
	if filepath.IsAbs(raw) {
		return filepath.Clean(raw), nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("resolving %s=%s: %w", HomeEnv, raw, err)
	}
	root, err := moduleRoot(wd)
	if err != nil {
		return "", fmt.Errorf("resolving %s=%s: %w", HomeEnv, raw, err)
	}
	return filepath.Join(root, raw), nil
}

// moduleRoot is the nearest folder at or above dir holding go.mod.
func moduleRoot(dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("looking for go.mod in %s: %w", d, err)
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod in %s or above it: run the tests from inside the repository", dir)
		}
	}
}
