/* zone-agent's entry point.
 *
 *   /init (PID 1 of a VM)          boot (boot.c), serve, reboot
 *   zone-agent --serve FD --stdio-listen FD [--console FD] [--root DIR] [--debug]
 *                                  test mode, as PID 1 of a PID namespace
 *                                  (unshare --pid --mount --fork): serves the
 *                                  protocol on an inherited control socket
 *                                  and stdio listener (unix sockets), and
 *                                  exits instead of rebooting. With --root
 *                                  it chroots into DIR and mounts the
 *                                  container filesystems there, as in a VM.
 *
 * Either way it must be PID 1: it reaps orphans and, once the main process
 * is gone, kills every other process with kill(-1), which outside a PID
 * namespace of its own would reach the whole machine. */
#include "vm-sandbox/guest/agent.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

static int parse_fd(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);
    return (*s && !*end && v >= 0 && v < 65536) ? (int)v : -1;
}

static int parse_test_args(struct agent *a, int argc, char **argv, const char **root)
{
    for (int i = 1; i < argc; i++) {
        int *dest = NULL;
        if (!strcmp(argv[i], "--debug")) {
            a->debug = true;
            continue;
        }
        if (!strcmp(argv[i], "--root") && i + 1 < argc) {
            *root = argv[++i];
            continue;
        }
        if (!strcmp(argv[i], "--serve"))
            dest = &a->control_fd;
        else if (!strcmp(argv[i], "--stdio-listen"))
            dest = &a->listen_fd;
        else if (!strcmp(argv[i], "--console"))
            dest = &a->console_fd;
        if (!dest || i + 1 >= argc || (*dest = parse_fd(argv[++i])) < 0) {
            fprintf(stderr, "usage: zone-agent --serve FD --stdio-listen FD [--console FD] [--root DIR] [--debug]\n");
            return -1;
        }
    }
    if (a->control_fd < 0 || a->listen_fd < 0) {
        fprintf(stderr, "zone-agent: --serve and --stdio-listen are required\n");
        return -1;
    }
    a->console_relay_fd = a->console_fd;
    return 0;
}

static int setup_signals(struct agent *a, struct zerr *e)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
        return zerr_sys(e, "sigprocmask");
    a->sigchld_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (a->sigchld_fd < 0)
        return zerr_sys(e, "signalfd");
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

static void send_hello(struct agent *a)
{
    struct ctl_msg m = { .type = CTL_HELLO, .u.hello = { CTL_VERSION, (char *)AGENT_SOFTWARE } };
    struct zerr e;
    if (ctl_send(a->control_fd, &m, &e) < 0)
        agent_log(a, "%s", e.msg);
}

/* The VM's boot up to the point where the host can be told about errors. */
static int boot_vm(struct agent *a, struct zerr *e)
{
    if (boot_early_mounts(a, e) < 0 || boot_read_cmdline(a, e) < 0)
        return -1;
    agent_debug(a, "started as /init");
    if (modules_load(a, BOOT_MODULE_LIST, e) < 0 || boot_open_console(a, e) < 0 || boot_vsock_listen(a, e) < 0 ||
        boot_vsock_connect(a, e) < 0)
        return -1;
    agent_debug(a, "connected to the host");
    return 0;
}

int main(int argc, char **argv)
{
    struct agent a = {
        .kmsg_fd = -1, .control_fd = -1, .listen_fd = -1, .console_fd = -1, .console_relay_fd = -1,
        .sigchld_fd = -1,
    };
    struct zerr e = { 0 };
    const char *root = NULL;
    int rc;

    for (int i = 0; i < AGENT_MAX_CONNS; i++)
        a.conns[i].fd = -1;
    if (getpid() != 1) {
        fprintf(stderr, "zone-agent: must run as PID 1 (the VM's /init, or --serve in a PID namespace)\n");
        return 2;
    }
    /* the kernel hands init the command-line words it does not know
     * (e.g. "nokaslr" on a PVH boot, which skips the decompressor that
     * would take it): only an option word means test mode */
    a.vm = argc == 1 || argv[1][0] != '-';
    if (!a.vm && parse_test_args(&a, argc, argv, &root) < 0)
        return 2;
    if (setup_signals(&a, &e) < 0) {
        agent_log(&a, "%s", e.msg);
        boot_stop_vm(&a, 1);
    }
    if (a.vm) {
        if (boot_vm(&a, &e) < 0) {
            /* no host to tell: the kernel log (serial console) has it */
            agent_log(&a, "%s", e.msg);
            boot_stop_vm(&a, 1);
        }
        send_hello(&a);
        if (boot_switch_root(&a, &e) < 0) {
            agent_send_error(&a, 0, &e);
            boot_stop_vm(&a, 1);
        }
    } else {
        send_hello(&a);
        if (root && (chroot(root) < 0 || chdir("/") < 0)) {
            zerr_sys(&e, "chroot %s", root);
            agent_send_error(&a, 0, &e);
            boot_stop_vm(&a, 1);
        }
        if (root && mount_container_fs(&e) < 0) {
            agent_send_error(&a, 0, &e);
            boot_stop_vm(&a, 1);
        }
    }
    rc = agent_serve(&a);
    if (rc != 0)
        kill(-1, SIGKILL);
    boot_stop_vm(&a, rc < 0 ? 1 : 0);
}
