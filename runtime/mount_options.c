/* OCI mount options -> MS_* flags, recursive MOUNT_ATTR_* attributes,
 * propagation and filesystem data, with runc's meaning for each name. */
#include "runtime/mounts.h"

#include "core/cleanup.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

struct flag_option {
    const char *name;
    bool clear;
    unsigned long flag;
};

static const struct flag_option flag_options[] = {
    { "defaults", false, 0 },
    { "ro", false, MS_RDONLY },         { "rw", true, MS_RDONLY },
    { "nosuid", false, MS_NOSUID },     { "suid", true, MS_NOSUID },
    { "nodev", false, MS_NODEV },       { "dev", true, MS_NODEV },
    { "noexec", false, MS_NOEXEC },     { "exec", true, MS_NOEXEC },
    { "sync", false, MS_SYNCHRONOUS },  { "async", true, MS_SYNCHRONOUS },
    { "dirsync", false, MS_DIRSYNC },
    { "remount", false, MS_REMOUNT },
    { "mand", false, MS_MANDLOCK },     { "nomand", true, MS_MANDLOCK },
    { "noatime", false, MS_NOATIME },   { "atime", true, MS_NOATIME },
    { "nodiratime", false, MS_NODIRATIME }, { "diratime", true, MS_NODIRATIME },
    { "relatime", false, MS_RELATIME }, { "norelatime", true, MS_RELATIME },
    { "strictatime", false, MS_STRICTATIME }, { "nostrictatime", true, MS_STRICTATIME },
    { "lazytime", false, MS_LAZYTIME }, { "nolazytime", true, MS_LAZYTIME },
    { "nosymfollow", false, MS_NOSYMFOLLOW }, { "symfollow", true, MS_NOSYMFOLLOW },
    { "silent", false, MS_SILENT },     { "loud", true, MS_SILENT },
    { "bind", false, MS_BIND },         { "rbind", false, MS_BIND | MS_REC },
};

static const struct flag_option propagation_options[] = {
    { "private", false, MS_PRIVATE },       { "rprivate", false, MS_PRIVATE | MS_REC },
    { "shared", false, MS_SHARED },         { "rshared", false, MS_SHARED | MS_REC },
    { "slave", false, MS_SLAVE },           { "rslave", false, MS_SLAVE | MS_REC },
    { "unbindable", false, MS_UNBINDABLE }, { "runbindable", false, MS_UNBINDABLE | MS_REC },
};

/* Recursive attributes (mount_setattr with AT_RECURSIVE). The atime modes
 * are one field in the kernel, so setting any of them clears the field
 * first, and clearing one ("ratime") means back to the default, relatime. */
struct rec_option {
    const char *name;
    bool clear;
    uint64_t attr;
    bool atime;     /* attr is a value of the MOUNT_ATTR__ATIME field */
};

static const struct rec_option rec_options[] = {
    { "rro", false, MOUNT_ATTR_RDONLY, false },       { "rrw", true, MOUNT_ATTR_RDONLY, false },
    { "rnosuid", false, MOUNT_ATTR_NOSUID, false },   { "rsuid", true, MOUNT_ATTR_NOSUID, false },
    { "rnodev", false, MOUNT_ATTR_NODEV, false },     { "rdev", true, MOUNT_ATTR_NODEV, false },
    { "rnoexec", false, MOUNT_ATTR_NOEXEC, false },   { "rexec", true, MOUNT_ATTR_NOEXEC, false },
    { "rnodiratime", false, MOUNT_ATTR_NODIRATIME, false }, { "rdiratime", true, MOUNT_ATTR_NODIRATIME, false },
    { "rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW, false }, { "rsymfollow", true, MOUNT_ATTR_NOSYMFOLLOW, false },
    { "rrelatime", false, MOUNT_ATTR_RELATIME, true },
    { "rnoatime", false, MOUNT_ATTR_NOATIME, true },
    { "rstrictatime", false, MOUNT_ATTR_STRICTATIME, true },
    { "ratime", true, 0, true }, { "rnorelatime", true, 0, true },
    { "rnostrictatime", true, 0, true },
};

int zmount_propagation_flags(const char *name, unsigned long *flags,
                             struct zerr *e)
{
    for (size_t i = 0; i < ZARRAY_SIZE(propagation_options); i++) {
        if (strcmp(name, propagation_options[i].name) == 0) {
            *flags = propagation_options[i].flag;
            return 0;
        }
    }
    return zerr_set(e, EINVAL, "unknown propagation \"%s\"", name);
}

static void apply_rec_option(struct zmount_opts *o, const struct rec_option *r)
{
    if (r->atime) {
        /* replace the whole atime field; "clear" resets it to relatime */
        o->rec_clr |= MOUNT_ATTR__ATIME;
        o->rec_set &= ~(uint64_t)MOUNT_ATTR__ATIME;
        if (!r->clear)
            o->rec_set |= r->attr;
        return;
    }
    if (r->clear) {
        o->rec_clr |= r->attr;
        o->rec_set &= ~r->attr;
    } else {
        o->rec_set |= r->attr;
        o->rec_clr &= ~r->attr;
    }
}

static int append_data(struct zmount_opts *o, const char *opt, struct zerr *e)
{
    size_t old = o->data ? strlen(o->data) : 0, add = strlen(opt);
    char *n = realloc(o->data, old + add + 2);
    if (!n)
        return zerr_set(e, ENOMEM, "out of memory");
    if (old)
        n[old++] = ',';
    memcpy(n + old, opt, add + 1);
    o->data = n;
    return 0;
}

static bool parse_known(struct zmount_opts *o, const char *opt)
{
    for (size_t i = 0; i < ZARRAY_SIZE(flag_options); i++) {
        const struct flag_option *f = &flag_options[i];
        if (strcmp(opt, f->name) != 0)
            continue;
        if (f->clear) {
            o->flags &= ~f->flag;
            o->cleared |= f->flag;
        } else {
            o->flags |= f->flag;
            o->cleared &= ~f->flag;
        }
        return true;
    }
    for (size_t i = 0; i < ZARRAY_SIZE(rec_options); i++) {
        if (strcmp(opt, rec_options[i].name) == 0) {
            apply_rec_option(o, &rec_options[i]);
            return true;
        }
    }
    if (strcmp(opt, "idmap") == 0) {
        o->idmap = true;
        return true;
    }
    if (strcmp(opt, "ridmap") == 0) {
        o->idmap = o->recursive_idmap = true;
        return true;
    }
    if (strcmp(opt, "tmpcopyup") == 0) {
        o->tmpcopyup = true;
        return true;
    }
    return false;
}

int zmount_parse_options(char *const *options, size_t n, struct zmount_opts *o,
                         struct zerr *e)
{
    memset(o, 0, sizeof *o);
    for (size_t i = 0; i < n; i++) {
        const char *opt = options[i];
        unsigned long prop;
        if (!opt || !*opt)
            continue;
        if (parse_known(o, opt))
            continue;
        if (zmount_propagation_flags(opt, &prop, NULL) == 0) {
            if (o->n_propagation == ZMOUNT_MAX_PROPAGATION) {
                zmount_opts_free(o);
                return zerr_set(e, EINVAL, "options[%zu]: more than %d propagation options",
                                i, ZMOUNT_MAX_PROPAGATION);
            }
            o->propagation[o->n_propagation++] = prop;
            continue;
        }
        if (append_data(o, opt, e) < 0) {
            zmount_opts_free(o);
            return -1;
        }
    }
    return 0;
}

void zmount_opts_free(struct zmount_opts *o)
{
    free(o->data);
    o->data = NULL;
}

bool zmount_is_bind(const struct zspec_mount *m, const struct zmount_opts *o)
{
    return (m->type && strcmp(m->type, "bind") == 0) || (o->flags & MS_BIND);
}
