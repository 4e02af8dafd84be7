# shellcheck shell=bash disable=SC2154  # out/err/rc are set by capture() in lib.sh
# events: OOM kills reported as they happen, stats JSON; and limits that
# must hold under load: a fork bomb against pids.limit, a half-cpu quota
# against a busy loop, cpuset pinning seen by exec'd processes.

MiB=$((1024 * 1024))

# timeout test_events_oom 150
# timeout test_cpu_quota_half 150
# timeout test_fork_bomb_stops_at_pids_limit 150

# memory_bundle LIMIT: a bundle whose memory (and memory+swap) is LIMIT bytes.
memory_bundle() {
    make_bundle
    cfg '.linux.resources.memory = {limit: $l}' --argjson l "$1"
    if [[ -n $(tail -n +2 /proc/swaps) ]]; then
        cfg '.linux.resources.memory.swap = $l' --argjson l "$1"
    fi
}

# cpu_usage_us PID: cpu time used by PID's cgroup so far, in microseconds.
cpu_usage_us() {
    local acct; acct=$(cgroup_dir "$1" cpuacct)
    if [[ -f $acct/cpuacct.usage ]]; then
        echo $(( $(cat "$acct/cpuacct.usage") / 1000 ))
    else
        awk '$1 == "usage_usec" {print $2}' "$(cgroup_dir "$1" cpu)/cpu.stat"
    fi
}

# cgroup_empty DIR: pids.current of DIR is 0 (or the cgroup is gone).
cgroup_empty() { [[ $(cat "$1/pids.current" 2>/dev/null || echo 0) == 0 ]]; }

test_events_oom() {
    memory_bundle $((16 * MiB))
    local id; id=$(new_id)
    start_ctr "$id"
    local log=$TEST_TMP/events.log
    zrun events --interval 30s "$id" >"$log" 2>"$TEST_TMP/events.err" &
    local events_pid=$!
    defer "kill $events_pid"
    # the first stats sample comes at once: the OOM baseline is taken
    wait_for 30 grep -q '"type":"stats"' "$log" ||
        fail "no stats sample from events: $(cat "$TEST_TMP/events.err")"
    grep -q '"type":"oom"' "$log" && fail "an OOM event before any OOM: $(cat "$log")"
    # dd's 64 MiB buffer cannot fit in 16 MiB: the OOM killer ends dd
    capture zrun exec "$id" dd if=/dev/zero of=/dev/null bs=64M count=1
    assert_eq "$rc" 137 "exit code of dd over the memory limit; stderr: $err"
    wait_for 5 grep -q '"type":"oom"' "$log" || fail "no OOM event within 5 s: $(cat "$log")"
    assert_eq "$(grep '"type":"oom"' "$log" | head -1 | jq -c .)" "{\"type\":\"oom\",\"id\":\"$id\"}" "OOM event"
    assert_eq "$(grep -c '"type":"oom"' "$log")" 1 "one OOM event for one kill"
    # the container survives (its init was not the victim); the stream ends
    # when it stops
    status_is "$id" running || fail "container not running after the OOM kill of an exec'd process"
    expect_ok zrun kill "$id" KILL
    wait_for 10 proc_gone "$events_pid" || fail "events still running after the container stopped"
    local events_rc=0
    wait "$events_pid" || events_rc=$?
    assert_eq "$events_rc" 0 "exit status of events when the container stops; stderr: $(cat "$TEST_TMP/events.err")"
}

test_events_stats() {
    memory_bundle $((16 * MiB))
    set_args sh -c 'i=0; while [ $i -lt 20000 ]; do i=$((i + 1)); done; exec sleep 1000'
    local id; id=$(new_id)
    start_ctr "$id"
    local pid; pid=$(ctr_pid "$id")
    wait_for 20 grep -q sleep "/proc/$pid/cmdline" || fail "the container's busy start did not finish"
    expect_ok zrun events --stats "$id"
    local j=$out
    assert_eq "$(jq -r .type <<<"$j")" stats "event type"
    assert_eq "$(jq -r .id <<<"$j")" "$id" "event id"
    (( $(jq -r .data.cpu.usage.total <<<"$j") > 0 )) || fail "cpu.usage.total is 0: $j"
    assert_eq "$(jq -r .data.memory.usage.limit <<<"$j")" $((16 * MiB)) "memory.usage.limit"
    (( $(jq -r .data.memory.usage.usage <<<"$j") > 0 )) || fail "memory.usage.usage is 0: $j"
    (( $(jq -r .data.pids.current <<<"$j") >= 1 )) || fail "pids.current < 1: $j"
    # memory.stat comes through whole, as runc's "raw" map
    local stat_keys; stat_keys=$(awk 'END {print NR}' "$(cgroup_dir "$pid" memory)/memory.stat")
    assert_eq "$(jq -r '.data.memory.raw | length' <<<"$j")" "$stat_keys" "memory.raw entries (one per memory.stat line)"
    # per-cpu usage where the kernel keeps it (v1 cpuacct)
    local acct; acct=$(cgroup_dir "$pid" cpuacct)
    if [[ -f $acct/cpuacct.usage_percpu ]]; then
        assert_eq "$(jq -r '.data.cpu.usage.percpu | length' <<<"$j")" "$(wc -w < "$acct/cpuacct.usage_percpu")" "percpu entries"
        (( $(jq -r '.data.cpu.usage.percpu | add' <<<"$j") > 0 )) || fail "percpu usage all 0: $j"
    else
        assert_eq "$(jq -r '.data.cpu.usage | has("percpu")' <<<"$j")" false "percpu without cpuacct"
    fi
    # the stream form on a stopped container ends at once, successfully
    expect_ok zrun kill "$id" KILL
    wait_status "$id" stopped
    capture timeout 10 "$RUNTIME" --root "$TEST_ROOT" events --interval 100ms "$id"
    assert_eq "$rc" 0 "events on a stopped container; stderr: $err"
}

test_fork_bomb_stops_at_pids_limit() {
    make_bundle
    cfg '.linux.resources.pids = {limit: 20}'
    local id; id=$(new_id)
    start_ctr "$id"
    local pid; pid=$(ctr_pid "$id")
    local dir; dir=$(cgroup_dir "$pid" pids)
    expect_ok zrun exec --detach "$id" sh -c 'bomb() { bomb | bomb & }; bomb'
    local i cur max_seen=0
    for i in $(seq 20); do
        cur=$(cat "$dir/pids.current")
        ((cur > max_seen)) && max_seen=$cur
        sleep 0.1
    done
    ((max_seen <= 20)) || fail "pids.current reached $max_seen with a limit of 20"
    # the limit was actually hit (the bomb did not just fizzle out)
    if [[ -f $dir/pids.events ]]; then
        (( $(awk '$1 == "max" {print $2}' "$dir/pids.events") > 0 )) || fail "pids.events max is 0: the bomb never hit the limit"
    fi
    proc_alive "$pid" || fail "the container's init died during the fork bomb"
    # kill --all ends the bomb (and init): the cgroup empties
    expect_ok zrun kill --all "$id" KILL
    wait_for 20 cgroup_empty "$dir" ||
        fail "the fork bomb survived kill --all: pids.current $(cat "$dir/pids.current")"
}

test_cpu_quota_half() {
    make_bundle
    cfg '.linux.resources.cpu = {quota: 50000, period: 100000}'
    local id; id=$(new_id)
    start_ctr "$id"
    local pid; pid=$(ctr_pid "$id")
    expect_ok zrun exec --detach "$id" sh -c 'while :; do :; done'
    sleep 0.5
    local u0 u1 t0 t1
    u0=$(cpu_usage_us "$pid"); t0=$(date +%s%N)
    sleep 2
    u1=$(cpu_usage_us "$pid"); t1=$(date +%s%N)
    local pct=$(( (u1 - u0) * 100 / ((t1 - t0) / 1000) ))
    ((pct >= 30 && pct <= 70)) || fail "a busy loop under a 0.5 cpu quota used ${pct}% of a cpu (want 30-70%)"
}

test_cpuset_pinning() {
    local last=$(( $(nproc) - 1 ))
    make_bundle
    cfg '.linux.resources.cpu = {cpus: $c}' --arg c "$last"
    set_args sh -c 'grep Cpus_allowed_list /proc/self/status; exec sleep 1000'
    local id; id=$(new_id)
    start_ctr "$id"
    wait_for 10 grep -q Cpus_allowed_list "$TEST_TMP/$id.out" || fail "init printed nothing"
    assert_match "$(cat "$TEST_TMP/$id.out")" $'Cpus_allowed_list:\t'"$last"'$' "cpus init may use"
    # an exec'd process joins the cgroup and is pinned the same way
    expect_ok zrun exec "$id" grep Cpus_allowed_list /proc/self/status
    assert_match "$out" $'Cpus_allowed_list:\t'"$last"'$' "cpus an exec'd process may use"
}
