#!/usr/bin/env bash
# Quick start: install and build everything, then run hostnetd in the foreground with its defaults
# (socket /run/hostnet/hostnet.sock, state /var/lib/hostnet, default NAT network "nat").
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
exec node dist/bin/hostnetd.js "$@"
