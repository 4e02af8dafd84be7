# shellcheck shell=bash disable=SC2154  # out/err/rc are set by capture() in lib.sh
# cgroups: limits written where the kernel reads them, and effective;
# pause/resume; cgroupsPath; update; removal on delete.

MiB=$((1024 * 1024))

# cg_read PID CONTROLLER V1FILE V2FILE: a cgroup file of PID's cgroup.
cg_read() {
    local dir; dir=$(cgroup_dir "$1" "$2")
    if [[ -f $dir/$3 ]]; then cat "$dir/$3"; else cat "$dir/$4"; fi
}

test_memory_limit() {
    make_bundle
    cfg '.linux.resources.memory = {limit: $l}' --argjson l $((32 * MiB))
    if [[ -n $(tail -n +2 /proc/swaps) ]]; then
        cfg '.linux.resources.memory.swap = $l' --argjson l $((32 * MiB))
    fi
    local id; id=$(new_id)
    start_ctr "$id"
    local pid; pid=$(ctr_pid "$id")
    assert_eq "$(cg_read "$pid" memory memory.limit_in_bytes memory.max)" $((32 * MiB)) "memory limit in the cgroup"
    # dd's 48 MiB buffer does not fit: the OOM killer ends it
    capture zrun exec "$id" dd if=/dev/zero of=/dev/null bs=48M count=1
    assert_eq "$rc" 137 "exit code of a process over the memory limit"
    capture zrun exec "$id" dd if=/dev/zero of=/dev/null bs=8M count=1
    assert_eq "$rc" 0 "a process under the memory limit; stderr: $err"
}

test_pids_limit() {
    make_bundle
    cfg '.linux.resources.pids = {limit: 10}'
    local id; id=$(new_id)
    start_ctr "$id"
    local pid; pid=$(ctr_pid "$id")
    assert_eq "$(cg_read "$pid" pids pids.max pids.max)" 10 "pids.max"
    capture zrun exec "$id" sh -c 'for i in $(seq 20); do sleep 3 & done; wait'
    assert_contains_any "$out $err" "fork" "Resource temporarily unavailable" "Try again"
    (( $(cg_read "$pid" pids pids.current pids.current) <= 10 )) || fail "more than 10 pids in the cgroup"
}

test_cpu_limits() {
    make_bundle
    cfg '.linux.resources.cpu = {shares: 512, quota: 20000, period: 100000}'
    local id; id=$(new_id)
    start_ctr "$id"
    local pid; pid=$(ctr_pid "$id")
    local dir; dir=$(cgroup_dir "$pid" cpu)
    if [[ -f $dir/cpu.cfs_quota_us ]]; then
        assert_eq "$(cat "$dir/cpu.shares")" 512 "cpu.shares"
        assert_eq "$(cat "$dir/cpu.cfs_quota_us")" 20000 "cpu.cfs_quota_us"
        assert_eq "$(cat "$dir/cpu.cfs_period_us")" 100000 "cpu.cfs_period_us"
    else
        assert_eq "$(cat "$dir/cpu.max")" "20000 100000" "cpu.max"
    fi
    # Effective: a busy loop for 1 s gets about 20% of one cpu.
    local t0 t1; t0=$(date +%s%N)
    capture zrun exec "$id" timeout 1 sh -c 'while :; do :; done'
    t1=$(date +%s%N)
    local used_us
    if [[ -f $(cgroup_dir "$pid" cpuacct)/cpuacct.usage ]]; then
        used_us=$(( $(cat "$(cgroup_dir "$pid" cpuacct)/cpuacct.usage") / 1000 ))
    else
        used_us=$(awk '$1 == "usage_usec" {print $2}' "$dir/cpu.stat")
    fi
    local wall_us=$(( (t1 - t0) / 1000 ))
    (( used_us < wall_us / 2 )) || fail "container used ${used_us}us of cpu in ${wall_us}us despite a 20% quota"
}

test_cpuset() {
    make_bundle
    cfg '.linux.resources.cpu = {cpus: "0", mems: "0"}'
    set_args sh -c 'grep Cpus_allowed_list /proc/self/status; exec sleep 1000'
    local id; id=$(new_id)
    start_ctr "$id"
    local pid; pid=$(ctr_pid "$id")
    assert_eq "$(cg_read "$pid" cpuset cpuset.cpus cpuset.cpus)" 0 "cpuset.cpus"
    assert_eq "$(cg_read "$pid" cpuset cpuset.mems cpuset.mems)" 0 "cpuset.mems"
    assert_match "$(cat "$TEST_TMP/$id.out")" $'Cpus_allowed_list:\t0$' "cpus the process may use"
}

test_pause_resume() {
    make_bundle
    set_args sh -c 'i=0; while :; do i=$((i+1)); echo $i > /tmp/tick; usleep 20000; done'
    local id; id=$(new_id)
    start_ctr "$id"
    local pid; pid=$(ctr_pid "$id")
    local tick=$BUNDLE/rootfs/tmp/tick
    wait_for 5 test -s "$tick" || fail "container did not start ticking"
    expect_ok zrun pause "$id"
    assert_eq "$(ctr_status "$id")" paused "status after pause"
    local dir; dir=$(cgroup_dir "$pid" freezer)
    if [[ -f $dir/freezer.state ]]; then
        assert_eq "$(cat "$dir/freezer.state")" FROZEN "freezer.state"
    else
        assert_eq "$(cat "$(cgroup_dir "$pid" unified)/cgroup.freeze")" 1 "cgroup.freeze"
    fi
    local a b; a=$(cat "$tick"); sleep 0.4; b=$(cat "$tick")
    assert_eq "$b" "$a" "ticks while paused"
    expect_ok zrun resume "$id"
    assert_eq "$(ctr_status "$id")" running "status after resume"
    wait_for 5 test "$(cat "$tick")" != "$b" || fail "container did not tick after resume"
    # a paused container can still be deleted by force
    expect_ok zrun pause "$id"
    expect_ok zrun delete --force "$id"
    wait_for 5 proc_gone "$pid" || fail "paused process survived delete --force"
}

test_delete_removes_cgroups() {
    make_bundle
    local id; id=$(new_id)
    start_ctr "$id"
    local pid; pid=$(ctr_pid "$id")
    local dirs=() line ctl path
    while IFS=: read -r _ ctl path; do
        [[ $path == "/" ]] && continue
        if [[ -z $ctl ]]; then dirs+=("$(cgroup_dir "$pid" unified)")
        else dirs+=("$(cgroup_dir "$pid" "${ctl#name=}")"); fi
    done < "/proc/$pid/cgroup"
    ((${#dirs[@]})) || fail "container has no cgroup of its own"
    for line in "${dirs[@]}"; do [[ -d $line ]] || fail "cgroup dir $line not found"; done
    expect_ok zrun delete --force "$id"
    for line in "${dirs[@]}"; do [[ ! -d $line ]] || fail "cgroup dir $line left after delete"; done
}

test_cgroups_path() {
    make_bundle
    cfg '.linux.cgroupsPath = $p' --arg p "/${ZIT_PREFIX}custom"
    local id; id=$(new_id)
    start_ctr "$id"
    local pid; pid=$(ctr_pid "$id")
    assert_match "$(grep -E '^[0-9]+:pids:|^0::' "/proc/$pid/cgroup" | head -1)" ":/${ZIT_PREFIX}custom$" "cgroup of the process"
    [[ -d $(cgroup_dir "$pid" pids) ]] || fail "cgroup dir missing"
    expect_ok zrun delete --force "$id"
    [[ -z $(find /sys/fs/cgroup -type d -name "${ZIT_PREFIX}custom") ]] || fail "custom cgroup left after delete"
}

test_update_resources() {
    make_bundle
    cfg '.linux.resources.memory = {limit: $l} | .linux.resources.pids = {limit: 50}' --argjson l $((32 * MiB))
    local id; id=$(new_id)
    start_ctr "$id"
    local pid; pid=$(ctr_pid "$id")
    expect_ok zrun update --memory 64M "$id"
    assert_eq "$(cg_read "$pid" memory memory.limit_in_bytes memory.max)" $((64 * MiB)) "memory limit after update"
    expect_ok zrun update --pids-limit 20 "$id"
    assert_eq "$(cg_read "$pid" pids pids.max pids.max)" 20 "pids.max after update"
    echo '{"pids": {"limit": 30}}' > "$TEST_TMP/res.json"
    expect_ok zrun update --resources "$TEST_TMP/res.json" "$id"
    assert_eq "$(cg_read "$pid" pids pids.max pids.max)" 30 "pids.max after update --resources"
    # still the container's cgroup and still effective
    capture zrun exec "$id" dd if=/dev/zero of=/dev/null bs=48M count=1
    assert_eq "$rc" 0 "48 MiB fits after raising the limit to 64 MiB; stderr: $err"
}
