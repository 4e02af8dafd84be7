#!/bin/bash
# Runs the VM tests (tests/vm/t_*.sh, or the names given), each attempt in
# a kvm-host.sh QEMU guest of its own, which provides a working /dev/kvm.
#   bash tests/vm/run.sh [NAME...]      e.g. bash tests/vm/run.sh boot
#
# The test guest has one vCPU (--smp 1). With two, nested guests started by
# create/start stalled early in boot in 7 of 8 tries on 2026-11-24; with
# one, 10 of 11 booted, and the eleventh hung the whole test guest (docs/vm.md,
# "Nested boots that stall"). Hence a fresh test guest per attempt, with a
# time limit of its own: a hang costs one attempt, not the run.
#
# An attempt has stalled when the test exits 75 (lib.sh: the nested guest
# made no progress while its monitor ran) or when the test guest itself
# stopped answering (kvm-host.sh timed out). A test whose attempts all
# stalled, VM_TEST_STALL_ATTEMPTS (5) of them, is skipped, saying so; any
# other failure fails it after VM_TEST_ATTEMPTS attempts.
# Environment: KVM_HOST (path of kvm-host.sh), VM_TEST_TIMEOUT (seconds per
# attempt inside the test guest, default 150), VM_TEST_ATTEMPTS (default 2),
# VM_TEST_STALL_ATTEMPTS (default 5), VM_TEST_VERBOSE.
set -u
cd "$(dirname "$0")/../.."
root=$PWD
timeout_s=${VM_TEST_TIMEOUT:-150}

if [ -n "${ZONE_VM_INSIDE:-}" ]; then
    # inside the test guest: one attempt of one test
    [ -w /dev/kvm ] || { echo "check-vm: no usable /dev/kvm in the test guest" >&2; exit 1; }
    rc=0
    timeout -k 5 "$timeout_s" bash "tests/vm/t_$1.sh" || rc=$?
    exit $rc
fi

host=${KVM_HOST:-$root/../shared/tools/kvm-host.sh}
[ -r "$host" ] || { echo "check-vm: $host not found" >&2; exit 1; }
[ -x build/vmm-boot ] || { echo "check-vm: build/vmm-boot missing (make build/vmm-boot)" >&2; exit 1; }
if [ $# -gt 0 ]; then
    names=("$@")
else
    names=(); for t in tests/vm/t_*.sh; do n=$(basename "$t" .sh); names+=("${n#t_}"); done
fi
for n in "${names[@]}"; do
    [ -r "tests/vm/t_$n.sh" ] || { echo "check-vm: no test tests/vm/t_$n.sh" >&2; exit 1; }
done

pass=0 fail=0 skip=0
for name in "${names[@]}"; do
    result=fail
    attempts=${VM_TEST_ATTEMPTS:-2} stalls=0 attempt=0
    while [ $attempt -lt $attempts ]; do
        attempt=$((attempt + 1))
        log=$(mktemp /tmp/zone-vm-test.XXXXXX)
        start=$(date +%s.%N)
        rc=0
        # the guest's limit covers its own start (~6 s) and the test's
        bash "$host" --smp 1 --share "$root" --timeout $((timeout_s + 60)) \
            --env ZONE_VM_INSIDE=1 --env VM_TEST_TIMEOUT="$timeout_s" \
            -- bash "$root/tests/vm/run.sh" "$name" >"$log" 2>&1 || rc=$?
        secs=$(echo "$(date +%s.%N) - $start" | bc 2>/dev/null || echo "?")
        case $rc in
        0) result=pass ;;
        77) result=skip ;;
        125) echo "check-vm: the kvm-host guest could not be started (exit 125)" >&2 ;;
        esac
        if [ $rc -eq 75 ] || { [ $rc -eq 124 ] && grep -q '^kvm-host: timed out' "$log"; }; then
            # the nested guest, or the test guest around it, stopped making
            # progress: more tries, and a skip (not a pass) when every one
            # stalled
            stalls=$((stalls + 1))
            if [ $rc -eq 75 ]; then
                grep -h '^STALLED' "$log" | sed "s/^/    attempt $attempt: /"
            else
                echo "    attempt $attempt: STALLED: the test guest stopped answering; it was stopped after $((timeout_s + 60))s"
            fi
            rm -f "$log"
            if [ $stalls -eq $attempt ] && [ $attempt -ge ${VM_TEST_STALL_ATTEMPTS:-5} ]; then
                echo "SKIP: $name: the nested guest stalled in all $attempt attempts (this host's emulation; docs/vm.md)"
                result=skip
                echo "vm test $name: skip"
                break
            fi
            [ $attempts -lt ${VM_TEST_STALL_ATTEMPTS:-5} ] && attempts=$((attempts + 1))
            continue
        fi
        if [ $result != fail ]; then
            [ -n "${VM_TEST_VERBOSE:-}" ] && cat "$log"
            grep -h '^SKIP' "$log" || true
            echo "vm test $name: $result (attempt $attempt, ${secs}s)"
            rm -f "$log"
            break
        fi
        echo "vm test $name: attempt $attempt failed (exit $rc after ${secs}s); output:"
        tail -n 40 "$log" | sed 's/^/    /'
        rm -f "$log"
    done
    case $result in pass) pass=$((pass + 1)) ;; skip) skip=$((skip + 1)) ;; *) fail=$((fail + 1)) ;; esac
done
echo "vm tests: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
