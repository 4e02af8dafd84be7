# shellcheck shell=bash disable=SC2154  # out/err/rc are set by capture() in lib.sh
# Lifecycle: create/start/state/kill/delete/run/list and their exit codes.

test_create_blocks_until_start() {
    make_bundle
    set_args sh -c 'echo ran > /ran; exec sleep 1000'
    local id; id=$(new_id)
    create_ctr "$id"
    expect_ok zrun state "$id"
    assert_eq "$(jq -r .status <<<"$out")" created "status after create"
    local pid; pid=$(jq -r .pid <<<"$out")
    [[ $pid =~ ^[0-9]+$ && $pid -gt 1 ]] || fail "bad pid [$pid] in state"
    proc_alive "$pid" || fail "init pid $pid is not alive"
    sleep 0.3
    [[ ! -e $BUNDLE/rootfs/ran ]] || fail "user process ran before start"
    assert_ne "$(tr '\0' ' ' < "/proc/$pid/cmdline")" "sleep 1000 " "init cmdline before start"

    expect_ok zrun start "$id"
    wait_for 5 test -e "$BUNDLE/rootfs/ran" || fail "user process did not run after start"
    assert_eq "$(ctr_status "$id")" running "status after start"
    assert_eq "$(ctr_pid "$id")" "$pid" "pid after start"
    cmdline_is() { [[ $(tr '\0' ' ' < "/proc/$1/cmdline") == "$2" ]]; }
    wait_for 5 cmdline_is "$pid" 'sleep 1000 ' ||
        fail "pid $pid is not the user process after start"

    expect_ok zrun kill "$id" KILL
    wait_status "$id" stopped
    expect_ok zrun delete "$id"
    capture zrun state "$id"
    assert_ne "$rc" 0 "state after delete"
    [[ ! -e $TEST_ROOT/$id ]] || fail "state dir $TEST_ROOT/$id still exists after delete"
    wait_for 5 proc_gone "$pid" || fail "process $pid still alive after delete"
}

test_state_json_shape() {
    make_bundle
    local id; id=$(new_id)
    create_ctr "$id"
    expect_ok zrun state "$id"
    jq -e . >/dev/null <<<"$out" || fail "state is not JSON: $out"
    assert_eq "$(jq -r .id <<<"$out")" "$id" "state.id"
    assert_eq "$(jq -r .bundle <<<"$out")" "$BUNDLE" "state.bundle"
    assert_match "$(jq -r .ociVersion <<<"$out")" '^1\.[0-9]+\.[0-9]+' "state.ociVersion"
    assert_eq "$(jq -r '.pid | type' <<<"$out")" number "type of state.pid"
    assert_eq "$(jq -r .status <<<"$out")" created "state.status"
    assert_match "$(jq -r .created <<<"$out")" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+' "state.created"
}

test_process_exit_means_stopped() {
    make_bundle
    set_args sh -c 'exit 3'
    local id; id=$(new_id)
    create_ctr "$id"
    expect_ok zrun start "$id"
    wait_status "$id" stopped
    expect_ok zrun delete "$id"
    capture zrun state "$id"
    assert_eq "$rc" 1 "exit code of state on a deleted container"
}

test_run_foreground_exit_code_and_output() {
    make_bundle
    set_args sh -c 'echo hello from $(hostname); echo to-stderr >&2; exit 7'
    local id; id=$(new_id)
    run_ctr "$id"
    assert_eq "$rc" 7 "exit code of run"
    assert_contains "$out" "hello from" "stdout of run"
    assert_contains "$err" "to-stderr" "stderr of run"
    capture zrun state "$id"
    assert_ne "$rc" 0 "container must be deleted after a foreground run"

    # Killed by a signal: 128 + signal number.
    local id2; id2=$(new_id)
    set_args sleep 1000
    zrun run --bundle "$BUNDLE" "$id2" </dev/null >/dev/null 2>&1 &
    local runner=$!
    wait_for 5 status_is "$id2" running || fail "foreground run did not start"
    expect_ok zrun kill "$id2" KILL
    rc=0; wait "$runner" || rc=$?
    assert_eq "$rc" 137 "exit code of run when the process dies of SIGKILL"
}

test_run_detach_pid_file() {
    make_bundle
    local id; id=$(new_id)
    start_ctr "$id" --pid-file "$TEST_TMP/pidfile"
    local pid; pid=$(ctr_pid "$id")
    assert_eq "$(cat "$TEST_TMP/pidfile")" "$pid" "pid file content"
    assert_eq "$(ctr_status "$id")" running "status after run -d"
    grep -qzx "ZIT_MARK=$ZIT_PREFIX" "/proc/$pid/environ" || fail "pid $pid is not the container process"
    assert_eq "$(tr '\0' ' ' < "/proc/$pid/cmdline")" "sleep 1000 " "cmdline of container process"

    local id2; id2=$(new_id)
    create_ctr "$id2" --pid-file "$TEST_TMP/pidfile2"
    assert_eq "$(cat "$TEST_TMP/pidfile2")" "$(ctr_pid "$id2")" "pid file written by create"
}

test_list_formats() {
    make_bundle
    local a b; a=$(new_id a); b=$(new_id b)
    create_ctr "$a"
    start_ctr "$b"
    expect_ok zrun list
    local header; header=$(head -1 <<<"$out")
    assert_match "$header" '^ID +PID +STATUS +BUNDLE +CREATED +OWNER' "list header"
    assert_match "$(grep "^$a " <<<"$out")" "^$a +[0-9]+ +created +$BUNDLE " "list row of $a"
    assert_match "$(grep "^$b " <<<"$out")" "^$b +[0-9]+ +running +$BUNDLE " "list row of $b"

    expect_ok zrun list -q
    assert_eq "$(sort <<<"$out")" "$(printf '%s\n%s' "$a" "$b" | sort)" "list -q"

    expect_ok zrun list --format json
    assert_eq "$(jq -r 'map(.id) | sort | join(" ")' <<<"$out")" "$(printf '%s\n' "$a" "$b" | sort | tr '\n' ' ' | sed 's/ $//')" "ids in list json"
    assert_eq "$(jq -r --arg b "$b" '.[] | select(.id == $b) | .status' <<<"$out")" running "status in list json"
    assert_eq "$(jq -r --arg b "$b" '.[] | select(.id == $b) | .bundle' <<<"$out")" "$BUNDLE" "bundle in list json"
    assert_eq "$(jq -r --arg b "$b" '.[] | select(.id == $b) | .pid' <<<"$out")" "$(ctr_pid "$b")" "pid in list json"
    jq -e 'all(.[]; has("created") and has("owner"))' >/dev/null <<<"$out" || fail "list json lacks created/owner: $out"

    # An empty root lists nothing but the header / an empty array.
    expect_ok "$RUNTIME" --root "$TEST_TMP/empty-root" list -q
    assert_eq "$out" "" "list -q on an empty root"
}

test_kill_signal_names() {
    make_bundle
    local sig id ids=()
    for sig in KILL SIGKILL 9; do
        id=$(new_id k); ids+=("$id")
        start_ctr "$id"
        expect_ok zrun kill "$id" "$sig"
        wait_status "$id" stopped
    done
    # TERM reaches a handler the process installed (pid 1 ignores it otherwise).
    set_args sh -c 'trap "echo got-term > /sig; exit 0" TERM; while :; do sleep 0.1; done'
    id=$(new_id t)
    start_ctr "$id"
    sleep 0.3
    expect_ok zrun kill "$id" TERM
    wait_status "$id" stopped
    assert_eq "$(cat "$BUNDLE/rootfs/sig")" got-term "handler output"
    rm -f "$BUNDLE/rootfs/sig"
    # The default signal is SIGTERM.
    id=$(new_id d)
    start_ctr "$id"
    sleep 0.3
    expect_ok zrun kill "$id"
    wait_status "$id" stopped
    assert_eq "$(cat "$BUNDLE/rootfs/sig")" got-term "handler output for default signal"

    id=$(new_id b)
    start_ctr "$id"
    capture zrun kill "$id" NOTASIGNAL
    assert_ne "$rc" 0 "kill with a bogus signal"
    assert_eq "$(ctr_status "$id")" running "status after bogus kill"
}

test_kill_all() {
    make_bundle
    set_args sh -c "sleep 1001 & sleep 1002 & while :; do sleep 1; done"
    local id; id=$(new_id)
    start_ctr "$id"
    local pid; pid=$(ctr_pid "$id")
    children() { pgrep -f '^sleep 100[12]$' | while read -r p; do
        grep -qzx "ZIT_MARK=$ZIT_PREFIX" "/proc/$p/environ" 2>/dev/null && echo "$p"; done; }
    wait_for 5 test -n "$(children)" || fail "children did not start"
    # Plain TERM goes to init only, which has no handler and ignores it.
    expect_ok zrun kill "$id" TERM
    sleep 0.3
    assert_eq "$(children | wc -l)" 2 "children after plain kill TERM"
    # --all reaches every process of the container.
    expect_ok zrun kill --all "$id" TERM
    wait_for 5 test -z "$(children)" || fail "children survived kill --all: $(children)"
    proc_alive "$pid" || fail "init died although it ignores TERM"
}

test_delete_running() {
    make_bundle
    local id; id=$(new_id)
    start_ctr "$id"
    local pid; pid=$(ctr_pid "$id")
    capture zrun delete "$id"
    assert_ne "$rc" 0 "delete of a running container"
    assert_eq "$(ctr_status "$id")" running "status after refused delete"
    proc_alive "$pid" || fail "refused delete killed the process"
    expect_ok zrun delete --force "$id"
    capture zrun state "$id"
    assert_eq "$rc" 1 "state after delete --force"
    wait_for 5 proc_gone "$pid" || fail "process $pid survived delete --force"

    local id2; id2=$(new_id)
    create_ctr "$id2"
    pid=$(ctr_pid "$id2")
    expect_ok zrun delete --force "$id2"
    wait_for 5 proc_gone "$pid" || fail "init of created container survived delete --force"
}

test_delete_created_without_force() {
    make_bundle
    local id; id=$(new_id)
    create_ctr "$id"
    local pid; pid=$(ctr_pid "$id")
    expect_ok zrun delete "$id"
    wait_for 5 proc_gone "$pid" || fail "init survived delete of a created container"
}

test_concurrent_start_delete_serialised() {
    runc_known "runc 1.1 takes no lock across commands on one id"
    make_bundle
    local i id s d
    for i in 1 2 3 4; do
        id=$(new_id)
        create_ctr "$id"
        zrun start "$id" >/dev/null 2>&1 & s=$!
        zrun delete "$id" >/dev/null 2>&1 & d=$!
        local src=0 drc=0
        wait "$s" || src=$?
        wait "$d" || drc=$?
        if ((src == 0)); then
            ((drc != 0)) || fail "round $i: start and delete both succeeded"
            assert_eq "$(ctr_status "$id")" running "round $i: status when start won"
        else
            ((drc == 0)) || fail "round $i: start ($src) and delete ($drc) both failed"
            capture zrun state "$id"
            assert_ne "$rc" 0 "round $i: state after delete won"
        fi
        zrun delete --force "$id" >/dev/null 2>&1
    done
    # Two concurrent starts: exactly one wins.
    id=$(new_id)
    create_ctr "$id"
    zrun start "$id" >/dev/null 2>&1 & s=$!
    zrun start "$id" >/dev/null 2>&1 & d=$!
    local a=0 b=0
    wait "$s" || a=$?
    wait "$d" || b=$?
    (( (a == 0) + (b == 0) == 1 )) || fail "two concurrent starts: exit codes $a and $b"
}

test_unknown_id() {
    local id; id=$(new_id nope)
    local cmd
    for cmd in state start delete "kill" "exec" pause resume; do
        case $cmd in
        exec) # exec reserves 1..254 for the process: its own failures are 255
            capture zrun exec "$id" true
            assert_eq "$rc" 255 "exit code of exec on an unknown id" ;;
        *) capture zrun $cmd "$id"
            assert_eq "$rc" 1 "exit code of $cmd on an unknown id" ;;
        esac
        assert_contains "$err" "does not exist" "stderr of $cmd on an unknown id"
    done
    capture zrun delete --force "$id"
    assert_eq "$rc" 0 "delete --force of an unknown id succeeds"
}
