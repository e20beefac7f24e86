#!/bin/sh
# Before `npm pack` (after `npm run build`): puts the CNI plugin executable just built where the package keeps
# prebuilt ones, by platform (dist/cni/prebuilt/linux-x64/), for scripts/install-native.sh to choose; and
# readies the bundled better-sqlite3 to install without a download or a compiler where its addon loads.
set -eu
cd "$(dirname "$0")/.."

platform=$(node -p 'process.platform + "-" + process.arch')
mkdir -p "dist/cni/prebuilt/$platform"
cp dist/cni/hostnet-cni "dist/cni/prebuilt/$platform/hostnet-cni"
# better-sqlite3's own `files` leaves its addon out of a bundle, and its install script downloads one or else
# compiles one for minutes: the bundle keeps the addon built here, and builds only where that one does not load.
node -e '
const fs = require("node:fs");
const path = "node_modules/better-sqlite3/package.json";
const manifest = JSON.parse(fs.readFileSync(path, "utf8"));
const addon = "build/Release/better_sqlite3.node";
if (!manifest.files.includes(addon)) manifest.files.push(addon);
manifest.scripts.install = "node -e \"new (require(\x27.\x27))(\x27:memory:\x27).close()\" || node-gyp rebuild --release";
fs.writeFileSync(path, JSON.stringify(manifest, null, 2) + "\n");
'
