#!/bin/sh
# npm's "install" script of the package: chooses the CNI plugin executable, dist/cni/hostnet-cni, for this
# machine once the package is in place: the prebuilt one of this platform (dist/cni/prebuilt/) if it runs here,
# else one built from cni/hostnet-cni.c with the C compiler ($CC, else cc). (The bundled better-sqlite3 does
# the same for its addon: see pack-native.sh.) A checkout (it has src/) builds with `npm run build`, so there
# this does nothing.
set -eu
cd "$(dirname "$0")/.."
[ -d src ] && exit 0

node=${npm_node_execpath:-node}
platform=$("$node" -p 'process.platform + "-" + process.arch')

prebuilt=dist/cni/prebuilt/$platform/hostnet-cni
if [ -x "$prebuilt" ] && CNI_COMMAND=VERSION "$prebuilt" </dev/null >/dev/null 2>&1; then
  cp "$prebuilt" dist/cni/hostnet-cni
  echo "hostnet: CNI plugin: the prebuilt one for $platform"
elif command -v "${CC:-cc}" >/dev/null 2>&1; then
  # Static where the C library allows it (see build-cni.sh), else linked as the system links.
  sh scripts/build-cni.sh 2>/dev/null ||
    "${CC:-cc}" -O2 -Wall -std=c11 -D_GNU_SOURCE -o dist/cni/hostnet-cni cni/hostnet-cni.c
  echo "hostnet: CNI plugin: built for $platform with ${CC:-cc}"
else
  echo "hostnet: no prebuilt CNI plugin for $platform and no C compiler: the CNI plugin is missing until one" \
    "is installed and 'npm rebuild -g hostnet' runs; hostnetd and hostnet work without it" >&2
fi

