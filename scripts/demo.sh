#!/usr/bin/env bash
# Sets up .venv/ and anonymizes a sample clip of PETS09 (../shared/data/pets09_s2l1/vtest.avi)
# with config/default.yaml. Result: out/vtest_anonymized.mp4 and its audit out/vtest_audit.json.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
shared="${INSPIRE_SHARED:-../shared}"
mkdir -p out
.venv/bin/inspire anonymize "$shared/data/pets09_s2l1/vtest.avi" out/vtest_anonymized.mp4 \
  --config config/default.yaml --max-frames "${FRAMES:-200}" --audit out/vtest_audit.json --force
echo "result: $(pwd)/out/vtest_anonymized.mp4 (audit: $(pwd)/out/vtest_audit.json)"
