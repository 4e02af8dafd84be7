#!/bin/bash
# oci-image-tar.sh ROOTFS OUT NAME: writes OUT, an OCI image layout archive
# holding one uncompressed layer made of ROOTFS, tagged NAME ("latest"), as
# `ctr image import` takes it. Needs tar, jq and sha256sum.
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 ROOTFS OUT NAME" >&2; exit 2; }
rootfs=$1 out=$2 name=$3
d=$(mktemp -d "${TMPDIR:-/tmp}/oci-image.XXXXXX")
trap 'rm -rf "$d"' EXIT
mkdir -p "$d/blobs/sha256"
# blob FILE: moves FILE into blobs/ under its digest; prints "DIGEST SIZE"
blob() {
    local sha size
    sha=$(sha256sum "$1" | cut -d' ' -f1)
    size=$(stat -c %s "$1")
    mv "$1" "$d/blobs/sha256/$sha"
    echo "sha256:$sha $size"
}
tar -C "$rootfs" -cf "$d/layer" .
read -r layer layer_size < <(blob "$d/layer")
jq -nc --arg diff "$layer" '{architecture: "amd64", os: "linux",
    config: {Env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["sh"]},
    rootfs: {type: "layers", diff_ids: [$diff]}}' > "$d/config"
read -r config config_size < <(blob "$d/config")
jq -nc --arg c "$config" --argjson cs "$config_size" --arg l "$layer" --argjson ls "$layer_size" \
    '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $cs},
      layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar", digest: $l, size: $ls}]}' > "$d/manifest"
read -r manifest manifest_size < <(blob "$d/manifest")
jq -nc --arg m "$manifest" --argjson ms "$manifest_size" --arg n "$name" \
    '{schemaVersion: 2, manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: $m, size: $ms, annotations: {"io.containerd.image.name": $n,
      "org.opencontainers.image.ref.name": "latest"}}]}' > "$d/index.json"
echo '{"imageLayoutVersion": "1.0.0"}' > "$d/oci-layout"
tar -C "$d" -cf "$out" oci-layout index.json blobs
