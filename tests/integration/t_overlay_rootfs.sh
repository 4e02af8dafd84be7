# shellcheck shell=bash disable=SC2154  # out/err/rc are set by capture() in lib.sh
# Overlay rootfs from the run.zone.rootfs.* annotations (what `zone run
# IMAGE` writes): the init mounts it inside its own mount namespace, so the
# host never sees it; and "lo" is up in a new network namespace.

# set_xattr PATH NAME VALUE (setfattr when installed, else python3)
set_xattr() {
    if command -v setfattr >/dev/null 2>&1; then
        setfattr -n "$2" -v "$3" "$1"
    else
        python3 -c 'import os,sys; os.setxattr(sys.argv[1], sys.argv[2], sys.argv[3].encode())' "$1" "$2" "$3"
    fi
}

# make_layers: $L1 = busybox rootfs plus files to hide; $L2 = an extra file,
# a whiteout (0/0 char device) of /etc/hideme and an opaque /opq.
make_layers() {
    L1=$TEST_TMP/lower1 L2=$TEST_TMP/lower2
    cp -a "$ZIT_CACHE/rootfs" "$L1"
    echo hidden > "$L1/etc/hideme"
    echo kept > "$L1/etc/keepme"
    mkdir -p "$L1/opq" "$L2/opq" "$L2/etc"
    echo from-lower1 > "$L1/opq/old"
    echo from-lower2 > "$L2/opq/new"
    echo extra-layer > "$L2/extra"
    mknod "$L2/etc/hideme" c 0 0 || skip "mknod of a whiteout failed"
    set_xattr "$L2/opq" trusted.overlay.opaque y || skip "cannot set trusted.overlay.opaque here"
}

# overlay_bundle [rw]: a bundle with an empty rootfs/ and the annotations;
# with "rw" an upper/ and work/ in the bundle.
overlay_bundle() {
    BUNDLE=$TEST_TMP/bundle
    mkdir -p "$BUNDLE/rootfs"
    cp "$ZIT_CACHE/config.json" "$BUNDLE/config.json"
    cfg '.process.terminal = false | .root.readonly = false
         | .annotations["run.zone.rootfs.lowerdirs"] = $l' --arg l "$L2:$L1"
    if [[ ${1:-} == rw ]]; then
        mkdir -p "$BUNDLE/upper" "$BUNDLE/work"
        cfg '.annotations["run.zone.rootfs.upperdir"] = $u
             | .annotations["run.zone.rootfs.workdir"] = $w' \
            --arg u "$BUNDLE/upper" --arg w "$BUNDLE/work"
    fi
}

in_ctr() {
    set_args sh -c "$1"
    local id; id=$(new_id)
    run_ctr "$id"
}

host_has_overlay_mount() {
    grep -qE " overlay [^ ]* .*(lowerdir|upperdir)=[^ ]*$TEST_TMP" /proc/self/mountinfo ||
        grep -q " $BUNDLE/rootfs " /proc/self/mountinfo
}

test_overlay_merged_whiteout_opaque_upper() {
    make_layers
    overlay_bundle rw
    in_ctr 'cat /extra; cat /etc/keepme; cat /etc/hideme 2>&1; ls /opq;
            echo written > /newfile && echo write-ok; rm /etc/keepme && echo rm-ok;
            grep " / / " /proc/self/mountinfo'
    assert_eq "$rc" 0 "exit code; stderr: $err"
    assert_contains "$out" extra-layer "file of the upper lower layer"
    assert_contains "$out" kept "file of the bottom layer"
    assert_contains "$out" "No such file or directory" "whiteout hides /etc/hideme"
    assert_not_contains "$out" "hidden" "whiteout hides /etc/hideme"
    assert_contains "$out" new "opaque dir shows its own entries"
    assert_not_contains "$out" old "opaque dir hides the lower entries"
    assert_contains "$out" write-ok "write to the merged root"
    assert_match "$out" ' / / [^ ]* - overlay ' "the container root is an overlay"
    assert_eq "$(cat "$BUNDLE/upper/newfile")" written "write landed in upperdir"
    [[ -c $BUNDLE/upper/etc/keepme ]] || fail "rm did not leave a whiteout in upperdir"
    [[ -e $L1/etc/keepme && ! -e $L1/newfile && ! -e $L2/newfile ]] ||
        fail "the lower layers were changed"
    [[ -z $(ls -A "$BUNDLE/rootfs") ]] || fail "the bundle's rootfs/ was written on the host"
    host_has_overlay_mount && fail "an overlay mount is visible on the host"
    return 0
}

test_overlay_mount_gone_while_running() {
    make_layers
    overlay_bundle rw
    set_args sleep 1000
    local id; id=$(new_id)
    start_ctr "$id"
    wait_status "$id" running
    # inside: merged; outside: nothing mounted
    local pid; pid=$(ctr_pid "$id")
    [[ -e /proc/$pid/root/extra ]] || fail "container root is not the merged tree"
    host_has_overlay_mount && fail "an overlay mount is visible on the host while running"
    expect_ok zrun delete --force "$id"
    host_has_overlay_mount && fail "an overlay mount is left after delete"
    return 0
}

test_overlay_readonly_without_upper() {
    make_layers
    overlay_bundle
    in_ctr 'cat /extra; touch /x 2>&1; echo touch-rc=$?'
    assert_eq "$rc" 0 "exit code; stderr: $err"
    assert_contains "$out" extra-layer "merged read-only view"
    assert_contains "$out" "Read-only file system" "write to a read-only overlay"
    assert_contains "$out" "touch-rc=1" "write to a read-only overlay"
}

test_overlay_single_lower_is_readonly_bind() {
    make_layers
    overlay_bundle
    cfg '.annotations["run.zone.rootfs.lowerdirs"] = $l' --arg l "$L1"
    in_ctr 'cat /etc/hideme; touch /x 2>&1; echo touch-rc=$?'
    assert_eq "$rc" 0 "exit code; stderr: $err"
    assert_contains "$out" hidden "single layer content"
    assert_contains "$out" "touch-rc=1" "single layer is read-only"
    [[ ! -e $L1/x ]] || fail "write reached the layer"
}

test_overlay_bad_annotations_refused_at_create() {
    make_layers
    overlay_bundle rw
    set_args true
    local id
    cfg '.annotations["run.zone.rootfs.lowerdirs"] = "relative/dir"'
    id=$(new_id); run_ctr "$id"
    assert_ne "$rc" 0 "relative lowerdir accepted"
    assert_contains "$err" "run.zone.rootfs.lowerdirs" "error names the annotation"
    mkdir -p "$TEST_TMP/a,b"
    cfg '.annotations["run.zone.rootfs.lowerdirs"] = $l' --arg l "$TEST_TMP/a,b:$L1"
    id=$(new_id); run_ctr "$id"
    assert_ne "$rc" 0 "a ',' in a lowerdir accepted"
    assert_contains "$err" "run.zone.rootfs.lowerdirs" "error names the annotation"
    cfg '.annotations["run.zone.rootfs.lowerdirs"] = $l
         | .annotations["run.zone.rootfs.upperdir"] = $u' --arg l "$L2:$L1" --arg u "$TEST_TMP/nope"
    id=$(new_id); run_ctr "$id"
    assert_ne "$rc" 0 "missing upperdir accepted"
    assert_contains "$err" "run.zone.rootfs.upperdir" "error names the annotation"
    [[ -z $(ls -A "$TEST_ROOT" 2>/dev/null) ]] || fail "a refused create left state behind"
}

test_loopback_up_in_new_netns() {
    make_bundle
    if ! jq -e '.linux.namespaces[] | select(.type == "network")' "$BUNDLE/config.json" >/dev/null; then
        add_namespace network
    fi
    in_ctr 'cat /sys/class/net/lo/operstate; cat /sys/class/net/lo/flags; ls /sys/class/net'
    assert_eq "$rc" 0 "exit code; stderr: $err"
    assert_contains_any "$out" "unknown" "up"
    # IFF_UP (0x1) set: flags 0x9 = UP|LOOPBACK
    assert_match "$out" $'\n0x[0-9a-f]*[13579bdf]\n' "lo flags have IFF_UP"
    assert_eq "$(tail -1 <<<"$out")" lo "only lo in the new namespace"
}
