# Sourced by hack/build-controlplane.sh and hack/build-node.sh: the scheme they share for
# Kubernetes binaries built from a committed Go module and cached outside the clone behind a
# stamp. Each script keeps its own module, directory, stamp, key and lock file; this file only
# holds the steps that are the same. The caller sets $module (the Go module's directory),
# $out (the binary directory) and defines is_current (its stamp and binaries are there).

# The version of a module the committed go.mod requires.
module_version() { awk -v m="$1" '$1 == m && $2 ~ /^v/ {print $2; exit}' "$module/go.mod"; }

cache_root="${STRATEGY_OPERATOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/strategy-operator}"

# Print $out and exit when the build is current; else hold the lock file $1 (two `make test`
# runs on one machine must not build into the same directory at once: the second waits for
# the first, $2 names the build in the message), and exit likewise when that build made it current.
reuse_or_lock() {
  if is_current; then
    echo "$out"
    exit 0
  fi
  mkdir -p "$out"
  exec 9>"$1"
  if ! flock -n 9; then
    echo ">> another build of $2 is running; waiting for it" >&2
    flock 9
  fi
  if is_current; then
    echo "$out"
    exit 0
  fi
}

# GOTOOLCHAIN=local: never download another Go; -mod=readonly: build exactly the committed
# go.mod/go.sum (a drift is an error, not a silent upgrade).
go_build_env() { export GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=readonly; }

# The -ldflags stamping Kubernetes version $1 into its binaries, as its own release build does.
k8s_ldflags() {
  local minor="${1#v1.}" flags="-s -w" pkg
  minor="${minor%%.*}"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$1 -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  printf '%s' "$flags"
}
