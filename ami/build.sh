#!/usr/bin/env bash
# Stage the payload and build the image:  ami/build.sh [-var environment=staging ...]
# Needs: packer >= 1.9 with the session-manager-plugin, AWS credentials of an operator (from the
# environment or a profile; they never reach the builder, which runs with its instance profile),
# and requirements.lock (pinned Python dependencies with hashes) at the repository root.
set -o errexit -o nounset -o pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STAGE="${ROOT}/build/ami"
LOCK="${REQUIREMENTS_LOCK:-${ROOT}/requirements.lock}"

[[ -f "$LOCK" ]] || { echo "build: ${LOCK} is missing (pinned dependencies with hashes)" >&2; exit 2; }
rm -rf "$STAGE"
mkdir -p "$STAGE/dist" "$STAGE/ami" "$STAGE/docs" "${ROOT}/ami/output"
python3 -m pip wheel --no-deps --wheel-dir "$STAGE/dist" "$ROOT"
cp "$LOCK" "$STAGE/requirements.lock"
cp -r "${ROOT}/cluster" "$STAGE/cluster"
cp -r "${ROOT}/ami/scripts" "$STAGE/ami/scripts"
cp "${ROOT}/docs/nodes.md" "$STAGE/docs/nodes.md"

cd "${ROOT}/ami"
packer init file-processor.pkr.hcl
packer build -var "git_commit=$(git -C "$ROOT" rev-parse HEAD)" -var "build_dir=${STAGE}" "$@" file-processor.pkr.hcl
