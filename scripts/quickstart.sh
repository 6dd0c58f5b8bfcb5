#!/usr/bin/env bash
# Renders a small sample archive with the synthetic engine and draws its ground truth.
# (The nightly-job issue extends this into an end-to-end run.)
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/lakeocr synth pages --n 12 --kind mixed --lang mixed --seed 7 --out build/sample
.venv/bin/lakeocr synth gallery build/sample --out build/sample/gallery.png
echo "sample archive: build/sample/images  ground truth: build/sample/gt  contact sheet: build/sample/gallery.png"
