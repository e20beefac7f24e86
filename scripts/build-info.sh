#!/bin/sh
# Records the commit the build is made from in dist/build-info.json, which `--version` prints. A build from a
# tree with uncommitted changes says so ("-dirty"); one outside a git checkout says "unknown".
set -eu
cd "$(dirname "$0")/.."

commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if [ "$commit" != unknown ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  commit="$commit-dirty"
fi
mkdir -p dist
printf '{"commit":"%s"}\n' "$commit" >dist/build-info.json
