/* libFuzzer target for the virtio-vsock packet parser (vm-sandbox/vmm/
 * vsock_packet.c), which checks every header a guest queues before the
 * device trusts any of it. Bytes 0-3 give the chain's total readable
 * length and byte 4 the guest CID; the rest is the header as the guest
 * wrote it. Besides crashes and sanitizer reports it aborts when an
 * accepted header breaks an invariant the device relies on, or when
 * encoding an accepted header does not give back the same bytes.
 *
 *   make fuzz                      (all targets, FUZZ_SECONDS each)
 *   build/fuzz/fuzz_vsock CORPUS_DIR */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vm-sandbox/vmm/vsock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5)
        return 0;
    uint32_t chain_bytes;
    memcpy(&chain_bytes, data, 4);
    uint64_t cid = 3 + data[4] % 4;
    data += 5;
    size -= 5;
    struct vmm_vsock_hdr h;
    enum vmm_vsock_verdict v = vmm_vsock_parse(data, size, chain_bytes, cid, &h);
    if (v != VMM_VSOCK_OK)
        return 0;
    if (size < VMM_VSOCK_HDR_SIZE || chain_bytes < VMM_VSOCK_HDR_SIZE)
        abort();
    if (h.src_cid != cid || h.dst_cid != VMM_VSOCK_HOST_CID || h.type != VMM_VSOCK_TYPE_STREAM)
        abort();
    if (h.op < VMM_VSOCK_OP_REQUEST || h.op > VMM_VSOCK_OP_CREDIT_REQUEST)
        abort();
    if (h.len > chain_bytes - VMM_VSOCK_HDR_SIZE || h.len > VMM_VSOCK_MAX_PAYLOAD)
        abort();
    if (h.op != VMM_VSOCK_OP_RW && h.len)
        abort();
    if (h.op == VMM_VSOCK_OP_SHUTDOWN ? (h.flags == 0 || h.flags > 3) : h.flags != 0)
        abort();
    uint8_t again[VMM_VSOCK_HDR_SIZE];
    vmm_vsock_encode(&h, again);
    if (memcmp(again, data, VMM_VSOCK_HDR_SIZE) != 0)
        abort();
    return 0;
}
