#!/usr/bin/env bash
# Set up a virtual environment for the course: a CPU build of PyTorch, the d2lmini package
# (editable) and everything the notebooks and tests need.
#
#   scripts/setup.sh            main environment in .venv (ipywidgets 8, JupyterLab 4, ipympl)
#   scripts/setup.sh --colab    a "Colab-like" environment in .venv-colab (ipywidgets 7, no ipympl)
#   scripts/setup.sh --browser  also install Chromium (Debian/Ubuntu, needs root or sudo)
#
# Environment knobs: PYTHON (default python3), TORCH_VERSION (default 2.13.0),
# TORCH_INDEX (default PyTorch's CPU wheel index).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
TORCH_VERSION=${TORCH_VERSION:-2.13.0}
TORCH_INDEX=${TORCH_INDEX:-https://download.pytorch.org/whl/cpu}
MODE=main
BROWSER=0
for arg in "$@"; do
  case "$arg" in
    --colab) MODE=colab ;;
    --browser) BROWSER=1 ;;
    *) echo "setup.sh: unknown option $arg (use --colab or --browser)" >&2; exit 2 ;;
  esac
done

if [ "$MODE" = colab ]; then VENV=${VENV:-.venv-colab}; else VENV=${VENV:-.venv}; fi
STAMP="$VENV/.d2lmini-setup"

install_chromium() {
  if [ -x /usr/bin/chromium ]; then return 0; fi
  local SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  if ! command -v apt-get >/dev/null; then
    echo "setup.sh: Chromium is needed for the browser tests; install it and make /usr/bin/chromium exist." >&2
    return 1
  fi
  echo "==> installing Chromium with apt-get"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q chromium
}

if [ "$BROWSER" = 1 ]; then install_chromium; fi

if [ -f "$STAMP" ] && [ "$STAMP" -nt pyproject.toml ] && [ "$STAMP" -nt scripts/setup.sh ]; then
  exit 0
fi

echo "==> creating $VENV"
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
# pip, without the notices some machines' pip configuration prints for every package
pip_() { "$VENV/bin/python" -m pip "$@" 2> >(grep -v '^WARNING: Location' >&2); }
PIP=pip_

if ! "$VENV/bin/python" -c "import torch" >/dev/null 2>&1; then
  echo "==> installing a CPU build of torch $TORCH_VERSION"
  # A CPU wheel that pip can find locally wins (as on the course's CI machines); otherwise
  # PyTorch's CPU index. Never the multi-GB CUDA build from PyPI.
  if ! $PIP install -q --no-index --no-deps "torch==$TORCH_VERSION" 2>/dev/null; then
    $PIP install -q "torch==$TORCH_VERSION" --index-url "$TORCH_INDEX" \
      --extra-index-url https://pypi.org/simple
  fi
fi

echo "==> installing d2lmini and its dependencies"
if [ "$MODE" = colab ]; then
  # What Google Colab ships: ipywidgets 7 and the inline backend, no ipympl. The browser test
  # of this environment (make test-colab) drives ipywidgets 7's own frontend, jupyterlab_widgets
  # 1.1 (@jupyter-widgets/controls 4: jQuery UI sliders), with ipyevents' extension, in
  # JupyterLab 4, where both render and take clicks, keys and drags (tested with jupyterlab
  # 4.6.6, jupyterlab_widgets 1.1.11, ipyevents 2.0.4).
  $PIP install -q -e ".[torch,test]" "ipywidgets>=7.6,<8" "jupyterlab_widgets>=1.1,<2" "jupyterlab>=4,<5"
  $PIP uninstall -q -y ipympl >/dev/null 2>&1 || true
else
  $PIP install -q -e ".[torch,lab,test]" "ipywidgets>=8,<9"
fi
touch "$STAMP"
echo "==> $VENV is ready"
