/* Layer unpack: entry names, resolution inside the target, removal, and the
 * record of what this layer made (for whiteouts in ZUNPACK_FLAT mode).
 *
 * Nothing here builds a host path from an entry name: directories are
 * opened with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) relative to
 * the target fd (core/path.c falls back to an O_NOFOLLOW walk on old
 * kernels), and the final component is always handled with *at() calls
 * relative to its parent fd and AT_SYMLINK_NOFOLLOW / O_NOFOLLOW. */
#include "images/unpack_private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/path.h"

/* ------------------------------------------------------------ names */

/* Choice for absolute names and "..": tar, runc and podman strip a leading
 * "/" and keep going, and images in the wild carry "./" prefixes, so both
 * are stripped and the entry lands inside the target. A ".." that stays
 * inside ("a/../b") is resolved lexically; one that would climb above the
 * root is refused with an error naming the entry, never clamped, because
 * such an entry is a sign of a hostile or broken layer. */
char *zu_clean_name(const char *raw, const char *kind, struct zerr *e)
{
    size_t n = strlen(raw), w = 0;
    const char *p = raw;
    char *out;

    if (n > ZU_NAME_MAX)
        return zerr_set(e, ENAMETOOLONG, "%s \"%.100s...\": name longer than %d bytes",
                        kind, raw, ZU_NAME_MAX), NULL;
    out = malloc(n + 1);
    if (!out)
        return zerr_set(e, ENOMEM, "%s \"%.200s\": out of memory", kind, raw), NULL;
    while (*p) {
        const char *end;
        size_t len;
        while (*p == '/')
            p++;
        if (!*p)
            break;
        end = strchrnul(p, '/');
        len = (size_t)(end - p);
        if (len == 1 && p[0] == '.') {
            p = end;
            continue;
        }
        if (len == 2 && p[0] == '.' && p[1] == '.') {
            if (w == 0) {
                free(out);
                return zerr_set(e, EPERM, "%s \"%.200s\": \"..\" climbs above the root",
                                kind, raw), NULL;
            }
            while (w > 0 && out[w - 1] != '/')
                w--;
            if (w > 0)
                w--;            /* the separator */
            p = end;
            continue;
        }
        if (len > NAME_MAX) {
            free(out);
            return zerr_set(e, ENAMETOOLONG, "%s \"%.200s\": component longer than %d bytes",
                            kind, raw, NAME_MAX), NULL;
        }
        if (w > 0)
            out[w++] = '/';
        memcpy(out + w, p, len);
        w += len;
        p = end;
    }
    out[w] = '\0';
    return out;
}

void zu_split(char *name, const char **parent, const char **base)
{
    char *slash = strrchr(name, '/');
    if (!slash) {
        *parent = "";
        *base = name;
    } else {
        *slash = '\0';
        *parent = name;
        *base = slash + 1;
    }
}

void zu_proc_path(char *buf, size_t n, int parent, const char *name)
{
    snprintf(buf, n, "/proc/self/fd/%d/%s", parent, name);
}

/* ------------------------------------------------------------ resolution */

int zu_openat2_in_root(int root_fd, const char *path, int flags)
{
    struct open_how how = {
        .flags = (uint64_t)(flags | O_CLOEXEC),
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    long fd;
    if (!*path)
        path = ".";
    for (int tries = 0; tries < 16; tries++) {
        fd = syscall(SYS_openat2, root_fd, path, &how, sizeof how);
        if (fd >= 0 || errno != EAGAIN)
            break;
    }
    if (fd < 0 && errno == ENOSYS) {
        /* Kernels before 5.6: core/path.c walks with O_NOFOLLOW. */
        struct zerr ignored;
        return zpath_open_in_root(root_fd, path, flags, 0, &ignored);
    }
    return (int)fd;
}

int zu_open_dir(struct zu_ctx *c, const char *dir, bool create, struct zerr *e)
{
    int fd = zu_openat2_in_root(c->root, dir, O_PATH | O_DIRECTORY);
    if (fd >= 0)
        return fd;
    if (errno != ENOENT)
        return zerr_sys(e, "directory \"%.200s\"", dir);
    if (!create) {
        zerr_sys(e, "directory \"%.200s\"", dir);
        errno = ENOENT;
        return -1;
    }
    fd = zpath_mkdir_p_in_root(c->root, dir, 0755, e);
    if (fd < 0)
        zerr_prefix(e, "creating directory \"%.200s\"", dir);
    return fd;
}

/* ------------------------------------------------------------ removal */

static int remove_tree_depth(struct zu_ctx *c, int parent, const char *name,
                             const char *entry, unsigned depth);

/* Names in a directory, read before anything is removed from it. */
static int list_dir(int dirfd, char ***names, size_t *n, struct zerr *e, const char *entry)
{
    _cleanup_closedir_ DIR *d = NULL;
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct dirent *de;
    size_t cap = 0;

    *names = NULL;
    *n = 0;
    if (fd < 0)
        return zerr_sys(e, "entry \"%.200s\": reading a directory", entry);
    d = fdopendir(fd);
    if (!d) {
        close(fd);
        return zerr_sys(e, "entry \"%.200s\": reading a directory", entry);
    }
    while ((errno = 0, de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (*n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **v = realloc(*names, ncap * sizeof *v);
            if (!v)
                goto nomem;
            *names = v;
            cap = ncap;
        }
        if (!((*names)[*n] = strdup(de->d_name)))
            goto nomem;
        (*n)++;
    }
    if (errno)
        return zerr_sys(e, "entry \"%.200s\": reading a directory", entry);
    return 0;
nomem:
    return zerr_set(e, ENOMEM, "entry \"%.200s\": out of memory", entry);
}

static void names_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static int empty_dir(struct zu_ctx *c, int dirfd, const char *entry, unsigned depth)
{
    char **names;
    size_t n;
    int ret = 0;

    if (list_dir(dirfd, &names, &n, c->e, entry) < 0) {
        names_free(names, n);
        return -1;
    }
    for (size_t i = 0; i < n && ret == 0; i++)
        ret = remove_tree_depth(c, dirfd, names[i], entry, depth + 1);
    names_free(names, n);
    return ret;
}

static int remove_tree_depth(struct zu_ctx *c, int parent, const char *name,
                             const char *entry, unsigned depth)
{
    _cleanup_close_ int fd = -1;
    struct stat st;

    if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : zerr_sys(c->e, "entry \"%.200s\": inspecting \"%.200s\"",
                                              entry, name);
    if (!S_ISDIR(st.st_mode)) {
        if (unlinkat(parent, name, 0) < 0 && errno != ENOENT)
            return zerr_sys(c->e, "entry \"%.200s\": removing \"%.200s\"", entry, name);
        return 0;
    }
    if (depth >= ZU_TREE_DEPTH)
        return zerr_set(c->e, ELOOP, "entry \"%.200s\": directory tree deeper than %d levels",
                        entry, ZU_TREE_DEPTH);
    fd = openat(parent, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return zerr_sys(c->e, "entry \"%.200s\": opening \"%.200s\"", entry, name);
    if (empty_dir(c, fd, entry, depth) < 0)
        return -1;
    if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        return zerr_sys(c->e, "entry \"%.200s\": removing directory \"%.200s\"", entry, name);
    return 0;
}

int zu_remove_tree(struct zu_ctx *c, int parent, const char *name, const char *entry)
{
    return remove_tree_depth(c, parent, name, entry, 0);
}

int zu_prepare_slot(struct zu_ctx *c, int parent, const char *name, bool want_dir,
                    bool *kept, const char *entry)
{
    struct stat st;
    *kept = false;
    if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT)
            return 0;
        return zerr_sys(c->e, "entry \"%.200s\"", entry);
    }
    if (want_dir && S_ISDIR(st.st_mode)) {
        *kept = true;
        return 0;
    }
    return zu_remove_tree(c, parent, name, entry);
}

/* ------------------------------------------------------------ marks */

static void dir_key(char *buf, size_t n, const struct stat *st)
{
    snprintf(buf, n, "d%llx:%llx", (unsigned long long)st->st_dev,
             (unsigned long long)st->st_ino);
}

static int entry_key(char **out, const struct stat *parent_st, const char *name)
{
    return asprintf(out, "e%llx:%llx/%s", (unsigned long long)parent_st->st_dev,
                    (unsigned long long)parent_st->st_ino, name) < 0 ? -1 : 0;
}

/* Marks dirfd and every directory above it up to the target root. A marked
 * directory has marked ancestors, so the walk stops at the first one
 * already known. The walk uses the physical "..", which inside the target
 * (a tree only this process writes) ends at the root. */
int zu_mark_dir_chain(struct zu_ctx *c, int dirfd)
{
    _cleanup_close_ int cur = -1;
    if (c->o->mode != ZUNPACK_FLAT)
        return 0;
    cur = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
    if (cur < 0)
        return zerr_sys(c->e, "dup");
    for (int level = 0; level < PATH_MAX; level++) {
        struct stat st;
        char key[64];
        int up;
        if (fstat(cur, &st) < 0)
            return zerr_sys(c->e, "stat of a directory");
        dir_key(key, sizeof key, &st);
        if (zu_strset_has(&c->touched, key))
            return 0;
        if (zu_strset_add(&c->touched, key) < 0)
            return zerr_set(c->e, ENOMEM, "out of memory");
        if (st.st_dev == c->root_dev && st.st_ino == c->root_ino)
            return 0;
        up = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (up < 0)
            return zerr_sys(c->e, "opening a parent directory");
        close(cur);
        cur = up;
    }
    return zerr_set(c->e, ELOOP, "directory outside the target");
}

int zu_mark_entry(struct zu_ctx *c, int parent, const char *name)
{
    struct stat pst, st;
    _cleanup_free_ char *key = NULL;

    if (c->o->mode != ZUNPACK_FLAT)
        return 0;
    if (zu_mark_dir_chain(c, parent) < 0)
        return -1;
    if (fstat(parent, &pst) < 0 || fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return zerr_sys(c->e, "entry \"%.200s\"", name);
    if (S_ISDIR(st.st_mode)) {
        char dkey[64];
        dir_key(dkey, sizeof dkey, &st);
        if (zu_strset_add(&c->touched, dkey) < 0)
            return zerr_set(c->e, ENOMEM, "out of memory");
        return 0;
    }
    if (entry_key(&key, &pst, name) < 0 || zu_strset_add(&c->touched, key) < 0)
        return zerr_set(c->e, ENOMEM, "out of memory");
    return 0;
}

bool zu_is_marked(struct zu_ctx *c, int parent, const struct stat *parent_st,
                  const char *name, const struct stat *child)
{
    _cleanup_free_ char *key = NULL;
    (void)parent;
    if (S_ISDIR(child->st_mode)) {
        char dkey[64];
        dir_key(dkey, sizeof dkey, child);
        return zu_strset_has(&c->touched, dkey);
    }
    if (entry_key(&key, parent_st, name) < 0)
        return false;
    return zu_strset_has(&c->touched, key);
}

int zu_remove_lower(struct zu_ctx *c, int dirfd, const char *entry, unsigned depth)
{
    char **names;
    size_t n;
    struct stat pst;
    int ret = 0;

    if (depth >= ZU_TREE_DEPTH)
        return zerr_set(c->e, ELOOP, "entry \"%.200s\": directory tree deeper than %d levels",
                        entry, ZU_TREE_DEPTH);
    if (fstat(dirfd, &pst) < 0)
        return zerr_sys(c->e, "entry \"%.200s\"", entry);
    if (list_dir(dirfd, &names, &n, c->e, entry) < 0) {
        names_free(names, n);
        return -1;
    }
    for (size_t i = 0; i < n && ret == 0; i++) {
        struct stat st;
        if (fstatat(dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno != ENOENT)
                ret = zerr_sys(c->e, "entry \"%.200s\": inspecting \"%.200s\"", entry, names[i]);
            continue;
        }
        if (!zu_is_marked(c, dirfd, &pst, names[i], &st)) {
            ret = zu_remove_tree(c, dirfd, names[i], entry);
        } else if (S_ISDIR(st.st_mode)) {
            int sub = openat(dirfd, names[i], O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0) {
                ret = zerr_sys(c->e, "entry \"%.200s\": opening \"%.200s\"", entry, names[i]);
                continue;
            }
            ret = zu_remove_lower(c, sub, entry, depth + 1);
            close(sub);
        }
    }
    names_free(names, n);
    return ret;
}

/* ------------------------------------------------------------ string set */

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;        /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int strset_grow(struct zu_strset *s)
{
    size_t ncap = s->cap ? s->cap * 2 : 256;
    char **slots = calloc(ncap, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < s->cap; i++) {
        if (!s->slots[i])
            continue;
        size_t j = hash_str(s->slots[i]) & (ncap - 1);
        while (slots[j])
            j = (j + 1) & (ncap - 1);
        slots[j] = s->slots[i];
    }
    free(s->slots);
    s->slots = slots;
    s->cap = ncap;
    return 0;
}

bool zu_strset_has(const struct zu_strset *s, const char *key)
{
    if (!s->cap)
        return false;
    for (size_t j = hash_str(key) & (s->cap - 1); s->slots[j]; j = (j + 1) & (s->cap - 1))
        if (!strcmp(s->slots[j], key))
            return true;
    return false;
}

int zu_strset_add(struct zu_strset *s, const char *key)
{
    size_t j;
    if (zu_strset_has(s, key))
        return 0;
    if ((s->used + 1) * 2 > s->cap && strset_grow(s) < 0)
        return -1;
    j = hash_str(key) & (s->cap - 1);
    while (s->slots[j])
        j = (j + 1) & (s->cap - 1);
    if (!(s->slots[j] = strdup(key)))
        return -1;
    s->used++;
    return 0;
}

void zu_strset_free(struct zu_strset *s)
{
    for (size_t i = 0; i < s->cap; i++)
        free(s->slots[i]);
    free(s->slots);
    s->slots = NULL;
    s->cap = s->used = 0;
}
