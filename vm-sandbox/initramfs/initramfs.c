/* Building and caching the guest's initramfs (initramfs.h). */
#include "vm-sandbox/initramfs/initramfs.h"
#include "vm-sandbox/initramfs/sha256.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


#include "core/path.h"
#include "vm-sandbox/initramfs/cpio.h"
#include "vm-sandbox/proto/bootargs.h"

#define DEP_MAX (64u << 20)
#define AGENT_MAX (64u << 20)
#define CACHE_FORMAT "zone-initramfs 1"

const char *const initramfs_default_modules[] = {
    "virtio_pci", "virtio_console", "9p", "9pnet_virtio", "vsock", "vmw_vsock_virtio_transport", NULL,
};

/* snprintf into a path buffer; truncation is an error. */
static int __attribute__((format(printf, 4, 5)))
pathf(char *buf, size_t cap, struct zerr *e, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap)
        return zerr_set(e, ENAMETOOLONG, "path too long: %.200s...", buf);
    return 0;
}

static bool release_ok(const char *r)
{
    size_t n = strlen(r);
    if (n == 0 || n >= 200 || !strcmp(r, ".") || !strcmp(r, ".."))
        return false;
    for (const char *c = r; *c; c++)
        if (*c == '/' || *c <= ' ' || *c == 0x7f)
            return false;
    return true;
}

int initramfs_pick_release(const char *modules_dir, const char *boot_dir, char *out, size_t cap,
                           struct zerr *e)
{
    DIR *d = opendir(modules_dir);
    struct dirent *de;
    char best[256] = "";
    if (!d)
        return zerr_sys(e, "%s", modules_dir);
    while ((de = readdir(d))) {
        char path[PATH_MAX];
        struct stat st;
        if (de->d_name[0] == '.' || !release_ok(de->d_name))
            continue;
        if (pathf(path, sizeof path, e, "%s/%s/modules.dep", modules_dir, de->d_name) < 0 ||
            stat(path, &st) < 0 || !S_ISREG(st.st_mode))
            continue;
        if (pathf(path, sizeof path, e, "%s/vmlinuz-%s", boot_dir, de->d_name) < 0 || stat(path, &st) < 0 ||
            !S_ISREG(st.st_mode))
            continue;
        if (!best[0] || strverscmp(de->d_name, best) > 0)
            snprintf(best, sizeof best, "%s", de->d_name);
    }
    closedir(d);
    if (!best[0])
        return zerr_set(e, ENOENT, "no kernel release with both %s/<release>/modules.dep and %s/vmlinuz-<release>",
                        modules_dir, boot_dir);
    if (strlen(best) >= cap)
        return zerr_set(e, ENAMETOOLONG, "kernel release %s: name too long", best);
    strcpy(out, best);
    return 0;
}

static int mkdir_parents(const char *dir, struct zerr *e)
{
    char buf[PATH_MAX];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof buf)
        return zerr_set(e, ENAMETOOLONG, "cache directory: bad path");
    memcpy(buf, dir, n + 1);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || !*p) {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                return zerr_sys(e, "creating %s", buf);
            *p = c;
            if (!c)
                return 0;
        }
    }
}

/* The cache key: the agent's bytes, the release, and each module's
 * identity (name, path, size, mtime) in load order. */
static int cache_key(const uint8_t *agent, size_t agent_len, const char *release, const char *moddir,
                     const struct moddep_list *mods, char hex[17], struct zerr *e)
{
    struct sha256 ctx;
    uint8_t md[32];
    char line[PATH_MAX + 128];
    sha256_init(&ctx);
    sha256_update(&ctx, CACHE_FORMAT "\n", sizeof CACHE_FORMAT);
    sha256_update(&ctx, agent, agent_len);
    sha256_update(&ctx, release, strlen(release) + 1);
    for (unsigned i = 0; i < mods->n; i++) {
        char path[PATH_MAX];
        struct stat st;
        int n;
        if (pathf(path, sizeof path, e, "%s/%s", moddir, mods->mods[i].path) < 0)
            return -1;
        if (stat(path, &st) < 0)
            return zerr_sys(e, "%s", path);
        n = snprintf(line, sizeof line, "%s %s %lld %lld.%09ld\n", mods->mods[i].name, mods->mods[i].path,
                     (long long)st.st_size, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
        if (n < 0 || (size_t)n >= sizeof line)
            return zerr_set(e, ENAMETOOLONG, "module %s: path too long", mods->mods[i].name);
        sha256_update(&ctx, line, (size_t)n);
    }
    sha256_final(&ctx, md);
    for (int i = 0; i < 8; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return 0;
}

static int add_dir(struct cpio_writer *w, const char *name, struct zerr *e)
{
    return cpio_add(w, name, S_IFDIR | 0755, 0, 0, NULL, 0, e);
}

static int write_archive(int fd, const uint8_t *agent, size_t agent_len, const char *moddir,
                         const struct moddep_list *mods, struct zerr *e)
{
    struct cpio_writer w;
    size_t list_cap = (size_t)mods->n * 304 + 1, list_len = 0;
    char *list = malloc(list_cap);
    int rc = -1;
    if (!list)
        return zerr_set(e, ENOMEM, "initramfs: out of memory");
    list[0] = '\0';
    cpio_writer_init(&w, fd);
    /* BOOT_MODULE_DIR is /lib/modules: the cpio names drop the leading '/' */
    if (add_dir(&w, "dev", e) < 0 || cpio_add(&w, "dev/console", S_IFCHR | 0600, 5, 1, NULL, 0, e) < 0 ||
        add_dir(&w, "proc", e) < 0 || add_dir(&w, "sys", e) < 0 || add_dir(&w, "newroot", e) < 0 ||
        add_dir(&w, "lib", e) < 0 || add_dir(&w, "lib/modules", e) < 0 ||
        cpio_add(&w, "init", S_IFREG | 0755, 0, 0, agent, agent_len, e) < 0)
        goto out;
    for (unsigned i = 0; i < mods->n; i++) {
        char src[PATH_MAX], name[300];
        uint8_t *data;
        size_t len;
        if (pathf(src, sizeof src, e, "%s/%s", moddir, mods->mods[i].path) < 0 ||
            pathf(name, sizeof name, e, "%s/%s.ko", &BOOT_MODULE_DIR[1], mods->mods[i].name) < 0 ||
            modfile_read(src, &data, &len, e) < 0)
            goto out;
        rc = cpio_add(&w, name, S_IFREG | 0644, 0, 0, data, len, e);
        free(data);
        if (rc < 0)
            goto out;
        rc = -1;
        list_len += (size_t)snprintf(list + list_len, list_cap - list_len, "/%s\n", name);
    }
    if (cpio_add(&w, &BOOT_MODULE_LIST[1], S_IFREG | 0644, 0, 0, list, list_len, e) < 0 || cpio_finish(&w, e) < 0)
        goto out;
    rc = 0;
out:
    free(list);
    return rc;
}

int initramfs_build(const struct initramfs_config *c, struct initramfs_result *r, struct zerr *e)
{
    const char *modroot = c->modules_dir ? c->modules_dir : "/lib/modules";
    const char *bootdir = c->boot_dir ? c->boot_dir : "/boot";
    char moddir[PATH_MAX], path[PATH_MAX], tmp[PATH_MAX], hex[17];
    char *dep = NULL, *builtin = NULL;
    uint8_t *agent = NULL;
    size_t dep_len, builtin_len = 0, agent_len;
    struct moddep_list mods = { 0 };
    struct stat st;
    int fd = -1, rc = -1;

    memset(r, 0, sizeof *r);
    if (!c->agent_path || !c->cache_dir)
        return zerr_set(e, EINVAL, "initramfs: agent path and cache directory are required");
    if (c->release) {
        if (!release_ok(c->release))
            return zerr_set(e, EINVAL, "initramfs: bad kernel release \"%.100s\"", c->release);
        snprintf(r->release, sizeof r->release, "%s", c->release);
    } else if (initramfs_pick_release(modroot, bootdir, r->release, sizeof r->release, e) < 0) {
        return zerr_prefix(e, "initramfs");
    }
    if (pathf(r->kernel, sizeof r->kernel, e, "%s/vmlinuz-%s", bootdir, r->release) < 0 ||
        pathf(moddir, sizeof moddir, e, "%s/%s", modroot, r->release) < 0 ||
        pathf(path, sizeof path, e, "%s/modules.dep", moddir) < 0)
        return zerr_prefix(e, "initramfs");
    dep = zfile_read(path, DEP_MAX, &dep_len, e);
    if (!dep)
        goto out;
    if (pathf(path, sizeof path, e, "%s/modules.builtin", moddir) < 0)
        goto out;
    builtin = zfile_read(path, DEP_MAX, &builtin_len, e);
    if (!builtin)
        zerr_clear(e);   /* optional */
    if (moddep_resolve(dep, dep_len, builtin, builtin_len, c->modules ? c->modules : initramfs_default_modules,
                       &mods, e) < 0) {
        zerr_prefix(e, "initramfs: kernel %s", r->release);
        goto out;
    }
    r->nmodules = mods.n;
    agent = (uint8_t *)zfile_read(c->agent_path, AGENT_MAX, &agent_len, e);
    if (!agent) {
        zerr_prefix(e, "initramfs: guest agent");
        goto out;
    }
    if (cache_key(agent, agent_len, r->release, moddir, &mods, hex, e) < 0)
        goto out;
    if (pathf(r->path, sizeof r->path, e, "%s/initramfs-%s-%s.cpio", c->cache_dir, r->release, hex) < 0 ||
        pathf(tmp, sizeof tmp, e, "%s/.initramfs-XXXXXX", c->cache_dir) < 0)
        goto out;
    if (stat(r->path, &st) == 0 && S_ISREG(st.st_mode)) {
        r->reused = true;
        rc = 0;
        goto out;
    }
    if (mkdir_parents(c->cache_dir, e) < 0)
        goto out;
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        zerr_sys(e, "initramfs: creating a file in %s", c->cache_dir);
        goto out;
    }
    if (write_archive(fd, agent, agent_len, moddir, &mods, e) < 0) {
        zerr_prefix(e, "initramfs %s", r->path);
        unlink(tmp);
        goto out;
    }
    if (fchmod(fd, 0644) < 0 || fsync(fd) < 0 || rename(tmp, r->path) < 0) {
        zerr_sys(e, "initramfs: writing %s", r->path);
        unlink(tmp);
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    moddep_list_free(&mods);
    free(dep);
    free(builtin);
    free(agent);
    return rc;
}
