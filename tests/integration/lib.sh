# shellcheck shell=bash disable=SC2154  # out/err/rc are set by capture() in lib.sh
# Integration test library: sourced by run.sh and by every test process.
#
# A test is a bash function test_* in a tests/integration/t_*.sh file.  run.sh
# runs each in its own bash process (under `timeout`) with these set:
#   RUNTIME      the runtime binary under test (default build/zone)
#   TEST_TMP     a private directory for this test (mode 755)
#   TEST_ROOT    the runtime's --root for this test ($TEST_TMP/state)
#   ZIT_PREFIX   a unique prefix for container ids, cgroups, netns names
#   ZIT_CACHE    the cached busybox bundle (copied by make_bundle)
# and checks for leaks (mounts, cgroups, state dirs, processes) afterwards.
#
# Exit status of a test process: 0 pass, 77 skip, anything else fail.

ZIT_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT_DIR=$(cd "$ZIT_LIB_DIR/../.." && pwd)
RUNTIME=${RUNTIME:-$ROOT_DIR/build/zone}
HELPERS=${HELPERS:-$ROOT_DIR/build/tests/helpers}
export RUNTIME HELPERS

# ---------------------------------------------------------------- basics

zrun() { "$RUNTIME" --root "$TEST_ROOT" "$@"; }

runtime_name() { basename "$RUNTIME"; }
is_runc() { [[ $(runtime_name) == runc* ]]; }

# runc_known REASON: this test checks behaviour runc 1.1 lacks; when it fails
# under runc it is reported as skipped with REASON instead of failed.
runc_known() {
    is_runc && printf '%s\n' "$*" > "$TEST_TMP/runc_known"
    return 0
}

skip() { printf '%s\n' "$*" > "$TEST_TMP/skip"; exit 77; }

fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

need_cmd() {
    local c
    for c in "$@"; do command -v "$c" >/dev/null 2>&1 || skip "$c not installed"; done
}

assert_eq() { # actual expected [what]
    [[ "$1" == "$2" ]] || fail "${3:-value}: expected [$2], got [$1]"
}
assert_ne() {
    [[ "$1" != "$2" ]] || fail "${3:-value}: expected something other than [$2]"
}
assert_contains() { # haystack needle [what]
    [[ "$1" == *"$2"* ]] || fail "${3:-output} does not contain [$2]; it was: [$1]"
}
assert_not_contains() {
    [[ "$1" != *"$2"* ]] || fail "${3:-output} contains [$2]; it was: [$1]"
}
assert_match() { # haystack ERE [what]
    [[ "$1" =~ $2 ]] || fail "${3:-output} does not match /$2/; it was: [$1]"
}
# assert_contains_any HAYSTACK NEEDLE... : at least one needle occurs
assert_contains_any() {
    local h=$1 n; shift
    for n in "$@"; do [[ "$h" == *"$n"* ]] && return 0; done
    fail "output contains none of [$*]; it was: [$h]"
}

# capture CMD...: runs CMD with stdin from /dev/null; sets $out (stdout),
# $err (stderr) and $rc.  Never fails by itself.
capture() {
    local o=$TEST_TMP/.cap.out e=$TEST_TMP/.cap.err
    rc=0
    "$@" </dev/null >"$o" 2>"$e" || rc=$?
    out=$(cat "$o"); err=$(cat "$e")
    return 0
}

# expect_ok CMD...: capture and fail unless exit status 0.
expect_ok() {
    capture "$@"
    [[ $rc == 0 ]] || fail "[$*] exited $rc; stdout: [$out] stderr: [$err]"
}

# wait_for SECONDS CMD...: polls CMD every 50 ms until it succeeds.
wait_for() {
    local limit=$1; shift
    local end=$((SECONDS + limit))
    until "$@" >/dev/null 2>&1; do
        ((SECONDS >= end)) && return 1
        sleep 0.05
    done
}

# defer CMD: run CMD (a string for eval) when the test exits, last first.
ZIT_DEFERRED=()
defer() { ZIT_DEFERRED=("$1" "${ZIT_DEFERRED[@]}"); }

# ------------------------------------------------------------- containers

# new_id [NAME]: a fresh container id (works inside $(...): the sequence
# lives in a file), recorded for cleanup.
new_id() {
    local n=0
    [[ -f $TEST_TMP/.seq ]] && n=$(<"$TEST_TMP/.seq")
    n=$((n + 1))
    echo "$n" > "$TEST_TMP/.seq"
    local id="${ZIT_PREFIX}${1:-c}$n"
    echo "$id" >> "$TEST_TMP/ids"
    echo "$id"
}

# make_bundle [DIR]: copy the cached busybox bundle to DIR (default
# $TEST_TMP/bundle), set BUNDLE, and make its process non-interactive:
# terminal false, writable root, args `sleep 1000`, a marker variable in env.
make_bundle() {
    BUNDLE=${1:-$TEST_TMP/bundle}
    mkdir -p "$(dirname "$BUNDLE")"
    cp -a "$ZIT_CACHE" "$BUNDLE"
    cfg '.process.terminal = false
         | .root.readonly = false
         | .process.args = ["sleep", "1000"]
         | .process.env += ["ZIT_MARK=" + $mark]' --arg mark "$ZIT_PREFIX"
}

# cfg FILTER [JQ ARGS...]: edit $BUNDLE/config.json in place with jq.
cfg() {
    local filter=$1; shift
    local f=$BUNDLE/config.json
    jq "$filter" "$@" < "$f" > "$f.new" || fail "jq filter failed: $filter"
    mv "$f.new" "$f"
}

# json_array ARG...: a JSON array of strings (jq's --args would eat "-c").
json_array() {
    local a=() f='[' i=0 x
    for x; do a+=(--arg "v$i" "$x"); f+="\$v$i,"; i=$((i + 1)); done
    jq -nc "${a[@]}" "${f%,}]"
}

# set_args ARG...: process.args = ARGs.
set_args() { cfg '.process.args = $a' --argjson a "$(json_array "$@")"; }

# add_mount DEST TYPE SOURCE [OPTION...]
add_mount() {
    local dest=$1 type=$2 src=$3; shift 3
    cfg '.mounts += [{destination: $d, type: $t, source: $s, options: $o}]' \
        --arg d "$dest" --arg t "$type" --arg s "$src" --argjson o "$(json_array "$@")"
}

# add_namespace TYPE [PATH]: add (or replace) a namespace entry.
add_namespace() {
    if [[ -n ${2:-} ]]; then
        cfg '.linux.namespaces = ([.linux.namespaces[] | select(.type != $t)] + [{type: $t, path: $p}])' \
            --arg t "$1" --arg p "$2"
    else
        cfg '.linux.namespaces = ([.linux.namespaces[] | select(.type != $t)] + [{type: $t}])' --arg t "$1"
    fi
}
remove_namespace() {
    cfg '.linux.namespaces = [.linux.namespaces[] | select(.type != $t)]' --arg t "$1"
}

# copy_helper NAME: put build/tests/helpers/NAME into the bundle's /bin.
copy_helper() {
    [[ -x $HELPERS/$1 ]] || fail "helper $HELPERS/$1 not built (make $HELPERS/$1)"
    cp "$HELPERS/$1" "$BUNDLE/rootfs/bin/$1"
}

# run_ctr ID [RUN FLAGS...]: `run` in the foreground; sets out/err/rc.
run_ctr() {
    local id=$1; shift
    capture zrun run "$@" --bundle "$BUNDLE" "$id"
}

# start_ctr ID: `run --detach` with stdio to $TEST_TMP/ID.{out,err}; fails
# the test when it does not succeed.
start_ctr() {
    local id=$1; shift
    zrun run --detach "$@" --bundle "$BUNDLE" "$id" \
        </dev/null >"$TEST_TMP/$id.out" 2>"$TEST_TMP/$id.err" ||
        fail "run --detach $id failed: $(cat "$TEST_TMP/$id.err")"
}

# create_ctr ID [FLAGS]: `create` with stdio to files; fails on error.
create_ctr() {
    local id=$1; shift
    zrun create "$@" --bundle "$BUNDLE" "$id" \
        </dev/null >"$TEST_TMP/$id.out" 2>"$TEST_TMP/$id.err" ||
        fail "create $id failed: $(cat "$TEST_TMP/$id.err")"
}

ctr_state() { zrun state "$1"; }
ctr_status() { zrun state "$1" 2>/dev/null | jq -r .status; }
ctr_pid() { zrun state "$1" | jq -r .pid; }

status_is() { [[ $(ctr_status "$1") == "$2" ]]; }
wait_status() { # ID STATUS [SECONDS]
    wait_for "${3:-10}" status_is "$1" "$2" ||
        fail "container $1 did not reach status $2 (is $(ctr_status "$1"))"
}

# proc_alive PID: PID exists and is not a zombie.
proc_alive() {
    [[ -d /proc/$1 ]] && [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) != Z ]]
}
proc_gone() { ! proc_alive "$1"; }

# ns_inode PID TYPE: the inode string of /proc/PID/ns/TYPE, e.g. net:[4026...]
ns_inode() { readlink "/proc/$1/ns/$2"; }

# cgroup_dir PID CONTROLLER: host directory of PID's cgroup for CONTROLLER
# (v1 hierarchy if mounted, else the unified one).
cgroup_dir() {
    local pid=$1 ctl=$2 line path
    if [[ -d /sys/fs/cgroup/$ctl ]] && line=$(grep -E "^[0-9]+:([^:]*,)?$ctl(,[^:]*)?:" "/proc/$pid/cgroup"); then
        path=${line#*:*:}
        echo "/sys/fs/cgroup/$ctl$path"
    else
        line=$(grep '^0::' "/proc/$pid/cgroup")
        path=${line#0::}
        if [[ -d /sys/fs/cgroup/unified ]]; then echo "/sys/fs/cgroup/unified$path"
        else echo "/sys/fs/cgroup$path"; fi
    fi
}
cgroup_v2_only() { [[ -f /sys/fs/cgroup/cgroup.controllers ]]; }

# ---------------------------------------------------- test process set-up

zit_test_exit() {
    local rc=$? c id
    trap - EXIT
    if [[ -f $TEST_TMP/ids ]]; then
        while read -r id; do
            timeout 15 "$RUNTIME" --root "$TEST_ROOT" delete --force "$id" >/dev/null 2>&1
        done < "$TEST_TMP/ids"
    fi
    for c in "${ZIT_DEFERRED[@]}"; do eval "$c" >/dev/null 2>&1; done
    exit "$rc"
}

zit_begin() {
    trap zit_test_exit EXIT
    trap 'exit 143' TERM INT
    cd "$TEST_TMP" || exit 1
}

# ----------------------------------------------------- leak check (run.sh)

# zit_leaks: print one line per resource left behind by the test.
zit_leaks() {
    local l pid mp
    # state directories
    if [[ -d $TEST_ROOT ]]; then
        for l in "$TEST_ROOT"/*; do
            [[ -e $l ]] && echo "state dir: $l"
        done
    fi
    # mounts under the test directory
    while read -r _ _ _ _ mp _; do
        [[ $mp == "$TEST_TMP"* ]] && echo "mount: $mp"
    done < /proc/self/mountinfo
    # cgroup directories
    find /sys/fs/cgroup -mindepth 1 -type d -name "*${ZIT_PREFIX}*" 2>/dev/null | sed 's/^/cgroup: /'
    # network namespaces
    ip netns list 2>/dev/null | awk -v p="$ZIT_PREFIX" 'index($1, p) == 1 { print "netns: " $1 }'
    # processes; a task killed a moment ago may still be exiting, so a pid
    # counts only if it is still there after a short pause
    local first
    first=$(zit_leaked_pids)
    if [[ -n $first ]]; then
        sleep 0.3
        zit_leaked_pids | while read -r pid; do
            echo "process: $pid $(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null)"
        done
    fi
}

zit_leaked_pids() {
    local f pid
    {
        grep -lF -- "$TEST_TMP" /proc/[0-9]*/cmdline
        grep -lF -- "$ZIT_PREFIX" /proc/[0-9]*/cgroup
        grep -lzxF -- "ZIT_MARK=$ZIT_PREFIX" /proc/[0-9]*/environ
    } 2>/dev/null | sort -u | while read -r f; do
        pid=${f#/proc/}; pid=${pid%%/*}
        [[ $pid == "$$" || $pid == "$BASHPID" ]] && continue
        # zombies are their parent's business; only report live ones
        proc_alive "$pid" && echo "$pid"
    done
}

# zit_force_clean: remove whatever zit_leaks reports, so one broken test
# does not poison the machine.
zit_force_clean() {
    local pid mp cg n
    for pid in $(zit_leaked_pids); do kill -CONT "$pid" 2>/dev/null; kill -KILL "$pid" 2>/dev/null; done
    sleep 0.1
    # thaw frozen v1 cgroups first, or their tasks never die
    find /sys/fs/cgroup/freezer -mindepth 1 -type d -name "*${ZIT_PREFIX}*" 2>/dev/null |
        while read -r cg; do echo THAWED > "$cg/freezer.state" 2>/dev/null; done
    for n in 1 2 3; do
        awk -v p="$TEST_TMP" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
            while read -r mp; do umount -l "$mp" 2>/dev/null; done
    done
    find /sys/fs/cgroup -mindepth 1 -depth -type d -name "*${ZIT_PREFIX}*" 2>/dev/null |
        while read -r cg; do
            find "$cg" -depth -type d -exec rmdir {} \; 2>/dev/null
        done
    ip netns list 2>/dev/null | awk -v p="$ZIT_PREFIX" 'index($1, p) == 1 { print $1 }' |
        while read -r n; do ip netns delete "$n" 2>/dev/null; done
    rm -rf "${TEST_ROOT:?}"/* 2>/dev/null
    return 0
}
