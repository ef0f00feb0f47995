package version

import (
	"runtime/debug"
	"testing"
)

// TestResolve pins where the version comes from: a release stamp (linker
// flags) first, then the module version the Go tool recorded, then Dev for
// a build in the source tree.
func TestResolve(t *testing.T) {
	info := func(v string) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) {
			return &debug.BuildInfo{Main: debug.Module{Path: "github.com/kshift/kshift", Version: v}}, true
		}
	}
	none := func() (*debug.BuildInfo, bool) { return nil, false }
	for _, tc := range []struct {
		name, stamp string
		info        func() (*debug.BuildInfo, bool)
		want        string
	}{
		{"release stamp wins", "v1.4.0", info("v1.3.9"), "v1.4.0"},
		{"go install @version", "", info("v1.3.9"), "v1.3.9"},
		{"pseudo-version of an untagged commit", "", info("v0.0.0-20261206230000-0123456789ab"), "v0.0.0-20261206230000-0123456789ab"},
		{"source tree", "", info("(devel)"), Dev},
		{"no module version", "", info(""), Dev},
		{"no build info", "", none, Dev},
	} {
		if got := resolve(tc.stamp, tc.info); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}
