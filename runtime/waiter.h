/* Waiting for a container process in the foreground (`run`, `exec`):
 * forwards signals to it, relays a terminal, returns its exit status. */
#ifndef ZONE_RUNTIME_WAITER_H
#define ZONE_RUNTIME_WAITER_H

#include <signal.h>
#include <sys/types.h>

#include "core/error.h"

/* Blocks the signals the waiter forwards; call before the process is
 * created so none is lost. Returns the previous mask in *old. */
void zwait_block_signals(sigset_t *old);
/* Waits for pid (our child, or reparented to us as subreaper). When
 * tty_master >= 0, relays stdin/stdout through it (stdin in raw mode if it
 * is a terminal) and propagates window size changes. Exit status is the
 * process's exit code, or 128+signal. */
int zwait_process(pid_t pid, int tty_master, int *exit_status, struct zerr *e);

#endif
