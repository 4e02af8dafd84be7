# shellcheck shell=bash disable=SC2034,SC2016,SC2013  # variables and helpers for the sourcing tests
# Throw-away unprivileged users for the rootless tests (t_rootless.sh,
# t_rootless_dev.sh), sourced after lib.sh.

RL_LIMITS_MSG="linux.resources: limits need a delegated cgroup when running rootless (see docs/rootless.md)"
RL_NO_CGROUP_MSG="has no cgroup (rootless without delegation"
RL_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# ------------------------------------------------------------------ users

# rl_user KIND: creates the test's user of KIND (one or multi) and sets
# RL_USER RL_UID RL_GID RL_HOME RL_XDG; for multi also RL_SUBUID/RL_SUBGID
# (first id of the user's range).
rl_user() {
    local kind=$1 name="zoneuser-$$-$1"
    need_cmd useradd userdel usermod runuser jq
    RL_HOME=$TEST_TMP/home-$kind
    useradd -M -d "$RL_HOME" -s /bin/sh "$name" || fail "useradd $name"
    defer "rl_remove_user $name"
    RL_USER=$name
    RL_UID=$(id -u "$name")
    RL_GID=$(id -g "$name")
    RL_XDG=$TEST_TMP/xdg-$kind
    mkdir -p "$RL_HOME" "$RL_XDG"
    chown "$name:" "$RL_HOME" "$RL_XDG"
    chmod 700 "$RL_HOME" "$RL_XDG"
    # useradd hands out ranges by itself (SUB_UID_COUNT in login.defs);
    # make them what this test needs
    rl_drop_subids "$name"
    if [[ $kind == multi ]]; then
        need_cmd newuidmap newgidmap
        RL_SUBUID=$(rl_free_range /etc/subuid)
        RL_SUBGID=$(rl_free_range /etc/subgid)
        usermod --add-subuids "$RL_SUBUID-$((RL_SUBUID + 65535))" \
                --add-subgids "$RL_SUBGID-$((RL_SUBGID + 65535))" "$name" ||
            fail "usermod --add-subuids for $name"
    fi
    runuser -u "$name" -- test -x "$ZIT_CACHE/rootfs/bin/busybox" ||
        skip "$name cannot reach $ZIT_CACHE (a parent directory is not searchable)"
    runuser -u "$name" -- test -x "$RUNTIME" ||
        skip "$name cannot run $RUNTIME (a parent directory is not searchable)"
}

# rl_drop_subids NAME: removes NAME's lines from /etc/subuid and /etc/subgid.
rl_drop_subids() {
    local f start count
    for f in /etc/subuid /etc/subgid; do
        [[ -f $f ]] || continue
        while IFS=: read -r start count; do
            if [[ $f == /etc/subuid ]]; then
                usermod --del-subuids "$start-$((start + count - 1))" "$1" 2>/dev/null
            else
                usermod --del-subgids "$start-$((start + count - 1))" "$1" 2>/dev/null
            fi
        done < <(awk -F: -v u="$1" '$1 == u { print $2 ":" $3 }' "$f")
        # whatever usermod would not take (e.g. a malformed line)
        grep -q "^$1:" "$f" && sed -i "/^$1:/d" "$f"
    done
    return 0
}

# rl_free_range FILE: the first id past every range in FILE (at least 100000).
rl_free_range() {
    awk -F: 'BEGIN { m = 100000 } NF >= 3 && $2 + $3 > m { m = $2 + $3 } END { print m }' "$1"
}

rl_remove_user() {
    local name=$1 pid
    # podman's pause process holds the user's namespaces: end it by its pid
    for pid in $(cat "$TEST_TMP"/xdg-*/libpod/tmp/pause.pid 2>/dev/null); do
        [[ $(stat -c %U "/proc/$pid" 2>/dev/null) == "$name" ]] && kill -KILL "$pid"
    done
    userdel "$name" 2>/dev/null || { sleep 0.5; userdel "$name"; }
    rl_drop_subids "$name"
    rm -rf "$TEST_TMP"/home-* 2>/dev/null
}

# rl_as CMD...: CMD as the user, with its own HOME and XDG_RUNTIME_DIR
# (moved first into the cgroup.procs file RL_MOVE names, when set).
rl_as() {
    local pre=()
    [[ -n ${RL_MOVE:-} ]] && pre=(sh -c 'echo $$ > "$0" && exec "$@"' "$RL_MOVE")
    "${pre[@]}" runuser -u "$RL_USER" -- env -i PATH="$RL_PATH" HOME="$RL_HOME" \
        USER="$RL_USER" LOGNAME="$RL_USER" XDG_RUNTIME_DIR="$RL_XDG" "$@"
}
# rl_zone ARGS...: the runtime as the user, default state root.
rl_zone() { rl_as "$RUNTIME" "$@"; }
