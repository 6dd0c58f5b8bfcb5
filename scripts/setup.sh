#!/usr/bin/env bash
# Sets up a fresh machine for lakeocr: Java 17 (when missing), Debian fonts, the .venv, Delta's jars.
# Idempotent and quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

need_apt=()
command -v java >/dev/null 2>&1 || need_apt+=(openjdk-17-jre-headless)
# Fonts the synthetic engine renders with (Korean + Latin); see models/synth/fonts.py
for pkg_font in "fonts-nanum:NanumGothic" "fonts-noto-cjk:Noto Sans CJK KR" "fonts-dejavu-core:DejaVu Sans" \
                "fonts-liberation2:Liberation Serif" "fonts-unfonts-core:UnBatang" "fonts-baekmuk:Baekmuk Batang"; do
  pkg=${pkg_font%%:*}; fam=${pkg_font#*:}
  # grep reads all of fc-list: with `grep -q` fc-list can die of SIGPIPE, which pipefail reports as "missing"
  fc-list 2>/dev/null | grep -F "$fam" >/dev/null || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "[setup] installing Debian packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" fontconfig >/dev/null
  fc-cache -f >/dev/null 2>&1 || true
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv"
  "$PY" -m venv .venv
fi
stamp=.venv/.lakeocr-installed
want=$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "[setup] installing Python dependencies into .venv (torch is a few GB the first time)"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e ".[dev]"
  echo "$want" > "$stamp"
fi

# Delta's Spark jars, fetched once into .cache/jars so jobs start offline afterwards
if [ -f jobs/delta_jars.py ]; then
  .venv/bin/python -m jobs.delta_jars --quiet
fi
echo "[setup] ready: $ROOT/.venv"
