/* state, list, ps */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

#include "cli/cli.h"
#include "cli/dev.h"
#include "core/cleanup.h"

#define GEN_STR(g, s) yajl_gen_string(g, (const unsigned char *)(s), strlen(s))

static void gen_kv(yajl_gen g, const char *k, const char *v)
{
    GEN_STR(g, k);
    GEN_STR(g, v ? v : "");
}

/* runc's containerState object: what `state` and `list -f json` print. */
static void gen_container(yajl_gen g, const struct zcontainer_info *v, const char *owner)
{
    yajl_gen_map_open(g);
    gen_kv(g, "ociVersion", ZONE_OCI_VERSION);
    gen_kv(g, "id", v->id);
    GEN_STR(g, "pid");
    yajl_gen_integer(g, v->pid);
    gen_kv(g, "status", zstate_status_name(v->status));
    gen_kv(g, "bundle", v->bundle);
    gen_kv(g, "rootfs", v->rootfs);
    gen_kv(g, "created", v->created);
    if (v->n_annotations) {
        GEN_STR(g, "annotations");
        yajl_gen_map_open(g);
        for (size_t i = 0; i < v->n_annotations; i++)
            gen_kv(g, v->annotations[i].key, v->annotations[i].value);
        yajl_gen_map_close(g);
    }
    gen_kv(g, "owner", owner);
    yajl_gen_map_close(g);
}

static void print_gen(yajl_gen g)
{
    const unsigned char *buf;
    size_t len;
    yajl_gen_get_buf(g, &buf, &len);
    fwrite(buf, 1, len, stdout);
    fputc('\n', stdout);
}

static int cmd_state(struct zcli *cli, int argc, char **argv)
{
    static const struct option none[] = {{0}};
    struct zcontainer_info v;
    struct zerr e = {0};
    yajl_gen g;
    if (getopt_long(argc, argv, "+", none, NULL) != -1)
        return zcli_usage_error(&zcmd_state, "unknown option %s", argv[optind - 1]);
    if (zcli_expect_args(&zcmd_state, argc, optind, 1, 1))
        return 1;
    if (zcontainer_state(&cli->rt, argv[optind], &v, &e) < 0)
        return zcli_fail(cli, NULL, &e);
    g = yajl_gen_alloc(NULL);
    yajl_gen_config(g, yajl_gen_beautify, 1);
    yajl_gen_config(g, yajl_gen_indent_string, "  ");
    gen_container(g, &v, "");
    print_gen(g);
    yajl_gen_free(g);
    zcontainer_info_clear(&v);
    return 0;
}

/* User name of uid from /etc/passwd, without NSS (which would load modules). */
static void owner_name_lookup(uid_t uid, char *buf, size_t size);

static void owner_name(uid_t uid, char *buf, size_t size)
{
    /* containers nearly always share one owner: read /etc/passwd once */
    static uid_t last_uid = (uid_t)-1;
    static char last_name[256];
    if (uid == last_uid && last_uid != (uid_t)-1) {
        snprintf(buf, size, "%s", last_name);
        return;
    }
    last_uid = uid;
    owner_name_lookup(uid, last_name, sizeof last_name);
    snprintf(buf, size, "%s", last_name);
}

static void owner_name_lookup(uid_t uid, char *buf, size_t size)
{
    _cleanup_fclose_ FILE *f = fopen("/etc/passwd", "re");
    char line[1024];
    snprintf(buf, size, "#%u", (unsigned)uid);
    while (f && fgets(line, sizeof line, f)) {
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        if ((uid_t)strtoul(c2 + 1, NULL, 10) == uid) {
            size_t len = (size_t)(c1 - line) < size - 1 ? (size_t)(c1 - line) : size - 1;
            memcpy(buf, line, len);
            buf[len] = '\0';
            return;
        }
    }
}

static int cmp_info(const void *a, const void *b)
{
    return strcmp(((const struct zcontainer_info *)a)->id, ((const struct zcontainer_info *)b)->id);
}

static int cmd_list(struct zcli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"format", required_argument, NULL, 'f'}, {"quiet", no_argument, NULL, 'q'}, {0}};
    struct zcontainer_info *v;
    size_t n;
    struct zerr e = {0};
    const char *format = "table";
    bool quiet = false;
    int c;

    while ((c = getopt_long(argc, argv, "+f:q", opts, NULL)) != -1) {
        if (c == 'f')
            format = optarg;
        else if (c == 'q')
            quiet = true;
        else
            return zcli_usage_error(&zcmd_list, "unknown option %s", argv[optind - 1]);
    }
    if (strcmp(format, "table") && strcmp(format, "json"))
        return zcli_usage_error(&zcmd_list, "invalid format option \"%s\"", format);
    if (zcli_expect_args(&zcmd_list, argc, optind, 0, 0))
        return 1;
    if (zcontainer_list(&cli->rt, &v, &n, &e) < 0)
        return zcli_fail(cli, NULL, &e);
    qsort(v, n, sizeof *v, cmp_info);
    if (quiet) {
        for (size_t i = 0; i < n; i++)
            printf("%s\n", v[i].id);
    } else if (!strcmp(format, "json")) {
        yajl_gen g = yajl_gen_alloc(NULL);
        char owner[256];
        if (n == 0) {
            printf("null\n"); /* what runc prints for an empty list */
        } else {
            yajl_gen_array_open(g);
            for (size_t i = 0; i < n; i++) {
                owner_name(v[i].owner, owner, sizeof owner);
                gen_container(g, &v[i], owner);
            }
            yajl_gen_array_close(g);
            print_gen(g);
        }
        yajl_gen_free(g);
    } else {
        /* runc's tabwriter layout: min width 12, padding 3 */
        static const char *hdr[6] = {"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"};
        size_t w[6];
        char pid[16], owner[256];
        for (int k = 0; k < 6; k++)
            w[k] = strlen(hdr[k]);
        for (size_t i = 0; i < n; i++) {
            size_t lens[6];
            owner_name(v[i].owner, owner, sizeof owner);
            lens[0] = strlen(v[i].id);
            lens[1] = (size_t)snprintf(pid, sizeof pid, "%d", v[i].pid);
            lens[2] = strlen(zstate_status_name(v[i].status));
            lens[3] = strlen(v[i].bundle ? v[i].bundle : "");
            lens[4] = strlen(v[i].created ? v[i].created : "");
            lens[5] = strlen(owner);
            for (int k = 0; k < 6; k++)
                if (lens[k] > w[k])
                    w[k] = lens[k];
        }
        for (int k = 0; k < 5; k++)
            w[k] = w[k] + 3 < 12 ? 12 : w[k] + 3;
        printf("%-*s%-*s%-*s%-*s%-*s%s\n", (int)w[0], hdr[0], (int)w[1], hdr[1], (int)w[2], hdr[2],
               (int)w[3], hdr[3], (int)w[4], hdr[4], hdr[5]);
        for (size_t i = 0; i < n; i++) {
            owner_name(v[i].owner, owner, sizeof owner);
            snprintf(pid, sizeof pid, "%d", v[i].pid);
            printf("%-*s%-*s%-*s%-*s%-*s%s\n", (int)w[0], v[i].id, (int)w[1], pid, (int)w[2],
                   zstate_status_name(v[i].status), (int)w[3], v[i].bundle ? v[i].bundle : "",
                   (int)w[4], v[i].created ? v[i].created : "", owner);
        }
    }
    zcontainer_list_free(v, n);
    return 0;
}

static bool pid_in(pid_t p, const pid_t *pids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (pids[i] == p)
            return true;
    return false;
}

/* `ps ID [ps options]`: runs ps(1) and keeps the header and our pids. */
static int ps_passthrough(struct zcli *cli, char **ps_args, int n_args, const pid_t *pids,
                          size_t n)
{
    int pipefd[2], status, pid_col = -1;
    char **argv = calloc((size_t)n_args + 3, sizeof *argv);
    char line[8192];
    FILE *f;
    pid_t child;
    struct zerr e = {0};

    if (!argv || pipe2(pipefd, O_CLOEXEC) < 0) {
        free(argv);
        zerr_sys(&e, "pipe");
        return zcli_fail(cli, NULL, &e);
    }
    argv[0] = "ps";
    if (n_args == 0)
        argv[1] = "-ef";
    for (int i = 0; i < n_args; i++)
        argv[i + 1] = ps_args[i];
    child = fork();
    if (child == 0) {
        dup2(pipefd[1], 1);
        execvp("ps", argv);
        _exit(127);
    }
    free(argv);
    close(pipefd[1]);
    f = fdopen(pipefd[0], "r");
    if (!f || child < 0) {
        zerr_sys(&e, "run ps");
        return zcli_fail(cli, NULL, &e);
    }
    for (int lineno = 0; fgets(line, sizeof line, f); lineno++) {
        char copy[8192], *save = NULL, *tok;
        int col = 0;
        snprintf(copy, sizeof copy, "%s", line);
        if (lineno == 0) {
            for (tok = strtok_r(copy, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save), col++)
                if (!strcmp(tok, "PID"))
                    pid_col = col;
            fputs(line, stdout);
            if (pid_col < 0) {
                fclose(f);
                waitpid(child, &status, 0);
                e.code = EINVAL;
                snprintf(e.msg, sizeof e.msg, "couldn't find PID field in ps output");
                return zcli_fail(cli, NULL, &e);
            }
            continue;
        }
        for (tok = strtok_r(copy, " \t\n", &save); tok && col < pid_col; tok = strtok_r(NULL, " \t\n", &save))
            col++;
        if (tok && pid_in((pid_t)atoi(tok), pids, n))
            fputs(line, stdout);
    }
    fclose(f);
    waitpid(child, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

static int cmd_ps(struct zcli *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"format", required_argument, NULL, 'f'}, {0}};
    const char *format = "table";
    struct zerr e = {0};
    pid_t *pids;
    size_t n;
    int c, rc = 0;

    /* no container id: podman's list of developer containers */
    if (zcli_ps_is_developer(argc, argv))
        return zcli_dev_ps(cli, argc, argv);
    while ((c = getopt_long(argc, argv, "+f:", opts, NULL)) != -1) {
        if (c == 'f')
            format = optarg;
        else
            return zcli_usage_error(&zcmd_ps, "unknown option %s", argv[optind - 1]);
    }
    if (strcmp(format, "table") && strcmp(format, "json"))
        return zcli_usage_error(&zcmd_ps, "invalid format option \"%s\"", format);
    if (zcli_expect_args(&zcmd_ps, argc, optind, 1, -1))
        return 1;
    if (zcontainer_pids(&cli->rt, argv[optind], &pids, &n, &e) < 0)
        return zcli_fail(cli, NULL, &e);
    if (!strcmp(format, "json")) {
        printf("[");
        for (size_t i = 0; i < n; i++)
            printf("%s%d", i ? "," : "", pids[i]);
        printf("]\n");
    } else {
        rc = ps_passthrough(cli, argv + optind + 1, argc - optind - 1, pids, n);
    }
    free(pids);
    return rc;
}

const struct zcommand zcmd_state = {
    "state", "output the state of a container", "<container-id>", "", cmd_state};
const struct zcommand zcmd_list = {
    "list", "list containers started by zone with the given root", "[command options]",
    "   --format FORMAT, -f FORMAT   table or json (default: table)\n"
    "   --quiet, -q                  display only container IDs\n",
    cmd_list};
const struct zcommand zcmd_ps = {
    "ps", "list developer containers, or (runc) the processes inside a container",
    "[-a] [-q] [--format json]  ||  [command options] <container-id> [ps options]",
    "  Without an id (podman-style list of developer containers):\n"
    "   --all, -a                    also containers that are not running\n"
    "   --quiet, -q                  only ids\n"
    "   --no-trunc                   full ids and commands\n"
    "   --format FORMAT              table or json\n"
    "  With an id (runc):\n"
    "   --format FORMAT, -f FORMAT   table (ps output) or json (array of pids) (default: table)\n",
    cmd_ps};
