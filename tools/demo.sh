#!/usr/bin/env bash
# README command 1: install vidrd into .venv and run the embedded demo on the CPU (no downloads
# besides PyPI packages). Extra arguments go to tools/demo.py (e.g. --work-dir DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
. .venv/bin/activate
pip install -q --upgrade pip
# the tested torch / torchvision / mmengine (setup.py itself only states ranges)
pip install -q -c requirements/constraints.txt -e '.[app]'
python tools/demo.py "$@"
