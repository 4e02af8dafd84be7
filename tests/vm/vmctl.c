/* vmctl: the host side of zone-agent's control protocol, for tests, and
 * the initramfs builder on the command line.
 *
 *   vmctl initramfs --agent BIN --cache DIR [--release R] [--modules-dir D] [--boot-dir D]
 *   vmctl run TRANSPORT [STDIO] [PROCESS...] [ACTIONS...] -- ARGS...
 *
 * TRANSPORT: --listen PATH      accept the agent's control connection on a
 *                               unix socket (a VM's "<uds>_1024")
 *            --agent BIN [--agent-root DIR] [--agent-debug]
 *                               run BIN --serve under unshare (PID, mount
 *                               and UTS namespaces) over socketpairs, with
 *                               a unix stdio listener and a socketpair console
 * STDIO:     --stdio-vsock UDS  stdio streams through a Firecracker-style
 *                               vsock socket ("CONNECT 1025\n" -> "OK ...\n")
 * PROCESS:   --uid N --gid N --groups A,B --cwd D --env K=V --umask OCT
 *            --hostname H --rlimit RES=SOFT:HARD (RES a number) --tty
 *            --size RxC --no-new-privs --caps BND,EFF,PRM,INH,AMB (hex)
 *            --stdin/--stdout/--stderr null|console|stream
 *            --mount TAG:/PATH[:ro] --stdin-data TEXT
 * ACTIONS:   --exec CMD (sh -c CMD as an exec session; repeatable)
 *            --exec-ms MS (delay before the exec sessions start)
 *            --signal N [--signal-all] [--signal-ms MS] --resize RxC
 *            --timeout S --stamps (prefix events with ms since vmctl started)
 *
 * Prints the protocol events on stderr ("vmctl: STARTED pid 12", "vmctl:
 * EXIT exit code 3", "vmctl: ERROR session 0: ..."), the processes' stdout
 * streams and the console on stdout, stderr streams on stderr. Exits with
 * the main process's exit code (128+N for signal N), 125 when the agent
 * sent ERROR or broke the protocol, 124 on timeout. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vm-sandbox/initramfs/initramfs.h"
#include "vm-sandbox/proto/control.h"

#define MAX_EXECS 8
#define MAX_LIST 64

static void __attribute__((noreturn, format(printf, 2, 3))) die(int code, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "vmctl: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(code);
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static double t_start;
static bool stamps;

static void __attribute__((format(printf, 1, 2))) event(const char *fmt, ...)
{
    va_list ap;
    if (stamps)
        fprintf(stderr, "[%9.1f ms] ", now_ms() - t_start);
    fprintf(stderr, "vmctl: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* ---- initramfs ---- */

static int cmd_initramfs(int argc, char **argv)
{
    struct initramfs_config c = { 0 };
    struct initramfs_result r;
    struct zerr e = { 0 };
    static const struct option lo[] = {
        { "agent", 1, 0, 'a' }, { "cache", 1, 0, 'c' }, { "release", 1, 0, 'r' },
        { "modules-dir", 1, 0, 'm' }, { "boot-dir", 1, 0, 'b' }, { 0, 0, 0, 0 },
    };
    int o;
    while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (o) {
        case 'a': c.agent_path = optarg; break;
        case 'c': c.cache_dir = optarg; break;
        case 'r': c.release = optarg; break;
        case 'm': c.modules_dir = optarg; break;
        case 'b': c.boot_dir = optarg; break;
        default: return 2;
        }
    }
    if (initramfs_build(&c, &r, &e) < 0)
        die(1, "%s", e.msg);
    printf("path=%s\nrelease=%s\nkernel=%s\nmodules=%u\nreused=%d\n", r.path, r.release, r.kernel, r.nmodules,
           r.reused);
    return 0;
}

/* ---- run ---- */

struct stream {
    int fd;
    int out_fd;          /* where its bytes go (1 or 2) */
    uint32_t session;
};

struct run {
    int control;
    int console;               /* agent mode */
    pid_t agent_pid;
    char stdio_unix[108];      /* agent mode: the stdio listener */
    const char *stdio_vsock;
    struct stream streams[2 + 2 * MAX_EXECS];
    unsigned nstreams;
    const char *execs[MAX_EXECS];
    unsigned nexecs, execs_done;
    bool execs_sent;
    double exec_ms;
    int signo;
    bool signal_all, signal_sent;
    double signal_ms;
    uint16_t resize_rows, resize_cols;
    const char *stdin_data;
    double started_at;
    bool exited;
    uint32_t exit_status;
    bool error;
};

static int connect_unix(const char *path)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || strlen(path) >= sizeof a.sun_path)
        die(125, "socket %s: %s", path, strerror(errno));
    strcpy(a.sun_path, path);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
        die(125, "connect %s: %s", path, strerror(errno));
    return fd;
}

static int open_stream(struct run *r, uint32_t session, uint32_t which)
{
    struct ctl_msg m = { .type = CTL_STDIO, .session = session, .u.stdio.stream = which };
    struct zerr e;
    int fd = -1;
    if (r->stdio_vsock) {
        char line[64];
        size_t n = 0;
        fd = connect_unix(r->stdio_vsock);
        dprintf(fd, "CONNECT %u\n", CTL_PORT_STDIO);
        /* byte by byte: nothing after the newline belongs to us */
        while (n + 1 < sizeof line && read(fd, line + n, 1) == 1 && line[n] != '\n')
            n++;
        line[n] = '\0';
        if (strncmp(line, "OK ", 3))
            die(125, "vsock stdio connect: got \"%s\"", line);
    } else if (r->stdio_unix[0]) {
        fd = connect_unix(r->stdio_unix);
    } else {
        die(2, "stdio streams need --stdio-vsock or --agent");
    }
    if (ctl_send(fd, &m, &e) < 0)
        die(125, "%s", e.msg);
    return fd;
}

static void add_stream(struct run *r, int fd, int out_fd, uint32_t session)
{
    r->streams[r->nstreams++] = (struct stream){ fd, out_fd, session };
}

static void send_msg(struct run *r, const struct ctl_msg *m)
{
    struct zerr e;
    if (ctl_send(r->control, m, &e) < 0)
        die(125, "%s", e.msg);
}

static void start_execs(struct run *r)
{
    for (unsigned i = 0; i < r->nexecs; i++) {
        char *args[] = { "sh", "-c", (char *)r->execs[i], NULL };
        char *env[] = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL };
        struct ctl_msg m = { .type = CTL_EXEC, .session = i + 1 };
        m.u.exec = (struct ctl_process){
            .cwd = "/", .hostname = "", .args = args, .nargs = 3, .env = env, .nenv = 1,
            .umask = 022, .stdio = { CTL_STDIO_NULL, CTL_STDIO_STREAM, CTL_STDIO_STREAM },
        };
        /* streams first, then EXEC: the agent takes them in either order */
        add_stream(r, open_stream(r, i + 1, CTL_STREAM_STDOUT), 1, i + 1);
        add_stream(r, open_stream(r, i + 1, CTL_STREAM_STDERR), 2, i + 1);
        send_msg(r, &m);
    }
    r->execs_sent = true;
}

static bool pump(int from, int to)
{
    char buf[8192];
    ssize_t n = read(from, buf, sizeof buf);
    if (n <= 0)
        return false;
    if (write(to, buf, (size_t)n) < 0) {
        /* the test reads what it gets */
    }
    return true;
}

static void handle(struct run *r, struct ctl_msg *m)
{
    char what[64];
    switch (m->type) {
    case CTL_HELLO:
        event("HELLO %s (protocol %u)", m->u.hello.software, m->u.hello.version);
        break;
    case CTL_STARTED:
        event("STARTED pid %u", m->u.started.pid);
        r->started_at = now_ms();
        if (r->resize_rows) {
            struct ctl_msg rs = { .type = CTL_RESIZE, .u.resize = { r->resize_rows, r->resize_cols } };
            send_msg(r, &rs);
        }
        break;
    case CTL_EXEC_STARTED:
        event("EXEC_STARTED session %u pid %u", m->session, m->u.started.pid);
        break;
    case CTL_EXEC_EXIT:
        ctl_describe_status(m->u.exit.status, what, sizeof what);
        event("EXEC_EXIT session %u %s", m->session, what);
        r->execs_done++;
        break;
    case CTL_EXIT:
        ctl_describe_status(m->u.exit.status, what, sizeof what);
        event("EXIT %s", what);
        r->exited = true;
        r->exit_status = m->u.exit.status;
        break;
    case CTL_ERROR:
        event("ERROR session %u: %s", m->session, m->u.error.message);
        if (m->session == 0 && !r->started_at)
            r->error = true;
        else if (m->session > 0)
            r->execs_done++;
        break;
    default:
        die(125, "unexpected %s from the agent", ctl_type_name(m->type));
    }
}

static void spawn_agent(struct run *r, const char *bin, const char *root, bool debug)
{
    int ctl[2], con[2], lfd;
    char dir[] = "/tmp/vmctl.XXXXXX";
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    if (!mkdtemp(dir))
        die(125, "mkdtemp: %s", strerror(errno));
    snprintf(r->stdio_unix, sizeof r->stdio_unix, "%s/stdio.sock", dir);
    strcpy(a.sun_path, r->stdio_unix);
    lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 16) < 0)
        die(125, "stdio listener: %s", strerror(errno));
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, ctl) < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, con) < 0)
        die(125, "socketpair: %s", strerror(errno));
    r->agent_pid = fork();
    if (r->agent_pid < 0)
        die(125, "fork: %s", strerror(errno));
    if (r->agent_pid == 0) {
        char *argv[24] = { "unshare", "--pid", "--fork", "--kill-child", "--mount", "--mount-proc", "--uts", "--",
                           (char *)bin, "--serve", "3", "--stdio-listen", "4", "--console", "5" };
        int n = 15;
        if (root) {
            argv[n++] = "--root";
            argv[n++] = (char *)root;
        }
        if (debug)
            argv[n++] = "--debug";
        argv[n] = NULL;
        /* above everything first, so that no dup2 below clobbers a source */
        int c = fcntl(ctl[1], F_DUPFD, 100), l = fcntl(lfd, F_DUPFD, 100), k = fcntl(con[1], F_DUPFD, 100);
        if (c < 0 || l < 0 || k < 0 || dup2(c, 3) < 0 || dup2(l, 4) < 0 || dup2(k, 5) < 0)
            _exit(125);
        for (int fd = 6; fd < 1024; fd++)
            close(fd);   /* our ends and the copies above */
        execvp("unshare", argv);
        _exit(127);
    }
    close(ctl[1]);
    close(con[1]);
    close(lfd);
    r->control = ctl[0];
    r->console = con[0];
}

static void cleanup_agent(struct run *r)
{
    char dir[108];
    char *slash;
    if (!r->stdio_unix[0])
        return;
    unlink(r->stdio_unix);
    snprintf(dir, sizeof dir, "%s", r->stdio_unix);
    slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
        rmdir(dir);
    }
}

static int accept_control(const char *path, unsigned timeout_s)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    struct pollfd p;
    int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), fd;
    if (lfd < 0 || strlen(path) >= sizeof a.sun_path)
        die(125, "listen %s: bad path", path);
    strcpy(a.sun_path, path);
    unlink(path);
    if (bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 1) < 0)
        die(125, "listen %s: %s", path, strerror(errno));
    event("listening on %s", path);
    p = (struct pollfd){ .fd = lfd, .events = POLLIN };
    if (poll(&p, 1, (int)timeout_s * 1000) <= 0)
        die(124, "no agent connected to %s within %u s", path, timeout_s);
    fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        die(125, "accept: %s", strerror(errno));
    close(lfd);
    unlink(path);
    return fd;
}

static uint8_t mode_of(const char *s)
{
    if (!strcmp(s, "null"))
        return CTL_STDIO_NULL;
    if (!strcmp(s, "console"))
        return CTL_STDIO_CONSOLE;
    if (!strcmp(s, "stream"))
        return CTL_STDIO_STREAM;
    die(2, "bad stdio mode %s", s);
    return 0;
}

static void parse_size(const char *s, uint16_t *rows, uint16_t *cols)
{
    unsigned a, b;
    if (sscanf(s, "%ux%u", &a, &b) != 2 || a > 65535 || b > 65535)
        die(2, "bad size %s (ROWSxCOLS)", s);
    *rows = (uint16_t)a;
    *cols = (uint16_t)b;
}

static int cmd_run(int argc, char **argv)
{
    static struct run r = { .control = -1, .console = -1, .signo = 0 };
    static char *env[MAX_LIST];
    static uint32_t groups[MAX_LIST];
    static struct ctl_rlimit rlimits[16];
    static struct ctl_mount mounts[8];
    struct ctl_msg start = { .type = CTL_START };
    struct ctl_process *p = &start.u.start.proc;
    const char *listen_path = NULL, *agent = NULL, *agent_root = NULL;
    bool agent_debug = false;
    unsigned timeout_s = 60;
    double deadline;
    int o, rc;
    struct zerr e;
    static const struct option lo[] = {
        { "listen", 1, 0, 'L' }, { "agent", 1, 0, 'A' }, { "agent-root", 1, 0, 'R' },
        { "agent-debug", 0, 0, 'D' }, { "stdio-vsock", 1, 0, 'V' }, { "uid", 1, 0, 'u' },
        { "gid", 1, 0, 'g' }, { "groups", 1, 0, 'G' }, { "cwd", 1, 0, 'w' }, { "env", 1, 0, 'e' },
        { "umask", 1, 0, 'k' }, { "hostname", 1, 0, 'h' }, { "rlimit", 1, 0, 'l' }, { "tty", 0, 0, 't' },
        { "size", 1, 0, 'z' }, { "no-new-privs", 0, 0, 'n' }, { "caps", 1, 0, 'c' }, { "stdin", 1, 0, '0' },
        { "stdout", 1, 0, '1' }, { "stderr", 1, 0, '2' }, { "mount", 1, 0, 'm' }, { "stdin-data", 1, 0, 'i' },
        { "exec", 1, 0, 'x' }, { "exec-ms", 1, 0, 'X' }, { "signal", 1, 0, 's' }, { "signal-all", 0, 0, 'a' },
        { "signal-ms", 1, 0, 'S' }, { "resize", 1, 0, 'r' }, { "timeout", 1, 0, 'T' }, { "stamps", 0, 0, 'P' },
        { 0, 0, 0, 0 },
    };
    *p = (struct ctl_process){ .cwd = "/", .hostname = "", .umask = 022, .env = env,
                               .stdio = { CTL_STDIO_NULL, CTL_STDIO_CONSOLE, CTL_STDIO_CONSOLE } };
    env[p->nenv++] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    while ((o = getopt_long(argc, argv, "+", lo, NULL)) != -1) {
        switch (o) {
        case 'L': listen_path = optarg; break;
        case 'A': agent = optarg; break;
        case 'R': agent_root = optarg; break;
        case 'D': agent_debug = true; break;
        case 'V': r.stdio_vsock = optarg; break;
        case 'u': p->uid = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'g': p->gid = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'G':
            for (char *s = optarg, *end; *s && p->ngroups < MAX_LIST; s = *end ? end + 1 : end)
                groups[p->ngroups++] = (uint32_t)strtoul(s, &end, 10);
            p->groups = groups;
            break;
        case 'w': p->cwd = optarg; break;
        case 'e':
            if (p->nenv < MAX_LIST)
                env[p->nenv++] = optarg;
            break;
        case 'k': p->umask = (uint32_t)strtoul(optarg, NULL, 8); break;
        case 'h': p->hostname = optarg; break;
        case 'l': {
            unsigned res;
            unsigned long long soft, hard;
            if (sscanf(optarg, "%u=%llu:%llu", &res, &soft, &hard) != 3 || p->nrlimits >= 16)
                die(2, "bad --rlimit %s", optarg);
            rlimits[p->nrlimits++] = (struct ctl_rlimit){ res, soft, hard };
            p->rlimits = rlimits;
            break;
        }
        case 't':
            p->flags |= CTL_PROC_TERMINAL;
            p->stdio[2] = CTL_STDIO_NULL;
            break;
        case 'z': parse_size(optarg, &p->rows, &p->cols); break;
        case 'n': p->flags |= CTL_PROC_NO_NEW_PRIVS; break;
        case 'c': {
            unsigned long long v[5];
            if (sscanf(optarg, "%llx,%llx,%llx,%llx,%llx", &v[0], &v[1], &v[2], &v[3], &v[4]) != 5)
                die(2, "bad --caps %s", optarg);
            p->flags |= CTL_PROC_CAPS;
            p->cap_bounding = v[0], p->cap_effective = v[1], p->cap_permitted = v[2];
            p->cap_inheritable = v[3], p->cap_ambient = v[4];
            break;
        }
        case '0': case '1': case '2': p->stdio[o - '0'] = mode_of(optarg); break;
        case 'm': {
            struct ctl_mount *m = &mounts[start.u.start.nmounts];
            char *c1 = strchr(optarg, ':'), *c2;
            if (!c1 || start.u.start.nmounts >= 8)
                die(2, "bad --mount %s", optarg);
            *c1 = '\0';
            c2 = strchr(c1 + 1, ':');
            if (c2)
                *c2 = '\0';
            *m = (struct ctl_mount){ optarg, c1 + 1, c2 && !strcmp(c2 + 1, "ro") ? CTL_MOUNT_RDONLY : 0 };
            start.u.start.nmounts++;
            start.u.start.mounts = mounts;
            break;
        }
        case 'i': r.stdin_data = optarg; break;
        case 'x':
            if (r.nexecs >= MAX_EXECS)
                die(2, "at most %d --exec", MAX_EXECS);
            r.execs[r.nexecs++] = optarg;
            break;
        case 'X': r.exec_ms = atof(optarg); break;
        case 's': r.signo = atoi(optarg); break;
        case 'a': r.signal_all = true; break;
        case 'S': r.signal_ms = atof(optarg); break;
        case 'r': parse_size(optarg, &r.resize_rows, &r.resize_cols); break;
        case 'T': timeout_s = (unsigned)atoi(optarg); break;
        case 'P': stamps = true; break;
        default: return 2;
        }
    }
    if (optind >= argc)
        die(2, "no command (vmctl run ... -- ARGS...)");
    p->args = argv + optind;
    p->nargs = (uint32_t)(argc - optind);
    signal(SIGPIPE, SIG_IGN);

    if (agent)
        spawn_agent(&r, agent, agent_root, agent_debug);
    else if (listen_path)
        r.control = accept_control(listen_path, timeout_s);
    else
        die(2, "--listen or --agent is required");
    deadline = now_ms() + timeout_s * 1000.0;

    /* HELLO both ways, then the main process's streams, then START */
    {
        struct ctl_msg m;
        struct ctl_msg hello = { .type = CTL_HELLO, .u.hello = { CTL_VERSION, "vmctl" } };
        rc = ctl_recv(r.control, &m, &e);
        if (rc != 0)
            die(125, "waiting for the agent's HELLO: %s", rc > 0 ? "end of stream" : e.msg);
        handle(&r, &m);
        ctl_msg_free(&m);
        send_msg(&r, &hello);
    }
    if (p->stdio[0] == CTL_STDIO_STREAM) {
        int fd = open_stream(&r, 0, CTL_STREAM_STDIN);
        if (r.stdin_data && write(fd, r.stdin_data, strlen(r.stdin_data)) < 0)
            die(125, "stdin stream: %s", strerror(errno));
        if (p->flags & CTL_PROC_TERMINAL)
            add_stream(&r, fd, -1, 0);   /* a terminal: closing it would not be EOF anyway */
        else
            close(fd);   /* the process reads EOF after the data */
    }
    if (p->stdio[1] == CTL_STDIO_STREAM)
        add_stream(&r, open_stream(&r, 0, CTL_STREAM_STDOUT), 1, 0);
    if (p->stdio[2] == CTL_STDIO_STREAM)
        add_stream(&r, open_stream(&r, 0, CTL_STREAM_STDERR), 2, 0);
    send_msg(&r, &start);

    for (;;) {
        struct pollfd pfd[4 + 2 * MAX_EXECS];
        unsigned n = 0, open_streams = 0;
        double t = now_ms();
        if (t > deadline) {
            if (r.agent_pid > 0)
                kill(r.agent_pid, SIGKILL);
            cleanup_agent(&r);
            die(124, "timed out after %u s", timeout_s);
        }
        if (r.started_at && !r.execs_sent && r.nexecs && t >= r.started_at + r.exec_ms)
            start_execs(&r);
        if (r.started_at && r.signo && !r.signal_sent && t >= r.started_at + r.signal_ms &&
            (!r.nexecs || r.execs_done == r.nexecs)) {
            struct ctl_msg s = { .type = CTL_SIGNAL,
                                 .u.signal = { (uint32_t)r.signo, r.signal_all ? CTL_SIGNAL_ALL : 0 } };
            send_msg(&r, &s);
            r.signal_sent = true;
        }
        for (unsigned i = 0; i < r.nstreams; i++)
            if (r.streams[i].fd >= 0 && r.streams[i].out_fd >= 0)
                open_streams++;
        if (r.error || (r.exited && open_streams == 0))
            break;
        pfd[n++] = (struct pollfd){ .fd = r.exited ? -1 : r.control, .events = POLLIN };
        pfd[n++] = (struct pollfd){ .fd = r.console, .events = POLLIN };
        for (unsigned i = 0; i < r.nstreams; i++)
            pfd[n++] = (struct pollfd){ .fd = r.streams[i].out_fd >= 0 ? r.streams[i].fd : -1, .events = POLLIN };
        if (poll(pfd, n, 50) < 0 && errno != EINTR)
            die(125, "poll: %s", strerror(errno));
        if (pfd[0].revents) {
            struct ctl_msg m;
            rc = ctl_recv(r.control, &m, &e);
            if (rc != 0)
                die(125, "control stream: %s", rc > 0 ? "the agent closed it" : e.msg);
            handle(&r, &m);
            ctl_msg_free(&m);
        }
        if (pfd[1].revents && !pump(r.console, 1)) {
            close(r.console);
            r.console = -1;
        }
        for (unsigned i = 0; i < r.nstreams; i++)
            if (pfd[2 + i].revents && !pump(r.streams[i].fd, r.streams[i].out_fd)) {
                close(r.streams[i].fd);
                r.streams[i].fd = -1;
            }
    }
    if (!r.error) {
        struct ctl_msg bye = { .type = CTL_SHUTDOWN };
        send_msg(&r, &bye);
    }
    if (r.agent_pid > 0) {
        int st;
        /* what the console still holds, until the agent is gone */
        while (r.console >= 0 && pump(r.console, 1))
            ;
        waitpid(r.agent_pid, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != (r.error ? 1 : 0)) {
            char what[64];
            ctl_describe_status((uint32_t)st, what, sizeof what);
            fprintf(stderr, "vmctl: agent ended with %s\n", what);
        }
    }
    cleanup_agent(&r);
    fflush(stdout);
    if (r.error)
        return 125;
    if (WIFSIGNALED((int)r.exit_status))
        return 128 + WTERMSIG((int)r.exit_status);
    return WEXITSTATUS((int)r.exit_status);
}

int main(int argc, char **argv)
{
    t_start = now_ms();
    if (argc < 2)
        die(2, "usage: vmctl initramfs|run ...");
    if (!strcmp(argv[1], "initramfs"))
        return cmd_initramfs(argc - 1, argv + 1);
    if (!strcmp(argv[1], "run"))
        return cmd_run(argc - 1, argv + 1);
    die(2, "unknown command %s", argv[1]);
}
