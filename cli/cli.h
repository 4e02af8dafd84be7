/* Shared by the CLI's command files. Only cli/ prints. */
#ifndef ZONE_CLI_CLI_H
#define ZONE_CLI_CLI_H

#include <getopt.h>
#include <stdbool.h>

#include "core/error.h"
#include "runtime/container.h"

struct zcli {
    struct zruntime rt;
    const char *log_path;
    const char *log_format;
    bool debug;
    char **argv0;              /* the whole original argv (for re-exec) */
    const char *storage;       /* --storage DIR: image store (NULL = default) */
};

struct zcommand {
    const char *name;
    const char *summary;
    const char *usage;         /* the part after "zone NAME " */
    const char *help;          /* option list */
    /* NULL in the runtime binary for the verbs it hands to zone-dev */
    int (*run)(struct zcli *cli, int argc, char **argv);
};

/* The verbs of this binary (cli/commands_runtime.c for zone,
 * cli/commands_dev.c for zone-dev), sorted as `zone --help` lists them. */
extern const struct zcommand *const zcli_commands[];
extern const size_t zcli_n_commands;

extern const struct zcommand zcmd_create, zcmd_run, zcmd_start, zcmd_state, zcmd_list,
    zcmd_kill, zcmd_delete, zcmd_exec, zcmd_ps, zcmd_pause, zcmd_resume, zcmd_spec,
    zcmd_features, zcmd_update, zcmd_events;
extern const struct zcommand zcmd_pull;
extern const struct zcommand zcmd_import;
extern const struct zcommand zcmd_save;
extern const struct zcommand zcmd_load;
extern const struct zcommand zcmd_logs;
extern const struct zcommand zcmd_stop;
extern const struct zcommand zcmd_rm;
extern const struct zcommand zcmd_inspect;
extern const struct zcommand zcmd_images;
extern const struct zcommand zcmd_rmi;
extern const struct zcommand zcmd_image;

/* Reports e (stderr, and the log), returns the exit code 1. */
int zcli_fail(const struct zcli *cli, const char *what, const struct zerr *e);
/* Usage error: prints the message and the command's usage, returns 1. */
int zcli_usage_error(const struct zcommand *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void zcli_print_help(const struct zcommand *cmd);
/* Requires exactly `n` positional args (0 = any); returns 0 or prints usage. */
int zcli_expect_args(const struct zcommand *cmd, int argc, int optind_, int min, int max);
/* Parses a signal name ("KILL", "SIGKILL", "RTMIN+1") or number. */
int zcli_parse_signal(const char *s);
/* Points /proc/self/exe at a read-only (sealed) view of this binary unless
 * it already runs from one (CVE-2019-5736), in place as root, else by
 * re-executing through it: every command whose processes enter a
 * container calls it first. Being non-dumpable is not enough: a
 * process that execs a script starting with #!/proc/self/exe runs this
 * binary inside the container, dumpable, and any process there could then
 * reopen it for writing once it exits. */
int zcli_seal_self(struct zcli *cli);
/* Parses a non-negative decimal int; -1 on error. */
long long zcli_parse_int(const char *s);

#endif
