/* --network pasta: Debian's `pasta` (package passt) gives the container's
 * network namespace a tap interface whose traffic it carries over ordinary
 * host sockets, with -p port mappings, and no privileges needed. The
 * monitor starts it after create (the namespace exists) and before start,
 * and stops it once the container has exited. */
#ifndef ZONE_ENGINE_PASTA_H
#define ZONE_ENGINE_PASTA_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/error.h"

struct zpasta {
    pid_t pid;       /* the pasta daemon, 0 when none */
    int pidfd;       /* pins pid against reuse, -1 when none */
};

void zpasta_init(struct zpasta *p);
/* Checks that pasta is installed and /dev/net/tun usable; the error names
 * the package or the device. */
int zpasta_available(struct zerr *e);
/* Attaches pasta to the network (and, rootless, user) namespace of
 * ctr_pid, configures the interface and forwards the -p ports. Returns
 * once pasta has finished configuring the namespace. */
int zpasta_start(struct zpasta *p, pid_t ctr_pid, bool rootless, char *const *publish,
                 size_t n_publish, struct zerr *e);
/* Stops the daemon (SIGTERM, then SIGKILL after 1 s). */
void zpasta_stop(struct zpasta *p);
/* Tells p that pid was reaped by the caller (pasta's daemon can be
 * reparented to a subreaper). */
void zpasta_reaped(struct zpasta *p, pid_t pid);
/* [IP:]HOSTPORT:CTRPORT[/tcp|/udp] or PORT[/tcp|/udp]; ports 1-65535. */
int zpasta_check_publish(const char *spec, struct zerr *e);
/* The same, split: ip may be empty (all addresses). */
struct zpublish { char ip[64]; char host[8], ctr[8]; bool udp; };
int zpasta_parse_publish(const char *spec, struct zpublish *p, struct zerr *e);

/* The fallback when pasta is not installed (engine/slirp.c): slirp4netns
 * with the same interface, tap0 as 10.0.2.100, the -p ports added through
 * its API socket (in $XDG_RUNTIME_DIR rootless, removed once they are).
 * Fills p like zpasta_start; zpasta_stop stops it. */
/* Opens the container's network namespace (and, rootless, its user
 * namespace; else *userns is -1) for the helper to join through
 * /proc/self/fd: the helper drops privileges before it opens them. */
int zpasta_open_namespaces(pid_t ctr_pid, bool rootless, int *netns, int *userns, struct zerr *e);

/* In the forked child of a network helper: stdin and stdout /dev/null,
 * stderr errfd, the netns on fd 3, the userns (if >= 0) on fd 4 and
 * extra_fd (if >= 0) on fd 5, nothing else open, no signal blocked; then
 * execs argv[0] from PATH. Never returns (127 when the exec fails). */
__attribute__((noreturn)) void zpasta_exec_helper(char *const *argv, int errfd, int netns, int userns,
                                                   int extra_fd);

int zslirp_start(struct zpasta *p, pid_t ctr_pid, bool rootless, char *const *publish,
                 size_t n_publish, struct zerr *e);

#endif
