#!/usr/bin/env bash
# The stock-kernel lane (docs/testing.md): boots Debian's own kernel (linux-image-amd64, unpacked, never
# installed) under QEMU with this machine's root filesystem shared read-only and a tmpfs overlay taking the
# guest's writes, runs the vm test project on this checkout inside the guest (scripts/vm/guest.sh), prints
# its output and exits with its status: 124 when the lane's time ran out, 125 when the VM itself failed.
# The guest has only `lo`; tests build their hosts out of namespaces inside it, as on the host.
#
# Usage (as root): scripts/vm-lane.sh [vitest args...]. VM_LANE_TIMEOUT bounds the whole lane in seconds
# (default 840); VM_LANE_KEEP=1 keeps the run directory (the guest's console and output).
set -euo pipefail
cd "$(dirname "$0")/.."
checkout=$PWD
cache=$checkout/.cache/vm-lane
budget=${VM_LANE_TIMEOUT:-840}

fail() {
  echo "vm-lane: $*" >&2
  exit 125
}
# Both paths go on the kernel command line, which splits at spaces.
[[ $checkout != *[[:space:]]* ]] || fail "the checkout's path must not contain spaces"

# Whatever fails before the guest runs is the lane's own failure, not the tests'.
trap 'fail "failed at line $LINENO"' ERR
need=()
for pkg in qemu-system-x86 cpio kmod busybox-static xz-utils; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
  echo "vm-lane: installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

run=$(mktemp -d "${TMPDIR:-/tmp}/vm-lane.XXXXXX")
stop() {
  trap '' INT TERM # a second signal (npm forwards the one its group got) must not cut the cleanup short
  local pid
  if pid=$(cat "$run/qemu.pid" 2>/dev/null); then kill "$pid" 2>/dev/null || true; fi
  if [ "${VM_LANE_KEEP:-}" = 1 ]; then echo "vm-lane: kept $run" >&2; else rm -rf "$run"; fi
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The kernel and the initramfs are made once per kernel package, under a lock so lanes can share them.
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
kernel_package() {
  apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }'
}
pkg=$(kernel_package)
[ -n "$pkg" ] || { apt-get update -qq && pkg=$(kernel_package); }
[ -n "$pkg" ] || fail "apt knows no linux-image-amd64"
kdir=$cache/$pkg
if [ ! -d "$kdir" ]; then
  echo "vm-lane: downloading $pkg"
  mkdir -p "$run/deb"
  download() { (cd "$run/deb" && apt-get download -qq -o APT::Sandbox::User=root "$pkg"); }
  download || { apt-get update -qq && download; }
  dpkg-deb -x "$run"/deb/*.deb "$run/kernel"
  mv "$run/kernel" "$kdir"
fi
vmlinuz=$(echo "$kdir"/boot/vmlinuz-*)
kver=${vmlinuz##*/vmlinuz-}
modules=$kdir/lib/modules/$kver
[ -s "$modules/modules.dep.bin" ] || depmod -b "$kdir" "$kver"
# The uncompressed kernel boots through its PVH entry point, skipping the firmware's real-mode start and
# the decompression: several seconds per boot under emulation. A kernel without PVH boots compressed.
kernel=$kdir/vmlinux
if [ ! -s "$kernel" ] && grep -q '^CONFIG_PVH=y' "$kdir/boot/config-$kver"; then
  offset=$(grep -abo $'\xfd7zXZ' "$vmlinuz" | head -n 1 | cut -d: -f1)
  tail -c +$((offset + 1)) "$vmlinuz" | xz -dcq >"$run/vmlinux" 2>/dev/null || true
  [ "$(head -c 4 "$run/vmlinux" | tail -c 3)" != ELF ] || mv "$run/vmlinux" "$kernel"
fi
[ -s "$kernel" ] || kernel=$vmlinuz
# A static busybox, the init, and the modules that mount the shares and the overlay, in modprobe's order.
initrd=$kdir/initramfs.cpio
if [ ! -s "$initrd" ] || [ "$initrd" -ot scripts/vm/init ]; then
  root=$run/initramfs
  mkdir -p "$root"/{bin,dev,proc,sys,lower,rw,newroot,modules}
  cp /bin/busybox "$root/bin/busybox"
  cp scripts/vm/init "$root/init"
  for m in virtio_pci 9pnet_virtio 9p overlay; do
    modprobe -d "$kdir" -S "$kver" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
  done | awk '!seen[$0]++' | while read -r ko; do
    cp "$ko" "$root/modules/"
    echo "${ko##*/}" >>"$root/modules/order"
  done
  (cd "$root" && find . | cpio -o -H newc --quiet) >"$run/initramfs.cpio"
  mv "$run/initramfs.cpio" "$initrd"
fi
flock -u 9

# The guest reads the vitest arguments from its writable share and leaves its output and status there.
mkdir "$run/share"
[ "$#" -eq 0 ] || printf '%s\0' "$@" >"$run/share/argv"
limit=$((budget - SECONDS))
[ "$limit" -gt 0 ] || fail "no time left to boot"
echo "vm-lane: booting $kver under QEMU (TCG, 2 vCPUs, 2 GiB) for at most ${limit}s"
cmdline="console=ttyS0 panic=-1 quiet rdinit=/init mitigations=off tsc=reliable"
started=$SECONDS
# Should this script be killed outright, its death stops timeout, which stops qemu.
setpriv --pdeathsig TERM timeout -k 10 "$limit" qemu-system-x86_64 \
  -M q35 -accel tcg,thread=multi,tb-size=256 -cpu max -smp 2 -m 2G \
  -nodefaults -no-user-config -display none -vga none -no-reboot -nic none \
  -serial "file:$run/console.log" -pidfile "$run/qemu.pid" -kernel "$kernel" -initrd "$initrd" \
  -append "$cmdline vm_lane_checkout=$checkout vm_lane_modules=$modules" \
  -fsdev local,id=root,path=/,security_model=none,readonly=on,multidevs=remap \
  -device virtio-9p-pci,fsdev=root,mount_tag=hostroot \
  -fsdev "local,id=share,path=$run/share,security_model=none" \
  -device virtio-9p-pci,fsdev=share,mount_tag=lane >"$run/qemu.log" 2>&1 &
vm=$!
tail -n +1 -F --pid="$vm" "$run/share/out.log" 2>/dev/null &
status=0
wait "$vm" || status=$?
wait || true # tail, which ends with qemu
echo "vm-lane: the guest ran $((SECONDS - started))s, the lane $((SECONDS))s"
[ ! -s "$run/share/status" ] || exit "$(cat "$run/share/status")"
if [ "$status" = 124 ] || [ "$status" = 137 ]; then
  echo "vm-lane: out of time after ${budget}s" >&2
  status=124
else
  echo "vm-lane: the guest ended without a result (qemu exited $status)" >&2
  status=125
fi
tail -n 40 "$run/qemu.log" "$run/console.log" >&2
exit "$status"
