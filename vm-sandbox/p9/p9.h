/* A 9P2000.L file server for one host directory, as a message-in /
 * message-out function: the virtio-9p device hands it each request it pops
 * from the guest's queue and copies the reply back. Knows nothing of
 * virtio or KVM, so it is unit-tested and fuzzed on plain buffers.
 *
 * Every request is guest-written and hostile: sizes, counts, string
 * lengths, fids and tags are all checked against the message and the
 * server's limits before use; a malformed request gets an Rlerror (EINVAL
 * / EPROTO), never a crash. Paths are resolved below the exported root
 * with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), so ".." and
 * symlinks written by the guest cannot reach outside it. */
#ifndef ZONE_P9_P9_H
#define ZONE_P9_P9_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define P9_MSIZE_MAX (512u * 1024)   /* largest msize the server agrees to */

struct p9_server;

struct p9_config {
    const char *root;      /* host directory exported as the guest's "/" */
    bool read_only;        /* writes answer EROFS */
    unsigned max_fids;     /* 0: a default (65536); at most 1 << 20. The
                              Linux client keeps a fid per cached dentry,
                              so this bounds the guest's dcache over 9p.
                              Each fid holds one fd: p9_server_new raises
                              RLIMIT_NOFILE's soft limit towards
                              max_fids + 256 (up to the hard limit). */
};

int p9_server_new(const struct p9_config *c, struct p9_server **out, struct zerr *e);
void p9_server_free(struct p9_server *s);

/* Handles one T-message (req, req_len bytes, starting at its size[4]
 * field) and writes the R-message into resp (resp_cap bytes). Returns
 * the reply's length (> 0; an Rlerror for any bad request), or 0 when no
 * reply is due (Tflush of nothing in flight is still answered; 0 is only
 * for requests too short to carry a tag). Thread-compatible: one caller
 * at a time per server. */
size_t p9_handle(struct p9_server *s, const uint8_t *req, size_t req_len, uint8_t *resp,
                 size_t resp_cap);

#endif
