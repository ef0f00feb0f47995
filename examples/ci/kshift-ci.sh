#!/usr/bin/env bash
# kshift-ci.sh: the shell logic of the kshift CI examples (GitHub Actions and
# GitLab CI), for a repository of migrations laid out as
#
#   migrations/<cluster>/snapshot.yaml   kshift snapshot of the cluster
#   migrations/<cluster>/mapping.yaml    the mapping a person writes
#   migrations/<cluster>/plan/           what kshift plan wrote from them
#
# Usage:
#   kshift-ci.sh check BASE_REF        on a pull request: for each cluster whose
#                                      files changed since BASE_REF, plan again and
#                                      fail when the committed plan/ is not
#                                      byte-identical, validate plan and rollback
#                                      against the snapshot and mapping, and write
#                                      the pull-request comment (the checks, the
#                                      plan diff against BASE_REF, the summary)
#   kshift-ci.sh apply CLUSTER STEP    after merge: apply one step of a merged
#                                      plan (refused unless the checked-out commit
#                                      is on the default branch), keep the audit
#                                      trail, and write kshift status at the end
#   kshift-ci.sh gitlab-comment FILE   create or update the one merge-request note
#                                      holding FILE, with the glab CLI
#
# Environment: KSHIFT (the kshift command, default kshift), MIGRATIONS (default
# migrations), OUT (where files are written, default kshift-ci-out), REMOTE
# (default origin) and DEFAULT_BRANCH (apply; default main). The cluster
# connection comes from kshift's own variables: KSHIFT_PROFILE (a cluster
# profile file), KSHIFT_BOOTSTRAP, KSHIFT_ZOOKEEPER, KSHIFT_SASL_USER, and the
# secrets KSHIFT_SASL_PASSWORD and KSHIFT_ZK_DIGEST.
set -euo pipefail

KSHIFT=${KSHIFT:-kshift}
MIGRATIONS=${MIGRATIONS:-migrations}
OUT=${OUT:-kshift-ci-out}
REMOTE=${REMOTE:-origin}
DEFAULT_BRANCH=${DEFAULT_BRANCH:-main}

# The marker that finds the one comment to update.
MARKER='<!-- kshift-plan-check -->'
# Forges refuse longer comments (GitHub: 65,536 characters).
COMMENT_LIMIT=60000

die() {
  echo "kshift-ci: $*" >&2
  exit 2
}

# changed_clusters BASE prints each cluster directory with a change since
# BASE (merge base to HEAD) that still exists, once.
changed_clusters() {
  local base=$1
  git diff --name-only "$base"...HEAD -- "$MIGRATIONS/" |
    awk -F/ -v root="$MIGRATIONS" 'NF >= 3 { print root "/" $2 }' |
    sort -u |
    while read -r dir; do
      if [ -d "$dir" ]; then echo "$dir"; fi
    done
}

# check_cluster DIR BASE appends DIR's section to the comment and returns
# non-zero when a check failed.
check_cluster() {
  local dir=$1 base=$2 failed=0
  local name work
  name=$(basename "$dir")
  work=$(mktemp -d)
  {
    echo "### \`$name\`"
    echo
  } >>"$OUT/comment.md"
  for f in snapshot.yaml mapping.yaml plan/plan.yaml plan/rollback.yaml plan/SUMMARY.md; do
    if [ ! -f "$dir/$f" ]; then
      echo "- ❌ \`$dir/$f\` is missing: run \`kshift plan --snapshot $dir/snapshot.yaml --mapping $dir/mapping.yaml --out $dir/plan\` and commit plan/" >>"$OUT/comment.md"
      echo >>"$OUT/comment.md"
      rm -rf "$work"
      return 1
    fi
  done

  # 1. The committed plan is what this kshift plans from the committed files.
  if "$KSHIFT" plan --snapshot "$dir/snapshot.yaml" --mapping "$dir/mapping.yaml" --out "$work/plan" >"$work/plan.log" 2>&1; then
    if diff -r "$dir/plan" "$work/plan" >"$work/stale.diff" 2>&1; then
      echo "- ✅ \`plan/\` is what \`$("$KSHIFT" --version 2>/dev/null | head -n1)\` plans from the snapshot and mapping, byte for byte" >>"$OUT/comment.md"
    else
      failed=1
      {
        echo "- ❌ \`plan/\` is stale: planning again from the committed snapshot and mapping gives other files. Run \`kshift plan --snapshot $dir/snapshot.yaml --mapping $dir/mapping.yaml --out $dir/plan\` with the pinned kshift and commit the result."
        echo
        echo '  <details><summary>what differs</summary>'
        echo
        echo '  ```diff'
        head -n 60 "$work/stale.diff" | sed 's/^/  /'
        echo '  ```'
        echo '  </details>'
      } >>"$OUT/comment.md"
    fi
  else
    failed=1
    {
      echo "- ❌ \`kshift plan\` refused the snapshot and mapping:"
      echo
      echo '  ```'
      head -n 40 "$work/plan.log" | sed 's/^/  /'
      echo '  ```'
    } >>"$OUT/comment.md"
  fi

  # 2. Plan and rollback hold every invariant against the snapshot and mapping.
  local f
  for f in plan.yaml rollback.yaml; do
    if "$KSHIFT" plan validate "$dir/plan/$f" --snapshot "$dir/snapshot.yaml" --mapping "$dir/mapping.yaml" >"$work/validate.log" 2>&1; then
      echo "- ✅ \`kshift plan validate plan/$f\`: no invariant violated" >>"$OUT/comment.md"
    else
      failed=1
      {
        echo "- ❌ \`kshift plan validate plan/$f\` found violations:"
        echo
        echo '  ```'
        head -n 40 "$work/validate.log" | sed 's/^/  /'
        echo '  ```'
      } >>"$OUT/comment.md"
    fi
  done
  echo >>"$OUT/comment.md"

  # 3. What the pull request changes in the plan, against the base branch.
  if git cat-file -e "$base:$dir/plan/plan.yaml" 2>/dev/null; then
    git show "$base:$dir/plan/plan.yaml" >"$work/base-plan.yaml"
    if ! "$KSHIFT" plan diff "$work/base-plan.yaml" "$dir/plan/plan.yaml" --output markdown >"$work/diff.md" 2>&1; then
      failed=1
    fi
    sed 's/^###/####/' "$work/diff.md" >>"$OUT/comment.md"
  else
    echo "A new plan: \`$base\` has none for this cluster." >>"$OUT/comment.md"
  fi
  {
    echo
    echo '<details><summary>SUMMARY.md</summary>'
    echo
    sed 's/^#/###/' "$dir/plan/SUMMARY.md"
    echo
    echo '</details>'
    echo
  } >>"$OUT/comment.md"
  rm -rf "$work"
  return "$failed"
}

cmd_check() {
  [ $# -eq 1 ] || die "usage: kshift-ci.sh check BASE_REF"
  local base=$1
  git rev-parse --verify --quiet "$base^{commit}" >/dev/null || die "$base is not a commit here: fetch it first (git fetch $REMOTE <branch>)"
  mkdir -p "$OUT"
  : >"$OUT/comment.md"
  local clusters
  clusters=$(changed_clusters "$base")
  {
    echo "$MARKER"
    echo "## kshift plan check"
    echo
  } >>"$OUT/comment.md"
  if [ -z "$clusters" ]; then
    echo "No cluster under \`$MIGRATIONS/\` changed since \`$base\`." >>"$OUT/comment.md"
    echo "no cluster changed since $base"
    return 0
  fi
  local failed=0 dir
  for dir in $clusters; do
    if check_cluster "$dir" "$base"; then
      echo "$dir: OK"
    else
      echo "$dir: FAILED (see $OUT/comment.md)"
      failed=1
    fi
  done
  if [ "$(wc -c <"$OUT/comment.md")" -gt "$COMMENT_LIMIT" ]; then
    cp "$OUT/comment.md" "$OUT/comment-full.md"
    head -c "$COMMENT_LIMIT" "$OUT/comment-full.md" >"$OUT/comment.md"
    printf '\n\n… cut at %d characters: the job keeps the whole comment as comment-full.md.\n' "$COMMENT_LIMIT" >>"$OUT/comment.md"
  fi
  return "$failed"
}

cmd_apply() {
  [ $# -eq 2 ] || die "usage: kshift-ci.sh apply CLUSTER STEP"
  local cluster=$1 step=$2
  [[ $cluster =~ ^[A-Za-z0-9._-]+$ ]] || die "cluster \"$cluster\": want a directory name under $MIGRATIONS/"
  [[ $step =~ ^[1-9][0-9]*$ ]] || die "step \"$step\": want a step number, 1 or more"
  local dir="$MIGRATIONS/$cluster"
  [ -f "$dir/plan/plan.yaml" ] || die "$dir/plan/plan.yaml does not exist"

  # Never an unmerged plan: the commit checked out must be on the default
  # branch as the remote has it now, and the plan as committed there.
  git fetch --quiet "$REMOTE" "$DEFAULT_BRANCH" || die "cannot fetch $DEFAULT_BRANCH from $REMOTE"
  if ! git merge-base --is-ancestor HEAD "$REMOTE/$DEFAULT_BRANCH"; then
    die "refused: commit $(git rev-parse --short HEAD) is not on $REMOTE/$DEFAULT_BRANCH; only a merged plan is applied"
  fi
  if [ -n "$(git status --porcelain -- "$dir")" ]; then
    die "refused: $dir differs from the commit checked out; only a committed plan is applied"
  fi

  mkdir -p "$OUT"
  "$KSHIFT" plan validate "$dir/plan/plan.yaml" --snapshot "$dir/snapshot.yaml" --mapping "$dir/mapping.yaml"

  local rc=0
  "$KSHIFT" apply "$dir/plan/plan.yaml" --step "$step" --audit-log "$OUT/audit.jsonl" --progress-interval 30s 2>&1 | tee "$OUT/apply.log" || rc=$?
  "$KSHIFT" status "$dir/plan/plan.yaml" >"$OUT/status.txt" 2>&1 || true
  cat "$OUT/status.txt"
  if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    local outcome="done"
    if [ "$rc" -ne 0 ]; then outcome="failed (exit $rc)"; fi
    {
      echo "## kshift apply $cluster --step $step: $outcome"
      echo
      echo '```'
      cat "$OUT/status.txt"
      echo '```'
    } >>"$GITHUB_STEP_SUMMARY"
  fi
  return "$rc"
}

# gitlab-comment FILE: one note per merge request, found by the marker, made
# or edited through the glab CLI (GITLAB_TOKEN or glab's own login).
cmd_gitlab_comment() {
  [ $# -eq 1 ] || die "usage: kshift-ci.sh gitlab-comment FILE"
  local file=$1
  : "${CI_PROJECT_ID:?set by GitLab CI}" "${CI_MERGE_REQUEST_IID:?set by GitLab CI in merge request pipelines}"
  local notes="projects/$CI_PROJECT_ID/merge_requests/$CI_MERGE_REQUEST_IID/notes"
  local id
  id=$(glab api --paginate "$notes?sort=asc&per_page=100" |
    jq -r --arg m "$MARKER" '.[] | select(.body | startswith($m)) | .id' | head -n1)
  if [ -n "$id" ]; then
    glab api --method PUT "$notes/$id" --raw-field "body=$(cat "$file")" >/dev/null
    echo "updated note $id"
  else
    glab api --method POST "$notes" --raw-field "body=$(cat "$file")" >/dev/null
    echo "created a note"
  fi
}

case "${1:-}" in
check)
  shift
  cmd_check "$@"
  ;;
apply)
  shift
  cmd_apply "$@"
  ;;
gitlab-comment)
  shift
  cmd_gitlab_comment "$@"
  ;;
*) die "usage: kshift-ci.sh check BASE_REF | apply CLUSTER STEP | gitlab-comment FILE" ;;
esac
