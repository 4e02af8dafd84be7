# Helpers for VM tests (sourced by tests/vm/t_*.sh). They run inside the
# kvm-host.sh guest (see run.sh), with /dev/kvm and the host's / read-only.

VMM_BOOT=${VMM_BOOT:-$PWD/build/vmm-boot}

# Exit status of a test whose nested guest stalled early in boot (before
# its /init or agent ran): run.sh retries those up to
# VM_TEST_STALL_ATTEMPTS times and skips the test, saying so, when every
# attempt stalled.
VM_STALLED=75

# The guest kernel: the host's Debian bzImage (/boot/vmlinuz-*), else the one
# kvm-host.sh booted this guest with.
vm_kernel() {
    local k
    for k in /boot/vmlinuz-*; do
        [ -r "$k" ] && { echo "$k"; return 0; }
    done
    [ -n "${KVMHOST_KERNEL:-}" ] && [ -r "$KVMHOST_KERNEL" ] && { echo "$KVMHOST_KERNEL"; return 0; }
    return 1
}

# vm_initramfs OUT SCRIPT: a gzip'ed newc cpio holding busybox-static as
# /bin/busybox (with sh/echo/... links) and SCRIPT as /init.
vm_initramfs() {
    local out=$1 script=$2 dir
    dir=$(mktemp -d /tmp/zone-vm-initramfs.XXXXXX)
    mkdir -p "$dir/bin" "$dir/proc" "$dir/sys" "$dir/dev"
    cp /bin/busybox "$dir/bin/busybox"
    for app in sh echo cat mount reboot sleep; do ln -s busybox "$dir/bin/$app"; done
    printf '%s\n' "$script" > "$dir/init"
    chmod 755 "$dir/init"
    (cd "$dir" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) > "$out"
    rm -rf "$dir"
}

vm_fail() { echo "FAIL: $*" >&2; exit 1; }
vm_skip() { echo "SKIP: $*" >&2; exit 77; }

# vm_boot_check KERNEL CPUS: boots KERNEL with a busybox /init that prints a
# marker and the CPU count, then reboots; checks the marker, the count, the
# monitor's exit status 0 and its "guest stopped: reset" report.
vm_boot_check() {
    local kernel=$1 cpus=$2 work rc=0
    work=$(mktemp -d /tmp/zone-vm-boot.XXXXXX)
    vm_initramfs "$work/initrd.gz" '#!/bin/busybox sh
/bin/busybox echo ZONE-VM-INIT-OK
/bin/busybox mount -t proc proc /proc
/bin/busybox echo ZONE-VM-CPUS=$(/bin/busybox grep -c ^processor /proc/cpuinfo)
/bin/busybox reboot -f'
    "$VMM_BOOT" --timestamps --timeout "${VM_BOOT_TIMEOUT:-90}" -k "$kernel" -i "$work/initrd.gz" \
        -n "$cpus" -m 256 -c "console=ttyS0 reboot=k panic=-1 quiet" >"$work/out" 2>"$work/err" || rc=$?
    cat "$work/out" "$work/err"
    if ! grep -q 'ZONE-VM-INIT-OK' "$work/out" && [ "$rc" -eq 124 ] && grep -q 'guest stopped: requested (vmm-boot --timeout)' "$work/err"; then
        # the guest ran until the timeout without reaching /init: the
        # nested emulation's early stall (docs/vm.md), not a monitor error
        rm -rf "$work"
        echo "STALLED: the guest did not reach /init in ${VM_BOOT_TIMEOUT:-90}s" >&2
        exit $VM_STALLED
    fi
    grep -q 'ZONE-VM-INIT-OK' "$work/out" || { rm -rf "$work"; vm_fail "no /init marker on the console (exit $rc)"; }
    grep -Eq "ZONE-VM-CPUS=${cpus}([^0-9]|$)" "$work/out" || { rm -rf "$work"; vm_fail "the guest did not see $cpus CPUs"; }
    grep -q 'guest stopped: reset' "$work/err" || { rm -rf "$work"; vm_fail "the monitor did not report the guest's reset"; }
    rm -rf "$work"
    [ "$rc" -eq 0 ] || vm_fail "vmm-boot exited $rc"
}


# vm_wait_guest_process LOG SECS MONITOR_PID: waits until the guest log
# (ZONE_VM_DEBUG) shows the agent starting the container's process. A
# monitor that exits first is a failure; a guest that makes no progress
# while its monitor runs has stalled (exit VM_STALLED). Under this host's
# nested emulation a guest started by create/start stalls far more often
# than one started by a foreground `run` (docs/vm.md, "Nested boots that
# stall").
vm_wait_guest_process() {
    local log=$1 secs=$2 monitor=$3 i
    for i in $(seq $((secs * 2))); do
        grep -q 'zone-agent: session 0: started' "$log" 2>/dev/null && return 0
        if ! kill -0 "$monitor" 2>/dev/null; then
            echo "--- guest log"; tail -20 "$log" 2>/dev/null
            vm_fail "the monitor exited before the container process started"
        fi
        sleep 0.5
    done
    echo "STALLED: the guest did not start the container process in ${secs}s; its log ends with:" >&2
    tail -3 "$log" >&2 2>/dev/null
    exit $VM_STALLED
}

# vm_stalled_if_no_process LOG: after a run that timed out, exits as
# stalled when the guest log shows no container process started (the
# nested emulation stopped the guest early), and returns otherwise so the
# caller fails the test.
vm_stalled_if_no_process() {
    grep -qs 'zone-agent: session 0: started' "$1" && return 0
    echo "STALLED: the guest never started the container process; its log ends with:" >&2
    tail -3 "$1" >&2 2>/dev/null
    exit $VM_STALLED
}
