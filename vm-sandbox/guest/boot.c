/* The guest's boot sequence, run by zone-agent as PID 1 of the VM:
 *
 *   early mounts (/proc, /sys, devtmpfs on /dev; the kernel mounts none)
 *   -> command line (zone.* words) -> modules (finit_module)
 *   -> /dev/hvc0 -> vsock: listen for stdio streams, connect to the host
 *   -> the root 9p share on /newroot, switch root into it, the container's
 *      /proc /sys /dev /dev/pts /dev/shm, the command line's extra shares
 *   -> (START) the host's extra shares, read-only root, hostname
 *   -> ... -> sync and reboot(RB_AUTOBOOT), which the monitor sees as the
 *      VM's stop. */
#include "vm-sandbox/guest/agent.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#define NEWROOT "/newroot"
#define CONSOLE_PATH "/dev/hvc0"

static void sleep_ms(long ms)
{
    nanosleep(&(struct timespec){ .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L }, NULL);
}

static int mount_early(const char *source, const char *target, const char *type, unsigned long flags,
                       const char *data, struct zerr *e)
{
    if (mkdir(target, 0755) < 0 && errno != EEXIST)
        return zerr_sys(e, "mkdir %s", target);
    if (mount(source, target, type, flags, data) < 0)
        return zerr_sys(e, "mounting %s on %s", type, target);
    return 0;
}

int boot_early_mounts(struct agent *a, struct zerr *e)
{
    int fd;
    if (mount_early("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, e) < 0 ||
        mount_early("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, e) < 0 ||
        mount_early("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755", e) < 0)
        return -1;
    a->kmsg_fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
    /* Without /dev/console in the initramfs the kernel starts us with no
     * fds 0-2: fill them, so that no socket of ours lands there. */
    while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
        ;
    if (fd > 2)
        close(fd);
    return 0;
}

int boot_read_cmdline(struct agent *a, struct zerr *e)
{
    char buf[4096];
    ssize_t n;
    int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return zerr_sys(e, "/proc/cmdline");
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0)
        return zerr_sys(e, "reading /proc/cmdline");
    buf[n] = '\0';
    if (bootargs_parse(buf, &a->boot, e) < 0)
        return -1;
    a->debug = a->boot.debug;
    return 0;
}

/* The virtio console appears as hvc0 once virtio_console has probed; it
 * carries the main process's stdio, so it must pass bytes unchanged. */
int boot_open_console(struct agent *a, struct zerr *e)
{
    struct termios t;
    int fd = -1;
    for (int tries = 0; tries < 200; tries++) {
        fd = open(CONSOLE_PATH, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (fd >= 0 || (errno != ENOENT && errno != ENODEV && errno != ENXIO))
            break;
        sleep_ms(10);
    }
    if (fd < 0) {
        /* not fatal: only processes asking for the console need it */
        agent_log(a, "no console: %s: %s", CONSOLE_PATH, strerror(errno));
        return 0;
    }
    if (tcgetattr(fd, &t) == 0) {
        cfmakeraw(&t);
        if (tcsetattr(fd, TCSANOW, &t) < 0) {
            zerr_sys(e, "%s: setting raw mode", CONSOLE_PATH);
            close(fd);
            return -1;
        }
    }
    a->console_fd = fd;
    /* relays need a non-blocking description of their own: the processes
     * given the console keep a blocking one */
    a->console_relay_fd = open(CONSOLE_PATH, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    if (a->console_relay_fd < 0)
        return zerr_sys(e, "%s", CONSOLE_PATH);
    return 0;
}

int boot_vsock_listen(struct agent *a, struct zerr *e)
{
    struct sockaddr_vm addr = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = CTL_PORT_STDIO };
    int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return zerr_sys(e, "vsock socket");
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 16) < 0) {
        zerr_sys(e, "vsock: listening on port %u", CTL_PORT_STDIO);
        close(fd);
        return -1;
    }
    a->listen_fd = fd;
    a->vsock = true;
    return 0;
}

int boot_vsock_connect(struct agent *a, struct zerr *e)
{
    struct sockaddr_vm addr = { .svm_family = AF_VSOCK, .svm_cid = CTL_HOST_CID, .svm_port = CTL_PORT_CONTROL };
    /* The host listens before the VM starts; retries cover a transport
     * that is still coming up. */
    for (int tries = 0;; tries++) {
        int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return zerr_sys(e, "vsock socket");
        if (connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0) {
            a->control_fd = fd;
            return 0;
        }
        zerr_sys(e, "vsock: connecting to the host (CID %u port %u)", CTL_HOST_CID, CTL_PORT_CONTROL);
        close(fd);
        if (tries >= 100)
            return -1;
        sleep_ms(100);
    }
}

/* Empties the initramfs before leaving it (its memory is otherwise lost
 * for the VM's life), staying on its filesystem: mounts are skipped. */
static void remove_tree(int dirfd, dev_t dev)
{
    DIR *d = fdopendir(dirfd);
    struct dirent *de;
    if (!d) {
        close(dirfd);
        return;
    }
    while ((de = readdir(d))) {
        struct stat st;
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != dev)
            continue;
        if (S_ISDIR(st.st_mode)) {
            int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0)
                remove_tree(sub, dev);
            unlinkat(dirfd, de->d_name, AT_REMOVEDIR);
        } else {
            unlinkat(dirfd, de->d_name, 0);
        }
    }
    closedir(d);
}

int boot_switch_root(struct agent *a, struct zerr *e)
{
    struct stat st;
    int fd;
    if (mount_9p(a->boot.root_tag, NEWROOT, false, &a->boot, e) < 0)
        return zerr_prefix(e, "root filesystem");
    /* the early /proc /sys /dev go away: the container gets its own */
    umount2("/proc", MNT_DETACH);
    umount2("/sys", MNT_DETACH);
    umount2("/dev", MNT_DETACH);
    if (stat("/", &st) == 0 && (fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0)
        remove_tree(fd, st.st_dev);
    if (chdir(NEWROOT) < 0)
        return zerr_sys(e, "chdir %s", NEWROOT);
    if (mount(NEWROOT, "/", NULL, MS_MOVE, NULL) < 0)
        return zerr_sys(e, "moving %s to /", NEWROOT);
    if (chroot(".") < 0 || chdir("/") < 0)
        return zerr_sys(e, "chroot into the container's root");
    if (mount_container_fs(e) < 0)
        return zerr_prefix(e, "container filesystems");
    for (unsigned i = 0; i < a->boot.nmounts; i++) {
        const struct boot_mount *m = &a->boot.mounts[i];
        if (mount_9p(m->tag, m->target, m->read_only, &a->boot, e) < 0)
            return zerr_prefix(e, "zone.mount");
    }
    agent_debug(a, "switched root to 9p share %s", a->boot.root_tag);
    return 0;
}

int boot_finish_root(struct agent *a, const struct ctl_msg *start, struct zerr *e)
{
    const char *hostname = start->u.start.proc.hostname;
    if (a->vm) {
        for (uint32_t i = 0; i < start->u.start.nmounts; i++) {
            const struct ctl_mount *m = &start->u.start.mounts[i];
            if (mount_9p(m->tag, m->target, m->flags & CTL_MOUNT_RDONLY, &a->boot, e) < 0)
                return zerr_prefix(e, "START mounts[%u]", i);
        }
        if (a->boot.root_read_only && mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
            return zerr_sys(e, "remounting the root read-only");
    } else if (start->u.start.nmounts) {
        return zerr_set(e, ENOTSUP, "START: 9p mounts need a VM (the agent runs in --serve test mode)");
    }
    if (hostname[0] && sethostname(hostname, strlen(hostname)) < 0)
        return zerr_sys(e, "sethostname \"%s\"", hostname);
    return 0;
}

void boot_stop_vm(struct agent *a, int test_exit_code)
{
    sync();
    if (!a->vm)
        _exit(test_exit_code);
    agent_debug(a, "rebooting");
    reboot(RB_AUTOBOOT);
    /* PID 1 must not exit; a failed reboot leaves the monitor's timeout */
    agent_log(a, "reboot: %s", strerror(errno));
    for (;;)
        pause();
}
