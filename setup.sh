#!/bin/sh
# setup.sh: the two commands of the README.
#
#   ./setup.sh         install what is missing, build, run the demo
#   ./setup.sh test    install what is missing, build, run the whole test suite
#
# Installs Debian packages with apt-get when run as root; otherwise prints
# the exact apt-get line and stops. Builds in the source tree.
set -eu
cd "$(dirname "$0")"

mode=${1:-demo}
case $mode in
demo | test) ;;
*)
    echo "usage: ./setup.sh [demo|test]" >&2
    exit 1
    ;;
esac

packages="build-essential autoconf automake libtool pkg-config
    portaudio19-dev libsndfile1-dev libsamplerate0-dev libcunit1-dev
    libjack-jackd2-dev jackd2"

missing=
for p in $packages; do
    if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
        missing="$missing $p"
    fi
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "sluice: these Debian packages are missing. Install them with:" >&2
        echo "  sudo apt-get install -y --no-install-recommends$missing" >&2
        exit 1
    fi
    echo "sluice: installing$missing"
    # jackd2 asks whether to enable real-time scheduling; keep the default.
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $missing
fi

if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt configure ]; then
    autoreconf -fi
fi
flags="--enable-werror"
if [ ! -f config.status ] || ! ./config.status --config | grep -q -- "$flags"; then
    ./configure $flags
fi
jobs=$(nproc 2>/dev/null || echo 2)
make -j"$jobs"

if [ "$mode" = demo ]; then
    ./sluice --version
    exit 0
fi

status=0
make -j"$jobs" check || status=$?
sh tests/summary.sh . || status=1
exit $status
