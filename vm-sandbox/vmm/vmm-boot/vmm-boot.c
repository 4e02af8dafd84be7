/* vmm-boot: boots a Linux kernel under zone's monitor with the serial
 * console on stdout, for tests and boot-time measurements.
 *
 *   vmm-boot -k KERNEL [-i INITRD] [-c CMDLINE] [-n VCPUS] [-m MIB]
 *            [--timestamps] [--timeout SECS]
 *            [--console] [--vsock UDS [--cid CID]] [--share TAG=DIR]...
 *            [--no-seccomp]
 *
 * --console adds a virtio console (hvc0): stdin to the guest, guest output
 * to stdout (through the stamps too). --vsock adds a vsock device whose
 * host side is the unix socket UDS (see vmm.h); --share exports DIR over
 * virtio-9p under mount tag TAG (repeatable; --share-ro for read-only).
 *
 * Once the VM is set up, the monitor confines all its threads with its
 * seccomp filter (vm-sandbox/vmm/seccomp.h) before the guest runs;
 * --no-seccomp leaves it off, ZONE_VM_SECCOMP_LOG=1 logs instead of kills.
 *
 * --timestamps prefixes every console line with the milliseconds since the
 * monitor started and prints the stage times to stderr at the end.
 * Exit status: 0 when the guest stopped itself (reset or power-off),
 * 2 on a triple fault, 124 on --timeout, 1 on any error. */
#include <errno.h>
#include <stdbool.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vm-sandbox/vmm/seccomp.h"
#include "vm-sandbox/vmm/vmm.h"

static struct timespec t0;
static double first_output_ms = -1;

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0.tv_sec) * 1e3 + (double)(t.tv_nsec - t0.tv_nsec) / 1e6;
}

/* Copies the console pipe to stdout, stamping each line. */
static void *stamp_thread(void *arg)
{
    int fd = *(int *)arg;
    char buf[4096];
    int at_line_start = 1;
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
        for (ssize_t i = 0; i < n; i++) {
            if (first_output_ms < 0)
                first_output_ms = now_ms();
            if (at_line_start)
                printf("[%9.1f ms] ", now_ms());
            putchar(buf[i]);
            at_line_start = buf[i] == '\n';
        }
        fflush(stdout);
    }
    return NULL;
}

struct watchdog {
    struct vmm *vm;
    unsigned seconds;
    int fired;
};

static void *watchdog_thread(void *arg)
{
    struct watchdog *w = arg;
    struct timespec ts = { .tv_sec = w->seconds };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
    w->fired = 1;
    vmm_request_stop(w->vm, VMM_STOP_REQUESTED, "vmm-boot --timeout");
    return NULL;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: vmm-boot -k KERNEL [-i INITRD] [-c CMDLINE] [-n VCPUS] [-m MIB] "
               "[--pvh] [--timestamps] [--timeout SECS]\n"
               "                [--console] [--vsock UDS [--cid CID]] [--share[-ro] TAG=DIR]... [--no-seccomp]\n");
}

#define MAX_SHARES 8

struct share {
    char *tag;
    const char *dir;
    bool read_only;
};

static int add_devices(struct vmm *vm, int console, int out_fd, const char *vsock, unsigned cid,
                       const struct share *shares, unsigned nshares, struct zerr *e)
{
    if (console && vmm_add_console(vm, STDIN_FILENO, out_fd, e) < 0)
        return -1;
    if (vsock && vmm_add_vsock(vm, &(struct vmm_vsock_config){ .guest_cid = cid, .uds_path = vsock }, e) < 0)
        return -1;
    for (unsigned i = 0; i < nshares; i++)
        if (vmm_add_9p(vm, shares[i].tag, shares[i].dir, shares[i].read_only, e) < 0)
            return -1;
    return 0;
}

int main(int argc, char **argv)
{
    struct vmm_kernel k = { .cmdline = "console=ttyS0 reboot=k panic=-1" };
    struct vmm_config cfg = { .mem_mib = 256, .vcpus = 1, .serial_fd = STDOUT_FILENO };
    int stamps = 0, console = 0, seccomp = 1;
    unsigned timeout = 0, cid = 0, nshares = 0;
    const char *vsock = NULL;
    struct share shares[MAX_SHARES];
    static const struct option opts[] = {
        { "kernel", required_argument, NULL, 'k' }, { "initrd", required_argument, NULL, 'i' },
        { "cmdline", required_argument, NULL, 'c' }, { "cpus", required_argument, NULL, 'n' },
        { "mem", required_argument, NULL, 'm' }, { "pvh", no_argument, NULL, 'P' },
        { "timestamps", no_argument, NULL, 'T' }, { "timeout", required_argument, NULL, 't' },
        { "console", no_argument, NULL, 'C' }, { "vsock", required_argument, NULL, 'V' },
        { "cid", required_argument, NULL, 'I' }, { "share", required_argument, NULL, 'S' },
        { "share-ro", required_argument, NULL, 'R' }, { "no-seccomp", no_argument, NULL, 'N' },
        { "help", no_argument, NULL, 'h' }, { 0 },
    };
    int c;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while ((c = getopt_long(argc, argv, "k:i:c:n:m:h", opts, NULL)) != -1) {
        switch (c) {
        case 'k': k.kernel_path = optarg; break;
        case 'i': k.initrd_path = optarg; break;
        case 'c': k.cmdline = optarg; break;
        case 'n': cfg.vcpus = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'm': cfg.mem_mib = strtoull(optarg, NULL, 10); break;
        case 'P': k.format = VMM_KERNEL_PVH; break;
        case 'T': stamps = 1; break;
        case 't': timeout = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'C': console = 1; break;
        case 'N': seccomp = 0; break;
        case 'V': vsock = optarg; break;
        case 'I': cid = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'S':
        case 'R': {
            char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg || !eq[1] || nshares == MAX_SHARES) {
                fprintf(stderr, "vmm-boot: --share TAG=DIR (at most %d)\n", MAX_SHARES);
                return 1;
            }
            *eq = '\0';
            shares[nshares++] = (struct share){ .tag = optarg, .dir = eq + 1, .read_only = c == 'R' };
            break;
        }
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 1;
        }
    }
    if (!k.kernel_path || optind != argc) {
        usage(stderr);
        return 1;
    }

    int pipefd[2] = { -1, -1 };
    pthread_t stamper;
    if (stamps) {
        if (pipe(pipefd) < 0) {
            perror("vmm-boot: pipe");
            return 1;
        }
        cfg.serial_fd = pipefd[1];
        pthread_create(&stamper, NULL, stamp_thread, &pipefd[0]);
    }

    struct zerr err = { 0 };
    struct vmm *vm = NULL;
    struct vmm_stop stop;
    double loaded_ms = 0;
    if (vmm_create(&cfg, &vm, &err) < 0 || vmm_load_linux(vm, &k, &err) < 0 ||
        add_devices(vm, console, cfg.serial_fd, vsock, cid, shares, nshares, &err) < 0) {
        fprintf(stderr, "vmm-boot: %s\n", err.msg);
        vmm_destroy(vm);
        return 1;
    }
    /* binds the I/O threads running now and the threads started later */
    if (seccomp && vmm_seccomp_confine(NULL, 0, &err) < 0) {
        fprintf(stderr, "vmm-boot: %s\n", err.msg);
        vmm_destroy(vm);
        return 1;
    }
    if (seccomp && vmm_seccomp_log_mode())
        fprintf(stderr, "vmm-boot: seccomp filter logs instead of killing (ZONE_VM_SECCOMP_LOG)\n");
    loaded_ms = now_ms();
    struct watchdog wd = { .vm = vm, .seconds = timeout };
    pthread_t wdt;
    if (timeout)
        pthread_create(&wdt, NULL, watchdog_thread, &wd);
    int r = vmm_run(vm, &stop, &err);
    double stopped_ms = now_ms();
    vmm_destroy(vm);
    if (stamps) {
        close(pipefd[1]);
        pthread_join(stamper, NULL);
        close(pipefd[0]);
    }
    if (r < 0) {
        fprintf(stderr, "vmm-boot: %s\n", err.msg);
        return 1;
    }
    fprintf(stderr, "vmm-boot: guest stopped: %s (%s); %lu exits, %lu device errors%s%s\n",
            vmm_stop_reason_name(stop.reason), stop.detail, stop.exits, stop.device_errors,
            stop.device_errors ? "; last: " : "", stop.last_device_error);
    if (stamps)
        fprintf(stderr, "vmm-boot: stages: vm ready %.1f ms, first console output %.1f ms, stopped %.1f ms\n",
                loaded_ms, first_output_ms, stopped_ms);
    if (wd.fired)
        return 124;
    switch (stop.reason) {
    case VMM_STOP_RESET:
    case VMM_STOP_POWEROFF:
        return 0;
    case VMM_STOP_SHUTDOWN:
        return 2;
    default:
        return 1;
    }
}
