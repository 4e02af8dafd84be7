/* Virtio devices (virtio 1.x): the interface between a device backend
 * (console, vsock, 9p: what the device does) and the transport that puts
 * it on the guest's bus (virtio_pci.c: registers, feature negotiation,
 * status, queues, interrupts).
 *
 * A backend is an ops table plus an opaque pointer. The transport owns
 * the queues: it sets them up from what the driver wrote (vmm_vq_init),
 * calls activate when the driver sets DRIVER_OK, queue_notify when the
 * driver kicks a queue (on the kicking vCPU's thread), and reset when the
 * driver writes status 0. Between activate and reset the backend may use
 * vmm_virtio_queue and vmm_virtio_signal from any thread, serialising its
 * own use of each queue. reset must return only once the backend no
 * longer touches the queues (the driver may free the rings next). */
#ifndef ZONE_VMM_VIRTIO_H
#define ZONE_VMM_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "vm-sandbox/vmm/virtqueue.h"

#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_9P      9
#define VIRTIO_ID_VSOCK   19

#define VIRTIO_F_INDIRECT_DESC (1ULL << 28)
#define VIRTIO_F_VERSION_1     (1ULL << 32)

#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER      2
#define VIRTIO_STATUS_DRIVER_OK   4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED      128

#define VMM_VIRTIO_MAX_QUEUES 8

struct vmm_virtio_dev;
struct vmm_iothread;

struct vmm_virtio_ops {
    const char *name;
    uint16_t device_type;            /* VIRTIO_ID_* */
    uint32_t pci_class;              /* PCI class code (class, subclass, prog-if) */
    uint64_t features;               /* device-specific bits; the transport adds VERSION_1 and INDIRECT_DESC */
    unsigned num_queues;             /* 1..VMM_VIRTIO_MAX_QUEUES */
    uint16_t queue_size;             /* the largest size offered, a power of two */
    uint32_t config_size;            /* bytes of device-specific config, <= 4096 */
    /* [off, off+len) lies inside config_size; a read fills buf. */
    void (*config_read)(void *b, uint32_t off, void *buf, uint32_t len);
    int (*config_write)(void *b, uint32_t off, const void *buf, uint32_t len, struct zerr *e);
    /* DRIVER_OK: the queues the driver enabled are ready; features are the
     * negotiated set. d stays valid as long as the backend lives. */
    int (*activate)(void *b, struct vmm_virtio_dev *d, uint64_t features, struct zerr *e);
    int (*queue_notify)(void *b, unsigned queue, struct zerr *e);
    void (*reset)(void *b);
    void (*destroy)(void *b);
};

struct vmm_virtio_backend {
    const struct vmm_virtio_ops *ops;
    void *opaque;
};

/* ---- transport services for backends ---- */

/* The queue, or NULL when the driver did not enable it. */
struct vmm_vq *vmm_virtio_queue(struct vmm_virtio_dev *d, unsigned queue);

/* After pushing used buffers: interrupts the guest unless the driver
 * asked for no interrupts on this queue. */
int vmm_virtio_signal(struct vmm_virtio_dev *d, unsigned queue, struct zerr *e);

/* The device's config space changed: bumps config_generation and sends a
 * configuration-change interrupt. */
int vmm_virtio_config_changed(struct vmm_virtio_dev *d, struct zerr *e);

/* Records an error met outside a guest access (an I/O thread), for
 * struct vmm_stop's device error count. */
void vmm_virtio_report(struct vmm_virtio_dev *d, const struct zerr *err);

/* ---- device backends (virtio_console.c, virtio_vsock.c, virtio_9p.c) ---- */

/* hvc0: guest output to out_fd (written from the vCPU that kicks the
 * queue), in_fd to guest input, watched on io; neither fd is closed. */
int vmm_virtio_console_new(struct vmm_iothread *io, int in_fd, int out_fd, struct vmm_virtio_backend *out,
                           struct zerr *e);

/* vsock with the host side on unix sockets (see vmm.h for the protocol);
 * all of it runs on io. */
struct vmm_vsock_config;
int vmm_virtio_vsock_new(struct vmm_iothread *io, const struct vmm_vsock_config *c, struct vmm_virtio_backend *out,
                         struct zerr *e);

/* 9P2000.L over virtio for the p9 server s (owned from now on, even on
 * failure), found in the guest by mount tag; requests run on a thread of
 * the device's own. */
struct p9_server;
int vmm_virtio_9p_new(const char *tag, struct p9_server *s, struct vmm_virtio_backend *out, struct zerr *e);

#endif
