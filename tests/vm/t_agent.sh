# The guest agent in a real VM: the host kernel boots with zone's
# initramfs (built by vm-sandbox/initramfs through vmctl: /init =
# zone-agent plus the virtio modules), the agent loads the modules with
# finit_module, mounts a 9p-shared busybox rootfs, switches into it,
# connects to the host over vsock, and runs the process vmctl sends: its
# stdout on the console (hvc0), its stderr on a vsock stdio stream, plus an
# exec session with its own streams. The exit status comes back over vsock
# and the guest stops by resetting.
set -u
. tests/vm/lib.sh
vmctl=$PWD/build/tests/vmctl
agent=$PWD/build/zone-agent
[ -x "$vmctl" ] && [ -x "$agent" ] || vm_skip "build/tests/vmctl or build/zone-agent missing"
"$VMM_BOOT" --help 2>&1 | grep -q -- '--vsock' || vm_skip "vmm-boot has no virtio devices (--console/--vsock/--share)"
if [ -n "${KVMHOST_VMLINUX:-}" ] && [ -r "$KVMHOST_VMLINUX" ] && [ -d "${KVMHOST_MODULES:-}" ]; then
    kernel=$KVMHOST_VMLINUX moddir=$KVMHOST_MODULES      # PVH: no decompressor, faster
else
    kernel=$(vm_kernel) || vm_skip "no guest kernel"
    moddir=/lib/modules/${kernel##*/vmlinuz-}
fi
[ -f "$moddir/modules.dep" ] || vm_skip "no modules.dep for the guest kernel ($moddir)"

work=$(mktemp -d /tmp/zone-vm-agent.XXXXXX)
vmm_pid= ctl_pid=
cleanup() {
    [ -n "$vmm_pid" ] && kill "$vmm_pid" 2>/dev/null
    [ -n "$ctl_pid" ] && kill "$ctl_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

# the container's root: busybox, shared over 9p
sh scripts/make-busybox-bundle.sh "$work/bundle" >/dev/null || vm_fail "cannot make the busybox rootfs"
echo ZONE-9P-FILE > "$work/bundle/rootfs/marker"

"$vmctl" initramfs --agent "$agent" --cache "$work/cache" --modules-dir "$(dirname "$moddir")" \
    --release "$(basename "$moddir")" > "$work/initramfs" || vm_fail "initramfs build failed"
cat "$work/initramfs"
initrd=$(sed -n 's/^path=//p' "$work/initramfs")

uds=$work/v.sock
"$vmctl" run --stamps --listen "${uds}_1024" --stdio-vsock "$uds" --timeout $((${VM_BOOT_TIMEOUT:-100} + 30)) --hostname zone-vm \
    --stdout console --stderr stream \
    --exec 'echo EXEC-OUT $(cat /marker); echo EXEC-ERR >&2; exit 5' --exec-ms 0 -- \
    sh -c 'sleep 1; echo MAIN-OUT $(hostname) $(cat /marker); echo MAIN-ERR >&2;
           grep -E " / 9p | /proc proc | /dev tmpfs | /dev/pts devpts " /proc/mounts | sed "s/^/MOUNT /";
           echo PID1 $(cat /proc/1/comm); exit 42' \
    > "$work/ctl.out" 2> "$work/ctl.err" &
ctl_pid=$!
for _ in $(seq 100); do [ -S "${uds}_1024" ] && break; sleep 0.1; done
[ -S "${uds}_1024" ] || vm_fail "vmctl did not listen on ${uds}_1024"

rc=0
"$VMM_BOOT" --timestamps --timeout "${VM_BOOT_TIMEOUT:-100}" -k "$kernel" -i "$initrd" -m 256 \
    -c "console=ttyS0 reboot=k panic=-1 quiet zone.root=rootfs ${ZONE_AGENT_DEBUG:+zone.debug=1}" \
    --console --vsock "$uds" --share rootfs="$work/bundle/rootfs" \
    < /dev/null > "$work/vm.out" 2> "$work/vm.err" || rc=$?
vmm_pid=
ctl_rc=0
wait "$ctl_pid" || ctl_rc=$?
ctl_pid=
echo "--- monitor stdout (serial + console)"; cat "$work/vm.out"
echo "--- monitor stderr"; cat "$work/vm.err"
echo "--- vmctl stdout"; cat "$work/ctl.out"
echo "--- vmctl stderr"; cat "$work/ctl.err"

[ "$rc" -eq 0 ] || vm_fail "vmm-boot exited $rc"
grep -q 'guest stopped: reset' "$work/vm.err" || vm_fail "the guest did not stop by reset"
grep -q 'vmctl: STARTED pid' "$work/ctl.err" || vm_fail "no STARTED from the agent"
grep -q 'MAIN-OUT zone-vm ZONE-9P-FILE' "$work/vm.out" || vm_fail "the main process's stdout did not reach the console"
grep -q 'MAIN-ERR' "$work/ctl.err" || vm_fail "the main process's stderr stream did not arrive"
grep -q 'MOUNT rootfs / 9p' "$work/vm.out" || vm_fail "the root is not the 9p share"
grep -q 'MOUNT devpts /dev/pts devpts' "$work/vm.out" || vm_fail "no /dev/pts in the container"
grep -q 'PID1 init' "$work/vm.out" || vm_fail "PID 1 is not the agent (/init)"
grep -q 'EXEC-OUT ZONE-9P-FILE' "$work/ctl.out" || vm_fail "no output from the exec session"
grep -q 'EXEC-ERR' "$work/ctl.err" || vm_fail "no stderr from the exec session"
grep -q 'vmctl: EXEC_EXIT session 1 exit code 5' "$work/ctl.err" || vm_fail "wrong or missing EXEC_EXIT"
grep -q 'vmctl: EXIT exit code 42' "$work/ctl.err" || vm_fail "wrong or missing EXIT"
[ "$ctl_rc" -eq 42 ] || vm_fail "vmctl exited $ctl_rc, expected the process's 42"
echo "PASS: agent"
