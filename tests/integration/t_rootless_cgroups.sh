# shellcheck shell=bash disable=SC2154  # out/err/rc are set by capture() in lib.sh
# Rootless cgroups (docs/rootless.md): zone run by an unprivileged user uses
# its delegated cgroup v2 subtree when it has one, otherwise runs without a
# cgroup (with a warning) and refuses resource limits it could not apply.
#
# Start run.sh from a shell inside a cgroup chowned to zitrootless (pure v2)
# to exercise delegation; on other hosts the no-delegation paths run.

RL_USER=zitrootless
RL_LIMITS_MSG="linux.resources: limits need a delegated cgroup when running rootless (see docs/rootless.md)"
RL_WARNING="running rootless without a delegated cgroup; not using cgroups"
MiB=$((1024 * 1024))

# rl_setup: the user (created here, removed at exit unless it existed), a
# private XDG_RUNTIME_DIR, and BUNDLE: busybox rootfs + `zone spec --rootless`
# written by the user.
rl_setup() {
    need_cmd runuser useradd userdel jq
    if ! id "$RL_USER" >/dev/null 2>&1; then
        useradd -m "$RL_USER" || fail "useradd $RL_USER"
        defer "userdel -r $RL_USER 2>/dev/null"
    fi
    RL_UID=$(id -u "$RL_USER")
    RL_DIR=$TEST_TMP/rl
    RL_XDG=$RL_DIR/xdg
    mkdir -p "$RL_XDG"
    chmod 755 "$TEST_TMP" "$RL_DIR"
    chmod 700 "$RL_XDG"
    BUNDLE=$RL_DIR/bundle
    "$ROOT_DIR/scripts/make-busybox-bundle.sh" "$BUNDLE" --rootless >/dev/null 2>&1 ||
        fail "make-busybox-bundle.sh $BUNDLE --rootless failed"
    rm -f "$BUNDLE/config.json"
    chown -R "$RL_USER" "$RL_DIR"
    # the user must be able to reach its files through $TEST_TMP's parents
    runuser -u "$RL_USER" -- test -x "$BUNDLE/rootfs/bin/busybox" ||
        skip "$RL_USER cannot reach $BUNDLE (a parent directory is not searchable)"
    (cd "$BUNDLE" && runuser -u "$RL_USER" -- "$RUNTIME" spec --rootless) ||
        fail "zone spec --rootless as $RL_USER failed"
    cfg '.process.terminal = false | .process.env += ["ZIT_MARK=" + $mark]' \
        --arg mark "$ZIT_PREFIX"
    chown "$RL_USER" "$BUNDLE/config.json"
    defer rl_cleanup
}

# rl_zone ARGS...: the runtime as the user, default state root
# ($XDG_RUNTIME_DIR/zone).
rl_zone() {
    runuser -u "$RL_USER" -- env XDG_RUNTIME_DIR="$RL_XDG" HOME="$RL_DIR" "$RUNTIME" "$@"
}

rl_cleanup() {
    local id
    [[ -f $TEST_TMP/ids ]] || return 0
    while read -r id; do rl_zone delete --force "$id" >/dev/null 2>&1; done < "$TEST_TMP/ids"
}

# rl_state_gone ID: nothing left in the user's state root for ID.
rl_state_gone() {
    [[ ! -e $RL_XDG/zone/$1 ]] || fail "state directory $RL_XDG/zone/$1 left behind"
}

# rl_delegated: the cgroup the user runs zone from is delegated to it (pure
# cgroup v2, cgroup.procs and cgroup.subtree_control owned by the user).
rl_own_cgroup() { runuser -u "$RL_USER" -- sh -c 'sed -n "s/^0:://p" /proc/self/cgroup'; }
rl_owned() { # DIR: delegated to the user
    [[ $(stat -c %u "$1/cgroup.procs" 2>/dev/null) == "$RL_UID" &&
       $(stat -c %u "$1/cgroup.subtree_control" 2>/dev/null) == "$RL_UID" ]]
}
rl_delegated() {
    [[ $(stat -fc %T /sys/fs/cgroup) == cgroup2fs ]] || return 1
    local own; own=$(rl_own_cgroup)
    rl_owned "/sys/fs/cgroup${own%/}"
}

# rl_run ID: `run` as the user in the foreground; a failure that is not
# about cgroups fails the test (rootless runs must work on every host).
rl_run() {
    capture rl_zone run --bundle "$BUNDLE" "$1"
    if [[ $rc != 0 && $err != *"cgroup"* && $err != *"linux.resources"* ]]; then
        fail "rootless run failed (not a cgroup problem): $err"
    fi
}

test_rootless_run_without_limits() {
    rl_setup
    cfg '.process.args = ["sh", "-c", "echo rootless-ok; id -u; cat /proc/self/cgroup"]'
    local id; id=$(new_id)
    rl_run "$id"
    assert_eq "$rc" 0 "exit status of a rootless run without limits; stderr: $err"
    assert_contains "$out" "rootless-ok"
    assert_eq "$(sed -n 2p <<<"$out")" 0 "uid inside the user namespace"
    if rl_delegated; then
        assert_not_contains "$err" "$RL_WARNING" "stderr with a delegated cgroup"
        local own; own=$(rl_own_cgroup)
        assert_contains "$out" "0::${own%/}/zone-$id" "the container's cgroup"
    else
        assert_contains "$err" "$RL_WARNING" "stderr without a delegated cgroup"
    fi
    rl_state_gone "$id"
}

test_rootless_default_device_rules_are_not_limits() {
    rl_setup
    cfg '.linux.resources = {devices: [{allow: false, access: "rwm"},
                                       {allow: true, type: "c", major: 1, minor: 3, access: "rwm"}]}
         | .process.args = ["true"]'
    local id; id=$(new_id)
    rl_run "$id"
    assert_eq "$rc" 0 "a catch-all deny plus allow rules are not limits; stderr: $err"
    assert_not_contains "$err" "$RL_LIMITS_MSG"
    rl_state_gone "$id"
}

test_rootless_memory_limit() {
    rl_setup
    cfg '.linux.resources = {memory: {limit: $l}} | .process.args = ["cat", "/sys/fs/cgroup/memory.max"]' \
        --argjson l $((32 * MiB))
    local id; id=$(new_id)
    rl_run "$id"
    if ! rl_delegated; then
        assert_ne "$rc" 0 "a memory limit without a delegated cgroup must be refused"
        assert_contains "$err" "$RL_LIMITS_MSG"
        rl_state_gone "$id"
        return 0
    fi
    local own parent; own=$(rl_own_cgroup); parent=$(dirname "$own")
    if rl_owned "/sys/fs/cgroup$parent"; then
        # zone's own cgroup holds processes (zone itself) but its parent is
        # delegated: the container goes beside it, where limits apply
        assert_eq "$rc" 0 "memory limit beside zone's delegated cgroup; stderr: $err"
        assert_eq "$out" $((32 * MiB)) "memory.max of the container's cgroup"
        rl_state_gone "$id"
    else
        # the kernel will not enable controllers below a cgroup that holds
        # processes, and there is nowhere else: refused with the message
        assert_ne "$rc" 0 "memory limit below a cgroup that holds processes"
        assert_contains "$err" "$RL_LIMITS_MSG"
        rl_state_gone "$id"
        skip "the parent of $own is not delegated to $RL_USER; cannot check applied limits"
    fi

    # An absolute cgroupsPath next to our cgroup, in a delegated parent
    # without processes: the limit is applied.
    cfg '.linux.cgroupsPath = $p' --arg p "${parent%/}/$ZIT_PREFIX-mem"
    id=$(new_id)
    rl_run "$id"
    assert_eq "$rc" 0 "memory limit in a delegated cgroup; stderr: $err"
    assert_eq "$out" $((32 * MiB)) "memory.max of the container's cgroup"
    [[ ! -e /sys/fs/cgroup${parent%/}/$ZIT_PREFIX-mem ]] || fail "cgroup left behind"
    rl_state_gone "$id"
}

test_rootless_pause() {
    rl_setup
    cfg '.process.args = ["sleep", "1000"]'
    local id; id=$(new_id)
    capture rl_zone run --detach --bundle "$BUNDLE" "$id"
    if [[ $rc != 0 ]]; then
        fail "rootless run --detach: $err"
    fi
    capture rl_zone pause "$id"
    if rl_delegated; then
        assert_eq "$rc" 0 "pause with a delegated cgroup; stderr: $err"
        assert_eq "$(rl_zone state "$id" | jq -r .status)" paused "status after pause"
        expect_ok rl_zone resume "$id"
        assert_eq "$(rl_zone state "$id" | jq -r .status)" running "status after resume"
    else
        assert_ne "$rc" 0 "pause without a cgroup"
        assert_contains "$err" "has no cgroup (rootless without delegation"
    fi
    expect_ok rl_zone delete --force "$id"
    rl_state_gone "$id"
}

# A delegated subtree made here (what systemd's Delegate=yes gives a user):
# <deleg> owned by the user, zone started from <deleg>/shell. The container
# goes beside zone's cgroup, gets controllers, and its limits apply.
test_rootless_limits_in_a_delegated_subtree() {
    [[ $(stat -fc %T /sys/fs/cgroup) == cgroup2fs ]] ||
        skip "needs a pure cgroup v2 host (delegation is a cgroup v2 feature; make check-v2 runs this)"
    rl_setup
    local deleg=/sys/fs/cgroup/$ZIT_PREFIX-deleg c
    for c in memory pids; do
        grep -qw "$c" /sys/fs/cgroup/cgroup.controllers || skip "no $c controller at the cgroup v2 root"
        echo "+$c" > /sys/fs/cgroup/cgroup.subtree_control || fail "cannot enable $c at the root"
    done
    mkdir "$deleg" "$deleg/shell" || fail "mkdir $deleg"
    defer "rmdir $deleg/shell $deleg"
    chown "$RL_USER" "$deleg" "$deleg/cgroup.procs" "$deleg/cgroup.subtree_control" \
        "$deleg/cgroup.threads" "$deleg/shell" "$deleg/shell/cgroup.procs"
    cfg '.linux.resources = {memory: {limit: $l}, pids: {limit: 50}}
         | .process.args = ["sh", "-c", "cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max"]' \
        --argjson l $((32 * MiB))
    local id; id=$(new_id)
    capture sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' sh "$deleg/shell" \
        runuser -u "$RL_USER" -- env XDG_RUNTIME_DIR="$RL_XDG" HOME="$RL_DIR" \
        "$RUNTIME" run --bundle "$BUNDLE" "$id"
    assert_eq "$rc" 0 "limits in a delegated subtree; stderr: $err"
    assert_eq "$out" "$((32 * MiB))"$'\n'"50" "memory.max and pids.max of the container's cgroup"
    assert_not_contains "$err" "$RL_WARNING" "stderr with a delegated cgroup"
    [[ ! -e $deleg/zone-$id ]] || fail "cgroup $deleg/zone-$id left behind"
    rl_state_gone "$id"
}
