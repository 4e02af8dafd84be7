# shellcheck shell=bash
# The guest agent (build/zone-agent) outside a VM: vmctl runs it in --serve
# test mode as PID 1 of new PID, mount and UTS namespaces (unshare), over a
# socketpair control stream, a unix-socket stdio listener and a socketpair
# console, and plays the host's side of the control protocol. This covers
# everything but the VM boot itself (tests/vm/t_agent.sh does that):
# process setup, stdio, terminals, exec sessions, signals, exit statuses,
# reaping, and the container filesystems under --root.

VMCTL=$ROOT_DIR/build/tests/vmctl
AGENT=$ROOT_DIR/build/zone-agent

need_agent() {
    [[ -x $VMCTL && -x $AGENT ]] || skip "build/tests/vmctl or build/zone-agent not built (make build/tests/vmctl build/zone-agent)"
    need_cmd unshare
}

vmctl() { "$VMCTL" run --agent "$AGENT" --timeout 30 "$@"; }

test_vm_agent_exit_status_and_console() {
    need_agent
    capture vmctl -- sh -c 'echo to-console; echo err-to-console >&2; exit 7'
    assert_eq "$rc" 7 "vmctl exit"
    assert_contains "$out" "to-console"
    assert_contains "$out" "err-to-console" "console (stdout and stderr share it)"
    assert_match "$err" "vmctl: STARTED pid [0-9]+"
    assert_contains "$err" "vmctl: EXIT exit code 7"
    capture vmctl -- true
    assert_eq "$rc" 0
    assert_contains "$err" "EXIT exit code 0"
}

test_vm_agent_signal() {
    need_agent
    capture vmctl --signal 15 --signal-ms 300 -- sleep 30
    assert_eq "$rc" 143
    assert_contains "$err" "EXIT signal 15"
    # all: every process in the guest, the background one included
    capture vmctl --signal 9 --signal-all --signal-ms 300 -- sh -c 'trap "" TERM; sleep 30 & wait'
    assert_eq "$rc" 137
    assert_contains "$err" "EXIT signal 9"
}

test_vm_agent_process_attributes() {
    need_agent
    capture vmctl --uid 1234 --gid 2345 --groups 5,6 --umask 027 --hostname agent-test \
        --rlimit 7=100:200 --no-new-privs --cwd /tmp --env FOO=bar -- \
        sh -c 'echo ids=$(id -u):$(id -g):$(id -G | tr " " ,); echo umask=$(umask); echo host=$(hostname);
               echo nofile=$(ulimit -n):$(ulimit -Hn); echo cwd=$(pwd); echo foo=$FOO;
               grep -E "^(NoNewPrivs|CapEff|CapBnd)" /proc/self/status'
    assert_eq "$rc" 0 "exit; stderr: $err"
    assert_contains "$out" "ids=1234:2345:2345,5,6"
    assert_contains "$out" "umask=0027"
    assert_contains "$out" "host=agent-test"
    assert_contains "$out" "nofile=100:200"
    assert_contains "$out" "cwd=/tmp"
    assert_contains "$out" "foo=bar"
    assert_match "$out" "NoNewPrivs:[[:space:]]+1"
    assert_match "$out" "CapEff:[[:space:]]+0000000000000000"
    # capability sets: NET_BIND_SERVICE (bit 10) everywhere, ambient too
    capture vmctl --uid 1234 --gid 1234 --caps 400,400,400,400,400 -- grep ^Cap /proc/self/status
    assert_eq "$rc" 0 "exit; stderr: $err"
    for set in Inh Prm Eff Bnd Amb; do
        assert_match "$out" "Cap$set:[[:space:]]+0000000000000400"
    done
}

test_vm_agent_stdio_streams() {
    need_agent
    capture vmctl --stdin stream --stdout stream --stderr stream --stdin-data $'line1\nline2\n' -- \
        sh -c 'while read l; do echo "out:$l"; done; echo "err:eof" >&2'
    assert_eq "$rc" 0 "exit; stderr: $err"
    assert_eq "$out" $'out:line1\nout:line2'
    assert_contains "$err" "err:eof"
    assert_not_contains "$out" "err:eof"
}

test_vm_agent_exec_sessions() {
    need_agent
    capture vmctl --exec 'echo exec-one; exit 3' --exec 'echo exec-two >&2; sleep 0.3; exit 4' -- \
        sh -c 'sleep 2; echo main-done'
    assert_eq "$rc" 0 "exit; stderr: $err"
    assert_contains "$out" "exec-one"
    assert_contains "$err" "exec-two"
    assert_contains "$err" "EXEC_EXIT session 1 exit code 3"
    assert_contains "$err" "EXEC_EXIT session 2 exit code 4"
    assert_contains "$out" "main-done"
    # the main process exits while a session runs: the session is killed,
    # reported, and EXIT comes last
    capture vmctl --exec 'sleep 30' -- sh -c 'sleep 1; exit 2'
    assert_eq "$rc" 2
    assert_contains "$err" "EXEC_EXIT session 1 signal 9"
    [[ $(printf '%s\n' "$err" | grep -E 'EXEC_EXIT|vmctl: EXIT' | tail -1) == *"vmctl: EXIT exit code 2"* ]] ||
        fail "EXIT is not the last report: $err"
}

test_vm_agent_terminal() {
    need_agent
    capture vmctl --tty --size 30x100 -- sh -c 'tty; stty size'
    assert_eq "$rc" 0 "exit; stderr: $err"
    assert_contains "$out" "/dev/pts/"
    assert_contains "$out" "30 100"
    capture vmctl --tty --size 30x100 --resize 50x132 -- sh -c 'sleep 1; stty size'
    assert_contains "$out" "50 132"
}

test_vm_agent_start_errors() {
    need_agent
    capture vmctl -- /nonexistent/binary
    assert_eq "$rc" 125
    assert_contains "$err" 'ERROR session 0: starting the container process: exec "/nonexistent/binary": no such file or directory'
    capture vmctl --cwd /nonexistent -- true
    assert_eq "$rc" 125
    assert_contains "$err" 'chdir to cwd "/nonexistent"'
    capture vmctl -- no-such-command-anywhere
    assert_eq "$rc" 125
    assert_contains "$err" "searched PATH"
}

test_vm_agent_reaps_and_kills_orphans() {
    need_agent
    local marker="zone-agent-orphan-$ZIT_PREFIX"
    # the main process leaves a child behind: EXIT comes at once, the
    # orphan is killed with the rest of the guest
    capture vmctl --env "M=$marker" -- sh -c 'sh -c "exec -a $M sleep 60" & exit 4'
    assert_eq "$rc" 4 "exit; stderr: $err"
    ! pgrep -f "$marker" >/dev/null || fail "the orphan survived the agent"
}

test_vm_agent_container_root() {
    need_agent
    make_bundle
    capture vmctl --agent-root "$BUNDLE/rootfs" -- sh -c 'cat /proc/mounts; ls /dev; ps -o pid,comm'
    assert_eq "$rc" 0 "exit; stderr: $err"
    assert_match "$out" "proc /proc proc rw,nosuid,nodev,noexec"
    assert_match "$out" "sysfs /sys sysfs ro,nosuid,nodev,noexec"
    assert_match "$out" "tmpfs /dev tmpfs rw,nosuid"
    assert_match "$out" "devpts /dev/pts devpts rw,nosuid,noexec.*gid=5,mode=620,ptmxmode=666"
    assert_match "$out" "shm /dev/shm tmpfs rw,nosuid,nodev,noexec"
    for node in null zero full random urandom tty ptmx fd stdin stdout stderr pts shm; do
        assert_match "$out" "(^|[[:space:]])$node($|[[:space:]])" "/dev listing ($node)"
    done
    # the guest has only the agent (PID 1) and the container's processes
    assert_match "$out" "1 zone-agent"
}
