# shellcheck shell=bash disable=SC2154  # out/err/rc are set by capture() in lib.sh
# The developer CLI: zone run IMAGE, ps, logs, exec, stop, rm, inspect, on
# a busybox image imported into a private store (--storage) with private
# runtime state (--root). Containers get ZIT_MARK in their environment so
# the leak checker sees any process left behind.

# timeout test_dev_detached_ps_logs_exec_stop_rm 90
# timeout test_dev_network_pasta_publish 90

STORE=$TEST_TMP/store
IMG=zit-busybox

zd() { "$RUNTIME" --root "$TEST_ROOT" --storage "$STORE" "$@"; }
# drun ARGS...: `zone run` with the leak marker in the container's env
drun() { zd run -e "ZIT_MARK=$ZIT_PREFIX" "$@"; }

# dev_image: imports the cached busybox rootfs as $IMG and checks that the
# store can run it; skips with the reason when a part is missing.
dev_image() {
    tar -C "$ZIT_CACHE/rootfs" -cf "$TEST_TMP/rootfs.tar" . || fail "tar of the busybox rootfs"
    capture zd import "$TEST_TMP/rootfs.tar" "$IMG"
    if [[ $rc != 0 ]]; then
        [[ $err == *"no such command"* ]] && skip "zone import is not available yet"
        fail "zone import failed ($rc): $err"
    fi
    capture drun --rm "$IMG" true
    [[ $err == *"cannot be unpacked yet"* ]] && skip "image layers cannot be unpacked yet (images/unpack.c)"
    [[ $rc == 0 ]] || fail "run --rm $IMG true exited $rc: $err"
    defer 'dev_cleanup'
}

# removes every developer container of the test (also when it failed)
dev_cleanup() {
    local ids
    ids=$(zd ps -aq --no-trunc 2>/dev/null)
    [[ -n $ids ]] && zd rm -f $ids
    return 0
}

# nothing of any developer container is left: no record, no runtime state
assert_nothing_left() {
    local recs
    recs=$(find "$STORE/containers" -mindepth 1 -maxdepth 1 -type d 2>/dev/null)
    [[ -z $recs ]] || fail "records left behind: $recs"
    [[ -z $(ls -A "$TEST_ROOT" 2>/dev/null) ]] || fail "runtime state left behind: $(ls -A "$TEST_ROOT")"
}

record_count() { find "$STORE/containers" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | wc -l; }

test_dev_run_rm_echo_and_exit_code() {
    dev_image
    expect_ok drun --rm "$IMG" echo hello world
    assert_eq "$out" "hello world" "output of run --rm echo"
    capture drun --rm "$IMG" sh -c 'echo out; echo err >&2; exit 7'
    assert_eq "$rc" 7 "exit code of the container"
    assert_eq "$out" out "stdout"
    assert_eq "$err" err "stderr"
    capture drun --rm "$IMG" no-such-command
    assert_eq "$rc" 127 "exit code when the command does not exist"
    assert_contains "$err" "no-such-command"
    assert_nothing_left
}

test_dev_run_without_rm_keeps_exited_record() {
    dev_image
    capture drun --name keepme "$IMG" sh -c 'echo kept; exit 3'
    assert_eq "$rc" 3 "exit code"
    expect_ok zd ps -a --format json
    assert_eq "$(jq -r '.[0].Names[0]' <<<"$out")" keepme "name in ps -a"
    assert_eq "$(jq -r '.[0].State' <<<"$out")" exited "state in ps -a"
    assert_eq "$(jq -r '.[0].ExitCode' <<<"$out")" 3 "exit code in ps -a"
    expect_ok zd ps -a
    assert_match "$out" "Exited \\(3\\) .* ago +keepme" "ps -a table"
    expect_ok zd ps
    assert_not_contains "$out" keepme "ps without -a"
    expect_ok zd logs keepme
    assert_eq "$out" kept "logs of the exited container"
    [[ -z $(ls -A "$TEST_ROOT") ]] || fail "runtime state kept after the exit"
    expect_ok zd rm keepme
    assert_nothing_left
}

test_dev_run_env_workdir_user() {
    dev_image
    printf 'A=1\n# a comment\n\nB=two words\n' > "$TEST_TMP/env"
    export FROM_HOST=hostval
    expect_ok drun --rm -e X=y -e FROM_HOST --env-file "$TEST_TMP/env" -w /tmp -u 1000:1000 "$IMG" \
        sh -c 'echo "$X|$A|$B|$FROM_HOST"; pwd; id -u; id -g'
    assert_eq "$out" "$(printf 'y|1|two words|hostval\n/tmp\n1000\n1000')" "env, cwd and ids"
    expect_ok drun --rm -h devhost --entrypoint /bin/echo "$IMG" via-entrypoint
    assert_eq "$out" via-entrypoint "--entrypoint"
    expect_ok drun --rm -h devhost "$IMG" hostname
    assert_eq "$out" devhost "--hostname"
    # -h after the image belongs to the command
    expect_ok drun --rm "$IMG" ls -h /
    assert_contains "$out" bin "ls -h output"
}

test_dev_run_volumes() {
    dev_image
    mkdir -p "$TEST_TMP/vol"
    echo data > "$TEST_TMP/vol/f"
    capture drun --rm -v "$TEST_TMP/vol:/v:ro" "$IMG" sh -c 'cat /v/f; echo x > /v/g'
    assert_ne "$rc" 0 "writing to a :ro volume"
    assert_eq "$out" data "reading a :ro volume"
    [[ ! -e $TEST_TMP/vol/g ]] || fail "a write went through a :ro volume"
    expect_ok drun --rm -v "$TEST_TMP/vol:/v:rw" "$IMG" sh -c 'echo written > /v/g'
    assert_eq "$(cat "$TEST_TMP/vol/g")" written "write through a :rw volume"
    expect_ok drun --rm -v "$TEST_TMP/vol:/v" "$IMG" cat /v/g
    assert_eq "$out" written "default volume mode"
}

test_dev_run_network_none_and_read_only() {
    dev_image
    expect_ok drun --rm --network none "$IMG" sh -c 'ls /sys/class/net'
    assert_eq "$out" lo "interfaces with --network none"
    capture drun --rm --read-only "$IMG" touch /newfile
    assert_ne "$rc" 0 "touch on a --read-only root"
    assert_contains "$err" "Read-only file system"
    expect_ok drun --rm "$IMG" touch /newfile
}

test_dev_run_limits_in_cgroup() {
    dev_image
    expect_ok drun -d --name limited -m 64m --pids-limit 50 "$IMG" sleep 1000
    local pid; pid=$(zd ps --format json | jq -r '.[0].Pid')
    [[ $pid =~ ^[0-9]+$ && $pid != 0 ]] || fail "no pid for the running container: $pid"
    local mem pids
    mem=$(cgroup_dir "$pid" memory)
    pids=$(cgroup_dir "$pid" pids)
    if [[ -f $mem/memory.max ]]; then
        assert_eq "$(cat "$mem/memory.max")" $((64 << 20)) "memory.max"
    else
        assert_eq "$(cat "$mem/memory.limit_in_bytes")" $((64 << 20)) "memory.limit_in_bytes"
    fi
    assert_eq "$(cat "$pids/pids.max")" 50 "pids.max"
    expect_ok zd rm -f limited
    assert_nothing_left
}

test_dev_run_timeout() {
    dev_image
    local start=$SECONDS
    capture drun --rm --timeout 1 "$IMG" sleep 30
    assert_eq "$rc" 124 "exit code when --timeout expires"
    ((SECONDS - start < 10)) || fail "--timeout 1 took $((SECONDS - start))s"
    assert_nothing_left
    # detached: the monitor records 124
    expect_ok drun -d --timeout 1 "$IMG" sh -c 'sleep 30 & sleep 30'
    local id=$out
    wait_for 10 test -f "$STORE/containers/$id/exit.json" || fail "no exit record after the timeout"
    assert_eq "$(jq -r .exit_code "$STORE/containers/$id/exit.json")" 124 "recorded exit code"
    [[ -z $(ls -A "$TEST_ROOT") ]] || fail "runtime state left after the timeout"
    expect_ok zd rm "$id"
    assert_nothing_left
}

test_dev_detached_ps_logs_exec_stop_rm() {
    dev_image
    expect_ok drun -d --name svc "$IMG" sh -c 'echo started; trap "echo stopping; exit 3" TERM; while :; do sleep 0.1; done'
    local id=$out
    [[ $id =~ ^[0-9a-f]{64}$ ]] || fail "run -d printed [$id], not an id"
    expect_ok zd ps
    assert_contains "$out" "${id:0:12}" "ps"
    assert_match "$out" "Up .* +svc" "ps status"
    expect_ok zd ps -q
    assert_eq "$out" "${id:0:12}" "ps -q"
    wait_for 5 bash -c "[[ \$(\"$RUNTIME\" --root \"$TEST_ROOT\" --storage \"$STORE\" logs svc) == started ]]" ||
        fail "logs: $(zd logs svc)"
    expect_ok zd exec svc sh -c 'echo "in $(cat /proc/1/cmdline | tr "\0" " ")"'
    assert_contains "$out" "in sh -c echo started" "exec by name sees the container's init"
    expect_ok zd exec -i "${id:0:10}" echo by-prefix
    assert_eq "$out" by-prefix "exec by id prefix"
    capture zd exec svc sh -c 'exit 5'
    assert_eq "$rc" 5 "exec exit code"
    capture zd rm svc
    assert_ne "$rc" 0 "rm of a running container without -f"
    assert_contains "$err" "running"
    expect_ok zd stop -t 5 svc
    expect_ok zd ps -a --format json
    assert_eq "$(jq -r '.[0].State' <<<"$out")" exited "state after stop"
    assert_eq "$(jq -r '.[0].ExitCode' <<<"$out")" 3 "exit code after stop (the trap's)"
    expect_ok zd logs svc
    assert_eq "$out" "$(printf 'started\nstopping')" "logs after stop"
    expect_ok zd inspect svc
    assert_eq "$(jq -r '.[0].Id' <<<"$out")" "$id" "inspect Id"
    assert_eq "$(jq -r '.[0].State.Status' <<<"$out")" exited "inspect State.Status"
    assert_eq "$(jq -r '.[0].State.ExitCode' <<<"$out")" 3 "inspect State.ExitCode"
    expect_ok zd rm svc
    assert_nothing_left
    # stop escalates to SIGKILL when the stop signal is ignored (init ignores TERM)
    expect_ok drun -d --name stubborn "$IMG" sleep 1000
    local start=$SECONDS
    expect_ok zd stop -t 1 stubborn
    ((SECONDS - start < 8)) || fail "stop -t 1 took $((SECONDS - start))s"
    expect_ok zd ps -a --format json
    assert_eq "$(jq -r '.[0].ExitCode' <<<"$out")" 137 "exit code after SIGKILL"
    expect_ok zd rm stubborn
    # rm -f of a running --rm container
    expect_ok drun -d --rm "$IMG" sleep 1000
    expect_ok zd rm -f "$out"
    assert_nothing_left
}

test_dev_logs_follow() {
    dev_image
    expect_ok drun -d --name talker "$IMG" sh -c 'for i in 1 2 3; do echo line$i; sleep 0.3; done'
    capture timeout 20 "$RUNTIME" --root "$TEST_ROOT" --storage "$STORE" logs -f talker
    assert_eq "$rc" 0 "logs -f ends when the container exits"
    assert_eq "$out" "$(printf 'line1\nline2\nline3')" "logs -f output"
}

test_dev_name_conflict() {
    dev_image
    expect_ok drun -d --name dup "$IMG" sleep 1000
    capture drun -d --name dup "$IMG" sleep 1000
    assert_eq "$rc" 125 "exit code of a name conflict"
    assert_contains "$err" "already in use"
    assert_eq "$(record_count)" 1 "records after the conflict"
    capture drun --name 'bad/name' "$IMG" true
    assert_eq "$rc" 125 "invalid name"
    expect_ok zd rm -f dup
    assert_nothing_left
}

test_dev_failing_run_leaves_nothing() {
    dev_image
    capture drun --rm -v "$TEST_TMP/does-not-exist:/x" "$IMG" true
    assert_eq "$rc" 125 "exit code with a bad volume source"
    assert_contains "$err" "$TEST_TMP/does-not-exist"
    capture drun -d -v "$TEST_TMP/does-not-exist:/x" "$IMG" true
    assert_eq "$rc" 125 "exit code with a bad volume source (-d)"
    capture drun "$IMG" no-such-command
    assert_eq "$rc" 127 "command not found"
    capture drun -d "$IMG" no-such-command
    assert_ne "$rc" 0 "command not found (-d)"
    capture drun -p 8080:80 "$IMG" true
    assert_eq "$rc" 125 "--publish without pasta"
    capture drun --rm no-such-image-zit true
    assert_eq "$rc" 125 "missing image"
    capture drun --pull never --rm no-such-image-zit true
    assert_eq "$rc" 125 "missing image with --pull never"
    assert_nothing_left
}

test_dev_ci_one_liner() {
    dev_image
    local ws=$TEST_TMP/ws
    mkdir -p "$ws/src"
    printf 'int main(void) { return 0; }\n' > "$ws/src/main.c"
    cat > "$ws/build.sh" <<'EOF'
set -e
mkdir -p out
for f in src/*.c; do wc -l < "$f" > "out/$(basename "$f" .c).lines"; done
echo "tests passed" > out/report.txt
ls /sys/class/net > out/net.txt
echo built
EOF
    cd "$ws" || fail "cd"
    expect_ok drun --rm -v "$PWD:/src" -w /src --network none --timeout 600 "$IMG" sh -c 'sh build.sh'
    assert_eq "$out" built "build output"
    assert_eq "$(cat out/report.txt)" "tests passed" "report written to the workspace"
    assert_eq "$(cat out/main.lines)" 1 "artifact written to the workspace"
    assert_eq "$(cat out/net.txt)" lo "network of the build"
    capture drun --rm -v "$PWD:/src" -w /src --network none --timeout 600 "$IMG" sh -c 'exit 2'
    assert_eq "$rc" 2 "a failing build fails the one-liner"
    cd "$TEST_TMP" || fail "cd"
    assert_nothing_left
}

test_dev_inspect_image_and_container() {
    dev_image
    expect_ok zd inspect "$IMG"
    assert_eq "$(jq -r '.[0].RootFS.Type' <<<"$out")" layers "image RootFS.Type"
    assert_eq "$(jq -r '.[0].RepoTags | length' <<<"$out")" 1 "image RepoTags"
    assert_match "$(jq -r '.[0].Digest' <<<"$out")" '^sha256:[0-9a-f]{64}$' "image Digest"
    expect_ok drun -d --name insp -e FOO=bar -w /tmp -v "$TEST_TMP:/host:ro" "$IMG" sleep 1000
    expect_ok zd inspect insp
    assert_eq "$(jq -r '.[0].Name' <<<"$out")" insp "Name"
    assert_eq "$(jq -r '.[0].State.Running' <<<"$out")" true "State.Running"
    assert_match "$(jq -r '.[0].State.Pid' <<<"$out")" '^[1-9][0-9]*$' "State.Pid"
    assert_eq "$(jq -r '.[0].Config.WorkingDir' <<<"$out")" /tmp "Config.WorkingDir"
    assert_eq "$(jq -r '.[0].Config.Env | map(select(. == "FOO=bar")) | length' <<<"$out")" 1 "Config.Env"
    assert_eq "$(jq -r --arg s "$TEST_TMP" '.[0].Mounts | map(select(.Source == $s and .Destination == "/host" and .RW == false)) | length' <<<"$out")" 1 "Mounts"
    capture zd inspect no-such-thing-zit
    assert_ne "$rc" 0 "inspect of nothing"
    expect_ok zd rm -f insp
}

test_dev_runc_verbs_keep_their_meaning() {
    dev_image
    make_bundle
    local id; id=$(new_id)
    # `zone run ID` in a bundle directory is runc's run
    cd "$BUNDLE" || fail "cd"
    set_args echo from-bundle
    capture zrun run "$id"
    assert_eq "$rc" 0 "runc run in the bundle dir: $err"
    assert_eq "$out" from-bundle "runc run output"
    # --bundle is runc-only
    cd "$TEST_TMP" || fail "cd"
    set_args sleep 1000
    start_ctr "$id"
    # ps with an id is runc's ps; without one, the developer list
    expect_ok zrun ps --format json "$id"
    assert_match "$out" '^\[[0-9]+\]$' "runc ps json"
    expect_ok zd ps -a --format json
    assert_eq "$(jq length <<<"$out")" 0 "developer ps does not list runc containers"
    # exec of a runtime id still works
    expect_ok zrun exec "$id" echo runc-exec
    assert_eq "$out" runc-exec "runc exec"
    zrun delete -f "$id"
}

test_dev_tty() {
    dev_image
    need_cmd script
    capture timeout 20 script -qec "$RUNTIME --root $TEST_ROOT --storage $STORE run --rm -it -e ZIT_MARK=$ZIT_PREFIX $IMG sh -c 'tty; exit 4'" /dev/null
    assert_eq "$rc" 4 "exit code through the terminal"
    assert_contains "$out" "/dev/pts/" "the container's stdin is a terminal"
    assert_nothing_left
}

test_dev_network_pasta_publish() {
    dev_image
    need_cmd pasta
    [[ -c /dev/net/tun ]] || skip "/dev/net/tun missing"
    expect_ok drun --rm --network pasta "$IMG" sh -c 'ls /sys/class/net | grep -v "^lo$" | wc -l'
    [[ $out -ge 1 ]] || fail "no interface besides lo with --network pasta"
    local port=$((20000 + RANDOM % 20000))
    expect_ok drun -d --name web --network pasta -p "$port:80" "$IMG" \
        sh -c 'mkdir -p /www && echo hello-pasta > /www/index.html && exec httpd -f -p 80 -h /www'
    wait_for 10 bash -c "busybox wget -qO- http://127.0.0.1:$port/ | grep -q hello-pasta" ||
        fail "the published port does not answer"
    expect_ok zd rm -f web
    pgrep -f -- "-t $port:80" >/dev/null && fail "pasta still running after rm"
    assert_nothing_left
}

# zone hands the image and developer verbs to zone-dev, and links none of
# their libraries itself (docs/performance.md)
test_dev_verbs_go_to_zone_dev() {
    local dev; dev=$(dirname "$RUNTIME")/zone-dev
    [[ -x $dev ]] || fail "zone-dev is not next to $RUNTIME"
    capture "$RUNTIME" --help
    local zone_help=$out
    capture "$dev" --help
    assert_eq "$zone_help" "$out" "zone --help and zone-dev --help list the same verbs"
    if command -v ldd >/dev/null; then
        capture ldd "$RUNTIME"
        assert_not_contains "$out" libcurl "zone's libraries"
        assert_not_contains "$out" libarchive "zone's libraries"
        assert_not_contains "$out" libcrypto "zone's libraries"
    fi
    # a developer verb through zone, and help from zone-dev
    capture "$RUNTIME" --storage "$TEST_TMP/store" images
    assert_eq "$rc" 0 "zone images through zone-dev: $err"
    assert_contains "$out" REPOSITORY
    capture "$RUNTIME" pull --help
    assert_contains "$out" "--tls-verify"
    # exec of a name that is neither kind of container fails as runc's does
    capture "$RUNTIME" --root "$TEST_ROOT" --storage "$TEST_TMP/store" exec no-such-ctr true
    assert_ne "$rc" 0 "exec of an unknown container"
}
