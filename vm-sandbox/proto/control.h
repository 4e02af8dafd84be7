/* The control protocol between the host (the VM monitor's runtime side) and
 * zone-agent, PID 1 of the guest, over vsock streams.
 *
 * Every message is a 16-byte header and a payload of at most
 * CTL_PAYLOAD_MAX bytes, all little endian:
 *
 *   u32 magic "ZCTL" | u16 version (CTL_VERSION) | u16 type | u32 session | u32 length
 *
 * session 0 is the container's main process (START); EXEC sessions use ids
 * the host picks (non-zero). Payload fields are fixed-size integers,
 * strings (u32 length + bytes, no NUL, at most CTL_STRING_MAX) and counted
 * lists (u32 count + items, each list with its own bound). The decoder is
 * strict: every length is checked against the buffer and the limits, the
 * payload must be consumed exactly, reserved bits must be zero, and values
 * are checked for what they mean (absolute cwd, NAME=value environment,
 * known rlimit resources, soft <= hard, signal numbers, stdio modes) so
 * that whoever acts on a decoded message can trust its shape. The encoder
 * applies the same checks, so a peer never receives what it would refuse.
 *
 * Ports (vsock, guest side): the agent connects to the host (CID 2) on
 * CTL_PORT_CONTROL for the control stream, and listens on CTL_PORT_STDIO
 * for stdio streams. A stdio stream starts with one STDIO message naming
 * its session and which of stdin/stdout/stderr it carries; after it, the
 * stream is raw bytes. See docs/vm.md "Guest agent and control protocol". */
#ifndef ZONE_VM_PROTO_CONTROL_H
#define ZONE_VM_PROTO_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define CTL_MAGIC 0x4c54435au /* "ZCTL" in memory order */
#define CTL_VERSION 1
#define CTL_HEADER_SIZE 16
#define CTL_PAYLOAD_MAX (1u << 20)
#define CTL_STRING_MAX (128u * 1024)   /* the kernel's MAX_ARG_STRLEN */
#define CTL_ARGS_MAX 4096
#define CTL_ENV_MAX 4096
#define CTL_GROUPS_MAX 65536           /* NGROUPS_MAX */
#define CTL_RLIMITS_MAX 16             /* RLIMIT_NLIMITS */
#define CTL_MOUNTS_MAX 64
#define CTL_HOSTNAME_MAX 64            /* HOST_NAME_MAX */
#define CTL_ERROR_MAX 4096
#define CTL_SOFTWARE_MAX 128
#define CTL_SECCOMP_MAX (4096u * 8)    /* BPF_MAXINSNS instructions of 8 bytes */
/* seccomp(2) filter flags a program may carry: TSYNC, LOG, SPEC_ALLOW. */
#define CTL_SECCOMP_FLAGS_ALL ((1u << 0) | (1u << 1) | (1u << 2))

#define CTL_PORT_CONTROL 1024u  /* host CID 2: the agent connects here */
#define CTL_PORT_STDIO 1025u    /* guest: the agent listens here */
#define CTL_HOST_CID 2u

enum ctl_type {
    CTL_HELLO = 1,        /* both ways, first message: protocol version, software */
    CTL_START = 2,        /* host -> agent: extra mounts + the main process */
    CTL_STARTED = 3,      /* agent -> host: pid of the main process */
    CTL_SIGNAL = 4,       /* host -> agent: signal a session's process (or all of it) */
    CTL_EXIT = 5,         /* agent -> host: main process wait status; the VM stops next */
    CTL_EXEC = 6,         /* host -> agent: a new session (session id != 0) */
    CTL_EXEC_STARTED = 7, /* agent -> host: pid of the session's process */
    CTL_EXEC_EXIT = 8,    /* agent -> host: the session's wait status */
    CTL_RESIZE = 9,       /* host -> agent: terminal size of a session */
    CTL_SHUTDOWN = 10,    /* host -> agent: kill everything, sync, stop the VM */
    CTL_ERROR = 11,       /* agent -> host: what failed (session 0: before the main process ran) */
    CTL_STDIO = 12,       /* host -> agent, first message of a stdio stream */
    CTL_TYPE_MAX = CTL_STDIO,
};

/* Where a process's stdin, stdout or stderr goes. */
enum ctl_stdio_mode {
    CTL_STDIO_NULL = 0,    /* /dev/null */
    CTL_STDIO_CONSOLE = 1, /* /dev/hvc0, the VM's virtio console */
    CTL_STDIO_STREAM = 2,  /* a vsock stream the host attaches with a STDIO message */
};

enum ctl_stream { CTL_STREAM_STDIN = 0, CTL_STREAM_STDOUT = 1, CTL_STREAM_STDERR = 2 };

/* struct ctl_process.flags */
#define CTL_PROC_TERMINAL (1u << 0)      /* a pty: stdin feeds it, stdout gets it */
#define CTL_PROC_NO_NEW_PRIVS (1u << 1)
#define CTL_PROC_CAPS (1u << 2)          /* apply the capability sets below */
#define CTL_PROC_FLAGS_ALL (CTL_PROC_TERMINAL | CTL_PROC_NO_NEW_PRIVS | CTL_PROC_CAPS)

/* struct ctl_signal.flags */
#define CTL_SIGNAL_ALL (1u << 0)  /* every process of the session (main: all of the guest) */

/* struct ctl_mount.flags */
#define CTL_MOUNT_RDONLY (1u << 0)

struct ctl_rlimit {
    uint32_t resource;    /* RLIMIT_* (< 16) */
    uint64_t soft, hard;  /* UINT64_MAX = unlimited */
};

/* A 9p share the agent mounts inside the container's root before START's
 * process runs. */
struct ctl_mount {
    char *tag;            /* virtio-9p mount tag, 1..31 bytes */
    char *target;         /* absolute path inside the container */
    uint32_t flags;
};

struct ctl_process {
    uint32_t flags;
    uint32_t uid, gid;
    uint32_t umask;               /* <= 0777 */
    uint16_t rows, cols;          /* initial terminal size (0: leave) */
    uint8_t stdio[3];             /* enum ctl_stdio_mode for stdin, stdout, stderr */
    uint64_t cap_bounding, cap_effective, cap_permitted, cap_inheritable, cap_ambient;
    char *cwd;                    /* absolute */
    char *hostname;               /* "" = leave; applied by START only */
    char **args;                  /* nargs >= 1 */
    uint32_t nargs;
    char **env;                   /* each "NAME=value" */
    uint32_t nenv;
    uint32_t *groups;             /* additional gids */
    uint32_t ngroups;
    struct ctl_rlimit *rlimits;
    uint32_t nrlimits;
    /* linux.seccomp compiled by the host: a classic BPF program (struct
     * sock_filter[], seccomp_len bytes, a multiple of 8; 0 = none) the agent
     * loads with seccomp(2) and seccomp_flags, as the runtime's init does */
    uint8_t *seccomp;
    uint32_t seccomp_len;
    uint32_t seccomp_flags;
};

struct ctl_msg {
    uint16_t type;
    uint32_t session;
    union {
        struct { uint32_t version; char *software; } hello;
        struct { struct ctl_mount *mounts; uint32_t nmounts; struct ctl_process proc; } start;
        struct ctl_process exec;
        struct { uint32_t pid; } started;                 /* STARTED, EXEC_STARTED */
        struct { uint32_t signo; uint32_t flags; } signal;
        struct { uint32_t status; } exit;                 /* EXIT, EXEC_EXIT: as from waitpid */
        struct { uint16_t rows, cols; } resize;
        struct { int32_t code; char *message; } error;    /* code: errno value or 0 */
        struct { uint32_t stream; } stdio;                /* enum ctl_stream */
    } u;
};

struct ctl_header {
    uint16_t type;
    uint32_t session;
    uint32_t length;
};

const char *ctl_type_name(unsigned type);

/* Checks the first CTL_HEADER_SIZE bytes of buf: magic, version, known
 * type, length <= CTL_PAYLOAD_MAX, and the session rules of the type. */
int ctl_decode_header(const uint8_t *buf, size_t len, struct ctl_header *h, struct zerr *e);

/* Decodes exactly one whole message (len == CTL_HEADER_SIZE + its length).
 * On success *m owns allocated strings: release with ctl_msg_free. On
 * failure nothing is left allocated and *m is zeroed. */
int ctl_decode(const uint8_t *buf, size_t len, struct ctl_msg *m, struct zerr *e);

/* Validates m and encodes it into a new buffer (*out, *out_len); the caller
 * frees *out. */
int ctl_encode(const struct ctl_msg *m, uint8_t **out, size_t *out_len, struct zerr *e);

void ctl_msg_free(struct ctl_msg *m);
void ctl_process_free(struct ctl_process *p);

/* ---- blocking stream I/O (control_io.c) ---- */

/* Encodes and writes one message, retrying short writes and EINTR. */
int ctl_send(int fd, const struct ctl_msg *m, struct zerr *e);

/* Reads exactly one message (never a byte past it). Returns 0 with *m
 * filled, 1 on end of stream before the first byte of a message, -1 on an
 * error (including end of stream inside a message). */
int ctl_recv(int fd, struct ctl_msg *m, struct zerr *e);

/* A description of a wait status: "exit code 3", "signal 9 (core dumped)". */
void ctl_describe_status(uint32_t status, char *buf, size_t cap);

#endif
