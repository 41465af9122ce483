#!/bin/sh
# Checks that the Debian packages weft's build, tests and benchmarks need are
# installed, and installs the missing ones (as root; otherwise prints the
# command and fails). Quiet unless something is missing or goes wrong.
#   sh cmake/install-deps.sh        (also: make deps)
set -u

# The C compiler and make: build-essential, or gcc, make and libc6-dev.
# Then the build (cmake, pkg-config, OpenCL headers and ICD loader), an
# OpenCL device (PoCL's CPU driver) and clinfo, the test tools (cmocka,
# oclgrind, valgrind, python3 for the CLI test's JSON check) and the
# libraries of later stages (CLBlast, protobuf-c).
packages="cmake pkg-config ocl-icd-opencl-dev opencl-c-headers pocl-opencl-icd clinfo
oclgrind libclblast-dev libcmocka-dev protobuf-c-compiler libprotobuf-c-dev valgrind python3"

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "install-deps: dpkg-query not found: this script knows Debian's packages only." >&2
    # shellcheck disable=SC2086 # one line out of the list
    echo "install-deps: needed: a C11 compiler, make," $packages >&2
    exit 1
fi

installed() {
    dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q 'install ok installed'
}

missing_packages() {
    missing=""
    if ! installed build-essential &&
        ! { installed gcc && installed make && installed libc6-dev; }; then
        missing="build-essential"
    fi
    for p in $packages; do
        installed "$p" || missing="$missing $p"
    done
    echo "${missing# }"
}

missing=$(missing_packages)
if [ -z "$missing" ]; then
    echo "install-deps: all build, test and benchmark packages are installed"
    exit 0
fi

install_cmd="DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing"
if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing Debian packages: $missing" >&2
    echo "install-deps: as root, run:" >&2
    echo "  apt-get update && $install_cmd" >&2
    exit 1
fi

echo "install-deps: installing $missing"
log=$(mktemp "${TMPDIR:-/tmp}/weft-install-deps.XXXXXX") || exit 1
trap 'rm -f "$log"' EXIT

apt_update() {
    if ! apt-get update >>"$log" 2>&1; then
        echo "install-deps: apt-get update failed:" >&2
        tail -n 20 "$log" >&2
        exit 1
    fi
}

apt_install() {
    # shellcheck disable=SC2086 # one word per package
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing \
        >>"$log" 2>&1
}

# The package lists are fetched only when there are none yet, or when the
# install fails with the lists there are (stale or incomplete).
if ! ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1; then
    apt_update
fi
if ! apt_install; then
    apt_update
    if ! apt_install; then
        echo "install-deps: '$install_cmd' failed:" >&2
        tail -n 30 "$log" >&2
        exit 1
    fi
fi

missing=$(missing_packages)
if [ -n "$missing" ]; then
    echo "install-deps: still not installed after apt-get install: $missing" >&2
    exit 1
fi
