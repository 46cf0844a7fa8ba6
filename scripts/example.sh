#!/usr/bin/env bash
# npm run example [-- name=value ...]
#
# From a fresh clone to a real build in one command. Installs dependencies
# (npm ci) when node_modules is missing, builds dist/, then runs dist/index.js
# the way the GitHub runner runs the action: inputs as INPUT_* variables,
# outputs and state through the files named by GITHUB_OUTPUT / GITHUB_STATE,
# then the post step with STATE_* variables. It builds examples/hello (FROM
# scratch plus one COPY: no image pulls) and prints the outputs.
#
# Which builder:
#   BUILDKIT_HOST=tcp://127.0.0.1:1234 (or unix:///path/to/buildkitd.sock)
#       build on that daemon (fallback: never, so a wrong address fails loudly)
#   BUILDKIT_HOST unset and buildkitd on PATH
#       the action starts that buildkitd itself (fallback: only) and the post
#       step stops it again
#   neither
#       the action downloads its default BuildKit release (verified against
#       its pinned digest), starts it and stops it in post; without internet
#       it fails with one error line naming the download
#
# Optional:
#   EXAMPLE_TAG=127.0.0.1:5000/hello:dev   name the image and push it there
#   name=value arguments                   any other action input, e.g.
#       npm run example -- tls-ca=ca.pem tls-cert=cert.pem tls-key=key.pem
#     (relative paths are relative to the repository root)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
step() { printf '\n%s==> %s%s\n' "$bold" "$*" "$plain"; }
die() {
  printf '\n%s\n' "$*" >&2
  exit 1
}

for tool in node npm; do
  command -v "$tool" >/dev/null || die "$tool is not installed: install Node.js 20 or later (https://nodejs.org), then run 'npm run example' again."
done

# --- 1. Pick the builder first: no point installing and building without one.
inputs=("INPUT_CONTEXT=examples/hello")
if [ -n "${BUILDKIT_HOST:-}" ]; then
  inputs+=("INPUT_BUILDER=$BUILDKIT_HOST" "INPUT_FALLBACK=never")
  where="the BuildKit daemon at $BUILDKIT_HOST"
elif command -v buildkitd >/dev/null; then
  # "buildkitd github.com/moby/buildkit v0.24.0 <commit>": asking for exactly
  # this version makes the action use it instead of downloading a release.
  bk_version=$(buildkitd --version | awk '{print $3}')
  inputs+=("INPUT_FALLBACK=only" "INPUT_BUILDKIT-VERSION=$bk_version")
  where="a local buildkitd $bk_version ($(command -v buildkitd)), started by the action"
else
  # Nothing given and nothing installed: the action's own fallback downloads
  # its default BuildKit release (checked against its pinned digest), starts
  # it on this machine and stops it in the post step, as on a fresh runner.
  inputs+=("INPUT_FALLBACK=only")
  where="a buildkitd that the action downloads (its default release) and starts"
fi
if [ -n "${EXAMPLE_TAG:-}" ]; then
  inputs+=("INPUT_TAGS=$EXAMPLE_TAG" "INPUT_PUSH=true")
fi
for arg in "$@"; do
  [[ $arg == ?*=* ]] || die "Arguments are action inputs as name=value (e.g. push=true), got: $arg"
  name=${arg%%=*}
  # The runner upper-cases input names and turns spaces into underscores; dashes stay.
  name=${name// /_}
  inputs+=("INPUT_${name^^}=${arg#*=}")
done

# --- 2. Dependencies and dist/.
if [ ! -d node_modules ]; then
  step "Installing dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi
step "Building dist/ (npm run build)"
npm run --silent build

# --- 3. Run main and post as the runner would.
run_dir=$(mktemp -d "${TMPDIR:-/tmp}/envd-remote-build-example.XXXXXX")
for f in output state summary env path; do : >"$run_dir/$f"; done
runner=(
  "GITHUB_WORKSPACE=$ROOT"
  "GITHUB_OUTPUT=$run_dir/output"
  "GITHUB_STATE=$run_dir/state"
  "GITHUB_STEP_SUMMARY=$run_dir/summary"
  "GITHUB_ENV=$run_dir/env"
  "GITHUB_PATH=$run_dir/path"
  "RUNNER_TEMP=$run_dir/temp"
  # Kept across runs, so tools the action downloads (envd, buildkitd) are reused.
  "RUNNER_TOOL_CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/envd-remote-build/tool-cache"
)
mkdir -p "$run_dir/temp"

# Calls "$2 name value" for each record of a runner file-command file ($1):
# `name=value` lines, or `name<<DELIMITER` ... `DELIMITER` for any value.
each_record() {
  local heredoc='^([^=<]+)<<(.+)$' line name delim value
  while IFS= read -r line || [ -n "$line" ]; do
    if [[ $line =~ $heredoc ]]; then
      name=${BASH_REMATCH[1]} delim=${BASH_REMATCH[2]} value=
      local first=1
      while IFS= read -r line && [ "$line" != "$delim" ]; do
        if [ $first = 1 ]; then value=$line first=0; else value+=$'\n'$line; fi
      done
      "$2" "$name" "$value"
    elif [[ $line == *=* ]]; then
      "$2" "${line%%=*}" "${line#*=}"
    fi
  done <"$1"
}

post_done=0
run_post() {
  [ "$post_done" = 0 ] && [ -s "$run_dir/state" ] || return 0
  post_done=1
  local state=()
  add_state() { state+=("STATE_$1=$2"); }
  each_record "$run_dir/state" add_state
  step "Post step (cleanup)"
  env "${runner[@]}" "${inputs[@]}" "${state[@]}" node dist/index.js || echo "post step failed (exit $?)" >&2
}
trap run_post EXIT

step "Building examples/hello on $where"
main_rc=0
env "${runner[@]}" "${inputs[@]}" node dist/index.js || main_rc=$?

print_output() {
  case $1 in
    metadata) printf '%-9s\n' 'metadata:'; node -e 'console.log(JSON.stringify(JSON.parse(process.argv[1]), null, 2))' "$2" 2>/dev/null || printf '%s\n' "$2" ;;
    *) printf '%-9s %s\n' "$1:" "${2:-(empty)}" ;;
  esac
}
step "Outputs"
if [ -s "$run_dir/output" ]; then each_record "$run_dir/output" print_output; else echo "(none: the action did not get as far as setting them)"; fi

run_post
if [ "$main_rc" != 0 ]; then
  die "The example build failed (exit $main_rc); the action's log is above. Runner files were kept in $run_dir"
fi
rm -rf "$run_dir"
