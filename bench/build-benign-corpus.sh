#!/bin/sh
# Builds the benign HTML corpus for bench_sanitizer from Debian documentation packages, as
# ../shared/corpora/BENIGN.md describes: `apt-get download` + `dpkg -x` (nothing installed, no
# maintainer scripts). Needs root for `apt-get update` (or fresh package lists).
# Usage: bench/build-benign-corpus.sh [DEST]   (default: ./benign-html)
# Output: DEST/html-files.lst0 (NUL-separated list of regular *.html/*.htm files).
set -eu
DEST="${1:-${DEST:-$PWD/benign-html}}"
PKGS="${PKGS:-python3.11-doc postgresql-doc-15 git-doc apache2-doc python-django-doc debian-handbook qtbase5-doc-html cmake-doc llvm-14-doc}"
mkdir -p "$DEST/debs" "$DEST/root"
if [ "$(id -u)" = 0 ]; then apt-get update -qq; fi
missing=""
for p in $PKGS; do
  apt-cache show --no-all-versions "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "build-benign-corpus: not in this release's package lists:$missing" >&2
  exit 1
fi
cd "$DEST/debs"
apt-get download -o APT::Sandbox::User=root $PKGS
for d in "$DEST"/debs/*.deb; do dpkg -x "$d" "$DEST/root"; done
find "$DEST/root" -type f \( -name '*.html' -o -name '*.htm' \) -print0 > "$DEST/html-files.lst0"
tr '\0' '\n' < "$DEST/html-files.lst0" > "$DEST/html-files.lst"
printf '%s files, ' "$(wc -l < "$DEST/html-files.lst")"
find "$DEST/root" -type f \( -name '*.html' -o -name '*.htm' \) -printf '%s\n' \
  | awk '{s+=$1} END {printf "%.1f MB of HTML\n", s/1048576}'
