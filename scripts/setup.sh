#!/usr/bin/env bash
# One-time set-up on a fresh Debian/Ubuntu machine (run as root or with sudo available):
#   system packages (OpenMPI, fonts, word list) + a Python venv with requirements.txt.
# The venv lives outside the clone, keyed by a hash of requirements.txt, and is linked as ./.venv.
set -euo pipefail
cd "$(dirname "$0")/.."

# Fonts feed the rendered-word generator (src/data/render.py): ~540 Latin faces in all (serif, sans,
# display, script, handwriting, monospace, pixel); wallpaper photos and textures are blended behind words.
FONT_PACKAGES=(fonts-dejavu-core fonts-dejavu-extra fonts-liberation fonts-freefont-ttf fonts-noto-core
               fonts-urw-base35 fonts-roboto fonts-open-sans fonts-lato fonts-crosextra-carlito
               fonts-crosextra-caladea fonts-cantarell fonts-ebgaramond fonts-comic-neue
               fonts-adf-accanthis fonts-adf-baskervald fonts-adf-berenis fonts-adf-gillius fonts-adf-universalis
               fonts-adf-mekanus fonts-adf-oldania fonts-adf-romande fonts-adf-switzera fonts-adf-tribun
               fonts-adf-verana fonts-adf-ikarius fonts-adf-irianis fonts-adf-libris fonts-texgyre
               fonts-linuxlibertine fonts-lobster fonts-dancingscript fonts-cabin fonts-league-spartan
               fonts-yanone-kaffeesatz fonts-quicksand fonts-comfortaa fonts-play fonts-oldstandard
               fonts-sil-gentium fonts-jura fonts-dkg-handwriting fonts-humor-sans fonts-femkeklaver fonts-hack
               fonts-inconsolata fonts-junicode fonts-breip fonts-isabella fonts-staypuft fonts-radisnoir
               fonts-sil-andika fonts-sil-charis fonts-fantasque-sans fonts-go fonts-averia-gwf fonts-vollkorn
               fonts-bebas-neue fonts-paratype fonts-tomsontalks fonts-beteckna fonts-dosis fonts-rufscript
               fonts-courier-prime fonts-prociono fonts-dotgothic16 fonts-anonymous-pro fonts-mononoki
               fonts-roboto-slab fonts-sil-doulos)
BACKGROUND_PACKAGES=(mate-backgrounds gnome-backgrounds)
# chromium (headless): the report test opens eval.py --report pages in a real browser, offline.
APT_PACKAGES=(openmpi-bin libopenmpi-dev wamerican chromium "${FONT_PACKAGES[@]}" "${BACKGROUND_PACKAGES[@]}")
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
