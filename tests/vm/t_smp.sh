# Two vCPUs: the MP table lists both, the guest brings the second up and
# runs /init. Under kvm-host.sh's QEMU 7.2 TCG (nested SVM) most 2-vCPU
# boots hung after "smp: Brought up 1 node, 2 CPUs" while the test guest
# had two vCPUs (one of five passed); in a one-vCPU test guest, as run.sh
# now makes, 3 of 3 passed.
set -u
. tests/vm/lib.sh
kernel=${KVMHOST_VMLINUX:-}
[ -n "$kernel" ] && [ -r "$kernel" ] || kernel=$(vm_kernel) || vm_skip "no guest kernel"
vm_boot_check "$kernel" 2
echo "PASS: smp"
