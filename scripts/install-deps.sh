#!/usr/bin/env bash
# Installs what hostnet needs on Debian/Ubuntu (as root) and builds it: iproute2, nftables, conntrack and a
# static busybox (its udhcpc is the DHCP client) for the daemon; gcc and libc6-dev for the CNI plugin
# executable (static C); socat, ping, nsenter, iperf3, Podman, docker.io (dockerd, containerd, runc), iptables
# (both backends), firewalld, D-Bus (dbus-daemon, dbus-send), dig (bind9-dnsutils) and dnsmasq (dnsmasq-base,
# the program without the package that starts it as the machine's resolver) and chromium (the browser test of
# `hostnet ui`) for the test suite, dnsperf for bench/dns; then npm dependencies and the build.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pair in ip:iproute2 tc:iproute2 nft:nftables socat:socat ping:iputils-ping nsenter:util-linux iperf3:iperf3 podman:podman runc:runc dockerd:docker.io busybox:busybox-static conntrack:conntrack cc:gcc firewalld:firewalld dbus-daemon:dbus dbus-send:dbus-bin iptables-nft:iptables iptables-legacy:iptables dig:bind9-dnsutils dnsmasq:dnsmasq-base dnsperf:dnsperf chromium:chromium; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
# The static CNI plugin links against libc.a, which only libc6-dev has.
dpkg -s libc6-dev >/dev/null 2>&1 || need+=(libc6-dev)
if [ "${#need[@]}" -gt 0 ]; then
  echo "installing: ${need[*]}"
  # The tests run firewalld inside their own namespaces; one installed here must never filter this machine:
  # masked before the package could start or enable it.
  if [[ " ${need[*]} " == *" firewalld "* ]]; then
    mkdir -p /etc/systemd/system
    ln -sf /dev/null /etc/systemd/system/firewalld.service
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi

npm ci --no-audit --no-fund
npm run build
