# shellcheck shell=bash disable=SC2154  # out/err/rc are set by capture() in lib.sh
# Rootless runtime (docs/rootless.md): zone run by an unprivileged user, and
# by root of an engine's user namespace (rootless podman).
#
# Each test creates its own users (zoneuser-PID-KIND): "one" has no
# subordinate ids (a one-id mapping), "multi" has 65536 of each in
# /etc/subuid and /etc/subgid (multi-range mappings through newuidmap and
# newgidmap). Users, their homes and their subid lines are removed when the
# test exits, failed or not. Each user has an XDG_RUNTIME_DIR of its own
# under $TEST_TMP, where zone keeps its state.
#
# On a pure cgroup v2 host the tests delegate a cgroup to the user (as an
# administrator or systemd's Delegate=yes would) and expect resource limits
# to be applied; elsewhere they expect the documented refusal.

# timeout test_rootless_podman_network_none_and_host 300
# timeout test_rootless_podman_private_network 120
# timeout test_rootless_resource_limits 180

# shellcheck source=rootless_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/rootless_lib.sh"

# rl_bundle: BUNDLE = the busybox rootfs, owned by the user, with the
# config `zone spec --rootless` writes for the user (non-interactive).
rl_bundle() {
    BUNDLE=$TEST_TMP/bundle-$RL_USER
    mkdir -p "$BUNDLE"
    cp -a "$ZIT_CACHE/rootfs" "$BUNDLE/rootfs"
    chown -R "$RL_USER:" "$BUNDLE"
    (cd "$BUNDLE" && rl_zone spec --rootless) || fail "spec --rootless as $RL_USER failed"
    cfg '.process.terminal = false | .root.readonly = false
         | .process.env += ["ZIT_MARK=" + $mark]' --arg mark "$ZIT_PREFIX"
    defer rl_delete_all
}

rl_delete_all() {
    local id
    [[ -f $TEST_TMP/ids ]] || return 0
    while read -r id; do rl_zone delete --force "$id" >/dev/null 2>&1; done < "$TEST_TMP/ids"
}

rl_status() { rl_zone state "$1" 2>/dev/null | jq -r .status; }
rl_status_is() { [[ $(rl_status "$1") == "$2" ]]; }

# rl_state_gone ID: nothing left for ID, and zone wrote nothing to /run/zone.
rl_state_gone() {
    [[ ! -e $RL_XDG/zone/$1 ]] || fail "state directory $RL_XDG/zone/$1 left behind"
    [[ ! -e /run/zone/$1 ]] || fail "state written to /run/zone/$1 by a rootless zone"
}

# ---------------------------------------------------- delegated cgroup (v2)

# rl_delegate: on a pure cgroup v2 host, RL_DELEG (relative to the cgroup2
# mount) is a cgroup owned by the user, without processes, and rl_in_deleg
# runs commands from its leaf RL_DELEG/shell. Elsewhere RL_DELEG is empty.
RL_DELEG=""
rl_delegate() {
    [[ $(stat -fc %T /sys/fs/cgroup 2>/dev/null) == cgroup2fs ]] || return 0
    local d=/sys/fs/cgroup/${ZIT_PREFIX}deleg c
    mkdir "$d" "$d/shell" || fail "mkdir $d"
    defer "rmdir $d/shell $d"
    # give the delegated cgroup every controller the root has
    for c in $(cat /sys/fs/cgroup/cgroup.controllers); do
        echo "+$c" > /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null
    done
    chown "$RL_USER" "$d" "$d/cgroup.procs" "$d/cgroup.subtree_control" "$d/cgroup.threads" \
        "$d/shell" "$d/shell/cgroup.procs" "$d/shell/cgroup.subtree_control" \
        "$d/shell/cgroup.threads"
    RL_DELEG=/${ZIT_PREFIX}deleg
}
# rl_in_deleg rl_zone|rl_as ARGS...: run from the delegated leaf.
rl_in_deleg() {
    RL_MOVE=${RL_DELEG:+/sys/fs/cgroup$RL_DELEG/shell/cgroup.procs} "$@"
}

# ------------------------------------------------------------------ tests

test_rootless_one_id_lifecycle() {
    rl_user one
    rl_bundle
    local c=$BUNDLE/config.json id
    assert_eq "$(jq -c .linux.uidMappings "$c")" "[{\"containerID\":0,\"hostID\":$RL_UID,\"size\":1}]" \
        "uidMappings of spec --rootless for a user without subordinate ids"
    assert_eq "$(jq -c .linux.gidMappings "$c")" "[{\"containerID\":0,\"hostID\":$RL_GID,\"size\":1}]" \
        "gidMappings of spec --rootless for a user without subordinate ids"

    # run, in the foreground
    cfg '.process.args = ["sh", "-c", "id -u; id -g; cat /proc/self/uid_map; hostname"]'
    id=$(new_id)
    capture rl_zone run --bundle "$BUNDLE" "$id"
    assert_eq "$rc" 0 "rootless run; stderr: $err"
    assert_eq "$(sed -n 1p <<<"$out")" 0 "uid inside"
    assert_eq "$(sed -n 2p <<<"$out")" 0 "gid inside"
    assert_match "$(sed -n 3p <<<"$out")" "^ +0 +$RL_UID +1$" "uid_map inside"
    assert_eq "$(sed -n 4p <<<"$out")" zone "hostname (own UTS namespace)"
    rl_state_gone "$id"

    # create / state / start / exec / kill / delete
    cfg '.process.args = ["sleep", "1000"]'
    id=$(new_id)
    capture rl_zone create --bundle "$BUNDLE" "$id"
    assert_eq "$rc" 0 "rootless create; stderr: $err"
    [[ -d $RL_XDG/zone/$id ]] || fail "no state directory under \$XDG_RUNTIME_DIR/zone"
    assert_eq "$(stat -c %U "$RL_XDG/zone/$id")" "$RL_USER" "owner of the state directory"
    assert_eq "$(rl_status "$id")" created "status after create"
    assert_eq "$(rl_zone list -q)" "$id" "list"
    expect_ok rl_zone start "$id"
    wait_for 10 rl_status_is "$id" running || fail "not running after start: $(rl_status "$id")"
    local pid; pid=$(rl_zone state "$id" | jq -r .pid)
    assert_eq "$(stat -c %u "/proc/$pid")" "$RL_UID" "host uid of the container's init"
    capture rl_zone exec "$id" sh -c 'id -u; cat /proc/1/cmdline | tr "\0" " "'
    assert_eq "$rc" 0 "exec; stderr: $err"
    assert_eq "$(sed -n 1p <<<"$out")" 0 "uid of exec"
    assert_contains "$out" "sleep 1000" "exec sees the container's pid 1"
    # uid 1000 has no mapping here: refused, naming the map
    capture rl_zone exec --user 1000 "$id" id
    assert_ne "$rc" 0 "exec --user 1000 with a one-id mapping"
    assert_contains "$err" "process.user.uid: uid 1000 is not mapped in the container's user namespace (uid_map: 0 $RL_UID 1)"
    expect_ok rl_zone kill "$id" KILL
    wait_for 10 rl_status_is "$id" stopped || fail "not stopped after kill: $(rl_status "$id")"
    expect_ok rl_zone delete "$id"
    rl_state_gone "$id"
}

test_rootless_multi_range_uid_1000() {
    rl_user multi
    rl_bundle
    local c=$BUNDLE/config.json id
    assert_eq "$(jq -c .linux.uidMappings "$c")" \
        "[{\"containerID\":0,\"hostID\":$RL_UID,\"size\":1},{\"containerID\":1,\"hostID\":$RL_SUBUID,\"size\":65536}]" \
        "uidMappings of spec --rootless from /etc/subuid"
    assert_eq "$(jq -c .linux.gidMappings "$c")" \
        "[{\"containerID\":0,\"hostID\":$RL_GID,\"size\":1},{\"containerID\":1,\"hostID\":$RL_SUBGID,\"size\":65536}]" \
        "gidMappings of spec --rootless from /etc/subgid"

    # the process as uid 1000 with a supplementary group: newgidmap keeps
    # setgroups allowed
    cfg '.process.user = {uid: 1000, gid: 1000, additionalGids: [5]}
         | .process.args = ["sh", "-c", "id; touch /tmp/by-1000; cat /proc/self/uid_map | wc -l"]'
    id=$(new_id)
    capture rl_zone run --bundle "$BUNDLE" "$id"
    assert_eq "$rc" 0 "rootless run as uid 1000; stderr: $err"
    assert_contains "$out" "uid=1000(user) gid=1000(user) groups=5" "id as uid 1000"
    assert_eq "$(tail -1 <<<"$out" | tr -d ' ')" 2 "lines of uid_map"
    assert_eq "$(stat -c %u:%g "$BUNDLE/rootfs/tmp/by-1000")" \
        "$((RL_SUBUID + 999)):$((RL_SUBGID + 999))" "host owner of a file made by uid 1000"
    rl_state_gone "$id"

    # lifecycle with the multi-range mapping, exec as uid 1000
    cfg '.process.user = {uid: 0, gid: 0} | .process.args = ["sleep", "1000"]'
    id=$(new_id)
    expect_ok rl_zone create --bundle "$BUNDLE" "$id"
    assert_eq "$(rl_status "$id")" created "status after create"
    expect_ok rl_zone start "$id"
    wait_for 10 rl_status_is "$id" running || fail "not running after start"
    capture rl_zone exec --user 1000:1000 "$id" id -u
    assert_eq "$rc" 0 "exec --user 1000 with a multi-range mapping; stderr: $err"
    assert_eq "$out" 1000 "uid of exec --user 1000"
    expect_ok rl_zone kill "$id" KILL
    wait_for 10 rl_status_is "$id" stopped || fail "not stopped after kill"
    expect_ok rl_zone delete "$id"
    rl_state_gone "$id"
}

test_rootless_exec_detached() {
    rl_user multi
    rl_bundle
    cfg '.process.args = ["sleep", "1000"]'
    local id; id=$(new_id)
    capture rl_zone run --detach --bundle "$BUNDLE" "$id"
    assert_eq "$rc" 0 "run --detach; stderr: $err"
    assert_eq "$(rl_status "$id")" running "status after run --detach"
    capture rl_zone exec "$id" sh -c 'echo exec-ok; id -u'
    assert_eq "$rc" 0 "exec; stderr: $err"
    assert_eq "$out" $'exec-ok\n0' "exec output"
    capture rl_zone exec --env ZIT_X=1 --cwd /tmp "$id" sh -c 'echo "$ZIT_X $PWD"; exit 7'
    assert_eq "$rc" 7 "exit status of exec passed through"
    assert_eq "$out" "1 /tmp" "exec --env --cwd"
    # exec --detach, then the process shows in the container
    capture rl_zone exec --detach --pid-file "$TEST_TMP/xdg-multi/exec.pid" "$id" sleep 999
    assert_eq "$rc" 0 "exec --detach; stderr: $err"
    wait_for 5 rl_zone exec "$id" sh -c 'ps | grep -q "[s]leep 999"' ||
        fail "the detached exec is not running in the container"
    local epid; epid=$(cat "$TEST_TMP/xdg-multi/exec.pid")
    assert_eq "$(stat -c %u "/proc/$epid")" "$RL_UID" "host uid of the detached exec"
    expect_ok rl_zone delete --force "$id"
    rl_state_gone "$id"
    wait_for 5 proc_gone "$epid" || fail "detached exec $epid survived delete --force"
}

test_rootless_state_root() {
    rl_user one
    rl_bundle
    # no XDG_RUNTIME_DIR, no --root: a clear error, nothing written
    capture runuser -u "$RL_USER" -- env -i PATH="$RL_PATH" HOME="$RL_HOME" "$RUNTIME" list
    assert_ne "$rc" 0 "list without XDG_RUNTIME_DIR"
    assert_contains "$err" "XDG_RUNTIME_DIR is not set: running as uid $RL_UID" "error without XDG_RUNTIME_DIR"
    assert_contains "$err" "or give --root DIR"
    # verbs without state still work
    capture runuser -u "$RL_USER" -- env -i PATH="$RL_PATH" HOME="$RL_HOME" "$RUNTIME" features
    assert_eq "$rc" 0 "features without XDG_RUNTIME_DIR; stderr: $err"
    # --root works without XDG_RUNTIME_DIR
    cfg '.process.args = ["true"]'
    local id; id=$(new_id)
    capture runuser -u "$RL_USER" -- env -i PATH="$RL_PATH" HOME="$RL_HOME" \
        "$RUNTIME" --root "$RL_HOME/state" run --bundle "$BUNDLE" "$id"
    assert_eq "$rc" 0 "run --root without XDG_RUNTIME_DIR; stderr: $err"
    [[ -d $RL_HOME/state ]] || fail "--root $RL_HOME/state was not used"
    [[ ! -e $RL_HOME/state/$id ]] || fail "state of $id left in --root"
    # relative XDG_RUNTIME_DIR is refused
    capture runuser -u "$RL_USER" -- env -i PATH="$RL_PATH" XDG_RUNTIME_DIR=rel "$RUNTIME" list
    assert_ne "$rc" 0 "list with a relative XDG_RUNTIME_DIR"
    assert_contains "$err" "XDG_RUNTIME_DIR must be an absolute path"
}

test_rootless_flag() {
    rl_user one
    rl_bundle
    cfg '.process.args = ["true"]'
    local id
    # --rootless false as a user: cgroups are managed as root would, which
    # the user may not do
    id=$(new_id)
    capture rl_zone --rootless false run --bundle "$BUNDLE" "$id"
    assert_ne "$rc" 0 "--rootless false as an unprivileged user"
    assert_contains "$err" "cgroup" "error of --rootless false"
    assert_contains "$err" "ermission denied" "error of --rootless false"
    rl_state_gone "$id"
    # --rootless auto (the default) and true as the user run
    id=$(new_id)
    expect_ok rl_zone --rootless auto run --bundle "$BUNDLE" "$id"
    id=$(new_id)
    expect_ok rl_zone --rootless true run --bundle "$BUNDLE" "$id"
    capture rl_zone --rootless maybe list
    assert_ne "$rc" 0 "--rootless maybe"
    assert_contains "$err" 'expected true, false or auto, got "maybe"'
    # root with --rootless true: cgroups as for a user (delegated or none)
    make_bundle "$TEST_TMP/rootbundle"
    set_args sh -c 'cat /proc/self/cgroup'
    id=$(new_id)
    run_ctr "$id"
    assert_eq "$rc" 0 "root run; stderr: $err"
    assert_contains "$out" "$id" "root's container has a cgroup of its own"
    id=$(new_id)
    local v2_before; v2_before=$(sed -n 's/.* - cgroup2 [^ ]* //p' /proc/self/mountinfo | head -1)
    capture zrun --rootless true run --bundle "$BUNDLE" "$id"
    assert_eq "$rc" 0 "root run --rootless true; stderr: $err"
    # its fresh cgroup2 mount (no hierarchies of its own) must not change
    # the host hierarchy's flags (nsdelegate, memory_recursiveprot)
    assert_eq "$(sed -n 's/.* - cgroup2 [^ ]* //p' /proc/self/mountinfo | head -1)" "$v2_before" \
        "host cgroup2 mount options after a container that mounts cgroup2 itself"
    if [[ $(stat -fc %T /sys/fs/cgroup) == cgroup2fs ]]; then
        # root's own cgroup belongs to root: delegated, the container
        # gets <own>/zone-<id> as a user's would
        assert_contains "$out" "/zone-$id" "cgroup of a --rootless true container (pure v2)"
    else
        assert_not_contains "$out" "$id" "cgroups of a --rootless true container (hybrid/v1)"
        assert_contains "$err" "running rootless without a delegated cgroup; not using cgroups"
    fi
}

test_rootless_clear_errors() {
    rl_user one
    rl_bundle
    local orig; orig=$(cat "$BUNDLE/config.json")
    try_cfg() { # FILTER EXPECTED
        jq "$1 | .process.args = [\"true\"]" <<<"$orig" > "$BUNDLE/config.json" || fail "jq $1"
        local id; id=$(new_id)
        capture rl_zone run --bundle "$BUNDLE" "$id"
        assert_ne "$rc" 0 "run with [$1]"
        assert_contains "$err" "$2" "error for [$1]"
        rl_state_gone "$id"
    }
    try_cfg '.process.user.uid = 1000' \
        "process.user.uid: 1000 is not mapped by linux.uidMappings (it maps container uids 0)"
    try_cfg '.process.user.additionalGids = [0]' \
        "process.user.additionalGids: cannot be set when linux.gidMappings maps only the own gid ($RL_GID)"
    try_cfg '.linux.uidMappings += [{containerID: 1, hostID: 100000, size: 65536}]' \
        "linux.uidMappings[1]: host uids 100000-165535 are not delegated to user $RL_USER (uid $RL_UID) in /etc/subuid (it has no entry for the user)"
    try_cfg '.linux.gidMappings = [{containerID: 0, hostID: 0, size: 1}]' \
        "linux.gidMappings[0]: host gid 0 is not delegated to user $RL_USER"
    try_cfg '.linux.uidMappings = [{containerID: 1, hostID: '"$RL_UID"', size: 1}]' \
        "linux.uidMappings: container uid 0 is not mapped"
    try_cfg '.linux.namespaces |= map(select(.type != "user")) | del(.linux.uidMappings, .linux.gidMappings)' \
        "linux.namespaces: zone runs as uid $RL_UID without CAP_SYS_ADMIN, so the container needs a user namespace"
    try_cfg '.linux.namespaces |= map(select(.type != "uts"))' \
        "hostname: unable to set hostname without a private UTS namespace"
    try_cfg '.linux.devices = [{path: "/dev/null", type: "c", major: 1, minor: 5}]' \
        "linux.devices[0]: device /dev/null: in a user namespace devices cannot be created, only bind-mounted from the host, and the host's /dev/null is c 1:3, not c 1:5"
    try_cfg '.process.oomScoreAdj = -500' "process.oomScoreAdj: writing -500"
    try_cfg '.process.rlimits = [{type: "RLIMIT_NOFILE", soft: 1024, hard: 1073741816}]' \
        "raising a hard limit needs CAP_SYS_RESOURCE on the host"
    # a device the host has is bind-mounted
    jq '.linux.devices = [{path: "/dev/zero", type: "c", major: 1, minor: 5}]
        | .process.args = ["sh", "-c", "head -c 3 /dev/zero | od -An -tx1"]' <<<"$orig" > "$BUNDLE/config.json"
    local id; id=$(new_id)
    capture rl_zone run --bundle "$BUNDLE" "$id"
    assert_eq "$rc" 0 "linux.devices with a host device; stderr: $err"
    assert_eq "$(tr -d ' ' <<<"$out")" 000000 "reading the bound /dev/zero"
}

# The engine case: root of a user namespace made for the user (as rootless
# podman makes one), XDG_RUNTIME_DIR set, no --root, a config without a
# user namespace and without cgroupsPath.
test_rootless_in_engine_userns() {
    need_cmd unshare
    rl_user one
    rl_bundle
    cfg '.linux.namespaces |= map(select(.type != "user")) | del(.linux.uidMappings, .linux.gidMappings)
         | del(.linux.cgroupsPath)
         | .mounts |= map(if .destination == "/sys"
                           then {destination: "/sys", type: "sysfs", source: "sysfs",
                                 options: ["nosuid", "noexec", "nodev", "ro"]} else . end)
         | .process.args = ["sleep", "1000"]'
    local id; id=$(new_id)
    # one shell in one user namespace for the whole lifecycle: exec has to
    # come from the namespace that owns the container's
    cat > "$TEST_TMP/engine.sh" <<EOF
set -e
z() { "$RUNTIME" "\$@"; }
echo "euid \$(id -u)"
z create --bundle "$BUNDLE" $id
z start $id
z state $id | grep -q '"status": "running"'
z exec $id sh -c 'echo exec-ok; mount | grep -E " on /(proc|sys|dev/null) "; ls -l /dev/null'
z kill $id KILL
for i in 1 2 3 4 5 6 7 8 9 10; do z state $id | grep -q stopped && break; sleep 0.1; done
z delete $id
# without a pid namespace: the host's /proc is bound, proc cannot be mounted
mkdir -p "$RL_HOME/nopid"
jq '.linux.namespaces |= map(select(.type != "pid")) | .process.args = ["sh", "-c", "test -e /proc/1/status && echo shared-pidns"]' \
    "$BUNDLE/config.json" > "$RL_HOME/nopid/config.json"
ln -sfn "$BUNDLE/rootfs" "$RL_HOME/nopid/rootfs"
z run --bundle "$RL_HOME/nopid" ${id}p
EOF
    echo "${id}p" >> "$TEST_TMP/ids"
    chmod 755 "$TEST_TMP/engine.sh"
    capture rl_as unshare --user --map-root-user sh "$TEST_TMP/engine.sh"
    assert_eq "$rc" 0 "lifecycle as root of a user namespace; stdout: $out; stderr: $err"
    assert_contains "$out" "euid 0"
    assert_contains "$out" "exec-ok"
    assert_match "$out" "proc on /proc type proc" "a new proc for the container's pid namespace"
    assert_match "$out" " on /sys type sysfs" "/sys (bound from the host without a network namespace)"
    assert_match "$out" "on /dev/null type devtmpfs" "/dev/null bound from the host"
    assert_contains "$out" "shared-pidns"
    rl_state_gone "$id"
    rl_state_gone "${id}p"
}

# Resource limits: applied in a delegated cgroup (pure v2), refused with the
# documented message otherwise; `update` likewise.
test_rootless_resource_limits() {
    rl_user one
    rl_bundle
    rl_delegate
    local MiB=$((1024 * 1024))
    # name | linux.resources | v2 file | value expected there ("" = any)
    local cases=(
        "memory|{\"memory\":{\"limit\":$((32 * MiB))}}|memory.max|$((32 * MiB))"
        "memory-swap|{\"memory\":{\"limit\":$((32 * MiB)),\"swap\":$((64 * MiB))}}|memory.swap.max|$((32 * MiB))"
        "cpu-shares|{\"cpu\":{\"shares\":512}}|cpu.weight|20"
        "cpu-quota|{\"cpu\":{\"quota\":50000,\"period\":100000}}|cpu.max|50000 100000"
        "cpuset|{\"cpu\":{\"cpus\":\"0\"}}|cpuset.cpus|0"
        "pids|{\"pids\":{\"limit\":64}}|pids.max|64"
        "blkio-weight|{\"blockIO\":{\"weight\":500}}||"
        "hugepages|{\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":$((2 * MiB))}]}|hugetlb.2MB.max|$((2 * MiB))"
        "unified|{\"unified\":{\"memory.high\":\"$((48 * MiB))\"}}|memory.high|$((48 * MiB))"
        "network|{\"network\":{\"classID\":1}}||"
        "devices|{\"devices\":[{\"allow\":false,\"type\":\"c\",\"major\":1,\"minor\":3,\"access\":\"rwm\"}]}||"
    )
    local entry name res file want id applied=0 refused=0
    for entry in "${cases[@]}"; do
        IFS='|' read -r name res file want <<<"$entry"
        id=$(new_id "$name")
        cfg '.linux.resources = $r | .process.args = ["sh", "-c", "cat /sys/fs/cgroup/" + $f + " 2>&1 || true"]' \
            --argjson r "$res" --arg f "${file:-cgroup.procs}"
        # /sys/fs/cgroup in the container shows its own cgroup
        [[ -n $RL_DELEG ]] && cfg '.linux.cgroupsPath = $p' --arg p "$RL_DELEG/$id"
        capture rl_in_deleg rl_zone run --bundle "$BUNDLE" "$id"
        if [[ $rc == 0 ]]; then
            [[ -n $RL_DELEG ]] || fail "$name: limits applied without a delegated cgroup? stdout: $out"
            [[ -z $want || $out == "$want" ]] || fail "$name: $file is [$out], expected [$want]"
            applied=$((applied + 1))
        else
            assert_contains "$err" "$RL_LIMITS_MSG" "$name: error"
            refused=$((refused + 1))
        fi
        rl_state_gone "$id"
        [[ -z $RL_DELEG || ! -e /sys/fs/cgroup$RL_DELEG/$id ]] || fail "$name: cgroup left behind"
    done
    echo "resource limits: $applied applied, $refused refused (delegated: ${RL_DELEG:-none})" >&2
    [[ -n $RL_DELEG ]] || assert_eq "$applied" 0 "limits applied without delegation"

    # update on a running container
    cfg 'del(.linux.resources) | .process.args = ["sleep", "1000"]'
    id=$(new_id upd)
    [[ -n $RL_DELEG ]] && cfg '.linux.cgroupsPath = $p' --arg p "$RL_DELEG/$id"
    capture rl_in_deleg rl_zone run --detach --bundle "$BUNDLE" "$id"
    assert_eq "$rc" 0 "run --detach; stderr: $err"
    local flags=(--memory 64M --pids-limit 32 --cpu-quota 20000 --cpu-share 256 --blkio-weight 300)
    local i
    for ((i = 0; i < ${#flags[@]}; i += 2)); do
        capture rl_zone update "${flags[i]}" "${flags[i + 1]}" "$id"
        if [[ -z $RL_DELEG ]]; then
            assert_ne "$rc" 0 "update ${flags[i]} without a cgroup"
            assert_contains "$err" "$RL_NO_CGROUP_MSG" "update ${flags[i]}"
        elif [[ $rc != 0 ]]; then
            # a controller the user could not enable (e.g. io without BFQ)
            echo "update ${flags[i]} refused in the delegated cgroup: $err" >&2
        fi
    done
    if [[ -n $RL_DELEG ]]; then
        assert_eq "$(cat "/sys/fs/cgroup$RL_DELEG/$id/memory.max")" $((64 * MiB)) "memory.max after update"
        assert_eq "$(cat "/sys/fs/cgroup$RL_DELEG/$id/pids.max")" 32 "pids.max after update"
    fi
    expect_ok rl_zone delete --force "$id"
    rl_state_gone "$id"
}

# podman as the user: HOME, storage and runroot of its own, vfs, the image
# imported from the busybox rootfs.
rl_podman() {
    rl_as podman --root "$RL_HOME/storage" --runroot "$RL_XDG/containers" \
        --storage-driver vfs --cgroup-manager cgroupfs --events-backend file "$@"
}
rl_podman_setup() {
    need_cmd podman
    rl_user multi
    tar -C "$ZIT_CACHE/rootfs" -cf "$RL_HOME/busybox.tar" . || fail "tar the busybox rootfs"
    chown "$RL_USER" "$RL_HOME/busybox.tar"
    capture rl_podman import "$RL_HOME/busybox.tar" localhost/zit-busybox
    [[ $rc == 0 ]] || skip "rootless podman cannot import an image here: ${err//$'\n'/ }"
    defer "rl_podman rm -af -t 0 >/dev/null 2>&1"
}

test_rootless_podman_network_none_and_host() {
    rl_podman_setup
    local net
    for net in none host; do
        capture rl_podman run --rm --runtime "$RUNTIME" --network "$net" --env "ZIT_MARK=$ZIT_PREFIX" \
            localhost/zit-busybox sh -c 'id -u; cat /proc/self/uid_map | wc -l; ls /sys/class/net | sort | tr "\n" " "'
        assert_eq "$rc" 0 "podman run --network $net with zone; stderr: $err"
        assert_eq "$(sed -n 1p <<<"$out")" 0 "uid in podman's container (--network $net)"
        assert_eq "$(sed -n 2p <<<"$out" | tr -d ' ')" 2 "uid_map lines: own uid plus the subordinate range"
        if [[ $net == none ]]; then
            assert_eq "$(sed -n 3p <<<"$out")" "lo " "interfaces with --network none"
        else
            assert_eq "$(sed -n 3p <<<"$out")" "$(ls /sys/class/net | sort | tr '\n' ' ')" \
                "interfaces with --network host (the host's)"
        fi
    done
    # a detached container, exec into it, stop and remove it
    capture rl_podman run -d --name "${ZIT_PREFIX}pd" --runtime "$RUNTIME" --network none \
        --env "ZIT_MARK=$ZIT_PREFIX" localhost/zit-busybox sleep 1000
    assert_eq "$rc" 0 "podman run -d; stderr: $err"
    capture rl_podman exec "${ZIT_PREFIX}pd" sh -c 'echo podman-exec-ok; id -u'
    assert_eq "$rc" 0 "podman exec; stderr: $err"
    assert_eq "$out" $'podman-exec-ok\n0' "podman exec output"
    # zone kept its state where rootless podman told it: $XDG_RUNTIME_DIR
    local cid; cid=$(rl_podman inspect --format '{{.Id}}' "${ZIT_PREFIX}pd")
    [[ -d $RL_XDG/zone/$cid ]] || fail "no zone state for $cid under $RL_XDG/zone: $(ls "$RL_XDG/zone" 2>&1)"
    expect_ok rl_podman rm -f -t 0 "${ZIT_PREFIX}pd"
    [[ ! -e $RL_XDG/zone/$cid ]] || fail "zone state of $cid left after podman rm"
}

test_rootless_podman_private_network() {
    need_cmd podman
    # the user must be able to open /dev/net/tun; the tests do not change it
    if ! runuser -u nobody -- sh -c ': <>/dev/net/tun' 2>/dev/null; then
        skip "/dev/net/tun is mode $(stat -c %a /dev/net/tun): an unprivileged user cannot open it, so pasta/slirp4netns cannot run"
    fi
    local mode="" v
    v=$(podman --version | awk '{print $3}')
    if command -v pasta >/dev/null && [[ $(printf '%s\n' 4.4.0 "$v" | sort -V | head -1) == 4.4.0 ]]; then
        mode=pasta
    elif command -v slirp4netns >/dev/null; then
        mode=slirp4netns
    fi
    [[ -n $mode ]] || skip "podman $v has no pasta support (4.4+) and slirp4netns is not installed"
    rl_podman_setup
    capture rl_podman run --rm --runtime "$RUNTIME" --network "$mode" --env "ZIT_MARK=$ZIT_PREFIX" \
        localhost/zit-busybox sh -c 'ls /sys/class/net | sort | tr "\n" " "'
    assert_eq "$rc" 0 "podman run --network $mode with zone; stderr: $err"
    assert_match "$out" "lo " "interfaces with --network $mode"
    [[ $(wc -w <<<"$out") -ge 2 ]] || fail "no interface besides lo with --network $mode: [$out]"
    echo "podman --network $mode: interfaces $out" >&2
}
