#!/bin/sh
# Builds the CNI plugin executable dist/cni/hostnet-cni from cni/hostnet-cni.c, linked statically so that
# it starts without the dynamic loader, whatever the host's libraries. POSIX sh (`npm run build` runs it
# with sh, dash on Debian): hence no pipefail, which dash lacks and which no line here needs.
set -eu
cd "$(dirname "$0")/.."

mkdir -p dist/cni
"${CC:-cc}" -O2 -Wall -Wextra -Werror -std=c11 -D_GNU_SOURCE -static -o dist/cni/hostnet-cni cni/hostnet-cni.c
