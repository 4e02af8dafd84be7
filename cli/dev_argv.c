/* Telling the developer forms of run and ps from runc's by their argv
 * alone. Linked into both binaries: the runtime binary forwards the
 * developer forms to zone-dev (cli/dev_forward.c). */
#include <ctype.h>
#include <getopt.h>
#include <string.h>
#include <unistd.h>

#include "cli/dev.h"
#include "core/cleanup.h"

const struct option zcli_dev_run_options[] = {
    {"rm", no_argument, NULL, DEVOPT_RM},
    {"detach", no_argument, NULL, 'd'},
    {"interactive", no_argument, NULL, 'i'},
    {"tty", no_argument, NULL, 't'},
    {"name", required_argument, NULL, DEVOPT_NAME},
    {"env", required_argument, NULL, 'e'},
    {"env-file", required_argument, NULL, DEVOPT_ENV_FILE},
    {"volume", required_argument, NULL, 'v'},
    {"workdir", required_argument, NULL, 'w'},
    {"user", required_argument, NULL, 'u'},
    {"entrypoint", required_argument, NULL, DEVOPT_ENTRYPOINT},
    {"network", required_argument, NULL, DEVOPT_NETWORK},
    {"net", required_argument, NULL, DEVOPT_NETWORK},
    {"publish", required_argument, NULL, 'p'},
    {"memory", required_argument, NULL, 'm'},
    {"cpus", required_argument, NULL, DEVOPT_CPUS},
    {"pids-limit", required_argument, NULL, DEVOPT_PIDS},
    {"read-only", no_argument, NULL, DEVOPT_READ_ONLY},
    {"cap-add", required_argument, NULL, DEVOPT_CAP_ADD},
    {"cap-drop", required_argument, NULL, DEVOPT_CAP_DROP},
    {"security-opt", required_argument, NULL, DEVOPT_SECURITY_OPT},
    {"timeout", required_argument, NULL, DEVOPT_TIMEOUT},
    {"hostname", required_argument, NULL, 'h'},
    {"pull", required_argument, NULL, DEVOPT_PULL},
    {"vm", no_argument, NULL, DEVOPT_VM},
    {"help", no_argument, NULL, DEVOPT_HELP},
    {0},
};
const char zcli_dev_run_shortopts[] = "+dite:v:w:u:p:m:h:";

/* ----------------------------------------------------------- dispatch */

/* runc's run flags that the developer run does not have */
static const char *const runc_only[] = {
    "bundle", "pid-file", "console-socket", "no-pivot", "no-new-keyring",
    "preserve-fds", "keep", "no-subreaper",
};

static bool valid_runtime_id(const char *s)
{
    if (!isalnum((unsigned char)s[0]))
        return false;
    for (const char *c = s; *c; c++)
        if (!isalnum((unsigned char)*c) && !strchr("_.+-", *c))
            return false;
    return strlen(s) <= 1024;
}

static bool short_takes_arg(char c)
{
    const char *at = strchr(zcli_dev_run_shortopts + 1, c);
    return at && at[1] == ':';
}

bool zcli_run_is_developer(int argc, char **argv)
{
    bool dev_only = false;
    int positional = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) {
            positional = argc - i - 1;
            break;
        }
        if (a[0] != '-' || a[1] == '\0') {
            positional = argc - i;
            break;
        }
        if (a[1] == '-') {
            const char *name = a + 2;
            size_t len = strcspn(name, "=");
            const struct option *o = NULL;
            for (size_t k = 0; k < ZARRAY_SIZE(runc_only); k++)
                if (strlen(runc_only[k]) == len && !strncmp(runc_only[k], name, len))
                    return false;
            if ((len == 6 && !strncmp(name, "detach", 6)) || (len == 4 && !strncmp(name, "help", 4)))
                continue;
            dev_only = true;
            for (const struct option *d = zcli_dev_run_options; d->name; d++)
                if (strlen(d->name) == len && !strncmp(d->name, name, len))
                    o = d;
            if (o && o->has_arg == required_argument && !name[len])
                i++;
            continue;
        }
        for (const char *c = a + 1; *c; c++) {
            if (*c == 'b')
                return false;          /* runc's -b BUNDLE */
            if (*c == 'd')
                continue;
            dev_only = true;
            if (short_takes_arg(*c)) {
                if (!c[1])
                    i++;
                break;
            }
        }
    }
    if (dev_only || positional != 1)
        return true;
    /* `zone run ID` in a bundle directory stays runc's run */
    return !valid_runtime_id(argv[argc - 1]) || access("config.json", F_OK) != 0;
}

static bool ps_takes_value(const char *a)
{
    return !strcmp(a, "--format") || !strcmp(a, "-f") || !strcmp(a, "--filter");
}

bool zcli_ps_is_developer(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--"))
            return i + 1 >= argc;
        if (argv[i][0] != '-')
            return false;           /* a container id: runc's ps */
        if (ps_takes_value(argv[i]))
            i++;
    }
    return true;
}
