#!/usr/bin/env bash
# Builds (or reuses) kubelet, kube-controller-manager and kube-scheduler for the e2e node.
# Same scheme as hack/build-controlplane.sh (the shared steps in hack/lib/k8s-build.sh), but its own tool module (hack/node), directory and
# stamp: the node binaries never invalidate the control plane's stamp, and the Go build cache
# shares every package the two modules have in common (the versions are identical).
# The last line on stdout is the binary directory; progress goes to stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
module="$here/node"
source "$here/lib/k8s-build.sh"

K8S_VERSION="$(module_version k8s.io/kubernetes)"
[[ -n "$K8S_VERSION" ]] || { echo "cannot read the k8s version from $module/go.mod" >&2; exit 1; }

out="$cache_root/k8s-$K8S_VERSION/node-bin"
stamp="$out/.stamp"
gosum_hash="$(sha256sum "$module/go.sum" | cut -c1-16)"
want="k8s=$K8S_VERSION gosum=$gosum_hash"
components=(kubelet kube-controller-manager kube-scheduler)

is_current() {
  [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] || return 1
  local c; for c in "${components[@]}"; do [[ -x "$out/$c" ]] || return 1; done
}

reuse_or_lock "$cache_root/.node-build.lock" "the node binaries"

command -v go >/dev/null || { echo "go is required to build the node binaries; see docs/e2e.md" >&2; exit 1; }
go_build_env
rm -f "$stamp"
start=$(date +%s)

ldflags="$(k8s_ldflags "$K8S_VERSION")"

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
