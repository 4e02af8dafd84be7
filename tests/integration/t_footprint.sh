# shellcheck shell=bash disable=SC2154  # out/err/rc are set by capture() in lib.sh
# zone's start-up footprint (docs/performance.md): every runtime command and
# the init it clones pay for each shared object ld.so maps, so the runtime
# binary is a static PIE; libsystemd is dlopen'ed by the systemd cgroup
# driver, the image libraries live in zone-dev. And what the trimmed paths
# must keep doing (`run` reuses its parsed config for the hooks).

test_runtime_is_static_pie() {
    need_cmd readelf
    [[ $(runtime_name) == zone ]] || skip "checks zone's own binary"
    local needed
    needed=$(readelf -d "$RUNTIME" | awk '/\(NEEDED\)/ {print $NF}')
    [[ -z $needed ]] || fail "$(basename "$RUNTIME") loads shared objects at start-up: $(echo $needed)"
    readelf -h "$RUNTIME" | grep -q 'Type:.*DYN' ||
        fail "$(basename "$RUNTIME") is not position-independent (no ASLR for the runtime)"
    readelf -l "$RUNTIME" | grep -q INTERP && fail "$(basename "$RUNTIME") still asks for ld.so"
    return 0
}

test_systemd_library_loaded_on_demand() {
    # A command that does not use the systemd driver never maps libsystemd.
    [[ $(runtime_name) == zone ]] || skip "checks zone's own binary"
    need_cmd strace
    capture strace -f -e trace=openat -o "$TEST_TMP/trace" "$RUNTIME" --root "$TEST_ROOT" list
    [[ $rc == 0 ]] || fail "list failed: $err"
    assert_not_contains "$(cat "$TEST_TMP/trace")" libsystemd "libsystemd opened by list"
}

test_run_hooks_from_parsed_config() {
    # `run` hands the config it parsed to start and delete instead of
    # re-reading config.json: poststart and poststop still run once each,
    # with the container's state, and `run` leaves nothing behind.
    make_bundle
    set_args true
    local log=$TEST_TMP/hooks.log
    : > "$log"
    cfg '.hooks = {poststart: [$ps], poststop: [$pst]}' \
        --argjson ps "$(jq -nc --arg l "$log" '{path: "/bin/sh", args: ["sh", "-c", "echo poststart $(cat) >> " + $l]}')" \
        --argjson pst "$(jq -nc --arg l "$log" '{path: "/bin/sh", args: ["sh", "-c", "echo poststop $(cat) >> " + $l]}')"
    local id; id=$(new_id)
    run_ctr "$id"
    [[ $rc == 0 ]] || fail "run failed ($rc): $err"
    assert_eq "$(awk '{print $1}' "$log" | tr '\n' ' ')" "poststart poststop " "hooks run by run"
    assert_eq "$(grep '^poststop ' "$log" | cut -d' ' -f2- | jq -r .id)" "$id" "poststop state.id"
    assert_eq "$(grep '^poststop ' "$log" | cut -d' ' -f2- | jq -r .status)" stopped "poststop state.status"
    capture zrun state "$id"
    [[ $rc != 0 ]] || fail "run left the container behind: $out"
}

test_root_seals_without_reexec() {
    # As root, zone points its own /proc/self/exe at a read-only view of
    # the binary in place (runtime/selfexe_remap.c) instead of executing
    # itself a second time; the container's init, a clone of it, starts
    # sealed too.
    [[ $(runtime_name) == zone ]] || skip "checks zone's own sealing"
    need_cmd strace python3
    make_bundle
    set_args true
    local id; id=$(new_id)
    capture strace -f -qq -e trace=execve,execveat -o "$TEST_TMP/trace" \
        "$RUNTIME" --debug --root "$TEST_ROOT" run --bundle "$BUNDLE" "$id"
    [[ $rc == 0 ]] || fail "run failed ($rc): $err"
    if grep -q "sealing without re-exec:" <<<"$err"; then
        skip "this kernel cannot swap the exe in place: $(grep -o 'sealing without re-exec:.*' <<<"$err")"
    fi
    assert_eq "$(grep -c 'execveat(' "$TEST_TMP/trace")" 0 "re-execs of zone: $(cat "$TEST_TMP/trace")"

    set_args sleep 1000
    id=$(new_id)
    "$RUNTIME" --root "$TEST_ROOT" run --bundle "$BUNDLE" "$id" </dev/null >/dev/null 2>&1 &
    local zpid=$!
    defer "zrun delete --force $id >/dev/null 2>&1; wait $zpid"
    wait_for 10 zrun state "$id" >/dev/null 2>&1 || fail "container did not start"
    python3 - "$zpid" <<'PY' || fail "the runtime's /proc/PID/exe is writable"
import os, sys
sys.exit(0 if os.statvfs("/proc/%s/exe" % sys.argv[1]).f_flag & os.ST_RDONLY else 1)
PY
}
