#!/usr/bin/env bash
# Builds (or reuses) the three images the e2e node runs, without a registry or a Docker engine:
#   pause    hack/pause (Go, CGO_ENABLED=0) in a FROM scratch image: the pod sandbox
#   base     a stand-in for python:3.11-slim-bookworm: debootstrap minbase + Debian's python3.11
#            (what differs from the official image: docs/e2e.md)
#   project  the repository's Dockerfile, unmodified, built by buildah on that base
# Each image is an OCI archive under ~/.cache/strategy-operator/images/, named by a hash of
# its inputs, so an unchanged input never rebuilds. The last three lines on stdout are
# `NAME REFERENCE ARCHIVE` for pause, base and project; progress goes to stderr.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache_root="${STRATEGY_OPERATOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/strategy-operator}"
images="$cache_root/images"
mkdir -p "$images"

# buildah's own storage, never the host's /var/lib/containers.
export CONTAINERS_STORAGE_CONF="$cache_root/buildah/storage.conf"
if [[ ! -f "$CONTAINERS_STORAGE_CONF" ]]; then
  mkdir -p "$cache_root/buildah"
  cat > "$CONTAINERS_STORAGE_CONF" <<CONF
[storage]
driver = "overlay"
graphroot = "$cache_root/buildah/graph"
runroot = "$cache_root/buildah/run"
CONF
fi

exec 9>"$cache_root/.images.lock"
if ! flock -n 9; then
  echo ">> another image build is running; waiting for it" >&2
  flock 9
fi

# sha256 over the named files' paths and contents, plus any extra strings.
hash_inputs() {
  local extra="$1"; shift
  { echo "$extra"; (cd "$repo" && for f in "$@"; do echo "== $f"; cat "$f"; done); } | sha256sum | cut -c1-16
}

archive_size() { du -h "$1" | cut -f1; }

# ---- pause
pause_hash="$(hash_inputs "go=$(go env GOVERSION)" hack/pause/go.mod hack/pause/main.go)"
pause_ref="localhost/strategy-operator-pause:$pause_hash"
pause_tar="$images/pause-$pause_hash.oci.tar"
if [[ ! -s "$pause_tar" ]]; then
  t=$(date +%s)
  echo ">> building the pause image" >&2
  work="$(mktemp -d)"
  (cd "$repo/hack/pause" && GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS= \
     go build -trimpath -ldflags "-s -w" -o "$work/pause" .)
  ctr_id="$(buildah from scratch)"
  buildah copy "$ctr_id" "$work/pause" /pause >/dev/null
  buildah config --entrypoint '["/pause"]' --user 65535:65535 "$ctr_id"
  buildah commit --quiet --rm "$ctr_id" "$pause_ref" >/dev/null
  buildah push --quiet "$pause_ref" "oci-archive:$pause_tar.tmp:$pause_ref"
  mv "$pause_tar.tmp" "$pause_tar"
  rm -rf "$work"
  echo ">> pause image built in $(( $(date +%s) - t ))s, archive $(archive_size "$pause_tar")" >&2
fi

# ---- base: the Debian mirror and suite apt already uses on this machine.
mirror="$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)"
if [[ -z "$mirror" ]]; then
  mirror="$(awk '$1 == "deb" && $3 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)"
fi
mirror="${mirror:-http://deb.debian.org/debian}"
suite=bookworm
base_packages="python3.11,python3-venv,python3-pip,ca-certificates"
base_recipe="suite=$suite mirror=$mirror packages=$base_packages links=python,pip recipe=1"
base_hash="$(echo "$base_recipe" | sha256sum | cut -c1-16)"
base_ref="localhost/strategy-operator-python-base:$base_hash"
base_tar="$images/python-base-$base_hash.oci.tar"
if [[ ! -s "$base_tar" ]]; then
  t=$(date +%s)
  echo ">> building the base image: debootstrap $suite from $mirror (about a minute or two)" >&2
  rootfs="$(mktemp -d)"
  debootstrap --variant=minbase --include="$base_packages" "$suite" "$rootfs" "$mirror" >&2
  # The official image puts python and pip in /usr/local/bin; the Dockerfile calls them so.
  ln -s /usr/bin/python3.11 "$rootfs/usr/local/bin/python"
  ln -s /usr/bin/pip3 "$rootfs/usr/local/bin/pip"
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
  ctr_id="$(buildah from scratch)"
  mnt="$(buildah mount "$ctr_id")"
  cp -a "$rootfs/." "$mnt/"
  buildah umount "$ctr_id" >/dev/null
  buildah config --env PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env LANG=C.UTF-8 --cmd '["python3"]' "$ctr_id"
  buildah commit --quiet --rm "$ctr_id" "$base_ref" >/dev/null
  buildah push --quiet "$base_ref" "oci-archive:$base_tar.tmp:$base_ref"
  mv "$base_tar.tmp" "$base_tar"
  rm -rf "$rootfs"
  echo ">> base image built in $(( $(date +%s) - t ))s, archive $(archive_size "$base_tar")" >&2
fi

# ---- project: exactly what the Dockerfile's build context holds (.dockerignore).
mapfile -t context_files < <(cd "$repo" && {
  echo Dockerfile; echo .dockerignore; echo pyproject.toml; echo README.md; echo requirements.lock
  find operator -type f ! -name '*.pyc' ! -path '*/__pycache__/*' ! -path 'operator/*.egg-info/*'
} | LC_ALL=C sort)
version="$(awk -F'"' '$1 ~ /^version *= */ {print $2; exit}' "$repo/pyproject.toml")"
project_hash="$(hash_inputs "base=$base_hash" "${context_files[@]}")"
project_ref="localhost/alchemiscale-strategy-operator:$version-$project_hash"
project_tar="$images/project-$project_hash.oci.tar"
if [[ ! -s "$project_tar" ]]; then
  t=$(date +%s)
  buildah inspect --type image "$base_ref" >/dev/null 2>&1 || buildah pull --quiet "oci-archive:$base_tar" >/dev/null
  echo ">> building the project image from the Dockerfile (about a minute)" >&2
  # The host's CA bundle, read-only: without it pip in the build cannot verify PyPI.
  buildah build --isolation chroot --network host --layers=false \
    -v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro \
    --build-arg "PYTHON_IMAGE=$base_ref" -t "$project_ref" -f "$repo/Dockerfile" "$repo" >&2
  buildah push --quiet "$project_ref" "oci-archive:$project_tar.tmp:$project_ref"
  mv "$project_tar.tmp" "$project_tar"
  echo ">> project image built in $(( $(date +%s) - t ))s, archive $(archive_size "$project_tar")," \
       "image $(buildah images --format '{{.Size}}' "$project_ref")" >&2
  # Only the current project image is kept: every source change makes a new one (~600 MB).
  for old in "$images"/project-*.oci.tar; do
    [[ "$old" == "$project_tar" ]] || rm -f "$old"
  done
  buildah images --format '{{.Name}}:{{.Tag}}' | grep -F "${project_ref%:*}:" | while read -r ref; do
    [[ "$ref" == "$project_ref" ]] || buildah rmi "$ref" >/dev/null 2>&1 || true
  done
  buildah rmi --prune >/dev/null 2>&1 || true
fi

echo "pause $pause_ref $pause_tar"
echo "base $base_ref $base_tar"
echo "project $project_ref $project_tar"
