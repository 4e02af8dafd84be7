#!/bin/bash
# The developer `zone run --vm IMAGE` of a busybox image made locally and
# imported (no registry): output and exit code, and no container left.
# One nested boot.
set -u
. tests/vm/lib.sh
zone=$PWD/build/zone
[ -x "$zone" ] && [ -x build/zone-dev ] && [ -x build/zone-agent ] || vm_skip "build/zone, zone-dev or zone-agent missing"
if [ -n "${KVMHOST_VMLINUX:-}" ] && [ -r "$KVMHOST_VMLINUX" ] && [ -d "${KVMHOST_MODULES:-}" ]; then
    export ZONE_VM_KERNEL=$KVMHOST_VMLINUX ZONE_VM_MODULES=$KVMHOST_MODULES
fi
work=$(mktemp -d /tmp/zone-vm-dev.XXXXXX)
export ZONE_VM_CACHE=$work/cache
z() { "$zone" --root "$work/state" --storage "$work/store" "$@"; }
cleanup() { rm -rf "$work"; }
trap cleanup EXIT

sh scripts/make-busybox-bundle.sh "$work/bundle" >/dev/null || vm_fail "cannot make the busybox rootfs"
echo ZONE-DEV-MARKER > "$work/bundle/rootfs/marker"
tar --numeric-owner -C "$work/bundle/rootfs" -cf "$work/rootfs.tar" .
z import "$work/rootfs.tar" vmimg >/dev/null || vm_fail "zone import failed"
rc=0
start=$(date +%s.%N)
out=$(ZONE_VM_DEBUG=1 timeout -s KILL "${VM_RUN_TIMEOUT:-110}" "$zone" --root "$work/state" --storage "$work/store" \
    run --rm --vm --network none vmimg sh -c 'echo DEV-VM-OUT $(cat /marker) $(grep -c zone.root= /proc/cmdline); exit 5' \
    2> "$work/err") || rc=$?
echo "zone run --vm IMAGE took $(echo "$(date +%s.%N) - $start" | bc)s: exit $rc, stdout [$out]"
cat "$work/err"
[ "$out" = "DEV-VM-OUT ZONE-DEV-MARKER 1" ] || vm_fail "unexpected output [$out] (exit $rc)"
[ "$rc" -eq 5 ] || vm_fail "exit code $rc, expected 5"
[ -z "$(ls -A "$work/state" 2>/dev/null)" ] || vm_fail "state left: $(ls -A "$work/state")"
echo "PASS: runtime_dev"
