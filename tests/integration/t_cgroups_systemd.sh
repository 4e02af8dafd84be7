# shellcheck shell=bash disable=SC2154  # out/err/rc are set by capture() in lib.sh
# The systemd cgroup driver (--systemd-cgroup) against a fake systemd
# manager (fake_systemd.c) on a private dbus-daemon: this host runs no
# systemd, so ZONE_SYSTEMD_RUNTIME_DIR stands in for /run/systemd/system
# and DBUS_SYSTEM_BUS_ADDRESS points at the private bus.

MiB=$((1024 * 1024))

# sd_setup: builds the fake, starts the bus and the fake; sets SD_LOG.
sd_setup() {
    is_runc && skip "needs zone's ZONE_SYSTEMD_RUNTIME_DIR"
    need_cmd dbus-daemon gcc pkg-config
    pkg-config --exists libsystemd || skip "libsystemd-dev not installed"
    gcc -std=gnu11 -O2 -Wall -Wextra -Werror -Wno-unused-parameter \
        -o "$TEST_TMP/fake_systemd" "$ZIT_LIB_DIR/fake_systemd.c" \
        $(pkg-config --cflags --libs libsystemd) || fail "building fake_systemd failed"
    cat > "$TEST_TMP/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>custom</type>
  <listen>unix:path=$TEST_TMP/bus.sock</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
EOF
    dbus-daemon --config-file="$TEST_TMP/bus.conf" --nofork --nopidfile \
        >"$TEST_TMP/bus.out" 2>&1 &
    local bus_pid=$!
    defer "kill $bus_pid; wait $bus_pid"
    wait_for 5 test -S "$TEST_TMP/bus.sock" || fail "dbus-daemon did not start: $(cat "$TEST_TMP/bus.out")"
    export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$TEST_TMP/bus.sock"
    SD_LOG=$TEST_TMP/systemd.log
    "$TEST_TMP/fake_systemd" "$SD_LOG" 2>"$TEST_TMP/fake.err" &
    local fake_pid=$!
    defer "kill $fake_pid; wait $fake_pid"
    wait_for 5 grep -qx ready "$SD_LOG" || fail "fake systemd did not start: $(cat "$TEST_TMP/fake.err")"
    mkdir -p "$TEST_TMP/run-systemd-system"
    export ZONE_SYSTEMD_RUNTIME_DIR=$TEST_TMP/run-systemd-system
    # system.slice is made when missing (systemd would have it): remove it
    # afterwards where this test made it.
    local d
    for d in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
        [[ -f $d/cgroup.procs && ! -d $d/system.slice ]] &&
            defer "rmdir '$d/system.slice'"
    done
}

test_systemd_scope_with_limit() {
    sd_setup
    make_bundle
    local id; id=$(new_id)
    local unit="zone-${id}.scope"
    cfg '.linux.cgroupsPath = $p | .linux.resources.memory = {limit: $l}' \
        --arg p "system.slice:zone:$id" --argjson l $((64 * MiB))
    zrun --systemd-cgroup run --detach --bundle "$BUNDLE" "$id" </dev/null \
        >"$TEST_TMP/out" 2>"$TEST_TMP/err" || fail "run: $(cat "$TEST_TMP/err")"
    local pid; pid=$(ctr_pid "$id")
    local mem; mem=$(cgroup_dir "$pid" memory)
    assert_match "$mem" "/system\.slice/$unit\$" "memory cgroup of the init"
    if [[ -f $mem/memory.max ]]; then
        assert_eq "$(cat "$mem/memory.max")" $((64 * MiB)) "memory.max"
    else
        assert_eq "$(cat "$mem/memory.limit_in_bytes")" $((64 * MiB)) "memory.limit_in_bytes"
    fi
    local log; log=$(cat "$SD_LOG")
    assert_contains "$log" "Start $unit replace" "fake systemd log"
    assert_contains "$log" "prop Slice=system.slice" "fake systemd log"
    assert_contains "$log" "prop Delegate=true" "fake systemd log"
    assert_contains "$log" "prop PIDs=$pid" "fake systemd log"
    assert_contains "$log" "prop Description=" "fake systemd log"
    assert_contains_any "$log" "prop MemoryLimit=$((64 * MiB))" "prop MemoryMax=$((64 * MiB))"
    expect_ok zrun delete --force "$id"
    assert_contains "$(cat "$SD_LOG")" "Stop $unit replace" "fake systemd log after delete"
    [[ -d $mem ]] && fail "$mem is left after delete"
    local left; left=$(find /sys/fs/cgroup -mindepth 2 -maxdepth 3 -type d -name "$unit")
    assert_eq "$left" "" "scope directories after delete"
}

test_systemd_start_failure_names_unit() {
    sd_setup
    make_bundle
    local id; id=$(new_id)
    cfg '.linux.cgroupsPath = $p' --arg p "system.slice:zone:$id"
    zrun --systemd-cgroup run --detach --bundle "$BUNDLE" "$id" </dev/null \
        >/dev/null 2>&1 || fail "first run failed"
    # a second container claiming the same unit: systemd says UnitExists
    local id2; id2=$(new_id)
    capture zrun --systemd-cgroup run --detach --bundle "$BUNDLE" "$id2"
    assert_ne "$rc" 0 "exit code of a run whose unit exists"
    assert_contains "$err" "zone-$id.scope" "error"
    expect_ok zrun delete --force "$id"
}

test_systemd_not_running() {
    is_runc && skip "needs zone's ZONE_SYSTEMD_RUNTIME_DIR"
    make_bundle
    local id; id=$(new_id)
    cfg '.linux.cgroupsPath = $p' --arg p "system.slice:zone:$id"
    ZONE_SYSTEMD_RUNTIME_DIR=$TEST_TMP/absent capture zrun --systemd-cgroup run --detach --bundle "$BUNDLE" "$id"
    assert_ne "$rc" 0 "exit code without systemd"
    assert_contains "$err" "systemd is not running"
}
