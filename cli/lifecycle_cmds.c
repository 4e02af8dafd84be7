/* create, run, start, kill, delete, pause, resume */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/dev.h"

#define CREATE_HELP                                                                 \
    "   --bundle DIR, -b DIR     path to the bundle directory (default: current directory)\n" \
    "   --console-socket PATH    unix socket that receives the pty master (terminal: true)\n" \
    "   --pid-file FILE          write the container init's pid to FILE\n"         \
    "   --no-pivot               use chroot instead of pivot_root (for ramdisk roots)\n" \
    "   --no-new-keyring         keep the session keyring of the caller\n"          \
    "   --preserve-fds N         pass N extra fds (from 3) to the container\n"

enum { OPT_CONSOLE = 256, OPT_PIDFILE, OPT_NOPIVOT, OPT_NOKEYRING, OPT_PRESERVE, OPT_KEEP };

static const struct option create_opts[] = {
    {"bundle", required_argument, NULL, 'b'},
    {"console-socket", required_argument, NULL, OPT_CONSOLE},
    {"pid-file", required_argument, NULL, OPT_PIDFILE},
    {"no-pivot", no_argument, NULL, OPT_NOPIVOT},
    {"no-new-keyring", no_argument, NULL, OPT_NOKEYRING},
    {"preserve-fds", required_argument, NULL, OPT_PRESERVE},
    {"detach", no_argument, NULL, 'd'},
    {"keep", no_argument, NULL, OPT_KEEP},
    {"no-subreaper", no_argument, NULL, 'S'},
    {0},
};

static int parse_create(const struct zcommand *cmd, int argc, char **argv,
                        struct zcreate_opts *o, bool *detach, bool *keep)
{
    int c;
    long long n;
    while ((c = getopt_long(argc, argv, "+b:d", create_opts, NULL)) != -1) {
        switch (c) {
        case 'b': o->bundle = optarg; break;
        case OPT_CONSOLE: o->console_socket = optarg; break;
        case OPT_PIDFILE: o->pid_file = optarg; break;
        case OPT_NOPIVOT: o->no_pivot = true; break;
        case OPT_NOKEYRING: o->no_new_keyring = true; break;
        case OPT_PRESERVE:
            n = zcli_parse_int(optarg);
            if (n < 0 || n > 65536)
                return zcli_usage_error(cmd, "--preserve-fds: invalid number \"%s\"", optarg);
            o->preserve_fds = (int)n;
            break;
        case 'd':
            if (!detach)
                return zcli_usage_error(cmd, "unknown option --detach");
            *detach = true;
            break;
        case OPT_KEEP:
            if (!keep)
                return zcli_usage_error(cmd, "unknown option --keep");
            *keep = true;
            break;
        case 'S': break; /* runc compatibility: we never act as subreaper with detach */
        default:
            return zcli_usage_error(cmd, "unknown option %s", argv[optind - 1]);
        }
    }
    if (zcli_expect_args(cmd, argc, optind, 1, 1))
        return 1;
    o->id = argv[optind];
    return 0;
}

static int cmd_create(struct zcli *cli, int argc, char **argv)
{
    struct zcreate_opts o = {0};
    struct zerr e = {0};
    if (parse_create(&zcmd_create, argc, argv, &o, NULL, NULL))
        return 1;
    if (zcli_seal_self(cli))
        return 1;
    if (zcontainer_create(&cli->rt, &o, &e) < 0)
        return zcli_fail(cli, "create failed", &e);
    return 0;
}

static int cmd_run(struct zcli *cli, int argc, char **argv)
{
    struct zcreate_opts o = {0};
    struct zerr e = {0};
    bool detach = false, keep = false;
    int status;
    /* `zone run IMAGE` (developer) or runc's `run ID`: docs/developer.md */
    if (zcli_run_is_developer(argc, argv))
        return zcli_dev_run(cli, argc, argv);
    if (parse_create(&zcmd_run, argc, argv, &o, &detach, &keep))
        return 1;
    if (zcli_seal_self(cli))
        return 1;
    if (zcontainer_run(&cli->rt, &o, detach, keep, &status, &e) < 0)
        return zcli_fail(cli, "run failed", &e);
    return status;
}

/* Commands that take exactly one id and no options. */
static int one_id(const struct zcommand *cmd, int argc, char **argv, const char **id)
{
    static const struct option none[] = {{0}};
    int c;
    while ((c = getopt_long(argc, argv, "+", none, NULL)) != -1)
        return zcli_usage_error(cmd, "unknown option %s", argv[optind - 1]);
    if (zcli_expect_args(cmd, argc, optind, 1, 1))
        return 1;
    *id = argv[optind];
    return 0;
}

static int cmd_start(struct zcli *cli, int argc, char **argv)
{
    const char *id;
    struct zerr e = {0};
    if (one_id(&zcmd_start, argc, argv, &id))
        return 1;
    if (zcontainer_start(&cli->rt, id, &e) < 0)
        return zcli_fail(cli, NULL, &e);
    return 0;
}

static int cmd_pause(struct zcli *cli, int argc, char **argv)
{
    const char *id;
    struct zerr e = {0};
    if (one_id(&zcmd_pause, argc, argv, &id))
        return 1;
    if (zcontainer_pause(&cli->rt, id, &e) < 0)
        return zcli_fail(cli, NULL, &e);
    return 0;
}

static int cmd_resume(struct zcli *cli, int argc, char **argv)
{
    const char *id;
    struct zerr e = {0};
    if (one_id(&zcmd_resume, argc, argv, &id))
        return 1;
    if (zcontainer_resume(&cli->rt, id, &e) < 0)
        return zcli_fail(cli, NULL, &e);
    return 0;
}

static int cmd_kill(struct zcli *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"all", no_argument, NULL, 'a'}, {0}};
    struct zerr e = {0};
    bool all = false;
    int c, sig = SIGTERM;
    while ((c = getopt_long(argc, argv, "+a", opts, NULL)) != -1) {
        if (c == 'a')
            all = true;
        else
            return zcli_usage_error(&zcmd_kill, "unknown option %s", argv[optind - 1]);
    }
    if (zcli_expect_args(&zcmd_kill, argc, optind, 1, 2))
        return 1;
    if (optind + 1 < argc) {
        sig = zcli_parse_signal(argv[optind + 1]);
        if (sig < 0) {
            e.code = EINVAL;
            snprintf(e.msg, sizeof e.msg, "unknown signal \"%s\"", argv[optind + 1]);
            return zcli_fail(cli, NULL, &e);
        }
    }
    if (zcontainer_kill(&cli->rt, argv[optind], sig, all, &e) < 0)
        return zcli_fail(cli, NULL, &e);
    return 0;
}

static int cmd_delete(struct zcli *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"force", no_argument, NULL, 'f'}, {0}};
    struct zerr e = {0};
    bool force = false;
    int c;
    while ((c = getopt_long(argc, argv, "+f", opts, NULL)) != -1) {
        if (c == 'f')
            force = true;
        else
            return zcli_usage_error(&zcmd_delete, "unknown option %s", argv[optind - 1]);
    }
    if (zcli_expect_args(&zcmd_delete, argc, optind, 1, -1))
        return 1;
    for (int i = optind; i < argc; i++) {
        if (zcontainer_delete(&cli->rt, argv[i], force, &e) < 0) {
            /* runc: deleting a missing container with --force is not an error */
            if (force && e.code == ENOENT)
                continue;
            return zcli_fail(cli, NULL, &e);
        }
    }
    return 0;
}

const struct zcommand zcmd_create = {
    "create", "create a container", "[command options] <container-id>", CREATE_HELP, cmd_create};
const struct zcommand zcmd_run = {
    "run", "run a container from an image, or (runc) from a bundle",
    "[options] IMAGE [COMMAND [ARG...]]  ||  [command options] <container-id>",
    "  From an image (podman-style; see docs/developer.md):\n"
    "   --rm                     remove the container when it exits\n"
    "   --detach, -d             run in the background; print the container id\n"
    "   --interactive, -i        pass stdin to the container\n"
    "   --tty, -t                allocate a terminal\n"
    "   --name NAME              name the container (unique)\n"
    "   --env, -e KEY[=VALUE]    set a variable (from ours when no value)\n"
    "   --env-file FILE          read variables from FILE\n"
    "   --volume, -v SRC:DST[:ro|rw]  bind-mount a host path\n"
    "   --workdir, -w DIR        working directory\n"
    "   --user, -u USER[:GROUP]  user to run as (name or id)\n"
    "   --entrypoint CMD         replace the image's entrypoint (\"\" for none)\n"
    "   --network, --net MODE    none, host, private (default) or pasta\n"
    "   --publish, -p [IP:]HOST:CTR[/udp]  forward a port (--network pasta)\n"
    "   --memory, -m SIZE        memory limit (k, m, g suffixes)\n"
    "   --cpus N                 CPU limit (e.g. 1.5)\n"
    "   --pids-limit N           process limit (-1: unlimited)\n"
    "   --read-only              read-only root filesystem\n"
    "   --cap-add CAP, --cap-drop CAP  change capabilities (ALL allowed)\n"
    "   --security-opt OPT       seccomp=FILE, seccomp=unconfined, no-new-privileges\n"
    "   --timeout SECONDS        kill the container after SECONDS (exit 124)\n"
    "   --hostname, -h NAME      the container's hostname\n"
    "   --pull POLICY            missing (default), always or never\n"
    "   --vm                     run it in a microVM (docs/vm.md; needs /dev/kvm)\n"
    "\n  From a bundle (runc; chosen when a runc-only option is given, or when the\n"
    "  only argument is an id and ./config.json exists):\n"
    CREATE_HELP "   --detach, -d             detach from the container's process\n"
                "   --keep                   do not delete the container after it exits\n",
    cmd_run};
const struct zcommand zcmd_start = {
    "start", "execute the user process in a created container", "<container-id>", "", cmd_start};
const struct zcommand zcmd_pause = {
    "pause", "suspend all processes inside the container", "<container-id>", "", cmd_pause};
const struct zcommand zcmd_resume = {
    "resume", "resume all processes that have been previously paused", "<container-id>", "",
    cmd_resume};
const struct zcommand zcmd_kill = {
    "kill", "send a signal to the container's init process", "[command options] <container-id> [signal]",
    "   --all, -a   send the signal to all processes in the container\n"
    "   signal      a name (KILL, SIGKILL, RTMIN+3) or number; default SIGTERM\n",
    cmd_kill};
const struct zcommand zcmd_delete = {
    "delete", "delete any resources held by the container", "[command options] <container-id>...",
    "   --force, -f   kill the container first if it is still running\n", cmd_delete};
