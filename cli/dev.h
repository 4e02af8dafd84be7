/* The developer side of the CLI (podman-style commands over engine/),
 * shared by the files whose verbs have a runc meaning too (run, ps, exec).
 * See docs/developer.md for how the two meanings are told apart. */
#ifndef ZONE_CLI_DEV_H
#define ZONE_CLI_DEV_H

#include <stdbool.h>

#include "cli/cli.h"
#include "engine/containers.h"

/* The developer run's options (getopt_long tables, in cli/dev_argv.c). */
enum {
    DEVOPT_RM = 300, DEVOPT_NAME, DEVOPT_ENV_FILE, DEVOPT_ENTRYPOINT, DEVOPT_NETWORK,
    DEVOPT_CPUS, DEVOPT_PIDS, DEVOPT_READ_ONLY,
    DEVOPT_CAP_ADD, DEVOPT_CAP_DROP, DEVOPT_SECURITY_OPT, DEVOPT_TIMEOUT, DEVOPT_PULL, DEVOPT_HELP, DEVOPT_VM,
};
extern const struct option zcli_dev_run_options[];
extern const char zcli_dev_run_shortopts[];

/* `zone run` argv (argv[0] = "run"): true when it is the developer run
 * (zone run IMAGE), false for runc's OCI run. */
bool zcli_run_is_developer(int argc, char **argv);
/* `zone run IMAGE [CMD...]` */
int zcli_dev_run(struct zcli *cli, int argc, char **argv);
/* `zone ps` without a container id: the developer list. */
int zcli_dev_ps(struct zcli *cli, int argc, char **argv);
/* `zone ps` argv: true when it names no container (developer list). */
bool zcli_ps_is_developer(int argc, char **argv);

/* The store directory as an absolute path (--storage or the default). */
const char *zcli_store_dir(const struct zcli *cli, char *buf, size_t size);

/* For exec: when name is not a container under cli->rt.root but a
 * developer container's name, id or id prefix, fills id and rt (its state
 * root) and returns true. In the runtime binary (cli/dev_forward.c) a name
 * that is not a runtime container hands the whole command to zone-dev
 * instead, and returns false only when zone-dev cannot be run. */
bool zcli_dev_resolve_runtime(const struct zcli *cli, const char *name,
                              char id[ZCTR_ID_LEN + 1], struct zruntime *rt);

/* Runs the whole original command line with zone-dev (the binary that
 * has the image and developer commands); returns 1 after printing why
 * when it cannot. Only in the runtime binary. */
int zcli_forward_to_dev(const struct zcli *cli);
/* zone-dev's path in path (size bytes), or NULL when it is not installed. */
const char *zcli_dev_binary(char *path, size_t size);

#endif
