# A hostile guest: build/tests/virtq-garbage, run by /init as root before
# any virtio driver is loaded, takes the console, vsock and 9p devices in
# turn, maps their BARs through sysfs and programs queues full of garbage
# (addresses outside RAM, lengths past its end, chain loops, NEXT past the
# queue size, INDIRECT in INDIRECT, wrong WRITE flags, a 40000 avail index
# jump, random tables, rings outside RAM), resetting the device between
# scenarios. Then the monitor must still be serving all three, each reset
# by its driver's probe after all that:
#   - /init loads the virtio, console, vsock and 9p modules and writes a
#     marker to /dev/hvc0 that must reach the monitor's stdout (and one
#     more on the serial port);
#   - it mounts the 9p share, reads a file the host put there onto hvc0
#     and writes one back;
#   - it connects to host port 6000 over vsock and gets its echo;
#   - the guest's reset stops the monitor cleanly (exit 0, "guest stopped:
#     reset"), its report counts the device errors it survived, and its
#     stderr holds no sanitizer report (run with VMM_BOOT=an ASan build of
#     vmm-boot to check that too) and no crash.
# The monitor runs under its seccomp filter (vmm-boot's default), so a
# syscall the garbage paths need and the filter lacks kills it: fails here.
set -u
. tests/vm/lib.sh
garbage=$PWD/build/tests/virtq-garbage
peer=$PWD/build/tests/vsock-peer
[ -x "$garbage" ] || vm_skip "build/tests/virtq-garbage is missing (make build/tests/virtq-garbage)"
[ -x "$peer" ] || vm_skip "build/tests/vsock-peer is missing (make build/tests/vsock-peer)"
if [ -n "${KVMHOST_VMLINUX:-}" ] && [ -r "$KVMHOST_VMLINUX" ] && [ -d "${KVMHOST_MODULES:-}" ]; then
    kernel=$KVMHOST_VMLINUX moddir=$KVMHOST_MODULES      # PVH: no decompressor, faster
else
    kernel=$(vm_kernel) || vm_skip "no guest kernel"
    moddir=/lib/modules/${kernel##*/vmlinuz-}
fi
[ -d "$moddir" ] || vm_skip "no modules for the guest kernel ($moddir)"

work=$(mktemp -d /tmp/zone-vm-hostile.XXXXXX)
host_pid=
cleanup() {
    [ -n "$host_pid" ] && kill "$host_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

mods="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_console
      vsock vmw_vsock_virtio_transport_common vmw_vsock_virtio_transport netfs fscache 9pnet 9pnet_virtio 9p"
mods=$(echo $mods)
root=$work/root
mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev" "$root/mnt" "$root/lib/modules" "$work/share"
echo ZONE-9P-AFTER-GARBAGE > "$work/share/marker"
cp /bin/busybox "$root/bin/busybox"
cp "$peer" "$root/bin/vsock-peer"
cp "$garbage" "$root/bin/virtq-garbage"
for m in $mods; do
    f=$(find "$moddir/kernel" -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" -o -name "$m.ko.gz" | head -n 1)
    [ -n "$f" ] || vm_skip "module $m not found under $moddir"
    case $f in
    *.xz) xz -dc "$f" ;;
    *.zst) zstd -qdc "$f" ;;
    *.gz) gzip -dc "$f" ;;
    *) cat "$f" ;;
    esac > "$root/lib/modules/$m.ko" || vm_fail "cannot unpack $f"
done
cat > "$root/init" <<EOF
#!/bin/busybox sh
B=/bin/busybox
\$B mount -t proc proc /proc
\$B mount -t sysfs sys /sys
\$B mount -t devtmpfs dev /dev
\$B echo ZONE-HOSTILE-START
/bin/virtq-garbage console vsock 9p
\$B echo "ZONE-GARBAGE-EXIT \$?"
for m in $mods; do \$B insmod /lib/modules/\$m.ko || \$B echo "INSMOD-FAILED \$m"; done
i=0; while [ ! -e /dev/hvc0 ] && [ \$i -lt 100 ]; do \$B sleep 0.1; i=\$((i + 1)); done
\$B echo ZONE-HVC0-AFTER-GARBAGE > /dev/hvc0
\$B mount -t 9p -o trans=virtio,version=9p2000.L hostile /mnt && \$B cat /mnt/marker > /dev/hvc0 &&
    \$B echo from-guest > /mnt/written && \$B umount /mnt
/bin/vsock-peer connect 6000 from-guest > /dev/hvc0 2>&1
\$B echo ZONE-SERIAL-AFTER-GARBAGE
\$B reboot -f
EOF
chmod 755 "$root/init"
(cd "$root" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) > "$work/initrd.gz"

uds=$work/v.sock
"$peer" host-listen-echo "${uds}_6000" > "$work/host-listen" 2>&1 &
host_pid=$!
rc=0
timeout -k 5 "$((${VM_BOOT_TIMEOUT:-100} + 20))" \
    "$VMM_BOOT" --timeout "${VM_BOOT_TIMEOUT:-100}" -k "$kernel" -i "$work/initrd.gz" -m 256 \
    -c "console=ttyS0 reboot=k panic=-1 quiet" --console --vsock "$uds" --share "hostile=$work/share" \
    < /dev/null > "$work/out" 2> "$work/err" || rc=$?
grep -a 'GARBAGE\|ZONE-\|GUEST-\|INSMOD' "$work/out"
echo "--- monitor stderr"; cat "$work/err"

fail() {
    echo "--- guest console (tail)"; tail -n 40 "$work/out"
    vm_fail "$@"
}
grep -aq ZONE-HOSTILE-START "$work/out" || fail "/init did not start (exit $rc)"
[ $rc -ne 124 ] || fail "the guest did not finish in time (vmm-boot exit 124)"
[ $rc -lt 128 ] || fail "vmm-boot died of signal $((rc - 128)) (31 = SIGSYS: its seccomp filter lacks a syscall)"
grep -q 'AddressSanitizer\|runtime error:\|LeakSanitizer' "$work/err" && fail "a sanitizer report in the monitor's stderr"
grep -aq 'GARBAGE-DONE 3 devices, 0 failed' "$work/out" || fail "virtq-garbage did not get through the console, vsock and 9p devices"
grep -aq 'INSMOD-FAILED' "$work/out" && fail "a module did not load"
grep -aq ZONE-HVC0-AFTER-GARBAGE "$work/out" || fail "the console did not work for its driver after the garbage"
grep -aq ZONE-SERIAL-AFTER-GARBAGE "$work/out" || fail "no serial output after the garbage"
grep -aq ZONE-9P-AFTER-GARBAGE "$work/out" || fail "the guest could not read the 9p share after the garbage"
[ "$(cat "$work/share/written" 2>/dev/null)" = from-guest ] || fail "the guest's write to the 9p share did not arrive"
grep -aq 'GUEST-GOT-REPLY:HOST:from-guest' "$work/out" || fail "no vsock round trip after the garbage"
grep -q 'guest stopped: reset' "$work/err" || fail "the monitor did not report the guest's reset"
errors=$(sed -n 's/.* \([0-9][0-9]*\) device errors.*/\1/p' "$work/err")
[ "${errors:-0}" -gt 0 ] || fail "the monitor counted no device errors: did the garbage reach the devices?"
[ $rc -eq 0 ] || fail "vmm-boot exited $rc"
echo "PASS: hostile guest ($errors device errors survived)"
