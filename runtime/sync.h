/* The channel between the runtime (parent) and a container's init while the
 * container is set up: a SOCK_SEQPACKET socketpair carrying small typed
 * messages, an optional text payload and an optional fd (SCM_RIGHTS). */
#ifndef ZONE_RUNTIME_SYNC_H
#define ZONE_RUNTIME_SYNC_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

enum zsync_type {
    ZSYNC_GO = 1,          /* parent -> init: ids mapped, cgroups made; fds =
                              the v1 `tasks` files to join (see init.c) */
    ZSYNC_PID,             /* intermediate -> parent: value = init pid */
    ZSYNC_HOOKS,           /* init -> parent: mounts done, run createRuntime hooks */
    ZSYNC_HOOKS_DONE,      /* parent -> init: prestart/createRuntime ran */
    ZSYNC_SECCOMP_FD,      /* init -> parent: fd = seccomp notify fd */
    ZSYNC_SECCOMP_DONE,    /* parent -> init */
    ZSYNC_READY,           /* init -> parent: waiting on the exec FIFO */
    ZSYNC_ERROR,           /* init -> parent: value = errno, payload = message */
};

#define ZSYNC_PAYLOAD_MAX 16384
#define ZSYNC_FDS_MAX 32

struct zsync_msg {
    uint32_t type;
    int32_t value;
    int fd;                /* -1 when none; else fds[0] */
    int fds[ZSYNC_FDS_MAX];
    size_t n_fds;
    size_t len;
    char payload[ZSYNC_PAYLOAD_MAX];
};

int zsync_pair(int fds[2], struct zerr *e);
int zsync_send(int sock, uint32_t type, int32_t value, const char *payload,
               int fd, struct zerr *e);
/* zsync_send with n (at most ZSYNC_FDS_MAX) fds. */
int zsync_send_fds(int sock, uint32_t type, int32_t value, const char *payload,
                   const int *fds, size_t n, struct zerr *e);
/* Closes the fds a received message carries. */
void zsync_msg_close_fds(struct zsync_msg *m);
/* Receives one message. A closed peer reads as EPIPE "init exited". */
int zsync_recv(int sock, struct zsync_msg *m, struct zerr *e);
/* Receives and checks the type; an ZSYNC_ERROR from the peer is turned into
 * this side's error. */
int zsync_expect(int sock, uint32_t type, struct zsync_msg *m, struct zerr *e);
/* Sends a struct zerr as ZSYNC_ERROR (best effort, from the init side). */
void zsync_send_error(int sock, const struct zerr *err);

#endif
