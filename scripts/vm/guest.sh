#!/usr/bin/env bash
# The lane inside the guest, run by scripts/vm/init as PID 1: the vm test project on the checkout, with the
# arguments the host left in the share; its output and exit status go back there, then the guest powers off.
checkout=$1
share=/run/vm-lane
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8
export HOSTNET_VM_GUEST=1
ip link set lo up
args=()
[ ! -s "$share/argv" ] || mapfile -d '' args <"$share/argv"
cd "$checkout" && node_modules/.bin/vitest run --project vm "${args[@]}" </dev/null >"$share/out.log" 2>&1
echo $? >"$share/status"
sync
busybox reboot -f
