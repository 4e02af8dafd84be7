#!/bin/bash
# A VM container through the OCI lifecycle: create, start, state (the pid is
# the monitor), exec into it (output and exit code), kill, delete - and
# nothing left behind (state dir, cgroup, mounts, processes, sockets).
# One nested boot.
set -u
. tests/vm/lib.sh
zone=$PWD/build/zone
[ -x "$zone" ] && [ -x build/zone-agent ] || vm_skip "build/zone or build/zone-agent missing"
if [ -n "${KVMHOST_VMLINUX:-}" ] && [ -r "$KVMHOST_VMLINUX" ] && [ -d "${KVMHOST_MODULES:-}" ]; then
    export ZONE_VM_KERNEL=$KVMHOST_VMLINUX ZONE_VM_MODULES=$KVMHOST_MODULES
fi
work=$(mktemp -d /tmp/zone-vm-ex.XXXXXX)
root=$work/state
export ZONE_VM_CACHE=$work/cache
cleanup() {
    "$zone" --root "$root" delete -f vmex >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT
z() { "$zone" --root "$root" "$@"; }
show_log() { echo "--- guest log"; tail -60 "$root/vmex/vm.log" 2>/dev/null; echo "--- container stderr"; cat "$work/ctr.err"; }

sh scripts/make-busybox-bundle.sh "$work/bundle" >/dev/null || vm_fail "cannot make the busybox bundle"
echo ZONE-EXEC-MARKER > "$work/bundle/rootfs/marker"
mkdir -p "$work/shared"
cd "$work/bundle"
jq --arg src "$work/shared" '.process.terminal = false
    | .process.args = ["sh", "-c", "echo up > /mnt/shared/ready; exec sleep 1000"]
    | .mounts += [{"destination": "/mnt/shared", "type": "bind", "source": $src, "options": ["rbind", "rw"]}]' \
    config.json > config.json.new && mv config.json.new config.json
ZONE_VM_DEBUG=1 z --vm create vmex < /dev/null > "$work/ctr.out" 2> "$work/ctr.err" || vm_fail "create failed: $(cat "$work/ctr.err")"
cd - >/dev/null
pid=$(z state vmex | jq -r .pid)
[ "$(z state vmex | jq -r .status)" = created ] || vm_fail "not created"
start=$(date +%s.%N)
z start vmex || vm_fail "start failed"
vm_wait_guest_process "$root/vmex/vm.log" 70 "$pid"   # within run.sh's 150 s per attempt
for _ in $(seq 200); do [ -e "$work/shared/ready" ] && break; sleep 0.5; done
[ -e "$work/shared/ready" ] || { show_log; vm_fail "the container process did not start within 100 s"; }
echo "start to the first write in the guest: $(echo "$(date +%s.%N) - $start" | bc)s"
st=$(z state vmex)
echo "$st"
[ "$(echo "$st" | jq -r .status)" = running ] || vm_fail "state is not running"
[ "$(echo "$st" | jq -r .pid)" = "$pid" ] || vm_fail "state pid changed"
grep -q zone "/proc/$pid/cmdline" 2>/dev/null || vm_fail "pid $pid is not the monitor"
# the monitor holds no capability a process of the container could not
capbnd=$(awk '/^CapBnd/ {print $2}' "/proc/$pid/status")
capeff=$(awk '/^CapEff/ {print $2}' "/proc/$pid/status")
echo "monitor CapBnd $capbnd CapEff $capeff"
[ "$capeff" = "$capbnd" ] || vm_fail "monitor CapEff $capeff is not its bounding set $capbnd"
[ $(( 0x$capbnd & (1 << 21) )) -eq 0 ] || vm_fail "the monitor kept CAP_SYS_ADMIN (CapBnd $capbnd)"

rc=0
t0=$(date +%s.%N)
out=$(z exec vmex sh -c 'echo EXEC-OUT $(cat /marker) $(cat /mnt/shared/ready); echo EXEC-ERR >&2; exit 4' 2> "$work/exec.err") || rc=$?
echo "exec took $(echo "$(date +%s.%N) - $t0" | bc)s: rc $rc, stdout [$out], stderr [$(cat "$work/exec.err")]"
[ "$out" = "EXEC-OUT ZONE-EXEC-MARKER up" ] || { show_log; vm_fail "exec output [$out]"; }
grep -q EXEC-ERR "$work/exec.err" || vm_fail "exec stderr not relayed"
[ "$rc" -eq 4 ] || vm_fail "exec exit code $rc, expected 4"
rc=0
z exec vmex false || rc=$?
[ "$rc" -eq 1 ] || vm_fail "exec false: exit $rc"

# what engines do (conmon, containerd's shim): exec --detach --pid-file,
# then wait for that pid as a subreaper and signal it; the pid stands in
# for the process in the guest
python3 - "$zone" "$root" "$work" <<'PY' || vm_fail "exec --detach --pid-file"
import ctypes, os, subprocess, sys, time
zone, root, work = sys.argv[1:4]
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)   # PR_SET_CHILD_SUBREAPER: the stand-in becomes our child
def detached(script):
    pid_file = os.path.join(work, "exec.pid")
    subprocess.run([zone, "--root", root, "exec", "--detach", "--pid-file", pid_file, "vmex", "sh", "-c", script],
                   check=True, stdin=subprocess.DEVNULL)
    return int(open(pid_file).read())
pid = detached("sleep 1; exit 7")
code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
print("detached exec: stand-in", pid, "exit", code)
if code != 7: sys.exit("stand-in exit %d, expected 7" % code)
pid = detached("trap 'exit 3' TERM; echo on > /mnt/shared/detached; while :; do sleep 1; done")
for _ in range(120):
    if os.path.exists(os.path.join(work, "shared", "detached")): break
    time.sleep(0.5)
else:
    sys.exit("the detached process did not run")
os.kill(pid, 15)
code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
print("SIGTERM to the stand-in: exit", code)
if code != 3: sys.exit("stand-in exit %d after SIGTERM, expected 3 (the trap's)" % code)
PY
# the engine's terminal: exec -t with a console socket gets a pty master
# whose slave the monitor relays to the guest's pty
recvtty=$PWD/build/tests/helpers/recvtty
[ -x "$recvtty" ] || vm_fail "$recvtty not built (make check-vm builds it)"
"$recvtty" --out "$work/tty.out" "$work/tty.sock" 2>"$work/recvtty.err" &
rpid=$!
for _ in $(seq 50); do [ -e "$work/tty.sock.ready" ] && break; sleep 0.1; done
z exec --tty --detach --console-socket "$work/tty.sock" vmex sh -c '[ -t 0 ] && [ -t 1 ] && echo VM-STDIO-IS-TTY' \
    || vm_fail "exec --tty --console-socket failed"
for _ in $(seq 60); do kill -0 "$rpid" 2>/dev/null || break; sleep 0.5; done
kill -0 "$rpid" 2>/dev/null && { kill "$rpid"; vm_fail "the console socket's pty never reached EOF"; }
grep -q VM-STDIO-IS-TTY "$work/tty.out" || vm_fail "no tty output through the console socket: [$(cat "$work/tty.out")]"
# the engine resizes its end of the pty (the user resized the window):
# the stand-in, whose controlling terminal that pty is, gets SIGWINCH and
# the monitor resizes the guest's pty
"$recvtty" --out "$work/tty2.out" --resize-when "$work/shared/ttyready" 33x111 "$work/tty2.sock" 2>"$work/recvtty2.err" &
rpid=$!
for _ in $(seq 50); do [ -e "$work/tty2.sock.ready" ] && break; sleep 0.1; done
z exec --tty --detach --console-socket "$work/tty2.sock" vmex sh -c \
    'echo > /mnt/shared/ttyready; for i in $(seq 150); do s=$(stty size); [ "$s" = "33 111" ] && break; sleep 0.2; done; echo "VM-TTY-SIZE=$s"' \
    || vm_fail "exec --tty --console-socket (resize) failed"
for _ in $(seq 80); do kill -0 "$rpid" 2>/dev/null || break; sleep 0.5; done
kill -0 "$rpid" 2>/dev/null && { kill "$rpid"; vm_fail "the resize test's pty never reached EOF"; }
tr -d '\r' < "$work/tty2.out" | grep -q "VM-TTY-SIZE=33 111" || { show_log; vm_fail "the guest's terminal was not resized: [$(cat "$work/tty2.out") $(cat "$work/recvtty2.err")]"; }

z kill vmex TERM || vm_fail "kill failed"
for _ in $(seq 60); do [ "$(z state vmex 2>/dev/null | jq -r .status)" = stopped ] && break; sleep 0.5; done
[ "$(z state vmex | jq -r .status)" = stopped ] || { show_log; vm_fail "kill TERM did not stop the container"; }
kill -0 "$pid" 2>/dev/null && vm_fail "the monitor $pid is still alive"
z delete vmex || vm_fail "delete failed"
[ -e "$root/vmex" ] && vm_fail "delete left $root/vmex"
grep -q "$work" /proc/mounts && vm_fail "a mount of the container was left: $(grep "$work" /proc/mounts)"
find /sys/fs/cgroup -name '*vmex*' | grep -q . && vm_fail "a cgroup was left behind"
pgrep -f "zone --root $root" >/dev/null && vm_fail "a process was left behind"
echo "PASS: runtime_exec"
