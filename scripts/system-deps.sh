#!/usr/bin/env bash
# System packages interleaf needs beyond Python: fonts for the OCR renderer (Latin and CJK,
# found through fontconfig), and Chromium (+ chromedriver) for the report / view browser tests. Idempotent: installs only what is missing. Without apt-get
# (not Debian/Ubuntu) it says what to install and carries on; the renderer then skips text
# no installed font can draw, and the tests that need those fonts skip with a message.
set -euo pipefail

missing=()
command -v fc-list >/dev/null 2>&1 || missing+=(fontconfig)
if ! command -v fc-list >/dev/null 2>&1 || ! fc-list ':family=DejaVu Sans' | grep -q .; then
  missing+=(fonts-dejavu-core)
fi
if ! command -v fc-list >/dev/null 2>&1 || ! fc-list ':family=Noto Sans CJK SC' | grep -q .; then
  missing+=(fonts-noto-cjk)
fi
# A C compiler and Python's headers: pip then builds the optional C extensions (setup.py:
# the compiled HTML walk, native language id). Without them everything runs, only slower.
command -v cc >/dev/null 2>&1 || missing+=(gcc)
if ! [ -f "$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["include"])')/Python.h" ]; then
  missing+=(python3-dev)
fi
# Headless Chromium for the browser tests of interleaf report / view (driven by playwright).
if ! [ -x /usr/bin/chromium ]; then
  missing+=(chromium)
fi
if ! command -v chromedriver >/dev/null 2>&1; then
  missing+=(chromium-driver)
fi
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "scripts/system-deps.sh: no apt-get; please install: ${missing[*]} (or equivalent fonts)" >&2
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "scripts/system-deps.sh: not root and no sudo; please install: ${missing[*]}" >&2
    exit 0
  fi
  sudo="sudo"
fi
echo "scripts/system-deps.sh: installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
