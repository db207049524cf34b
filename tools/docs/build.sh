#!/usr/bin/env bash
# Build the documentation site into build/site/ (open build/site/index.html): installs vidrd with
# the docs extra into .venv (the versions of requirements/constraints.txt), then
# `mkdocs build --strict`, where a broken link or API reference is an error. Extra arguments go to
# mkdocs build. While editing: . .venv/bin/activate && mkdocs serve
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -x .venv/bin/python ] || python3 -m venv .venv
. .venv/bin/activate
pip install -q -c requirements/constraints.txt -e '.[docs]'
NO_MKDOCS_2_WARNING=1 mkdocs build --strict "$@"
echo "site written to build/site/index.html"
