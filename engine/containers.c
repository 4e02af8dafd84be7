/* Developer container records (see containers.h). */
#include "engine/containers.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "core/path.h"
#include "images/userns.h"

#define RECORD_MAX (1u << 20)
#define NAME_MAX_LEN 128

void zctr_clear(struct zctr *c)
{
    free(c->name);
    free(c->image);
    free(c->manifest);
    free(c->created);
    for (size_t i = 0; i < c->n_command; i++)
        free(c->command[i]);
    free(c->command);
    free(c->root);
    free(c->finished);
    memset(c, 0, sizeof *c);
}

char *zctr_base_dir(const char *store_dir)
{
    return zpath_join(store_dir, "containers");
}

char *zctr_dir(const char *store_dir, const char *id)
{
    char *p = NULL;
    if (asprintf(&p, "%s/containers/%s", store_dir, id) < 0)
        return NULL;
    return p;
}

void zctr_now(char *buf, size_t size)
{
    struct timespec ts;
    struct tm tm;
    size_t n;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, size - n, ".%09ldZ", ts.tv_nsec);
}

time_t zctr_parse_time(const char *s)
{
    struct tm tm = {0};
    if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%S", &tm))
        return 0;
    return timegm(&tm);
}

int zctr_check_name(const char *name, struct zerr *e)
{
    size_t len = strlen(name);
    bool ok = len > 0 && len <= NAME_MAX_LEN;
    for (size_t i = 0; ok && i < len; i++) {
        char ch = name[i];
        bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
        ok = alnum || (i > 0 && (ch == '_' || ch == '.' || ch == '-'));
    }
    if (!ok)
        return zerr_set(e, EINVAL, "invalid container name \"%s\": names must match "
                        "[a-zA-Z0-9][a-zA-Z0-9_.-]* (at most %d characters)", name, NAME_MAX_LEN);
    return 0;
}

static bool is_id(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return false;
    return n == ZCTR_ID_LEN;
}

static int random_hex(char *out, size_t n_hex, struct zerr *e)
{
    unsigned char raw[ZCTR_ID_LEN / 2];
    size_t need = (n_hex + 1) / 2, got = 0;
    while (got < need) {
        ssize_t r = getrandom(raw + got, need - got, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return zerr_sys(e, "getrandom");
        }
        got += (size_t)r;
    }
    for (size_t i = 0; i < n_hex; i++)
        out[i] = "0123456789abcdef"[(raw[i / 2] >> (i % 2 ? 0 : 4)) & 0xf];
    out[n_hex] = '\0';
    return 0;
}

/* ---------------------------------------------------------------- JSON */

#define GEN_STR(g, s) yajl_gen_string(g, (const unsigned char *)(s), strlen(s))

static void gen_kv(yajl_gen g, const char *k, const char *v)
{
    GEN_STR(g, k);
    if (v)
        GEN_STR(g, v);
    else
        yajl_gen_null(g);
}

static int gen_finish(yajl_gen g, int dirfd, const char *file, struct zerr *e)
{
    const unsigned char *buf;
    size_t len;
    int rc;
    yajl_gen_get_buf(g, &buf, &len);
    rc = zfile_write_atomic(dirfd, file, buf, len, 0600, e);
    yajl_gen_free(g);
    return rc;
}

static int record_write(int dirfd, const struct zctr *c, struct zerr *e)
{
    yajl_gen g = yajl_gen_alloc(NULL);
    if (!g)
        return zerr_set(e, ENOMEM, "out of memory");
    yajl_gen_config(g, yajl_gen_beautify, 1);
    yajl_gen_map_open(g);
    gen_kv(g, "id", c->id);
    gen_kv(g, "name", c->name);
    gen_kv(g, "image", c->image);
    gen_kv(g, "manifest", c->manifest);
    gen_kv(g, "created", c->created);
    GEN_STR(g, "command");
    yajl_gen_array_open(g);
    for (size_t i = 0; i < c->n_command; i++)
        GEN_STR(g, c->command[i]);
    yajl_gen_array_close(g);
    gen_kv(g, "root", c->root);
    GEN_STR(g, "rm");
    yajl_gen_bool(g, c->rm);
    GEN_STR(g, "timeout");
    yajl_gen_integer(g, c->timeout);
    yajl_gen_map_close(g);
    return gen_finish(g, dirfd, ZCTR_RECORD, e);
}

int zctr_write_exit(int dirfd, int exit_code, int signal, struct zerr *e)
{
    char now[64];
    yajl_gen g = yajl_gen_alloc(NULL);
    if (!g)
        return zerr_set(e, ENOMEM, "out of memory");
    zctr_now(now, sizeof now);
    yajl_gen_map_open(g);
    GEN_STR(g, "exit_code");
    yajl_gen_integer(g, exit_code);
    gen_kv(g, "finished", now);
    GEN_STR(g, "signal");
    yajl_gen_integer(g, signal);
    yajl_gen_map_close(g);
    return gen_finish(g, dirfd, ZCTR_EXIT, e);
}

static char *json_strdup(const struct zjson *v)
{
    return v && v->type == ZJSON_STRING ? strdup(v->u.str) : NULL;
}

static int json_int(const struct zjson *v, int64_t def)
{
    int64_t n;
    if (v && v->type == ZJSON_NUMBER && zjson_int64(v, &n) == 0 && n >= INT32_MIN && n <= INT32_MAX)
        return (int)n;
    return (int)def;
}

static int read_json(int dirfd, const char *file, struct zjson_doc **doc, struct zerr *e)
{
    _cleanup_close_ int fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    _cleanup_free_ char *buf = NULL;
    size_t len = 0, cap = 0;
    if (fd < 0)
        return zerr_sys(e, "%s", file);
    for (;;) {
        ssize_t n;
        if (len == cap) {
            char *nb;
            if (cap >= RECORD_MAX)
                return zerr_set(e, EFBIG, "%s: larger than %u bytes", file, RECORD_MAX);
            cap = cap ? cap * 2 : 4096;
            nb = realloc(buf, cap);
            if (!nb)
                return zerr_set(e, ENOMEM, "out of memory");
            buf = nb;
        }
        n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return zerr_sys(e, "read %s", file);
        if (n == 0)
            break;
        len += (size_t)n;
    }
    *doc = zjson_parse(buf, len, e);
    if (!*doc)
        return zerr_prefix(e, "%s", file);
    return 0;
}

static int record_parse(int dirfd, const char *id, struct zctr *c, struct zerr *e)
{
    struct zjson_doc *doc = NULL;
    const struct zjson *root, *cmd, *v;
    memset(c, 0, sizeof *c);
    if (read_json(dirfd, ZCTR_RECORD, &doc, e) < 0)
        return zerr_prefix(e, "container %s", id);
    root = zjson_root(doc);
    v = zjson_get(root, "id");
    if (root->type != ZJSON_OBJECT || !v || v->type != ZJSON_STRING || strcmp(v->u.str, id)) {
        zjson_doc_free(doc);
        return zerr_set(e, EINVAL, "container %s: %s: id does not match its directory", id, ZCTR_RECORD);
    }
    snprintf(c->id, sizeof c->id, "%s", id);
    c->name = json_strdup(zjson_get(root, "name"));
    c->image = json_strdup(zjson_get(root, "image"));
    c->manifest = json_strdup(zjson_get(root, "manifest"));
    c->created = json_strdup(zjson_get(root, "created"));
    c->root = json_strdup(zjson_get(root, "root"));
    v = zjson_get(root, "rm");
    c->rm = v && v->type == ZJSON_BOOL && v->u.boolean;
    c->timeout = json_int(zjson_get(root, "timeout"), 0);
    cmd = zjson_get(root, "command");
    if (cmd && cmd->type == ZJSON_ARRAY && cmd->len) {
        c->command = calloc(cmd->len + 1, sizeof *c->command);
        for (size_t i = 0; c->command && i < cmd->len; i++)
            if (cmd->u.items[i]->type == ZJSON_STRING)
                c->command[c->n_command++] = strdup(cmd->u.items[i]->u.str);
    }
    zjson_doc_free(doc);
    if (!c->name) {
        zctr_clear(c);
        return zerr_set(e, EINVAL, "container %s: %s: no name", id, ZCTR_RECORD);
    }

    if (faccessat(dirfd, ZCTR_EXIT, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
        struct zerr ignored;
        if (read_json(dirfd, ZCTR_EXIT, &doc, &ignored) == 0) {
            root = zjson_root(doc);
            c->exited = true;
            c->exit_code = json_int(zjson_get(root, "exit_code"), -1);
            c->signal = json_int(zjson_get(root, "signal"), 0);
            c->finished = json_strdup(zjson_get(root, "finished"));
            zjson_doc_free(doc);
        }
    }
    return 0;
}

int zctr_load(const char *store_dir, const char *id, struct zctr *c, struct zerr *e)
{
    _cleanup_free_ char *dir = NULL;
    _cleanup_close_ int fd = -1;
    if (!is_id(id))
        return zerr_set(e, EINVAL, "invalid container id \"%s\"", id);
    dir = zctr_dir(store_dir, id);
    if (!dir)
        return zerr_set(e, ENOMEM, "out of memory");
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ENOENT)
            return zerr_set(e, ENOENT, "no container with ID \"%s\" found", id);
        return zerr_sys(e, "%s", dir);
    }
    return record_parse(fd, id, c, e);
}

/* --------------------------------------------------------------- listing */

static int cmp_created_desc(const void *a, const void *b)
{
    const struct zctr *x = a, *y = b;
    int r = strcmp(y->created ? y->created : "", x->created ? x->created : "");
    return r ? r : strcmp(x->id, y->id);
}

void zctr_list_free(struct zctr *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        zctr_clear(&v[i]);
    free(v);
}

int zctr_list(const char *store_dir, struct zctr **out, size_t *n, struct zerr *e)
{
    _cleanup_free_ char *base = zctr_base_dir(store_dir);
    _cleanup_closedir_ DIR *d = NULL;
    struct zctr *v = NULL;
    size_t cnt = 0, cap = 0;
    struct dirent *de;

    *out = NULL;
    *n = 0;
    if (!base)
        return zerr_set(e, ENOMEM, "out of memory");
    d = opendir(base);
    if (!d) {
        if (errno == ENOENT)
            return 0;
        return zerr_sys(e, "%s", base);
    }
    while ((de = readdir(d))) {
        _cleanup_close_ int fd = -1;
        struct zerr ignored;
        if (!is_id(de->d_name))
            continue;
        fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
            continue;
        if (cnt == cap) {
            struct zctr *nv = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof *v);
            if (!nv) {
                zctr_list_free(v, cnt);
                return zerr_set(e, ENOMEM, "out of memory");
            }
            v = nv;
        }
        /* a record being written or removed right now is skipped */
        if (record_parse(fd, de->d_name, &v[cnt], &ignored) == 0)
            cnt++;
    }
    if (cnt)
        qsort(v, cnt, sizeof *v, cmp_created_desc);
    *out = v;
    *n = cnt;
    return 0;
}

int zctr_resolve(const char *store_dir, const char *name_or_id, char id[ZCTR_ID_LEN + 1],
                 struct zerr *e)
{
    struct zctr *v;
    size_t n, len = strlen(name_or_id), prefix_hits = 0, at = 0;
    int rc = -1;
    if (zctr_list(store_dir, &v, &n, e) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(v[i].id, name_or_id) || !strcmp(v[i].name, name_or_id)) {
            memcpy(id, v[i].id, ZCTR_ID_LEN + 1);
            rc = 0;
            goto out;
        }
    }
    for (size_t i = 0; len > 0 && i < n; i++) {
        if (!strncmp(v[i].id, name_or_id, len)) {
            prefix_hits++;
            at = i;
        }
    }
    if (prefix_hits == 1) {
        memcpy(id, v[at].id, ZCTR_ID_LEN + 1);
        rc = 0;
    } else if (prefix_hits > 1) {
        zerr_set(e, EINVAL, "more than one container matches \"%s\": give more of the ID",
                 name_or_id);
    } else {
        zerr_set(e, ENOENT, "no container with name or ID \"%s\" found", name_or_id);
    }
out:
    zctr_list_free(v, n);
    return rc;
}

/* --------------------------------------------------------------- locking */

static int lock_fd(int fd, struct zerr *e, const char *what)
{
    while (flock(fd, LOCK_EX) < 0) {
        if (errno != EINTR)
            return zerr_sys(e, "lock %s", what);
    }
    return 0;
}

/* The containers lock: serialises creating and removing records. */
static int base_lock(const char *store_dir, struct zerr *e)
{
    _cleanup_free_ char *base = zctr_base_dir(store_dir);
    _cleanup_free_ char *path = NULL;
    int fd;
    if (!base || asprintf(&path, "%s/.lock", base) < 0)
        return zerr_set(e, ENOMEM, "out of memory");
    if (mkdir(base, 0700) < 0 && errno != EEXIST)
        return zerr_sys(e, "create %s", base);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return zerr_sys(e, "open %s", path);
    if (lock_fd(fd, e, path) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int zctr_lock(const char *store_dir, const char *id, struct zerr *e)
{
    _cleanup_free_ char *dir = zctr_dir(store_dir, id);
    int fd;
    if (!dir)
        return zerr_set(e, ENOMEM, "out of memory");
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ENOENT)
            return zerr_set(e, ENOENT, "no container with ID \"%s\" found", id);
        return zerr_sys(e, "%s", dir);
    }
    if (lock_fd(fd, e, dir) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* -------------------------------------------------------------- creation */

int zctr_create(const char *store_dir, struct zctr *c, struct zerr *e)
{
    _cleanup_close_ int lock = -1, fd = -1;
    _cleanup_free_ char *dir = NULL;
    struct zctr *v;
    size_t n;
    char now[64];
    bool generated = !c->name;

    if (c->name && zctr_check_name(c->name, e) < 0)
        return -1;
    lock = base_lock(store_dir, e);
    if (lock < 0)
        return -1;
    if (zctr_list(store_dir, &v, &n, e) < 0)
        return -1;
    for (int attempt = 0;; attempt++) {
        bool taken = false;
        if (random_hex(c->id, ZCTR_ID_LEN, e) < 0)
            goto fail;
        if (generated) {
            char hex[13];
            free(c->name);
            if (random_hex(hex, 12, e) < 0 || asprintf(&c->name, "zone_%s", hex) < 0) {
                c->name = NULL;
                goto fail;
            }
        }
        bool id_taken = false;
        for (size_t i = 0; i < n; i++) {
            taken = taken || !strcmp(v[i].name, c->name);
            id_taken = id_taken || !strcmp(v[i].id, c->id);
        }
        if (!taken && !id_taken)
            break;
        if (taken && !generated) {
            for (size_t i = 0; i < n; i++)
                if (!strcmp(v[i].name, c->name))
                    zerr_set(e, EEXIST, "the container name \"%s\" is already in use by %.12s: "
                             "remove it (zone rm) or choose another --name", c->name, v[i].id);
            goto fail;
        }
        if (attempt > 8) {
            zerr_set(e, EEXIST, "could not generate a unique container name");
            goto fail;
        }
    }
    zctr_list_free(v, n);
    v = NULL;
    n = 0;

    zctr_now(now, sizeof now);
    free(c->created);
    c->created = strdup(now);
    dir = zctr_dir(store_dir, c->id);
    if (!dir || !c->created)
        return zerr_set(e, ENOMEM, "out of memory");
    if (mkdir(dir, 0700) < 0)
        return zerr_sys(e, "create %s", dir);
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 || record_write(fd, c, e) < 0) {
        if (fd < 0)
            zerr_sys(e, "open %s", dir);
        zctr_remove_tree(dir, &(struct zerr){0});
        return -1;
    }
    return 0;
fail:
    zctr_list_free(v, n);
    return -1;
}

/* -------------------------------------------------------------- removal */

/* Removes everything inside the directory dfd. The tree may hold entries of
 * other owners and directories without write or search permission (an
 * overlay upper written by the container): such a directory is opened for
 * writing by granting ourselves permission first (we own it, or are root).
 * Never crosses into another filesystem. */
static int empty_dir(int dfd, dev_t dev, const char *path, int depth, struct zerr *e)
{
    DIR *d;
    struct dirent *de;
    int rc = 0, dup_fd;
    if (depth > 4096)
        return zerr_set(e, ELOOP, "%s: directory tree too deep", path);
    dup_fd = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
    if (dup_fd < 0)
        return zerr_sys(e, "%s", path);
    d = fdopendir(dup_fd);
    if (!d) {
        close(dup_fd);
        return zerr_sys(e, "%s", path);
    }
    while ((de = readdir(d))) {
        struct stat st;
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno == ENOENT)
                continue;
            rc = zerr_sys(e, "%s/%s", path, de->d_name);
            break;
        }
        if (S_ISDIR(st.st_mode)) {
            int sub;
            if (st.st_dev != dev) {
                rc = zerr_set(e, EBUSY, "%s/%s: a mount point; not removed", path, de->d_name);
                break;
            }
            if ((st.st_mode & 0700) != 0700)
                fchmodat(dfd, de->d_name, 0700, 0);
            sub = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
            if (sub < 0) {
                rc = zerr_sys(e, "%s/%s", path, de->d_name);
                break;
            }
            {
                char *subpath = NULL;
                if (asprintf(&subpath, "%s/%s", path, de->d_name) < 0)
                    subpath = NULL;
                rc = empty_dir(sub, dev, subpath ? subpath : path, depth + 1, e);
                free(subpath);
            }
            close(sub);
            if (rc < 0)
                break;
            if (unlinkat(dfd, de->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT) {
                rc = zerr_sys(e, "remove %s/%s", path, de->d_name);
                break;
            }
        } else if (unlinkat(dfd, de->d_name, 0) < 0 && errno != ENOENT) {
            rc = zerr_sys(e, "remove %s/%s", path, de->d_name);
            break;
        }
    }
    closedir(d);
    return rc;
}

static int remove_tree_here(const char *path, struct zerr *e)
{
    struct stat st;
    int fd;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : zerr_sys(e, "%s", path);
    if (!S_ISDIR(st.st_mode)) {
        if (unlink(path) < 0 && errno != ENOENT)
            return zerr_sys(e, "remove %s", path);
        return 0;
    }
    if ((st.st_mode & 0700) != 0700)
        chmod(path, 0700);
    fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return zerr_sys(e, "%s", path);
    if (empty_dir(fd, st.st_dev, path, 0, e) < 0) {
        close(fd);
        return -1;
    }
    close(fd);
    if (rmdir(path) < 0 && errno != ENOENT)
        return zerr_sys(e, "remove %s", path);
    return 0;
}

static int remove_tree_run(void *path, struct zerr *e)
{
    return remove_tree_here(path, e);
}

int zctr_remove_tree(const char *path, struct zerr *e)
{
    /* Rootless, the overlay upper holds files of the user's subordinate
     * ids (what container uid 1000 wrote): only root of the user's user
     * namespace may remove them. */
    if (zuserns_wanted())
        return zuserns_run(remove_tree_run, (void *)path, e);
    return remove_tree_here(path, e);
}

int zctr_remove(const char *store_dir, const char *id, struct zerr *e)
{
    _cleanup_close_ int lock = -1, dir_lock = -1;
    _cleanup_free_ char *dir = NULL;
    if (!is_id(id))
        return zerr_set(e, EINVAL, "invalid container id \"%s\"", id);
    dir = zctr_dir(store_dir, id);
    if (!dir)
        return zerr_set(e, ENOMEM, "out of memory");
    lock = base_lock(store_dir, e);
    if (lock < 0)
        return -1;
    /* and the record's own lock, so a monitor writing exit.json is not
     * interrupted half way; it finds the record gone afterwards */
    dir_lock = zctr_lock(store_dir, id, e);
    if (dir_lock < 0)
        return e->code == ENOENT ? 0 : -1;
    return zctr_remove_tree(dir, e);
}
