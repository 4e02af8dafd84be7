# shellcheck shell=bash disable=SC2154  # out/err/rc are set by capture() in lib.sh
# Root filesystem and mounts: readonly root, binds, tmpfs, propagation,
# masked/readonly paths, /dev, sysctl, hostname, --no-pivot.

# in_ctr SCRIPT: run SCRIPT with sh in a fresh container of $BUNDLE; sets out/err/rc.
in_ctr() {
    set_args sh -c "$1"
    local id; id=$(new_id)
    run_ctr "$id"
}

test_readonly_root() {
    make_bundle
    cfg '.root.readonly = true'
    in_ctr 'touch /x 2>&1; echo rc=$?; touch /dev/shm/ok && echo shm-writable'
    assert_eq "$rc" 0 "exit code; stderr: $err"
    assert_contains "$out" "Read-only file system" "touch on a read-only root"
    assert_contains "$out" "rc=1" "touch on a read-only root"
    assert_contains "$out" shm-writable "/dev/shm on a read-only root"
    [[ ! -e $BUNDLE/rootfs/x ]] || fail "file created on the read-only root"
    # It is the container's view only: the bundle stays writable from the host.
    touch "$BUNDLE/rootfs/host-can-write" || fail "host lost write access to the rootfs"
}

test_bind_mounts_ro_rw() {
    make_bundle
    mkdir -p "$TEST_TMP/data"
    echo host-content > "$TEST_TMP/data/hostfile"
    echo single-file > "$TEST_TMP/single"
    add_mount /mnt/ro bind "$TEST_TMP/data" rbind ro
    add_mount /mnt/rw bind "$TEST_TMP/data" bind rw
    add_mount /etc/single bind "$TEST_TMP/single" bind ro
    in_ctr 'cat /mnt/ro/hostfile; echo x > /mnt/ro/new 2>&1; echo ro-rc=$?;
            echo from-container > /mnt/rw/new && echo rw-ok; cat /etc/single'
    assert_eq "$rc" 0 "exit code; stderr: $err"
    assert_contains "$out" host-content "read through the ro bind"
    assert_contains "$out" "ro-rc=1" "write through the ro bind"
    assert_contains "$out" rw-ok "write through the rw bind"
    assert_contains "$out" single-file "file bind mount"
    assert_eq "$(cat "$TEST_TMP/data/new")" from-container "host view of the write"
    [[ -d $BUNDLE/rootfs/mnt/ro ]] || fail "missing mount destination was not created in the rootfs"
}

test_tmpfs_size_noexec_nosuid() {
    make_bundle
    add_mount /scratch tmpfs tmpfs size=4m noexec nosuid nodev mode=1777
    add_mount /deep/er/dir tmpfs tmpfs size=1m
    in_ctr 'grep " /scratch " /proc/self/mountinfo;
            dd if=/dev/zero of=/scratch/big bs=1M count=8 2>&1; echo dd-rc=$?; rm -f /scratch/big;
            cp /bin/busybox /scratch/bb && /scratch/bb true; echo exec-rc=$?;
            stat -c %a /scratch; grep -c " /deep/er/dir " /proc/self/mountinfo'
    assert_eq "$rc" 0 "exit code; stderr: $err"
    local mi; mi=$(head -1 <<<"$out")
    assert_match "$mi" ' /scratch [^ ]*noexec' "mount flags of /scratch"
    assert_match "$mi" ' /scratch [^ ]*nosuid' "mount flags of /scratch"
    assert_match "$mi" ' /scratch [^ ]*nodev' "mount flags of /scratch"
    assert_contains "$mi" "size=4096k" "tmpfs size option"
    assert_contains "$out" "No space left on device" "writing past the tmpfs size"
    assert_contains "$out" "exec-rc=126" "exec from a noexec tmpfs"
    assert_contains "$out" "$(printf '1777\n1')" "tmpfs mode and a nested destination"
}

test_rootfs_propagation() {
    make_bundle
    mkdir -p "$TEST_TMP/prop/sub"
    mount --bind "$TEST_TMP/prop" "$TEST_TMP/prop" || fail "bind mount on the host failed"
    defer "umount -R '$TEST_TMP/prop'"
    mount --make-shared "$TEST_TMP/prop"
    add_mount /prop bind "$TEST_TMP/prop" rbind
    set_args sleep 1000
    local slave private
    cfg '.linux.rootfsPropagation = "rslave"'
    slave=$(new_id slave)
    start_ctr "$slave"
    cfg '.linux.rootfsPropagation = "rprivate"'
    private=$(new_id private)
    start_ctr "$private"
    mount -t tmpfs zitprop "$TEST_TMP/prop/sub" || fail "host mount failed"
    expect_ok zrun exec "$slave" grep -c " /prop/sub " /proc/self/mountinfo
    assert_eq "$out" 1 "host mount seen in an rslave container"
    capture zrun exec "$private" grep -c " /prop/sub " /proc/self/mountinfo
    assert_eq "$out" 0 "host mount seen in an rprivate container"
    umount "$TEST_TMP/prop/sub"
}

test_masked_paths() {
    make_bundle
    echo top-secret > "$BUNDLE/rootfs/etc/secret"
    cfg '.linux.maskedPaths += ["/etc/secret", "/proc/keys", "/proc/kcore"]'
    in_ctr 'for f in /proc/kcore /proc/keys /etc/secret; do [ -e $f ] && echo "$f $(stat -c %F "$f") $(cat "$f" | wc -c)"; done;
            echo "firmware $(ls -A /sys/firmware | wc -l)"; touch /sys/firmware/x 2>/dev/null; echo touch-rc=$?'
    assert_eq "$rc" 0 "exit code; stderr: $err"
    # Masked files become /dev/null; /proc/kcore exists only on some kernels.
    [[ -e /proc/kcore ]] && assert_contains "$out" "/proc/kcore character special file 0" "masked /proc/kcore"
    assert_contains "$out" "/proc/keys character special file 0" "masked /proc/keys"
    assert_contains "$out" "/etc/secret character special file 0" "masked /etc/secret"
    assert_not_contains "$out" top-secret "masked file content"
    assert_contains "$out" "firmware 0" "masked /sys/firmware is empty"
    assert_contains "$out" "touch-rc=1" "masked directory is read-only"
    assert_eq "$(cat "$BUNDLE/rootfs/etc/secret")" top-secret "file on the host is untouched"
}

test_readonly_paths() {
    make_bundle
    cfg '.linux.readonlyPaths += ["/etc"]'
    in_ctr 'echo 1 > /proc/sys/kernel/domainname 2>&1; echo sys-rc=$?;
            touch /etc/x 2>&1; echo etc-rc=$?; cat /etc/passwd | head -1; touch /tmp/ok && echo tmp-ok;
            grep " /proc/sys " /proc/self/mountinfo'
    assert_eq "$rc" 0 "exit code; stderr: $err"
    assert_contains "$out" "sys-rc=1" "write to read-only /proc/sys"
    assert_contains "$out" "etc-rc=1" "write to read-only /etc"
    assert_contains "$out" "Read-only file system" "error for read-only paths"
    assert_contains "$out" "root:x:0:0" "read-only path stays readable"
    assert_contains "$out" tmp-ok "other paths stay writable"
    assert_match "$(grep ' /proc/sys ' <<<"$out")" ' /proc/sys ro[, ]' "/proc/sys mount flags"
}

test_dev_default_devices() {
    make_bundle
    in_ctr 'for d in null zero full random urandom tty; do stat -c "%n %F %t:%T %a" /dev/$d; done;
            for l in ptmx fd stdin stdout stderr; do echo "/dev/$l -> $(readlink /dev/$l)"; done;
            echo x > /dev/null && echo null-ok; echo "zero $(head -c 5 /dev/zero | wc -c)";
            echo x > /dev/full 2>/dev/null; echo full-rc=$?;
            grep -E " /dev/(pts|shm|mqueue) " /proc/self/mountinfo | sed -E "s/^([^ ]+ ){4}([^ ]+) .* - ([^ ]+) .*/\\2 \\3/";
            echo "pts: $(ls /dev/pts)";
            touch /dev/shm/f && echo shm-ok'
    assert_eq "$rc" 0 "exit code; stderr: $err"
    local exp
    for exp in "/dev/null character special file 1:3 666" "/dev/zero character special file 1:5 666" \
        "/dev/full character special file 1:7 666" "/dev/random character special file 1:8 666" \
        "/dev/urandom character special file 1:9 666" "/dev/tty character special file 5:0 666" \
        "/dev/ptmx -> pts/ptmx" "/dev/fd -> /proc/self/fd" "/dev/stdin -> /proc/self/fd/0" \
        "/dev/stdout -> /proc/self/fd/1" "/dev/stderr -> /proc/self/fd/2" null-ok "zero 5" "full-rc=1" \
        "/dev/pts devpts" "/dev/shm tmpfs" "/dev/mqueue mqueue" shm-ok; do
        assert_contains "$out" "$exp" "/dev"
    done
    # A new devpts instance: only ptmx, none of the host's ptys.
    assert_contains "$out" "pts: ptmx
" "content of /dev/pts"
}

test_linux_devices() {
    make_bundle
    cfg '.linux.devices = [{path: "/dev/zitnull", type: "c", major: 1, minor: 3, fileMode: 432, uid: 1000, gid: 1000}]
         | .process.user = {uid: 1000, gid: 1000}'
    in_ctr 'stat -c "%n %F %t:%T %a %u:%g" /dev/zitnull; echo hi > /dev/zitnull && echo write-ok'
    assert_eq "$rc" 0 "exit code; stderr: $err"
    assert_contains "$out" "/dev/zitnull character special file 1:3 660 1000:1000" "device node"
    assert_contains "$out" write-ok "device cgroup allows a listed device"
}

test_sysctl() {
    make_bundle
    local host_fwd; host_fwd=$(cat /proc/sys/net/ipv4/ip_forward)
    local want=1; [[ $host_fwd == 1 ]] && want=0
    cfg '.linux.sysctl = {"net.ipv4.ip_forward": $f, "kernel.shmmax": "123456789", "kernel.msgmax": "4242"}' --arg f "$want"
    in_ctr 'cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax /proc/sys/kernel/msgmax'
    assert_eq "$rc" 0 "exit code; stderr: $err"
    assert_eq "$out" "$(printf '%s\n123456789\n4242' "$want")" "sysctls inside"
    assert_eq "$(cat /proc/sys/net/ipv4/ip_forward)" "$host_fwd" "host ip_forward"
    assert_ne "$(cat /proc/sys/kernel/shmmax)" 123456789 "host shmmax"
}

test_hostname() {
    make_bundle
    local host_name; host_name=$(hostname)
    cfg '.hostname = "zit-host"'
    in_ctr 'hostname; cat /proc/sys/kernel/hostname'
    assert_eq "$rc" 0 "exit code; stderr: $err"
    assert_eq "$out" "$(printf 'zit-host\nzit-host')" "hostname"
    assert_eq "$(hostname)" "$host_name" "host's hostname"
}

test_domainname() {
    runc_known "runc 1.1 ignores domainname"
    make_bundle
    local host_dn; host_dn=$(cat /proc/sys/kernel/domainname)
    cfg '.hostname = "zit-host" | .domainname = "zit.example"'
    in_ctr 'cat /proc/sys/kernel/domainname'
    assert_eq "$rc" 0 "exit code; stderr: $err"
    assert_eq "$out" zit.example "domainname"
    assert_eq "$(cat /proc/sys/kernel/domainname)" "$host_dn" "host's domainname"
}

test_no_pivot() {
    make_bundle
    set_args sh -c 'cat /etc/hostname; [ -e /work ] && echo host-visible; ls /'
    local id; id=$(new_id)
    run_ctr "$id" --no-pivot
    assert_eq "$rc" 0 "exit code; stderr: $err"
    assert_eq "$(head -1 <<<"$out")" busybox-bundle "/etc/hostname under --no-pivot"
    assert_not_contains "$out" host-visible "host paths under --no-pivot"
}
