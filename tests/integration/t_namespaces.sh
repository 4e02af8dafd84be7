# shellcheck shell=bash disable=SC2154  # out/err/rc are set by capture() in lib.sh
# Namespaces: new ones, shared ones, joined ones, user id mappings.

ALL_NS="cgroup ipc mnt net pid time user uts"

# ns_report ID: "type inode" lines for the container's init, read inside it.
ns_report_inside() {
    zrun exec "$1" sh -c 'for n in cgroup ipc mnt net pid time user uts; do echo "$n $(readlink /proc/self/ns/$n)"; done'
}

test_default_namespaces_new_vs_host() {
    make_bundle
    local id; id=$(new_id)
    start_ctr "$id"
    local pid; pid=$(ctr_pid "$id")
    local n new="ipc mnt net pid uts"
    for n in $ALL_NS; do
        [[ -e /proc/self/ns/$n ]] || continue
        if [[ " $new " == *" $n "* ]]; then
            assert_ne "$(ns_inode "$pid" "$n")" "$(ns_inode self "$n")" "$n namespace (should be new)"
        else
            assert_eq "$(ns_inode "$pid" "$n")" "$(ns_inode self "$n")" "$n namespace (should be the host's)"
        fi
    done
    # The view from inside agrees with the host's view of init.
    local inside; inside=$(ns_report_inside "$id")
    for n in ipc mnt net uts user; do
        assert_eq "$(awk -v n="$n" '$1 == n {print $2}' <<<"$inside")" "$(ns_inode "$pid" "$n")" "$n seen from inside"
    done
    expect_ok zrun exec "$id" sh -c 'tr "\0" " " < /proc/1/cmdline'
    assert_eq "$out" "sleep 1000 " "pid 1 in the container"
}

test_pid_namespace_init_is_pid_1() {
    make_bundle
    set_args sh -c 'echo $$; ps -o pid,comm | tail -n +2 | wc -l'
    local id; id=$(new_id)
    run_ctr "$id"
    assert_eq "$rc" 0 "exit code; stderr: $err"
    assert_eq "$(head -1 <<<"$out")" 1 "pid of the container's init"
    # sh, ps, tail, wc: only the container's own processes are visible
    (( $(tail -1 <<<"$out") <= 4 )) || fail "container sees host processes: $out"
}

test_host_namespaces_when_absent() {
    make_bundle
    remove_namespace pid
    remove_namespace network
    local id; id=$(new_id)
    start_ctr "$id"
    local pid; pid=$(ctr_pid "$id")
    assert_eq "$(ns_inode "$pid" pid)" "$(ns_inode self pid)" "pid namespace without a pid entry"
    assert_eq "$(ns_inode "$pid" net)" "$(ns_inode self net)" "net namespace without a network entry"
    assert_ne "$(ns_inode "$pid" mnt)" "$(ns_inode self mnt)" "mount namespace"
}

test_cgroup_namespace() {
    make_bundle
    add_namespace cgroup
    set_args sh -c 'readlink /proc/self/ns/cgroup; cat /proc/self/cgroup'
    local id; id=$(new_id)
    run_ctr "$id"
    assert_eq "$rc" 0 "exit code; stderr: $err"
    assert_ne "$(head -1 <<<"$out")" "$(ns_inode self cgroup)" "cgroup namespace"
    # Inside a cgroup namespace every path is relative to the container's cgroup.
    local line
    while read -r line; do
        [[ $line == *:/ ]] || fail "cgroup path not at the namespace root: $line (all: $out)"
    done < <(tail -n +2 <<<"$out" | grep -v '^[0-9]*:name=systemd:')
}

test_time_namespace_offsets() {
    runc_known "runc 1.1 has no time namespace"
    make_bundle
    add_namespace time
    cfg '.linux.timeOffsets = {boottime: {secs: 1000000, nanosecs: 0}, monotonic: {secs: 2000000, nanosecs: 0}}'
    set_args sh -c 'readlink /proc/self/ns/time; cut -d. -f1 /proc/uptime'
    local id; id=$(new_id)
    run_ctr "$id"
    assert_eq "$rc" 0 "exit code; stderr: $err"
    assert_ne "$(head -1 <<<"$out")" "$(ns_inode self time)" "time namespace"
    (( $(tail -1 <<<"$out") >= 1000000 )) || fail "boottime offset not applied: uptime $(tail -1 <<<"$out")"
}

test_all_eight_namespaces() {
    runc_known "runc 1.1 has no time namespace"
    make_bundle
    add_namespace user
    add_namespace cgroup
    add_namespace time
    cfg '.linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
         | .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]'
    local id; id=$(new_id)
    start_ctr "$id"
    local pid n; pid=$(ctr_pid "$id")
    for n in $ALL_NS; do
        assert_ne "$(ns_inode "$pid" "$n")" "$(ns_inode self "$n")" "$n namespace"
    done
}

test_user_namespace_mapping() {
    make_bundle
    add_namespace user
    cfg '.linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
         | .linux.gidMappings = [{containerID: 0, hostID: 200000, size: 65536}]'
    set_args sh -c 'touch /tmp/made-inside; exec sleep 1000'
    local id; id=$(new_id)
    start_ctr "$id"
    local pid; pid=$(ctr_pid "$id")
    assert_ne "$(ns_inode "$pid" user)" "$(ns_inode self user)" "user namespace"
    # The host sees the mapped ids ...
    assert_match "$(grep '^Uid:' "/proc/$pid/status")" '^Uid:[[:space:]]+100000[[:space:]]+100000' "host view of uid"
    assert_match "$(grep '^Gid:' "/proc/$pid/status")" '^Gid:[[:space:]]+200000[[:space:]]+200000' "host view of gid"
    wait_for 5 test -e "$BUNDLE/rootfs/tmp/made-inside" || fail "file not created inside"
    assert_eq "$(stat -c %u:%g "$BUNDLE/rootfs/tmp/made-inside")" 100000:200000 "owner of a file made inside"
    # ... the container sees root.
    expect_ok zrun exec "$id" sh -c 'id -u; id -g; cat /proc/self/uid_map; cat /proc/self/gid_map'
    assert_eq "$(sed -n 1p <<<"$out")" 0 "uid inside"
    assert_eq "$(sed -n 2p <<<"$out")" 0 "gid inside"
    assert_match "$(sed -n 3p <<<"$out")" '^ *0 +100000 +65536$' "uid_map inside"
    assert_match "$(sed -n 4p <<<"$out")" '^ *0 +200000 +65536$' "gid_map inside"
    # Host root's files are not the container's: writing /etc is refused.
    capture zrun exec "$id" sh -c 'echo x > /etc/hostile'
    assert_ne "$rc" 0 "write to a host-root-owned directory from a user namespace"
    [[ ! -e $BUNDLE/rootfs/etc/hostile ]] || fail "container root wrote into a host-root-owned dir"
}

test_join_netns_by_path() {
    need_cmd ip
    local ns=${ZIT_PREFIX}net
    ip netns add "$ns" || skip "ip netns add failed"
    defer "ip netns delete $ns"
    ip -n "$ns" link set lo up && ip -n "$ns" addr add 10.213.7.1/32 dev lo ||
        fail "configuring lo in $ns failed"
    make_bundle
    add_namespace network "/var/run/netns/$ns"
    set_args sh -c 'readlink /proc/self/ns/net; ip addr show lo'
    local id; id=$(new_id)
    run_ctr "$id"
    assert_eq "$rc" 0 "exit code; stderr: $err"
    assert_eq "$(head -1 <<<"$out")" "net:[$(stat -L -c %i "/var/run/netns/$ns")]" "joined netns"
    assert_contains "$out" 10.213.7.1 "addresses in the joined netns"
}

test_join_other_containers_namespaces() {
    make_bundle
    cfg '.hostname = "first-ctr"'
    local a; a=$(new_id a)
    start_ctr "$a"
    local apid; apid=$(ctr_pid "$a")
    make_bundle "$TEST_TMP/bundle2"
    cfg 'del(.hostname)'
    add_namespace ipc "/proc/$apid/ns/ipc"
    add_namespace uts "/proc/$apid/ns/uts"
    add_namespace network "/proc/$apid/ns/net"
    local b; b=$(new_id b)
    start_ctr "$b"
    local bpid n; bpid=$(ctr_pid "$b")
    for n in ipc uts net; do
        assert_eq "$(ns_inode "$bpid" "$n")" "$(ns_inode "$apid" "$n")" "$n joined from the first container"
    done
    assert_ne "$(ns_inode "$bpid" pid)" "$(ns_inode "$apid" pid)" "pid namespace stays separate"
    expect_ok zrun exec "$b" hostname
    assert_eq "$out" first-ctr "hostname seen through the joined uts namespace"
}
