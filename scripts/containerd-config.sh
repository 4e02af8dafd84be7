#!/bin/bash
# containerd-config.sh DIR: writes DIR/config.toml for a private containerd
# whose state, root and sockets (DIR/c.sock, DIR/c.sock.ttrpc) all live in
# DIR, with the CRI plugin and the snapshotters tests do not use disabled.
# The tests start it with `containerd --config DIR/config.toml`.
set -eu
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
c=$1
mkdir -p "$c/root" "$c/state"
cat > "$c/config.toml" <<CONFIG
version = 2
root = "$c/root"
state = "$c/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",
                    "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
                    "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "$c/c.sock"
[ttrpc]
  address = "$c/c.sock.ttrpc"
[debug]
  level = "warn"
[metrics]
  address = ""
CONFIG
