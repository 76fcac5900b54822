#!/bin/sh
# bootstrap.sh: the README's two commands. On a Debian 12 machine (as root, or with sudo for
# apt-get) it installs what is missing, builds, and then either runs the proxy with its embedded
# defaults (`run`) or runs every test under ASan+UBSan (`test`).
#
#   scripts/bootstrap.sh run [agentgate run options]
#   scripts/bootstrap.sh test
set -eu

cd "$(dirname "$0")/.."
mode=${1:-}
[ $# -gt 0 ] && shift

BUILD_PKGS="build-essential cmake pkg-config libevent-dev libssl-dev libpcre2-dev liblmdb-dev
  libhttp-parser-dev libyaml-dev libjansson-dev zlib1g-dev libbrotli-dev libidn2-dev
  libutf8proc-dev"
TEST_PKGS="libcriterion-dev curl chromium python3 openssl clang libclang-rt-14-dev
  libjs-bootstrap4 libjs-bootstrap5"

install_missing() {
    missing=""
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
    done
    [ -z "$missing" ] && return 0
    echo "bootstrap: installing:$missing" >&2
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
}

jobs=$(nproc 2>/dev/null || echo 2)

case "$mode" in
run)
    # shellcheck disable=SC2086
    install_missing $BUILD_PKGS
    cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DAG_TESTS=OFF >/dev/null
    cmake --build build -j"$jobs"
    exec ./build/agentgate run "$@"
    ;;
test)
    # shellcheck disable=SC2086
    install_missing $BUILD_PKGS $TEST_PKGS
    cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DAG_SANITIZE=ON -DAG_WERROR=ON >/dev/null
    cmake --build build-asan -j"$jobs"
    # A release build too: it must build warning-free, and the benches use it.
    cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DAG_WERROR=ON -DAG_TESTS=OFF >/dev/null
    cmake --build build -j"$jobs"
    status=0
    # The fuzzer first (bounded in time), so ctest's summary is the last thing printed.
    # A failing input is reported loudly, kept as crash-*, and fails the run; AG_FUZZ_GATE=0
    # reports it without failing (for a local run while a known finding is being worked on).
    if [ -x tests/fuzz/run.sh ]; then
        if ! tests/fuzz/run.sh "${AG_FUZZ_SECONDS:-60}"; then
            echo "bootstrap: FUZZER FOUND A FAILING INPUT (crash-* in $(pwd)); see above" >&2
            [ "${AG_FUZZ_GATE:-1}" = 1 ] && status=1
        fi
    fi
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
        ctest --test-dir build-asan --output-on-failure -j"$jobs" || status=1
    exit $status
    ;;
*)
    echo "usage: scripts/bootstrap.sh run [agentgate run options] | test" >&2
    exit 2
    ;;
esac
