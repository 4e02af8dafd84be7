/* OCI lifecycle hooks (prestart, createRuntime, createContainer,
 * startContainer, poststart, poststop). */
#ifndef ZONE_RUNTIME_HOOKS_H
#define ZONE_RUNTIME_HOOKS_H

#include "core/error.h"
#include "core/spec.h"

/* How much of a failing hook's stderr goes into the error message. */
#define ZHOOK_STDERR_MAX 1024

/* Runs each hook of `list` in order and stops at the first failure. Each
 * hook is fork+execve(path, args, env) — env exactly as given, empty when
 * absent; args default to { path } — in its own process group, with:
 *   stdin   the state JSON (`state_json`, may be NULL for none), then EOF;
 *   stdout  the runtime's stderr;
 *   stderr  passed through to the runtime's stderr; the last
 *           ZHOOK_STDERR_MAX bytes are kept for the error message;
 *   no other fds, default signal dispositions and an empty signal mask.
 * With a timeout, the hook's process group is killed with SIGKILL when it
 * runs longer: "hook poststart[1] (/usr/bin/x): timed out after 5s".
 * Failure: "hook prestart[0] (/path): exit status 3: <stderr>".
 * `name` is the list's name in config.json ("prestart", "createRuntime"...).
 * Waits on a pidfd of that hook only (falling back to polling waitpid on
 * kernels without pidfd_open): other children of the runtime are left
 * alone. A hook that leaves background processes holding its stderr does
 * not block us: we stop reading once the hook itself has exited.
 * A NULL list, or one with no hooks, succeeds. */
int zhooks_run(const struct zspec_hook_list *list, const char *name,
               const char *state_json, struct zerr *e);

#endif
