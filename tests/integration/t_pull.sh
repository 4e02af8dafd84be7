# shellcheck shell=bash disable=SC2154  # out/err/rc are set by capture() in lib.sh
# zone pull from OCI distribution registries: Debian's docker-registry (plain
# HTTP, and HTTPS with a self-signed certificate and htpasswd Basic auth),
# images pushed with skopeo from OCI layouts built here, and
# fake_registry.py for hostile answers, Bearer tokens, redirects and
# interrupted downloads.

# timeout test_pull_killed_midway_resumes 120

PULL_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STORE=$TEST_TMP/store

zs() { "$RUNTIME" --root "$TEST_ROOT" --storage "$STORE" "$@"; }

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# put_blob LAYOUT FILE: copies FILE into the layout's blobs, prints its hex.
put_blob() {
    local hex; hex=$(sha256sum "$2" | cut -d' ' -f1)
    cp "$2" "$1/blobs/sha256/$hex"
    echo "$hex"
}

# make_oci_layout DIR TAG ARCH...: an OCI image layout of the busybox rootfs
# (one gzip layer) tagged TAG: one image for one ARCH, an image index with a
# manifest per ARCH for several. Each config carries ZARCH=<arch> in Env.
make_oci_layout() {
    local dir=$1 tag=$2; shift 2
    local tmp=$dir.tmp arch entries=() top
    mkdir -p "$dir/blobs/sha256" "$tmp"
    echo '{"imageLayoutVersion":"1.0.0"}' > "$dir/oci-layout"
    tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$ZIT_CACHE/rootfs" \
        -cf "$tmp/layer.tar" . || fail "tar of the busybox rootfs"
    local diff_id; diff_id=$(sha256sum "$tmp/layer.tar" | cut -d' ' -f1)
    gzip -n -c "$tmp/layer.tar" > "$tmp/layer.tar.gz"
    local layer; layer=$(put_blob "$dir" "$tmp/layer.tar.gz")
    local lsize; lsize=$(stat -c %s "$tmp/layer.tar.gz")
    for arch in "$@"; do
        jq -nc --arg a "$arch" --arg d "sha256:$diff_id" '{architecture: $a, os: "linux",
            config: {Cmd: ["/bin/sh"], Env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", ("ZARCH=" + $a)]},
            rootfs: {type: "layers", diff_ids: [$d]}}' > "$tmp/config-$arch.json"
        local cfg; cfg=$(put_blob "$dir" "$tmp/config-$arch.json")
        echo "$cfg" > "$dir.config-$arch"
        jq -nc --arg c "sha256:$cfg" --argjson cs "$(stat -c %s "$tmp/config-$arch.json")" \
            --arg l "sha256:$layer" --argjson ls "$lsize" '{schemaVersion: 2,
            mediaType: "application/vnd.oci.image.manifest.v1+json",
            config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $cs},
            layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: $l, size: $ls}]}' \
            > "$tmp/manifest-$arch.json"
        local m; m=$(put_blob "$dir" "$tmp/manifest-$arch.json")
        entries+=("$(jq -nc --arg d "sha256:$m" --argjson s "$(stat -c %s "$tmp/manifest-$arch.json")" \
            --arg a "$arch" '{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $d,
            size: $s, platform: {os: "linux", architecture: $a}}')")
    done
    if (($# == 1)); then
        top=$(jq -c --arg t "$tag" '. + {annotations: {"org.opencontainers.image.ref.name": $t}}
            | del(.platform)' <<<"${entries[0]}")
    else
        printf '%s\n' "${entries[@]}" | jq -sc '{schemaVersion: 2,
            mediaType: "application/vnd.oci.image.index.v1+json", manifests: .}' > "$tmp/index.json"
        local x; x=$(put_blob "$dir" "$tmp/index.json")
        top=$(jq -nc --arg d "sha256:$x" --argjson s "$(stat -c %s "$tmp/index.json")" --arg t "$tag" \
            '{mediaType: "application/vnd.oci.image.index.v1+json", digest: $d, size: $s,
              annotations: {"org.opencontainers.image.ref.name": $t}}')
    fi
    jq -nc --argjson m "$top" '{schemaVersion: 2, manifests: [$m]}' > "$dir/index.json"
    rm -rf "$tmp"
}

# start_registry NAME [auth]: Debian's docker-registry on a free port, its
# storage in the test directory; "auth" adds htpasswd Basic auth (alice:pw1)
# and TLS with a self-signed certificate. Sets REG (host:port).
start_registry() {
    need_cmd docker-registry skopeo jq python3
    local name=$1 mode=${2:-} dir=$TEST_TMP/registry-$1 port extra=""
    mkdir -p "$dir"
    port=$(free_port)
    if [[ $mode == auth ]]; then
        need_cmd htpasswd openssl
        htpasswd -Bbn alice pw1 > "$dir/htpasswd" 2>/dev/null || fail "htpasswd"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
            -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
            -keyout "$dir/key.pem" -out "$dir/cert.pem" >/dev/null 2>&1 || fail "openssl req"
        extra="  tls:
    certificate: $dir/cert.pem
    key: $dir/key.pem
auth:
  htpasswd:
    realm: zone-test
    path: $dir/htpasswd"
    fi
    cat > "$dir/config.yml" <<EOF
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $dir/data
http:
  addr: 127.0.0.1:$port
$extra
EOF
    docker-registry serve "$dir/config.yml" > "$dir/log" 2>&1 &
    local pid=$!
    defer "kill $pid; wait $pid"
    REG=127.0.0.1:$port
    local scheme=http
    [[ $mode == auth ]] && scheme=https
    wait_for 20 curl -sk -o /dev/null "$scheme://$REG/v2/" ||
        fail "docker-registry did not start: $(cat "$dir/log")"
}

# push LAYOUT TAG REPO:TAG [skopeo args...]
push() {
    local layout=$1 tag=$2 dest=$3; shift 3
    skopeo copy --quiet --dest-tls-verify=false "$@" "oci:$layout:$tag" "docker://$REG/$dest" \
        > "$TEST_TMP/skopeo.log" 2>&1 || fail "skopeo copy to $REG/$dest: $(cat "$TEST_TMP/skopeo.log")"
}

# The tag index of the store: tag_of NAME prints its digest ("" if none).
tag_of() { jq -r --arg n "$1" '.[$n] // ""' "$STORE/tags.json" 2>/dev/null; }
tag_count() { if [[ -f $STORE/tags.json ]]; then jq 'length' "$STORE/tags.json"; else echo 0; fi; }

# start_fake [MODE]: fake_registry.py serving an image "v1" (one layer)
# and "multi" (amd64 + arm64 index); sets FAKE (host:port), FAKE_MODE (the
# file to write a mode into) and FAKE_LOG (one line per request).
start_fake() {
    need_cmd python3 jq
    local dir=$TEST_TMP/fake
    mkdir -p "$dir"
    make_oci_layout "$dir/layout" v1 amd64
    FAKE_MODE=$dir/mode FAKE_LOG=$dir/requests.log
    echo "${1:-good}" > "$FAKE_MODE"
    python3 "$PULL_DIR/fake_registry.py" "$dir/layout" "$FAKE_MODE" "$FAKE_LOG" "$dir/port" \
        > "$dir/log" 2>&1 &
    local pid=$!
    defer "kill $pid; wait $pid"
    wait_for 20 test -s "$dir/port" || fail "fake registry did not start: $(cat "$dir/log")"
    FAKE=127.0.0.1:$(cat "$dir/port")
    FAKE_CONFIG=$(cat "$dir/layout.config-amd64")
}

# The store is consistent: every tag's manifest, config and layers are
# stored and hash to their names; nothing is left half-written in blobs/.
check_store() {
    local f hex
    for f in "$STORE"/blobs/sha256/*; do
        [[ -e $f ]] || continue
        hex=$(basename "$f")
        assert_eq "$(sha256sum "$f" | cut -d' ' -f1)" "$hex" "content of blob $hex"
    done
}

# ------------------------------------------------------------------ tests

test_pull_plain_http() {
    start_registry plain
    make_oci_layout "$TEST_TMP/img" v1 amd64
    push "$TEST_TMP/img" v1 test/bb:v1
    local name=$REG/test/bb:v1 cfg; cfg=$(cat "$TEST_TMP/img.config-amd64")

    # TLS verification is on by default: a plain-HTTP registry is refused
    capture zs pull "$name"
    assert_ne "$rc" 0 "exit code of a pull with TLS verification from an HTTP registry"
    assert_contains "$err" "--tls-verify=false" "hint in the error"
    assert_eq "$(tag_count)" 0 "tags after the refused pull"

    expect_ok zs pull --tls-verify=false "$name"
    assert_eq "$out" "$cfg" "image ID on stdout (the config digest)"
    assert_contains "$err" "Trying to pull $name" "progress"
    assert_contains "$err" "done" "progress"
    local want; want=$(curl -s -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
        "http://$REG/v2/test/bb/manifests/v1" | sha256sum | cut -d' ' -f1)
    assert_eq "$(tag_of "$name")" "sha256:$want" "tag of $name"
    [[ -f $STORE/blobs/sha256/$cfg ]] || fail "config blob not stored"
    assert_eq "$(ls "$STORE/blobs/sha256" | wc -l)" 3 "blobs stored (manifest, config, layer)"
    check_store

    # again: everything is there already
    expect_ok zs pull --tls-verify=false "docker://$name"
    assert_eq "$out" "$cfg" "image ID of the second pull"
    assert_contains "$err" "already exists" "second pull"

    # quiet: only the ID
    expect_ok zs pull -q --tls-verify=false "$name"
    assert_eq "$out" "$cfg" "quiet output"
    assert_eq "$err" "" "stderr of a quiet pull"

    if zs images >/dev/null 2>&1; then
        expect_ok zs images
        assert_contains "$out" "$REG/test/bb" "zone images"
    fi
}

test_pull_by_digest_and_missing() {
    start_registry plain
    make_oci_layout "$TEST_TMP/img" v1 amd64
    push "$TEST_TMP/img" v1 test/bb:v1
    local d; d=$(curl -s -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
        "http://$REG/v2/test/bb/manifests/v1" | sha256sum | cut -d' ' -f1)
    expect_ok zs pull --tls-verify=false "$REG/test/bb@sha256:$d"
    assert_eq "$(tag_of "$REG/test/bb@sha256:$d")" "sha256:$d" "name@digest entry"

    capture zs pull --tls-verify=false "$REG/test/bb:nosuchtag"
    assert_ne "$rc" 0 "exit code for a missing tag"
    assert_contains "$err" "not found" "missing tag"
    capture zs pull --tls-verify=false "$REG/test/bb@sha256:$(printf '%064d' 0)"
    assert_ne "$rc" 0 "exit code for a missing digest"
    assert_eq "$(tag_count)" 1 "tags"
}

test_pull_https_basic_auth() {
    start_registry auth auth
    make_oci_layout "$TEST_TMP/img" v1 amd64
    push "$TEST_TMP/img" v1 priv/bb:v1 --dest-creds alice:pw1
    local name=$REG/priv/bb:v1 cfg; cfg=$(cat "$TEST_TMP/img.config-amd64")

    # a self-signed certificate fails verification
    capture zs pull --creds alice:pw1 "$name"
    assert_ne "$rc" 0 "exit code with TLS verification against a self-signed certificate"
    assert_contains "$err" "--tls-verify=false" "hint in the error"

    capture zs pull --tls-verify=false "$name"
    assert_ne "$rc" 0 "exit code without credentials"
    assert_contains "$err" "--creds" "error without credentials"
    capture zs pull --tls-verify=false --creds alice:wrong "$name"
    assert_ne "$rc" 0 "exit code with a wrong password"
    assert_contains "$err" "refused the credentials" "error with a wrong password"
    assert_eq "$(tag_count)" 0 "tags after refused pulls"

    expect_ok zs pull --tls-verify=false --creds alice:pw1 "$name"
    assert_eq "$out" "$cfg" "image ID"

    # credentials from an auth file: --authfile, $REGISTRY_AUTH_FILE, ~/.docker
    rm -rf "$STORE"
    local auth; auth=$(printf 'alice:pw1' | base64)
    jq -n --arg k "$REG" --arg a "$auth" '{auths: {($k): {auth: $a}}}' > "$TEST_TMP/auth.json"
    expect_ok zs pull --tls-verify=false --authfile "$TEST_TMP/auth.json" "$name"
    rm -rf "$STORE"
    expect_ok env REGISTRY_AUTH_FILE="$TEST_TMP/auth.json" "$RUNTIME" --root "$TEST_ROOT" \
        --storage "$STORE" pull --tls-verify=false "$name"
    rm -rf "$STORE"
    mkdir -p "$TEST_TMP/home/.docker"
    jq -n --arg k "https://$REG" --arg a "$auth" '{auths: {($k): {auth: $a}}}' \
        > "$TEST_TMP/home/.docker/config.json"
    expect_ok env HOME="$TEST_TMP/home" XDG_RUNTIME_DIR="$TEST_TMP/nonexistent" "$RUNTIME" \
        --root "$TEST_ROOT" --storage "$STORE" pull --tls-verify=false "$name"
    assert_eq "$out" "$cfg" "image ID with ~/.docker/config.json"
    check_store
}

test_pull_multiarch_index() {
    start_registry plain
    make_oci_layout "$TEST_TMP/img" multi arm64 amd64
    push "$TEST_TMP/img" multi test/multi:1 --all
    local name=$REG/test/multi:1
    local amd; amd=$(cat "$TEST_TMP/img.config-amd64")
    local arm; arm=$(cat "$TEST_TMP/img.config-arm64")
    [[ $(uname -m) == x86_64 ]] || skip "the default platform check expects an amd64 host"

    expect_ok zs pull --tls-verify=false "$name"
    assert_eq "$out" "$amd" "image ID: the amd64 config"
    local idx; idx=$(curl -s -H 'Accept: application/vnd.oci.image.index.v1+json' \
        "http://$REG/v2/test/multi/manifests/1" | sha256sum | cut -d' ' -f1)
    assert_eq "$(tag_of "$name")" "sha256:$idx" "the tag points at the index"
    [[ -f $STORE/blobs/sha256/$idx ]] || fail "index not stored"
    [[ -f $STORE/blobs/sha256/$arm ]] && fail "the arm64 config was downloaded too"

    expect_ok zs pull --tls-verify=false --platform linux/arm64 "$REG/test/multi:1"
    assert_eq "$out" "$arm" "image ID with --platform linux/arm64"
    capture zs pull --tls-verify=false --platform linux/s390x "$name"
    assert_ne "$rc" 0 "exit code for a platform the index lacks"
    capture zs pull --platform linux "$name"
    assert_eq "$rc" 1 "exit code for a malformed --platform"
    assert_contains "$err" "OS/ARCH" "malformed --platform"
    check_store
}

test_pull_docker_schema2_and_list() {
    start_registry plain
    make_oci_layout "$TEST_TMP/img" multi arm64 amd64
    push "$TEST_TMP/img" multi test/d2:list --all --format v2s2
    make_oci_layout "$TEST_TMP/one" v1 amd64
    push "$TEST_TMP/one" v1 test/d2:one --format v2s2
    [[ $(uname -m) == x86_64 ]] || skip "the default platform check expects an amd64 host"
    local ct; ct=$(curl -s -o /dev/null -w '%{content_type}' \
        -H 'Accept: application/vnd.docker.distribution.manifest.list.v2+json' \
        "http://$REG/v2/test/d2/manifests/list")
    assert_eq "$ct" "application/vnd.docker.distribution.manifest.list.v2+json" "pushed list type"
    expect_ok zs pull --tls-verify=false "$REG/test/d2:list"
    assert_eq "$out" "$(cat "$TEST_TMP/img.config-amd64")" "image ID from a Docker manifest list"
    expect_ok zs pull --tls-verify=false "$REG/test/d2:one"
    assert_eq "$out" "$(cat "$TEST_TMP/one.config-amd64")" "image ID from a Docker schema 2 manifest"
    local d; d=$(tag_of "$REG/test/d2:one")
    assert_contains "$(cat "$STORE/blobs/sha256/${d#sha256:}")" \
        "application/vnd.docker.distribution.manifest.v2+json" "stored manifest"
    check_store
}

test_pull_then_run() {
    start_registry plain
    make_oci_layout "$TEST_TMP/img" v1 amd64
    push "$TEST_TMP/img" v1 test/bb:v1
    expect_ok zs pull -q --tls-verify=false "$REG/test/bb:v1"
    # `zone run IMAGE` (developer mode) is built separately; without it the
    # pull above is all this test can check.
    "$RUNTIME" run --help 2>&1 | grep -qi 'image' ||
        skip "zone run IMAGE is not available yet (pull itself passed)"
    capture zs run --rm "$REG/test/bb:v1" echo ok
    [[ $rc != 0 && $err == *"yet"* ]] && skip "zone run IMAGE cannot run it yet: $err"
    [[ $rc == 0 ]] || fail "zone run of the pulled image exited $rc: $err"
    assert_eq "$out" ok "output of the pulled image"
}

# refused_then_good MODE TEXT: a pull from the fake in MODE fails with an
# error containing TEXT and sets no tag; the next pull of the same name in
# "good" mode succeeds.
refused_then_good() {
    local mode=$1 text=$2
    start_fake "$mode"
    local name=$FAKE/evil/img:v1
    capture zs pull --tls-verify=false "$name"
    assert_ne "$rc" 0 "exit code of a pull in mode $mode"
    assert_contains "$err" "$text" "error in mode $mode"
    assert_eq "$(tag_of "$name")" "" "tag after a failed pull ($mode)"
    check_store
    echo good > "$FAKE_MODE"
    expect_ok zs pull --tls-verify=false "$name"
    assert_eq "$out" "$FAKE_CONFIG" "image ID after a good pull following $mode"
    assert_ne "$(tag_of "$name")" "" "tag after the good pull"
    check_store
    [[ -z $(ls -A "$STORE/ingest" 2>/dev/null | grep -v '\.lock$') ]] ||
        fail "ingest/ not empty after the good pull: $(ls "$STORE/ingest")"
}

test_pull_refuses_layer_digest_mismatch() { refused_then_good digest-mismatch "digest"; }
test_pull_refuses_truncated_blob() { refused_then_good truncated "bytes"; }
test_pull_refuses_too_long_blob() { refused_then_good too-long "more than the declared"; }
test_pull_refuses_huge_layer_size() { refused_then_good huge-layer "107374182400"; }
test_pull_refuses_huge_manifest() { refused_then_good big-manifest "larger than the limit"; }
test_pull_refuses_bad_json() { refused_then_good bad-json "invalid JSON"; }
test_pull_refuses_schema1() { refused_then_good schema1 "schema 1 is not supported"; }
test_pull_refuses_wrong_content_digest() { refused_then_good header-digest "Docker-Content-Digest"; }

test_pull_bearer_token_and_redirect() {
    start_fake bearer
    local name=$FAKE/tok/img:v1
    capture zs pull --tls-verify=false "$name"
    assert_ne "$rc" 0 "exit code without credentials for the token server"
    assert_contains "$err" "token server" "error without credentials"
    expect_ok zs pull --tls-verify=false --creds tok:secret "$name"
    assert_eq "$out" "$FAKE_CONFIG" "image ID through a Bearer token"
    grep -q '^GET /token?service=fake&scope=repository%3Atok%2Fimg%3Apull' "$FAKE_LOG" ||
        fail "no token request with service and scope: $(grep token "$FAKE_LOG")"

    # blobs redirected to another host: followed, without the token
    rm -rf "$STORE"
    echo bearer-redirect > "$FAKE_MODE"
    expect_ok zs pull --tls-verify=false --creds tok:secret "$name"
    assert_eq "$out" "$FAKE_CONFIG" "image ID through a redirect to another host"
    grep -q '^GET /storage/' "$FAKE_LOG" || fail "the redirect was not followed"
    grep -q 'AUTH-LEAK' "$FAKE_LOG" && fail "the token was sent to the redirect target"

    rm -rf "$STORE"
    : > "$FAKE_LOG"
    echo redirect > "$FAKE_MODE"
    expect_ok zs pull --tls-verify=false "$name"
    assert_eq "$out" "$FAKE_CONFIG" "image ID through blob redirects"
    grep -q '^GET /storage/' "$FAKE_LOG" || fail "the redirect was not followed"
}

test_pull_killed_midway_resumes() {
    start_fake slow
    local name=$FAKE/slow/img:v1 pid
    "$RUNTIME" --root "$TEST_ROOT" --storage "$STORE" pull --tls-verify=false "$name" \
        > "$TEST_TMP/pull.out" 2>&1 &
    pid=$!
    # wait until part of the layer has arrived, then kill -9
    partial_size() { stat -c %s "$STORE"/ingest/*.partial 2>/dev/null | sort -n | tail -1; }
    wait_for 30 bash -c "[[ \$(stat -c %s '$STORE'/ingest/*.partial 2>/dev/null | sort -n | tail -1) -gt 100000 ]]" ||
        fail "no partial download appeared: $(cat "$TEST_TMP/pull.out")"
    kill -9 "$pid"
    wait "$pid" 2>/dev/null
    local got; got=$(partial_size)
    assert_eq "$(tag_of "$name")" "" "tag after the killed pull"
    check_store

    : > "$FAKE_LOG"
    echo good > "$FAKE_MODE"
    expect_ok zs pull --tls-verify=false "$name"
    assert_eq "$out" "$FAKE_CONFIG" "image ID after resuming"
    grep -qE "^GET /v2/slow/img/blobs/sha256:[0-9a-f]+ range=bytes=[0-9]+-$" "$FAKE_LOG" ||
        fail "the resumed pull sent no Range request: $(cat "$FAKE_LOG")"
    local from; from=$(grep -oE 'range=bytes=[0-9]+' "$FAKE_LOG" | head -1 | cut -d= -f3)
    ((from > 0 && from <= got)) || fail "resumed from $from, the partial had $got bytes"
    check_store

    # a server that ignores Range: the partial is dropped and the blob
    # downloaded whole
    rm -rf "$STORE"
    echo slow > "$FAKE_MODE"
    "$RUNTIME" --root "$TEST_ROOT" --storage "$STORE" pull --tls-verify=false "$name" \
        > "$TEST_TMP/pull.out" 2>&1 &
    pid=$!
    wait_for 30 bash -c "[[ \$(stat -c %s '$STORE'/ingest/*.partial 2>/dev/null | sort -n | tail -1) -gt 100000 ]]" ||
        fail "no partial download appeared (second time)"
    kill -9 "$pid"
    wait "$pid" 2>/dev/null
    echo norange > "$FAKE_MODE"
    expect_ok zs pull --tls-verify=false "$name"
    assert_eq "$out" "$FAKE_CONFIG" "image ID after a restart"
    check_store
}
