# shellcheck shell=bash disable=SC2154  # out/err/rc are set by capture() in lib.sh
# exec: a second process inside a running container.

test_exec_args_env_cwd_user() {
    make_bundle
    local id; id=$(new_id)
    start_ctr "$id"
    expect_ok zrun exec "$id" echo hello world
    assert_eq "$out" "hello world" "exec echo"

    expect_ok zrun exec --env FOO=bar --env EMPTY= --cwd /tmp --user 1000:1000 "$id" \
        sh -c 'echo "foo=$FOO empty=[$EMPTY] mark=$ZIT_MARK"; pwd; id -u; id -g'
    assert_eq "$out" "$(printf 'foo=bar empty=[] mark=%s\n/tmp\n1000\n1000' "$ZIT_PREFIX")" "exec output"

    expect_ok zrun exec --user 1000 "$id" id -u
    assert_eq "$out" 1000 "uid from --user 1000"
}

test_exec_joins_container_namespaces_and_cgroup() {
    make_bundle
    local id; id=$(new_id)
    start_ctr "$id"
    local init; init=$(ctr_pid "$id")
    expect_ok zrun exec --detach --pid-file "$TEST_TMP/exec.pid" "$id" sleep 999
    local pid; pid=$(cat "$TEST_TMP/exec.pid")
    [[ $pid =~ ^[0-9]+$ ]] || fail "bad pid file content [$pid]"
    proc_alive "$pid" || fail "exec'd process $pid not running"
    assert_eq "$(tr '\0' ' ' < "/proc/$pid/cmdline")" "sleep 999 " "cmdline of exec'd process"
    local ns
    for ns in pid net mnt ipc uts; do
        assert_eq "$(ns_inode "$pid" "$ns")" "$(ns_inode "$init" "$ns")" "$ns namespace of exec'd process"
    done
    assert_eq "$(cat "/proc/$pid/cgroup")" "$(cat "/proc/$init/cgroup")" "cgroups of exec'd process"
    # In the container's pid namespace the process is not pid 1 and sees init as 1.
    expect_ok zrun exec "$id" sh -c 'cat /proc/1/cmdline | tr "\0" " "'
    assert_eq "$out" "sleep 1000 " "pid 1 seen from exec"
}

test_exec_cap() {
    make_bundle
    local id; id=$(new_id)
    start_ctr "$id"
    local net_raw=$((1 << 13))
    expect_ok zrun exec "$id" grep CapEff /proc/self/status
    (( (0x${out##*:[[:space:]]} & net_raw) == 0 )) || fail "CAP_NET_RAW present without --cap: $out"
    expect_ok zrun exec --cap CAP_NET_RAW "$id" grep -E 'Cap(Eff|Bnd)' /proc/self/status
    local line
    while read -r line; do
        (( (0x${line##*:[[:space:]]} & net_raw) != 0 )) || fail "CAP_NET_RAW missing with --cap: $line"
    done <<<"$out"
}

test_exec_process_file() {
    make_bundle
    local id; id=$(new_id)
    start_ctr "$id"
    cat > "$TEST_TMP/process.json" <<'EOF'
{
  "terminal": false,
  "user": {"uid": 1000, "gid": 1000, "additionalGids": [4242]},
  "args": ["sh", "-c", "echo pj=$PJ; pwd; id -u; id -G"],
  "env": ["PATH=/bin", "PJ=from-json"],
  "cwd": "/etc"
}
EOF
    expect_ok zrun exec --process "$TEST_TMP/process.json" "$id"
    assert_eq "$out" "$(printf 'pj=from-json\n/etc\n1000\n1000 4242')" "output of exec --process"
}

test_exec_exit_code() {
    make_bundle
    local id; id=$(new_id)
    start_ctr "$id"
    capture zrun exec "$id" sh -c 'exit 42'
    assert_eq "$rc" 42 "exit code of exec"
    capture zrun exec "$id" false
    assert_eq "$rc" 1 "exit code of exec false"
    capture zrun exec "$id" /no/such/binary
    assert_ne "$rc" 0 "exec of a missing binary"
    assert_contains_any "$err" "no such file or directory" "not found"
    # The container is unharmed.
    assert_eq "$(ctr_status "$id")" running "status after failed exec"
}

test_exec_stopped_container_refused() {
    make_bundle
    set_args true
    local id; id=$(new_id)
    create_ctr "$id"
    expect_ok zrun start "$id"
    wait_status "$id" stopped
    capture zrun exec "$id" true
    assert_ne "$rc" 0 "exec into a stopped container"
}

test_exec_tty_console_socket() {
    make_bundle
    local id; id=$(new_id)
    start_ctr "$id"
    local sock=$TEST_TMP/tty.sock
    "$HELPERS/recvtty" --out "$TEST_TMP/tty.out" --name-file "$TEST_TMP/tty.name" "$sock" 2>"$TEST_TMP/recvtty.err" &
    local rpid=$!
    wait_for 5 test -e "$sock.ready" || fail "recvtty did not start"
    expect_ok zrun exec --tty --detach --console-socket "$sock" "$id" \
        sh -c 'tty; [ -t 0 ] && [ -t 1 ] && echo stdio-is-tty; stty size'
    wait_for 10 proc_gone "$rpid" || fail "recvtty still running: the tty was never closed"
    wait "$rpid" || fail "recvtty failed: $(cat "$TEST_TMP/recvtty.err")"
    local o; o=$(tr -d '\r' < "$TEST_TMP/tty.out")
    assert_match "$o" '/dev/pts/[0-9]+' "tty output"
    assert_contains "$o" stdio-is-tty "tty output"
    assert_match "$(cat "$TEST_TMP/tty.name")" '^/dev/pts/[0-9]+$' "received pty name"
}
