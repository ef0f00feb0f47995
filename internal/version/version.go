// Package version holds kshift's version string, recorded in every plan it writes.
package version

// Version is kshift's release version. Plans record it; a change to it changes
// the plan header only.
const Version = "0.1.0-dev"
