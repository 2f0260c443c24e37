#!/usr/bin/env bash
# Build a separate environment with GPLaSDI's own code, for benchmarks/lasdi_gplasdi.py.
# GPLaSDI needs numpy < 2, so it cannot share romflow's environment.
#
#   bash benchmarks/gplasdi_env.sh SOURCE ENV
#
# SOURCE: a checkout of https://github.com/LLNL/GPLaSDI, or its bare git directory
# (then HEAD is exported); ENV: the environment to create.  Prints ENV/bin/python.
set -euo pipefail
src=${1:?usage: gplasdi_env.sh SOURCE ENV}
env=${2:?usage: gplasdi_env.sh SOURCE ENV}
python=${PYTHON:-python3.11}
if [ -d "$src/src/lasdi" ]; then
    tree=$src
elif git --git-dir="$src" rev-parse HEAD >/dev/null 2>&1; then
    tree=$(mktemp -d)
    git --git-dir="$src" archive HEAD | tar -x -C "$tree"
else
    echo "gplasdi_env.sh: $src is neither a GPLaSDI checkout (no src/lasdi) nor a git directory" >&2
    exit 2
fi
"$python" -m venv "$env"
"$env/bin/pip" install -q "torch==2.13.0" "numpy<2"
"$env/bin/pip" install -q "$tree"
"$env/bin/python" -c "import lasdi, numpy; assert numpy.__version__ < '2'" >&2
echo "$env/bin/python"
