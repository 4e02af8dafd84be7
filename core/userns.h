/* Which user namespace this process runs in. */
#ifndef ZONE_CORE_USERNS_H
#define ZONE_CORE_USERNS_H

#include <stdbool.h>

/* True in the initial user namespace, where /proc/self/uid_map maps every
 * id to itself ("0 0 4294967295"), and on kernels without user namespaces.
 * In a child user namespace even uid 0 cannot manage the host's cgroups or
 * create device nodes. Not cached: a process may unshare one later. */
bool zuserns_is_initial(void);

#endif
