/* The VM handler: the container's init becomes zone's monitor and runs the
 * container process in a microVM (see handler.h for the sequence). */
#include "vm-sandbox/handler/handler.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/kvm.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "vm-sandbox/handler/control_host.h"
#include "vm-sandbox/handler/serve_internal.h"
#include "vm-sandbox/initramfs/initramfs.h"
#include "vm-sandbox/proto/bootargs.h"
#include "vm-sandbox/vmm/vmm.h"

#define ROOT_TAG "rootfs"
#define KERNEL_CMDLINE "reboot=k panic=-1 quiet"

/* ------------------------------------------------------------ prepare */

/* zone-agent next to the running binary, or in the installed layout
 * PREFIX/bin/zone -> PREFIX/libexec/zone/zone-agent. */
static int agent_near_exe(char *out, size_t cap)
{
    char exe[PATH_MAX], *dir;
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return -1;
    exe[n] = '\0';
    dir = dirname(exe);
    snprintf(out, cap, "%s/zone-agent", dir);
    if (access(out, X_OK) == 0)
        return 0;
    snprintf(out, cap, "%s/../libexec/zone/zone-agent", dir);
    return access(out, X_OK) == 0 ? 0 : -1;
}

void zvm_remember_agent(void)
{
    char path[PATH_MAX];
    if (!getenv("ZONE_VM_AGENT") && agent_near_exe(path, sizeof path) == 0)
        setenv("ZONE_VM_AGENT", path, 0);
}

static int find_agent(char *out, size_t cap, struct zerr *e)
{
    const char *env = getenv("ZONE_VM_AGENT");

    if (env && *env) {
        if (access(env, X_OK) < 0)
            return zerr_sys(e, "ZONE_VM_AGENT=%s", env);
        snprintf(out, cap, "%s", env);
        return 0;
    }
    if (agent_near_exe(out, cap) == 0)
        return 0;
    return zerr_set(e, ENOENT,
                    "VM mode: the guest agent zone-agent was found neither next to the zone binary nor in "
                    "../libexec/zone (set ZONE_VM_AGENT)");
}

static int cache_dir_of(char *out, size_t cap)
{
    const char *env = getenv("ZONE_VM_CACHE"), *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    int n;
    if (env && *env)
        n = snprintf(out, cap, "%s", env);
    else if (geteuid() == 0)
        n = snprintf(out, cap, "/var/cache/zone");
    else if (xdg && *xdg)
        n = snprintf(out, cap, "%s/zone", xdg);
    else
        n = snprintf(out, cap, "%s/.cache/zone", home && *home ? home : "/tmp");
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

void zvm_plan_release(struct zvm_plan *p)
{
    int *fds[] = { &p->kvm_fd, &p->kernel_fd, &p->initrd_fd };
    for (size_t i = 0; i < sizeof fds / sizeof *fds; i++) {
        if (*fds[i] >= 0)
            close(*fds[i]);
        *fds[i] = -1;
    }
}

static int prepare_plan(const struct zspec *s, const char *state_dir, struct zvm_plan *p, struct zerr *e)
{
    struct initramfs_config c = { 0 };
    struct initramfs_result r;
    char agent[PATH_MAX], cache[PATH_MAX], moddir_buf[PATH_MAX], release[256];
    const char *kernel = getenv("ZONE_VM_KERNEL"), *modules = getenv("ZONE_VM_MODULES");
    int fd;

    /* configuration errors first: they do not depend on the host */
    if (zvm_size_from_spec(s, &p->size, e) < 0)
        return -1;
    /* engines (conmon) do not pass our environment on: the annotation
     * reaches the monitor through config.json */
    const char *debug = spec_annotation(s, ZVM_ANNOTATION_DEBUG);
    if (debug && strcmp(debug, "1") && strcmp(debug, "true") && strcmp(debug, "0") && strcmp(debug, "false"))
        return zerr_set(e, EINVAL, "annotation %s: \"%s\": expected 1, true, 0 or false", ZVM_ANNOTATION_DEBUG,
                        debug);
    p->debug = (getenv("ZONE_VM_DEBUG") && *getenv("ZONE_VM_DEBUG")) ||
               (debug && (!strcmp(debug, "1") || !strcmp(debug, "true")));
    fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return zerr_sys(e, "VM mode (%s=vm) needs KVM: open /dev/kvm", ZVM_ANNOTATION_HANDLER);
    {
        /* a /dev/kvm node without a working KVM behind it fails here, at
         * create, rather than in the init */
        int version = ioctl(fd, KVM_GET_API_VERSION, 0), vmfd = -1;
        if (version != KVM_API_VERSION || (vmfd = ioctl(fd, KVM_CREATE_VM, 0)) < 0) {
            if (version < 0)
                zerr_sys(e, "VM mode: /dev/kvm is not a working KVM device (KVM_GET_API_VERSION)");
            else if (version != KVM_API_VERSION)
                zerr_set(e, ENOTSUP, "VM mode: /dev/kvm: KVM API version %d, expected %d", version,
                         KVM_API_VERSION);
            else
                zerr_sys(e, "VM mode: /dev/kvm cannot create a VM (KVM_CREATE_VM)");
            close(fd);
            return -1;
        }
        close(vmfd);
    }
    p->kvm_fd = fd;
    if (find_agent(agent, sizeof agent, e) < 0)
        return -1;
    if (cache_dir_of(cache, sizeof cache) < 0)
        return zerr_set(e, ENAMETOOLONG, "VM mode: cache directory path too long");
    if (kernel && *kernel && access(kernel, R_OK) < 0)
        return zerr_sys(e, "VM mode: guest kernel ZONE_VM_KERNEL=%s", kernel);
    c.agent_path = agent;
    c.cache_dir = cache;
    if (modules && *modules) {
        /* ZONE_VM_MODULES=/lib/modules/<release> of that kernel */
        snprintf(moddir_buf, sizeof moddir_buf, "%s", modules);
        snprintf(release, sizeof release, "%s", basename(moddir_buf));
        snprintf(moddir_buf, sizeof moddir_buf, "%s", modules);
        c.modules_dir = dirname(moddir_buf);
        c.release = release;
    }
    if (initramfs_build(&c, &r, e) < 0)
        return zerr_prefix(e, "VM mode: guest kernel and initramfs");
    if (kernel && *kernel)
        snprintf(p->kernel, sizeof p->kernel, "%s", kernel);
    else
        snprintf(p->kernel, sizeof p->kernel, "%s", r.kernel);
    p->kernel_fd = open(p->kernel, O_RDONLY | O_CLOEXEC);
    if (p->kernel_fd < 0)
        return zerr_sys(e, "VM mode: guest kernel %s", p->kernel);
    snprintf(p->initrd, sizeof p->initrd, "%s", r.path);
    p->initrd_fd = open(p->initrd, O_RDONLY | O_CLOEXEC);
    if (p->initrd_fd < 0)
        return zerr_sys(e, "VM mode: initramfs %s", p->initrd);
    if ((size_t)snprintf(p->state_dir, sizeof p->state_dir, "%s", state_dir) >= sizeof p->state_dir)
        return zerr_set(e, ENAMETOOLONG, "VM mode: state dir path too long");
    return 0;
}

int zvm_prepare(const struct zspec *s, const char *state_dir, struct zvm_plan *p, struct zerr *e)
{
    memset(p, 0, sizeof *p);
    p->kvm_fd = p->kernel_fd = p->initrd_fd = -1;
    if (prepare_plan(s, state_dir, p, e) < 0) {
        zvm_plan_release(p);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ open */

void zvm_relayed_signals(sigset_t *set)
{
    static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT, SIGTSTP,
                                SIGTTIN, SIGTTOU, SIGALRM };
    sigemptyset(set);
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
        sigaddset(set, sigs[i]);
}

int zvm_open(const struct zvm_plan *p, struct zvm **out, struct zerr *e)
{
    struct zvm *z = calloc(1, sizeof *z);
    struct boot_args ba;
    char words[512];
    sigset_t set;

    if (!z)
        return zerr_set(e, ENOMEM, "out of memory");
    z->state_fd = z->serial_fd = -1;
    z->plan = *p;   /* with the init's copies of the fds zvm_prepare opened: ours now */
    if (p->kvm_fd < 0 || p->kernel_fd < 0 || p->initrd_fd < 0) {
        zerr_set(e, EBADF, "VM mode: /dev/kvm, the kernel or the initramfs was not opened at create");
        goto fail;
    }
    /* queued, not acted on, until zvm_serve reads them from a signalfd;
     * threads created from now on inherit the mask */
    zvm_relayed_signals(&set);
    /* exactly these: `run` creates us with its waiter's signals blocked,
     * and the vCPU threads need VMM_KICK_SIGNAL (SIG_SETMASK, not
     * SIG_BLOCK) */
    sigprocmask(SIG_SETMASK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    z->state_fd = open(p->state_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (z->state_fd < 0) {
        zerr_sys(e, "VM mode: open state dir %s", p->state_dir);
        goto fail;
    }
    if (p->debug) {
        z->serial_fd = openat(z->state_fd, ZVM_SERIAL_LOG, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (z->serial_fd < 0) {
            zerr_sys(e, "VM mode: create %s/%s", p->state_dir, ZVM_SERIAL_LOG);
            goto fail;
        }
    }
    bootargs_init(&ba);
    snprintf(ba.root_tag, sizeof ba.root_tag, "%s", ROOT_TAG);
    /* root.readonly is enforced on the host: the container's / is a
     * read-only mount the 9p server works through, while its bind mounts
     * keep their own flags; a read-only 9p root would hide that */
    ba.root_read_only = false;
    ba.debug = p->debug;
    if (bootargs_format(&ba, words, sizeof words, e) < 0)
        goto fail;
    snprintf(z->cmdline, sizeof z->cmdline, "%s%s %s", p->debug ? "console=ttyS0 " : "", KERNEL_CMDLINE, words);
    *out = z;
    return 0;
fail:
    zvm_close(z);
    return -1;
}

int zvm_create_vm(struct zvm *z, struct zerr *e)
{
    const struct zvm_plan *p = &z->plan;
    if (vmm_create(&(struct vmm_config){ .mem_mib = p->size.mem_mib, .vcpus = p->size.vcpus,
                                         .serial_fd = z->serial_fd, .have_kvm_fd = true, .kvm_fd = p->kvm_fd },
                   &z->vm, e) < 0 ||
        vmm_load_linux(z->vm, &(struct vmm_kernel){ .kernel_path = p->kernel, .initrd_path = p->initrd,
                                                    .cmdline = z->cmdline, .have_fds = true,
                                                    .kernel_fd = p->kernel_fd, .initrd_fd = p->initrd_fd },
                       e) < 0)
        return zerr_prefix(e, "VM mode");
    return 0;
}

void zvm_close(struct zvm *z)
{
    if (!z)
        return;
    if (z->vm)
        vmm_destroy(z->vm);
    if (z->state_fd >= 0) {
        unlinkat(z->state_fd, ZVM_SOCK_CONTROL, 0);
        unlinkat(z->state_fd, ZVM_SOCK_EXEC, 0);
        close(z->state_fd);
    }
    if (z->serial_fd >= 0)
        close(z->serial_fd);
    zvm_plan_release(&z->plan);
    free(z);
}
