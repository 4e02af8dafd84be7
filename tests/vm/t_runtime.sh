#!/bin/bash
# zone --vm run of a busybox bundle: output, exit code, the rootfs over 9p,
# a bind-mounted host directory written from the guest, linux.seccomp
# applied to the process in the guest (mkdir denied); then nothing left
# behind. One nested boot (plus a developer `zone run --vm IMAGE` when
# ZONE_VM_TEST_DEV=1: a second boot).
set -u
. tests/vm/lib.sh
zone=$PWD/build/zone
[ -x "$zone" ] && [ -x build/zone-agent ] || vm_skip "build/zone or build/zone-agent missing"
if [ -n "${KVMHOST_VMLINUX:-}" ] && [ -r "$KVMHOST_VMLINUX" ] && [ -d "${KVMHOST_MODULES:-}" ]; then
    export ZONE_VM_KERNEL=$KVMHOST_VMLINUX ZONE_VM_MODULES=$KVMHOST_MODULES   # PVH: no decompressor
fi
work=$(mktemp -d /tmp/zone-vm-rt.XXXXXX)
root=$work/state
export ZONE_VM_CACHE=$work/cache
cleanup() {
    "$zone" --root "$root" delete -f vmrt >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT

sh scripts/make-busybox-bundle.sh "$work/bundle" >/dev/null || vm_fail "cannot make the busybox bundle"
echo ZONE-ROOTFS-MARKER > "$work/bundle/rootfs/marker"
mkdir -p "$work/shared"
cd "$work/bundle"
jq --arg src "$work/shared" '.process.terminal = false
    | .process.args = ["sh", "-c", "echo VM-OUT $(cat /marker) $(hostname); echo VM-ERR >&2; echo written-in-vm > /mnt/shared/out; cat /proc/cmdline; mkdir /seccomp-probe 2>/dev/null && echo MKDIR-ALLOWED || echo MKDIR-DENIED; exit 7"]
    | .hostname = "vmhost"
    | .linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64"],
                        syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1}]}
    | .mounts += [{"destination": "/mnt/shared", "type": "bind", "source": $src, "options": ["rbind", "rw"]}]' \
    config.json > config.json.new && mv config.json.new config.json
cd - >/dev/null

start=$(date +%s.%N)
rc=0
# ZONE_VM_DEBUG: the guest's kernel log in the state dir's vm.log, shown
# when the run does not finish in time
(cd "$work/bundle" && ZONE_VM_DEBUG=${ZONE_VM_DEBUG:-1} timeout -s KILL "${VM_RUN_TIMEOUT:-110}" \
    "$zone" --root "$root" --vm run vmrt) < /dev/null > "$work/out" 2> "$work/err" || rc=$?
secs=$(echo "$(date +%s.%N) - $start" | bc)
echo "--- stdout"; cat "$work/out"
echo "--- stderr"; cat "$work/err"
echo "zone --vm run took ${secs}s (exit $rc)"
if [ "$rc" -eq 137 ]; then
    echo "--- guest log (vm.log)"; cat "$root/vmrt/vm.log" 2>/dev/null | tail -60
    ls -la "$root/vmrt" 2>/dev/null
    vm_stalled_if_no_process "$root/vmrt/vm.log"
    vm_fail "zone --vm run did not finish in ${VM_RUN_TIMEOUT:-110}s"
fi
grep -q 'VM-OUT ZONE-ROOTFS-MARKER vmhost' "$work/out" || vm_fail "no output from the container process"
grep -q 'zone.root=' "$work/out" || vm_fail "the process did not run in the guest (no zone.root= in /proc/cmdline)"
grep -q 'MKDIR-DENIED' "$work/out" || vm_fail "linux.seccomp was not applied in the guest (mkdir was allowed)"
[ -e "$work/bundle/rootfs/seccomp-probe" ] && vm_fail "linux.seccomp was not applied: /seccomp-probe was made"
grep -q 'VM-ERR' "$work/err" || vm_fail "stderr was not relayed separately"
grep -q 'VM-ERR' "$work/out" && vm_fail "stderr leaked into stdout"
[ "$rc" -eq 7 ] || vm_fail "exit code $rc, expected 7"
[ "$(cat "$work/shared/out" 2>/dev/null)" = written-in-vm ] || vm_fail "the bind-mounted host directory was not written"
[ -e "$root/vmrt" ] && vm_fail "run left the state dir $root/vmrt"
pgrep -f "zone --root $root" >/dev/null && vm_fail "a monitor process was left behind"
find /sys/fs/cgroup -name '*vmrt*' | grep -q . && vm_fail "a cgroup was left behind"
echo "PASS: runtime"
