/* zone: an OCI runtime, runc-compatible on the command line. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/dev.h"
#include "cgroups/cgroups.h"
#include "core/log.h"
#include "core/spec.h"
#include "runtime/selfexe.h"
#include "runtime/state.h"
#include "vm-sandbox/handler/handler.h"

int zcli_fail(const struct zcli *cli, const char *what, const struct zerr *e)
{
    if (what)
        zerror("%s: %s", what, e->msg);
    else
        zerror("%s", e->msg);
    /* With --log the log holds the structured line; stderr gets it plain,
     * as runc does, so people and engines both see it. */
    if (cli->log_path)
        fprintf(stderr, "%s%s%s\n", what ? what : "", what ? ": " : "", e->msg);
    return 1;
}

void zcli_print_help(const struct zcommand *cmd)
{
    printf("NAME:\n   zone %s - %s\n\nUSAGE:\n   zone %s %s\n", cmd->name, cmd->summary,
           cmd->name, cmd->usage);
    if (cmd->help && *cmd->help)
        printf("\nOPTIONS:\n%s", cmd->help);
}

int zcli_usage_error(const struct zcommand *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "zone %s: ", cmd->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nUsage: zone %s %s\n", cmd->name, cmd->usage);
    return 1;
}

int zcli_expect_args(const struct zcommand *cmd, int argc, int optind_, int min, int max)
{
    int n = argc - optind_;
    if (n < min)
        return zcli_usage_error(cmd, "requires at least %d argument%s", min, min == 1 ? "" : "s");
    if (max >= 0 && n > max)
        return zcli_usage_error(cmd, "requires at most %d argument%s", max, max == 1 ? "" : "s");
    return 0;
}

long long zcli_parse_int(const char *s)
{
    char *end;
    long long v;
    if (!s || !*s)
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end || v < 0)
        return -1;
    return v;
}

int zcli_parse_signal(const char *s)
{
    long long n = zcli_parse_int(s);
    if (n > 0 && n < _NSIG)
        return (int)n;
    if (!strncasecmp(s, "SIG", 3))
        s += 3;
    for (int sig = 1; sig < SIGRTMIN; sig++) {
        const char *name = sigabbrev_np(sig);
        if (name && !strcasecmp(name, s))
            return sig;
    }
    if (!strncasecmp(s, "RTMIN", 5)) {
        int off = s[5] == '+' ? atoi(s + 6) : 0;
        if (SIGRTMIN + off <= SIGRTMAX)
            return SIGRTMIN + off;
    }
    if (!strncasecmp(s, "RTMAX", 5)) {
        int off = s[5] == '-' ? atoi(s + 6) : 0;
        if (SIGRTMAX - off >= SIGRTMIN)
            return SIGRTMAX - off;
    }
    return -1;
}

int zcli_seal_self(struct zcli *cli)
{
    struct zerr e = {0};
    zvm_remember_agent();   /* the sealed exe is not in the install dir */
    if (zselfexe_seal(cli->argv0, &e) < 0)
        return zcli_fail(cli, NULL, &e);
    return 0;
}

static void print_version(void)
{
    printf("zone version %s\ncommit: %s\nspec: %s\n", ZONE_VERSION, ZONE_COMMIT, ZONE_OCI_VERSION);
}

static void print_main_help(void)
{
    printf("NAME:\n   zone - a fast, small OCI container runtime\n\n"
           "USAGE:\n   zone [global options] command [command options] [arguments...]\n\n"
           "COMMANDS:\n");
    for (size_t i = 0; i < zcli_n_commands; i++)
        printf("   %-10s %s\n", zcli_commands[i]->name, zcli_commands[i]->summary);
    printf("\nGLOBAL OPTIONS:\n"
           "   --root DIR            root directory for container state (default: /run/zone,\n"
           "                         or $XDG_RUNTIME_DIR/zone without root)\n"
           "   --log FILE            write the log to FILE (default: stderr)\n"
           "   --log-format FORMAT   text or json (default: text)\n"
           "   --debug               log debug messages\n"
           "   --systemd-cgroup      use systemd to manage cgroups (cgroupsPath slice:prefix:name)\n"
           "   --rootless VALUE      true, false or auto (default: auto)\n"
           "   --storage DIR         image and developer-container store (default:\n"
           "                         /var/lib/zone, or $XDG_DATA_HOME/zone without root)\n"
           "   --vm                  run containers in a microVM (as run.oci.handler=vm;\n"
           "                         also when invoked as zone-vm)\n"
           "   --help, -h            show help\n"
           "   --version, -v         print the version\n\n"
           "Run 'zone COMMAND --help' for a command's options.\n");
}

/* Verbs that never touch the state root: they work without one. */
static bool needs_state_root(const char *verb)
{
    static const char *const stateless[] = {"spec", "features", "pull", "import", "save",
                                            "load", "images", "rmi", "image"};
    for (size_t i = 0; i < sizeof stateless / sizeof stateless[0]; i++)
        if (!strcmp(verb, stateless[i]))
            return false;
    return true;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"root", required_argument, NULL, 'r'},
        {"log", required_argument, NULL, 'l'},
        {"log-format", required_argument, NULL, 'f'},
        {"debug", no_argument, NULL, 'd'},
        {"systemd-cgroup", no_argument, NULL, 's'},
        {"rootless", required_argument, NULL, 'R'},
        {"criu", required_argument, NULL, 'C'},
        {"storage", required_argument, NULL, 'S'},
        {"vm", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'v'},
        {0},
    };
    struct zcli cli = {.rt = {.root = NULL, .rootless = -1}, .argv0 = argv};
    const char *cmd;
    int c;
    static char root_buf[4096];
    struct zerr root_err = {0};

    /* zone-vm (a symlink, for engines): every container in a microVM */
    {
        const char *base = strrchr(argv[0], '/');
        cli.rt.vm = !strcmp(base ? base + 1 : argv[0], "zone-vm");
    }
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+hv", opts, NULL)) != -1) {
        switch (c) {
        case 'r': cli.rt.root = optarg; break;
        case 'l': cli.log_path = optarg; break;
        case 'f': cli.log_format = optarg; break;
        case 'd': cli.debug = true; break;
        case 's': cli.rt.systemd_cgroup = true; break;
        case 'R':
            if (!strcmp(optarg, "true"))
                cli.rt.rootless = 1;
            else if (!strcmp(optarg, "false"))
                cli.rt.rootless = 0;
            else if (!strcmp(optarg, "auto"))
                cli.rt.rootless = -1;
            else {
                fprintf(stderr, "zone: --rootless: expected true, false or auto, got \"%s\"\n", optarg);
                return 1;
            }
            break;
        case 'S': cli.storage = optarg; break;
        case 'V': cli.rt.vm = true; break;
        case 'C': break; /* accepted for runc compatibility; checkpointing is not offered */
        case 'h': print_main_help(); return 0;
        case 'v': print_version(); return 0;
        default:
            fprintf(stderr, "zone: unknown global option %s (see zone --help)\n", argv[optind - 1]);
            return 1;
        }
    }
    if (!cli.rt.root)
        cli.rt.root = zstate_default_root(root_buf, sizeof root_buf, &root_err);
    if (cli.log_format && strcmp(cli.log_format, "text") && strcmp(cli.log_format, "json")) {
        fprintf(stderr, "zone: --log-format: unknown format \"%s\" (text or json)\n", cli.log_format);
        return 1;
    }
    if (zlog_init(cli.log_path,
                  cli.log_format && !strcmp(cli.log_format, "json") ? ZLOG_JSON : ZLOG_TEXT,
                  cli.debug) < 0) {
        fprintf(stderr, "zone: --log %s: %s\n", cli.log_path, strerror(errno));
        return 1;
    }
    if (optind >= argc) {
        print_main_help();
        return 1;
    }
    cmd = argv[optind];
    for (size_t i = 0; i < zcli_n_commands; i++) {
        if (strcmp(zcli_commands[i]->name, cmd))
            continue;
        if (!zcli_commands[i]->run)
            return zcli_forward_to_dev(&cli);
        for (int j = optind + 1; j < argc; j++) {
            if (!strcmp(argv[j], "--"))
                break;
            if (!strcmp(argv[j], "--help") || !strcmp(argv[j], "-h")) {
                /* exec's and run's command may have its own -h: only
                 * before the id / image; for run, -h alone is help (runc)
                 * and otherwise the developer run's --hostname */
                if (zcli_commands[i] == &zcmd_run && !strcmp(argv[j], "-h") && argc - optind > 2)
                    break;
                if (zcli_commands[i] == &zcmd_exec || zcli_commands[i] == &zcmd_ps ||
                    zcli_commands[i] == &zcmd_run) {
                    bool before_id = true;
                    for (int k = optind + 1; k < j; k++)
                        if (argv[k][0] != '-')
                            before_id = false;
                    if (!before_id)
                        break;
                }
                zcli_print_help(zcli_commands[i]);
                return 0;
            }
        }
        {
            /* verbs parse their own argv, whose argv[0] is the verb;
             * optind = 0 makes glibc's getopt start afresh */
            int verb = optind;
            if (!cli.rt.root && needs_state_root(cmd))
                return zcli_fail(&cli, NULL, &root_err);
            optind = 0;
            return zcli_commands[i]->run(&cli, argc - verb, argv + verb);
        }
    }
    fprintf(stderr, "zone: no such command: %s (see zone --help)\n", cmd);
    return 1;
}
