/* zone-agent: PID 1 of zone's microVM guest. It boots the guest into the
 * container's root (boot.c, modules.c), then serves the host's control
 * protocol (vm-sandbox/proto/control.h) over vsock: runs the main process
 * and exec sessions (spawn.c, session.c, serve.c), reaps every zombie,
 * and stops the VM when the main process is gone.
 *
 * Built as its own static binary (no NSS: ids are numeric, the host
 * resolves names). Messages go to the kernel log (/dev/kmsg) in a VM and
 * to stderr in --serve test mode. */
#ifndef ZONE_VM_GUEST_AGENT_H
#define ZONE_VM_GUEST_AGENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "core/error.h"
#include "vm-sandbox/proto/bootargs.h"
#include "vm-sandbox/proto/control.h"

#define AGENT_SOFTWARE "zone-agent " ZONE_VERSION
#define AGENT_MAX_SESSIONS 64
#define AGENT_MAX_CONNS 64            /* stdio streams not yet claimed by a session */
#define AGENT_STREAM_WAIT_MS 10000    /* for a session's streams, and a stream's STDIO message */
#define AGENT_DRAIN_MS 2000           /* for a pty's last output after its process exited */
#define AGENT_BYE_WAIT_MS 5000        /* for the host's SHUTDOWN (or EOF) after EXIT */
#define RELAY_BUF 16384

/* One direction of a terminal relay: from -> buffer -> to. */
struct relay {
    int from, to;           /* -1: nothing there (output is then discarded) */
    uint8_t buf[RELAY_BUF];
    size_t off, len;
    bool eof;               /* from ended (EOF, EIO, or error) */
};

enum session_state {
    SESSION_FREE,
    SESSION_WAITING,    /* its STDIO streams are not all attached yet */
    SESSION_RUNNING,
    SESSION_EXITED,     /* reaped; the pty's output is being drained */
};

struct session {
    enum session_state state;
    uint32_t id;                 /* 0: the main process */
    struct ctl_process proc;     /* owned while WAITING */
    int streams[3];              /* attached vsock streams, -1 when none */
    pid_t pid;
    int status;
    int master;                  /* pty master, -1 without a terminal */
    struct relay in, out;        /* terminal only: input -> master, master -> output */
    bool console_input;          /* in.from is the console */
    struct timespec deadline;
};

/* An accepted stdio stream: before its STDIO message (identified false),
 * then waiting for its session's EXEC. */
struct conn {
    int fd;
    bool identified;
    uint32_t session;
    uint32_t stream;
    struct timespec deadline;
};

struct agent {
    bool vm;                 /* PID 1 of a VM (else --serve test mode) */
    bool vsock;              /* stdio listener is vsock: peers must be the host */
    bool debug;
    int kmsg_fd;             /* -1 in test mode: log to stderr */
    int control_fd;
    int listen_fd;
    int console_fd;          /* the console for processes (blocking), -1 if none */
    int console_relay_fd;    /* the console for relays (non-blocking where possible) */
    int sigchld_fd;          /* signalfd */
    struct boot_args boot;
    struct session sessions[AGENT_MAX_SESSIONS];
    struct conn conns[AGENT_MAX_CONNS];
    bool hello_received;
    bool started;            /* START handled (main spawned or waiting for streams) */
    bool main_exited;        /* main reaped; everything else is being killed */
    int main_status;
    bool main_done;          /* ... and its terminal output drained */
    bool children_left;      /* as of the last reap */
    bool fatal;              /* the main process cannot run: ERROR sent, stop */
    bool exit_sent;
    struct timespec bye_deadline;
};

/* log.c */
void agent_log(struct agent *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void agent_debug(struct agent *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void agent_send_error(struct agent *a, uint32_t session, const struct zerr *e);

/* boot.c: the VM boot sequence, in order */
int boot_early_mounts(struct agent *a, struct zerr *e);
int boot_read_cmdline(struct agent *a, struct zerr *e);
int boot_open_console(struct agent *a, struct zerr *e);
int boot_vsock_listen(struct agent *a, struct zerr *e);
int boot_vsock_connect(struct agent *a, struct zerr *e);
int boot_switch_root(struct agent *a, struct zerr *e);
/* After START: the START message's mounts, root read-only, hostname. */
int boot_finish_root(struct agent *a, const struct ctl_msg *start, struct zerr *e);
/* sync + reboot(RB_AUTOBOOT); in test mode exit(test_exit_code). */
void boot_stop_vm(struct agent *a, int test_exit_code) __attribute__((noreturn));

/* mounts.c */
int mkdir_p(const char *path, mode_t mode, struct zerr *e);
int mount_9p(const char *tag, const char *target, bool read_only, const struct boot_args *b, struct zerr *e);
int mount_container_fs(struct zerr *e);

/* modules.c */
int modules_load(struct agent *a, const char *list_path, struct zerr *e);

/* spawn.c */
struct spawn_req {
    const struct ctl_process *proc;
    int fds[3];            /* stdin, stdout, stderr; -1: /dev/null (ignored with a terminal) */
    bool terminal;
};
/* Starts the process; with a terminal, *master gets the pty master. */
int spawn_process(const struct spawn_req *r, pid_t *pid, int *master, struct zerr *e);

/* session.c */
struct session *session_find(struct agent *a, uint32_t id);
/* Takes proc over (zeroes it); claims streams that came before the EXEC.
 * The caller then calls session_try_start. */
int session_create(struct agent *a, uint32_t id, struct ctl_process *proc, struct session **out,
                   struct zerr *e);
void session_try_start(struct agent *a, struct session *s);
void session_attach_conn(struct agent *a, struct conn *c);
void session_reaped(struct agent *a, struct session *s, int status);
void session_finish(struct agent *a, struct session *s);
void session_close(struct session *s);
int session_signal(struct agent *a, uint32_t id, uint32_t signo, bool all, struct zerr *e);
int session_resize(struct agent *a, uint32_t id, uint16_t rows, uint16_t cols, struct zerr *e);
void relay_pump(struct relay *r, short from_events, short to_events);

/* serve.c: 0 when EXIT was sent and the host said goodbye (or did not in
 * time); 1 on SHUTDOWN or when the host went away; -1 when the container
 * could not start (ERROR sent). The caller kills what is left and stops. */
int agent_serve(struct agent *a);

/* time helpers */
struct timespec deadline_in(unsigned ms);
bool deadline_passed(const struct timespec *t);
int deadline_poll_ms(const struct timespec *t);   /* ms until t, >= 0 */

#endif
