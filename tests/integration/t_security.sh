# shellcheck shell=bash disable=SC2154  # out/err/rc are set by capture() in lib.sh
# Known container-escape classes: CVE-2019-5736 (runtime binary overwrite),
# CVE-2024-21626 (leaked fds / cwd outside the root), CVE-2021-30465
# (symlinked mount destinations), CVE-2025-31133 (/dev/null symlink used to
# mask paths).

CAP_NAMES=(CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP
    LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER
    SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE
    SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP
    MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF
    CHECKPOINT_RESTORE)

# all_host_caps: JSON array of every capability in this process's bounding set.
all_host_caps() {
    local bnd=$((0x$(awk '/^CapBnd:/ {print $2}' /proc/self/status))) i names=()
    for i in "${!CAP_NAMES[@]}"; do
        (( (bnd >> i) & 1 )) && names+=("CAP_${CAP_NAMES[$i]}")
    done
    json_array "${names[@]}"
}

# privileged_bundle: every capability, no no_new_privs: the attacker's best case.
privileged_bundle() {
    make_bundle
    cfg '.process.noNewPrivileges = false
         | .process.capabilities = {bounding: $c, effective: $c, permitted: $c}' --argjson c "$(all_host_caps)"
}

# copy_runtime_libraries BINARY: the dynamic loader and libraries BINARY
# needs, at their host paths in the rootfs, as any glibc image has them: a
# dynamically linked runtime exec'd in the container through
# #!/proc/self/exe then runs there (without them the exec fails with ENOENT
# and the attack below proves nothing).
copy_runtime_libraries() {
    local lib
    for lib in $(ldd "$1" 2>/dev/null | grep -oE '/[^ ]+' || true); do
        mkdir -p "$BUNDLE/rootfs$(dirname "$lib")"
        cp -L "$lib" "$BUNDLE/rootfs$lib"
    done
}

# exe_attack_round BUNDLE_SETUP: the attack on a copy of the runtime, from
# a container made by BUNDLE_SETUP.
exe_attack_round() {
    # Work on a copy of the runtime so a vulnerable runtime cannot brick the tree.
    mkdir -p "$TEST_TMP/rtbin"
    local rt; rt=$TEST_TMP/rtbin/$(basename "$RUNTIME")
    cp "$RUNTIME" "$rt"
    local before; before=$(sha256sum < "$rt")
    "$1"
    copy_helper exe_attack
    copy_runtime_libraries "$rt"
    printf '#!/proc/self/exe\n' > "$BUNDLE/rootfs/bin/evil"
    chmod 755 "$BUNDLE/rootfs/bin/evil"
    set_args sh -c '/bin/exe_attack --seconds 5 > /attack.log 2>&1; echo "exit=$?" >> /attack.log; exec sleep 1000'
    local id; id=$(new_id)
    "$rt" --root "$TEST_ROOT" run --detach --bundle "$BUNDLE" "$id" </dev/null >/dev/null 2>"$TEST_TMP/run.err" ||
        fail "run failed: $(cat "$TEST_TMP/run.err")"
    local i
    for i in 1 2 3 4 5 6 7 8; do
        # the script's interpreter is whatever /proc/self/exe is at exec time
        "$rt" --root "$TEST_ROOT" exec "$id" /bin/evil </dev/null >/dev/null 2>&1
        "$rt" --root "$TEST_ROOT" exec "$id" true </dev/null >/dev/null 2>&1
        sleep 0.2
    done
    wait_for 10 grep -q '^exit=' "$BUNDLE/rootfs/attack.log" || fail "attacker did not finish"
    echo "--- attacker log:"; cat "$BUNDLE/rootfs/attack.log"
    assert_eq "$(sha256sum < "$rt")" "$before" "runtime binary checksum after the attack"
    assert_not_contains "$(cat "$BUNDLE/rootfs/attack.log")" WROTE "attacker log"
    "$rt" --version >/dev/null || fail "runtime copy no longer runs"
}

# Every capability: zone re-execs through a sealed copy of itself.
test_cve_2019_5736_runtime_binary_overwrite() {
    exe_attack_round privileged_bundle
}

# The default capabilities (no CAP_SYS_PTRACE) but root and no
# no_new_privs. The init and exec'd processes are non-dumpable until they
# exec, but that alone does not protect the binary: the script's
# #!/proc/self/exe runs the runtime inside the container, dumpable.
default_caps_bundle() {
    make_bundle
    cfg '.process.noNewPrivileges = false'
}
test_cve_2019_5736_default_caps() {
    exe_attack_round default_caps_bundle
}

test_cve_2019_5736_attacker_works() {
    # The attacker is able to overwrite an unprotected binary, so the test
    # above can fail: here it targets a plain copy of sleep(1) on the host.
    cp "$(command -v sleep)" "$TEST_TMP/victim"
    local before; before=$(sha256sum < "$TEST_TMP/victim")
    "$TEST_TMP/victim" 0.5 &
    local vpid=$!
    capture "$HELPERS/exe_attack" --pid "$vpid" --seconds 2
    wait "$vpid"
    assert_eq "$rc" 3 "attacker exit code; output: $out"
    assert_ne "$(sha256sum < "$TEST_TMP/victim")" "$before" "victim checksum"
}

test_cve_2024_21626_no_leaked_fds() {
    make_bundle
    copy_helper fdcheck
    set_args /bin/fdcheck
    local id; id=$(new_id)
    # The caller's own extra fds (here 7 and 8, on host directories) must not leak.
    capture bash -c 'exec 7</ 8<"$1"; exec "$RUNTIME" --root "$TEST_ROOT" run --bundle "$2" "$3"' _ "$TEST_TMP" "$BUNDLE" "$id"
    assert_eq "$rc" 0 "fdcheck in the container: $out $err"
    assert_contains "$out" "cwd: /" "cwd of the container process"

    set_args sleep 1000
    id=$(new_id)
    start_ctr "$id"
    capture bash -c 'exec 7</ 8<"$1"; exec "$RUNTIME" --root "$TEST_ROOT" exec "$2" /bin/fdcheck' _ "$TEST_TMP" "$id"
    assert_eq "$rc" 0 "fdcheck in an exec'd process: $out $err"
}

test_cve_2024_21626_cwd_via_proc_fd() {
    make_bundle
    copy_helper fdcheck
    local id; id=$(new_id)
    start_ctr "$id"
    local fd
    for fd in $(seq 3 20); do
        capture zrun exec --cwd "/proc/self/fd/$fd" "$id" /bin/fdcheck
        # Refusing is fine; running with a cwd outside the container is not.
        if ((rc != 255 && rc != 1)); then
            assert_eq "$rc" 0 "fdcheck with cwd /proc/self/fd/$fd: $out"
        fi
        assert_not_contains "$out" "LEAK" "exec with cwd /proc/self/fd/$fd"
    done
    # The same through process.cwd of the container itself.
    for fd in $(seq 3 20); do
        cfg '.process.cwd = $c | .process.args = ["/bin/fdcheck"]' --arg c "/proc/self/fd/$fd"
        id=$(new_id)
        run_ctr "$id"
        assert_not_contains "$out" "LEAK" "container with cwd /proc/self/fd/$fd"
        assert_not_contains "$out" "cwd: /sys" "container with cwd /proc/self/fd/$fd"
    done
}

test_cve_2021_30465_symlink_mount_destination() {
    make_bundle
    mkdir -p "$TEST_TMP/hostdir" "$TEST_TMP/src"
    echo host-only > "$TEST_TMP/hostdir/host-file"
    echo from-src > "$TEST_TMP/src/src-file"
    # /evil points at a host path: it must be resolved inside the rootfs.
    ln -s "$TEST_TMP/hostdir" "$BUNDLE/rootfs/evil"
    ln -s ../../../../../../../../ "$BUNDLE/rootfs/up"
    add_mount /evil bind "$TEST_TMP/src" rbind
    add_mount /up/escape tmpfs tmpfs size=1m
    set_args sh -c 'cat /evil/src-file; ls /evil; grep -c " /escape " /proc/self/mountinfo'
    local id; id=$(new_id)
    run_ctr "$id"
    if ((rc != 0)); then
        # Refusing such a config is safe as long as nothing was mounted.
        echo "runtime refused: $err"
    else
        assert_contains "$out" from-src "bind mount through a symlink lands inside the rootfs"
        assert_not_contains "$out" host-file "host directory seen through the symlink"
        assert_eq "$(tail -1 <<<"$out")" 1 "mount through a ../ symlink lands inside the rootfs"
    fi
    [[ ! -e $TEST_TMP/hostdir/src-file ]] || fail "host directory got the bind mount"
    [[ ! -e $BUNDLE/escape && ! -e $TEST_TMP/escape && ! -e /escape ]] || fail "mount destination escaped the rootfs"
    ! grep -q " $TEST_TMP/hostdir " /proc/self/mountinfo || fail "host path mounted on the host"
}

test_cve_2025_31133_dev_null_symlink_not_used_for_masking() {
    runc_known "runc 1.1.5 predates the CVE-2025-31133 fix"
    echo host-secret > "$TEST_TMP/hostsecret"
    local target
    for target in "$TEST_TMP/hostsecret" /proc/sys/kernel/hostname; do
        make_bundle "$TEST_TMP/bundle-$RANDOM"
        # no /dev mount: the rootfs's own /dev/null, a symlink, is what a
        # careless runtime would bind over the masked paths
        cfg '.mounts = [.mounts[] | select(.destination | startswith("/dev") | not)]
             | .hostname = "leaked-hostname"
             | .linux.maskedPaths = ["/proc/keys", "/proc/timer_list"]
             | .linux.resources.devices = [{allow: true, access: "rwm"}]'
        mkdir -p "$BUNDLE/rootfs/dev"
        ln -sfn "$target" "$BUNDLE/rootfs/dev/null"
        set_args sh -c 'for f in /proc/keys /proc/timer_list; do echo "$f $(stat -c "%F %t:%T" $f)"; cat $f; done'
        local id; id=$(new_id)
        run_ctr "$id"
        echo "target $target: rc=$rc out=[$out] err=[$err]"
        assert_not_contains "$out" host-secret "masked path content (dev/null -> $target)"
        assert_not_contains "$out" leaked-hostname "masked path content (dev/null -> $target)"
        if ((rc == 0)); then
            assert_contains "$out" "/proc/keys character special file 1:3" "mask of /proc/keys"
        fi
        assert_eq "$(cat "$TEST_TMP/hostsecret")" host-secret "host file"
    done
}
