#!/bin/bash
# An engine runs VM containers unchanged: podman (through conmon) with
# `--runtime build/zone-vm` runs an imported busybox image in a microVM:
# output, the exit code, and nothing left after --rm. One nested boot.
set -u
. tests/vm/lib.sh
zonevm=$PWD/build/zone-vm
[ -x "$zonevm" ] && [ -x build/zone-agent ] || vm_skip "build/zone-vm or build/zone-agent missing"
command -v podman >/dev/null && command -v conmon >/dev/null || vm_skip "podman or conmon is not installed"
if [ -n "${KVMHOST_VMLINUX:-}" ] && [ -r "$KVMHOST_VMLINUX" ] && [ -d "${KVMHOST_MODULES:-}" ]; then
    export ZONE_VM_KERNEL=$KVMHOST_VMLINUX ZONE_VM_MODULES=$KVMHOST_MODULES   # PVH: no decompressor
fi
work=$(mktemp -d /tmp/zone-vm-podman.XXXXXX)
p=$work/podman
export ZONE_VM_CACHE=$work/cache
bash scripts/podman-config.sh "$p" "$zonevm" || vm_fail "cannot write the podman config"
export CONTAINERS_CONF=$p/containers.conf CONTAINERS_STORAGE_CONF=$p/storage.conf
podman=(podman --runtime "$zonevm" --cgroup-manager cgroupfs --root "$p/root" --runroot "$p/runroot"
    --tmpdir "$p/tmp" --events-backend file)
cleanup() {
    "${podman[@]}" rm -af -t 0 >/dev/null 2>&1
    umount -R "$p/root" "$p/runroot" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

sh scripts/make-busybox-bundle.sh "$work/bundle" >/dev/null || vm_fail "cannot make the busybox rootfs"
tar -C "$work/bundle/rootfs" -cf "$work/rootfs.tar" .
"${podman[@]}" import "$work/rootfs.tar" zone-vm-busybox:latest >/dev/null || vm_fail "podman import failed"

rc=0
start=$(date +%s.%N)
timeout -s KILL "${VM_RUN_TIMEOUT:-110}" "${podman[@]}" run --rm --network none \
    --annotation run.oci.vm.debug=1 zone-vm-busybox \
    sh -c 'echo PODMAN-IN-VM; grep -c zone.root= /proc/cmdline; exit 4' \
    < /dev/null > "$work/out" 2> "$work/err" || rc=$?
echo "--- stdout"; cat "$work/out"
echo "--- stderr"; cat "$work/err"
echo "podman run --runtime zone-vm took $(echo "$(date +%s.%N) - $start" | bc)s (exit $rc)"
if [ "$rc" -eq 137 ]; then
    for f in $(find /run "$p" -name vm.log 2>/dev/null); do echo "--- $f"; tail -40 "$f"; done
    ps -eo pid,ppid,stat,etime,args | grep -E "zone|conmon|podman" | grep -v grep
    vm_stalled_if_no_process "$(find /run "$p" -name vm.log 2>/dev/null | head -1)"
    vm_fail "podman run did not finish in ${VM_RUN_TIMEOUT:-110}s"
fi
grep -q PODMAN-IN-VM "$work/out" || vm_fail "no output from the container process"
[ "$(sed -n 2p "$work/out")" = 1 ] || vm_fail "the process did not run in the guest (no zone.root= in /proc/cmdline)"
[ "$rc" -eq 4 ] || vm_fail "podman run exit code $rc, expected 4"
[ -z "$("${podman[@]}" ps -aq)" ] || vm_fail "podman run --rm left a container"
pgrep -f "$zonevm" >/dev/null && vm_fail "a zone-vm process was left behind"
echo "PASS: engine_podman"
