#!/bin/bash
# bench/run.sh [--smoke]: zone against crun, runc and the two floors, in one run.
# Builds nothing itself: `make bench` / `make bench-smoke` build build/zone,
# build/bench/timer, build/bench/floor and build/bench/floor-spec first. Needs root.
#
# crun refuses this host's hybrid cgroup layout (v1 controllers plus a
# cgroup2 mount at /sys/fs/cgroup/unified). So the whole benchmark runs in a
# private mount namespace where that cgroup2 mount is removed, and every
# runtime's commands run there, so that their ratios compare like with like.
# The mount namespace is private: the host keeps its cgroup2 mount.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${BUILD:-$here/../build}
for tool in "$build/zone" "$build/bench/timer" "$build/bench/floor" "$build/bench/floor-spec"; do
    [ -x "$tool" ] || { echo "bench: $tool missing; run: make bench" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "bench: needs root (namespaces, cgroups, pivot_root)" >&2; exit 1; }

if [ "${ZONE_BENCH_IN_NS:-}" != 1 ]; then
    export ZONE_BENCH_IN_NS=1
    exec unshare --mount --propagation private "$0" "$@"
fi
# Inside the private mount namespace from here on.
if [ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" != cgroup2fs ]; then
    # Hybrid or v1 host: drop the v2 hierarchy (hybrid), keep the v1 one.
    while read -r _ mnt type _; do
        [ "$type" = cgroup2 ] && umount "$mnt"
    done < <(grep ' cgroup2 ' /proc/self/mounts)
fi
exec python3 "$here/bench.py" "$@"
