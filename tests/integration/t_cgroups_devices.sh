# shellcheck shell=bash disable=SC2154  # out/err/rc are set by capture() in lib.sh
# cgroups: linux.resources.devices enforced by the kernel: the v1 devices
# controller where the host mounts one, else (pure cgroup v2) the eBPF
# device program attached to the container's cgroup.
#
# The probe device is /dev/kmsg (c 1:11): present in every kernel, not in
# the runtime's default allow list, and opening it write-only needs no
# capability, so "Operation not permitted" there comes from the cgroup.
# The runtime appends its default rules (which allow /dev/null, c 1:3) after
# the spec's, as runc does; a deny of c 1:3 is therefore shown via update.

PROBE='echo x > /dev/null && echo null-w-ok
head -c 4 /dev/zero | wc -c | sed "s/^ */zero-r-/"
(: >> /kmsg-node) && echo kmsg-w-ok
exit 0'

# devices_bundle [DIR]: a bundle whose process runs PROBE, with a host-made
# node for c 1:11 in its root (the container itself may not mknod).
devices_bundle() {
    make_bundle "$@"
    mknod "$BUNDLE/rootfs/kmsg-node" c 1 11 || fail "mknod kmsg-node"
    set_args sh -c "$PROBE"
}

add_device_rule() { # ALLOW TYPE MAJOR MINOR ACCESS
    cfg '.linux.resources.devices += [{allow: $a, type: $t, major: $ma, minor: $mi, access: $acc}]' \
        --argjson a "$1" --arg t "$2" --argjson ma "$3" --argjson mi "$4" --arg acc "$5"
}

test_devices_default_rules() {
    devices_bundle
    local id; id=$(new_id)
    run_ctr "$id"
    assert_eq "$rc" 0 "probe exit code; stderr: $err"
    assert_contains "$out" "null-w-ok" "/dev/null writable with the default rules"
    assert_contains "$out" "zero-r-4" "/dev/zero readable with the default rules"
    assert_not_contains "$out" "kmsg-w-ok" "c 1:11 is outside the default allow list"
    assert_contains "$err" "Operation not permitted" "denial of c 1:11"
}

test_devices_allow_rule() {
    devices_bundle
    add_device_rule true c 1 11 w
    local id; id=$(new_id)
    run_ctr "$id"
    assert_contains "$out" "kmsg-w-ok" "c 1:11 w allowed by the spec; stderr: $err"
    assert_contains "$out" "null-w-ok" "/dev/null still writable"

    # read access only: opening for write stays denied
    devices_bundle "$TEST_TMP/bundle-r"
    add_device_rule true c 1 11 r
    id=$(new_id)
    run_ctr "$id"
    assert_not_contains "$out" "kmsg-w-ok" "c 1:11 allowed for read only"
    assert_contains "$err" "Operation not permitted" "write denial of c 1:11"
}

test_devices_deny_rule_over_allow_default() {
    devices_bundle
    # no deny-all first: the default stays allow, the rule is an exception
    cfg '.linux.resources.devices = []'
    add_device_rule false c 1 11 rwm
    local id; id=$(new_id)
    run_ctr "$id"
    assert_not_contains "$out" "kmsg-w-ok" "c 1:11 denied explicitly"
    assert_contains "$err" "Operation not permitted" "denial of c 1:11"
    assert_contains "$out" "null-w-ok" "/dev/null writable"
    assert_contains "$out" "zero-r-4" "/dev/zero readable"
}

test_devices_update_denies_null() {
    make_bundle
    local id; id=$(new_id)
    start_ctr "$id"
    expect_ok zrun exec "$id" sh -c 'echo x > /dev/null'
    echo '{"devices": [{"allow": false, "type": "c", "major": 1, "minor": 3, "access": "w"}]}' \
        > "$TEST_TMP/res.json"
    expect_ok zrun update --resources "$TEST_TMP/res.json" "$id"
    capture zrun exec "$id" sh -c 'echo x > /dev/null'
    assert_ne "$rc" 0 "write to /dev/null after denying c 1:3 w"
    assert_contains "$err" "Operation not permitted" "denial of /dev/null"
    expect_ok zrun exec "$id" cat /dev/null
    # updating again replaces the rules rather than piling up
    echo '{"devices": [{"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}]}' \
        > "$TEST_TMP/res.json"
    expect_ok zrun update --resources "$TEST_TMP/res.json" "$id"
    expect_ok zrun exec "$id" sh -c 'echo x > /dev/null'
}
