#include "runtime/state.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "cgroups/cgroups.h"
#include "core/cleanup.h"
#include "core/path.h"
#include "core/userns.h"

#define ID_MAX 1024

int zstate_check_id(const char *id, struct zerr *e)
{
    size_t len;
    if (!id || !*id)
        return zerr_set(e, EINVAL, "container id cannot be empty");
    len = strlen(id);
    if (len > ID_MAX)
        return zerr_set(e, EINVAL, "invalid container id: longer than %d bytes", ID_MAX);
    for (size_t i = 0; i < len; i++) {
        char c = id[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  (i > 0 && (c == '_' || c == '.' || c == '+' || c == '-'));
        if (!ok)
            return zerr_set(e, EINVAL, "invalid container id format: %s", id);
    }
    return 0;
}

const char *zstate_default_root(char *buf, size_t size, struct zerr *e)
{
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    const char *user = getenv("USER");
    bool have_xdg = xdg && *xdg;

    if (geteuid() == 0) {
        /* Real root keeps /run/zone. Root of a user namespace (an engine
         * running rootless, e.g. podman) uses the XDG directory it was
         * given, unless it says it is root (USER=root), as runc does. */
        if (!have_xdg || (user && strcmp(user, "root") == 0) || zuserns_is_initial())
            return ZSTATE_ROOT_DEFAULT;
    } else if (!have_xdg) {
        zerr_set(e, ENOENT, "XDG_RUNTIME_DIR is not set: running as uid %u, zone keeps "
                 "container state in $XDG_RUNTIME_DIR/zone; set XDG_RUNTIME_DIR (e.g. "
                 "/run/user/%u) or give --root DIR", (unsigned)geteuid(),
                 (unsigned)geteuid());
        return NULL;
    }
    if (xdg[0] != '/') {
        zerr_set(e, EINVAL, "XDG_RUNTIME_DIR must be an absolute path, not \"%s\"", xdg);
        return NULL;
    }
    if ((size_t)snprintf(buf, size, "%s/zone", xdg) >= size) {
        zerr_set(e, ENAMETOOLONG, "XDG_RUNTIME_DIR is too long");
        return NULL;
    }
    return buf;
}

int zstate_root_prepare(const char *root, struct zerr *e)
{
    if (mkdir(root, 0700) == 0 || errno == EEXIST)
        return 0;
    if (errno == ENOENT) {
        /* create parents, e.g. $XDG_RUNTIME_DIR/zone */
        _cleanup_free_ char *copy = strdup(root);
        if (!copy)
            return zerr_sys(e, "strdup");
        for (char *p = copy + 1; *p; p++) {
            if (*p != '/')
                continue;
            *p = '\0';
            if (mkdir(copy, 0755) < 0 && errno != EEXIST)
                return zerr_sys(e, "mkdir %s", copy);
            *p = '/';
        }
        if (mkdir(root, 0700) == 0 || errno == EEXIST)
            return 0;
    }
    return zerr_sys(e, "mkdir %s", root);
}

static int lock_dir(int dirfd, const char *path, struct zerr *e)
{
    struct stat st;
    while (flock(dirfd, LOCK_EX) < 0) {
        if (errno != EINTR)
            return zerr_sys(e, "lock %s", path);
    }
    /* Someone may have removed the directory while we waited. */
    if (fstat(dirfd, &st) < 0)
        return zerr_sys(e, "stat %s", path);
    if (st.st_nlink == 0) {
        errno = ENOENT;
        return -1;
    }
    return 0;
}

static char *join_path(const char *root, const char *id)
{
    char *p = NULL;
    if (asprintf(&p, "%s/%s", root, id) < 0)
        return NULL;
    return p;
}

int zstate_dir_create(const char *root, const char *id, struct zstate_dir *sd,
                      struct zerr *e)
{
    _cleanup_free_ char *path = NULL;
    _cleanup_close_ int fd = -1;

    memset(sd, 0, sizeof *sd);
    sd->dirfd = -1;
    if (zstate_check_id(id, e) < 0 || zstate_root_prepare(root, e) < 0)
        return -1;
    path = join_path(root, id);
    if (!path)
        return zerr_sys(e, "asprintf");
    if (mkdir(path, 0711) < 0) {
        if (errno == EEXIST)
            return zerr_set(e, EEXIST, "container with given ID already exists: %s", id);
        return zerr_sys(e, "mkdir %s", path);
    }
    fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        zerr_sys(e, "open %s", path);
        rmdir(path);
        return -1;
    }
    if (lock_dir(fd, path, e) < 0) {
        rmdir(path);
        return -1;
    }
    sd->dirfd = steal_fd(&fd);
    sd->path = steal_ptr(&path);
    sd->id = strdup(id);
    return 0;
}

int zstate_dir_open(const char *root, const char *id, struct zstate_dir *sd,
                    struct zerr *e)
{
    _cleanup_free_ char *path = NULL;
    _cleanup_close_ int fd = -1;

    memset(sd, 0, sizeof *sd);
    sd->dirfd = -1;
    if (zstate_check_id(id, e) < 0)
        return -1;
    path = join_path(root, id);
    if (!path)
        return zerr_sys(e, "asprintf");
    fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return zerr_set(e, ENOENT, "container does not exist: %s", id);
        return zerr_sys(e, "open %s", path);
    }
    if (lock_dir(fd, path, e) < 0) {
        if (errno == ENOENT)
            return zerr_set(e, ENOENT, "container does not exist: %s", id);
        return -1;
    }
    sd->dirfd = steal_fd(&fd);
    sd->path = steal_ptr(&path);
    sd->id = strdup(id);
    return 0;
}

void zstate_dir_close(struct zstate_dir *sd)
{
    if (sd->dirfd >= 0)
        close(sd->dirfd); /* releases the flock */
    sd->dirfd = -1;
    free(sd->path);
    free(sd->id);
    sd->path = sd->id = NULL;
}

int zstate_dir_remove(struct zstate_dir *sd, struct zerr *e)
{
    _cleanup_closedir_ DIR *d = NULL;
    int fd = dup(sd->dirfd);
    struct dirent *de;

    if (fd < 0)
        return zerr_sys(e, "dup");
    d = fdopendir(fd);
    if (!d) {
        close(fd);
        return zerr_sys(e, "opendir %s", sd->path);
    }
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (unlinkat(sd->dirfd, de->d_name, 0) < 0 && errno != ENOENT)
            return zerr_sys(e, "remove %s/%s", sd->path, de->d_name);
    }
    if (rmdir(sd->path) < 0 && errno != ENOENT)
        return zerr_sys(e, "remove %s", sd->path);
    zstate_dir_close(sd);
    return 0;
}

/* ------------------------------------------------------------ record JSON */

#define GEN_STR(g, s) yajl_gen_string(g, (const unsigned char *)(s), strlen(s))

static void gen_kv_str(yajl_gen g, const char *k, const char *v)
{
    if (!v)
        return;
    GEN_STR(g, k);
    GEN_STR(g, v);
}

static void gen_kv_int(yajl_gen g, const char *k, long long v)
{
    GEN_STR(g, k);
    yajl_gen_integer(g, v);
}

int zstate_record_write(const struct zstate_dir *sd,
                        const struct zcontainer_record *r, struct zerr *e)
{
    yajl_gen g = yajl_gen_alloc(NULL);
    const unsigned char *buf;
    size_t len;
    int rc;

    if (!g)
        return zerr_set(e, ENOMEM, "yajl_gen_alloc");
    yajl_gen_map_open(g);
    gen_kv_str(g, "id", r->id);
    gen_kv_str(g, "bundle", r->bundle);
    gen_kv_str(g, "rootfs", r->rootfs);
    gen_kv_int(g, "pid", r->pid);
    gen_kv_int(g, "pid_start", (long long)r->pid_start);
    gen_kv_str(g, "created", r->created);
    gen_kv_int(g, "owner", r->owner);
    gen_kv_str(g, "cgroup", r->cgroup);
    gen_kv_int(g, "ns_flags", r->ns_flags);
    GEN_STR(g, "vm");
    yajl_gen_bool(g, r->vm);
    if (r->n_annotations) {
        GEN_STR(g, "annotations");
        yajl_gen_map_open(g);
        for (size_t i = 0; i < r->n_annotations; i++)
            gen_kv_str(g, r->annotations[i].key, r->annotations[i].value);
        yajl_gen_map_close(g);
    }
    yajl_gen_map_close(g);
    yajl_gen_get_buf(g, &buf, &len);
    rc = zfile_write_atomic(sd->dirfd, ZSTATE_FILE, buf, len, 0600, e);
    yajl_gen_free(g);
    if (rc < 0)
        return zerr_prefix(e, "write state of %s", sd->id ? sd->id : r->id);
    return 0;
}

static char *tree_str(yajl_val root, const char *key)
{
    const char *path[] = {key, NULL};
    yajl_val v = yajl_tree_get(root, path, yajl_t_string);
    return v && v->u.string ? strdup(v->u.string) : NULL;
}

static long long tree_int(yajl_val root, const char *key)
{
    const char *path[] = {key, NULL};
    yajl_val v = yajl_tree_get(root, path, yajl_t_number);
    return (v && YAJL_IS_INTEGER(v)) ? YAJL_GET_INTEGER(v) : 0;
}

int zstate_record_read(int dirfd, const char *origin,
                       struct zcontainer_record *r, struct zerr *e)
{
    char buf[65536], errbuf[256];
    _cleanup_close_ int fd = openat(dirfd, ZSTATE_FILE, O_RDONLY | O_CLOEXEC);
    ssize_t n, total = 0;
    yajl_val root;

    memset(r, 0, sizeof *r);
    if (fd < 0)
        return zerr_sys(e, "%s: open " ZSTATE_FILE, origin);
    while ((n = read(fd, buf + total, sizeof buf - 1 - (size_t)total)) > 0)
        total += n;
    if (n < 0)
        return zerr_sys(e, "%s: read " ZSTATE_FILE, origin);
    buf[total] = '\0';
    root = yajl_tree_parse(buf, errbuf, sizeof errbuf);
    if (!root || !YAJL_IS_OBJECT(root)) {
        if (root)
            yajl_tree_free(root);
        return zerr_set(e, EINVAL, "%s/" ZSTATE_FILE ": malformed state: %s", origin, errbuf);
    }
    r->id = tree_str(root, "id");
    r->bundle = tree_str(root, "bundle");
    r->rootfs = tree_str(root, "rootfs");
    r->pid = (pid_t)tree_int(root, "pid");
    r->pid_start = (uint64_t)tree_int(root, "pid_start");
    r->created = tree_str(root, "created");
    r->owner = (uid_t)tree_int(root, "owner");
    r->cgroup = tree_str(root, "cgroup");
    r->ns_flags = (int)tree_int(root, "ns_flags");
    {
        const char *path[] = {"vm", NULL};
        r->vm = YAJL_IS_TRUE(yajl_tree_get(root, path, yajl_t_any));
    }
    {
        const char *path[] = {"annotations", NULL};
        yajl_val a = yajl_tree_get(root, path, yajl_t_object);
        if (a && a->u.object.len) {
            size_t len = a->u.object.len;
            r->annotations = calloc(len, sizeof *r->annotations);
            for (size_t i = 0; r->annotations && i < len; i++) {
                yajl_val v = a->u.object.values[i];
                if (!YAJL_IS_STRING(v) || !v->u.string)
                    continue;
                r->annotations[r->n_annotations].key = strdup(a->u.object.keys[i]);
                r->annotations[r->n_annotations].value = strdup(v->u.string);
                r->n_annotations++;
            }
        }
    }
    yajl_tree_free(root);
    if (!r->id || !r->bundle) {
        zstate_record_clear(r);
        return zerr_set(e, EINVAL, "%s/" ZSTATE_FILE ": malformed state: missing id or bundle",
                        origin);
    }
    return 0;
}

void zstate_record_clear(struct zcontainer_record *r)
{
    free(r->id);
    free(r->bundle);
    free(r->rootfs);
    free(r->created);
    free(r->cgroup);
    for (size_t i = 0; i < r->n_annotations; i++) {
        free(r->annotations[i].key);
        free(r->annotations[i].value);
    }
    free(r->annotations);
    memset(r, 0, sizeof *r);
}

/* ------------------------------------------------------------ status */

uint64_t zproc_start_time(pid_t pid)
{
    char path[64], buf[1024];
    int fd;
    ssize_t n;
    char *p;

    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    /* comm may contain spaces and parens: fields start after the last ')' */
    p = strrchr(buf, ')');
    if (!p || p[1] != ' ')
        return 0;
    p += 2; /* field 3: state */
    if (*p == 'Z' || *p == 'X')
        return 0;
    for (int field = 3; field < 22; field++) {
        p = strchr(p, ' ');
        if (!p)
            return 0;
        p++;
    }
    return strtoull(p, NULL, 10);
}

bool zstate_pid_alive(pid_t pid, uint64_t start_time)
{
    uint64_t now;
    if (pid <= 0)
        return false;
    now = zproc_start_time(pid);
    return now != 0 && now == start_time;
}

enum zstate_status zstate_status_of(int dirfd, const struct zcontainer_record *r)
{
    struct stat st;
    if (r->pid == 0)
        /* create recorded the container but has not started its init yet */
        return fstatat(dirfd, ZSTATE_FIFO, &st, AT_SYMLINK_NOFOLLOW) == 0 ? ZSTATUS_CREATING
                                                                          : ZSTATUS_STOPPED;
    if (!zstate_pid_alive(r->pid, r->pid_start))
        return ZSTATUS_STOPPED;
    if (fstatat(dirfd, ZSTATE_FIFO, &st, AT_SYMLINK_NOFOLLOW) == 0)
        return ZSTATUS_CREATED;
    if (r->cgroup) {
        struct zerr e;
        bool frozen = false;
        if (zcg_record_is_frozen(r->cgroup, &frozen, &e) == 0 && frozen)
            return ZSTATUS_PAUSED;
    }
    return ZSTATUS_RUNNING;
}

void zstate_now_rfc3339(char *buf, size_t size)
{
    struct timespec ts;
    struct tm tm;
    size_t n;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, size - n, ".%09ldZ", ts.tv_nsec);
}
