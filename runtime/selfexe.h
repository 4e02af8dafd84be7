/* Protection against overwriting the host's zone binary from inside a
 * container through /proc/<pid>/exe (CVE-2019-5736 class).
 *
 * A container can make the runtime execute itself inside the container (a
 * binary reading "#!/proc/self/exe"), then reopen that process's exe for
 * writing once the runtime has exited. runc answered with a copy of the
 * binary per container. We avoid the copy: zone points its own exe at a
 * detached, read-only bind mount of its binary (open_tree + mount_setattr),
 * in place as root, else by re-executing through it, so every process it
 * forks has an exe on a mount that no namespace can reach or remount;
 * writes fail with EROFS. */
#ifndef ZONE_RUNTIME_SELFEXE_H
#define ZONE_RUNTIME_SELFEXE_H

#include <stdbool.h>

#include "core/error.h"

/* Returns 0 when the running binary is already sealed (or cannot be written
 * by us, so not by our containers either), or once it is sealed in place;
 * otherwise re-executes argv through the sealed mount and does not return.
 * Returns -1 on failure. */
int zselfexe_seal(char **argv, struct zerr *e);

/* Points /proc/self/exe at sealed_fd (an open_tree view of the same file)
 * without an exec, by moving every mapping of the binary onto that view
 * (runtime/selfexe_remap.c). Needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE.
 * On failure the process still works, with its exe unchanged. */
int zselfexe_remap_onto(int sealed_fd, struct zerr *e);

/* True when /proc/self/exe is on a read-only mount. */
bool zselfexe_is_sealed(void);

#endif
