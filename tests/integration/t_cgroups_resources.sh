# shellcheck shell=bash disable=SC2154,SC2016  # out/err/rc: capture(); jq $vars
# cgroups: the less common linux.resources fields (blockIO, hugepageLimits,
# network, memory.checkBeforeUpdate) land in the host's cgroup files, on v1,
# v2 and hybrid hosts; unavailable controllers are named in the error.

# blkio_dir PID: the container's blkio (v1) or io (v2) directory.
blkio_dir() {
    if [[ -d /sys/fs/cgroup/blkio ]]; then cgroup_dir "$1" blkio; else cgroup_dir "$1" io; fi
}

# real_disk: "MAJ:MIN NAME" of the first disk that is not a loop, ram or
# zram device; empty when there is none.
real_disk() {
    local d name
    for d in /sys/block/*; do
        name=${d##*/}
        [[ $name == loop* || $name == ram* || $name == zram* ]] && continue
        [[ -r $d/dev ]] || continue
        echo "$(cat "$d/dev") $name"
        return
    done
}

# The value the weight file shows for blkio weight W, by file name.
expected_weight() { # FILE W
    case $1 in
        blkio.weight|blkio.bfq.weight) echo "$2" ;;
        io.bfq.weight) echo "default $2" ;;
        io.weight) echo "default $((1 + ($2 - 10) * 9999 / 990))" ;;
    esac
}

# weight_file DIR: the weight file the runtime writes in DIR, or nothing.
weight_file() {
    local f
    for f in blkio.weight blkio.bfq.weight io.bfq.weight io.weight; do
        [[ -f $1/$f ]] && { echo "$f"; return; }
    done
}

test_blkio_weight_and_update() {
    make_bundle
    # Probe a plain container for a weight file (CFQ/BFQ on v1, BFQ or
    # iocost on v2) before asking for a weight.
    local probe; probe=$(new_id)
    start_ctr "$probe"
    local file; file=$(weight_file "$(blkio_dir "$(ctr_pid "$probe")")")
    expect_ok zrun delete --force "$probe"
    [[ -n $file ]] || skip "no blkio/io weight file here (neither BFQ nor iocost)"

    cfg '.linux.resources.blockIO = {weight: 300}'
    local id; id=$(new_id)
    start_ctr "$id"
    local dir; dir=$(blkio_dir "$(ctr_pid "$id")")
    assert_eq "$(head -1 "$dir/$file")" "$(expected_weight "$file" 300)" "$file after create"
    expect_ok zrun update --blkio-weight 700 "$id"
    assert_eq "$(head -1 "$dir/$file")" "$(expected_weight "$file" 700)" "$file after update --blkio-weight"
}

test_blkio_device_throttle() {
    local disk; disk=$(real_disk)
    [[ -n $disk ]] || skip "no real block device in /sys/block"
    local devno=${disk% *} name=${disk#* }
    local major=${devno%:*} minor=${devno#*:}
    make_bundle
    cfg '.linux.resources.blockIO = {
           throttleReadBpsDevice: [{major: $ma, minor: $mi, rate: 1048576}],
           throttleWriteIOPSDevice: [{major: $ma, minor: $mi, rate: 100}]}' \
        --argjson ma "$major" --argjson mi "$minor"
    local id; id=$(new_id)
    start_ctr "$id"
    local dir; dir=$(blkio_dir "$(ctr_pid "$id")")
    if [[ -f $dir/blkio.throttle.read_bps_device ]]; then
        assert_contains "$(cat "$dir/blkio.throttle.read_bps_device")" "$devno 1048576" "read bps throttle of $name"
        assert_contains "$(cat "$dir/blkio.throttle.write_iops_device")" "$devno 100" "write iops throttle of $name"
    else
        assert_contains "$(cat "$dir/io.max")" "$devno rbps=1048576 wbps=max riops=max wiops=100" "io.max for $name"
    fi
}

test_blkio_weight_device() {
    local disk; disk=$(real_disk)
    [[ -n $disk ]] || skip "no real block device in /sys/block"
    local devno=${disk% *} name=${disk#* }
    local major=${devno%:*} minor=${devno#*:}
    make_bundle
    cfg '.linux.resources.blockIO = {weightDevice: [{major: $ma, minor: $mi, weight: 300}]}' \
        --argjson ma "$major" --argjson mi "$minor"
    local id; id=$(new_id)
    # Per-device weights need BFQ (or iocost) active on that disk; without,
    # the kernel refuses and the error must name the file and the value.
    if grep -q '\[bfq\]' "/sys/block/$name/queue/scheduler" 2>/dev/null; then
        start_ctr "$id"
        local dir; dir=$(blkio_dir "$(ctr_pid "$id")")
        local f
        for f in blkio.weight_device blkio.bfq.weight_device io.bfq.weight; do
            [[ -f $dir/$f ]] && break
        done
        assert_contains "$(cat "$dir/$f")" "$devno 300" "$f for $name"
    else
        capture zrun run --detach --bundle "$BUNDLE" "$id"
        assert_ne "$rc" 0 "create with a weightDevice on $name (scheduler $(cat "/sys/block/$name/queue/scheduler"))"
        # (the log format escapes the quotes)
        assert_match "$err" "weight(_device)? \\\\?\"$devno [0-9]+\\\\?\"|linux.resources.blockIO.weightDevice" "error names the file and value"
    fi
}

test_hugetlb_limit() {
    [[ -d /sys/kernel/mm/hugepages/hugepages-2048kB ]] || skip "no 2MB huge pages on this kernel"
    make_bundle
    cfg '.linux.resources.hugepageLimits = [{pageSize: "2MB", limit: 4194304}]'
    local id; id=$(new_id)
    if ! grep -qw hugetlb /proc/cgroups || [[ $(awk '$1 == "hugetlb" {print $4}' /proc/cgroups) != 1 ]]; then
        capture zrun run --detach --bundle "$BUNDLE" "$id"
        assert_ne "$rc" 0 "hugepageLimits without a hugetlb controller"
        assert_contains "$err" "linux.resources.hugepageLimits: the hugetlb controller is not available"
        return
    fi
    start_ctr "$id"
    local dir; dir=$(cgroup_dir "$(ctr_pid "$id")" hugetlb)
    if [[ -f $dir/hugetlb.2MB.limit_in_bytes ]]; then
        assert_eq "$(cat "$dir/hugetlb.2MB.limit_in_bytes")" 4194304 "hugetlb.2MB.limit_in_bytes"
    else
        assert_eq "$(cat "$dir/hugetlb.2MB.max")" 4194304 "hugetlb.2MB.max"
        if [[ -f $dir/hugetlb.2MB.rsvd.max ]]; then
            assert_eq "$(cat "$dir/hugetlb.2MB.rsvd.max")" 4194304 "hugetlb.2MB.rsvd.max"
        fi
    fi
    # an unknown page size is refused by name
    cfg '.linux.resources.hugepageLimits = [{pageSize: "3MB", limit: 1}]'
    capture zrun run --detach --bundle "$BUNDLE" "$(new_id)"
    assert_ne "$rc" 0 "a 3MB page size"
    assert_match "$err" 'page size \\?"3MB\\?" is not supported'
}

test_network_class_id() {
    make_bundle
    cfg '.linux.resources.network = {classID: 1048577}'
    local id; id=$(new_id)
    if [[ -d /sys/fs/cgroup/net_cls ]] && grep -qE '^[0-9]+:([^:]*,)?net_cls(,[^:]*)?:' /proc/self/cgroup; then
        start_ctr "$id"
        assert_eq "$(cat "$(cgroup_dir "$(ctr_pid "$id")" net_cls)/net_cls.classid")" 1048577 "net_cls.classid"
    else
        capture zrun run --detach --bundle "$BUNDLE" "$id"
        assert_ne "$rc" 0 "classID without a net_cls hierarchy"
        assert_contains "$err" "linux.resources.network.classID: the net_cls controller is not available"
    fi
}

test_memory_check_before_update() {
    make_bundle
    cfg '.linux.resources.memory = {limit: 67108864}'
    local id; id=$(new_id)
    start_ctr "$id"
    local pid; pid=$(ctr_pid "$id")
    local dir; dir=$(cgroup_dir "$pid" memory) file=memory.limit_in_bytes
    [[ -f $dir/$file ]] || file=memory.max
    # any running container uses more than 4 KiB
    echo '{"memory": {"limit": 4096, "checkBeforeUpdate": true}}' > "$TEST_TMP/res.json"
    capture zrun update --resources "$TEST_TMP/res.json" "$id"
    assert_ne "$rc" 0 "update below the current usage with checkBeforeUpdate"
    assert_contains "$err" "checkBeforeUpdate"
    assert_eq "$(cat "$dir/$file")" 67108864 "$file kept"
    proc_alive "$pid" || fail "the container died"
    echo '{"memory": {"limit": 134217728, "checkBeforeUpdate": true}}' > "$TEST_TMP/res.json"
    expect_ok zrun update --resources "$TEST_TMP/res.json" "$id"
    assert_eq "$(cat "$dir/$file")" 134217728 "$file after a permitted update"
}
