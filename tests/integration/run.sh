#!/bin/bash
# Integration tests: drives $RUNTIME (default build/zone) as root.
#
#   bash tests/integration/run.sh [FILTER]
#
# Runs every test_* function of tests/integration/t_*FILTER*.sh, each in its
# own bash process under `timeout`, prints "ok NAME", "FAIL NAME" (with the
# test's output and any leaked resources) or "skip NAME: REASON", then one
# line "integration: N passed, N failed, N skipped".  Exits 1 on failure.
# Environment: RUNTIME, ZIT_TIMEOUT (seconds per test, default 60),
# ZIT_KEEP=1 keeps the work directory of failed tests, ZIT_ONLY=REGEX runs
# only the tests whose names match.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

filter=${1:-}
files=()
for f in "$HERE"/t_*"$filter"*.sh; do [[ -f $f ]] && files+=("$f"); done

list_tests() { # FILE -> test function names in file order
    grep -oE '^test_[A-Za-z0-9_]+[[:space:]]*\(\)' "$1" | sed 's/[[:space:]]*()//'
}

passed=0 failed=0 skipped=0

if [[ $(id -u) != 0 ]]; then
    echo "integration: need root to run containers; skipping everything"
    for f in "${files[@]}"; do
        for t in $(list_tests "$f"); do echo "skip $t: not root"; skipped=$((skipped + 1)); done
    done
    echo "integration: $passed passed, $failed failed, $skipped skipped"
    exit 0
fi

if [[ ! -x $RUNTIME ]]; then
    echo "integration: runtime $RUNTIME not found or not executable" >&2
    exit 1
fi
command -v jq >/dev/null || { echo "integration: jq is required (apt-get install jq)" >&2; exit 1; }

# Helpers are built by `make check-integration`; build them here when run directly.
helper_bins=()
for c in "$ROOT_DIR"/tests/helpers/*.c; do
    n=$(basename "$c" .c)
    helper_bins+=("build/tests/helpers/$n")
done
if ((${#helper_bins[@]})) && [[ $HELPERS == "$ROOT_DIR/build/tests/helpers" ]]; then
    make -s -C "$ROOT_DIR" "${helper_bins[@]}" >/dev/null ||
        { echo "integration: building test helpers failed" >&2; exit 1; }
fi

ZIT_WORK=$(mktemp -d /tmp/zit.XXXXXX)
# A tmpfs: copying a bundle per test is 20x faster than on the disk here.
mount -t tmpfs -o mode=755 zit-work "$ZIT_WORK" || chmod 755 "$ZIT_WORK"
RUN_TAG=$(printf '%04x' $((RANDOM % 65536)))
trap 'cd /; umount -l "$ZIT_WORK" 2>/dev/null; rm -rf "$ZIT_WORK"' EXIT
# die of a signal through the EXIT trap too (e.g. `run.sh | head`)
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 141' PIPE

export ZIT_CACHE=$ZIT_WORK/cache
RUNTIME=$RUNTIME "$ROOT_DIR/scripts/make-busybox-bundle.sh" "$ZIT_CACHE" >/dev/null ||
    { echo "integration: make-busybox-bundle.sh failed" >&2; exit 1; }

echo "integration: runtime $RUNTIME ($("$RUNTIME" --version 2>/dev/null | head -1))"
n=0
for f in "${files[@]}"; do
    for t in $(list_tests "$f"); do
        [[ -n ${ZIT_ONLY:-} && ! $t =~ $ZIT_ONLY ]] && continue
        n=$((n + 1))
        export TEST_TMP=$ZIT_WORK/t$n
        export TEST_ROOT=$TEST_TMP/state
        export ZIT_PREFIX="zit${RUN_TAG}t${n}-"
        mkdir -p "$TEST_TMP"
        chmod 755 "$TEST_TMP"
        limit=${ZIT_TIMEOUT:-60}
        grep -qE "^# timeout $t [0-9]+" "$f" && limit=$(grep -oE "^# timeout $t [0-9]+" "$f" | awk '{print $4}')
        start=$SECONDS
        rc=0
        timeout -k 5 "$limit" bash -c '. "$1"; . "$2"; zit_begin; "$3"' zit "$HERE/lib.sh" "$f" "$t" \
            </dev/null >"$TEST_TMP/log" 2>&1 || rc=$?
        took=$((SECONDS - start))
        ((rc == 124 || rc == 137)) && echo "TIMEOUT after ${limit}s" >> "$TEST_TMP/log"

        # The runtime must clean up after `delete --force`; check nothing is left.
        if [[ -f $TEST_TMP/ids ]]; then
            while read -r id; do
                timeout 15 "$RUNTIME" --root "$TEST_ROOT" delete --force "$id" >/dev/null 2>&1
            done < "$TEST_TMP/ids"
        fi
        sleep 0.05
        leaks=$(zit_leaks)
        if [[ -n $leaks ]]; then
            zit_force_clean
            ((rc == 0 || rc == 77)) && rc=1
            { echo "left behind after the test:"; echo "$leaks"; } >> "$TEST_TMP/log"
        fi

        if ((rc == 0)); then
            echo "ok $t (${took}s)"
            passed=$((passed + 1))
        elif ((rc == 77)); then
            echo "skip $t: $(cat "$TEST_TMP/skip" 2>/dev/null)"
            skipped=$((skipped + 1))
        elif [[ -f $TEST_TMP/runc_known ]]; then
            echo "skip $t: runc-known: $(cat "$TEST_TMP/runc_known")"
            sed 's/^/    | /' "$TEST_TMP/log" | tail -n 5
            skipped=$((skipped + 1))
        else
            echo "FAIL $t (${took}s, $(basename "$f"))"
            sed 's/^/    | /' "$TEST_TMP/log" | tail -n 40
            failed=$((failed + 1))
            if [[ ${ZIT_KEEP:-} == 1 ]]; then
                keep=$(mktemp -d /tmp/zit-failed.XXXXXX)
                cp -a "$TEST_TMP" "$keep/" 2>/dev/null && echo "    (kept in $keep)"
            fi
        fi
        [[ ${ZIT_SHOWLOG:-} == 1 ]] && sed "s/^/    : /" "$TEST_TMP/log"
        rm -rf "$TEST_TMP" 2>/dev/null
    done
done

echo "integration: $passed passed, $failed failed, $skipped skipped"
((failed == 0))
