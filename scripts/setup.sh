#!/usr/bin/env bash
# One-time set-up on a fresh Debian/Ubuntu machine (run as root or with sudo available):
#   system packages (OpenMPI, fonts, word list) + a Python venv with requirements.txt.
# The venv lives outside the clone, keyed by a hash of requirements.txt, and is linked as ./.venv.
set -euo pipefail
cd "$(dirname "$0")/.."

# Fonts feed the rendered-word generator (src/data/render.py): ~170 Latin faces in all.
FONT_PACKAGES=(fonts-dejavu-core fonts-dejavu-extra fonts-liberation fonts-freefont-ttf fonts-noto-core
               fonts-urw-base35 fonts-roboto fonts-open-sans fonts-lato fonts-crosextra-carlito
               fonts-crosextra-caladea fonts-cantarell fonts-ebgaramond fonts-comic-neue)
APT_PACKAGES=(openmpi-bin libopenmpi-dev wamerican "${FONT_PACKAGES[@]}")
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "installing system packages: ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

PYTHON=${PYTHON:-python3}
hash=$(cat requirements.txt | sha256sum | cut -c1-12)
venv="${CRNN_VENV_DIR:-$HOME/.cache/crnn-venv}/$hash"
if [ ! -x "$venv/bin/python" ] || [ ! -f "$venv/.complete" ]; then
  echo "building venv $venv"
  rm -rf "$venv"
  "$PYTHON" -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q -r requirements.txt
  touch "$venv/.complete"
fi
ln -sfn "$venv" .venv
echo "ready: $(.venv/bin/python -c 'import mindspore, numpy; print("mindspore", mindspore.__version__, "numpy", numpy.__version__)' 2>/dev/null)"
