/* zproc_validate: every check on process.* and linux.personality that can be
 * made before `create` changes anything. */
#include "runtime/process_attrs.h"

#include <errno.h>

#include "runtime/lsm.h"

int zproc_validate(const struct zspec *s, struct zerr *e)
{
    const struct zspec_process *p = s->process;

    if (s->linux_ && zproc_validate_personality(s->linux_->personality, e) < 0)
        return -1;
    if (!p)
        return 0;
    if (p->user.has_umask && p->user.umask > 0777)
        return zerr_set(e, EINVAL, "process.user.umask: %#o is not a valid umask "
                        "(at most 0777)", p->user.umask);
    if (zproc_validate_capabilities(p->capabilities, e) < 0)
        return -1;
    if (zproc_validate_limits(p, e) < 0)
        return -1;
    return zlsm_validate(p, e);
}
