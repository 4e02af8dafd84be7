#!/bin/sh
# wait-stopped.sh RUNTIME ROOT ID: poll `RUNTIME --root ROOT state ID` until
# the container is stopped (at most about 5 s). The benchmark puts it between
# `start` of a /bin/true container and its `delete` so that `delete` never
# races the process's exit; its time is not reported.
set -eu
runtime=$1 root=$2 id=$3
i=0
while [ $i -lt 500 ]; do
    if "$runtime" --root "$root" state "$id" | grep -q '"status": *"stopped"'; then
        exit 0
    fi
    sleep 0.01
    i=$((i + 1))
done
echo "wait-stopped: $id is still not stopped after 5 s" >&2
exit 1
