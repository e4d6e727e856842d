#!/usr/bin/env bash
# Builds (or reuses) kube-apiserver, etcd and helm for the local control plane.
# The binaries live outside the clone, keyed by version, so a fresh clone on the same
# machine reuses them; a stamp (versions + go.sum hash) makes a warm call return at once.
# The last line on stdout is the binary directory (strategy_operator_dev.controlplane reads it);
# progress goes to stderr. See docs/development.md for the design and measured costs.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
module="$here/controlplane"
source "$here/lib/k8s-build.sh"

# The versions come from the committed go.mod, so the stamp can never disagree with what
# is built; only helm (installed by `go install pkg@version`) is pinned here.
K8S_VERSION="$(module_version k8s.io/kubernetes)"
etcd_version="$(module_version go.etcd.io/etcd/server/v3)"
HELM_VERSION="${HELM_VERSION:-v4.3.1}"
[[ -n "$K8S_VERSION" && -n "$etcd_version" ]] || { echo "cannot read k8s/etcd versions from $module/go.mod" >&2; exit 1; }

out="$cache_root/k8s-$K8S_VERSION/bin"
stamp="$out/.stamp"
gosum_hash="$(sha256sum "$module/go.sum" | cut -c1-16)"
want="k8s=$K8S_VERSION etcd=$etcd_version helm=$HELM_VERSION gosum=$gosum_hash"

is_current() {
  [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$out/kube-apiserver" && -x "$out/etcd" && -x "$out/helm" ]]
}

reuse_or_lock "$cache_root/.build.lock" "the control plane"

command -v go >/dev/null || {
  echo "go is required to build the control plane (Go >= $(awk '$1 == "go" {print $2}' "$module/go.mod")); see docs/development.md" >&2
  exit 1
}
go_build_env
rm -f "$stamp"
start=$(date +%s)

ldflags="$(k8s_ldflags "$K8S_VERSION")"

echo ">> building kube-apiserver $K8S_VERSION (a cold build takes several minutes)" >&2
(cd "$module" && go build -trimpath -tags notest -ldflags "$ldflags" -o "$out/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver)
mv "$out/kube-apiserver.tmp" "$out/kube-apiserver"

echo ">> building etcd $etcd_version" >&2
(cd "$module" && go build -trimpath -ldflags "-s -w" -o "$out/etcd.tmp" go.etcd.io/etcd/server/v3)
mv "$out/etcd.tmp" "$out/etcd"

echo ">> installing helm $HELM_VERSION" >&2
helm_major="${HELM_VERSION%%.*}"
helm_tmp="$out/.helm-install"
rm -rf "$helm_tmp"
GOBIN="$helm_tmp" GOFLAGS= go install -trimpath \
  -ldflags "-s -w -X helm.sh/helm/$helm_major/internal/version.version=$HELM_VERSION" \
  "helm.sh/helm/$helm_major/cmd/helm@$HELM_VERSION"
mv "$helm_tmp/helm" "$out/helm"
rmdir "$helm_tmp"

# A binary that does not report the version we meant to build is a broken build.
check_version() {
  local name="$1" expected="$2"; shift 2
  local reported; reported="$("$out/$name" "$@" 2>&1 | head -n 1)"
  [[ "$reported" == *"$expected"* ]] || { echo "$name reports '$reported', expected $expected" >&2; exit 1; }
}
check_version kube-apiserver "Kubernetes $K8S_VERSION" --version
check_version etcd "${etcd_version#v}" --version
check_version helm "$HELM_VERSION" version --short

echo "$want" > "$stamp"
echo ">> control plane binaries ready in $(( $(date +%s) - start ))s: $(du -sh "$out" | cut -f1) in $out" >&2
echo "$out"
