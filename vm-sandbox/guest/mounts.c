/* Mounts inside the guest: 9p shares, and the filesystems a container
 * expects (/proc, /sys, a tmpfs /dev with the standard nodes, /dev/pts,
 * /dev/shm). These run after the switch into the container's root, so a
 * symlink in the rootfs can only point somewhere inside it. */
#include "vm-sandbox/guest/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

int mkdir_p(const char *path, mode_t mode, struct zerr *e)
{
    char buf[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf)
        return zerr_set(e, ENAMETOOLONG, "mkdir %.100s: bad path", path);
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char saved = *p;
            *p = '\0';
            if (mkdir(buf, mode) < 0 && errno != EEXIST)
                return zerr_sys(e, "mkdir %s", buf);
            *p = saved;
            if (!saved)
                break;
        }
    }
    return 0;
}

int mount_9p(const char *tag, const char *target, bool read_only, const struct boot_args *b, struct zerr *e)
{
    char opts[160];
    snprintf(opts, sizeof opts, "trans=virtio,version=9p2000.L,msize=%u,cache=%s,access=client", b->msize,
             b->cache);
    if (mkdir_p(target, 0755, e) < 0)
        return zerr_prefix(e, "9p share %s", tag);
    /* The virtio-9p channel registers when 9pnet_virtio probes the device;
     * a tag that is not there yet is ENOENT: wait a little for it. */
    for (int tries = 0;; tries++) {
        if (mount(tag, target, "9p", MS_NOSUID | MS_NODEV | (read_only ? MS_RDONLY : 0), opts) == 0)
            return 0;
        if (errno != ENOENT || tries >= 200)
            return zerr_sys(e, "mounting 9p share \"%s\" on %s (%s)", tag, target, opts);
        nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000000L }, NULL);
    }
}

struct fs_mount {
    const char *source, *target, *type;
    unsigned long flags;
    const char *data;
};

static const struct fs_mount container_mounts[] = {
    { "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
    { "sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL },
    { "tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k" },
    { "devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5" },
    { "shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k" },
};

struct dev_node {
    const char *path;
    unsigned major, minor;
};

/* The OCI default devices. */
static const struct dev_node dev_nodes[] = {
    { "/dev/null", 1, 3 }, { "/dev/zero", 1, 5 }, { "/dev/full", 1, 7 },
    { "/dev/random", 1, 8 }, { "/dev/urandom", 1, 9 }, { "/dev/tty", 5, 0 },
};

static const char *const dev_links[][2] = {
    { "/proc/self/fd", "/dev/fd" }, { "/proc/self/fd/0", "/dev/stdin" },
    { "/proc/self/fd/1", "/dev/stdout" }, { "/proc/self/fd/2", "/dev/stderr" },
    { "pts/ptmx", "/dev/ptmx" }, { "/proc/kcore", "/dev/core" },
};

int mount_container_fs(struct zerr *e)
{
    for (size_t i = 0; i < sizeof container_mounts / sizeof *container_mounts; i++) {
        const struct fs_mount *m = &container_mounts[i];
        if (mkdir_p(m->target, 0755, e) < 0)
            return -1;
        if (mount(m->source, m->target, m->type, m->flags, m->data) < 0)
            return zerr_sys(e, "mounting %s on %s", m->type, m->target);
        if (!strcmp(m->target, "/dev")) {
            mode_t old = umask(0);
            for (size_t j = 0; j < sizeof dev_nodes / sizeof *dev_nodes; j++)
                if (mknod(dev_nodes[j].path, S_IFCHR | 0666, makedev(dev_nodes[j].major, dev_nodes[j].minor)) < 0) {
                    umask(old);
                    return zerr_sys(e, "mknod %s", dev_nodes[j].path);
                }
            umask(old);
            for (size_t j = 0; j < sizeof dev_links / sizeof *dev_links; j++)
                if (symlink(dev_links[j][0], dev_links[j][1]) < 0)
                    return zerr_sys(e, "symlink %s", dev_links[j][1]);
        }
    }
    return 0;
}
