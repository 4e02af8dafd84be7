/* Bringing up "lo" in a network namespace the runtime has just created, as
 * every container engine does (podman's --network none still has a working
 * loopback). */
#ifndef ZONE_NAMESPACES_LOOPBACK_H
#define ZONE_NAMESPACES_LOOPBACK_H

#include "core/error.h"

/* Sets IFF_UP on "lo" of the calling process's network namespace. Needs
 * CAP_NET_ADMIN over that namespace (root of the container's user
 * namespace is enough). */
int zns_loopback_up(struct zerr *e);

#endif
