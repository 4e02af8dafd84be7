/* zengine_bundle_create: image + `zone run` flags -> an OCI bundle, with
 * podman's defaults. The spec is built as a struct zspec and written with
 * spec_emit, so what runtime/ reads back is exactly what was built. */
#include "engine/bundle.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/path.h"
#include "engine/bundle_internal.h"
#include "namespaces/namespaces.h"
/* The runtime reads the overlay annotations: both headers define the same
 * macros, and the compiler refuses a redefinition that differs. */
#include "runtime/rootfs_overlay.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const char *const masked_paths[] = {
    "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
    "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
    "/sys/fs/selinux", "/sys/dev/block",
};
static const char *const readonly_paths[] = {
    "/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

/* What one build needs along the way. */
struct build {
    const struct zimage *im;
    char *const *lowerdirs;
    size_t n_lower;
    const struct zrun_flags *f;
    char *bundle;          /* absolute */
    int bundle_fd;
    char image_name[32];   /* for messages: short manifest digest */
    char hostname[64];
    struct zspec *s;
    struct zstrv caps;
};

static int oom(struct zerr *e) { return zerr_set(e, ENOMEM, "out of memory"); }

static char *xstrdup(const char *s, struct zerr *e)
{
    char *d = strdup(s);
    if (!d)
        oom(e);
    return d;
}

static char **strv_copy(char *const *v, size_t n, size_t *n_out, struct zerr *e)
{
    struct zstrv s = {0};
    for (size_t i = 0; i < n; i++)
        if (zstrv_add(&s, v[i], e) < 0) {
            zstrv_free(&s);
            return NULL;
        }
    if (!s.v && !(s.v = calloc(1, sizeof *s.v))) {
        oom(e);
        return NULL;
    }
    *n_out = s.n;
    return s.v;
}

/* ------------------------------------------------------------ process */

static int build_args(struct build *b, struct zspec_process *p, struct zerr *e)
{
    const struct zimage_config *c = &b->im->config;
    const struct zrun_flags *f = b->f;
    struct zstrv args = {0};

    /* Docker: --entrypoint replaces the image's (and clears its Cmd);
     * --entrypoint "" means none; a command after IMAGE replaces Cmd. */
    if (f->entrypoint) {
        if (*f->entrypoint && zstrv_add(&args, f->entrypoint, e) < 0)
            goto fail;
    } else {
        for (size_t i = 0; i < c->n_entrypoint; i++)
            if (zstrv_add(&args, c->entrypoint[i], e) < 0)
                goto fail;
    }
    if (f->n_cmd) {
        for (size_t i = 0; i < f->n_cmd; i++)
            if (zstrv_add(&args, f->cmd[i], e) < 0)
                goto fail;
    } else if (!f->entrypoint) {
        for (size_t i = 0; i < c->n_cmd; i++)
            if (zstrv_add(&args, c->cmd[i], e) < 0)
                goto fail;
    }
    if (args.n == 0) {
        zerr_set(e, EINVAL, "no command specified: image %s has no Entrypoint or Cmd and "
                 "none was given", b->image_name);
        goto fail;
    }
    p->args = args.v;
    p->n_args = args.n;
    return 0;
fail:
    zstrv_free(&args);
    return -1;
}

/* Sets KEY=VALUE in env, replacing an earlier KEY. */
static int env_set(struct zstrv *env, const char *kv, struct zerr *e)
{
    const char *eq = strchr(kv, '=');
    size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);
    for (size_t i = 0; i < env->n; i++) {
        if (strncmp(env->v[i], kv, klen) == 0 && env->v[i][klen] == '=') {
            char *d = xstrdup(kv, e);
            if (!d)
                return -1;
            free(env->v[i]);
            env->v[i] = d;
            return 0;
        }
    }
    return zstrv_add(env, kv, e);
}

static int build_env(struct build *b, struct zspec_process *p, struct zerr *e)
{
    const struct zimage_config *c = &b->im->config;
    const struct zrun_flags *f = b->f;
    struct zstrv env = {0};

    if (env_set(&env, DEFAULT_PATH, e) < 0)
        goto fail;
    if (f->tty && env_set(&env, "TERM=xterm", e) < 0)
        goto fail;
    for (size_t i = 0; i < c->n_env; i++)
        if (strchr(c->env[i], '=') && env_set(&env, c->env[i], e) < 0)
            goto fail;
    for (size_t i = 0; i < f->n_env; i++) {
        const char *kv = f->env[i];
        if (!*kv || *kv == '=') {
            zerr_set(e, EINVAL, "-e: invalid variable \"%s\"", kv);
            goto fail;
        }
        if (!strchr(kv, '=')) {
            /* KEY alone: the host's value, or nothing when unset */
            const char *v = getenv(kv);
            if (!v)
                continue;
            if (zstrv_addf(&env, e, "%s=%s", kv, v) < 0)
                goto fail;
            char *last = env.v[--env.n];
            env.v[env.n] = NULL;
            int rc = env_set(&env, last, e);
            free(last);
            if (rc < 0)
                goto fail;
            continue;
        }
        if (env_set(&env, kv, e) < 0)
            goto fail;
    }
    if (zstrv_addf(&env, e, "HOSTNAME=%s", b->hostname) < 0)
        goto fail;
    p->env = env.v;
    p->n_env = env.n;
    return 0;
fail:
    zstrv_free(&env);
    return -1;
}

static int build_cwd(struct build *b, struct zspec_process *p, struct zerr *e)
{
    const char *wd = b->f->workdir;
    if (wd && !zpath_is_abs(wd))
        return zerr_set(e, EINVAL, "-w: the working directory \"%s\" is not absolute", wd);
    if (!wd)
        wd = b->im->config.working_dir;
    if (!wd || !*wd)
        wd = "/";
    /* an image's relative WorkingDir counts from / */
    p->cwd = zpath_join("/", wd);
    return p->cwd ? 0 : oom(e);
}

static int build_caps(struct build *b, struct zspec_process *p, struct zerr *e)
{
    struct zspec_capabilities *c = calloc(1, sizeof *c);
    size_t n;
    if (!c)
        return oom(e);
    p->capabilities = c;
    if (!(c->bounding = strv_copy(b->caps.v, b->caps.n, &c->n_bounding, e)))
        return -1;
    if (p->user.uid == 0) {
        if (!(c->effective = strv_copy(b->caps.v, b->caps.n, &c->n_effective, e)) ||
            !(c->permitted = strv_copy(b->caps.v, b->caps.n, &c->n_permitted, e)))
            return -1;
        return 0;
    }
    /* podman: a non-root user keeps only what --cap-add named explicitly */
    struct zstrv added = {0};
    struct zrun_flags only_add = {0};
    only_add.cap_add = b->f->cap_add;
    only_add.n_cap_add = b->f->n_cap_add;
    only_add.cap_drop = (char *[]){ "ALL" };
    only_add.n_cap_drop = 1;
    if (zbundle_capabilities(&only_add, &added, e) < 0)
        return -1;
    for (size_t i = 0; i < b->f->n_cap_drop; i++) {
        char name[64];
        snprintf(name, sizeof name, "%s%s",
                 strncasecmp(b->f->cap_drop[i], "CAP_", 4) ? "CAP_" : "", b->f->cap_drop[i]);
        for (char *q = name; *q; q++)
            *q = (char)((*q >= 'a' && *q <= 'z') ? *q - 32 : *q);
        zstrv_remove(&added, name);
    }
    int rc = 0;
    if (!(c->effective = strv_copy(added.v, added.n, &c->n_effective, e)) ||
        !(c->permitted = strv_copy(added.v, added.n, &n, e)) ||
        !(c->ambient = strv_copy(added.v, added.n, &c->n_ambient, e)))
        rc = -1;
    c->n_permitted = added.n;
    zstrv_free(&added);
    return rc;
}

static int build_process(struct build *b, struct zerr *e)
{
    struct zspec_process *p = calloc(1, sizeof *p);
    const char *user = b->f->user ? b->f->user : b->im->config.user;
    if (!p)
        return oom(e);
    b->s->process = p;
    p->terminal = b->f->tty;
    p->no_new_privileges = b->f->no_new_privileges;
    if (build_args(b, p, e) < 0 || build_env(b, p, e) < 0 || build_cwd(b, p, e) < 0)
        return -1;
    if (zbundle_resolve_user(user, b->lowerdirs, b->n_lower, b->image_name, &p->user, e) < 0)
        return -1;
    return build_caps(b, p, e);
}

/* ------------------------------------------------------------ mounts */

static int add_mount(struct build *b, const char *dest, const char *type, const char *src,
                     struct zerr *e, ...)
{
    struct zspec *s = b->s;
    struct zspec_mount *m = realloc(s->mounts, (s->n_mounts + 1) * sizeof *m);
    struct zstrv opts = {0};
    va_list ap;
    if (!m)
        return oom(e);
    s->mounts = m;
    m = &s->mounts[s->n_mounts];
    memset(m, 0, sizeof *m);
    s->n_mounts++;
    if (!(m->destination = xstrdup(dest, e)) || !(m->type = xstrdup(type, e)) ||
        !(m->source = xstrdup(src, e)))
        return -1;
    va_start(ap, e);
    for (const char *o; (o = va_arg(ap, const char *));) {
        if (zstrv_add(&opts, o, e) < 0) {
            va_end(ap);
            zstrv_free(&opts);
            return -1;
        }
    }
    va_end(ap);
    if (!opts.v && !(opts.v = calloc(1, sizeof *opts.v)))
        return oom(e);
    m->options = opts.v;
    m->n_options = opts.n;
    return 0;
}

static bool cgroup_v2_host(void)
{
    struct statfs sf;
    return statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
}

/* Writes a small file into the bundle dir and binds it at dest. */
static int bind_generated(struct build *b, const char *name, const char *text,
                          const char *dest, struct zerr *e)
{
    char src[PATH_MAX];
    if (zfile_write_atomic(b->bundle_fd, name, text, strlen(text), 0644, e) < 0)
        return zerr_prefix(e, "bundle %s", b->bundle);
    snprintf(src, sizeof src, "%s/%s", b->bundle, name);
    return add_mount(b, dest, "bind", src, e, "rbind", "rprivate",
                     b->f->read_only ? "ro" : "rw", NULL);
}

static int build_etc_files(struct build *b, struct zerr *e)
{
    const struct zrun_flags *f = b->f;
    _cleanup_free_ char *hostname = NULL, *hosts = NULL;

    if (asprintf(&hostname, "%s\n", b->hostname) < 0)
        return oom(e);
    if (bind_generated(b, "hostname", hostname, "/etc/hostname", e) < 0)
        return -1;
    if (f->network == ZNET_HOST) {
        /* the host's own name service view */
        if (add_mount(b, "/etc/hosts", "bind", "/etc/hosts", e, "rbind", "ro", NULL) < 0)
            return -1;
        if (access("/etc/resolv.conf", R_OK) == 0 &&
            add_mount(b, "/etc/resolv.conf", "bind", "/etc/resolv.conf", e, "rbind", "ro",
                      NULL) < 0)
            return -1;
        return 0;
    }
    if (asprintf(&hosts,
                 "127.0.0.1\tlocalhost localhost.localdomain localhost4 localhost4.localdomain4\n"
                 "::1\tlocalhost localhost.localdomain localhost6 localhost6.localdomain6\n"
                 "127.0.1.1\t%s\n", b->hostname) < 0)
        return oom(e);
    if (bind_generated(b, "hosts", hosts, "/etc/hosts", e) < 0)
        return -1;
    if (f->network == ZNET_NONE)
        return 0;
    size_t len = 0;
    struct zerr le = {0};
    _cleanup_free_ char *resolv = zfile_read("/etc/resolv.conf", 1u << 20, &len, &le);
    return bind_generated(b, "resolv.conf", resolv ? resolv : "", "/etc/resolv.conf", e);
}

static int build_mounts(struct build *b, struct zerr *e)
{
    const struct zrun_flags *f = b->f;
    bool host_sys = f->network == ZNET_HOST && f->rootless;

    if (add_mount(b, "/proc", "proc", "proc", e, "nosuid", "noexec", "nodev", NULL) < 0 ||
        add_mount(b, "/dev", "tmpfs", "tmpfs", e, "nosuid", "strictatime", "mode=755",
                  "size=65536k", NULL) < 0 ||
        add_mount(b, "/dev/pts", "devpts", "devpts", e, "nosuid", "noexec", "newinstance",
                  "ptmxmode=0666", "mode=0620", f->rootless ? NULL : "gid=5", NULL) < 0 ||
        add_mount(b, "/dev/mqueue", "mqueue", "mqueue", e, "nosuid", "noexec", "nodev",
                  NULL) < 0 ||
        /* sysfs needs a network namespace of our own (or of our userns) */
        (host_sys ? add_mount(b, "/sys", "bind", "/sys", e, "rbind", "nosuid", "noexec",
                              "nodev", "ro", NULL)
                  : add_mount(b, "/sys", "sysfs", "sysfs", e, "nosuid", "noexec", "nodev",
                              "ro", NULL)) < 0 ||
        add_mount(b, "/sys/fs/cgroup", "cgroup", "cgroup", e, "nosuid", "noexec", "nodev",
                  "relatime", "ro", NULL) < 0 ||
        add_mount(b, "/dev/shm", "tmpfs", "shm", e, "nosuid", "noexec", "nodev", "mode=1777",
                  "size=65536k", NULL) < 0)
        return -1;
    if (build_etc_files(b, e) < 0)
        return -1;
    if (f->read_only) {
        if (add_mount(b, "/tmp", "tmpfs", "tmpfs", e, "nosuid", "nodev", "mode=1777", NULL) < 0 ||
            add_mount(b, "/var/tmp", "tmpfs", "tmpfs", e, "nosuid", "nodev", "mode=1777",
                      NULL) < 0 ||
            add_mount(b, "/run", "tmpfs", "tmpfs", e, "nosuid", "nodev", "mode=755", NULL) < 0)
            return -1;
    }
    for (size_t i = 0; i < f->n_volumes; i++) {
        const struct zvolume *v = &f->volumes[i];
        if (!v->source || !zpath_is_abs(v->source))
            return zerr_set(e, EINVAL, "-v: volume source \"%s\" must be an absolute path",
                            v->source ? v->source : "");
        if (!v->destination || !zpath_is_abs(v->destination))
            return zerr_set(e, EINVAL, "-v: volume destination \"%s\" must be an absolute path",
                            v->destination ? v->destination : "");
        if (add_mount(b, v->destination, "bind", v->source, e, "rbind", "rprivate",
                      v->read_only ? "ro" : "rw", NULL) < 0)
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ linux */

static int add_namespace(struct zspec_linux *l, enum zspec_ns_type t, struct zerr *e)
{
    struct zspec_namespace *ns = realloc(l->namespaces, (l->n_namespaces + 1) * sizeof *ns);
    if (!ns)
        return oom(e);
    l->namespaces = ns;
    ns[l->n_namespaces++] = (struct zspec_namespace){ .type = t };
    return 0;
}

static int build_linux(struct build *b, struct zerr *e)
{
    const struct zrun_flags *f = b->f;
    struct zspec_linux *l = calloc(1, sizeof *l);
    size_t n;
    if (!l)
        return oom(e);
    b->s->linux_ = l;
    if (add_namespace(l, ZNS_PID, e) < 0 || add_namespace(l, ZNS_IPC, e) < 0 ||
        add_namespace(l, ZNS_UTS, e) < 0 || add_namespace(l, ZNS_MOUNT, e) < 0)
        return -1;
    /* pasta attaches to a namespace of our own (the CLI starts it) */
    if (f->network != ZNET_HOST && add_namespace(l, ZNS_NETWORK, e) < 0)
        return -1;
    if (cgroup_v2_host() && add_namespace(l, ZNS_CGROUP, e) < 0)
        return -1;
    if (f->rootless) {
        if (add_namespace(l, ZNS_USER, e) < 0)
            return -1;
        if (geteuid() != 0) {
            /* the mappings the store's layers were unpacked with (see
             * images/userns.h): uid 1000's files are uid 1000's inside */
            if (zns_rootless_mappings(getuid(), getgid(), &l->uid_mappings,
                                      &l->n_uid_mappings, &l->gid_mappings,
                                      &l->n_gid_mappings, e) < 0)
                return -1;
        } else {
            l->uid_mappings = calloc(1, sizeof *l->uid_mappings);
            l->gid_mappings = calloc(1, sizeof *l->gid_mappings);
            if (!l->uid_mappings || !l->gid_mappings)
                return oom(e);
            l->uid_mappings[0] = (struct zspec_idmap){ 0, (uint32_t)getuid(), 1 };
            l->gid_mappings[0] = (struct zspec_idmap){ 0, (uint32_t)getgid(), 1 };
            l->n_uid_mappings = l->n_gid_mappings = 1;
        }
    }
    if (!(l->masked_paths = strv_copy((char *const *)masked_paths, ZARRAY_SIZE(masked_paths),
                                      &l->n_masked_paths, e)) ||
        !(l->readonly_paths = strv_copy((char *const *)readonly_paths,
                                        ZARRAY_SIZE(readonly_paths), &n, e)))
        return -1;
    l->n_readonly_paths = n;
    if (zbundle_resources(f, &l->resources, e) < 0)
        return -1;
    return zbundle_seccomp(f->seccomp_profile, &b->caps, &l->seccomp, e);
}

/* ------------------------------------------------------------ annotations */

static int annotate(struct zspec *s, const char *key, const char *value, struct zerr *e)
{
    for (size_t i = 0; i < s->n_annotations; i++) {
        if (strcmp(s->annotations[i].key, key) == 0) {
            char *v = xstrdup(value, e);
            if (!v)
                return -1;
            free(s->annotations[i].value);
            s->annotations[i].value = v;
            return 0;
        }
    }
    struct zspec_kv *kv = realloc(s->annotations, (s->n_annotations + 1) * sizeof *kv);
    if (!kv)
        return oom(e);
    s->annotations = kv;
    kv[s->n_annotations] = (struct zspec_kv){ strdup(key), strdup(value) };
    s->n_annotations++;
    if (!kv[s->n_annotations - 1].key || !kv[s->n_annotations - 1].value)
        return oom(e);
    return 0;
}

static int build_annotations(struct build *b, struct zerr *e)
{
    const struct zimage_config *c = &b->im->config;
    char path[PATH_MAX];
    for (size_t i = 0; i < c->n_labels; i++)
        if (c->labels[i].key && c->labels[i].value &&
            annotate(b->s, c->labels[i].key, c->labels[i].value, e) < 0)
            return -1;
    if (c->stop_signal && *c->stop_signal &&
        annotate(b->s, "org.opencontainers.image.stopSignal", c->stop_signal, e) < 0)
        return -1;

    /* the rootfs: the layers, topmost first, and our upper/work */
    size_t len = 1;
    for (size_t i = 0; i < b->n_lower; i++)
        len += strlen(b->lowerdirs[i]) + 1;
    _cleanup_free_ char *joined = calloc(1, len);
    if (!joined)
        return oom(e);
    for (size_t i = 0; i < b->n_lower; i++) {
        if (!zpath_is_abs(b->lowerdirs[i]) || strpbrk(b->lowerdirs[i], ",:"))
            return zerr_set(e, EINVAL, "image %s: layer directory \"%s\" is not usable for "
                            "overlay (relative, or holds ',' or ':')", b->image_name,
                            b->lowerdirs[i]);
        if (i)
            strcat(joined, ":");
        strcat(joined, b->lowerdirs[i]);
    }
    if (annotate(b->s, ZANN_ROOTFS_LOWERDIRS, joined, e) < 0)
        return -1;
    snprintf(path, sizeof path, "%s/upper", b->bundle);
    if (annotate(b->s, ZANN_ROOTFS_UPPERDIR, path, e) < 0)
        return -1;
    snprintf(path, sizeof path, "%s/work", b->bundle);
    if (annotate(b->s, ZANN_ROOTFS_WORKDIR, path, e) < 0)
        return -1;
    if (b->f->rootless && annotate(b->s, ZANN_ROOTFS_USERXATTR, "true", e) < 0)
        return -1;
    return 0;
}

/* ------------------------------------------------------------ bundle dir */

static int make_dirs(struct build *b, struct zerr *e)
{
    static const char *const dirs[] = { "rootfs", "upper", "work" };
    if (strpbrk(b->bundle, ",:"))
        return zerr_set(e, EINVAL, "bundle %s: a ',' or ':' in the path is not supported by "
                        "overlay", b->bundle);
    for (size_t i = 0; i < ZARRAY_SIZE(dirs); i++)
        if (mkdirat(b->bundle_fd, dirs[i], 0700) < 0 && errno != EEXIST)
            return zerr_sys(e, "bundle %s: mkdir %s", b->bundle, dirs[i]);
    if (fchmodat(b->bundle_fd, "rootfs", 0755, 0) < 0)
        return zerr_sys(e, "bundle %s: chmod rootfs", b->bundle);
    if (fchmodat(b->bundle_fd, "upper", 0755, 0) < 0)
        return zerr_sys(e, "bundle %s: chmod upper", b->bundle);
    /* the image's VOLUMEs exist in the container (no anonymous volumes) */
    const struct zimage_config *c = &b->im->config;
    _cleanup_close_ int upper = openat(b->bundle_fd, "upper", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (upper < 0)
        return zerr_sys(e, "bundle %s: open upper", b->bundle);
    for (size_t i = 0; i < c->n_volumes; i++) {
        if (!c->volumes[i] || !zpath_is_abs(c->volumes[i]))
            continue;   /* Docker ignores relative VOLUMEs too */
        int fd = zpath_mkdir_p_in_root(upper, c->volumes[i], 0755, e);
        if (fd < 0)
            return zerr_prefix(e, "image %s: VOLUME %s", b->image_name, c->volumes[i]);
        close(fd);
    }
    return 0;
}

static int write_config(struct build *b, struct zerr *e)
{
    _cleanup_free_ char *json = spec_emit(b->s, true, e);
    if (!json)
        return -1;
    if (zfile_write_atomic(b->bundle_fd, "config.json", json, strlen(json), 0600, e) < 0)
        return zerr_prefix(e, "bundle %s: config.json", b->bundle);
    return 0;
}

int zengine_bundle_create(const struct zimage *im, char *const *lowerdirs, size_t n_lower,
                          const struct zrun_flags *f, const char *bundle_dir,
                          struct zerr *e)
{
    struct build b = { .im = im, .lowerdirs = lowerdirs, .n_lower = n_lower, .f = f,
                       .bundle_fd = -1 };
    int rc = -1;

    if (!im || !f || !bundle_dir || !*bundle_dir)
        return zerr_set(e, EINVAL, "bundle: image, flags and directory are required");
    if (n_lower == 0)
        return zerr_set(e, EINVAL, "bundle: the image has no layers");
    const char *digest = im->manifest_digest;
    if (!strncmp(digest, "sha256:", 7))
        digest += 7;
    snprintf(b.image_name, sizeof b.image_name, "%.12s", *digest ? digest : "(unnamed)");

    if (mkdir(bundle_dir, 0700) < 0 && errno != EEXIST)
        return zerr_sys(e, "bundle %s: mkdir", bundle_dir);
    if (!(b.bundle = realpath(bundle_dir, NULL)))
        return zerr_sys(e, "bundle %s", bundle_dir);
    b.bundle_fd = open(b.bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (b.bundle_fd < 0) {
        zerr_sys(e, "bundle %s: open", b.bundle);
        goto out;
    }
    /* -h, else the first 12 characters of the container id */
    const char *base = strrchr(b.bundle, '/');
    base = base && base[1] ? base + 1 : b.bundle;
    snprintf(b.hostname, sizeof b.hostname, "%.*s", f->hostname ? 63 : 12,
             f->hostname ? f->hostname : base);

    if (!(b.s = calloc(1, sizeof *b.s)) || !(b.s->oci_version = strdup(ZONE_OCI_VERSION)) ||
        !(b.s->root = calloc(1, sizeof *b.s->root)) ||
        !(b.s->root->path = strdup("rootfs")) || !(b.s->hostname = strdup(b.hostname))) {
        oom(e);
        goto out;
    }
    b.s->root->readonly = f->read_only;
    if (zbundle_capabilities(f, &b.caps, e) < 0 || build_process(&b, e) < 0 ||
        make_dirs(&b, e) < 0 || build_mounts(&b, e) < 0 || build_linux(&b, e) < 0 ||
        build_annotations(&b, e) < 0 || write_config(&b, e) < 0)
        goto out;
    rc = 0;
out:
    spec_free(b.s);
    zstrv_free(&b.caps);
    if (b.bundle_fd >= 0)
        close(b.bundle_fd);
    free(b.bundle);
    return rc;
}
