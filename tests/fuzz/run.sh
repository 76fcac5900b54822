#!/bin/sh
# Builds the fuzz targets with clang (libFuzzer + ASan/UBSan) and runs the sanitizer's for
# SECONDS (default 60) on a seed corpus made from the shared XSS payloads and html5lib inputs
# and from style-sheet documents of bench/css_selector_audit.py,
# then the proxy's message framing and ClientHello reader (fuzz_http.c) for half as long on
# seeds from seeds_http.py.
# AG_SANITIZER_VERIFY makes the filter abort when a tag it writes would land in another
# namespace than it was judged in; undefined behaviour stops the run like a crash. Exit status is
# libFuzzer's: non-zero on a crash, leak, undefined behaviour or failed check. Usage: run.sh [SECONDS]
set -eu
SECONDS_TO_RUN="${1:-60}"
SRC="$(cd "$(dirname "$0")/../.." && pwd)"
BUILD="${FUZZ_BUILD_DIR:-$SRC/build-fuzz}"
CORPORA="${AG_CORPORA_DIR:-$SRC/../shared/corpora}"
CC=clang cmake -S "$SRC" -B "$BUILD" -DAG_FUZZ=ON -DAG_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -DAG_SANITIZER_VERIFY" >/dev/null
cmake --build "$BUILD" -j2 --target fuzz_sanitizer fuzz_http >/dev/null
SEEDS="$BUILD/fuzz-seeds"
WORK="$BUILD/fuzz-corpus"
mkdir -p "$SEEDS" "$WORK"
if [ -d "$CORPORA/xss" ] && [ -z "$(ls -A "$SEEDS")" ]; then
  python3 - "$CORPORA" "$SEEDS" "$SRC/bench" <<'PY'
import glob, json, os, random, sys
corpora, out = sys.argv[1], sys.argv[2]
sys.path.insert(0, sys.argv[3])
from css_selector_audit import Doc  # style sheets with the selectors strict mode judges
n = 0
for k in range(64):  # strict mode (0), pieces of 1 to 64 bytes
    with open(os.path.join(out, "s%05d" % n), "wb") as fh:
        fh.write(bytes([(k % 16) << 2]) + Doc(random.Random("fuzz-%d" % k), k % 2 == 1).html().encode())
    n += 1
for f in sorted(glob.glob(os.path.join(corpora, "xss", "*-payloads.json")) +
                glob.glob(os.path.join(corpora, "xss", "payloadsallthethings-xss.json"))):
    for p in json.load(open(f, encoding="utf-8")):
        for mode in (0, 1):
            with open(os.path.join(out, "s%05d" % n), "wb") as fh:
                fh.write(bytes([mode | (7 << 2)]) + p.encode("utf-8", "surrogatepass"))
            n += 1
for f in sorted(glob.glob(os.path.join(corpora, "html5lib-tests", "tokenizer", "*.test")))[:6]:
    for t in json.load(open(f, encoding="utf-8")).get("tests", [])[:200]:
        with open(os.path.join(out, "s%05d" % n), "wb") as fh:
            fh.write(b"\x00" + t["input"].encode("utf-8", "surrogatepass"))
        n += 1
PY
fi
status=0
"$BUILD/tests/fuzz/fuzz_sanitizer" -max_total_time="$SECONDS_TO_RUN" -max_len=8192 \
  -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "$WORK" "$SEEDS" || status=$?
HTTP_SEEDS="$BUILD/fuzz-http-seeds"
HTTP_WORK="$BUILD/fuzz-http-corpus"
mkdir -p "$HTTP_WORK"
[ -d "$HTTP_SEEDS" ] || python3 "$SRC/tests/fuzz/seeds_http.py" "$HTTP_SEEDS"
"$BUILD/tests/fuzz/fuzz_http" -max_total_time="$(( (SECONDS_TO_RUN + 1) / 2 ))" -max_len=8192 \
  -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "$HTTP_WORK" "$HTTP_SEEDS" || status=$?
exit $status
