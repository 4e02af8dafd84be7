#include "core/path.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/cleanup.h"

#define MAX_SYMLINKS 40
/* Bounded retries for races with a concurrently changing tree (mkdir vs
 * someone else's mkdir, openat2's EAGAIN on renames). */
#define MAX_RETRIES 32

static bool force_fallback;
static bool no_openat2;

void zpath_force_fallback(bool on) { force_fallback = on; }

/* ------------------------------------------------------------ lexical */

bool zpath_is_abs(const char *path) { return path && path[0] == '/'; }

char *zpath_clean(const char *path)
{
    size_t n = strlen(path);
    bool rooted = n > 0 && path[0] == '/';
    char *out = malloc(n + 2);
    size_t w = 0, r = 0, dotdot = 0;

    if (!out)
        return NULL;
    if (rooted) {
        out[w++] = '/';
        r = 1;
        dotdot = 1;
    }
    while (r < n) {
        if (path[r] == '/') {
            r++;
        } else if (path[r] == '.' && (r + 1 == n || path[r + 1] == '/')) {
            r++;
        } else if (path[r] == '.' && path[r + 1] == '.' &&
                   (r + 2 == n || path[r + 2] == '/')) {
            r += 2;
            if (w > dotdot) {
                /* drop the last element */
                w--;
                while (w > dotdot && out[w] != '/')
                    w--;
            } else if (!rooted) {
                /* cannot go above a relative start: keep the ".." */
                if (w > 0)
                    out[w++] = '/';
                out[w++] = '.';
                out[w++] = '.';
                dotdot = w;
            }
        } else {
            if ((rooted && w != 1) || (!rooted && w != 0))
                out[w++] = '/';
            while (r < n && path[r] != '/')
                out[w++] = path[r++];
        }
    }
    if (w == 0)
        out[w++] = '.';
    out[w] = '\0';
    return out;
}

char *zpath_join(const char *a, const char *b)
{
    _cleanup_free_ char *both = NULL;
    if (asprintf(&both, "%s/%s", a, b) < 0)
        return NULL;
    return zpath_clean(both);
}

bool zpath_has_prefix(const char *path, const char *prefix)
{
    size_t n = strlen(prefix);
    if (n == 1 && prefix[0] == '/')
        return path[0] == '/';
    return strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* ------------------------------------------------------------ resolution */

enum walk_mode { WALK_OPEN, WALK_MKDIR, WALK_MKFILE };

struct walk_stack {
    char **names;
    size_t depth, cap;
};

static void walk_stack_free(struct walk_stack *s)
{
    for (size_t i = 0; i < s->depth; i++)
        free(s->names[i]);
    free(s->names);
}

static int walk_stack_push(struct walk_stack *s, const char *name)
{
    if (s->depth == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        char **n = realloc(s->names, cap * sizeof *n);
        if (!n)
            return -1;
        s->names = n;
        s->cap = cap;
    }
    if (!(s->names[s->depth] = strdup(name)))
        return -1;
    s->depth++;
    return 0;
}

/* Opens the directory named by the stack, starting again from the root and
 * refusing symlinks, so ".." can never climb above root_fd. */
static int walk_reopen(int root_fd, const struct walk_stack *s)
{
    int fd = openat(root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    for (size_t i = 0; fd >= 0 && i < s->depth; i++) {
        int next = openat(fd, s->names[i], O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        close(fd);
        fd = next;
    }
    return fd;
}

/* The resolver used for creation and on kernels without openat2: walks one
 * component at a time with O_NOFOLLOW, expanding symlinks itself against
 * root_fd. A component swapped for a symlink between the check and the open
 * makes the O_NOFOLLOW open fail, so the walk cannot leave the root. */
static int walk_in_root(int root_fd, const char *path, enum walk_mode mode,
                        int flags, mode_t perm, struct zerr *e)
{
    struct walk_stack stack = {0};
    _cleanup_free_ char *pending = strdup(path);
    _cleanup_close_ int cur = -1;
    bool follow_last = mode != WALK_OPEN || !(flags & O_NOFOLLOW);
    int links = 0, retries = 0, ret = -1;
    char *p = pending;

    if (!pending)
        return zerr_set(e, ENOMEM, "%s: out of memory", path);
    cur = openat(root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (cur < 0) {
        zerr_sys(e, "%s: open root", path);
        goto out;
    }
    for (;;) {
        char comp[NAME_MAX + 1];
        struct stat st;
        const char *end;
        bool last;
        size_t len;

        while (*p == '/')
            p++;
        if (!*p)
            break;
        end = strchrnul(p, '/');
        len = (size_t)(end - p);
        if (len > NAME_MAX) {
            errno = ENAMETOOLONG;
            zerr_sys(e, "%s", path);
            goto out;
        }
        memcpy(comp, p, len);
        comp[len] = '\0';
        last = end[strspn(end, "/")] == '\0';

        if (strcmp(comp, ".") == 0) {
            p += len;
            continue;
        }
        if (strcmp(comp, "..") == 0) {
            if (stack.depth > 0)
                free(stack.names[--stack.depth]);
            close(cur);
            cur = walk_reopen(root_fd, &stack);
            if (cur < 0) {
                zerr_sys(e, "%s: reopen parent", path);
                goto out;
            }
            p += len;
            continue;
        }

        if (fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            int fd;
            if (errno != ENOENT || ++retries > MAX_RETRIES) {
                zerr_sys(e, "%s: %s", path, comp);
                goto out;
            }
            if (mode == WALK_OPEN) {
                if (!last) {
                    zerr_sys(e, "%s: %s", path, comp);
                    goto out;
                }
                /* O_CREAT or a plain ENOENT: let openat decide. */
                ret = openat(cur, comp, flags | O_NOFOLLOW | O_CLOEXEC, perm);
                if (ret < 0)
                    zerr_sys(e, "%s", path);
                goto out;
            }
            if (mode == WALK_MKFILE && last) {
                fd = openat(cur, comp, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, perm);
                if (fd < 0 && errno != EEXIST) {
                    zerr_sys(e, "%s: create", path);
                    goto out;
                }
                if (fd >= 0)
                    close(fd);
            } else if (mkdirat(cur, comp, perm) < 0 && errno != EEXIST) {
                zerr_sys(e, "%s: mkdir %s", path, comp);
                goto out;
            }
            continue;   /* look at the component again */
        }

        if (S_ISLNK(st.st_mode) && (!last || follow_last)) {
            char target[PATH_MAX];
            ssize_t n = readlinkat(cur, comp, target, sizeof target - 1);
            char *next;
            if (n < 0) {
                if (errno == EINVAL || errno == ENOENT)
                    continue;   /* swapped meanwhile: stat again */
                zerr_sys(e, "%s: readlink %s", path, comp);
                goto out;
            }
            if (++links > MAX_SYMLINKS) {
                errno = ELOOP;
                zerr_sys(e, "%s", path);
                goto out;
            }
            target[n] = '\0';
            if (asprintf(&next, "%s/%s", target, end) < 0) {
                zerr_set(e, ENOMEM, "%s: out of memory", path);
                goto out;
            }
            free(pending);
            pending = p = next;
            if (target[0] == '/') {
                walk_stack_free(&stack);
                memset(&stack, 0, sizeof stack);
                close(cur);
                cur = openat(root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (cur < 0) {
                    zerr_sys(e, "%s: open root", path);
                    goto out;
                }
            }
            continue;
        }

        if (last) {
            switch (mode) {
            case WALK_OPEN:
                ret = openat(cur, comp, flags | O_NOFOLLOW | O_CLOEXEC, perm);
                break;
            case WALK_MKDIR:
                ret = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                break;
            case WALK_MKFILE:
                ret = openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                break;
            }
            if (ret < 0)
                zerr_sys(e, "%s", path);
            goto out;
        }
        if (!S_ISDIR(st.st_mode)) {
            errno = ENOTDIR;
            zerr_sys(e, "%s: %s", path, comp);
            goto out;
        }
        {
            int next = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (next < 0) {
                zerr_sys(e, "%s: %s", path, comp);
                goto out;
            }
            close(cur);
            cur = next;
        }
        if (walk_stack_push(&stack, comp) < 0) {
            zerr_set(e, ENOMEM, "%s: out of memory", path);
            goto out;
        }
        p += len;
    }

    /* The path named a directory ("/", "a/..", "a/"). */
    if (mode == WALK_OPEN) {
        ret = openat(cur, ".", flags | O_CLOEXEC, perm);
        if (ret < 0)
            zerr_sys(e, "%s", path);
    } else {
        ret = steal_fd(&cur);
    }
out:
    walk_stack_free(&stack);
    return ret;
}

static int open_in_root_openat2(int root_fd, const char *path, int flags,
                                mode_t mode)
{
    struct open_how how = {
        .flags = (uint64_t)(flags | O_CLOEXEC),
        .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    int fd = -1;
    for (int i = 0; i < MAX_RETRIES; i++) {
        fd = (int)syscall(SYS_openat2, root_fd, path, &how, sizeof how);
        if (fd >= 0 || errno != EAGAIN)
            break;
    }
    return fd;
}

int zpath_open_in_root(int root_fd, const char *path, int flags, mode_t mode,
                       struct zerr *e)
{
    if (!force_fallback && !no_openat2) {
        int fd = open_in_root_openat2(root_fd, path, flags, mode);
        if (fd >= 0)
            return fd;
        if (errno != ENOSYS)
            return zerr_sys(e, "%s", path);
        no_openat2 = true;
    }
    return walk_in_root(root_fd, path, WALK_OPEN, flags, mode, e);
}

int zpath_mkdir_p_in_root(int root_fd, const char *path, mode_t mode,
                          struct zerr *e)
{
    /* Fast path: most destinations already exist. */
    if (!force_fallback && !no_openat2) {
        int fd = open_in_root_openat2(root_fd, path, O_PATH | O_DIRECTORY, 0);
        if (fd >= 0)
            return fd;
        if (errno == ENOSYS)
            no_openat2 = true;
    }
    return walk_in_root(root_fd, path, WALK_MKDIR, 0, mode, e);
}

int zpath_mkfile_in_root(int root_fd, const char *path, mode_t mode,
                         struct zerr *e)
{
    if (!force_fallback && !no_openat2) {
        int fd = open_in_root_openat2(root_fd, path, O_PATH, 0);
        if (fd >= 0)
            return fd;
        if (errno == ENOSYS)
            no_openat2 = true;
    }
    return walk_in_root(root_fd, path, WALK_MKFILE, 0, mode, e);
}

/* ------------------------------------------------------------ files */

char *zfile_read(const char *path, size_t max, size_t *len, struct zerr *e)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    _cleanup_free_ char *buf = NULL;
    size_t size = 0, cap = 0;

    if (fd < 0) {
        zerr_sys(e, "open %s", path);
        return NULL;
    }
    for (;;) {
        ssize_t n;
        if (size == cap) {
            size_t want = cap ? cap * 2 : 4096;
            char *nb;
            if (cap > max) {
                errno = EFBIG;
                zerr_sys(e, "read %s: larger than %zu bytes", path, max);
                return NULL;
            }
            nb = realloc(buf, want + 1);
            if (!nb) {
                zerr_set(e, ENOMEM, "read %s: out of memory", path);
                return NULL;
            }
            buf = nb;
            cap = want;
        }
        n = read(fd, buf + size, cap - size);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            zerr_sys(e, "read %s", path);
            return NULL;
        }
        if (n == 0)
            break;
        size += (size_t)n;
    }
    if (size > max) {
        errno = EFBIG;
        zerr_sys(e, "read %s: larger than %zu bytes", path, max);
        return NULL;
    }
    buf[size] = '\0';
    if (len)
        *len = size;
    return steal_ptr(&buf);
}

int zfile_write_atomic(int dirfd, const char *name, const void *buf,
                       size_t len, mode_t mode, struct zerr *e)
{
    static unsigned counter;
    char tmp[NAME_MAX + 1];
    const char *p = buf;
    int fd = -1;

    for (int i = 0; i < MAX_RETRIES && fd < 0; i++) {
        int n = snprintf(tmp, sizeof tmp, ".%s.%d.%u.tmp", name, (int)getpid(),
                         __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED));
        if (n < 0 || (size_t)n >= sizeof tmp) {
            errno = ENAMETOOLONG;
            return zerr_sys(e, "write %s", name);
        }
        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd < 0 && errno != EEXIST)
            return zerr_sys(e, "write %s: create temporary file", name);
    }
    if (fd < 0)
        return zerr_sys(e, "write %s: create temporary file", name);

    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            zerr_sys(e, "write %s", name);
            goto fail;
        }
        p += n;
        len -= (size_t)n;
    }
    /* The requested mode, not mode & ~umask. */
    if (fchmod(fd, mode) < 0) {
        zerr_sys(e, "write %s: chmod", name);
        goto fail;
    }
    if (close(fd) < 0) {
        fd = -1;
        zerr_sys(e, "write %s", name);
        goto fail;
    }
    fd = -1;
    if (renameat(dirfd, tmp, dirfd, name) < 0) {
        zerr_sys(e, "write %s: rename", name);
        goto fail;
    }
    return 0;
fail:
    if (fd >= 0)
        close(fd);
    unlinkat(dirfd, tmp, 0);
    return -1;
}
