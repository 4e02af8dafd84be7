/* virtio-9p (the 9P transport Linux's 9pnet_virtio speaks; device type 9):
 * one request queue, the mount tag in config space (le16 tag_len, then
 * the tag, with VIRTIO_9P_MOUNT_TAG). Each chain holds one T-message in
 * its readable buffers and room for the R-message in its writable ones
 * (Linux's zero-copy reads and writes just spread them over more
 * buffers), so the glue copies the request out, hands it to the p9 server
 * (vm-sandbox/p9/p9.h) and copies the reply back.
 *
 * File system calls may block for long, so requests run on a thread of
 * this device's own, never on a vCPU or the shared I/O thread; a kick
 * only wakes it. activate and reset run there too (vmm_iothread_call),
 * which also keeps the server single-caller as p9_handle requires. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vm-sandbox/p9/p9.h"
#include "vm-sandbox/vmm/iothread.h"
#include "vm-sandbox/vmm/virtio.h"
#include "vm-sandbox/vmm/vmm_impl.h"

#define QUEUE_SIZE 128
#define VIRTIO_9P_MOUNT_TAG (1ULL << 0)
#define TAG_MAX 255
#define MSG_MAX P9_MSIZE_MAX

struct v9p {
    struct p9_server *server;
    uint16_t tag_len;
    char tag[TAG_MAX];
    struct vmm_iothread *thread;
    struct vmm_io_source *kick;
    bool active;
    struct vmm_virtio_dev *vdev;
    uint8_t *req, *resp;
    struct vmm_vq_chain chain;
};

static void report(struct v9p *p, struct zerr *e)
{
    if (p->vdev)
        vmm_virtio_report(p->vdev, e);
}

static void serve(struct v9p *p)
{
    struct vmm_vq *vq = p->active ? vmm_virtio_queue(p->vdev, 0) : NULL;
    bool used = false;
    for (unsigned budget = vq ? vq->size : 0; budget > 0; budget--) {
        bool consumed;
        struct zerr e = { 0 };
        int r = vmm_vq_pop(vq, &p->chain, &consumed, &e);
        if (r == 0)
            break;
        size_t reply = 0;
        if (r < 0) {
            report(p, &e);
            if (!consumed)
                break;
        } else {
            /* a request larger than any msize is cut short: the server
             * sees its size field disagree and answers with an error */
            uint64_t len = p->chain.readable_bytes < MSG_MAX ? p->chain.readable_bytes : MSG_MAX;
            uint64_t cap = p->chain.writable_bytes < MSG_MAX ? p->chain.writable_bytes : MSG_MAX;
            vmm_vq_read(&p->chain, 0, p->req, len);
            reply = p9_handle(p->server, p->req, (size_t)len, p->resp, (size_t)cap);
            if (reply > cap)
                reply = 0;      /* never trust a length past the buffer, even our own */
            vmm_vq_write(&p->chain, 0, p->resp, reply);
        }
        if (vmm_vq_push(vq, p->chain.head, (uint32_t)reply, &e) < 0)
            report(p, &e);
        used = true;
        if (budget == 1)
            vmm_io_signal(p->kick);
    }
    struct zerr e = { 0 };
    if (used && vmm_virtio_signal(p->vdev, 0, &e) < 0)
        report(p, &e);
}

static void kicked(void *opaque, uint32_t events)
{
    (void)events;
    serve(opaque);
}

static int v9p_notify(void *b, unsigned queue, struct zerr *e)
{
    struct v9p *p = b;
    (void)queue;
    (void)e;
    vmm_io_signal(p->kick);
    return 0;
}

struct activate_args {
    struct v9p *p;
    struct vmm_virtio_dev *d;
};

static void activate_here(void *arg)
{
    struct activate_args *a = arg;
    a->p->vdev = a->d;
    a->p->active = true;
    serve(a->p);
}

static int v9p_activate(void *b, struct vmm_virtio_dev *d, uint64_t features, struct zerr *e)
{
    struct v9p *p = b;
    struct activate_args a = { p, d };
    (void)features;
    (void)e;
    vmm_iothread_call(p->thread, activate_here, &a);
    return 0;
}

static void reset_here(void *arg)
{
    ((struct v9p *)arg)->active = false;
}

/* The server keeps its fids: a new driver starts with Tversion, which
 * clunks them all. */
static void v9p_reset(void *b)
{
    struct v9p *p = b;
    vmm_iothread_call(p->thread, reset_here, p);
}

static void v9p_config_read(void *b, uint32_t off, void *buf, uint32_t len)
{
    struct v9p *p = b;
    uint8_t cfg[2 + TAG_MAX] = { 0 };
    cfg[0] = (uint8_t)p->tag_len;
    cfg[1] = (uint8_t)(p->tag_len >> 8);
    memcpy(cfg + 2, p->tag, p->tag_len);
    memcpy(buf, cfg + off, len);
}

static void v9p_destroy(void *b)
{
    struct v9p *p = b;
    vmm_iothread_free(p->thread);    /* first: nothing may still serve */
    p9_server_free(p->server);
    free(p->req);
    free(p->resp);
    free(p);
}

static const struct vmm_virtio_ops v9p_ops = {
    .name = "virtio-9p",
    .device_type = VIRTIO_ID_9P,
    .pci_class = 0x000200,          /* as QEMU's virtio-9p-pci */
    .features = VIRTIO_9P_MOUNT_TAG,
    .num_queues = 1,
    .queue_size = QUEUE_SIZE,
    .config_size = 2 + TAG_MAX,     /* bytes past the tag read 0 */
    .config_read = v9p_config_read,
    .activate = v9p_activate,
    .queue_notify = v9p_notify,
    .reset = v9p_reset,
    .destroy = v9p_destroy,
};

int vmm_virtio_9p_new(const char *tag, struct p9_server *s, struct vmm_virtio_backend *out, struct zerr *e)
{
    size_t tag_len = tag ? strlen(tag) : 0;
    if (tag_len == 0 || tag_len > TAG_MAX) {
        p9_server_free(s);
        return zerr_set(e, EINVAL, "9p: mount tag \"%s\" must be 1..%d bytes", tag ? tag : "", TAG_MAX);
    }
    struct v9p *p = calloc(1, sizeof *p);
    if (!p || !(p->req = malloc(MSG_MAX)) || !(p->resp = malloc(MSG_MAX))) {
        if (p) {
            free(p->req);
            free(p);
        }
        p9_server_free(s);
        return zerr_set(e, ENOMEM, "9p: out of memory");
    }
    p->server = s;
    p->tag_len = (uint16_t)tag_len;
    memcpy(p->tag, tag, tag_len);
    if (vmm_iothread_new("zone-vmm-9p", &p->thread, e) < 0 || !(p->kick = vmm_io_add_event(p->thread, kicked, p, e))) {
        v9p_destroy(p);
        return zerr_prefix(e, "9p %s", tag);
    }
    *out = (struct vmm_virtio_backend){ .ops = &v9p_ops, .opaque = p };
    return 0;
}

int vmm_add_9p(struct vmm *vm, const char *tag, const char *host_dir, bool read_only, struct zerr *e)
{
    struct p9_config cfg = { .root = host_dir, .read_only = read_only };
    struct p9_server *s;
    struct vmm_virtio_backend b;
    if (p9_server_new(&cfg, &s, e) < 0)
        return zerr_prefix(e, "9p share %s", host_dir);
    if (vmm_virtio_9p_new(tag, s, &b, e) < 0 || vmm_virtio_add(vm, b, e) < 0)
        return -1;
    return 0;
}
