# PVH entry: the same kernel uncompressed (vmlinux), entered through its
# XEN_ELFNOTE_PHYS32_ENTRY note, skipping the decompressor.
set -u
. tests/vm/lib.sh
[ -n "${KVMHOST_VMLINUX:-}" ] && [ -r "$KVMHOST_VMLINUX" ] || vm_skip "no uncompressed vmlinux (KVMHOST_VMLINUX)"
vm_boot_check "$KVMHOST_VMLINUX" 1
echo "PASS: pvh"
