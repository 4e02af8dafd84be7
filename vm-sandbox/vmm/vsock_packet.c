/* virtio-vsock header codec and checks (vsock.h). Layout:
 *   le64 src_cid, le64 dst_cid, le32 src_port, le32 dst_port, le32 len,
 *   le16 type, le16 op, le32 flags, le32 buf_alloc, le32 fwd_cnt */
#include "vm-sandbox/vmm/vsock.h"

#include <string.h>

static uint64_t rd(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void wr(uint8_t *p, unsigned n, uint64_t v)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

enum vmm_vsock_verdict vmm_vsock_parse(const uint8_t *bytes, size_t avail, uint64_t chain_bytes,
                                       uint64_t guest_cid, struct vmm_vsock_hdr *h)
{
    memset(h, 0, sizeof *h);
    if (avail < VMM_VSOCK_HDR_SIZE || chain_bytes < VMM_VSOCK_HDR_SIZE)
        return VMM_VSOCK_SHORT;
    h->src_cid = rd(bytes, 8);
    h->dst_cid = rd(bytes + 8, 8);
    h->src_port = (uint32_t)rd(bytes + 16, 4);
    h->dst_port = (uint32_t)rd(bytes + 20, 4);
    h->len = (uint32_t)rd(bytes + 24, 4);
    h->type = (uint16_t)rd(bytes + 28, 2);
    h->op = (uint16_t)rd(bytes + 30, 2);
    h->flags = (uint32_t)rd(bytes + 32, 4);
    h->buf_alloc = (uint32_t)rd(bytes + 36, 4);
    h->fwd_cnt = (uint32_t)rd(bytes + 40, 4);

    if (h->src_cid != guest_cid)
        return VMM_VSOCK_BAD_SRC_CID;
    if (h->dst_cid != VMM_VSOCK_HOST_CID)
        return VMM_VSOCK_BAD_DST_CID;
    if (h->type != VMM_VSOCK_TYPE_STREAM)
        return VMM_VSOCK_BAD_TYPE;
    if (h->op < VMM_VSOCK_OP_REQUEST || h->op > VMM_VSOCK_OP_CREDIT_REQUEST)
        return VMM_VSOCK_BAD_OP;
    if (h->len > chain_bytes - VMM_VSOCK_HDR_SIZE || h->len > VMM_VSOCK_MAX_PAYLOAD ||
        (h->op != VMM_VSOCK_OP_RW && h->len != 0))
        return VMM_VSOCK_BAD_LEN;
    if (h->op == VMM_VSOCK_OP_SHUTDOWN) {
        if (h->flags == 0 || (h->flags & ~(uint32_t)(VMM_VSOCK_SHUTDOWN_RCV | VMM_VSOCK_SHUTDOWN_SEND)))
            return VMM_VSOCK_BAD_FLAGS;
    } else if (h->flags != 0) {
        return VMM_VSOCK_BAD_FLAGS;
    }
    return VMM_VSOCK_OK;
}

void vmm_vsock_encode(const struct vmm_vsock_hdr *h, uint8_t *out)
{
    wr(out, 8, h->src_cid);
    wr(out + 8, 8, h->dst_cid);
    wr(out + 16, 4, h->src_port);
    wr(out + 20, 4, h->dst_port);
    wr(out + 24, 4, h->len);
    wr(out + 28, 2, h->type);
    wr(out + 30, 2, h->op);
    wr(out + 32, 4, h->flags);
    wr(out + 36, 4, h->buf_alloc);
    wr(out + 40, 4, h->fwd_cnt);
}

const char *vmm_vsock_verdict_name(enum vmm_vsock_verdict v)
{
    switch (v) {
    case VMM_VSOCK_OK: return "ok";
    case VMM_VSOCK_SHORT: return "header shorter than 44 bytes";
    case VMM_VSOCK_BAD_SRC_CID: return "source CID is not the guest's";
    case VMM_VSOCK_BAD_DST_CID: return "destination CID is not the host";
    case VMM_VSOCK_BAD_TYPE: return "type is not stream";
    case VMM_VSOCK_BAD_OP: return "unknown operation";
    case VMM_VSOCK_BAD_LEN: return "bad payload length";
    case VMM_VSOCK_BAD_FLAGS: return "bad flags";
    }
    return "?";
}
