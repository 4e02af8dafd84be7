# shellcheck shell=bash
# VM mode without a working KVM (this host): `zone --vm run`, the
# run.oci.handler=vm annotation and the zone-vm name fail at create with a
# message naming /dev/kvm and leave nothing behind (run.sh checks mounts,
# cgroups, state dirs and processes); bad run.oci.vm.* annotations are
# named. The VM itself is tested in tests/vm/t_runtime*.sh.

# no_kvm CMD...: CMD in a mount namespace where /dev/kvm is absent or is
# /dev/null (a node that is not KVM), as on a host without KVM.
no_kvm() {
    unshare -m sh -c '[ -e /dev/kvm ] && { mount --bind /dev/null /dev/kvm || exit 99; }; exec "$@"' sh "$@"
}

expect_kvm_error() { # what
    [[ $rc != 0 ]] || fail "$1: VM mode without KVM succeeded"
    [[ $rc != 99 ]] || skip "cannot hide /dev/kvm (mount --bind failed)"
    assert_contains "$err" "/dev/kvm" "$1: error"
}

test_vm_flag_without_kvm() {
    need_cmd unshare
    make_bundle
    set_args echo should-not-run
    local id; id=$(new_id)
    capture no_kvm "$RUNTIME" --root "$TEST_ROOT" --vm run --bundle "$BUNDLE" "$id"
    expect_kvm_error "zone --vm run"
    assert_not_contains "$out" "should-not-run"
    capture zrun state "$id"
    [[ $rc != 0 ]] || fail "a state dir was left for $id"
    [[ -z $(ls -A "$TEST_ROOT" 2>/dev/null) ]] || fail "the state root is not empty: $(ls -A "$TEST_ROOT")"
}

test_vm_annotation_and_name_without_kvm() {
    need_cmd unshare
    make_bundle
    set_args echo should-not-run
    cfg '.annotations["run.oci.handler"] = "vm"'
    local id; id=$(new_id)
    capture no_kvm "$RUNTIME" --root "$TEST_ROOT" create --bundle "$BUNDLE" "$id"
    expect_kvm_error "create with run.oci.handler=vm"
    capture zrun state "$id"
    [[ $rc != 0 ]] || fail "a state dir was left for $id"

    [[ -x $(dirname "$RUNTIME")/zone-vm ]] || skip "no zone-vm next to $RUNTIME"
    make_bundle "$TEST_TMP/bundle2"
    set_args echo should-not-run
    id=$(new_id)
    capture no_kvm "$(dirname "$RUNTIME")/zone-vm" --root "$TEST_ROOT" run --bundle "$BUNDLE" "$id"
    expect_kvm_error "zone-vm run"
    [[ -z $(ls -A "$TEST_ROOT" 2>/dev/null) ]] || fail "the state root is not empty: $(ls -A "$TEST_ROOT")"
}

test_vm_bad_annotations() {
    make_bundle
    local id
    cfg '.annotations["run.oci.vm.cpus"] = "many"'
    id=$(new_id)
    capture zrun --vm create --bundle "$BUNDLE" "$id"
    [[ $rc != 0 ]] || fail "run.oci.vm.cpus=many accepted"
    assert_contains "$err" "run.oci.vm.cpus"
    cfg 'del(.annotations["run.oci.vm.cpus"]) | .annotations["run.oci.vm.memory"] = "12X"'
    id=$(new_id)
    capture zrun --vm create --bundle "$BUNDLE" "$id"
    [[ $rc != 0 ]] || fail "run.oci.vm.memory=12X accepted"
    assert_contains "$err" "run.oci.vm.memory"
    cfg 'del(.annotations["run.oci.vm.memory"]) | .linux.resources.memory.limit = 67108864'
    id=$(new_id)
    capture zrun --vm create --bundle "$BUNDLE" "$id"
    [[ $rc != 0 ]] || fail "a 64 MiB memory limit accepted for a VM"
    assert_contains "$err" "memory.limit"
    cfg 'del(.linux.resources.memory) | .annotations["run.oci.vm.debug"] = "yes"'
    id=$(new_id)
    capture zrun --vm create --bundle "$BUNDLE" "$id"
    [[ $rc != 0 ]] || fail "run.oci.vm.debug=yes accepted"
    assert_contains "$err" "run.oci.vm.debug"
    [[ -z $(ls -A "$TEST_ROOT" 2>/dev/null) ]] || fail "the state root is not empty: $(ls -A "$TEST_ROOT")"
}

# A SCMP_ACT_NOTIFY listener cannot be handed across the VM boundary (the
# agent loads the filter in the guest): refused at create, nothing left.
test_vm_seccomp_notify_refused() {
    make_bundle
    cfg '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", listenerPath: "/run/zit-no-listener.sock",
                           syscalls: [{names: ["mkdir"], action: "SCMP_ACT_NOTIFY"}]}'
    local id; id=$(new_id)
    capture zrun --vm create --bundle "$BUNDLE" "$id"
    [[ $rc != 0 ]] || fail "SCMP_ACT_NOTIFY accepted in VM mode"
    assert_contains "$err" "linux.seccomp: SCMP_ACT_NOTIFY is not supported in VM mode"
    [[ -z $(ls -A "$TEST_ROOT" 2>/dev/null) ]] || fail "the state root is not empty: $(ls -A "$TEST_ROOT")"
}
