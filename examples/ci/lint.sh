#!/usr/bin/env bash
# Lints the CI examples: the GitHub Actions workflows with actionlint (which
# runs shellcheck over their run: scripts when shellcheck is installed) and
# kshift-ci.sh with shellcheck. GitLab's own linter needs a GitLab server; the
# GitLab file is checked by cmd/kshift's TestCIExamples instead.
# .ci/run calls it; run it from anywhere.
set -euo pipefail
cd "$(dirname "$0")"

# The pinned actionlint, served by the Go module proxy.
ACTIONLINT=github.com/rhysd/actionlint/cmd/actionlint@v1.7.12

if ! command -v shellcheck >/dev/null; then
  echo "shellcheck is not installed (apt-get install shellcheck)" >&2
  exit 1
fi
go run "$ACTIONLINT" -shellcheck "$(command -v shellcheck)" github/*.yml
shellcheck kshift-ci.sh lint.sh
echo "CI examples lint clean:" github/*.yml kshift-ci.sh
