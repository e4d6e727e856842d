#!/usr/bin/env bash
# Installs the Debian packages the one-node e2e cluster needs (tests/e2e, docs/e2e.md):
# a container runtime (containerd + runc, not crun: crun refuses this host's hybrid cgroup
# layout), the CNI plugins, iptables/conntrack for the kubelet and the Service DNAT, buildah
# to build images from the Dockerfile, and debootstrap for the base images.
# Idempotent: when every package is installed it returns at once without touching apt.
set -euo pipefail

packages=(containerd runc containernetworking-plugins iptables conntrack buildah debootstrap)

missing=()
for pkg in "${packages[@]}"; do
  status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

if [[ "$(id -u)" -ne 0 ]]; then
  echo "the e2e node needs root (network namespaces, containerd, kubelet); missing packages: ${missing[*]}" >&2
  exit 1
fi
start=$(date +%s)
echo ">> installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have no package lists yet; refresh once, not on every run.
if ! apt-get install -y --no-install-recommends "${missing[@]}" >&2; then
  apt-get update >&2
  apt-get install -y --no-install-recommends "${missing[@]}" >&2
fi
echo ">> node packages installed in $(( $(date +%s) - start ))s" >&2
