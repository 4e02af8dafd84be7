# shellcheck shell=bash disable=SC2154  # out/err/rc come from capture() in lib.sh
# The image store through the CLI: images, rmi, image ls/rm/prune.
# Images are written straight into a private --storage dir by put_image
# below (shell, jq and sha256sum), so these tests need no registry and no
# other zone command.

STORE() { echo "$TEST_TMP/store"; }
zs() { "$RUNTIME" --root "$TEST_ROOT" --storage "$(STORE)" "$@"; }

# put_blob FILE: stores FILE as a blob, prints its digest.
put_blob() {
    local hex
    hex=$(sha256sum "$1" | cut -d' ' -f1)
    mkdir -p "$(STORE)/blobs/sha256"
    cp "$1" "$(STORE)/blobs/sha256/$hex"
    echo "sha256:$hex"
}

# put_image MARKER [CREATED]: a one-layer image (a plain tar holding
# /marker); prints the manifest digest. `cfg_of MARKER` and `layer_of
# MARKER` print its config and layer digests (put_image runs in $(...)).
put_image() {
    local marker=$1 created=${2:-2024-01-02T03:04:05Z} w=$TEST_TMP/img-$1
    mkdir -p "$w/root"
    echo "$marker" > "$w/root/marker"
    tar -C "$w/root" -cf "$w/layer.tar" marker
    LAYER=$(put_blob "$w/layer.tar")
    jq -nc --arg d "$LAYER" --arg c "$created" --arg m "$marker" \
        '{architecture: "amd64", os: "linux", created: $c,
          config: {Cmd: ["/bin/sh"], Labels: {marker: $m}},
          rootfs: {type: "layers", diff_ids: [$d]}}' > "$w/config.json"
    CONFIG=$(put_blob "$w/config.json")
    jq -nc --arg c "$CONFIG" --argjson cs "$(stat -c %s "$w/config.json")" \
        --arg l "$LAYER" --argjson ls "$(stat -c %s "$w/layer.tar")" \
        '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
          config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $cs},
          layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar", digest: $l, size: $ls}]}' \
        > "$w/manifest.json"
    echo "$CONFIG" > "$w/config.digest"
    echo "$LAYER" > "$w/layer.digest"
    put_blob "$w/manifest.json"
}
cfg_of() { cat "$TEST_TMP/img-$1/config.digest"; }
layer_of() { cat "$TEST_TMP/img-$1/layer.digest"; }

# tag NAME DIGEST: adds a tag to tags.json (jq; the store's own writer is
# covered by the unit tests).
tag() {
    local f; f="$(STORE)/tags.json"
    [[ -f $f ]] || echo '{}' > "$f"
    jq --arg n "$1" --arg d "$2" '.[$n] = $d' "$f" > "$f.new" && mv "$f.new" "$f"
}

has_blob() { [[ -f "$(STORE)/blobs/sha256/${1#sha256:}" ]]; }

test_images_list() {
    local a b
    a=$(put_image alpha 2024-01-02T03:04:05Z); local a_cfg; a_cfg=$(cfg_of alpha)
    b=$(put_image beta 2020-06-01T00:00:00.123456789+02:00); local b_cfg; b_cfg=$(cfg_of beta)
    tag docker.io/library/alpha:latest "$a"
    tag docker.io/library/alpha:v2 "$a"
    tag localhost/beta:1 "$b"

    expect_ok zs images
    assert_match "$(head -1 <<< "$out")" '^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE$' "header"
    assert_eq "$(wc -l <<< "$out")" 4 "line count"
    assert_match "$out" "docker.io/library/alpha +latest +${a_cfg:7:12} +[0-9]+ (months|years) ago +[0-9.]+ kB" "alpha row"
    assert_match "$out" "localhost/beta +1 +${b_cfg:7:12} +[0-9]+ years ago" "beta row"
    # newest first, as podman sorts
    assert_match "$(sed -n 2p <<< "$out")" "alpha" "first row"
    assert_match "$(sed -n 4p <<< "$out")" "beta" "last row"

    expect_ok zs images -q
    assert_eq "$out" "${a_cfg:7:12}"$'\n'"${b_cfg:7:12}" "images -q"
    expect_ok zs images -q --no-trunc
    assert_eq "$(head -1 <<< "$out")" "$a_cfg" "images -q --no-trunc"

    expect_ok zs images --format json
    assert_eq "$(jq length <<< "$out")" 2 "json images"
    assert_eq "$(jq -r '.[0].Id' <<< "$out")" "${a_cfg#sha256:}" "json Id"
    assert_eq "$(jq -r '.[0].Digest' <<< "$out")" "$a" "json Digest"
    assert_eq "$(jq -c '.[0].RepoTags' <<< "$out")" '["docker.io/library/alpha:latest","docker.io/library/alpha:v2"]' "json RepoTags"
    assert_eq "$(jq -r '.[1].Labels.marker' <<< "$out")" beta "json Labels"
    assert_eq "$(jq -r '.[1].Created' <<< "$out")" "$(date -d 2020-06-01T00:00:00+02:00 +%s)" "json Created"

    # filter by repository, and by repository:tag; short names as podman
    expect_ok zs images alpha
    assert_eq "$(wc -l <<< "$out")" 3 "filtered by repository"
    expect_ok zs images alpha:v2
    assert_eq "$(wc -l <<< "$out")" 2 "filtered by tag"
    expect_ok zs images beta
    assert_contains "$out" localhost/beta

    # the alias
    expect_ok zs image ls -q
    assert_eq "$(wc -l <<< "$out")" 2 "image ls -q"

    capture zs images --format '{{.ID}}'
    assert_eq "$rc" 1 "unsupported format"
    assert_contains "$err" "unsupported format"
    expect_ok zs images --help
    assert_contains "$out" "--format"
}

test_images_empty_store() {
    expect_ok zs images
    assert_eq "$out" "$(printf '%-10s  %-3s  %-8s  %-7s  %s' REPOSITORY TAG 'IMAGE ID' CREATED SIZE)" "empty listing"
    [[ -d $(STORE)/blobs/sha256 && -d $(STORE)/ingest && -d $(STORE)/layers ]] ||
        fail "store layout not created"
    assert_eq "$(stat -c %a "$(STORE)")" 700 "store mode"
}

test_rmi() {
    local a b a_layer
    a=$(put_image alpha); local a_cfg; a_cfg=$(cfg_of alpha); a_layer=$(layer_of alpha)
    b=$(put_image beta)
    tag docker.io/library/alpha:latest "$a"
    tag docker.io/library/alpha:v2 "$a"
    tag docker.io/library/beta:latest "$b"
    mkdir -p "$(STORE)/layers/${a_layer#sha256:}/rootfs"
    touch "$(STORE)/layers/${a_layer#sha256:}/complete"

    # one of two tags: untagged, nothing deleted
    expect_ok zs rmi alpha
    assert_eq "$out" "Untagged: docker.io/library/alpha:latest" "rmi output"
    has_blob "$a" || fail "manifest removed while another tag uses it"
    [[ -d $(STORE)/layers/${a_layer#sha256:} ]] || fail "layer dir removed while tagged"

    # by ID with one tag left: untagged and deleted
    expect_ok zs rmi "${a_cfg:7:12}"
    assert_contains "$out" "Untagged: docker.io/library/alpha:v2"
    assert_contains "$out" "Deleted: ${a_cfg#sha256:}"
    has_blob "$a" && fail "manifest still stored"
    has_blob "$a_cfg" && fail "config still stored"
    has_blob "$a_layer" && fail "layer still stored"
    [[ -d $(STORE)/layers/${a_layer#sha256:} ]] && fail "unpacked layer still there"
    has_blob "$b" || fail "the other image lost its manifest"
    assert_eq "$(jq -c 'keys' "$(STORE)/tags.json")" '["docker.io/library/beta:latest"]' "tags left"

    capture zs rmi nosuch
    assert_eq "$rc" 1 "rmi of an unknown image"
    assert_contains "$err" "nosuch: image not known"

    # several names, one unknown: the known one still goes, exit 1
    capture zs image rm nosuch beta
    assert_eq "$rc" 1 "rmi with one unknown name"
    assert_contains "$out" "Untagged: docker.io/library/beta:latest"
    has_blob "$b" && fail "beta still stored"
    assert_eq "$(jq -c 'keys' "$(STORE)/tags.json")" '[]' "no tags left"
}

test_rmi_by_id_with_several_tags() {
    local a
    a=$(put_image alpha); local a_cfg; a_cfg=$(cfg_of alpha)
    tag docker.io/library/alpha:latest "$a"
    tag localhost/other:1 "$a"
    capture zs rmi "${a_cfg:7:12}"
    assert_eq "$rc" 1 "rmi by ID of a multiply tagged image"
    assert_contains "$err" "more than one tag"
    expect_ok zs rmi -f "${a:7:16}"
    assert_contains "$out" "Untagged: docker.io/library/alpha:latest"
    assert_contains "$out" "Untagged: localhost/other:1"
    has_blob "$a" && fail "manifest still stored"
    return 0
}

test_rmi_in_use_by_container() {
    local a
    a=$(put_image alpha); local a_layer; a_layer=$(layer_of alpha)
    tag docker.io/library/alpha:latest "$a"
    mkdir -p "$(STORE)/containers/dev1"
    jq -nc --arg m "$a" '{id: "dev1", image: "alpha", manifest: $m}' > "$(STORE)/containers/dev1/container.json"

    capture zs rmi alpha
    assert_eq "$rc" 2 "rmi of an image in use"
    assert_contains "$err" "in use by container dev1"
    [[ $(jq -r '."docker.io/library/alpha:latest"' "$(STORE)/tags.json") == "$a" ]] || fail "tag removed"

    # -f untags; the container's record keeps the blobs
    expect_ok zs rmi -f alpha
    assert_contains "$out" "Untagged: docker.io/library/alpha:latest"
    assert_not_contains "$out" "Deleted"
    has_blob "$a" || fail "blobs of a used image removed"
    has_blob "$a_layer" || fail "layer of a used image removed"
    expect_ok zs image prune
    has_blob "$a" || fail "prune removed a used image"

    # the container is gone: now prune frees it
    rm -rf "$(STORE)/containers/dev1"
    expect_ok zs image prune
    assert_match "$out" "Removed 3 blobs, 0 unpacked layers and 0 leftovers; freed [0-9.]+ (B|kB)" "prune summary"
    has_blob "$a" && fail "manifest still stored after prune"
    return 0
}

test_image_prune() {
    local a loose
    a=$(put_image alpha)
    tag docker.io/library/alpha:latest "$a"
    head -c 5000 /dev/urandom > "$TEST_TMP/loose"
    loose=$(put_blob "$TEST_TMP/loose")
    mkdir -p "$(STORE)/ingest" "$(STORE)/layers/tmp-123/rootfs/x"
    chmod 000 "$(STORE)/layers/tmp-123/rootfs"
    echo partial > "$(STORE)/ingest/${loose#sha256:}.partial"
    touch -d '2 days ago' "$(STORE)/ingest/${loose#sha256:}.partial"
    echo fresh > "$(STORE)/ingest/$(printf '%064d' 0).partial"
    touch "$(STORE)/blobs/sha256/tmp-9-9"

    expect_ok zs image prune
    assert_match "$out" "^Removed 1 blob, 0 unpacked layers and 3 leftovers; freed [0-9.]+ kB$" "prune summary"
    has_blob "$loose" && fail "unreferenced blob kept"
    has_blob "$a" || fail "tagged image removed"
    [[ -e $(STORE)/layers/tmp-123 ]] && fail "tmp layer dir kept"
    [[ -e $(STORE)/ingest/${loose#sha256:}.partial ]] && fail "old partial kept"
    [[ -e $(STORE)/ingest/$(printf '%064d' 0).partial ]] || fail "fresh partial removed"
    [[ -e $(STORE)/blobs/sha256/tmp-9-9 ]] && fail "tmp blob kept"

    # -a: everything no container uses
    expect_ok zs image prune -a
    assert_contains "$out" "Untagged: docker.io/library/alpha:latest"
    has_blob "$a" && fail "prune -a kept an unused image"
    expect_ok zs image prune
    assert_match "$out" "^Removed 0 blobs" "second prune"
}

test_image_usage_errors() {
    capture zs image
    assert_eq "$rc" 1
    assert_contains "$err" "subcommand"
    capture zs image frob
    assert_eq "$rc" 1
    assert_contains "$err" 'unknown subcommand "frob"'
    capture zs rmi
    assert_eq "$rc" 1
    capture zs rmi 'Bad:Name:x'
    assert_eq "$rc" 1
    assert_contains "$err" "invalid reference"
    expect_ok zs image --help
    assert_contains "$out" "prune"
}

test_tags_json_corrupt() {
    mkdir -p "$(STORE)"
    echo '{"docker.io/library/x:latest": 5}' > "$(STORE)/tags.json"
    capture zs images
    assert_eq "$rc" 1 "images with a corrupt tags.json"
    assert_contains "$err" "tags.json"
    # gc must not treat a broken tag index as "no tags" and empty the store
    put_image alpha > /dev/null
    capture zs image prune
    assert_eq "$rc" 1 "prune with a corrupt tags.json"
    has_blob "$(cfg_of alpha)" || fail "prune removed blobs although the tags could not be read"
}
