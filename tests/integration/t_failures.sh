# shellcheck shell=bash disable=SC2154  # out/err/rc are set by capture() in lib.sh
# Failures: bad configs and missing binaries fail cleanly with a useful
# message and leave nothing behind; a runtime killed mid-create can be
# cleaned up with delete --force.

# expect_clean_failure WHAT NEEDLE...: after a failed $rc/$err, check the
# exit code, the message, and that nothing is left.
expect_clean_failure() {
    local what=$1; shift
    assert_eq "$rc" 1 "exit code for $what (stderr: $err)"
    assert_contains_any "$err" "$@"
    local leaks; leaks=$(zit_leaks)
    [[ -z $leaks ]] || fail "left behind after $what: $leaks"
}

test_bad_config_fields() {
    local filter needles
    while IFS='|' read -r filter needles; do
        [[ -z $filter ]] && continue
        make_bundle "$TEST_TMP/b$RANDOM"
        cfg "$filter"
        local id; id=$(new_id)
        capture zrun create --bundle "$BUNDLE" "$id"
        # shellcheck disable=SC2086
        expect_clean_failure "[$filter]" $needles
        capture zrun state "$id"
        assert_ne "$rc" 0 "state after a failed create ($filter)"
    done <<'EOF'
.process.rlimits = [{type: "RLIMIT_FOO", soft: 1, hard: 1}]|RLIMIT_FOO
.linux.namespaces += [{type: "bogusns"}]|bogusns
.linux.seccomp = {defaultAction: "SCMP_ACT_FOO"}|SCMP_ACT_FOO
.root.path = "no-such-rootfs"|no-such-rootfs
.ociVersion = 5|ociVersion
.process.user.uid = "abc"|uid
.linux.sysctl = {"kernel.zit_bogus": "1"}|kernel.zit_bogus zit_bogus
.mounts += [{destination: "/zitm", type: "zitfs", source: "none"}]|zitfs /zitm
.linux.resources.cpu = {cpus: "999"}|cpuset.cpus
.linux.cgroupsPath = "/" + env.ZIT_PREFIX + "p/cgroup.procs/x"|cgroup.procs/x
EOF
}

# The init makes its network, mount, ipc and uts namespaces itself while
# zone makes the cgroups (runtime/create.c). When it cannot (here a seccomp
# filter fails unshare(2)), its reason is the error, not the broken sync
# channel, and nothing is left.
test_namespaces_fail_in_init() {
    runc_known "checks zone's own error text"
    make_bundle
    local id; id=$(new_id)
    capture "$HELPERS/nounshare" "$RUNTIME" --root "$TEST_ROOT" run --bundle "$BUNDLE" "$id"
    expect_clean_failure "run whose init cannot unshare" "unshare namespaces: operation not permitted"
    capture zrun state "$id"
    assert_ne "$rc" 0 "state after the failed run"
}

test_unknown_capability_is_a_warning() {
    # runc ignores capabilities it does not know (engines send new ones to
    # old kernels); a drop-in must too, and say so.
    make_bundle
    cfg '.process.capabilities.bounding += ["CAP_BOGUS"] | .process.capabilities.effective += ["CAP_BOGUS"]'
    set_args true
    local id; id=$(new_id)
    run_ctr "$id"
    assert_eq "$rc" 0 "run with an unknown capability; stderr: $err"
    assert_contains "$err" CAP_BOGUS "warning about the unknown capability"
}

test_invalid_json_and_missing_config() {
    make_bundle
    echo '{"ociVersion": "1.0.2", "process": ' > "$BUNDLE/config.json"
    local id; id=$(new_id)
    capture zrun create --bundle "$BUNDLE" "$id"
    expect_clean_failure "truncated config.json" config.json JSON json EOF
    rm "$BUNDLE/config.json"
    id=$(new_id)
    capture zrun create --bundle "$BUNDLE" "$id"
    expect_clean_failure "missing config.json" config.json "no such file"
}

test_missing_executable() {
    make_bundle
    set_args no-such-cmd-zit
    local id; id=$(new_id)
    run_ctr "$id"
    expect_clean_failure "a missing executable on PATH" "executable file not found in"
    set_args /no/such/binary
    id=$(new_id)
    run_ctr "$id"
    expect_clean_failure "a missing absolute executable" "no such file or directory"
    # not executable
    echo 'not a program' > "$BUNDLE/rootfs/bin/plain"
    chmod 644 "$BUNDLE/rootfs/bin/plain"
    set_args /bin/plain
    id=$(new_id)
    run_ctr "$id"
    expect_clean_failure "a non-executable file" "permission denied"
}

test_duplicate_id_refused() {
    make_bundle
    local id; id=$(new_id)
    create_ctr "$id"
    local pid; pid=$(ctr_pid "$id")
    capture zrun create --bundle "$BUNDLE" "$id"
    assert_eq "$rc" 1 "exit code of create with a used id"
    assert_contains "$err" "already exists" "error for a used id"
    assert_eq "$(ctr_pid "$id")" "$pid" "the first container is untouched"
    proc_alive "$pid" || fail "first container's init died"
}

test_invalid_id_refused() {
    make_bundle
    local bad
    for bad in "../escape" "a/b" "."; do
        capture zrun create --bundle "$BUNDLE" "$bad"
        assert_ne "$rc" 0 "create with id [$bad]"
        [[ ! -e $TEST_TMP/escape ]] || fail "id [$bad] escaped the state root"
    done
}

test_sigkill_runtime_mid_create() {
    make_bundle
    ln -s "$(command -v sleep)" "$TEST_TMP/sleeper"
    cfg '.hooks = {createRuntime: [{path: "/bin/sh",
                    args: ["sh", "-c", "touch \($t)/in-hook; exec \($t)/sleeper 30"]}]}' --arg t "$TEST_TMP"
    local id; id=$(new_id)
    zrun create --bundle "$BUNDLE" "$id" </dev/null >/dev/null 2>&1 &
    local rpid=$!
    wait_for 10 test -e "$TEST_TMP/in-hook" || fail "create never reached the hook"
    kill -KILL "$rpid"
    wait "$rpid" 2>/dev/null
    # the orphaned hook is ours to end
    local p
    for p in $(pgrep -f "^$TEST_TMP/sleeper"); do kill -KILL "$p"; done
    capture zrun delete --force "$id"
    assert_eq "$rc" 0 "delete --force after a killed create; stderr: $err"
    capture zrun state "$id"
    assert_ne "$rc" 0 "state after delete --force"
    local leaks; leaks=$(zit_leaks)
    [[ -z $leaks ]] || fail "left behind after a killed create and delete --force: $leaks"
}
