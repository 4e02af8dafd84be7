# shellcheck shell=bash disable=SC2154  # out/err/rc are set by capture() in lib.sh
# --log and --log-format: the runc-style log lines engines parse.

test_log_json_file() {
    local log=$TEST_TMP/log.json id; id=$(new_id)
    capture zrun --log "$log" --log-format json state "$id"
    assert_eq "$rc" 1 "exit code"
    [[ -s $log ]] || fail "nothing written to the --log file"
    local line
    while read -r line; do
        jq -e 'type == "object" and has("level") and has("msg") and has("time")' >/dev/null <<<"$line" ||
            fail "log line is not {level,msg,time} JSON: $line"
    done < "$log"
    line=$(jq -c 'select(.level == "error")' "$log" | tail -1)
    assert_contains "$(jq -r .msg <<<"$line")" "does not exist" "error msg"
    assert_match "$(jq -r .time <<<"$line")" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}' "time"
    assert_contains "$err" "does not exist" "the error also goes to stderr"
}

test_log_text_file() {
    local log=$TEST_TMP/log.txt id; id=$(new_id)
    capture zrun --log "$log" state "$id"
    assert_eq "$rc" 1 "exit code"
    assert_match "$(grep 'level=error' "$log" | tail -1)" \
        '^time="[0-9]{4}-[0-9]{2}-[0-9]{2}T[^"]+" level=error msg="[^"]*does not exist[^"]*"' "text log line"
}

test_log_json_to_stderr() {
    local id; id=$(new_id)
    capture zrun --log-format json state "$id"
    assert_eq "$rc" 1 "exit code"
    local line; line=$(grep '^{' <<<"$err" | tail -1)
    assert_eq "$(jq -r .level <<<"$line")" error "level of the stderr JSON line"
    assert_contains "$(jq -r .msg <<<"$line")" "does not exist" "msg of the stderr JSON line"
}

test_log_json_container_init_error() {
    # errors found inside the container's init reach the log engines read
    make_bundle
    set_args no-such-cmd-zit
    local log=$TEST_TMP/log.json id; id=$(new_id)
    capture zrun --log "$log" --log-format json run --bundle "$BUNDLE" "$id"
    assert_ne "$rc" 0 "exit code"
    local msgs; msgs=$(jq -r 'select(.level == "error") | .msg' "$log")
    assert_contains "$msgs" "executable file not found" "error messages in the log"
}
