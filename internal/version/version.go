// Package version owns kshift's version string, recorded in every plan it
// writes and printed by kshift --version. It reads the build only (linker
// flags, the Go build info); it must not read files, the environment or the
// network.
package version

import "runtime/debug"

// Dev is the version of a kshift built from a source tree without a
// release stamp (go build, go run, go test): what plans built by such a
// binary record.
const Dev = "0.1.0-dev"

// release is set by a release build:
//
//	go build -ldflags "-X github.com/kshift/kshift/internal/version.release=v1.2.3"
//
// (.goreleaser.yaml sets it from the tag). It wins over the build info.
var release string

// Version is kshift's version: the release stamp when there is one, else
// the module version the Go tool recorded in the binary (go install
// github.com/kshift/kshift/cmd/kshift@v1.2.3 records v1.2.3), else Dev.
// Plans record it; a change to it changes the plan header only.
var Version = resolve(release, debug.ReadBuildInfo)

// resolve picks the version from the release stamp, then the build info.
func resolve(stamp string, buildInfo func() (*debug.BuildInfo, bool)) string {
	if stamp != "" {
		return stamp
	}
	if bi, ok := buildInfo(); ok && bi != nil {
		// "(devel)" is what the Go tool records for the main module of a
		// build in its own source tree without version control information.
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			return v
		}
	}
	return Dev
}
