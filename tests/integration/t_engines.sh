# shellcheck shell=bash disable=SC2154  # out/err/rc are set by capture() in lib.sh
# Engines driving the runtime: podman (via conmon) and containerd (via
# containerd-shim-runc-v2 --runc-binary).  Each gets private state under
# $TEST_TMP so nothing touches the machine's own podman/containerd.
# timeout test_podman_lifecycle 150
# timeout test_containerd_ctr_run 120

# --------------------------------------------------------------- podman

setup_podman() {
    need_cmd podman conmon
    local p=$TEST_TMP/podman
    bash "$ROOT_DIR/scripts/podman-config.sh" "$p" "$RUNTIME" || fail "cannot write the podman config"
    export CONTAINERS_CONF=$p/containers.conf CONTAINERS_STORAGE_CONF=$p/storage.conf
    PODMAN=(podman --runtime "$RUNTIME" --cgroup-manager cgroupfs --root "$p/root" --runroot "$p/runroot"
        --tmpdir "$p/tmp" --events-backend file)
    # Leave nothing: remove every container, then the storage mounts, then
    # what podman creates outside its roots (if it was not there before).
    [[ -e /var/lib/containers ]] || defer "rm -rf /var/lib/containers"
    [[ -e /sys/fs/cgroup/pids/libpod_parent || -e /sys/fs/cgroup/libpod_parent ]] ||
        defer "find /sys/fs/cgroup -depth -type d -path '*/libpod_parent*' -exec rmdir {} \\;"
    defer "${PODMAN[*]} rm -af -t 0; ${PODMAN[*]} system reset -f; umount -R '$p/root' '$p/runroot'"
    tar -C "$ZIT_CACHE/rootfs" -cf "$TEST_TMP/rootfs.tar" .
    "${PODMAN[@]}" import "$TEST_TMP/rootfs.tar" zit-busybox:latest >/dev/null ||
        fail "podman import failed"
}

test_podman_lifecycle() {
    setup_podman
    local name=${ZIT_PREFIX}pod
    echo "$name" >> "$TEST_TMP/ids"

    # run --rm: output and exit code come back
    expect_ok "${PODMAN[@]}" run --rm --network none zit-busybox sh -c 'echo hello-podman; id -u'
    assert_eq "$out" "$(printf 'hello-podman\n0')" "podman run --rm output"
    capture "${PODMAN[@]}" run --rm --network none zit-busybox sh -c 'exit 5'
    assert_eq "$rc" 5 "podman run exit code"

    # run -d, exec, logs, stop, rm
    expect_ok "${PODMAN[@]}" run -d --name "$name" --network none zit-busybox \
        sh -c 'echo log-line-1; trap "exit 0" TERM; while :; do sleep 0.1; done'
    local cid=$out
    expect_ok "${PODMAN[@]}" exec "$name" sh -c 'echo exec-ok $$'
    assert_contains "$out" exec-ok "podman exec output"
    capture "${PODMAN[@]}" exec "$name" sh -c 'exit 3'
    assert_eq "$rc" 3 "podman exec exit code"
    wait_for 5 bash -c '"$@" | grep -q log-line-1' _ "${PODMAN[@]}" logs "$name" ||
        fail "podman logs lacks the output: $("${PODMAN[@]}" logs "$name" 2>&1)"
    expect_ok "${PODMAN[@]}" inspect --format '{{.State.Status}}' "$name"
    assert_eq "$out" running "podman inspect status"
    expect_ok "${PODMAN[@]}" stop -t 5 "$name"
    expect_ok "${PODMAN[@]}" inspect --format '{{.State.Status}} {{.State.ExitCode}}' "$name"
    assert_eq "$out" "exited 0" "status after podman stop"
    expect_ok "${PODMAN[@]}" rm "$name"
    [[ -z $(find /sys/fs/cgroup -type d -name "*$cid*") ]] || fail "cgroups of $cid left after podman rm"

    # run -it under a pseudo-terminal (script gives podman a tty)
    need_cmd script
    capture script -qec "${PODMAN[*]} run --rm -it --network none zit-busybox sh -c 'tty; stty size'" /dev/null
    assert_eq "$rc" 0 "podman run -it: $out $err"
    assert_match "$out" '/dev/pts/[0-9]+' "tty inside podman run -it"
}

# ----------------------------------------------------------- containerd

setup_containerd() {
    need_cmd containerd ctr containerd-shim-runc-v2
    local c=$TEST_TMP/ctrd
    bash "$ROOT_DIR/scripts/containerd-config.sh" "$c" || fail "cannot write the containerd config"
    local ns=${ZIT_PREFIX%-}
    # containerd and its shim keep fifos, sockets and runtime state under
    # /run/containerd whatever --state says; the cgroup parent is the namespace.
    [[ -e /run/containerd ]] || defer "rm -rf /run/containerd"
    defer "rmdir /run/containerd/runc/$ns; find /sys/fs/cgroup -depth -type d -name '$ns' -exec rmdir {} \\;"
    containerd --config "$c/config.toml" >"$c/containerd.log" 2>&1 &
    CONTAINERD_PID=$!
    defer "kill $CONTAINERD_PID; wait $CONTAINERD_PID; umount -R '$c/state' '$c/root' 2>/dev/null"
    CTR=(ctr --address "$c/c.sock" --namespace "$ns")
    wait_for 15 "${CTR[@]}" version || fail "containerd did not come up: $(tail -5 "$c/containerd.log")"
    bash "$ROOT_DIR/scripts/oci-image-tar.sh" "$ZIT_CACHE/rootfs" "$TEST_TMP/image.tar" docker.io/zit/busybox:latest ||
        fail "cannot make the OCI image archive"
    expect_ok "${CTR[@]}" image import --snapshotter native "$TEST_TMP/image.tar"
    expect_ok "${CTR[@]}" image ls -q
    assert_contains "$out" docker.io/zit/busybox:latest "imported image"
}

test_containerd_ctr_run() {
    setup_containerd
    local id=${ZIT_PREFIX}ctrd
    echo "$id" >> "$TEST_TMP/ids"
    expect_ok "${CTR[@]}" run --rm --snapshotter native --runc-binary "$RUNTIME" \
        docker.io/zit/busybox:latest "$id" sh -c 'echo hello-containerd; id -u; echo pid=$$'
    assert_eq "$(tr -d '\r' <<<"$out")" "$(printf 'hello-containerd\n0\npid=1')" "ctr run output"
    capture "${CTR[@]}" run --rm --snapshotter native --runc-binary "$RUNTIME" \
        docker.io/zit/busybox:latest "${id}x" sh -c 'exit 4'
    echo "${id}x" >> "$TEST_TMP/ids"
    assert_eq "$rc" 4 "ctr run exit code"

    # detached task, exec into it, kill, delete
    expect_ok "${CTR[@]}" run -d --snapshotter native --runc-binary "$RUNTIME" \
        docker.io/zit/busybox:latest "${id}d" sleep 1000
    echo "${id}d" >> "$TEST_TMP/ids"
    expect_ok "${CTR[@]}" task exec --exec-id e1 "${id}d" sh -c 'echo exec-in-task; cat /proc/1/cmdline | tr "\0" " "'
    assert_contains "$out" "exec-in-task" "ctr task exec output"
    assert_contains "$out" "sleep 1000" "ctr task exec sees the task's pid 1"
    expect_ok "${CTR[@]}" task ls
    assert_match "$(grep "^${id}d " <<<"$out")" 'RUNNING' "ctr task ls"
    expect_ok "${CTR[@]}" task kill -s SIGKILL "${id}d"
    wait_for 10 bash -c '"$@" | grep -q STOPPED' _ "${CTR[@]}" task ls || fail "task did not stop"
    expect_ok "${CTR[@]}" task delete "${id}d"
    expect_ok "${CTR[@]}" container delete "${id}d"
    # the shim's runtime state for our ids is gone
    [[ -z $(ls -A "/run/containerd/runc/${ZIT_PREFIX%-}" 2>/dev/null) ]] ||
        fail "runtime state left under /run/containerd/runc/${ZIT_PREFIX%-}"
}
