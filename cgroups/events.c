/* OOM-kill counting for `events`: the kernel keeps a per-cgroup counter of
 * processes the OOM killer ended, so a watcher only has to notice it grow.
 * v2's memory.events is hierarchical (sub-cgroups a container makes are
 * included); v1's memory.oom_control counts the cgroup and its children
 * too when use_hierarchy is on, which is the default on every kernel that
 * has the counter. */
#include "cgroups/internal.h"

#include <errno.h>

int zcg_oom_count(const struct zcgroup *cg, uint64_t *n, struct zerr *e)
{
    const struct zcg_dir *d = zcg_dir_for(cg, "memory");
    const char *file;

    if (!d)
        return zerr_set(e, ENOENT, "cgroup: no memory controller for %s",
                        cg->rel);
    file = d->v2 ? "memory.events" : "memory.oom_control";
    if (!zcg_file_exists(d->path, file))
        return zerr_set(e, ENOENT, "cgroup: %s/%s: no such file", d->path,
                        file);
    if (zcg_read_keyed(d->path, file, "oom_kill", n) < 0)
        return zerr_set(e, ENOTSUP,
                        "cgroup: %s/%s: the kernel does not count OOM kills "
                        "(needs Linux 4.13)",
                        d->path, file);
    return 0;
}
