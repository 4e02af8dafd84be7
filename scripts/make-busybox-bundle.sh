#!/bin/sh
# make-busybox-bundle.sh DIR [--rootless]
#
# Builds a small OCI bundle from Debian's static busybox:
#   DIR/rootfs      bin/busybox plus one symlink per applet, /etc/passwd,
#                   /etc/group (root, nobody, user 1000), empty proc sys dev
#                   tmp etc root home/user
#   DIR/config.json from `$RUNTIME spec [--rootless]` when $RUNTIME (default
#                   build/zone next to this script, else zone/runc on PATH)
#                   can write one, else a built-in default equal in spirit.
# Safe to re-run: an existing rootfs is refreshed, an existing config.json kept.
set -eu
# resolved before any cd: $0 may be relative
here=$(cd "$(dirname "$0")" && pwd)

usage() { echo "usage: $0 DIR [--rootless]" >&2; exit 2; }
[ $# -ge 1 ] || usage
dir=$1; shift
rootless=""
for a in "$@"; do
    case $a in
    --rootless) rootless=--rootless ;;
    *) usage ;;
    esac
done

busybox=/bin/busybox
if [ ! -x "$busybox" ]; then
    echo "make-busybox-bundle: $busybox missing; installing busybox-static" >&2
    if [ "$(id -u)" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null
    else
        sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null
    fi
fi

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
rootfs=$dir/rootfs
mkdir -p "$rootfs"
cd "$rootfs"
mkdir -p bin proc sys dev tmp etc root home/user
chmod 1777 tmp
chmod 0700 root
rm -f bin/busybox
cp "$busybox" bin/busybox
chmod 0755 bin/busybox
# One symlink per applet; busybox --list includes "busybox" itself.
(
    cd bin
    for applet in $(./busybox --list); do
        [ "$applet" = busybox ] && continue
        ln -sfn busybox "$applet"
    done
)
cat > etc/passwd <<'EOF'
root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat > etc/group <<'EOF'
root:x:0:
user:x:1000:
nogroup:x:65534:
nobody:x:65534:
EOF
chown 1000:1000 home/user
echo "busybox-bundle" > etc/hostname

cd "$dir"
[ -f config.json ] && exit 0

if [ -z "${RUNTIME:-}" ]; then
    for c in "$here/../build/zone" "$(command -v zone 2>/dev/null || true)" "$(command -v runc 2>/dev/null || true)"; do
        if [ -n "$c" ] && [ -x "$c" ]; then RUNTIME=$c; break; fi
    done
fi
# shellcheck disable=SC2086
if [ -n "${RUNTIME:-}" ] && "$RUNTIME" spec $rootless >/dev/null 2>&1 && [ -s config.json ]; then
    exit 0
fi
rm -f config.json

# Built-in default: the same shape `runc spec` writes.
if [ -n "$rootless" ]; then
    uid=$(id -u); gid=$(id -g)
    ns='{"type":"pid"},{"type":"ipc"},{"type":"uts"},{"type":"mount"},{"type":"user"}'
    maps=",\"uidMappings\":[{\"containerID\":0,\"hostID\":$uid,\"size\":1}],\"gidMappings\":[{\"containerID\":0,\"hostID\":$gid,\"size\":1}]"
    sys_mount='{"destination":"/sys","type":"none","source":"/sys","options":["rbind","nosuid","noexec","nodev","ro"]}'
    mq_mount=''
    pts_gid=''
    resources=''
else
    ns='{"type":"pid"},{"type":"network"},{"type":"ipc"},{"type":"uts"},{"type":"mount"}'
    maps=''
    sys_mount='{"destination":"/sys","type":"sysfs","source":"sysfs","options":["nosuid","noexec","nodev","ro"]},
    {"destination":"/sys/fs/cgroup","type":"cgroup","source":"cgroup","options":["nosuid","noexec","nodev","relatime","ro"]}'
    mq_mount='{"destination":"/dev/mqueue","type":"mqueue","source":"mqueue","options":["nosuid","noexec","nodev"]},'
    pts_gid=',"gid=5"'
    resources='"resources":{"devices":[{"allow":false,"access":"rwm"}]},'
fi
caps='"CAP_AUDIT_WRITE","CAP_KILL","CAP_NET_BIND_SERVICE"'
cat > config.json <<EOF
{
  "ociVersion": "1.0.2",
  "process": {
    "terminal": true,
    "user": {"uid": 0, "gid": 0},
    "args": ["sh"],
    "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
    "cwd": "/",
    "capabilities": {"bounding": [$caps], "effective": [$caps], "permitted": [$caps], "ambient": [$caps]},
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
    "noNewPrivileges": true
  },
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "zone",
  "mounts": [
    {"destination":"/proc","type":"proc","source":"proc"},
    {"destination":"/dev","type":"tmpfs","source":"tmpfs","options":["nosuid","strictatime","mode=755","size=65536k"]},
    {"destination":"/dev/pts","type":"devpts","source":"devpts","options":["nosuid","noexec","newinstance","ptmxmode=0666","mode=0620"$pts_gid]},
    {"destination":"/dev/shm","type":"tmpfs","source":"shm","options":["nosuid","noexec","nodev","mode=1777","size=65536k"]},
    $mq_mount
    $sys_mount
  ],
  "linux": {
    $resources
    "namespaces": [$ns]$maps,
    "maskedPaths": ["/proc/acpi","/proc/asound","/proc/kcore","/proc/keys","/proc/latency_stats","/proc/timer_list","/proc/timer_stats","/proc/sched_debug","/sys/firmware","/proc/scsi"],
    "readonlyPaths": ["/proc/bus","/proc/fs","/proc/irq","/proc/sys","/proc/sysrq-trigger"]
  }
}
EOF
