/* The device cgroup rules a container gets: the config's
 * linux.resources.devices, then the devices every container needs (the
 * same default set runc and crun allow, so configs behave alike), then an
 * allow rule for each linux.devices entry. */
#ifndef ZONE_RUNTIME_DEVICE_RULES_H
#define ZONE_RUNTIME_DEVICE_RULES_H

#include "core/spec.h"

/* Returns a shallow copy of r (or an empty one) whose devices array is the
 * full list; free with zdevice_rules_free. NULL on ENOMEM. */
struct zspec_resources *zdevice_rules_build(const struct zspec *s);
void zdevice_rules_free(struct zspec_resources *r);

#endif
