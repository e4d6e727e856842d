#!/usr/bin/env bash
# Regenerates requirements.lock: the operator's runtime dependencies (pyproject's
# [project.dependencies], no extras), every version pinned with the sha256 of every
# distribution PyPI offers for it, so the Dockerfile's `pip install --require-hashes`
# is reproducible on any architecture. Resolved for CPython 3.11, the image's Python.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="${LOCK_TOOLS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/strategy-operator/lock-tools}"
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null || python=python3
"$python" -c 'import sys; assert sys.version_info[:2] == (3, 11), "the image runs Python 3.11; lock with 3.11"'

if [[ ! -x "$tools/bin/pip-compile" ]]; then
  "$python" -m venv "$tools"
  "$tools/bin/pip" install --quiet 'pip-tools>=7.4'
fi

cd "$root"
CUSTOM_COMPILE_COMMAND="hack/update-requirements-lock.sh" \
  "$tools/bin/pip-compile" --quiet --generate-hashes --strip-extras --allow-unsafe \
  --no-emit-index-url --output-file requirements.lock pyproject.toml
echo "requirements.lock updated" >&2
