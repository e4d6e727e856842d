#!/usr/bin/env bash
# Builds (or reuses) kube-apiserver, etcd and helm for the local control plane.
# The binaries live outside the clone, keyed by version, so a fresh clone on the same
# machine reuses them; a stamp (versions + go.sum hash) makes a warm call return at once.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
module="$here/controlplane"

K8S_VERSION="${K8S_VERSION:-v1.37.2}"
HELM_VERSION="${HELM_VERSION:-v4.3.1}"
cache_root="${STRATEGY_OPERATOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/strategy-operator}"
out="$cache_root/k8s-$K8S_VERSION/bin"
stamp="$out/.stamp"

etcd_version="$(grep -E '^\s*go.etcd.io/etcd/server/v3 ' "$module/go.mod" | awk '{print $2}')"
gosum_hash="$(sha256sum "$module/go.sum" | cut -c1-16)"
want="k8s=$K8S_VERSION etcd=$etcd_version helm=$HELM_VERSION gosum=$gosum_hash"

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" \
      && -x "$out/kube-apiserver" && -x "$out/etcd" && -x "$out/helm" ]]; then
  echo "$out"
  exit 0
fi

command -v go >/dev/null || { echo "go is required to build the control plane" >&2; exit 1; }
export GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
mkdir -p "$out"
start=$(date +%s)

minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

echo ">> building kube-apiserver $K8S_VERSION (a cold build takes a while)" >&2
(cd "$module" && go build -trimpath -tags notest -ldflags "$ldflags" -o "$out/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver)
mv "$out/kube-apiserver.tmp" "$out/kube-apiserver"

echo ">> building etcd $etcd_version" >&2
(cd "$module" && go build -trimpath -ldflags "-s -w" -o "$out/etcd.tmp" go.etcd.io/etcd/server/v3)
mv "$out/etcd.tmp" "$out/etcd"

echo ">> installing helm $HELM_VERSION" >&2
helm_major="${HELM_VERSION%%.*}"
GOBIN="$out" GOFLAGS= go install -trimpath \
  -ldflags "-s -w -X helm.sh/helm/$helm_major/internal/version.version=$HELM_VERSION" \
  "helm.sh/helm/$helm_major/cmd/helm@$HELM_VERSION"

echo "$want" > "$stamp"
echo ">> control plane binaries ready in $(( $(date +%s) - start ))s" >&2
echo "$out"
