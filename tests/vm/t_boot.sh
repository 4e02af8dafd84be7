# bzImage 64-bit boot protocol: the Debian kernel with a busybox /init that
# prints a marker and reboots; the monitor prints the console and exits 0.
set -u
. tests/vm/lib.sh
kernel=$(vm_kernel) || vm_skip "no guest kernel (/boot/vmlinuz-* or KVMHOST_KERNEL)"
vm_boot_check "$kernel" 1
echo "PASS: boot"
