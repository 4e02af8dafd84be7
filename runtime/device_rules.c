#include "runtime/device_rules.h"

#include <stdlib.h>
#include <string.h>

struct default_rule {
    char type;
    int64_t major, minor;      /* -1 = wildcard */
    const char *access;
};

static const struct default_rule defaults[] = {
    {'c', -1, -1, "m"},        /* mknod of any device; access is still denied */
    {'b', -1, -1, "m"},
    {'c', 1, 3, "rwm"},        /* /dev/null */
    {'c', 1, 5, "rwm"},        /* /dev/zero */
    {'c', 1, 7, "rwm"},        /* /dev/full */
    {'c', 1, 8, "rwm"},        /* /dev/random */
    {'c', 1, 9, "rwm"},        /* /dev/urandom */
    {'c', 5, 0, "rwm"},        /* /dev/tty */
    {'c', 5, 1, "rwm"},        /* /dev/console */
    {'c', 5, 2, "rwm"},        /* /dev/ptmx */
    {'c', 136, -1, "rwm"},     /* /dev/pts/N */
    {'c', 10, 200, "rwm"},     /* /dev/net/tun */
};

static char type_str[][2] = {"a", "b", "c"};

struct zspec_resources *zdevice_rules_build(const struct zspec *s)
{
    const struct zspec_linux *lx = s->linux_;
    const struct zspec_resources *src = lx ? lx->resources : NULL;
    size_t n_spec = src ? src->n_devices : 0, n_dev = lx ? lx->n_devices : 0;
    size_t n = n_spec + sizeof defaults / sizeof defaults[0] + n_dev, o = 0;
    struct zspec_resources *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    if (src)
        *r = *src;
    r->devices = calloc(n, sizeof *r->devices);
    if (!r->devices) {
        free(r);
        return NULL;
    }
    for (size_t i = 0; i < n_spec; i++)
        r->devices[o++] = src->devices[i];
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++) {
        struct zspec_device_cgroup *d = &r->devices[o++];
        d->allow = true;
        d->type = defaults[i].type == 'b' ? type_str[1] : type_str[2];
        d->has_major = defaults[i].major >= 0;
        d->major = defaults[i].major;
        d->has_minor = defaults[i].minor >= 0;
        d->minor = defaults[i].minor;
        d->access = (char *)defaults[i].access;
    }
    for (size_t i = 0; i < n_dev; i++) {
        const struct zspec_device *dev = &lx->devices[i];
        struct zspec_device_cgroup *d = &r->devices[o++];
        d->allow = true;
        d->type = dev->type && dev->type[0] == 'b' ? type_str[1] : type_str[2];
        d->has_major = dev->has_major;
        d->major = dev->major;
        d->has_minor = dev->has_minor;
        d->minor = dev->minor;
        d->access = (char *)"rwm";
    }
    r->n_devices = o;
    return r;
}

void zdevice_rules_free(struct zspec_resources *r)
{
    if (!r)
        return;
    free(r->devices);
    free(r);
}
