#!/bin/sh
# The Python environment of the peer comparison (make bench-peers):
# Debian's packages for the zoo export, PyTorch, OpenCV and the chart
# (installed when missing, as root; otherwise the command is printed and
# the script fails), and a virtual environment VENV that sees them
# (--system-site-packages) and adds onnxruntime from PyPI.
#   sh bench/peers/setup-env.sh VENV
set -u
venv=${1:?usage: setup-env.sh VENV}

# libopenblas0-openmp: Debian's torch calls the libblas.so.3 alternative,
# and its 1x1 convolutions are 4x slower on a single-threaded BLAS.
packages="python3-venv python3-pip python3-numpy python3-opencv python3-matplotlib
python3-torch python3-torchvision python3-onnx libopenblas0-openmp"

missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' ||
        missing="$missing $p"
done
missing=${missing# }
if [ -n "$missing" ]; then
    cmd="DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing"
    if [ "$(id -u)" -ne 0 ]; then
        echo "setup-env: missing Debian packages: $missing; as root, run:" >&2
        echo "  apt-get update && $cmd" >&2
        exit 1
    fi
    echo "setup-env: installing $missing"
    { apt-get update -q >/dev/null && sh -c "$cmd" >/dev/null; } || {
        echo "setup-env: apt-get failed" >&2
        exit 1
    }
fi

if [ ! -x "$venv/bin/python" ]; then
    echo "setup-env: creating $venv"
    /usr/bin/python3 -m venv --system-site-packages "$venv" || exit 1
fi
if ! "$venv/bin/python" -c 'import onnxruntime' 2>/dev/null; then
    echo "setup-env: installing onnxruntime into $venv"
    "$venv/bin/python" -m pip install -q onnxruntime || {
        echo "setup-env: pip install onnxruntime failed" >&2
        exit 1
    }
fi
"$venv/bin/python" -c 'import numpy, cv2, matplotlib, torch, torchvision, onnxruntime' || {
    echo "setup-env: $venv cannot import the benchmark's modules" >&2
    exit 1
}
