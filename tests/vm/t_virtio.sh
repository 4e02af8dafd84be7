# virtio-pci devices in a real guest: the Debian kernel finds the PCI host
# bridge, loads virtio_pci, virtio_console and the vsock transport from an
# initramfs (busybox insmod), and then
#   - writes a marker to /dev/hvc0 that must reach the monitor's stdout,
#   - reads a line the host feeds to the monitor's stdin (which then hits EOF),
#   - connects to host port 6000 (the monitor's unix socket <uds>_6000),
#   - answers a host connection to guest port 5000 ("CONNECT 5000"),
#   - and moves 16 MiB each way for a rough throughput figure;
# between the two, the console and vsock stay idle for 4 s, over which the
# monitor's I/O thread must use (almost) no CPU: nothing spins on the
# console's EOF or the sockets. (The guest busy-waits meanwhile, and
# reboots right after the transfers: under kvm-host.sh's QEMU, interrupts
# reach a nested guest with interrupts disabled now and then - a timer
# interrupt inside the timer handler deadlocks it - and the longer it runs,
# the likelier that is.)
#
# Its long guest (idle phase, 32 MiB of transfers) hung in 4 of 5 first
# attempts on 2026-11-23 (soft lockups in the guest) while the test guest
# had two vCPUs; in a one-vCPU test guest, as run.sh now makes, 3 of 3
# passed.
set -u
. tests/vm/lib.sh
peer=$PWD/build/tests/vsock-peer
[ -x "$peer" ] || vm_skip "build/tests/vsock-peer is missing (make build/tests/vsock-peer)"
if [ -n "${KVMHOST_VMLINUX:-}" ] && [ -r "$KVMHOST_VMLINUX" ] && [ -d "${KVMHOST_MODULES:-}" ]; then
    kernel=$KVMHOST_VMLINUX moddir=$KVMHOST_MODULES      # PVH: no decompressor, faster
else
    kernel=$(vm_kernel) || vm_skip "no guest kernel"
    moddir=/lib/modules/${kernel##*/vmlinuz-}
fi
[ -d "$moddir" ] || vm_skip "no modules for the guest kernel ($moddir)"

work=$(mktemp -d /tmp/zone-vm-virtio.XXXXXX)
vmm_pid= host_pid=
cleanup() {
    [ -n "$vmm_pid" ] && kill "$vmm_pid" 2>/dev/null
    [ -n "$host_pid" ] && kill "$host_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

mods="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_console vsock vmw_vsock_virtio_transport_common vmw_vsock_virtio_transport"
root=$work/root
mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev" "$root/lib/modules"
cp /bin/busybox "$root/bin/busybox"
cp "$peer" "$root/bin/vsock-peer"
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
for m in $mods; do \$B insmod /lib/modules/\$m.ko || \$B echo "INSMOD-FAILED \$m"; done
i=0; while [ ! -e /dev/hvc0 ] && [ \$i -lt 50 ]; do \$B sleep 0.1; i=\$((i + 1)); done
exec 3< /dev/hvc0      # held open: input that arrives is kept by the tty, not dropped at a close
\$B stty -F /dev/hvc0 -echo
\$B echo ZONE-HVC0-HELLO > /dev/hvc0
read -t 30 line <&3; \$B echo "ZONE-STDIN-GOT:\$line" > /dev/hvc0
/bin/vsock-peer connect 6000 from-guest > /dev/hvc0 2>&1
/bin/vsock-peer listen-echo 5000 > /dev/hvc0 2>&1
read up rest < /proc/uptime; end=\$((\${up%.*} + 4))
\$B echo ZONE-IDLE-START > /dev/hvc0
while read up rest < /proc/uptime && [ \${up%.*} -lt \$end ]; do :; done
\$B echo ZONE-IDLE-END > /dev/hvc0
/bin/vsock-peer listen-sink 5001 > /dev/hvc0 2>&1
/bin/vsock-peer listen-source 5002 16 > /dev/hvc0 2>&1
\$B reboot -f
EOF
chmod 755 "$root/init"
(cd "$root" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) > "$work/initrd.gz"

uds=$work/v.sock
"$peer" host-listen-echo "${uds}_6000" > "$work/host-listen" 2>&1 &
host_pid=$!
mkfifo "$work/stdin"
(printf 'ZONE-STDIN-LINE\n'; sleep 1) > "$work/stdin" &
"$VMM_BOOT" --timeout "$((${VM_BOOT_TIMEOUT:-100} + 20))" -k "$kernel" -i "$work/initrd.gz" -m 256 \
    -c "console=ttyS0 reboot=k panic=-1 quiet" --console --vsock "$uds" \
    < "$work/stdin" > "$work/out" 2> "$work/err" &
vmm_pid=$!

# a failure shows what the guest and the monitor said
fail() {
    echo "--- guest console (tail)"; tail -n 60 "$work/out" 2>/dev/null
    echo "--- monitor stderr"; cat "$work/err" 2>/dev/null
    vm_fail "$@"
}

cpu_ticks() {    # utime+stime of a task, in clock ticks
    awk '{ print $14 + $15 }' "$1" 2>/dev/null || echo 0
}
io_task() {
    local t
    for t in /proc/"$vmm_pid"/task/*; do
        [ "$(cat "$t/comm" 2>/dev/null)" = zone-vmm-io ] && { echo "$t/stat"; return; }
    done
}

# the boot takes 10-100 s under the emulated host (run.sh gives a test 150 s):
# wait for the guest's listener, and fail before run.sh kills us
export VSOCK_PEER_WAIT=${VM_BOOT_TIMEOUT:-100}
"$peer" host-connect "$uds" 5000 ping-from-host > "$work/h1" 2>&1 || { cat "$work/h1"; fail "host -> guest connection failed"; }

# idle: sample the process and the I/O thread between the guest's markers
for _ in $(seq 1 300); do grep -q ZONE-IDLE-START "$work/out" && break; sleep 0.1; done
iostat=$(io_task)
p0=$(cpu_ticks /proc/$vmm_pid/stat); i0=$(cpu_ticks "$iostat"); t0=$(date +%s.%N)
for _ in $(seq 1 300); do grep -q ZONE-IDLE-END "$work/out" && break; sleep 0.1; done
p1=$(cpu_ticks /proc/$vmm_pid/stat); i1=$(cpu_ticks "$iostat"); t1=$(date +%s.%N)

"$peer" host-send "$uds" 5001 16 > "$work/h2" 2>&1 || { cat "$work/h2"; fail "host -> guest transfer failed"; }
"$peer" host-recv "$uds" 5002 > "$work/h3" 2>&1 || { cat "$work/h3"; fail "guest -> host transfer failed"; }

rc=0
wait "$vmm_pid" || rc=$?
vmm_pid=
wait "$host_pid" 2>/dev/null
host_pid=
cat "$work/out" "$work/err" "$work/h1" "$work/h2" "$work/h3" "$work/host-listen"
hz=$(getconf CLK_TCK)
echo "idle devices: I/O thread $(echo "scale=2; ($i1 - $i0) * 100 / $hz / ($t1 - $t0)" | bc)% CPU," \
     "whole monitor $(echo "scale=1; ($p1 - $p0) * 100 / $hz / ($t1 - $t0)" | bc)% (the guest spins) over $(echo "$t1 - $t0" | bc) s"

grep -q INSMOD-FAILED "$work/out" && vm_fail "a module did not load"
grep -q ZONE-HVC0-HELLO "$work/out" || vm_fail "nothing from /dev/hvc0 reached the monitor's stdout"
grep -q 'ZONE-STDIN-GOT:ZONE-STDIN-LINE' "$work/out" || vm_fail "the guest did not read the monitor's stdin on hvc0"
grep -q 'GUEST-GOT-REPLY:HOST:from-guest' "$work/out" || vm_fail "guest -> host vsock round trip failed"
grep -q 'HOST-GOT:\[OK [0-9]*\] REPLY:ping-from-host' "$work/h1" || vm_fail "host -> guest vsock round trip failed"
grep -q 'GUEST-RECEIVED 16777216 bytes' "$work/out" || vm_fail "the guest did not receive 16 MiB"
grep -q 'HOST-RECEIVED 16777216 bytes' "$work/h3" || vm_fail "the host did not receive 16 MiB"
grep -q 'guest stopped: reset' "$work/err" || vm_fail "the monitor did not report the guest's reset"
[ "$rc" -eq 0 ] || vm_fail "vmm-boot exited $rc"
[ -n "$iostat" ] || vm_fail "no zone-vmm-io thread in the monitor"
[ $((i1 - i0)) -le 5 ] || vm_fail "the I/O thread used $((i1 - i0)) ticks while the guest idled"
echo "PASS: virtio"
