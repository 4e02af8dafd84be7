/* /dev inside the container: default and configured device nodes, the
 * standard symlinks, /dev/ptmx and /dev/console. Everything is created
 * through fds resolved inside the rootfs. */
#ifndef ZONE_RUNTIME_DEVICES_H
#define ZONE_RUNTIME_DEVICES_H

#include <stdbool.h>

#include "core/error.h"
#include "core/spec.h"

/* Creates /dev/null, zero, full, random, urandom, tty (0666, root) and
 * linux.devices (a configured device with the same path replaces a default
 * one). With in_userns the nodes cannot be created: the host's device at
 * the same path is bind-mounted onto an empty file instead (an error names
 * the device when the host has none there, or a different one; mode, uid
 * and gid stay the host's). FIFOs are always created. */
int zdev_create_devices(int root_fd, const struct zspec *spec, bool in_userns,
                        struct zerr *e);

/* /dev/ptmx -> pts/ptmx, /dev/fd -> /proc/self/fd, /dev/std{in,out,err}
 * -> /proc/self/fd/{0,1,2}, and /dev/core -> /proc/kcore when proc_mounted. */
int zdev_create_links(int root_fd, bool proc_mounted, struct zerr *e);

/* Bind-mounts the terminal slave_fd refers to onto /dev/console. */
int zdev_setup_console(int root_fd, int slave_fd, struct zerr *e);

#endif
