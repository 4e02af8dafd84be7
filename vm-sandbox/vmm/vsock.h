/* virtio-vsock packets (virtio 1.x 5.10): the 44-byte little-endian
 * header, and the pure parser that checks every field a guest wrote
 * before the device looks at it. No state, no I/O: unit-tested and fuzzed
 * (tests/fuzz/fuzz_vsock.c). */
#ifndef ZONE_VMM_VSOCK_H
#define ZONE_VMM_VSOCK_H

#include <stddef.h>
#include <stdint.h>

#define VMM_VSOCK_HDR_SIZE     44
#define VMM_VSOCK_HOST_CID     2
#define VMM_VSOCK_DEFAULT_CID  3
#define VMM_VSOCK_MAX_PAYLOAD  (64u * 1024)   /* Linux's VIRTIO_VSOCK_MAX_PKT_BUF_SIZE */

#define VMM_VSOCK_TYPE_STREAM  1

#define VMM_VSOCK_OP_REQUEST        1
#define VMM_VSOCK_OP_RESPONSE       2
#define VMM_VSOCK_OP_RST            3
#define VMM_VSOCK_OP_SHUTDOWN       4
#define VMM_VSOCK_OP_RW             5
#define VMM_VSOCK_OP_CREDIT_UPDATE  6
#define VMM_VSOCK_OP_CREDIT_REQUEST 7

#define VMM_VSOCK_SHUTDOWN_RCV  1
#define VMM_VSOCK_SHUTDOWN_SEND 2

struct vmm_vsock_hdr {
    uint64_t src_cid, dst_cid;
    uint32_t src_port, dst_port;
    uint32_t len;
    uint16_t type, op;
    uint32_t flags;
    uint32_t buf_alloc, fwd_cnt;
};

enum vmm_vsock_verdict {
    VMM_VSOCK_OK,
    VMM_VSOCK_SHORT,        /* fewer than 44 header bytes: nothing to answer */
    VMM_VSOCK_BAD_SRC_CID,  /* not the guest's own CID (spoofing) */
    VMM_VSOCK_BAD_DST_CID,  /* not the host */
    VMM_VSOCK_BAD_TYPE,     /* not a stream */
    VMM_VSOCK_BAD_OP,
    VMM_VSOCK_BAD_LEN,      /* len past the buffer, over 64 KiB, or data on a control packet */
    VMM_VSOCK_BAD_FLAGS,    /* flags on anything but SHUTDOWN, or unknown/no SHUTDOWN flags */
};

/* Decodes the header in bytes[0..avail) of a packet the guest queued whose
 * readable buffers hold chain_bytes in all, and checks it against the
 * guest's CID. *h is filled whenever avail >= 44, even when the verdict is
 * not OK (so a bad packet can be answered with RST). */
enum vmm_vsock_verdict vmm_vsock_parse(const uint8_t *bytes, size_t avail, uint64_t chain_bytes,
                                       uint64_t guest_cid, struct vmm_vsock_hdr *h);

/* Encodes h into out[0..44). */
void vmm_vsock_encode(const struct vmm_vsock_hdr *h, uint8_t *out);

const char *vmm_vsock_verdict_name(enum vmm_vsock_verdict v);

/* What the vsock device (virtio_vsock.c) counted. */
struct vmm_vsock_stats {
    unsigned long malformed;         /* packets vmm_vsock_parse refused */
    unsigned long protocol_errors;   /* well-formed packets that broke the protocol (state, credit) */
    unsigned long rst_sent, rst_dropped;
    unsigned long connections;       /* opened so far, both directions */
    unsigned long open;              /* open now */
    uint64_t bytes_to_host, bytes_to_guest;
    char last_error[160];
};

/* Copies the counters of a vsock backend (vmm_virtio_vsock_new's opaque). */
void vmm_virtio_vsock_stats(void *backend, struct vmm_vsock_stats *out);

#endif
