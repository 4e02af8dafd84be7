# shellcheck shell=bash disable=SC2154  # out/err/rc are set by capture() in lib.sh
# OCI hooks: order, state on stdin, env, args, timeout, failure cleanup.

# hook_entry NAME SCRIPT LOG: a hook running "sh SCRIPT NAME LOG".
hook_entry() {
    jq -nc --arg n "$1" --arg s "$2" --arg l "$3" \
        '{path: "/bin/sh", args: ["sh", $s, $n, $l], env: ["HOOKVAR=var-" + $n]}'
}

setup_logging_hooks() {
    mkdir -p "$TEST_TMP/hookdir"
    : > "$TEST_TMP/hookdir/log"
    cat > "$TEST_TMP/hookdir/hook.sh" <<'EOF'
name=$1; log=$2
state=$(cat)
printf '%s %s %s %s\n' "$name" "$HOOKVAR" "$0" "$state" >> "$log"
EOF
    cp "$TEST_TMP/hookdir/hook.sh" "$BUNDLE/rootfs/hook.sh"
    add_mount /hookdir bind "$TEST_TMP/hookdir" rbind rw
    local host_log=$TEST_TMP/hookdir/log host_script=$TEST_TMP/hookdir/hook.sh
    cfg '.hooks = {
        prestart: [$pre], createRuntime: [$cr], createContainer: [$cc],
        startContainer: [$sc], poststart: [$ps], poststop: [$pst]}' \
        --argjson pre "$(hook_entry prestart "$host_script" "$host_log")" \
        --argjson cr "$(hook_entry createRuntime "$host_script" "$host_log")" \
        --argjson cc "$(hook_entry createContainer "$host_script" "$host_log")" \
        --argjson sc "$(hook_entry startContainer /hook.sh /hookdir/log)" \
        --argjson ps "$(hook_entry poststart "$host_script" "$host_log")" \
        --argjson pst "$(hook_entry poststop "$host_script" "$host_log")"
}

hook_names() { awk '{print $1}' "$TEST_TMP/hookdir/log" | tr '\n' ' ' | sed 's/ $//'; }
hook_state() { grep "^$1 " "$TEST_TMP/hookdir/log" | head -1 | cut -d' ' -f4-; }

# create_start_stop_delete ID: walk $BUNDLE through its whole life.
create_start_stop_delete() {
    local id=$1
    create_ctr "$id"
    CREATE_HOOKS=$(hook_names)
    HOOK_PID=$(ctr_pid "$id")
    expect_ok zrun start "$id"
    wait_for 5 grep -q '^poststart ' "$TEST_TMP/hookdir/log" || fail "poststart did not run: $(hook_names)"
    START_HOOKS=$(hook_names)
    expect_ok zrun kill "$id" KILL
    wait_status "$id" stopped
    expect_ok zrun delete "$id"
}

test_hooks_order() {
    runc_known "runc 1.1 runs poststart hooks during create"
    make_bundle
    setup_logging_hooks
    local id; id=$(new_id)
    create_start_stop_delete "$id"
    assert_eq "$CREATE_HOOKS" "prestart createRuntime createContainer" "hooks run by create"
    assert_eq "$START_HOOKS" "prestart createRuntime createContainer startContainer poststart" "hooks after start"
    assert_eq "$(hook_names)" "prestart createRuntime createContainer startContainer poststart poststop" "all hooks"
}

test_hooks_state_env_args() {
    make_bundle
    setup_logging_hooks
    local id; id=$(new_id)
    create_start_stop_delete "$id"
    assert_eq "$(hook_names | tr ' ' '\n' | sort | tr '\n' ' ')" \
        "createContainer createRuntime poststart poststop prestart startContainer " "hooks that ran once each"
    local h st
    for h in prestart createRuntime createContainer startContainer poststart poststop; do
        st=$(hook_state "$h")
        jq -e . >/dev/null <<<"$st" || fail "$h hook got no JSON state on stdin: [$st]"
        assert_eq "$(jq -r .id <<<"$st")" "$id" "$h state.id"
        assert_eq "$(jq -r .bundle <<<"$st")" "$BUNDLE" "$h state.bundle"
        assert_match "$(jq -r .ociVersion <<<"$st")" '^1\.' "$h state.ociVersion"
        local script=$TEST_TMP/hookdir/hook.sh
        [[ $h == startContainer ]] && script=/hook.sh
        # $0 of "sh SCRIPT NAME LOG" is SCRIPT: args[1..] reached the hook
        assert_eq "$(grep "^$h " "$TEST_TMP/hookdir/log" | head -1 | cut -d' ' -f2,3)" "var-$h $script" "$h env and args"
    done
    for h in prestart createRuntime poststart; do
        assert_eq "$(jq -r .pid <<<"$(hook_state "$h")")" "$HOOK_PID" "$h state.pid"
    done
    assert_eq "$(jq -r .status <<<"$(hook_state startContainer)")" created "startContainer state.status"
    assert_eq "$(jq -r .status <<<"$(hook_state poststop)")" stopped "poststop state.status"
}

test_hooks_in_container_see_container_pid() {
    # runtime-spec: hooks run in the container namespace get the pid as
    # seen from the container, i.e. 1 with a new pid namespace.
    make_bundle
    setup_logging_hooks
    local id; id=$(new_id)
    create_start_stop_delete "$id"
    local h
    for h in createContainer startContainer; do
        assert_eq "$(jq -r .pid <<<"$(hook_state "$h")")" 1 "$h state.pid (the container's view)"
    done
}

test_hooks_run_with_run() {
    runc_known "runc 1.1 runs poststart hooks during create"
    make_bundle
    setup_logging_hooks
    set_args true
    local id; id=$(new_id)
    run_ctr "$id"
    assert_eq "$rc" 0 "exit code; stderr: $err"
    assert_eq "$(hook_names)" "prestart createRuntime createContainer startContainer poststart poststop" "hooks of run"
}

test_hook_timeout_fails_create() {
    make_bundle
    ln -s "$(command -v sleep)" "$TEST_TMP/sleeper"
    cfg '.hooks = {createRuntime: [{path: $p, args: [$p, "30"], timeout: 1}]}' --arg p "$TEST_TMP/sleeper"
    local id; id=$(new_id)
    local t0=$SECONDS
    capture zrun create --bundle "$BUNDLE" "$id"
    assert_ne "$rc" 0 "create with a hook that times out"
    (( SECONDS - t0 < 10 )) || fail "create took $((SECONDS - t0))s although the hook timeout is 1s"
    assert_contains_any "$err" "timed out" "timeout" "timed-out"
    # the hook process was killed and the container is gone
    wait_for 5 test -z "$(pgrep -f "^$TEST_TMP/sleeper")" || fail "hook still running"
    capture zrun state "$id"
    assert_ne "$rc" 0 "state of a container whose create failed"
}

test_failing_prestart_leaves_nothing() {
    make_bundle
    cfg '.hooks = {prestart: [{path: "/bin/sh", args: ["sh", "-c", "echo hook-says-no >&2; exit 3"]}]}'
    local id; id=$(new_id)
    capture zrun create --bundle "$BUNDLE" "$id"
    assert_ne "$rc" 0 "create with a failing prestart hook"
    capture zrun state "$id"
    assert_ne "$rc" 0 "state after a failed create"
    [[ ! -e $TEST_ROOT/$id ]] || fail "state dir left: $(ls -la "$TEST_ROOT/$id")"
    local leaks; leaks=$(zit_leaks)
    [[ -z $leaks ]] || fail "left behind by a failed create (before delete): $leaks"

    # run fails the same way
    id=$(new_id)
    run_ctr "$id"
    assert_ne "$rc" 0 "run with a failing prestart hook"
    leaks=$(zit_leaks)
    [[ -z $leaks ]] || fail "left behind by a failed run: $leaks"
}
