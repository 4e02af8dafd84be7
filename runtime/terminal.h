/* The container's terminal: a pty pair made inside the container's devpts,
 * the master handed to the engine over --console-socket (runc protocol),
 * the slave made the controlling terminal of the container process. */
#ifndef ZONE_RUNTIME_TERMINAL_H
#define ZONE_RUNTIME_TERMINAL_H

#include "core/error.h"

/* The message payload sent along with the master fd, as runc does (its
 * utils.SendFile sends the file's name; recvtty, containerd and conmon take
 * the fd from SCM_RIGHTS and ignore or log the name). */
#define ZTERM_MASTER_NAME "/dev/ptmx"

/* In the container init, after the container's /dev/pts is mounted (the
 * caller decides when): opens a new pty pair from ptmx_path (NULL:
 * "/dev/ptmx"), unlocks it and opens the slave through the master
 * (TIOCGPTPEER, so the slave comes from the same devpts instance even if
 * /dev/pts were swapped; /dev/pts/N by number on kernels < 4.13).
 * Both fds are O_CLOEXEC; the master also O_NOCTTY. *slave_path (malloc'd,
 * may be NULL if not wanted) is the slave's path in our mount namespace,
 * e.g. "/dev/pts/0": the caller bind-mounts it on /dev/console. Set the
 * window size with zterm_set_size (process.consoleSize). */
int zterm_open_pty(const char *ptmx_path, int *master, int *slave,
                   char **slave_path, struct zerr *e);

/* Connects to the unix socket at console_socket_path and sends master with
 * SCM_RIGHTS and ZTERM_MASTER_NAME as the payload. */
int zterm_send_master(const char *console_socket_path, int master,
                      struct zerr *e);
/* The same on an already-connected socket. */
int zterm_send_master_fd(int sock_fd, int master, struct zerr *e);

/* Makes slave the controlling terminal and stdin/stdout/stderr of the
 * calling process: setsid() (unless already a session leader), TIOCSCTTY,
 * dup2 onto 0, 1, 2. slave stays open: the caller closes it when > 2. */
int zterm_make_controlling(int slave, struct zerr *e);

/* TIOCSWINSZ on a pty master or slave. */
int zterm_set_size(int fd, unsigned rows, unsigned cols, struct zerr *e);

#endif
