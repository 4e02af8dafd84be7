# shellcheck shell=bash disable=SC2154  # out/err/rc are set by capture() in lib.sh
# Images to and from files: oci:, oci-archive:, docker-archive: (made by
# umoci and skopeo), `zone load`, `zone import`, `zone save` round trips,
# and hostile archives. Layers carry a deleted-file whiteout and an opaque
# directory, checked inside a container.

# timeout test_whiteouts_in_container 120
# timeout test_import_skopeo_archives 120
# timeout test_save_round_trips 120
# timeout test_hostile_archives 120

STORE=
zs() { "$RUNTIME" --root "$TEST_ROOT" --storage "$STORE" "$@"; }

# make_layout: $TEST_TMP/layout, an OCI layout built with umoci from the
# busybox rootfs:
#   base  one layer: busybox, data/{gone.txt,kept.txt}, data/opq/old1,
#         data/opq2/old2
#   v2    + a umoci layer: data/gone.txt deleted (.wh.gone.txt), data/opq
#         removed and made again with only new1
#   v3    + a hand-made layer: data/.wh.kept.txt and data/opq2 opaque
#         (.wh..wh..opq) with only "only"
make_layout() {
    need_cmd umoci
    STORE=$TEST_TMP/store
    LAYOUT=$TEST_TMP/layout
    local b1=$TEST_TMP/b1 b2=$TEST_TMP/b2 craft=$TEST_TMP/craft
    umoci init --layout "$LAYOUT" || fail "umoci init"
    umoci new --image "$LAYOUT:base" || fail "umoci new"
    umoci unpack --image "$LAYOUT:base" "$b1" >/dev/null || fail "umoci unpack"
    cp -a "$ZIT_CACHE/rootfs/." "$b1/rootfs/"
    mkdir -p "$b1/rootfs/data/opq" "$b1/rootfs/data/opq2"
    echo bye > "$b1/rootfs/data/gone.txt"
    echo stay > "$b1/rootfs/data/kept.txt"
    echo old1 > "$b1/rootfs/data/opq/old1"
    echo old2 > "$b1/rootfs/data/opq2/old2"
    umoci repack --image "$LAYOUT:base" "$b1" || fail "umoci repack base"
    umoci config --image "$LAYOUT:base" --config.cmd /bin/sh \
        --config.env PATH=/usr/sbin:/usr/bin:/sbin:/bin || fail "umoci config"
    umoci unpack --image "$LAYOUT:base" "$b2" >/dev/null || fail "umoci unpack base"
    rm "$b2/rootfs/data/gone.txt"
    rm -rf "$b2/rootfs/data/opq"
    mkdir "$b2/rootfs/data/opq"
    echo new > "$b2/rootfs/data/opq/new1"
    umoci repack --image "$LAYOUT:v2" "$b2" || fail "umoci repack v2"
    mkdir -p "$craft/data/opq2"
    echo fresh > "$craft/data/opq2/only"
    : > "$craft/data/opq2/.wh..wh..opq"
    : > "$craft/data/.wh.kept.txt"
    tar --numeric-owner --owner=0 --group=0 -C "$craft" -cf "$TEST_TMP/opaque.tar" data
    umoci raw add-layer --image "$LAYOUT:v2" --tag v3 "$TEST_TMP/opaque.tar" ||
        fail "umoci raw add-layer"
    rm -rf "$b1" "$b2" "$craft"
}

# manifest_digest_of TAG: the digest index.json of $LAYOUT gives TAG.
manifest_digest_of() {
    jq -r --arg t "$1" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t) | .digest' \
        "$LAYOUT/index.json"
}

# tag_digest NAME [STORE]: what the store's tag index says.
tag_digest() { jq -r --arg n "$1" '.[$n] // empty' "${2:-$STORE}/tags.json"; }

# expect_listed REPO TAG: `zone images` shows it.
expect_listed() {
    expect_ok zs images
    grep -E "^$1[[:space:]]+$2[[:space:]]" <<<"$out" >/dev/null ||
        fail "zone images does not list $1 $2: [$out]"
}

# The tree the v3 image must show in a container.
TREE_SCRIPT='for f in /data/gone.txt /data/kept.txt /data/opq/old1 /data/opq2/old2; do [ -e $f ] && echo "PRESENT $f"; done; echo "opq: $(ls -A /data/opq | tr "\n" " ")"; echo "opq2: $(ls -A /data/opq2 | tr "\n" " ")"; cat /data/opq/new1 /data/opq2/only'

check_tree() { # IMAGE
    capture zs run --rm --network none "$1" sh -c "$TREE_SCRIPT"
    [[ $rc == 0 ]] || fail "zone run $1 exited $rc: [$out] [$err]"
    assert_not_contains "$out" "PRESENT" "files that whiteouts delete"
    assert_contains "$out" "opq: new1 " "the re-made directory"
    assert_contains "$out" "opq2: only " "the opaque directory"
    assert_contains "$out" $'new\nfresh' "the new files' content"
}

test_import_layout() {
    make_layout
    expect_ok zs pull oci:"$LAYOUT":v3
    assert_eq "$(tag_digest localhost/layout:v3)" "$(manifest_digest_of v3)" "tag of oci:layout:v3"
    expect_ok zs pull oci:"$LAYOUT":v2
    assert_eq "$(tag_digest localhost/layout:v2)" "$(manifest_digest_of v2)" "tag of oci:layout:v2"
    expect_listed localhost/layout v3
    expect_listed localhost/layout v2
    # an unknown tag names what the layout holds
    capture zs pull oci:"$LAYOUT":nope
    assert_ne "$rc" 0 "pull of an unknown tag"
    assert_contains "$err" 'no image named \"nope\"'
}

# The acceptance check: whiteouts and opaque directories give the right
# tree inside a container, for the layout itself, its docker-archive
# (layers converted to plain tars), a save + load, and an imported rootfs.
test_whiteouts_in_container() {
    need_cmd skopeo
    make_layout
    expect_ok zs pull oci:"$LAYOUT":v3
    expect_ok zs pull oci:"$LAYOUT":v2
    check_tree localhost/layout:v3
    capture zs run --rm --network none localhost/layout:v2 sh -c 'ls -A /data /data/opq'
    assert_eq "$rc" 0 "zone run v2; stderr: $err"
    assert_not_contains "$out" "gone.txt" "v2 tree"
    assert_not_contains "$out" "old1" "v2 tree"
    assert_contains "$out" "new1" "v2 tree"
    skopeo copy -q oci:"$LAYOUT":v3 docker-archive:"$TEST_TMP/d.tar":example.com/team/busy:v3 ||
        fail "skopeo copy to docker-archive"
    expect_ok zs load -i "$TEST_TMP/d.tar"
    check_tree example.com/team/busy:v3
    expect_ok zs save -o "$TEST_TMP/saved.tar" localhost/layout:v3
    STORE=$TEST_TMP/store2
    expect_ok zs load -i "$TEST_TMP/saved.tar"
    check_tree localhost/layout:v3
    # /etc/hostname is the container's own in a dev run (as podman), so
    # the rootfs carries a marker file of its own
    mkdir -p "$TEST_TMP/marker/etc"
    echo imported-rootfs > "$TEST_TMP/marker/etc/zone-marker"
    tar --numeric-owner -C "$ZIT_CACHE/rootfs" -cf "$TEST_TMP/rootfs.tar" .
    tar --numeric-owner --owner=0 --group=0 -C "$TEST_TMP/marker" -rf "$TEST_TMP/rootfs.tar" ./etc/zone-marker
    expect_ok zs import "$TEST_TMP/rootfs.tar" myroot
    capture zs run --rm --network none myroot sh -c 'echo hi from $(cat /etc/zone-marker); echo $PATH'
    assert_eq "$rc" 0 "zone run of the imported rootfs; stderr: $err"
    assert_contains "$out" "hi from imported-rootfs"
    assert_contains "$out" "/usr/bin"
}

test_import_skopeo_archives() {
    need_cmd skopeo
    make_layout
    local oa=$TEST_TMP/v3-oci.tar da=$TEST_TMP/v3-docker.tar
    skopeo copy -q oci:"$LAYOUT":v3 oci-archive:"$oa":v3 || fail "skopeo copy to oci-archive"
    skopeo copy -q oci:"$LAYOUT":v3 docker-archive:"$da":example.com/team/busy:v3 ||
        fail "skopeo copy to docker-archive"
    expect_ok zs pull oci-archive:"$oa"
    assert_ne "$(tag_digest localhost/v3-oci:v3)" "" "tag of the oci-archive"
    expect_ok zs pull docker-archive:"$da"
    assert_ne "$(tag_digest example.com/team/busy:v3)" "" "tag of the docker-archive"
    expect_listed localhost/v3-oci v3
    expect_listed example.com/team/busy v3

    # load detects the format; into a second store
    STORE=$TEST_TMP/store2
    expect_ok zs load -i "$da"
    assert_contains "$out" "Loaded image: example.com/team/busy:v3"
    expect_ok zs load -i "$oa"
    assert_contains "$out" "Loaded image: localhost/v3-oci:v3"
    expect_listed example.com/team/busy v3
    expect_listed localhost/v3-oci v3
    # a compressed docker-archive, from stdin (capture would give /dev/null)
    gzip -c "$da" > "$da.gz"
    zs load < "$da.gz" > "$TEST_TMP/load.out" 2>&1 || fail "load < archive.gz: $(cat "$TEST_TMP/load.out")"
    assert_contains "$(cat "$TEST_TMP/load.out")" "Loaded image: example.com/team/busy:v3"
}

test_import_rootfs_cmd() {
    STORE=$TEST_TMP/store
    tar --numeric-owner -C "$ZIT_CACHE/rootfs" -cf "$TEST_TMP/rootfs.tar" .
    expect_ok zs import "$TEST_TMP/rootfs.tar" myroot
    assert_match "$out" '^[0-9a-f]{64}$' "import prints the image ID"
    local id=$out
    assert_ne "$(tag_digest localhost/myroot:latest)" "" "tag of the import"
    expect_listed localhost/myroot latest
    local cfg
    cfg=$(jq -r .config.digest "$STORE/blobs/sha256/$(tag_digest localhost/myroot:latest | cut -d: -f2)")
    assert_eq "$(jq -c '[.os, .config.Cmd]' "$STORE/blobs/sha256/${cfg#sha256:}")" '["linux",["/bin/sh"]]' "config"
    assert_eq "${cfg#sha256:}" "$id" "the printed image ID is the config digest"
    # gzip input gives the same layer
    gzip -c "$TEST_TMP/rootfs.tar" > "$TEST_TMP/rootfs.tgz"
    expect_ok zs import "$TEST_TMP/rootfs.tgz" other:2
    assert_eq "$(jq -r '.layers[0].digest' "$STORE/blobs/sha256/$(tag_digest localhost/other:2 | cut -d: -f2)")" \
        "$(jq -r '.layers[0].digest' "$STORE/blobs/sha256/$(tag_digest localhost/myroot:latest | cut -d: -f2)")" \
        "layer of the gzip import"
    # not a tar
    echo "just words" > "$TEST_TMP/junk"
    capture zs import "$TEST_TMP/junk" junk
    assert_ne "$rc" 0 "import of a non-tar"
    assert_contains "$err" "not a tar archive"
    assert_eq "$(tag_digest localhost/junk:latest)" "" "no tag after a failed import"
    [[ -n $id ]] || fail "no image id"
}

test_save_round_trips() {
    need_cmd skopeo
    make_layout
    expect_ok zs pull oci:"$LAYOUT":v3
    local name=localhost/layout:v3 want
    want=$(manifest_digest_of v3)

    expect_ok zs save --format oci-dir -o "$TEST_TMP/out-dir" "$name"
    expect_ok skopeo inspect oci:"$TEST_TMP/out-dir"
    assert_eq "$(jq -r .Digest <<<"$out")" "$want" "skopeo inspect of the saved oci dir"
    expect_ok zs save --format oci-archive -o "$TEST_TMP/out-oci.tar" "$name"
    expect_ok skopeo inspect oci-archive:"$TEST_TMP/out-oci.tar"
    assert_eq "$(jq -r .Digest <<<"$out")" "$want" "skopeo inspect of the saved oci-archive"
    expect_ok zs save -o "$TEST_TMP/out-docker.tar" "$name"
    expect_ok skopeo copy -q docker-archive:"$TEST_TMP/out-docker.tar" oci:"$TEST_TMP/from-docker:x"
    expect_ok skopeo inspect oci:"$TEST_TMP/from-docker:x"
    assert_eq "$(jq -r '.Layers | length' <<<"$out")" 3 "layers skopeo sees in the docker-archive"

    # back into a second store
    local first=$STORE
    STORE=$TEST_TMP/store2
    expect_ok zs load -i "$TEST_TMP/out-oci.tar"
    assert_contains "$out" "Loaded image: $name"
    assert_eq "$(tag_digest "$name")" "$want" "manifest digest after save + load (oci-archive)"
    expect_ok zs pull oci:"$TEST_TMP/out-dir"
    assert_eq "$(tag_digest "$name")" "$want" "manifest digest after save + pull (oci dir)"
    STORE=$TEST_TMP/store3
    expect_ok zs load -i "$TEST_TMP/out-docker.tar"
    assert_contains "$out" "Loaded image: $name"
    # docker-archive rebuilds the manifest; the config (image ID) stays
    local cfg1 cfg2
    cfg1=$(jq -r .config.digest "$first/blobs/sha256/${want#sha256:}")
    cfg2=$(jq -r .config.digest "$STORE/blobs/sha256/$(tag_digest "$name" | cut -d: -f2)")
    assert_eq "$cfg2" "$cfg1" "config digest after save + load (docker-archive)"
    # to stdout
    zs save "$name" > "$TEST_TMP/stdout.tar" || fail "save to stdout"
    expect_ok skopeo inspect docker-archive:"$TEST_TMP/stdout.tar"
}

# rewrite_tar SRC DST PYTHON: copies the tar SRC to DST through a Python
# function edit(name, data) -> list of (name, data) (an empty list drops).
rewrite_tar() {
    python3 - "$1" "$2" "$3" <<'EOF'
import io, sys, tarfile
src, dst, code = sys.argv[1:4]
ns = {}
exec(code, ns)
with tarfile.open(src) as tin, tarfile.open(dst, "w", format=tarfile.PAX_FORMAT) as tout:
    for m in tin.getmembers():
        data = tin.extractfile(m).read() if m.isfile() else None
        if data is None:
            tout.addfile(m)
            continue
        for name, body in ns["edit"](m.name, data):
            n = tarfile.TarInfo(name)
            n.size = len(body)
            n.mode = 0o644
            tout.addfile(n, io.BytesIO(body))
EOF
}

test_hostile_archives() {
    need_cmd skopeo python3
    make_layout
    local oa=$TEST_TMP/good-oci.tar da=$TEST_TMP/good-docker.tar
    skopeo copy -q oci:"$LAYOUT":v3 oci-archive:"$oa":v3 || fail "skopeo copy oci-archive"
    skopeo copy -q oci:"$LAYOUT":v3 docker-archive:"$da":evil/img:1 || fail "skopeo copy docker-archive"
    STORE=$TEST_TMP/store

    # a blob whose content does not match its name (the big layer's last
    # byte changed)
    rewrite_tar "$oa" "$TEST_TMP/mismatch.tar" '
def edit(name, data):
    if name.startswith("blobs/sha256/") and len(data) > 1000000:
        data = data[:-1] + bytes([data[-1] ^ 1])
    return [(name, data)]'
    capture zs pull oci-archive:"$TEST_TMP/mismatch.tar"
    assert_ne "$rc" 0 "pull of an archive with a corrupted blob"
    assert_contains "$err" "digest mismatch"
    # manifest.json naming a layer the archive lacks
    rewrite_tar "$da" "$TEST_TMP/missing.tar" '
import json
def edit(name, data):
    if name == "manifest.json":
        m = json.loads(data)
        m[0]["Layers"][1] = "nope/layer.tar"
        data = json.dumps(m).encode()
    return [(name, data)]'
    capture zs load -i "$TEST_TMP/missing.tar"
    assert_ne "$rc" 0 "load of a docker-archive with a missing layer"
    assert_contains "$err" "nope/layer.tar"
    assert_contains "$err" "missing from the archive"
    # a member named ../x
    rewrite_tar "$oa" "$TEST_TMP/dotdot.tar" '
def edit(name, data):
    if name == "index.json":
        return [("../x", b"boo"), (name, data)]
    return [(name, data)]'
    capture zs load -i "$TEST_TMP/dotdot.tar"
    assert_ne "$rc" 0 "load of an archive with ../x"
    assert_contains "$err" '../x'
    assert_contains "$err" 'refused'
    [[ ! -e $TEST_TMP/x ]] || fail "../x was written"
    # nothing tagged, and the store takes a good archive afterwards
    assert_eq "$(jq -r 'keys | length' "$STORE/tags.json" 2>/dev/null || echo 0)" 0 "tags after refused imports"
    expect_ok zs load -i "$oa"
    expect_ok zs load -i "$da"
    expect_listed localhost/good-oci v3
    expect_listed docker.io/evil/img 1
}
