/* Small cgroupfs file helpers: every error names the file and the value. */
#include "cgroups/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/cleanup.h"

/* Deep sub-cgroup trees are refused rather than recursed without bound. */
#define ZCG_MAX_DEPTH 64

static int join(char *buf, size_t size, const char *dir, const char *file,
                struct zerr *e)
{
    int len = snprintf(buf, size, "%s/%s", dir, file);
    if (len < 0 || (size_t)len >= size)
        return zerr_set(e, ENAMETOOLONG, "cgroup: path too long: %s/%s", dir,
                        file);
    return 0;
}

int zcg_write(const char *dir, const char *file, const char *value,
              struct zerr *e)
{
    char path[PATH_MAX];
    _cleanup_close_ int fd = -1;
    size_t len = strlen(value);
    ssize_t w;

    if (join(path, sizeof path, dir, file, e) < 0)
        return -1;
    fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_TRUNC);
    if (fd < 0)
        return zerr_sys(e, "cgroup: write %s \"%s\"", path, value);
    /* cgroupfs takes one value per write(); a short write is an error. */
    w = write(fd, value, len);
    if (w < 0)
        return zerr_sys(e, "cgroup: write %s \"%s\"", path, value);
    if ((size_t)w != len)
        return zerr_set(e, EIO, "cgroup: write %s \"%s\": short write", path,
                        value);
    return 0;
}

int zcg_write_u64(const char *dir, const char *file, uint64_t v,
                  struct zerr *e)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRIu64, v);
    return zcg_write(dir, file, buf, e);
}

int zcg_write_i64(const char *dir, const char *file, int64_t v,
                  struct zerr *e)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRId64, v);
    return zcg_write(dir, file, buf, e);
}

ssize_t zcg_read(const char *dir, const char *file, char *buf, size_t size,
                 struct zerr *e)
{
    char path[PATH_MAX];
    _cleanup_close_ int fd = -1;
    size_t len = 0;

    if (size == 0)
        return zerr_set(e, EINVAL, "cgroup: read %s/%s: no buffer", dir, file);
    if (join(path, sizeof path, dir, file, e) < 0)
        return -1;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return zerr_sys(e, "cgroup: read %s", path);
    while (len < size - 1) {
        ssize_t r = read(fd, buf + len, size - 1 - len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return zerr_sys(e, "cgroup: read %s", path);
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    buf[len] = '\0';
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
        buf[--len] = '\0';
    return (ssize_t)len;
}

char *zcg_read_all(const char *path, struct zerr *e)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    _cleanup_free_ char *buf = NULL;
    size_t len = 0, cap = 0;

    if (fd < 0) {
        zerr_sys(e, "cgroup: read %s", path);
        return NULL;
    }
    for (;;) {
        ssize_t r;
        if (cap - len < 4096) {
            char *nb;
            if (cap > (64u << 20)) {
                zerr_set(e, EFBIG, "cgroup: read %s: file too large", path);
                return NULL;
            }
            nb = realloc(buf, cap + 8192);
            if (!nb) {
                zerr_sys(e, "cgroup: read %s", path);
                return NULL;
            }
            buf = nb;
            cap += 8192;
        }
        r = read(fd, buf + len, cap - len - 1);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            zerr_sys(e, "cgroup: read %s", path);
            return NULL;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    buf[len] = '\0';
    return steal_ptr(&buf);
}

bool zcg_file_exists(const char *dir, const char *file)
{
    char path[PATH_MAX];
    int len = snprintf(path, sizeof path, "%s/%s", dir, file);
    if (len < 0 || (size_t)len >= sizeof path)
        return false;
    return access(path, F_OK) == 0;
}

bool zcg_file_has_word(const char *dir, const char *file, const char *word)
{
    char buf[4096];
    struct zerr ignored;
    char *save = NULL;

    if (zcg_read(dir, file, buf, sizeof buf, &ignored) < 0)
        return false;
    for (char *tok = strtok_r(buf, " \t\n", &save); tok;
         tok = strtok_r(NULL, " \t\n", &save))
        if (strcmp(tok, word) == 0)
            return true;
    return false;
}

int zcg_read_keyed(const char *dir, const char *file, const char *key,
                   uint64_t *v)
{
    char path[PATH_MAX];
    struct zerr ignored;
    _cleanup_free_ char *text = NULL;
    size_t klen = strlen(key);

    if (join(path, sizeof path, dir, file, &ignored) < 0)
        return -1;
    text = zcg_read_all(path, &ignored);
    if (!text)
        return -1;
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (strncmp(line, key, klen) == 0 && line[klen] == ' ') {
            char *end;
            errno = 0;
            unsigned long long x = strtoull(line + klen + 1, &end, 10);
            if (errno || end == line + klen + 1)
                return -1;
            *v = x;
            return 0;
        }
        line = nl ? nl + 1 : NULL;
    }
    return -1;
}

static int append_pid(pid_t pid, pid_t **pids, size_t *n, size_t *cap,
                      struct zerr *e)
{
    for (size_t i = 0; i < *n; i++)
        if ((*pids)[i] == pid)
            return 0;
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        pid_t *np = realloc(*pids, ncap * sizeof *np);
        if (!np)
            return zerr_sys(e, "cgroup: listing processes");
        *pids = np;
        *cap = ncap;
    }
    (*pids)[(*n)++] = pid;
    return 0;
}

static int collect(const char *dir, int depth, pid_t **pids, size_t *n,
                   size_t *cap, struct zerr *e)
{
    char path[PATH_MAX];
    _cleanup_free_ char *text = NULL;
    _cleanup_closedir_ DIR *d = NULL;
    struct dirent *de;

    if (depth > ZCG_MAX_DEPTH)
        return zerr_set(e, ELOOP, "cgroup: %s: sub-cgroups nested too deep",
                        dir);
    if (join(path, sizeof path, dir, "cgroup.procs", e) < 0)
        return -1;
    text = zcg_read_all(path, e);
    if (!text)
        return -1;
    for (char *p = text; *p;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p)
            break;
        if (v > 0 && v <= INT_MAX && append_pid((pid_t)v, pids, n, cap, e) < 0)
            return -1;
        p = end;
        while (*p == '\n')
            p++;
    }
    d = opendir(dir);
    if (!d)
        return zerr_sys(e, "cgroup: open %s", dir);
    while ((de = readdir(d))) {
        if (de->d_type != DT_DIR || de->d_name[0] == '.')
            continue;
        if (join(path, sizeof path, dir, de->d_name, e) < 0)
            return -1;
        if (collect(path, depth + 1, pids, n, cap, e) < 0)
            return -1;
    }
    return 0;
}

int zcg_collect_pids(const char *dir, pid_t **pids, size_t *n, size_t *cap,
                     struct zerr *e)
{
    return collect(dir, 0, pids, n, cap, e);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Exited tasks leave a cgroup asynchronously, so rmdir can answer EBUSY
 * for a moment after the last process died. */
static int rmdir_retry(const char *dir, struct zerr *e)
{
    long wait_ms = 1;
    for (int attempt = 0;; attempt++) {
        if (rmdir(dir) == 0 || errno == ENOENT)
            return 0;
        if (errno != EBUSY || attempt >= 12)
            return zerr_sys(e, "cgroup: rmdir %s", dir);
        sleep_ms(wait_ms);
        if (wait_ms < 200)
            wait_ms *= 2;
    }
}

static int rmdir_tree(const char *dir, int depth, struct zerr *e)
{
    _cleanup_closedir_ DIR *d = NULL;
    struct dirent *de;
    char path[PATH_MAX];

    if (depth > ZCG_MAX_DEPTH)
        return zerr_set(e, ELOOP, "cgroup: %s: sub-cgroups nested too deep",
                        dir);
    d = opendir(dir);
    if (!d) {
        if (errno == ENOENT)
            return 0;
        return zerr_sys(e, "cgroup: open %s", dir);
    }
    while ((de = readdir(d))) {
        if (de->d_type != DT_DIR || de->d_name[0] == '.')
            continue;
        if (join(path, sizeof path, dir, de->d_name, e) < 0)
            return -1;
        if (rmdir_tree(path, depth + 1, e) < 0)
            return -1;
    }
    return rmdir_retry(dir, e);
}

int zcg_rmdir_tree(const char *dir, struct zerr *e)
{
    /* A container's cgroup rarely has sub-cgroups: one rmdir, and a walk
     * of the tree only when the kernel says it is busy (children, or tasks
     * still leaving). */
    if (rmdir(dir) == 0 || errno == ENOENT)
        return 0;
    if (errno != EBUSY && errno != ENOTEMPTY)
        return zerr_sys(e, "cgroup: rmdir %s", dir);
    return rmdir_tree(dir, 0, e);
}
