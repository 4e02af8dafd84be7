#!/bin/bash
# podman-config.sh DIR RUNTIME: writes DIR/containers.conf and
# DIR/storage.conf for a private podman whose storage (vfs), run root,
# tmp, volumes and event log all live in DIR, with RUNTIME (a path) as its
# runtime "zone". Tests export CONTAINERS_CONF and CONTAINERS_STORAGE_CONF
# to these files and pass --root/--runroot/--tmpdir as well.
set -eu
[ $# -eq 2 ] || { echo "usage: $0 DIR RUNTIME" >&2; exit 2; }
p=$1 runtime=$2
mkdir -p "$p/root" "$p/runroot" "$p/tmp" "$p/volumes"
# root here may lack CAP_SYS_RESOURCE, and podman's own default nproc
# does not pass then: limits well below the usual ones
cat > "$p/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=8192:8192"]
netns = "none"
log_driver = "k8s-file"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$p/events.log"
runtime = "zone"
tmp_dir = "$p/tmp"
volume_path = "$p/volumes"
static_dir = "$p/root/libpod"
no_pivot_root = false

[engine.runtimes]
zone = ["$runtime"]
runtime_supports_json = ["zone", "runc", "crun"]
CONF
cat > "$p/storage.conf" <<CONF
[storage]
driver = "vfs"
runroot = "$p/runroot"
graphroot = "$p/root"
CONF
