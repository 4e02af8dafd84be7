#!/bin/bash
# VM mode without root: an unprivileged user who may open /dev/kvm (the kvm
# group, as on a developer's machine) runs `zone --vm run` of a bundle made
# with `zone spec --rootless`: output, exit code, nothing left in the user's
# state root. One nested boot. The user is created in the throw-away
# kvm-host guest and removed at exit.
set -u
. tests/vm/lib.sh
zone=$PWD/build/zone
[ -x "$zone" ] && [ -x build/zone-agent ] || vm_skip "build/zone or build/zone-agent missing"
for c in useradd userdel runuser jq; do
    command -v "$c" >/dev/null || vm_skip "$c is not installed"
done
getent group kvm >/dev/null || vm_skip "no kvm group in the test guest"
user=zonevm$$
work=$(mktemp -d /tmp/zone-vm-rl.XXXXXX)
chmod 755 "$work"
cleanup() {
    runuser -u "$user" -- env XDG_RUNTIME_DIR="$work/xdg" "$zone" delete -f vmrl >/dev/null 2>&1
    userdel "$user" >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT
useradd -M -d "$work" -G kvm -s /bin/sh "$user" || vm_fail "useradd $user"
[ "$(stat -c %G /dev/kvm)" = kvm ] || chgrp kvm /dev/kvm   # a guest-only device node
chmod g+rw /dev/kvm
runuser -u "$user" -- test -r /dev/kvm -a -w /dev/kvm || vm_skip "$user cannot open /dev/kvm"

if [ -n "${KVMHOST_VMLINUX:-}" ] && [ -r "$KVMHOST_VMLINUX" ] && [ -d "${KVMHOST_MODULES:-}" ]; then
    kernel_env="ZONE_VM_KERNEL=$KVMHOST_VMLINUX ZONE_VM_MODULES=$KVMHOST_MODULES"
else
    kernel_env=
fi
sh scripts/make-busybox-bundle.sh "$work/bundle" --rootless >/dev/null || vm_fail "cannot make the busybox bundle"
rm -f "$work/bundle/config.json"
mkdir -p "$work/xdg" "$work/cache"
chown -R "$user" "$work"
chmod 700 "$work/xdg"
(cd "$work/bundle" && runuser -u "$user" -- "$zone" spec --rootless) || vm_fail "zone spec --rootless as $user"
jq '.process.terminal = false
    | .process.args = ["sh", "-c", "echo VM-ROOTLESS uid=$(id -u); grep -c zone.root= /proc/cmdline; exit 5"]' \
    "$work/bundle/config.json" > "$work/config.new" && mv "$work/config.new" "$work/bundle/config.json"
chown "$user" "$work/bundle/config.json"

rc=0
start=$(date +%s.%N)
# shellcheck disable=SC2086  # kernel_env is a list of NAME=VALUE words
(cd "$work/bundle" && timeout -s KILL "${VM_RUN_TIMEOUT:-110}" runuser -u "$user" -- \
    env XDG_RUNTIME_DIR="$work/xdg" ZONE_VM_CACHE="$work/cache" ZONE_VM_DEBUG=1 $kernel_env \
    "$zone" --vm run vmrl) < /dev/null > "$work/out" 2> "$work/err" || rc=$?
echo "--- stdout"; cat "$work/out"
echo "--- stderr"; cat "$work/err"
echo "rootless zone --vm run took $(echo "$(date +%s.%N) - $start" | bc)s (exit $rc)"
if [ "$rc" -eq 137 ]; then
    echo "--- guest log (vm.log)"; tail -60 "$work/xdg/zone/vmrl/vm.log" 2>/dev/null
    vm_stalled_if_no_process "$work/xdg/zone/vmrl/vm.log"
    vm_fail "rootless zone --vm run did not finish in ${VM_RUN_TIMEOUT:-110}s"
fi
grep -q 'VM-ROOTLESS uid=0' "$work/out" || vm_fail "no output from the container process"
[ "$(sed -n 2p "$work/out")" = 1 ] || vm_fail "the process did not run in the guest (no zone.root= in /proc/cmdline)"
[ "$rc" -eq 5 ] || vm_fail "exit code $rc, expected 5"
[ -e "$work/xdg/zone/vmrl" ] && vm_fail "run left the state dir $work/xdg/zone/vmrl"
pgrep -u "$user" >/dev/null && vm_fail "a process of $user was left behind"
echo "PASS: runtime_rootless"
