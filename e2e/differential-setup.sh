#!/usr/bin/env bash
# differential-setup.sh: makes go-jsonnet (the reference implementation, via its Python binding) importable by the
# `python3` on PATH, for controller/tests/differential.rs, controller/tests/examples_match_go_jsonnet.rs and
# e2e/jsonnet-test-suite.sh. Idempotent; run it
# before `cargo test` (the differential test fails, never skips, without it).
set -euo pipefail
VERSION=0.22.0 # the go-jsonnet release docs/fidelity.md was measured against

if python3 -c 'import _gojsonnet' 2>/dev/null; then
  echo "differential-setup: go-jsonnet already importable by $(command -v python3)"
  exit 0
fi
python3 -m pip install -q "gojsonnet==$VERSION"
python3 -c 'import _gojsonnet'
echo "differential-setup: installed gojsonnet $VERSION for $(command -v python3)"
