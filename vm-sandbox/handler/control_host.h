/* Host side of zone-agent's control protocol, shared by the monitor
 * (handler.c) and the exec client (exec_client.c). */
#ifndef ZONE_VM_HANDLER_CONTROL_HOST_H
#define ZONE_VM_HANDLER_CONTROL_HOST_H

#include <stdint.h>

#include "core/error.h"
#include "core/spec.h"
#include "vm-sandbox/handler/handler.h"
#include "vm-sandbox/proto/control.h"

/* Connects to the vsock device's host socket uds and, through it, to the
 * agent's stdio port; sends the STDIO message for (session, stream).
 * Returns the stream's fd (raw bytes from now on). */
int zvm_open_stream(const char *uds, uint32_t session, uint32_t stream, struct zerr *e);

/* Fills out from an OCI process (pointers into p and env, which must
 * outlive out; groups and rlimits are allocated: zvm_process_release).
 * hostname may be NULL. stdio: enum ctl_stdio_mode for fds 0-2. */
int zvm_process_msg(const struct zspec_process *p, const struct zvm_resolved *caps, char *const *env,
                    const char *hostname,
                    const uint8_t stdio[3], struct ctl_process *out, struct zerr *e);
void zvm_process_release(struct ctl_process *out);

/* How fd travels to the guest: /dev/null or a closed fd as CTL_STDIO_NULL
 * (the guest opens its own /dev/null), anything else as a stream. */
uint8_t zvm_stdio_mode(int fd);

/* Connects a SOCK_STREAM unix socket to path. */
int zvm_connect_unix(const char *path, struct zerr *e);

/* Exit code for a wait status: the code, or 128+N for signal N. */
int zvm_exit_code(uint32_t status);

#endif
