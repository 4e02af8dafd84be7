/* A host I/O thread: one epoll loop on which devices wait for host fds
 * (console input, vsock sockets) and do queue work off the vCPU threads.
 * The VM shares one (vmm_impl.h); a device that may block for long (9p
 * file I/O) runs its own.
 *
 * Callbacks run on the thread, one at a time, so a device whose every
 * entry point runs there needs no lock of its own: a vCPU's queue notify
 * becomes vmm_io_signal on an event source, and reset/activate go
 * through vmm_iothread_call, which runs a function there and waits.
 * A source deleted with vmm_io_del is never called again once the call
 * returns, even for events already collected in the same batch. Never
 * hold a lock that a callback takes while calling vmm_iothread_call or
 * vmm_io_del from another thread. */
#ifndef ZONE_VMM_IOTHREAD_H
#define ZONE_VMM_IOTHREAD_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"

struct vmm_iothread;
struct vmm_io_source;

/* events: EPOLLIN/EPOLLOUT/... as epoll reported them (0 for event sources). */
typedef void (*vmm_io_fn)(void *opaque, uint32_t events);

/* Starts the thread (named name, every signal blocked). */
int vmm_iothread_new(const char *name, struct vmm_iothread **out, struct zerr *e);

/* Stops and joins the thread; pending calls run on the caller instead.
 * Sources stay registered (and may be deleted) until vmm_iothread_free. */
void vmm_iothread_stop(struct vmm_iothread *t);

/* Stops the thread and frees it with the sources still registered (it
 * closes the eventfds it made, never the caller's fds). */
void vmm_iothread_free(struct vmm_iothread *t);

/* Watches fd for events (EPOLL* flags; 0 registers it disabled). The fd
 * stays the caller's. Fails with EPERM for fds epoll cannot watch
 * (regular files, /dev/null). */
struct vmm_io_source *vmm_io_add_fd(struct vmm_iothread *t, int fd, uint32_t events, vmm_io_fn fn,
                                    void *opaque, struct zerr *e);

/* An eventfd owned by the source: vmm_io_signal from any thread makes fn
 * run on the I/O thread (signals coalesce). */
struct vmm_io_source *vmm_io_add_event(struct vmm_iothread *t, vmm_io_fn fn, void *opaque, struct zerr *e);

int vmm_io_set_events(struct vmm_io_source *s, uint32_t events, struct zerr *e);
void vmm_io_signal(struct vmm_io_source *s);
int vmm_io_source_fd(const struct vmm_io_source *s);

/* Unregisters and frees the source (from any thread; see above). */
void vmm_io_del(struct vmm_io_source *s);

/* Runs fn(arg) on the I/O thread and waits for it; runs it directly when
 * called from the thread itself or when the thread is stopped. */
void vmm_iothread_call(struct vmm_iothread *t, void (*fn)(void *arg), void *arg);

bool vmm_iothread_is_current(const struct vmm_iothread *t);

#endif
