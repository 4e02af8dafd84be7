#!/bin/bash
# containerd runs VM containers unchanged: `ctr run --runc-binary
# build/zone-vm` (through containerd-shim-runc-v2, which calls create, start,
# exec --detach --pid-file, kill, delete as it does for runc): output and
# exit code of a --rm run; a detached task, an exec into it with its own
# output and exit code, kill, delete; nothing left. Two nested boots.
set -u
. tests/vm/lib.sh
zonevm=$PWD/build/zone-vm
[ -x "$zonevm" ] && [ -x build/zone-agent ] || vm_skip "build/zone-vm or build/zone-agent missing"
for c in containerd ctr containerd-shim-runc-v2; do
    command -v $c >/dev/null || vm_skip "$c is not installed"
done
if [ -n "${KVMHOST_VMLINUX:-}" ] && [ -r "$KVMHOST_VMLINUX" ] && [ -d "${KVMHOST_MODULES:-}" ]; then
    export ZONE_VM_KERNEL=$KVMHOST_VMLINUX ZONE_VM_MODULES=$KVMHOST_MODULES   # PVH: no decompressor
fi
work=$(mktemp -d /tmp/zone-vm-ctrd.XXXXXX)
c=$work/ctrd
ns=zonevm
# the shim passes containerd's environment on to zone-vm
export ZONE_VM_CACHE=$work/cache ZONE_VM_DEBUG=1
bash scripts/containerd-config.sh "$c" || vm_fail "cannot write the containerd config"
containerd --config "$c/config.toml" > "$c/containerd.log" 2>&1 &
cpid=$!
ctr=(ctr --address "$c/c.sock" --namespace "$ns")
# the shim keeps each container's runtime state (zone's --root) here
state_root=/run/containerd/runc/$ns
cleanup() {
    for id in vmrun vmtask; do
        "${ctr[@]}" task kill -s SIGKILL "$id" >/dev/null 2>&1
        "${ctr[@]}" task delete -f "$id" >/dev/null 2>&1
        "${ctr[@]}" container delete "$id" >/dev/null 2>&1
    done
    kill "$cpid" 2>/dev/null; wait "$cpid" 2>/dev/null
    umount -R "$c/state" "$c/root" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
show_logs() {
    for f in $(find "$state_root" -name vm.log 2>/dev/null); do echo "--- $f"; tail -40 "$f"; done
    echo "--- containerd"; tail -20 "$c/containerd.log"
}
for _ in $(seq 60); do "${ctr[@]}" version >/dev/null 2>&1 && break; sleep 0.25; done
"${ctr[@]}" version >/dev/null 2>&1 || vm_fail "containerd did not come up: $(tail -5 "$c/containerd.log")"

sh scripts/make-busybox-bundle.sh "$work/bundle" >/dev/null || vm_fail "cannot make the busybox rootfs"
bash scripts/oci-image-tar.sh "$work/bundle/rootfs" "$work/image.tar" docker.io/zone/busybox:latest ||
    vm_fail "cannot make the OCI image archive"
"${ctr[@]}" image import --snapshotter native "$work/image.tar" >/dev/null || vm_fail "ctr image import failed"

# a --rm run: output and exit code
rc=0
start=$(date +%s.%N)
timeout -s KILL 60 "${ctr[@]}" run --rm --snapshotter native --runc-binary "$zonevm" \
    docker.io/zone/busybox:latest vmrun sh -c 'echo CTRD-IN-VM; grep -c zone.root= /proc/cmdline; exit 4' \
    < /dev/null > "$work/out" 2> "$work/err" || rc=$?
echo "--- stdout"; cat "$work/out"; echo "--- stderr"; cat "$work/err"
echo "ctr run --runc-binary zone-vm took $(echo "$(date +%s.%N) - $start" | bc)s (exit $rc)"
if [ "$rc" -eq 137 ]; then
    show_logs
    vm_stalled_if_no_process "$(find "$state_root" -name vm.log 2>/dev/null | head -1)"
    vm_fail "ctr run did not finish in 60s"
fi
grep -q CTRD-IN-VM "$work/out" || { show_logs; vm_fail "no output from the container process"; }
[ "$(tr -d '\r' < "$work/out" | sed -n 2p)" = 1 ] || vm_fail "the process did not run in the guest (no zone.root= in /proc/cmdline)"
[ "$rc" -eq 4 ] || vm_fail "ctr run exit code $rc, expected 4"

# a detached task: exec into it (the shim's exec --detach --pid-file), kill, delete
"${ctr[@]}" run -d --snapshotter native --runc-binary "$zonevm" \
    docker.io/zone/busybox:latest vmtask sh -c 'echo up > /task-ready; exec sleep 1000' \
    < /dev/null > /dev/null 2> "$work/err" || vm_fail "ctr run -d failed: $(cat "$work/err")"
monitor=$("${ctr[@]}" task ls | awk '$1 == "vmtask" {print $2}')
[ -n "$monitor" ] || vm_fail "no pid for the task"
vm_wait_guest_process "$state_root/vmtask/vm.log" 70 "$monitor"
out=
for _ in $(seq 40); do
    rc=0
    out=$(timeout -s KILL 30 "${ctr[@]}" task exec --exec-id e1 vmtask sh -c 'cat /task-ready && echo EXEC-IN-VM && exit 5' 2>&1) || rc=$?
    grep -q EXEC-IN-VM <<<"$out" && break
    sleep 0.5   # the process may not have written /task-ready yet
done
echo "exec: [$out] exit $rc"
grep -q EXEC-IN-VM <<<"$out" || { show_logs; vm_fail "ctr task exec output [$out]"; }
[ "$rc" -eq 5 ] || vm_fail "ctr task exec exit code $rc, expected 5"
"${ctr[@]}" task ls | grep -E "^vmtask +[0-9]+ +RUNNING" >/dev/null || vm_fail "the task is not RUNNING: $("${ctr[@]}" task ls)"
"${ctr[@]}" task kill -s SIGKILL vmtask || vm_fail "ctr task kill failed"
for _ in $(seq 60); do "${ctr[@]}" task ls | grep -qE "^vmtask .*STOPPED" && break; sleep 0.5; done
"${ctr[@]}" task ls | grep -qE "^vmtask .*STOPPED" || vm_fail "the task did not stop: $("${ctr[@]}" task ls)"
kill -0 "$monitor" 2>/dev/null && vm_fail "the monitor $monitor is still alive"
"${ctr[@]}" task delete vmtask > /dev/null || vm_fail "ctr task delete failed"
"${ctr[@]}" container delete vmtask || vm_fail "ctr container delete failed"
[ -z "$(ls -A "$state_root" 2>/dev/null)" ] || vm_fail "runtime state left in $state_root: $(ls -A "$state_root")"
pgrep -f "$zonevm" >/dev/null && vm_fail "a zone-vm process was left behind"
echo "PASS: engine_containerd"
