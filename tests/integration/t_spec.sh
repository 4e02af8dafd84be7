# shellcheck shell=bash disable=SC2154  # out/err/rc are set by capture() in lib.sh
# spec and features.

test_spec_writes_config() {
    mkdir -p "$TEST_TMP/s1" "$TEST_TMP/s2"
    (cd "$TEST_TMP/s1" && "$RUNTIME" spec) || fail "spec failed"
    local c=$TEST_TMP/s1/config.json
    [[ -f $c ]] || fail "spec wrote no config.json in the working directory"
    jq -e . "$c" >/dev/null || fail "config.json is not JSON"
    assert_match "$(jq -r .ociVersion "$c")" '^1\.[0-9]+\.[0-9]+' "ociVersion"
    assert_eq "$(jq -r .root.path "$c")" rootfs "root.path"
    assert_eq "$(jq -c .process.args "$c")" '["sh"]' "process.args"
    assert_eq "$(jq -r .process.cwd "$c")" / "process.cwd"
    assert_eq "$(jq -r '[.linux.namespaces[].type] | sort | join(",")' "$c")" "ipc,mount,network,pid,uts" "namespaces"
    assert_eq "$(jq -r '[.mounts[].destination] | index("/proc") != null' "$c")" true "a /proc mount"
    jq -e '.linux.maskedPaths | index("/proc/kcore")' "$c" >/dev/null || fail "/proc/kcore not masked"
    jq -e '.linux.readonlyPaths | index("/proc/sys")' "$c" >/dev/null || fail "/proc/sys not read-only"

    (cd / && "$RUNTIME" spec --bundle "$TEST_TMP/s2") || fail "spec --bundle failed"
    [[ -f $TEST_TMP/s2/config.json ]] || fail "spec --bundle wrote nothing"
    [[ ! -e /config.json ]] || fail "spec --bundle wrote into the working directory"
}

test_spec_config_runs() {
    # The spec as written (only args/terminal changed) runs the busybox rootfs.
    make_bundle
    rm "$BUNDLE/config.json"
    (cd "$BUNDLE" && "$RUNTIME" spec) || fail "spec failed"
    cfg '.process.terminal = false | .process.args = ["cat", "/proc/self/status"]'
    local id; id=$(new_id)
    run_ctr "$id"
    assert_eq "$rc" 0 "exit code; stderr: $err"
    assert_contains "$out" "NoNewPrivs:	1" "status of the spec's process"
}

test_spec_rootless() {
    mkdir -p "$TEST_TMP/r"
    (cd "$TEST_TMP/r" && "$RUNTIME" spec --rootless) || fail "spec --rootless failed"
    local c=$TEST_TMP/r/config.json
    jq -e '.linux.namespaces | map(.type) | index("user")' "$c" >/dev/null || fail "no user namespace: $(jq -c .linux.namespaces "$c")"
    jq -e '.linux.namespaces | map(.type) | index("network") | not' "$c" >/dev/null ||
        fail "a rootless spec cannot create a network namespace without network setup"
    assert_eq "$(jq -r '.linux.uidMappings[0].hostID' "$c")" "$(id -u)" "uidMappings hostID"
    assert_eq "$(jq -r '.linux.uidMappings[0].containerID' "$c")" 0 "uidMappings containerID"
    assert_eq "$(jq -r '.linux.gidMappings[0].hostID' "$c")" "$(id -g)" "gidMappings hostID"
    jq -e '.linux.resources.devices == null or .linux.resources.devices == []' "$c" >/dev/null ||
        fail "rootless spec must not ask for device cgroup rules"

    # It runs: the busybox rootfs under a user namespace.
    make_bundle
    cp "$c" "$BUNDLE/config.json"
    cfg '.process.terminal = false | .process.args = ["sh", "-c", "id -u; cat /proc/self/uid_map"]'
    local id; id=$(new_id)
    run_ctr "$id"
    assert_eq "$rc" 0 "exit code of rootless spec run; stderr: $err"
    assert_eq "$(head -1 <<<"$out")" 0 "uid inside"
    assert_match "$(tail -1 <<<"$out")" "^ +0 +$(id -u) +1$" "uid_map inside"
}

test_spec_refuses_overwrite() {
    mkdir -p "$TEST_TMP/s"
    echo '{"mine": true}' > "$TEST_TMP/s/config.json"
    capture bash -c "cd '$TEST_TMP/s' && exec '$RUNTIME' spec"
    assert_ne "$rc" 0 "spec over an existing config.json"
    assert_contains "$err" "exists" "error of spec over an existing file"
    assert_eq "$(cat "$TEST_TMP/s/config.json")" '{"mine": true}' "existing config.json"
}

test_features_json() {
    expect_ok "$RUNTIME" features
    local f=$out
    jq -e . >/dev/null <<<"$f" || fail "features is not JSON: $f"
    assert_match "$(jq -r .ociVersionMin <<<"$f")" '^1\.0\.[0-9]+' "ociVersionMin"
    assert_match "$(jq -r .ociVersionMax <<<"$f")" '^1\.[0-9]+\.[0-9]+' "ociVersionMax"
    assert_eq "$(jq -r '.hooks | sort | join(",")' <<<"$f")" \
        "createContainer,createRuntime,poststart,poststop,prestart,startContainer" "hooks"
    local o
    for o in ro rw bind rbind nosuid nodev noexec private rprivate shared rslave; do
        jq -e --arg o "$o" '.mountOptions | index($o)' >/dev/null <<<"$f" || fail "mountOptions lacks $o"
    done
    for o in cgroup ipc mount network pid user uts; do
        jq -e --arg o "$o" '.linux.namespaces | index($o)' >/dev/null <<<"$f" || fail "linux.namespaces lacks $o"
    done
    for o in CAP_SYS_ADMIN CAP_NET_RAW CAP_CHOWN CAP_KILL; do
        jq -e --arg o "$o" '.linux.capabilities | index($o)' >/dev/null <<<"$f" || fail "linux.capabilities lacks $o"
    done
    assert_eq "$(jq -r '.linux.cgroup.v1' <<<"$f")" true "linux.cgroup.v1"
    assert_eq "$(jq -r '.linux.cgroup.v2' <<<"$f")" true "linux.cgroup.v2"
    assert_eq "$(jq -r '.linux.seccomp.enabled' <<<"$f")" true "linux.seccomp.enabled"
    for o in SCMP_ACT_ALLOW SCMP_ACT_ERRNO SCMP_ACT_KILL SCMP_ACT_NOTIFY; do
        jq -e --arg o "$o" '.linux.seccomp.actions | index($o)' >/dev/null <<<"$f" || fail "seccomp.actions lacks $o"
    done
    jq -e '.linux.seccomp.archs | index("SCMP_ARCH_X86_64")' >/dev/null <<<"$f" || fail "seccomp.archs lacks x86_64"
    jq -e '.linux.seccomp.operators | index("SCMP_CMP_MASKED_EQ")' >/dev/null <<<"$f" || fail "seccomp.operators"
}

test_features_time_namespace() {
    runc_known "runc 1.1 has no time namespace"
    expect_ok "$RUNTIME" features
    jq -e '.linux.namespaces | index("time")' >/dev/null <<<"$out" || fail "linux.namespaces lacks time"
}
