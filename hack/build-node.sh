#!/usr/bin/env bash
# Builds (or reuses) kubelet, kube-controller-manager and kube-scheduler for the e2e node.
# Same scheme as hack/build-controlplane.sh, but its own tool module (hack/node), directory and
# stamp: the node binaries never invalidate the control plane's stamp, and the Go build cache
# shares every package the two modules have in common (the versions are identical).
# The last line on stdout is the binary directory; progress goes to stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
module="$here/node"

module_version() { awk -v m="$1" '$1 == m && $2 ~ /^v/ {print $2; exit}' "$module/go.mod"; }
K8S_VERSION="$(module_version k8s.io/kubernetes)"
[[ -n "$K8S_VERSION" ]] || { echo "cannot read the k8s version from $module/go.mod" >&2; exit 1; }

cache_root="${STRATEGY_OPERATOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/strategy-operator}"
out="$cache_root/k8s-$K8S_VERSION/node-bin"
stamp="$out/.stamp"
gosum_hash="$(sha256sum "$module/go.sum" | cut -c1-16)"
want="k8s=$K8S_VERSION gosum=$gosum_hash"
components=(kubelet kube-controller-manager kube-scheduler)

is_current() {
  [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] || return 1
  local c; for c in "${components[@]}"; do [[ -x "$out/$c" ]] || return 1; done
}

if is_current; then
  echo "$out"
  exit 0
fi

mkdir -p "$out"
exec 9>"$cache_root/.node-build.lock"
if ! flock -n 9; then
  echo ">> another build of the node binaries is running; waiting for it" >&2
  flock 9
fi
if is_current; then
  echo "$out"
  exit 0
fi

command -v go >/dev/null || { echo "go is required to build the node binaries; see docs/e2e.md" >&2; exit 1; }
export GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=readonly
rm -f "$stamp"
start=$(date +%s)

minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

for c in "${components[@]}"; do
  t=$(date +%s)
  echo ">> building $c $K8S_VERSION" >&2
  (cd "$module" && go build -trimpath -tags notest -ldflags "$ldflags" -o "$out/$c.tmp" "k8s.io/kubernetes/cmd/$c")
  mv "$out/$c.tmp" "$out/$c"
  reported="$("$out/$c" --version 2>&1 | head -n 1)"
  [[ "$reported" == *"Kubernetes $K8S_VERSION"* ]] || { echo "$c reports '$reported', expected $K8S_VERSION" >&2; exit 1; }
  echo ">> $c built in $(( $(date +%s) - t ))s" >&2
done

echo "$want" > "$stamp"
echo ">> node binaries ready in $(( $(date +%s) - start ))s: $(du -sh "$out" | cut -f1) in $out" >&2
echo "$out"
