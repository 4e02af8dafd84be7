# shellcheck shell=bash disable=SC2154,SC2016  # out/err/rc are set by capture() in lib.sh
# The developer CLI without root (docs/rootless.md, "Developer CLI"): as a
# throw-away user (rootless_lib.sh) with its image store in
# $XDG_DATA_HOME/zone and its state in $XDG_RUNTIME_DIR/zone: pull from a
# loopback registry, run, ownership mapped through the subordinate ids,
# detached containers with exec/logs/stop/rm, resource flags, pasta
# networking with a published port. Each test checks that the user wrote
# nothing outside its own directories and that nothing was left behind.

# timeout test_rootless_dev_pull_and_run 180
# timeout test_rootless_dev_layer_ownership 180
# timeout test_rootless_dev_one_id_squashes 120
# timeout test_rootless_dev_detached_exec_rm 180
# timeout test_rootless_dev_resource_flags 180
# timeout test_rootless_dev_network 180
# timeout test_rootless_dev_fuse_overlayfs 120

# shellcheck source=rootless_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/rootless_lib.sh"

DEV=$(dirname "$RUNTIME")/zone-dev

# rd_user KIND: the user (rl_user) with XDG_DATA_HOME in its home; the
# checks for stray files and leftovers run when the test ends.
rd_user() {
    [[ -x $DEV ]] || skip "zone-dev is not built next to $RUNTIME"
    rl_user "$1"
    RD_DATA=$RL_HOME/data
    RD_STORE=$RD_DATA/zone
    rl_as mkdir -p "$RD_DATA"
    touch "$TEST_TMP/start-stamp"
    defer rd_cleanup
}

# rd CMD...: zone as the user, default state root and image store.
rd() { rl_as env XDG_DATA_HOME="$RD_DATA" "$RUNTIME" "$@"; }
# rdrun ARGS...: `zone run` with the leak marker in the container's env
rdrun() { rd run -e "ZIT_MARK=$ZIT_PREFIX" "$@"; }

rd_cleanup() {
    local ids
    ids=$(rd ps -aq --no-trunc 2>/dev/null)
    # shellcheck disable=SC2086  # one argument per id
    [[ -n $ids ]] && rd rm -f $ids >/dev/null 2>&1
    return 0
}

# rd_final_checks (at the end of each test): no container record, no
# runtime state, no file of the user outside its home and XDG dirs.
rd_final_checks() {
    local left stray
    left=$(find "$RD_STORE/containers" -mindepth 1 -maxdepth 1 -name "[!.]*" 2>/dev/null)
    [[ -z $left ]] || fail "container records left behind: $left"
    left=$(find "$RL_XDG/zone" -mindepth 1 -maxdepth 1 -name "[!.]*" 2>/dev/null)
    [[ -z $left ]] || fail "runtime state left behind in $RL_XDG/zone: $left"
    stray=$(find / -xdev \( -path /proc -o -path /sys -o -path "$RL_HOME" -o -path "$RL_XDG" \) \
                -prune -o -user "$RL_USER" -newer "$TEST_TMP/start-stamp" -print 2>/dev/null | head)
    [[ -z $stray ]] || fail "files of $RL_USER outside its directories: $stray"
    [[ ! -e /run/zone ]] || [[ -z $(find /run/zone -user "$RL_USER" 2>/dev/null) ]] ||
        fail "the user wrote to /run/zone"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# rd_registry: Debian's docker-registry on a loopback port (REG), with the
# busybox rootfs plus a layer of files owned by 1000:1000 pushed as
# $REG/test/bb:v1 from an OCI layout built by skopeo from a docker archive.
rd_registry() {
    need_cmd docker-registry skopeo jq python3 curl
    local dir=$TEST_TMP/registry port
    mkdir -p "$dir"
    port=$(free_port)
    cat > "$dir/config.yml" <<EOF
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $dir/data
http:
  addr: 127.0.0.1:$port
EOF
    docker-registry serve "$dir/config.yml" > "$dir/log" 2>&1 &
    local pid=$!
    defer "kill $pid; wait $pid"
    REG=127.0.0.1:$port
    wait_for 20 curl -s -o /dev/null "http://$REG/v2/" ||
        fail "docker-registry did not start: $(cat "$dir/log")"
    rd_layout "$TEST_TMP/layout"
    skopeo copy --quiet --dest-tls-verify=false "oci:$TEST_TMP/layout:v1" \
        "docker://$REG/test/bb:v1" > "$TEST_TMP/skopeo.log" 2>&1 ||
        fail "skopeo copy to $REG: $(cat "$TEST_TMP/skopeo.log")"
}

# rd_layers DIR: DIR/base.tar (the busybox rootfs, root-owned) and
# DIR/owned.tar: /home/dev owned by 1000:1000 with a file, a setuid-root
# program, a file of uid 1000 that is setgid, and a character device.
rd_layers() {
    local d=$1 t=$1/owned
    mkdir -p "$t/home/dev" "$t/usr/local/bin" "$t/dev"
    tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$ZIT_CACHE/rootfs" \
        -cf "$d/base.tar" . || fail "tar of the busybox rootfs"
    echo mine > "$t/home/dev/file"
    cp "$ZIT_CACHE/rootfs/bin/busybox" "$t/usr/local/bin/suid"
    chmod 4755 "$t/usr/local/bin/suid"
    echo x > "$t/home/dev/sgid"
    chown -R 1000:1000 "$t/home/dev"
    chmod 2755 "$t/home/dev/sgid"    # after chown, which clears it
    mknod "$t/dev/zit-null" c 1 3
    tar --sort=name --mtime=@0 --numeric-owner -C "$t" -cf "$d/owned.tar" home usr dev ||
        fail "tar of the owned layer"
}

# rd_layout DIR: an OCI layout (tag v1) of the two layers of rd_layers.
rd_layout() {
    local dir=$1 tmp=$1.tmp l diffs=() layers=()
    mkdir -p "$dir/blobs/sha256" "$tmp"
    rd_layers "$tmp"
    echo '{"imageLayoutVersion":"1.0.0"}' > "$dir/oci-layout"
    for l in base owned; do
        diffs+=("sha256:$(sha256sum "$tmp/$l.tar" | cut -d' ' -f1)")
        gzip -n -c "$tmp/$l.tar" > "$tmp/$l.tar.gz"
        local hex; hex=$(sha256sum "$tmp/$l.tar.gz" | cut -d' ' -f1)
        cp "$tmp/$l.tar.gz" "$dir/blobs/sha256/$hex"
        layers+=("$(jq -nc --arg d "sha256:$hex" --argjson s "$(stat -c %s "$tmp/$l.tar.gz")" \
            '{mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: $d, size: $s}')")
    done
    jq -nc --args '{architecture: "amd64", os: "linux",
        config: {Cmd: ["/bin/sh"], Env: ["PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
        rootfs: {type: "layers", diff_ids: $ARGS.positional}}' "${diffs[@]}" > "$tmp/config.json"
    local chex; chex=$(sha256sum "$tmp/config.json" | cut -d' ' -f1)
    cp "$tmp/config.json" "$dir/blobs/sha256/$chex"
    printf '%s\n' "${layers[@]}" | jq -sc --arg c "sha256:$chex" \
        --argjson cs "$(stat -c %s "$tmp/config.json")" '{schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $cs},
        layers: .}' > "$tmp/manifest.json"
    local mhex; mhex=$(sha256sum "$tmp/manifest.json" | cut -d' ' -f1)
    cp "$tmp/manifest.json" "$dir/blobs/sha256/$mhex"
    jq -nc --arg d "sha256:$mhex" --argjson s "$(stat -c %s "$tmp/manifest.json")" \
        '{schemaVersion: 2, manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json",
          digest: $d, size: $s, annotations: {"org.opencontainers.image.ref.name": "v1"}}]}' \
        > "$dir/index.json"
    rm -rf "$tmp"
}

# rd_pull: the user pulls $REG/test/bb:v1 as IMG.
rd_pull() {
    IMG=$REG/test/bb:v1
    capture rd pull -q --tls-verify=false "$IMG"
    [[ $rc == 0 ]] || fail "zone pull as $RL_USER exited $rc: $err"
    [[ -d $RD_STORE/blobs ]] || fail "no image store in \$XDG_DATA_HOME/zone ($RD_STORE)"
}

# ------------------------------------------------------------------ tests

test_rootless_dev_pull_and_run() {
    rd_user multi
    rd_registry
    rd_pull
    expect_ok rd images
    assert_contains "$out" "test/bb"
    expect_ok rdrun --rm "$IMG" echo hello
    assert_eq "$out" hello "output of run --rm as $RL_USER"
    expect_ok rdrun --rm "$IMG" id -u
    assert_eq "$out" 0 "uid inside (container root = $RL_USER)"
    # zone import of a rootfs tar as the user
    tar -C "$ZIT_CACHE/rootfs" -cf "$TEST_TMP/rootfs.tar" . || fail "tar of the busybox rootfs"
    chmod 644 "$TEST_TMP/rootfs.tar"
    expect_ok rd import "$TEST_TMP/rootfs.tar" zit-imported
    expect_ok rdrun --rm zit-imported echo imported
    assert_eq "$out" imported "output of the imported image"
    expect_ok rd rmi zit-imported
    # the files are the user's: nothing of the store needs root to remove
    expect_ok rd rmi "$IMG"
    expect_ok rd images -q
    assert_eq "$out" "" "images after rmi"
    left=$(find "$RD_STORE/layers" -mindepth 1 -maxdepth 1 2>/dev/null)
    [[ -z $left ]] || fail "layers left after rmi: $left"
    rd_final_checks
}

# Files of uid 1000 in the image are uid 1000's inside and SUBUID+999's on
# the host; setuid/setgid bits are kept; the device node is skipped with a
# warning; what the container writes as uid 1000 is removed by `rm`.
test_rootless_dev_layer_ownership() {
    rd_user multi
    rd_registry
    rd_pull
    capture rdrun --rm "$IMG" stat -c '%u:%g %a %n' /home/dev /home/dev/file /home/dev/sgid \
        /usr/local/bin/suid /etc/passwd
    [[ $rc == 0 ]] || fail "run --rm stat exited $rc: $err"
    assert_contains "$out" "1000:1000 755 /home/dev"$'\n'
    assert_contains "$out" "1000:1000 644 /home/dev/file"
    assert_contains "$out" "1000:1000 2755 /home/dev/sgid"
    assert_contains "$out" "0:0 4755 /usr/local/bin/suid"
    assert_contains "$out" "0:0 644 /etc/passwd"
    assert_contains "$err" "device node(s) skipped"
    # on the host: the layer's files belong to the subordinate ids
    local f want
    f=$(find "$RD_STORE/layers" -path '*/rootfs/home/dev/file' | head -1)
    [[ -n $f ]] || fail "no unpacked /home/dev/file under $RD_STORE/layers"
    want="$((RL_SUBUID + 999)):$((RL_SUBGID + 999))"
    assert_eq "$(stat -c %u:%g "$f")" "$want" "host owner of the layer's file of uid 1000"
    assert_eq "$(stat -c %u:%g "$(dirname "$(dirname "$(dirname "$f")")")")" \
        "$RL_UID:$RL_GID" "host owner of the layer's rootfs (container root)"
    # a container process of uid 1000 writes into the overlay; rm removes it
    local id
    capture rdrun -d --user 1000:1000 "$IMG" sh -c 'mkdir -m 700 /home/dev/d && echo x > /home/dev/d/f && sleep 300'
    [[ $rc == 0 ]] || fail "run -d --user 1000 exited $rc: $err"
    id=$out
    wait_for 10 rd exec "$id" test -f /home/dev/d/f || fail "the container did not write its file"
    expect_ok rd rm -f "$id"
    [[ ! -e $RD_STORE/containers/$id ]] || fail "rm -f left $RD_STORE/containers/$id"
    # the same removed by the detached monitor of a --rm container
    capture rdrun -d --rm --user 1000:1000 "$IMG" sh -c 'mkdir -m 700 /home/dev/e && echo x > /home/dev/e/f'
    [[ $rc == 0 ]] || fail "run -d --rm --user 1000 exited $rc: $err"
    id=$out
    wait_for 15 test ! -e "$RD_STORE/containers/$id" ||
        fail "the monitor of run -d --rm did not remove $RD_STORE/containers/$id"
    rd_final_checks
}

# Without subordinate ids every file is the user's (root inside), with a
# warning naming it.
test_rootless_dev_one_id_squashes() {
    rd_user one
    rd_registry
    rd_pull
    capture rdrun --rm "$IMG" stat -c '%u:%g %a %n' /home/dev/file /usr/local/bin/suid
    [[ $rc == 0 ]] || fail "run --rm stat exited $rc: $err"
    assert_contains "$out" "0:0 644 /home/dev/file"
    assert_contains "$out" "0:0 4755 /usr/local/bin/suid"
    assert_contains "$err" "belong to the user: it has no subordinate ids"
    local f
    f=$(find "$RD_STORE/layers" -path '*/rootfs/home/dev/file' | head -1)
    assert_eq "$(stat -c %u:%g "$f")" "$RL_UID:$RL_GID" "host owner of the squashed file"
    rd_final_checks
}

# run -d, exec, ps, logs, stop, rm, rm -f, as the user.
test_rootless_dev_detached_exec_rm() {
    rd_user multi
    rd_registry
    rd_pull
    local id
    capture rdrun -d --name web "$IMG" sh -c 'echo started; exec sleep 300'
    [[ $rc == 0 ]] || fail "run -d exited $rc: $err"
    id=$out
    expect_ok rd exec web sh -c 'echo in-$(id -u)'
    assert_eq "$out" "in-0" "exec output"
    expect_ok rd exec --user 1000 web id -u
    assert_eq "$out" 1000 "exec --user 1000"
    expect_ok rd ps
    assert_contains "$out" web
    wait_for 10 sh -c "runuser -u $RL_USER -- env XDG_RUNTIME_DIR=$RL_XDG XDG_DATA_HOME=$RD_DATA HOME=$RL_HOME $RUNTIME logs web | grep -q started" ||
        fail "logs do not show the container's output"
    expect_ok rd stop -t 2 web
    expect_ok rd ps -a
    assert_contains "$out" Exited
    expect_ok rd rm web
    capture rdrun -d "$IMG" sleep 300
    [[ $rc == 0 ]] || fail "run -d exited $rc: $err"
    expect_ok rd rm -f "$out"
    expect_ok rd ps -aq
    assert_eq "$out" "" "containers after rm"
    rd_final_checks
}

# --memory, --cpus, --pids-limit: applied where the user has a delegated
# cgroup v2 with the controllers, else refused with the documented message
# (and nothing left behind).
test_rootless_dev_resource_flags() {
    rd_user multi
    rd_registry
    rd_pull
    local flag file want
    for flag in "--memory 64m:memory.max:67108864" "--cpus 0.5:cpu.max:50000 100000" \
                "--pids-limit 50:pids.max:50"; do
        file=${flag#*:}; want=${file#*:}; file=${file%%:*}; flag=${flag%%:*}
        # shellcheck disable=SC2086  # flag is "NAME VALUE"
        capture rdrun --rm $flag "$IMG" cat "/sys/fs/cgroup/$file"
        if [[ $rc == 0 ]]; then
            assert_eq "$out" "$want" "$file inside the container run with $flag"
        else
            assert_eq "$rc" 125 "exit code of run $flag refused"
            assert_contains "$err" "$RL_LIMITS_MSG"
        fi
    done
    expect_ok rd ps -aq
    assert_eq "$out" "" "containers after the refused runs"
    rd_final_checks
}

# --network none and host without helpers; --network pasta with -p
# reaching a server in the container (skipped when the user cannot open
# /dev/net/tun: the test does not change its mode).
test_rootless_dev_network() {
    rd_user multi
    rd_registry
    rd_pull
    expect_ok rdrun --rm --network none "$IMG" ls /sys/class/net
    assert_eq "$out" lo "interfaces with --network none"
    expect_ok rdrun --rm --network host "$IMG" ls /sys/class/net
    assert_eq "$out" "$(ls /sys/class/net)" "interfaces with --network host"
    need_cmd pasta
    rl_as sh -c 'exec 3<>/dev/net/tun' 2>/dev/null ||
        skip "/dev/net/tun is not usable by an unprivileged user ($(stat -c '%A' /dev/net/tun)): pasta cannot run (none and host passed)"
    local port=$((20000 + RANDOM % 20000))
    capture rdrun -d --name web --network pasta -p "$port:80" "$IMG" \
        sh -c 'mkdir -p /www && echo hello-pasta > /www/index.html && exec httpd -f -p 80 -h /www'
    [[ $rc == 0 ]] || fail "run -d --network pasta -p $port:80 exited $rc: $err"
    wait_for 10 bash -c "busybox wget -qO- http://127.0.0.1:$port/ | grep -q hello-pasta" ||
        fail "the published port does not answer"
    [[ $(pgrep -u "$RL_USER" -x pasta | wc -l) -ge 1 ]] || [[ $(pgrep -u "$RL_USER" -f "pasta" | wc -l) -ge 1 ]] ||
        fail "no pasta of $RL_USER runs"
    expect_ok rd rm -f web
    sleep 0.3
    pgrep -u "$RL_USER" -f -- "-t $port:80" >/dev/null && fail "pasta still running after rm"

    # without pasta in PATH: slirp4netns, with the port added through its
    # API socket
    command -v slirp4netns >/dev/null || { rd_final_checks; return 0; }
    local bin=$TEST_TMP/bin-nopasta
    mkdir -p "$bin"
    ln -s "$(command -v slirp4netns)" "$bin/slirp4netns"
    port=$((20000 + RANDOM % 20000))
    capture rl_as env PATH="$bin" XDG_DATA_HOME="$RD_DATA" "$RUNTIME" run -d --name web2 \
        -e "ZIT_MARK=$ZIT_PREFIX" --network pasta -p "$port:80" "$IMG" \
        sh -c 'mkdir -p /www && echo hello-slirp > /www/index.html && exec httpd -f -p 80 -h /www'
    [[ $rc == 0 ]] || fail "run -d --network pasta (slirp4netns) -p $port:80 exited $rc: $err"
    pgrep -u "$RL_USER" -x slirp4netns >/dev/null || fail "no slirp4netns of $RL_USER runs"
    wait_for 10 bash -c "busybox wget -qO- http://127.0.0.1:$port/ | grep -q hello-slirp" ||
        fail "the port published through slirp4netns does not answer"
    expect_ok rd rm -f web2
    sleep 0.3
    pgrep -u "$RL_USER" -x slirp4netns >/dev/null && fail "slirp4netns still running after rm"
    rd_final_checks
}

# fuse-overlayfs, the fallback when the kernel refuses overlay in the user
# namespace (forced here with ZONE_OVERLAY=fuse): the same view of the
# layers, writes work, and its daemon ends with the container.
test_rootless_dev_fuse_overlayfs() {
    need_cmd fuse-overlayfs
    rd_user multi
    rl_as sh -c 'exec 3<>/dev/fuse' 2>/dev/null ||
        skip "/dev/fuse is not usable by an unprivileged user ($(stat -c '%A' /dev/fuse 2>/dev/null || echo missing))"
    rd_registry
    rd_pull
    capture rl_as env XDG_DATA_HOME="$RD_DATA" ZONE_OVERLAY=fuse "$RUNTIME" run --rm \
        -e "ZIT_MARK=$ZIT_PREFIX" "$IMG" sh -c 'awk "\$2 == \"/\" { print \$3 }" /proc/mounts;
            stat -c "%u:%g %n" /home/dev/file; echo new > /home/dev/new && cat /home/dev/new'
    [[ $rc == 0 ]] || fail "run --rm with ZONE_OVERLAY=fuse exited $rc: $err"
    assert_contains "$out" "fuse.fuse-overlayfs"
    assert_contains "$out" "1000:1000 /home/dev/file"
    assert_contains "$out" "new"
    sleep 0.3
    pgrep -u "$RL_USER" fuse-overlayfs >/dev/null && fail "fuse-overlayfs of $RL_USER still runs after run --rm"
    rd_final_checks
}
