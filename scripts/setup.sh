#!/usr/bin/env bash
# Prepare a fresh Debian machine (Python >= 3.11, Java 17): system packages, .venv, the project.
# Safe to run again: it only installs what is missing. Sourced by demo.sh and test.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

PY="${PYTHON:-python3}"
command -v "$PY" >/dev/null || die "python3 not found (need Python >= 3.11)"
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "Python >= 3.11 needed, found $("$PY" -V)"
command -v java >/dev/null || die "java not found: install a JDK 17 (Debian: apt-get install openjdk-17-jre-headless)"

# Debian packages: libfluidsynth3 renders sample audio, chromium tests the HTML reports.
need=()
dpkg -s libfluidsynth3 >/dev/null 2>&1 || need+=(libfluidsynth3)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if ((${#need[@]})); then
  if [ "$(id -u)" = 0 ]; then
    say "installing Debian packages: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq "${need[@]}" >/dev/null
  else
    say "warning: missing Debian packages ${need[*]}; run as root: apt-get install ${need[*]}"
    say "(without them audio rendering and browser tests are skipped)"
  fi
fi

stamp=".venv/.musim-installed"
if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  "$PY" -m venv .venv
fi
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  say "installing the project into .venv (first time: about a minute)"
  .venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
  .venv/bin/python -m pip install -q -e ".[test]" 2>&1 | grep -v '^WARNING: Location' || true
  # basic-pitch (the default transcription backend) without its declared dependencies: they pull
  # TensorFlow 2.15 and numpy<2; its packaged ONNX model runs on onnxruntime (a dependency above).
  .venv/bin/python -m pip install -q --no-deps basic-pitch==0.4.0 2>&1 | grep -v '^WARNING: Location' || true
  .venv/bin/python -c 'import musim_spark, pyspark, deltalake' || die "install failed"
  touch "$stamp"
fi

# Spark's Python workers must import this environment's packages, not the system's.
export PYSPARK_PYTHON="$ROOT/.venv/bin/python"
export PYSPARK_DRIVER_PYTHON="$ROOT/.venv/bin/python"
# Local mode: bind to loopback (no warning about the host name resolving to 127.0.0.1).
export SPARK_LOCAL_IP="${SPARK_LOCAL_IP:-127.0.0.1}"
export NUMBA_CACHE_DIR="${NUMBA_CACHE_DIR:-$ROOT/.numba_cache}"
export PATH="$ROOT/.venv/bin:$PATH"
