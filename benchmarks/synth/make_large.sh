#!/usr/bin/env bash
# Render the large synthetic set (44 clips, specs/large.toml; SPEC=specs/arch.toml for the
# arch-focused set) into OUT_DIR
# (default benchmarks/synth/out/large/, git-ignored).  Resumable: clips whose
# label already exists are skipped.  Usage: make_large.sh [OUT_DIR] [JOBS]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$root/benchmarks/synth/out/large}"
jobs="${2:-2}"
py="${PYTHON:-python}"
mkdir -p "$out"
cd "$root"
exec nice -n "${NICE:-10}" "$py" -m benchmarks.synth.generate "benchmarks/synth/${SPEC:-specs/large.toml}" \
  --out "$out" --jobs "$jobs" --skip-existing
