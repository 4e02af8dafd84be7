/* `zone run IMAGE` orchestration (see run.h). */
#include "engine/dev_run.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "engine/monitor.h"
#include "engine/pasta.h"
#include "images/manifest.h"
#include "images/store.h"
#include "images/transfer.h"
#include "images/unpack.h"

/* Everything that can be checked before anything is created. */
static int validate(const struct zdev_run_opts *o, struct zerr *e)
{
    const struct zrun_flags *f = &o->flags;
    if (!o->image || !*o->image)
        return zerr_set(e, EINVAL, "an image is required");
    if (o->timeout < 0)
        return zerr_set(e, EINVAL, "--timeout: must not be negative");
    if (o->n_publish && f->network != ZNET_PASTA)
        return zerr_set(e, EINVAL, "--publish needs --network pasta (the other network modes "
                        "have no port forwarding: none has no network, host shares the host's)");
    for (size_t i = 0; i < o->n_publish; i++)
        if (zpasta_check_publish(o->publish[i], e) < 0)
            return -1;
    if (f->network == ZNET_PASTA && zpasta_available(e) < 0)
        return -1;
    if (f->name && zctr_check_name(f->name, e) < 0)
        return -1;
    for (size_t i = 0; i < f->n_volumes; i++) {
        struct stat st;
        const struct zvolume *v = &f->volumes[i];
        if (!v->source || v->source[0] != '/')
            return zerr_set(e, EINVAL, "--volume %s:%s: the source must be an absolute path",
                            v->source ? v->source : "", v->destination ? v->destination : "");
        if (!v->destination || v->destination[0] != '/')
            return zerr_set(e, EINVAL, "--volume %s:%s: the destination must be an absolute path",
                            v->source, v->destination ? v->destination : "");
        if (stat(v->source, &st) < 0)
            return zerr_sys(e, "--volume: source %s", v->source);
    }
    return 0;
}

/* Loads the image, pulling it first when the policy says so. */
static int get_image(const struct zdev_run_opts *o, struct zstore *s, struct zimage *im,
                     struct zerr *e)
{
    struct zpull_opts po = {.tls_verify = true, .parallel = 3,
                            .quiet = !o->progress, .progress = o->progress};
    char name[1024], digest[ZDIGEST_MAX];

    if (o->pull != ZPULL_ALWAYS) {
        if (zimage_load(s, o->image, im, e) == 0)
            return 0;
        if (e->code != ENOENT || o->pull == ZPULL_NEVER)
            return zerr_prefix(e, "image %s", o->image);
    }
    if (zimage_pull(s, o->image, &po, name, sizeof name, digest, e) < 0)
        return zerr_prefix(e, "pull %s", o->image);
    if (zimage_load(s, digest, im, e) < 0)
        return zerr_prefix(e, "image %s", o->image);
    return 0;
}

static int strv_push(char ***v, size_t *n, const char *s)
{
    char **nv = realloc(*v, (*n + 2) * sizeof **v);
    if (!nv)
        return -1;
    *v = nv;
    nv[*n] = strdup(s);
    if (!nv[*n])
        return -1;
    nv[++*n] = NULL;
    return 0;
}

/* What the container runs, for `ps` and `inspect`: entrypoint + command,
 * the flags' or the image's. */
static int effective_command(const struct zrun_flags *f, const struct zimage_config *c,
                             struct zctr *rec)
{
    if (f->entrypoint) {
        if (*f->entrypoint && strv_push(&rec->command, &rec->n_command, f->entrypoint) < 0)
            return -1;
    } else {
        for (size_t i = 0; i < c->n_entrypoint; i++)
            if (strv_push(&rec->command, &rec->n_command, c->entrypoint[i]) < 0)
                return -1;
    }
    if (f->n_cmd) {
        for (size_t i = 0; i < f->n_cmd; i++)
            if (strv_push(&rec->command, &rec->n_command, f->cmd[i]) < 0)
                return -1;
    } else if (!f->entrypoint) {
        /* podman: a new --entrypoint drops the image's Cmd */
        for (size_t i = 0; i < c->n_cmd; i++)
            if (strv_push(&rec->command, &rec->n_command, c->cmd[i]) < 0)
                return -1;
    }
    return 0;
}

/* The exit code for a failure: podman's 126/127 when the command itself
 * could not be run, 125 otherwise. */
static int failure_code(const struct zerr *e)
{
    if (strstr(e->msg, "executable file not found") || strstr(e->msg, "no such file or directory: exec") ||
        (e->code == ENOENT && strstr(e->msg, "exec")))
        return ZRUN_EXIT_NOTFOUND;
    if ((e->code == EACCES || e->code == ENOEXEC) && strstr(e->msg, "exec"))
        return ZRUN_EXIT_NOEXEC;
    return ZRUN_EXIT_ENGINE;
}

int zdev_run(const struct zdev_run_opts *o, char id[ZCTR_ID_LEN + 1], int *exit_status,
             struct zerr *e)
{
    struct zstore *store = NULL;
    struct zimage im;
    struct zctr rec = {0};
    char **lower = NULL;
    size_t n_lower = 0;
    _cleanup_free_ char *dir = NULL;
    struct zrun_flags flags = o->flags;
    struct zmon_opts mo;
    bool have_image = false, have_record = false;
    sigset_t block, old;
    int rc = -1;

    *exit_status = ZRUN_EXIT_ENGINE;
    id[0] = '\0';
    memset(&im, 0, sizeof im);
    if (validate(o, e) < 0)
        return -1;
    if (zstore_open(o->store_dir, &store, e) < 0)
        return -1;
    if (get_image(o, store, &im, e) < 0)
        goto out;
    have_image = true;

    /* From here on an interrupt would leave a half-made container: hold
     * the signals (a foreground run forwards them once it has started). */
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    sigaddset(&block, SIGQUIT);
    sigprocmask(SIG_BLOCK, &block, &old);

    rec.name = flags.name ? strdup(flags.name) : NULL;
    rec.image = strdup(o->image);
    rec.manifest = strdup(im.manifest_digest);
    rec.root = strdup(o->rt.root);
    rec.rm = o->rm;
    rec.timeout = o->timeout;
    if ((flags.name && !rec.name) || !rec.image || !rec.manifest || !rec.root ||
        effective_command(&flags, &im.config, &rec) < 0) {
        zerr_set(e, ENOMEM, "out of memory");
        goto out_signals;
    }
    /* the record names the image's manifest, so gc keeps its layers */
    if (zctr_create(zstore_dir(store), &rec, e) < 0)
        goto out_signals;
    have_record = true;
    memcpy(id, rec.id, sizeof rec.id);
    dir = zctr_dir(zstore_dir(store), rec.id);
    if (!dir) {
        zerr_set(e, ENOMEM, "out of memory");
        goto out_signals;
    }
    if (zlayers_prepare(store, &im, &lower, &n_lower, e) < 0)
        goto out_signals;
    flags.name = rec.name;
    if (!flags.rootless)
        flags.rootless = o->rt.rootless == 1 || (o->rt.rootless < 0 && geteuid() != 0);
    if (zengine_bundle_create(&im, lower, n_lower, &flags, dir, e) < 0)
        goto out_signals;
    /* interrupted while the image was unpacked or the bundle made: stop
     * here rather than start the container only to signal it */
    {
        const struct timespec zero = {0, 0};
        int sig = sigtimedwait(&block, NULL, &zero);
        if (sig > 0) {
            zerr_set(e, EINTR, "interrupted by %s before the container started", strsignal(sig));
            goto out_signals;
        }
    }

    mo = (struct zmon_opts){
        .rt = o->rt, .store_dir = zstore_dir(store), .id = rec.id,
        .tty = flags.tty, .interactive = flags.interactive, .detach = o->detach,
        .rm = o->rm, .timeout = o->timeout, .network = flags.network,
        .publish = o->publish, .n_publish = o->n_publish,
    };
    if (o->detach) {
        if (zmon_run_detached(&mo, e) < 0)
            goto out_signals;
        *exit_status = 0;
    } else if (zmon_run_foreground(&mo, exit_status, e) < 0) {
        goto out_signals;
    }
    have_record = false;   /* the monitor owns it now */
    rc = 0;

out_signals:
    if (rc < 0 && have_record) {
        struct zerr ignored;
        /* the monitor removed any runtime state it made; be sure */
        zcontainer_delete(&o->rt, rec.id, true, &ignored);
        zctr_remove(zstore_dir(store), rec.id, &ignored);
        id[0] = '\0';
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
out:
    if (rc < 0)
        *exit_status = failure_code(e);
    if (lower)
        zlayers_free(lower, n_lower);
    zctr_clear(&rec);
    if (have_image)
        zimage_free(&im);
    zstore_close(store);
    return rc;
}
