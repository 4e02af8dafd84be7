# shellcheck shell=bash disable=SC2154  # out/err/rc are set by capture() in lib.sh
# zone's start-up footprint (docs/performance.md): every runtime command pays
# for each shared object ld.so maps, so the runtime binary loads libc only;
# libsystemd is dlopen'ed by the systemd cgroup driver, the image libraries
# live in zone-dev. And what the trimmed paths must keep doing (`run`
# reuses its parsed config for the hooks).

test_runtime_links_only_libc() {
    need_cmd ldd
    [[ $(runtime_name) == zone ]] || skip "checks zone's own binary"
    local libs
    libs=$(ldd "$RUNTIME" | awk '{print $1}' | grep -vE '^(linux-vdso\.so|/lib64/ld-linux|libc\.so)' || true)
    [[ -z $libs ]] || fail "$(basename "$RUNTIME") loads more than libc at start-up: $(echo $libs)"
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
