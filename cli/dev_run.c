/* `zone run IMAGE [COMMAND...]`: podman-style flags into engine/dev_run.h. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/dev.h"
#include "core/cleanup.h"
#include "core/path.h"
#include "engine/dev_run.h"


/* -------------------------------------------------------------- parsing */

static int push(char ***v, size_t *n, const char *s)
{
    char **nv = realloc(*v, (*n + 2) * sizeof **v);
    if (!nv)
        return -1;
    *v = nv;
    if (!(nv[*n] = strdup(s)))
        return -1;
    nv[++*n] = NULL;
    return 0;
}

static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* "512m", "1g", "1048576", "2GiB"-less podman forms: b, k, m, g, t. */
static int64_t parse_size(const char *s)
{
    char *end;
    double v;
    int64_t mult = 1;
    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || v < 0 || !isfinite(v))
        return -1;
    switch (tolower((unsigned char)*end)) {
    case '\0': break;
    case 'b': mult = 1; end++; break;
    case 'k': mult = 1LL << 10; end++; break;
    case 'm': mult = 1LL << 20; end++; break;
    case 'g': mult = 1LL << 30; end++; break;
    case 't': mult = 1LL << 40; end++; break;
    default: return -1;
    }
    if (mult > 1 && tolower((unsigned char)*end) == 'b')
        end++;
    if (*end || v * (double)mult > 9.2e18)
        return -1;
    return (int64_t)(v * (double)mult);
}

/* --env-file: KEY=VALUE or KEY lines; blank lines and # comments skipped. */
static int read_env_file(const char *path, char ***env, size_t *n)
{
    _cleanup_fclose_ FILE *f = fopen(path, "re");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    if (!f) {
        fprintf(stderr, "zone run: --env-file %s: %s\n", path, strerror(errno));
        return -1;
    }
    while ((len = getline(&line, &cap, f)) >= 0) {
        char *s = line;
        while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
            s[--len] = '\0';
        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s || *s == '#')
            continue;
        if (*s == '=') {
            fprintf(stderr, "zone run: --env-file %s: invalid line \"%s\" (no variable name)\n", path, s);
            free(line);
            return -1;
        }
        if (push(env, n, s) < 0) {
            free(line);
            return -1;
        }
    }
    free(line);
    return 0;
}

/* SRC:DST[:ro|rw]; a relative SRC is taken from the current directory. */
static int parse_volume(const char *spec, struct zvolume *v)
{
    _cleanup_free_ char *copy = strdup(spec);
    char *dst, *mode;
    memset(v, 0, sizeof *v);
    if (!copy)
        return -1;
    dst = strchr(copy, ':');
    if (!dst || dst == copy || !dst[1]) {
        fprintf(stderr, "zone run: --volume \"%s\": expected SRC:DST[:ro|rw] (named volumes are "
                "not supported)\n", spec);
        return -1;
    }
    *dst++ = '\0';
    mode = strchr(dst, ':');
    if (mode) {
        *mode++ = '\0';
        for (char *opt = strtok(mode, ","); opt; opt = strtok(NULL, ",")) {
            if (!strcmp(opt, "ro"))
                v->read_only = true;
            else if (!strcmp(opt, "rw"))
                v->read_only = false;
            else if (strcmp(opt, "z") && strcmp(opt, "Z")) {
                fprintf(stderr, "zone run: --volume \"%s\": unknown option \"%s\" (ro or rw)\n",
                        spec, opt);
                return -1;
            }
        }
    }
    if (dst[0] != '/') {
        fprintf(stderr, "zone run: --volume \"%s\": the destination must be an absolute path\n", spec);
        return -1;
    }
    if (copy[0] == '/') {
        v->source = zpath_clean(copy);
    } else {
        char cwd[4096];
        if (!getcwd(cwd, sizeof cwd))
            return -1;
        v->source = zpath_join(cwd, copy);
    }
    v->destination = strdup(dst);
    return v->source && v->destination ? 0 : -1;
}

static int add_caps(char ***v, size_t *n, const char *list)
{
    _cleanup_free_ char *copy = strdup(list);
    char *save = NULL;
    if (!copy)
        return -1;
    for (char *c = strtok_r(copy, ",", &save); c; c = strtok_r(NULL, ",", &save))
        if (push(v, n, c) < 0)
            return -1;
    return 0;
}

#define RUN_USAGE "[options] IMAGE [COMMAND [ARG...]]"

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "zone run: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nUsage: zone run %s (see zone run --help)\n", RUN_USAGE);
    return ZRUN_EXIT_ENGINE;
}

static void free_opts(struct zdev_run_opts *o)
{
    struct zrun_flags *f = &o->flags;
    strv_free(f->env, f->n_env);
    for (size_t i = 0; i < f->n_volumes; i++) {
        free(f->volumes[i].source);
        free(f->volumes[i].destination);
    }
    free(f->volumes);
    strv_free(f->cap_add, f->n_cap_add);
    strv_free(f->cap_drop, f->n_cap_drop);
    strv_free(o->publish, o->n_publish);
}

int zcli_dev_run(struct zcli *cli, int argc, char **argv)
{
    struct zdev_run_opts o = {0};
    struct zrun_flags *f = &o.flags;
    struct zerr e = {0};
    char store[4096], id[ZCTR_ID_LEN + 1];
    int c, status = ZRUN_EXIT_ENGINE;
    long long n;

    f->network = ZNET_PRIVATE;
    o.pull = ZPULL_MISSING;
    opterr = 0;
    while ((c = getopt_long(argc, argv, zcli_dev_run_shortopts, zcli_dev_run_options, NULL)) != -1) {
        switch (c) {
        case DEVOPT_RM: o.rm = true; break;
        case 'd': o.detach = true; break;
        case 'i': f->interactive = true; break;
        case 't': f->tty = true; break;
        case DEVOPT_NAME: f->name = optarg; break;
        case 'e':
            if (push(&f->env, &f->n_env, optarg) < 0)
                goto nomem;
            break;
        case DEVOPT_ENV_FILE:
            if (read_env_file(optarg, &f->env, &f->n_env) < 0)
                goto out;
            break;
        case 'v': {
            struct zvolume *nv = realloc(f->volumes, (f->n_volumes + 1) * sizeof *nv);
            if (!nv)
                goto nomem;
            f->volumes = nv;
            if (parse_volume(optarg, &f->volumes[f->n_volumes]) < 0) {
                free(f->volumes[f->n_volumes].source);
                goto out;
            }
            f->n_volumes++;
            break;
        }
        case 'w': f->workdir = optarg; break;
        case 'u': f->user = optarg; break;
        case DEVOPT_ENTRYPOINT: f->entrypoint = optarg; break;
        case DEVOPT_NETWORK:
            if (!strcmp(optarg, "none"))
                f->network = ZNET_NONE;
            else if (!strcmp(optarg, "host"))
                f->network = ZNET_HOST;
            else if (!strcmp(optarg, "private"))
                f->network = ZNET_PRIVATE;
            else if (!strcmp(optarg, "pasta"))
                f->network = ZNET_PASTA;
            else {
                status = usage_error("--network: unknown mode \"%s\" (none, host, private or pasta)", optarg);
                goto out;
            }
            break;
        case 'p':
            if (push(&o.publish, &o.n_publish, optarg) < 0)
                goto nomem;
            break;
        case 'm':
            f->memory = parse_size(optarg);
            if (f->memory <= 0) {
                status = usage_error("--memory: invalid size \"%s\" (e.g. 512m, 2g)", optarg);
                goto out;
            }
            break;
        case DEVOPT_CPUS: {
            char *end;
            f->cpus = strtod(optarg, &end);
            if (*end || !(f->cpus > 0) || f->cpus > 4096) {
                status = usage_error("--cpus: invalid number \"%s\"", optarg);
                goto out;
            }
            break;
        }
        case DEVOPT_PIDS:
            if (!strcmp(optarg, "-1")) {
                f->pids_limit = -1;
            } else {
                n = zcli_parse_int(optarg);
                if (n < 0) {
                    status = usage_error("--pids-limit: invalid number \"%s\"", optarg);
                    goto out;
                }
                f->pids_limit = n == 0 ? -1 : n;   /* podman: 0 = unlimited */
            }
            break;
        case DEVOPT_READ_ONLY: f->read_only = true; break;
        case DEVOPT_CAP_ADD:
            if (add_caps(&f->cap_add, &f->n_cap_add, optarg) < 0)
                goto nomem;
            break;
        case DEVOPT_CAP_DROP:
            if (add_caps(&f->cap_drop, &f->n_cap_drop, optarg) < 0)
                goto nomem;
            break;
        case DEVOPT_SECURITY_OPT:
            if (!strncmp(optarg, "seccomp=", 8) && optarg[8]) {
                f->seccomp_profile = optarg + 8;
            } else if (!strcmp(optarg, "no-new-privileges") ||
                       !strcmp(optarg, "no-new-privileges=true") ||
                       !strcmp(optarg, "no-new-privileges:true")) {
                f->no_new_privileges = true;
            } else {
                status = usage_error("--security-opt: unsupported \"%s\" (seccomp=FILE, "
                                     "seccomp=unconfined or no-new-privileges)", optarg);
                goto out;
            }
            break;
        case DEVOPT_TIMEOUT:
            n = zcli_parse_int(optarg);
            if (n < 0) {
                status = usage_error("--timeout: invalid number of seconds \"%s\"", optarg);
                goto out;
            }
            o.timeout = n;
            break;
        case 'h': f->hostname = optarg; break;
        case DEVOPT_PULL:
            if (!strcmp(optarg, "missing"))
                o.pull = ZPULL_MISSING;
            else if (!strcmp(optarg, "always"))
                o.pull = ZPULL_ALWAYS;
            else if (!strcmp(optarg, "never"))
                o.pull = ZPULL_NEVER;
            else {
                status = usage_error("--pull: expected always, missing or never, got \"%s\"", optarg);
                goto out;
            }
            break;
        case DEVOPT_VM: cli->rt.vm = true; break;   /* the container runs in a microVM */
        case DEVOPT_HELP:
            zcli_print_help(&zcmd_run);
            status = 0;
            goto out;
        default:
            if (optopt && strchr(zcli_dev_run_shortopts, optopt))
                status = usage_error("option -%c needs a value", optopt);
            else
                status = usage_error("unknown option %s", argv[optind - 1]);
            goto out;
        }
    }
    if (optind >= argc) {
        status = usage_error("%s", "an image is required");
        goto out;
    }
    o.image = argv[optind];
    f->cmd = argv + optind + 1;
    f->n_cmd = (size_t)(argc - optind - 1);
    f->rootless = cli->rt.rootless == 1 || (cli->rt.rootless < 0 && geteuid() != 0);
    o.rt = cli->rt;
    o.store_dir = zcli_store_dir(cli, store, sizeof store);
    o.progress = isatty(2) ? stderr : NULL;

    if (zcli_seal_self(cli)) {
        status = ZRUN_EXIT_ENGINE;
        goto out;
    }
    if (zdev_run(&o, id, &status, &e) < 0) {
        zcli_fail(cli, NULL, &e);
        goto out;
    }
    if (o.detach)
        printf("%s\n", id);
out:
    free_opts(&o);
    return status;
nomem:
    fprintf(stderr, "zone run: out of memory\n");
    free_opts(&o);
    return ZRUN_EXIT_ENGINE;
}
