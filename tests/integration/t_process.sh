# shellcheck shell=bash disable=SC2154  # out/err/rc are set by capture() in lib.sh
# The container process: args/env/cwd, user, capabilities, rlimits,
# scheduling, personality, seccomp, terminal, fds, signal state.

in_ctr() { # SCRIPT: run it with sh in a fresh container of $BUNDLE
    set_args sh -c "$1"
    local id; id=$(new_id)
    run_ctr "$id"
}
status_field() { grep "^$1:" <<<"$out" | awk '{print $2}'; }

test_args_env_cwd() {
    make_bundle
    cfg '.process.env += ["A=1", "B=two words", "EMPTY="] | .process.cwd = "/etc"'
    set_args sh -c 'echo "$A|$B|[$EMPTY]|$0|$1"; pwd' zeroth "first arg"
    local id; id=$(new_id)
    run_ctr "$id"
    assert_eq "$rc" 0 "exit code; stderr: $err"
    assert_eq "$out" "$(printf '1|two words|[]|zeroth|first arg\n/etc')" "output"

    # A cwd that does not exist in the rootfs is created.
    cfg '.process.cwd = "/made/by/runtime"'
    set_args pwd
    id=$(new_id)
    run_ctr "$id"
    assert_eq "$rc" 0 "exit code with a missing cwd; stderr: $err"
    assert_eq "$out" /made/by/runtime "cwd created on demand"
}

test_user_groups_umask() {
    make_bundle
    cfg '.process.user = {uid: 1000, gid: 1000, additionalGids: [10, 4242], umask: 63}'
    in_ctr 'id -u; id -g; grep ^Groups: /proc/self/status; umask; touch /tmp/f; stat -c %a /tmp/f'
    assert_eq "$rc" 0 "exit code; stderr: $err"
    assert_eq "$(sed -n 1p <<<"$out")" 1000 "uid"
    assert_eq "$(sed -n 2p <<<"$out")" 1000 "gid"
    assert_match "$(sed -n 3p <<<"$out")" '^Groups:[[:space:]]+10 4242 *$' "supplementary groups"
    assert_eq "$(sed -n 4p <<<"$out")" 0077 "umask"
    assert_eq "$(sed -n 5p <<<"$out")" 600 "mode of a new file"
    assert_eq "$(stat -c %u:%g "$BUNDLE/rootfs/tmp/f")" 1000:1000 "owner seen from the host"
}

test_capability_sets_non_root() {
    make_bundle
    # CHOWN=0 KILL=5 SETUID=7 NET_RAW=13
    cfg '.process.user = {uid: 1000, gid: 1000}
         | .process.noNewPrivileges = false
         | .process.capabilities = {
             bounding: ["CAP_CHOWN", "CAP_KILL", "CAP_SETUID", "CAP_NET_RAW"],
             effective: ["CAP_CHOWN", "CAP_KILL"],
             permitted: ["CAP_CHOWN", "CAP_KILL"],
             inheritable: ["CAP_CHOWN", "CAP_NET_RAW"],
             ambient: ["CAP_CHOWN"]}'
    set_args grep ^Cap /proc/self/status
    local id; id=$(new_id)
    run_ctr "$id"
    assert_eq "$rc" 0 "exit code; stderr: $err"
    # After execve as a non-root user: permitted = effective = ambient.
    assert_eq "$(status_field CapInh)" 0000000000002001 "CapInh"
    assert_eq "$(status_field CapPrm)" 0000000000000001 "CapPrm"
    assert_eq "$(status_field CapEff)" 0000000000000001 "CapEff"
    assert_eq "$(status_field CapBnd)" 00000000000020a1 "CapBnd"
    assert_eq "$(status_field CapAmb)" 0000000000000001 "CapAmb"
}

test_capability_sets_root() {
    make_bundle
    cfg '.process.noNewPrivileges = true
         | .process.capabilities = {
             bounding: ["CAP_CHOWN", "CAP_KILL", "CAP_SETUID"],
             effective: ["CAP_CHOWN", "CAP_KILL"],
             permitted: ["CAP_CHOWN", "CAP_KILL"]}'
    set_args grep ^Cap /proc/self/status
    local id; id=$(new_id)
    run_ctr "$id"
    assert_eq "$rc" 0 "exit code; stderr: $err"
    assert_eq "$(status_field CapBnd)" 00000000000000a1 "CapBnd"
    assert_eq "$(status_field CapInh)" 0000000000000000 "CapInh"
    assert_eq "$(status_field CapAmb)" 0000000000000000 "CapAmb"
    # no_new_privs keeps root's execve from going beyond the permitted set
    assert_eq "$(status_field CapPrm)" 0000000000000021 "CapPrm with noNewPrivileges"
    assert_eq "$(status_field CapEff)" 0000000000000021 "CapEff with noNewPrivileges"
    # without it, root's execve grants the bounding set, and nothing outside it
    cfg '.process.noNewPrivileges = false'
    id=$(new_id)
    run_ctr "$id"
    assert_eq "$rc" 0 "exit code; stderr: $err"
    assert_eq "$(status_field CapPrm)" 00000000000000a1 "CapPrm without noNewPrivileges"
    assert_eq "$(status_field CapEff)" 00000000000000a1 "CapEff without noNewPrivileges"
}

test_rlimits() {
    make_bundle
    cfg '.process.rlimits = [{type: "RLIMIT_NOFILE", soft: 512, hard: 1024},
                             {type: "RLIMIT_MSGQUEUE", soft: 12345, hard: 12345},
                             {type: "RLIMIT_CORE", soft: 0, hard: 0}]'
    in_ctr 'ulimit -n; grep -E "^Max (open files|msgqueue size|core file size)" /proc/self/limits'
    assert_eq "$rc" 0 "exit code; stderr: $err"
    assert_eq "$(head -1 <<<"$out")" 512 "ulimit -n"
    assert_match "$out" 'Max open files +512 +1024 ' "RLIMIT_NOFILE"
    assert_match "$out" 'Max msgqueue size +12345 +12345 ' "RLIMIT_MSGQUEUE"
    assert_match "$out" 'Max core file size +0 +0 ' "RLIMIT_CORE"
}

test_no_new_privileges_and_oom_score_adj() {
    make_bundle
    cfg '.process.noNewPrivileges = true | .process.oomScoreAdj = 123'
    in_ctr 'grep ^NoNewPrivs: /proc/self/status; cat /proc/self/oom_score_adj'
    assert_eq "$rc" 0 "exit code; stderr: $err"
    assert_match "$out" $'NoNewPrivs:\t1' "NoNewPrivs with noNewPrivileges"
    assert_eq "$(tail -1 <<<"$out")" 123 "oom_score_adj"
    cfg '.process.noNewPrivileges = false | .process.oomScoreAdj = 200'
    in_ctr 'grep ^NoNewPrivs: /proc/self/status; cat /proc/self/oom_score_adj'
    assert_eq "$rc" 0 "exit code; stderr: $err"
    assert_match "$out" $'NoNewPrivs:\t0' "NoNewPrivs without noNewPrivileges"
    assert_eq "$(tail -1 <<<"$out")" 200 "oom_score_adj"
}

test_io_priority() {
    runc_known "runc 1.1 has no process.ioPriority"
    make_bundle
    cfg '.process.ioPriority = {class: "IOPRIO_CLASS_BE", priority: 6}'
    in_ctr 'ionice'
    assert_eq "$rc" 0 "exit code; stderr: $err"
    assert_eq "$out" "best-effort: prio 6" "io priority"
}

test_scheduler() {
    runc_known "runc 1.1 has no process.scheduler"
    make_bundle
    cfg '.process.scheduler = {policy: "SCHED_BATCH", nice: 5}'
    in_ctr 'cat /proc/self/stat'
    assert_eq "$rc" 0 "exit code; stderr: $err"
    # fields after "(comm)": 19 = nice, 41 = policy (SCHED_BATCH = 3)
    local rest; rest=${out#*) }
    assert_eq "$(awk '{print $17, $39}' <<<"$rest")" "5 3" "nice and policy"
}

test_personality() {
    runc_known "runc 1.1 has no linux.personality"
    make_bundle
    cfg '.linux.personality = {domain: "LINUX32"}'
    in_ctr 'uname -m'
    assert_eq "$rc" 0 "exit code; stderr: $err"
    assert_eq "$out" i686 "uname -m under LINUX32"
}

seccomp_for_mkdir() { # ACTION [EXTRA JQ]
    cfg '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
                           syscalls: [{names: ["mkdir", "mkdirat"], action: $a, errnoRet: 33}]}' --arg a "$1"
}

test_seccomp_errno() {
    make_bundle
    seccomp_for_mkdir SCMP_ACT_ERRNO
    in_ctr 'grep ^Seccomp: /proc/self/status; mkdir /tmp/d 2>&1; echo rc=$?; touch /tmp/f && echo touch-ok'
    assert_eq "$rc" 0 "exit code; stderr: $err"
    assert_match "$out" $'Seccomp:\t2' "seccomp mode"
    assert_contains "$out" "Numerical argument out of domain" "mkdir error (errnoRet 33 = EDOM)"
    assert_contains "$out" "rc=1" "mkdir exit code"
    assert_contains "$out" touch-ok "other syscalls"
    [[ ! -e $BUNDLE/rootfs/tmp/d ]] || fail "mkdir was not blocked"
}

test_seccomp_kill() {
    make_bundle
    seccomp_for_mkdir SCMP_ACT_KILL
    in_ctr 'mkdir /tmp/d; echo rc=$?'
    assert_eq "$rc" 0 "exit code; stderr: $err"
    assert_contains "$out" "rc=159" "exit status of a process killed by SIGSYS"
    [[ ! -e $BUNDLE/rootfs/tmp/d ]] || fail "mkdir was not blocked"
}

test_seccomp_notify_listener() {
    make_bundle
    local sock=$TEST_TMP/seccomp.sock
    "$HELPERS/seccomp_listener" --state-file "$TEST_TMP/seccomp.state" --log "$TEST_TMP/seccomp.log" "$sock" \
        2>"$TEST_TMP/listener.err" &
    local lpid=$!
    wait_for 5 test -e "$sock.ready" || fail "listener did not start"
    seccomp_for_mkdir SCMP_ACT_NOTIFY
    cfg '.linux.seccomp.listenerPath = $s | .linux.seccomp.listenerMetadata = "zit-metadata"' --arg s "$sock"
    set_args sh -c 'mkdir /tmp/d 2>&1; echo rc=$?'
    local id; id=$(new_id)
    run_ctr "$id"
    assert_eq "$rc" 0 "exit code; stderr: $err"
    assert_contains "$out" "Numerical argument out of domain" "mkdir answered by the listener"
    [[ ! -e $BUNDLE/rootfs/tmp/d ]] || fail "mkdir ran although the listener refused it"
    wait_for 10 proc_gone "$lpid" || { kill "$lpid"; fail "listener did not see the filter go away"; }
    wait "$lpid" || fail "listener failed: $(cat "$TEST_TMP/listener.err")"
    assert_match "$(cat "$TEST_TMP/seccomp.log")" 'notify nr=(83|258) ' "listener log"
    local st; st=$(cat "$TEST_TMP/seccomp.state")
    assert_eq "$(jq -c .fds <<<"$st")" '["seccompFd"]' "fds in the state sent to the listener"
    assert_eq "$(jq -r .metadata <<<"$st")" zit-metadata "metadata sent to the listener"
    assert_eq "$(jq -r .state.id <<<"$st")" "$id" "state.id sent to the listener"
    [[ $(jq -r .pid <<<"$st") =~ ^[1-9][0-9]*$ ]] || fail "no pid in the listener state: $st"
}

# start_tty_ctr ID INPUT: start $BUNDLE with a terminal through recvtty.
start_tty_ctr() {
    local id=$1 input=${2:-}
    local sock=$TEST_TMP/$id.sock
    local args=(--out "$TEST_TMP/$id.tty" --name-file "$TEST_TMP/$id.pts")
    [[ -n $input ]] && args+=(--input "$input")
    "$HELPERS/recvtty" "${args[@]}" "$sock" 2>"$TEST_TMP/$id.recvtty.err" &
    RECVTTY_PID=$!
    wait_for 5 test -e "$sock.ready" || fail "recvtty did not start"
    cfg '.process.terminal = true'
    create_ctr "$id" --console-socket "$sock"
    expect_ok zrun start "$id"
    wait_for 10 proc_gone "$RECVTTY_PID" || fail "terminal never closed: $(cat "$TEST_TMP/$id.tty")"
    wait "$RECVTTY_PID" || fail "recvtty failed: $(cat "$TEST_TMP/$id.recvtty.err")"
    out=$(tr -d '\r' < "$TEST_TMP/$id.tty")
}

test_terminal_console_socket() {
    make_bundle
    set_args sh -c 'tty; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-tty; stat -c "console %t" /dev/console; read line; echo "got $line"'
    local id; id=$(new_id)
    start_tty_ctr "$id" $'typed-input\n'
    assert_match "$out" '(^|'$'\n'')/dev/pts/[0-9]+' "tty inside"
    assert_contains "$out" all-tty "stdio on the terminal"
    assert_contains "$out" "console 88" "/dev/console is the pty (major 136 = 0x88)"
    assert_contains "$out" "got typed-input" "input relayed through the pty master"
}

test_terminal_console_size() {
    make_bundle
    cfg '.process.consoleSize = {height: 33, width: 111}'
    set_args stty size
    local id; id=$(new_id)
    start_tty_ctr "$id"
    assert_contains "$out" "33 111" "console size"
}

test_preserve_fds() {
    make_bundle
    copy_helper fdcheck
    echo three > "$TEST_TMP/f3"; echo four > "$TEST_TMP/f4"
    set_args /bin/fdcheck 3 4
    local id; id=$(new_id)
    capture bash -c 'exec 3<"$1" 4<"$2" 5<"$1"; exec "$RUNTIME" --root "$TEST_ROOT" run --preserve-fds 2 --bundle "$3" "$4"' \
        _ "$TEST_TMP/f3" "$TEST_TMP/f4" "$BUNDLE" "$id"
    assert_eq "$rc" 0 "fdcheck with --preserve-fds 2: $out $err"
    assert_contains "$out" "fd 3 -> $TEST_TMP/f3" "preserved fd 3"
    assert_contains "$out" "fd 4 -> $TEST_TMP/f4" "preserved fd 4"
    assert_not_contains "$out" "fd 5 " "fd 5 is not preserved"
}

test_listen_fds() {
    make_bundle
    copy_helper fdcheck
    echo three > "$TEST_TMP/f3"; echo four > "$TEST_TMP/f4"
    set_args sh -c 'echo "LISTEN_FDS=$LISTEN_FDS LISTEN_PID=$LISTEN_PID"; exec /bin/fdcheck 3 4'
    local id; id=$(new_id)
    capture bash -c 'exec 3<"$1" 4<"$2"; export LISTEN_FDS=2 LISTEN_PID=$$;
                     exec "$RUNTIME" --root "$TEST_ROOT" run --bundle "$3" "$4"' \
        _ "$TEST_TMP/f3" "$TEST_TMP/f4" "$BUNDLE" "$id"
    assert_eq "$rc" 0 "fdcheck with LISTEN_FDS=2: $out $err"
    assert_contains "$out" "LISTEN_FDS=2 LISTEN_PID=1" "socket activation env"
    assert_contains "$out" "fd 3 -> $TEST_TMP/f3" "listen fd 3"
}

test_signal_state_reset() {
    runc_known "runc 1.1 passes the caller's blocked signal mask to the container"
    make_bundle
    set_args grep -E '^Sig(Blk|Ign):' /proc/self/status
    local id; id=$(new_id)
    capture "$HELPERS/sigwrap" "$RUNTIME" --root "$TEST_ROOT" run --bundle "$BUNDLE" "$id"
    assert_eq "$rc" 0 "run under sigwrap; stderr: $err"
    assert_eq "$(status_field SigBlk)" 0000000000000000 "blocked signals in the container (run)"
    assert_eq "$(status_field SigIgn)" 0000000000000000 "ignored signals in the container (run)"

    set_args sleep 1000
    id=$(new_id)
    start_ctr "$id"
    capture "$HELPERS/sigwrap" "$RUNTIME" --root "$TEST_ROOT" exec "$id" grep -E '^Sig(Blk|Ign):' /proc/self/status
    assert_eq "$rc" 0 "exec under sigwrap; stderr: $err"
    assert_eq "$(status_field SigBlk)" 0000000000000000 "blocked signals in the container (exec)"
    assert_eq "$(status_field SigIgn)" 0000000000000000 "ignored signals in the container (exec)"
}
