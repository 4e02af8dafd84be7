# The 9P2000.L server (vm-sandbox/p9) against the real Linux v9fs client:
# build/tests/p9-fdserve mounts an export through the kernel's fd transport
# (no VM needed, only the test guest's 9p modules), and ordinary tools then
# read, write, create, rename, link, chmod, chown (as root and as uid 1000,
# access=client), set times and xattrs, make FIFOs and device nodes, list
# big directories and copy a tree, with cache=none and cache=loose; each
# result is checked on the host side of the export. A read-only export
# must refuse writes with EROFS.
set -u
. tests/vm/lib.sh
srv=$PWD/build/tests/p9-fdserve
[ -x "$srv" ] || vm_skip "build/tests/p9-fdserve is missing (make build/tests/p9-fdserve)"
modprobe 9p 2>/dev/null
modprobe 9pnet_fd 2>/dev/null
grep -qw 9p /proc/filesystems || vm_skip "the kernel has no 9p file system"

work=$(mktemp -d /tmp/zone-p9.XXXXXX)
srv_pid=
cleanup() {
    mountpoint -q "$work/mnt" && umount -l "$work/mnt"
    [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null
    mountpoint -q "$work/disk" && umount -l "$work/disk"
    rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/mnt" "$work/disk"
chmod 755 "$work" # uid 1000 walks to the mount too
# an ext4 export (user xattrs, real inode numbers) when mkfs.ext4 is there
if command -v mkfs.ext4 >/dev/null && truncate -s 256M "$work/img" && mkfs.ext4 -q -F "$work/img" &&
    mount -o loop "$work/img" "$work/disk"; then
    exp=$work/disk/export
else
    exp=$work/export
fi
mkdir -p "$exp"

serve() { # serve [--read-only] OPTIONS: mounts exp at mnt in the background
    local ro=
    [ "$1" = --read-only ] && { ro=--read-only; shift; }
    "$srv" $ro --options "$1" "$exp" "$work/mnt" 2>"$work/srv.err" &
    srv_pid=$!
    for _ in $(seq 1 100); do mountpoint -q "$work/mnt" && return 0; sleep 0.05; done
    cat "$work/srv.err"
    vm_fail "the 9p mount ($1) did not appear"
}

unserve() {
    umount "$work/mnt" || vm_fail "umount failed"
    local rc=0
    wait "$srv_pid" || rc=$?
    [ $rc -eq 0 ] || { cat "$work/srv.err"; vm_fail "p9-fdserve exited $rc"; }
    srv_pid=
    cat "$work/srv.err"
}

# The host's view: with cache=loose, writes reach the export at writeback.
hcat() { [ "$cache" = loose ] && sync -f "$m"; cat "$1"; }
hstat() { [ "$cache" = loose ] && sync -f "$m"; stat -c "$1" "$2"; }

check() { # check DESCRIPTION COMMAND...
    local what=$1
    shift
    [ "$cache" = loose ] && sync -f "$m"
    "$@" || vm_fail "$what (cache=$cache)"
}

m=$work/mnt
for cache in ${P9_CACHES:-none loose}; do
    rm -rf "${exp:?}"/* 2>/dev/null
    # a big msize, then the smallest, so that readdir takes several replies
    msize=262144
    [ "$cache" = loose ] && msize=4096
    serve "access=client,cache=$cache,msize=$msize"
    echo hello >"$m/a"
    check "read back" [ "$(cat "$m/a")" = hello ]
    check "host sees the write" [ "$(hcat "$exp/a")" = hello ]
    echo more >>"$m/a"
    check "append" [ "$(hcat "$exp/a")" = "$(printf 'hello\nmore')" ]
    truncate -s 3 "$m/a"
    check "truncate" [ "$(hcat "$exp/a")" = hel ]
    head -c 4M /dev/urandom >"$work/big"
    cp "$work/big" "$m/big"
    check "4 MiB copy in" cmp -s "$work/big" "$exp/big"
    check "4 MiB read back" cmp -s "$work/big" "$m/big"
    mkdir -p "$m/d1/d2/d3"
    mv "$m/d1" "$m/dx"
    check "mkdir -p and rename" [ -d "$exp/dx/d2/d3" -a ! -e "$exp/d1" ]
    echo x >"$m/dx/d2/f"
    mv "$m/dx/d2/f" "$m/moved"
    check "rename across directories" [ "$(hcat "$exp/moved")" = x ]
    ln -s some/target "$m/sl"
    check "symlink" [ "$(readlink "$m/sl")" = some/target -a "$(readlink "$exp/sl")" = some/target ]
    ln "$m/a" "$m/hard"
    check "hard link" [ "$(hstat %h "$exp/a")" = 2 ]
    chmod 0640 "$m/a"
    check "chmod" [ "$(hstat %a "$exp/a")" = 640 ]
    chown 1000:2000 "$m/a"
    check "chown" [ "$(hstat %u:%g "$exp/a")" = 1000:2000 ]
    mkdir "$m/pub" && chmod 1777 "$m/pub"
    setpriv --reuid=1000 --regid=1000 --clear-groups sh -c "echo u >'$m/pub/u' && mkdir '$m/pub/ud'" ||
        vm_fail "create as uid 1000 (cache=$cache)"
    check "owner of a file made by uid 1000" [ "$(hstat %u:%g "$exp/pub/u")" = 1000:1000 ]
    check "owner of a dir made by uid 1000" [ "$(hstat %u:%g "$exp/pub/ud")" = 1000:1000 ]
    touch -d @1000000 "$m/moved"
    check "utimes" [ "$(hstat %Y "$exp/moved")" = 1000000 ]
    mkfifo "$m/fifo"
    check "mkfifo" [ -p "$exp/fifo" ]
    mknod "$m/null" c 1 3
    check "mknod" [ -c "$exp/null" ]
    check "a device node is the guest's own" [ "$(echo hi >"$m/null"; stat -c %s "$exp/null")" = 0 ]
    mkdir "$m/many"
    for i in $(seq 1 100); do : >"$m/many/file-with-a-long-name-$i"; done
    check "readdir of 100 entries" [ "$(ls "$m/many" | wc -l)" = 100 ]
    check "readdir with sizes" [ "$(ls -l "$m/many" | grep -c file-with)" = 100 ]
    rm -rf "$m/many" "$m/dx"
    check "rm -rf" [ ! -e "$exp/many" -a ! -e "$exp/dx" ]
    check "rmdir of a non-empty directory fails" sh -c "! rmdir '$m/pub' 2>/dev/null"
    check "statfs" df "$m" >/dev/null
    check "flock" flock "$m/moved" true
    if python3 -c "import os; os.setxattr('$exp/moved', 'user.probe', b'1')" 2>/dev/null; then
        python3 - "$m/moved" "$exp/moved" <<'EOF' || vm_fail "xattrs (cache=$cache)"
import os, sys
guest, host = sys.argv[1], sys.argv[2]
os.setxattr(guest, 'user.color', b'blue')
assert os.getxattr(host, 'user.color') == b'blue'
assert os.getxattr(guest, 'user.color') == b'blue'
assert 'user.color' in os.listxattr(guest)
os.removexattr(guest, 'user.color')
assert 'user.color' not in os.listxattr(host)
EOF
    else
        echo "SKIP: xattrs: the export's file system has no user xattrs"
    fi
    tree=/usr/include/linux/netfilter_bridge
    if [ -d $tree ]; then
        cp -a $tree "$m/inc"
        check "copy of a tree" diff -r $tree "$m/inc"
        check "the tree on the host" diff -r $tree "$exp/inc"
    fi
    unserve
done

cache=none
serve --read-only "access=client,cache=none"
check "read-only: read" [ "$(cat "$m/moved")" = x ]
out=$(touch "$m/new" 2>&1) && vm_fail "read-only: touch succeeded"
case $out in *"Read-only file system"*) ;; *) vm_fail "read-only: touch said: $out" ;; esac
out=$(mkdir "$m/newdir" 2>&1) && vm_fail "read-only: mkdir succeeded"
check "read-only: nothing created" [ ! -e "$exp/new" -a ! -e "$exp/newdir" ]
unserve
echo "t_p9: ok"
