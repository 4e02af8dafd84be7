# Two vCPUs: the MP table lists both, the guest brings the second up and
# runs /init. Under kvm-host.sh's QEMU 7.2 TCG (nested SVM) most 2-vCPU
# boots hang after "smp: Brought up 1 node, 2 CPUs" (one of five passed),
# so this runs only with VM_TEST_SMP=1, e.g. on a real KVM host.
set -u
. tests/vm/lib.sh
[ "${VM_TEST_SMP:-}" = 1 ] || vm_skip "2-vCPU nested boots hang under QEMU TCG here; set VM_TEST_SMP=1 to run"
kernel=${KVMHOST_VMLINUX:-}
[ -n "$kernel" ] && [ -r "$kernel" ] || kernel=$(vm_kernel) || vm_skip "no guest kernel"
vm_boot_check "$kernel" 2
echo "PASS: smp"
