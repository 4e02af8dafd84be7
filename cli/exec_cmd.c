/* exec: run a new process inside a running container. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/dev.h"
#include "core/path.h"

enum { X_CONSOLE = 256, X_CWD, X_PIDFILE, X_LABEL, X_APPARMOR, X_NNP, X_PRESERVE, X_IGNORE_PAUSED, X_CGROUP };

static char **strv_append(char **v, size_t *n, const char *s)
{
    char **nv = realloc(v, (*n + 2) * sizeof *nv);
    if (!nv)
        return NULL;
    nv[*n] = strdup(s);
    nv[++*n] = NULL;
    return nv;
}

/* Sets or replaces KEY=VALUE in an env vector. */
static char **env_set(char **v, size_t *n, const char *kv)
{
    size_t klen = strcspn(kv, "=");
    for (size_t i = 0; i < *n; i++) {
        if (!strncmp(v[i], kv, klen) && v[i][klen] == '=') {
            free(v[i]);
            v[i] = strdup(kv);
            return v;
        }
    }
    return strv_append(v, n, kv);
}

static bool strv_has(char **v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i], s))
            return true;
    return false;
}

static void add_cap(char ***set, size_t *n, const char *cap)
{
    if (!strv_has(*set, *n, cap))
        *set = strv_append(*set, n, cap);
}

static int parse_user(const char *s, struct zspec_user *u)
{
    char *end;
    unsigned long uid = strtoul(s, &end, 10);
    if (end == s || (*end && *end != ':'))
        return -1;
    u->uid = (uint32_t)uid;
    if (*end == ':') {
        const char *g = end + 1;
        unsigned long gid = strtoul(g, &end, 10);
        if (end == g || *end)
            return -1;
        u->gid = (uint32_t)gid;
    }
    return 0;
}

/* exec's own failures exit 255, as runc's do, so that callers can tell them
 * from the process's exit status */
static int exec_fail(const struct zcli *cli, const char *what, const struct zerr *e)
{
    zcli_fail(cli, what, e);
    return 255;
}

static int cmd_exec(struct zcli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"console-socket", required_argument, NULL, X_CONSOLE},
        {"cwd", required_argument, NULL, X_CWD},
        {"env", required_argument, NULL, 'e'},
        {"tty", no_argument, NULL, 't'},
        {"user", required_argument, NULL, 'u'},
        {"additional-gids", required_argument, NULL, 'g'},
        {"process", required_argument, NULL, 'p'},
        {"detach", no_argument, NULL, 'd'},
        {"pid-file", required_argument, NULL, X_PIDFILE},
        {"process-label", required_argument, NULL, X_LABEL},
        {"apparmor", required_argument, NULL, X_APPARMOR},
        {"no-new-privs", no_argument, NULL, X_NNP},
        {"cap", required_argument, NULL, 'c'},
        {"preserve-fds", required_argument, NULL, X_PRESERVE},
        {"ignore-paused", no_argument, NULL, X_IGNORE_PAUSED},
        {"cgroup", required_argument, NULL, X_CGROUP},
        {"interactive", no_argument, NULL, 'i'},
        {0},
    };
    struct zexec_opts o = {0};
    struct zerr e = {0};
    const char *process_file = NULL, *cwd = NULL, *user = NULL, *label = NULL, *apparmor = NULL;
    char **envs = NULL, **caps = NULL, **gids = NULL;
    size_t n_envs = 0, n_caps = 0, n_gids = 0;
    bool tty = false, nnp = false;
    struct zspec_process *p = NULL;
    int c, status = 255;
    char dev_id[ZCTR_ID_LEN + 1];
    struct zruntime dev_rt;
    const struct zruntime *rt = &cli->rt;

    while ((c = getopt_long(argc, argv, "+e:tiu:g:p:dc:", opts, NULL)) != -1) {
        switch (c) {
        case 'i': break; /* podman's -i: stdin is passed through anyway */
        case X_CONSOLE: o.console_socket = optarg; break;
        case X_CWD: cwd = optarg; break;
        case 'e': envs = strv_append(envs, &n_envs, optarg); break;
        case 't': tty = true; break;
        case 'u': user = optarg; break;
        case 'g': gids = strv_append(gids, &n_gids, optarg); break;
        case 'p': process_file = optarg; break;
        case 'd': o.detach = true; break;
        case X_PIDFILE: o.pid_file = optarg; break;
        case X_LABEL: label = optarg; break;
        case X_APPARMOR: apparmor = optarg; break;
        case X_NNP: nnp = true; break;
        case 'c': caps = strv_append(caps, &n_caps, optarg); break;
        case X_PRESERVE: {
            long long n = zcli_parse_int(optarg);
            if (n < 0 || n > 65536)
                return zcli_usage_error(&zcmd_exec, "--preserve-fds: invalid number \"%s\"", optarg);
            o.preserve_fds = (int)n;
            break;
        }
        case X_IGNORE_PAUSED: case X_CGROUP: break;
        default:
            return zcli_usage_error(&zcmd_exec, "unknown option %s", argv[optind - 1]);
        }
    }
    if (zcli_expect_args(&zcmd_exec, argc, optind, 1, -1))
        goto out;
    o.id = argv[optind];
    /* a developer container's name, id or id prefix (zone run IMAGE) */
    if (zcli_dev_resolve_runtime(cli, o.id, dev_id, &dev_rt)) {
        o.id = dev_id;
        rt = &dev_rt;
    }
    if (!process_file && optind + 1 >= argc) {
        status = zcli_usage_error(&zcmd_exec, "a command is required unless --process is given");
        goto out;
    }

    if (process_file) {
        size_t len;
        char *json = zfile_read(process_file, 4u << 20, &len, &e);
        if (!json) {
            status = exec_fail(cli, NULL, &e);
            goto out;
        }
        p = spec_process_parse(json, len, process_file, &e);
        free(json);
        if (!p) {
            status = exec_fail(cli, NULL, &e);
            goto out;
        }
    } else {
        struct zspec *s = zcontainer_load_config(rt, o.id, &e);
        if (!s) {
            status = exec_fail(cli, NULL, &e);
            goto out;
        }
        p = s->process;
        s->process = NULL;
        spec_free(s);
        for (size_t i = 0; i < p->n_args; i++)
            free(p->args[i]);
        free(p->args);
        p->args = NULL;
        p->n_args = 0;
        for (int i = optind + 1; i < argc; i++)
            p->args = strv_append(p->args, &p->n_args, argv[i]);
        p->terminal = tty;
        p->has_console_size = false;
    }
    /* flags refine either source, as runc does */
    for (size_t i = 0; i < n_envs; i++)
        p->env = env_set(p->env, &p->n_env, envs[i]);
    if (cwd) {
        free(p->cwd);
        p->cwd = strdup(cwd);
    }
    if (user && parse_user(user, &p->user) < 0) {
        status = zcli_usage_error(&zcmd_exec, "--user: expected UID[:GID], got \"%s\"", user);
        goto out;
    }
    if (n_gids) {
        free(p->user.additional_gids);
        p->user.additional_gids = calloc(n_gids, sizeof(uint32_t));
        p->user.n_additional_gids = n_gids;
        for (size_t i = 0; i < n_gids; i++) {
            long long g = zcli_parse_int(gids[i]);
            if (g < 0 || g > UINT32_MAX) {
                status = zcli_usage_error(&zcmd_exec, "--additional-gids: invalid gid \"%s\"", gids[i]);
                goto out;
            }
            p->user.additional_gids[i] = (uint32_t)g;
        }
    }
    if (tty)
        p->terminal = true;
    if (nnp)
        p->no_new_privileges = true;
    if (apparmor) {
        free(p->apparmor_profile);
        p->apparmor_profile = strdup(apparmor);
    }
    if (label) {
        free(p->selinux_label);
        p->selinux_label = strdup(label);
    }
    if (n_caps) {
        if (!p->capabilities)
            p->capabilities = calloc(1, sizeof *p->capabilities);
        for (size_t i = 0; i < n_caps; i++) {
            struct zspec_capabilities *k = p->capabilities;
            add_cap(&k->bounding, &k->n_bounding, caps[i]);
            add_cap(&k->effective, &k->n_effective, caps[i]);
            add_cap(&k->permitted, &k->n_permitted, caps[i]);
            add_cap(&k->ambient, &k->n_ambient, caps[i]);
        }
    }
    if (!p->cwd || p->cwd[0] != '/') {
        zerr_set(&e, EINVAL, "process.cwd: must be an absolute path");
        status = exec_fail(cli, NULL, &e);
        goto out;
    }
    if (zcli_seal_self(cli))
        goto out;
    o.process = p;
    if (zcontainer_exec(rt, &o, &status, &e) < 0)
        status = exec_fail(cli, "exec failed", &e);
out:
    if (p)
        spec_process_free(p);
    for (size_t i = 0; i < n_envs; i++)
        free(envs[i]);
    for (size_t i = 0; i < n_caps; i++)
        free(caps[i]);
    for (size_t i = 0; i < n_gids; i++)
        free(gids[i]);
    free(envs);
    free(caps);
    free(gids);
    return status;
}

const struct zcommand zcmd_exec = {
    "exec", "execute new process inside the container",
    "[command options] <container-id> <command> [command options]  ||  --process FILE <container-id>",
    "   --console-socket PATH    unix socket that receives the pty master\n"
    "   --cwd DIR                working directory\n"
    "   --env KEY=VALUE, -e      set an environment variable (repeatable)\n"
    "   --tty, -t                allocate a pseudo-TTY (relayed here without --console-socket)\n"
    "   --interactive, -i        accepted for podman's -it; stdin is always passed\n"
    "   --user UID[:GID], -u     user to run as\n"
    "   --additional-gids GID, -g  additional group (repeatable)\n"
    "   --process FILE, -p FILE  process.json describing the process\n"
    "   --detach, -d             detach from the process\n"
    "   --pid-file FILE          write the process's pid to FILE\n"
    "   --process-label LABEL    SELinux label of the process\n"
    "   --apparmor PROFILE       AppArmor profile of the process\n"
    "   --no-new-privs           set no_new_privs\n"
    "   --cap CAP, -c CAP        add a capability (repeatable)\n"
    "   --preserve-fds N         pass N extra fds (from 3)\n",
    cmd_exec};
