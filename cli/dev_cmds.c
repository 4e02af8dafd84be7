/* Developer commands over engine/containers.h: ps (without an id), logs,
 * stop, rm, inspect; and the name resolution exec uses. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

#include "cli/cli.h"
#include "cli/dev.h"
#include "core/cleanup.h"
#include "core/path.h"
#include "core/spec.h"
#include "engine/monitor.h"
#include "images/manifest.h"
#include "images/store.h"

#define STOP_SIGNAL_ANNOTATION "org.opencontainers.image.stopSignal"
#define GEN_STR(g, s) yajl_gen_string(g, (const unsigned char *)(s), strlen(s))

const char *zcli_store_dir(const struct zcli *cli, char *buf, size_t size)
{
    const char *dir = cli->storage ? cli->storage : zstore_default_dir();
    char abs[PATH_MAX];
    if (realpath(dir, abs)) {
        snprintf(buf, size, "%s", abs);
    } else if (dir[0] != '/' && getcwd(abs, sizeof abs)) {
        _cleanup_free_ char *j = zpath_join(abs, dir);
        snprintf(buf, size, "%s", j ? j : dir);
    } else {
        snprintf(buf, size, "%s", dir);
    }
    return buf;
}

/* The runtime as it was when the container was made (its state root). */
static struct zruntime ctr_runtime(const struct zcli *cli, const struct zctr *c)
{
    struct zruntime rt = cli->rt;
    if (c->root && *c->root)
        rt.root = c->root;
    return rt;
}

/* ------------------------------------------------------------- status */

enum dev_state { DEV_CREATED, DEV_RUNNING, DEV_PAUSED, DEV_STOPPING, DEV_EXITED };

struct dev_status {
    enum dev_state state;
    pid_t pid;
    time_t since;            /* started (running) or finished (exited) */
};

static void dev_status_of(const struct zcli *cli, const struct zctr *c, struct dev_status *st)
{
    struct zruntime rt = ctr_runtime(cli, c);
    struct zcontainer_info info;
    struct zerr e;
    memset(st, 0, sizeof *st);
    st->state = c->exited ? DEV_EXITED : DEV_CREATED;
    st->since = c->exited ? zctr_parse_time(c->finished) : zctr_parse_time(c->created);
    if (zcontainer_state(&rt, c->id, &info, &e) < 0)
        return;
    switch (info.status) {
    case ZSTATUS_RUNNING: st->state = DEV_RUNNING; break;
    case ZSTATUS_PAUSED: st->state = DEV_PAUSED; break;
    case ZSTATUS_STOPPED:
        /* exited, the monitor has not recorded it yet (or is gone) */
        st->state = c->exited ? DEV_EXITED : DEV_STOPPING;
        break;
    default: st->state = DEV_CREATED; break;
    }
    if (st->state == DEV_RUNNING || st->state == DEV_PAUSED) {
        st->pid = info.pid;
        st->since = zctr_parse_time(info.created);
    }
    zcontainer_info_clear(&info);
}

static bool is_active(enum dev_state s)
{
    return s == DEV_RUNNING || s == DEV_PAUSED;
}

static const char *state_name(enum dev_state s)
{
    static const char *const names[] = {"created", "running", "paused", "stopped", "exited"};
    return names[s];
}

/* Go's units.HumanDuration, as podman prints durations. */
static void human_duration(time_t secs, char *buf, size_t n)
{
    long long s = secs < 0 ? 0 : (long long)secs, m = s / 60, h = (s + 1800) / 3600;
    if (s < 1)
        snprintf(buf, n, "Less than a second");
    else if (s == 1)
        snprintf(buf, n, "1 second");
    else if (s < 60)
        snprintf(buf, n, "%lld seconds", s);
    else if (m == 1)
        snprintf(buf, n, "About a minute");
    else if (m < 60)
        snprintf(buf, n, "%lld minutes", m);
    else if (h == 1)
        snprintf(buf, n, "About an hour");
    else if (h < 48)
        snprintf(buf, n, "%lld hours", h);
    else if (h < 24 * 7 * 2)
        snprintf(buf, n, "%lld days", h / 24);
    else if (h < 24 * 30 * 3)
        snprintf(buf, n, "%lld weeks", h / 24 / 7);
    else if (h < 24 * 365 * 2)
        snprintf(buf, n, "%lld months", h / 24 / 30);
    else
        snprintf(buf, n, "%lld years", h / 24 / 365);
}

static void status_text(const struct zctr *c, const struct dev_status *st, char *buf, size_t n)
{
    char d[64];
    human_duration(time(NULL) - st->since, d, sizeof d);
    switch (st->state) {
    case DEV_RUNNING: snprintf(buf, n, "Up %s", d); break;
    case DEV_PAUSED: snprintf(buf, n, "Up %s (Paused)", d); break;
    case DEV_EXITED: snprintf(buf, n, "Exited (%d) %s ago", c->exit_code, d); break;
    case DEV_STOPPING: snprintf(buf, n, "Stopped"); break;
    default: snprintf(buf, n, "Created"); break;
    }
}

static void command_text(const struct zctr *c, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < c->n_command && len + 1 < n; i++)
        len += (size_t)snprintf(buf + len, n - len, "%s%s", i ? " " : "", c->command[i]);
}

/* ----------------------------------------------------------------- ps */


static void gen_kv(yajl_gen g, const char *k, const char *v)
{
    GEN_STR(g, k);
    if (v)
        GEN_STR(g, v);
    else
        yajl_gen_null(g);
}

static void gen_strv(yajl_gen g, const char *k, char *const *v, size_t n)
{
    GEN_STR(g, k);
    yajl_gen_array_open(g);
    for (size_t i = 0; i < n; i++)
        GEN_STR(g, v[i]);
    yajl_gen_array_close(g);
}

static void print_gen(yajl_gen g)
{
    const unsigned char *buf;
    size_t len;
    yajl_gen_get_buf(g, &buf, &len);
    fwrite(buf, 1, len, stdout);
    fputc('\n', stdout);
}

int zcli_dev_ps(struct zcli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"all", no_argument, NULL, 'a'}, {"quiet", no_argument, NULL, 'q'},
        {"format", required_argument, NULL, 'f'}, {"no-trunc", no_argument, NULL, 'n'},
        {0}};
    char store[PATH_MAX];
    struct zctr *v;
    size_t n;
    struct zerr e = {0};
    bool all = false, quiet = false, no_trunc = false;
    const char *format = "table";
    int c;

    optind = 0;
    while ((c = getopt_long(argc, argv, "+aqf:", opts, NULL)) != -1) {
        switch (c) {
        case 'a': all = true; break;
        case 'q': quiet = true; break;
        case 'f': format = optarg; break;
        case 'n': no_trunc = true; break;
        default: return zcli_usage_error(&zcmd_ps, "unknown option %s", argv[optind - 1]);
        }
    }
    if (strcmp(format, "table") && strcmp(format, "json"))
        return zcli_usage_error(&zcmd_ps, "--format: expected table or json, got \"%s\"", format);
    if (zctr_list(zcli_store_dir(cli, store, sizeof store), &v, &n, &e) < 0)
        return zcli_fail(cli, NULL, &e);

    struct dev_status *st = calloc(n ? n : 1, sizeof *st);
    if (!st) {
        zctr_list_free(v, n);
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        dev_status_of(cli, &v[i], &st[i]);

    if (!strcmp(format, "json") && !quiet) {
        yajl_gen g = yajl_gen_alloc(NULL);
        yajl_gen_config(g, yajl_gen_beautify, 1);
        yajl_gen_array_open(g);
        for (size_t i = 0; i < n; i++) {
            char status[128];
            if (!all && !is_active(st[i].state))
                continue;
            status_text(&v[i], &st[i], status, sizeof status);
            yajl_gen_map_open(g);
            gen_kv(g, "Id", v[i].id);
            gen_strv(g, "Names", &v[i].name, 1);
            gen_kv(g, "Image", v[i].image);
            gen_kv(g, "ImageDigest", v[i].manifest);
            gen_strv(g, "Command", v[i].command, v[i].n_command);
            GEN_STR(g, "Created");
            yajl_gen_integer(g, zctr_parse_time(v[i].created));
            gen_kv(g, "CreatedAt", v[i].created);
            gen_kv(g, "State", state_name(st[i].state));
            gen_kv(g, "Status", status);
            GEN_STR(g, "Exited");
            yajl_gen_bool(g, st[i].state == DEV_EXITED);
            GEN_STR(g, "ExitCode");
            yajl_gen_integer(g, v[i].exited ? v[i].exit_code : 0);
            GEN_STR(g, "Pid");
            yajl_gen_integer(g, st[i].pid);
            GEN_STR(g, "AutoRemove");
            yajl_gen_bool(g, v[i].rm);
            yajl_gen_map_close(g);
        }
        yajl_gen_array_close(g);
        print_gen(g);
        yajl_gen_free(g);
    } else if (quiet) {
        for (size_t i = 0; i < n; i++)
            if (all || is_active(st[i].state))
                printf("%.*s\n", no_trunc ? ZCTR_ID_LEN : 12, v[i].id);
    } else {
        static const char *const hdr[6] = {"CONTAINER ID", "IMAGE", "COMMAND", "CREATED",
                                           "STATUS", "NAMES"};
        size_t w[6];
        char (*cells)[6][256] = calloc(n ? n : 1, sizeof *cells);
        size_t rows = 0;
        if (!cells) {
            free(st);
            zctr_list_free(v, n);
            return 1;
        }
        for (int k = 0; k < 6; k++)
            w[k] = strlen(hdr[k]);
        for (size_t i = 0; i < n; i++) {
            char d[64], cmd[512];
            if (!all && !is_active(st[i].state))
                continue;
            snprintf(cells[rows][0], 256, "%.*s", no_trunc ? ZCTR_ID_LEN : 12, v[i].id);
            snprintf(cells[rows][1], 256, "%s", v[i].image ? v[i].image : "");
            command_text(&v[i], cmd, sizeof cmd);
            if (!no_trunc && strlen(cmd) > 20)
                snprintf(cells[rows][2], 256, "%.17s...", cmd);
            else
                snprintf(cells[rows][2], 256, "%s", cmd);
            human_duration(time(NULL) - zctr_parse_time(v[i].created), d, sizeof d);
            snprintf(cells[rows][3], 256, "%s ago", d);
            status_text(&v[i], &st[i], cells[rows][4], 256);
            snprintf(cells[rows][5], 256, "%s", v[i].name);
            for (int k = 0; k < 6; k++)
                if (strlen(cells[rows][k]) > w[k])
                    w[k] = strlen(cells[rows][k]);
            rows++;
        }
        for (int k = 0; k < 6; k++)
            printf(k < 5 ? "%-*s  " : "%-*s\n", k < 5 ? (int)w[k] : 0, hdr[k]);
        for (size_t r = 0; r < rows; r++)
            for (int k = 0; k < 6; k++)
                printf(k < 5 ? "%-*s  " : "%-*s\n", k < 5 ? (int)w[k] : 0, cells[r][k]);
        free(cells);
    }
    free(st);
    zctr_list_free(v, n);
    return 0;
}

/* -------------------------------------------------------- resolution */

/* Loads the developer container a user named. */
static int load_named(const struct zcli *cli, const char *store, const char *name,
                      struct zctr *c, struct zerr *e)
{
    char id[ZCTR_ID_LEN + 1];
    (void)cli;
    if (zctr_resolve(store, name, id, e) < 0)
        return -1;
    return zctr_load(store, id, c, e);
}

bool zcli_dev_resolve_runtime(const struct zcli *cli, const char *name,
                              char id[ZCTR_ID_LEN + 1], struct zruntime *rt)
{
    char store[PATH_MAX], path[PATH_MAX];
    struct zctr c;
    struct zerr e;
    struct stat st;
    /* a runtime container of that id wins: runc's exec keeps working */
    if (!strchr(name, '/') && strcmp(name, ".") && strcmp(name, "..")) {
        snprintf(path, sizeof path, "%s/%s", cli->rt.root, name);
        if (stat(path, &st) == 0)
            return false;
    }
    if (load_named(cli, zcli_store_dir(cli, store, sizeof store), name, &c, &e) < 0)
        return false;
    memcpy(id, c.id, ZCTR_ID_LEN + 1);
    *rt = ctr_runtime(cli, &c);
    /* the state root outlives the record's strings */
    if (c.root && cli->rt.root && strcmp(c.root, cli->rt.root)) {
        static char root[PATH_MAX];
        snprintf(root, sizeof root, "%s", c.root);
        rt->root = root;
    } else {
        rt->root = cli->rt.root;
    }
    zctr_clear(&c);
    return true;
}

/* --------------------------------------------------------------- logs */

static int cmd_logs(struct zcli *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"follow", no_argument, NULL, 'f'}, {0}};
    char store[PATH_MAX];
    _cleanup_free_ char *dir = NULL, *path = NULL;
    _cleanup_close_ int fd = -1;
    struct zctr rec;
    struct zerr e = {0};
    bool follow = false;
    int c;

    while ((c = getopt_long(argc, argv, "+f", opts, NULL)) != -1) {
        if (c == 'f')
            follow = true;
        else
            return zcli_usage_error(&zcmd_logs, "unknown option %s", argv[optind - 1]);
    }
    if (zcli_expect_args(&zcmd_logs, argc, optind, 1, 1))
        return 1;
    zcli_store_dir(cli, store, sizeof store);
    if (load_named(cli, store, argv[optind], &rec, &e) < 0)
        return zcli_fail(cli, NULL, &e);
    dir = zctr_dir(store, rec.id);
    if (!dir || asprintf(&path, "%s/%s", dir, ZCTR_LOG) < 0) {
        zctr_clear(&rec);
        return 1;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno != ENOENT) {
        zerr_sys(&e, "%s", path);
        zctr_clear(&rec);
        return zcli_fail(cli, NULL, &e);
    }
    for (;;) {
        char buf[65536];
        ssize_t r;
        bool active;
        struct dev_status st;
        while (fd >= 0 && (r = read(fd, buf, sizeof buf)) > 0)
            if (fwrite(buf, 1, (size_t)r, stdout) != (size_t)r)
                break;
        fflush(stdout);
        if (!follow)
            break;
        /* reload: the monitor writes exit.json when it ends */
        {
            struct zctr now;
            if (zctr_load(store, rec.id, &now, &e) < 0)
                break;                    /* removed (--rm) */
            dev_status_of(cli, &now, &st);
            zctr_clear(&now);
        }
        active = is_active(st.state) || st.state == DEV_STOPPING ||
                 (st.state == DEV_CREATED);
        if (!active) {
            while (fd >= 0 && (r = read(fd, buf, sizeof buf)) > 0)
                if (fwrite(buf, 1, (size_t)r, stdout) != (size_t)r)
                    break;
            break;
        }
        if (fd < 0)
            fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        poll(NULL, 0, 100);
    }
    zctr_clear(&rec);
    return 0;
}

/* --------------------------------------------------------- stop / rm */

static bool wait_not_running(const struct zruntime *rt, const char *id, int timeout_ms)
{
    for (int waited = 0;; waited += 20) {
        struct zcontainer_info info;
        struct zerr e;
        bool gone;
        if (zcontainer_state(rt, id, &info, &e) < 0)
            return true;
        gone = info.status == ZSTATUS_STOPPED;
        zcontainer_info_clear(&info);
        if (gone)
            return true;
        if (waited >= timeout_ms)
            return false;
        poll(NULL, 0, 20);
    }
}

static int stop_signal(const struct zruntime *rt, const char *id)
{
    struct zcontainer_info info;
    struct zerr e;
    int sig = SIGTERM;
    if (zcontainer_state(rt, id, &info, &e) < 0)
        return sig;
    for (size_t i = 0; i < info.n_annotations; i++) {
        if (!strcmp(info.annotations[i].key, STOP_SIGNAL_ANNOTATION)) {
            int s = zcli_parse_signal(info.annotations[i].value);
            if (s > 0)
                sig = s;
        }
    }
    zcontainer_info_clear(&info);
    return sig;
}

/* Stops one container: its stop signal, then SIGKILL to the whole cgroup
 * after timeout_s; waits for the monitor to record the exit. */
static int stop_one(const struct zcli *cli, const char *store, const struct zctr *c,
                    long long timeout_s, struct zerr *e)
{
    struct zruntime rt = ctr_runtime(cli, c);
    struct dev_status st;
    dev_status_of(cli, c, &st);
    if (!is_active(st.state) && st.state != DEV_CREATED)
        return 0;
    if (st.state == DEV_PAUSED)
        zcontainer_resume(&rt, c->id, e);
    if (timeout_s > 0 && zcontainer_kill(&rt, c->id, stop_signal(&rt, c->id), false, e) < 0 &&
        e->code != ENOENT)
        return -1;
    if (timeout_s <= 0 || !wait_not_running(&rt, c->id, (int)(timeout_s * 1000))) {
        if (zcontainer_kill(&rt, c->id, SIGKILL, true, e) < 0 && e->code != ENOENT)
            return -1;
        if (!wait_not_running(&rt, c->id, 10000))
            return zerr_set(e, ETIMEDOUT, "container %s did not stop after SIGKILL", c->name);
    }
    zmon_wait_exit_record(store, c->id, 5000);
    return 0;
}

static int cmd_stop(struct zcli *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"time", required_argument, NULL, 't'},
                                         {"timeout", required_argument, NULL, 't'}, {0}};
    char store[PATH_MAX];
    long long timeout = 10;
    int c, rc = 0;

    while ((c = getopt_long(argc, argv, "+t:", opts, NULL)) != -1) {
        if (c == 't') {
            timeout = zcli_parse_int(optarg);
            if (timeout < 0)
                return zcli_usage_error(&zcmd_stop, "--time: invalid number of seconds \"%s\"", optarg);
        } else {
            return zcli_usage_error(&zcmd_stop, "unknown option %s", argv[optind - 1]);
        }
    }
    if (zcli_expect_args(&zcmd_stop, argc, optind, 1, -1))
        return 1;
    zcli_store_dir(cli, store, sizeof store);
    for (int i = optind; i < argc; i++) {
        struct zctr rec;
        struct zerr e = {0};
        if (load_named(cli, store, argv[i], &rec, &e) < 0) {
            rc = zcli_fail(cli, NULL, &e);
            continue;
        }
        if (stop_one(cli, store, &rec, timeout, &e) < 0)
            rc = zcli_fail(cli, NULL, &e);
        else
            printf("%s\n", argv[i]);
        zctr_clear(&rec);
    }
    return rc;
}

static int rm_one(const struct zcli *cli, const char *store, const struct zctr *c, bool force,
                  struct zerr *e)
{
    struct zruntime rt = ctr_runtime(cli, c);
    struct dev_status st;
    dev_status_of(cli, c, &st);
    if (is_active(st.state)) {
        if (!force)
            return zerr_set(e, EBUSY, "container %s is running: stop it first (zone stop %s) "
                            "or remove it with rm -f", c->name, c->name);
        if (st.state == DEV_PAUSED)
            zcontainer_resume(&rt, c->id, e);
        if (zcontainer_kill(&rt, c->id, SIGKILL, true, e) < 0 && e->code != ENOENT)
            return -1;
        if (!wait_not_running(&rt, c->id, 10000))
            return zerr_set(e, ETIMEDOUT, "container %s did not stop after SIGKILL", c->name);
        /* let the monitor finish with the record before it goes */
        zmon_wait_exit_record(store, c->id, 3000);
    }
    if (zcontainer_delete(&rt, c->id, true, e) < 0 && e->code != ENOENT)
        return -1;
    return zctr_remove(store, c->id, e);
}

static int cmd_rm(struct zcli *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"force", no_argument, NULL, 'f'}, {0}};
    char store[PATH_MAX];
    bool force = false;
    int c, rc = 0;

    while ((c = getopt_long(argc, argv, "+f", opts, NULL)) != -1) {
        if (c == 'f')
            force = true;
        else
            return zcli_usage_error(&zcmd_rm, "unknown option %s", argv[optind - 1]);
    }
    if (zcli_expect_args(&zcmd_rm, argc, optind, 1, -1))
        return 1;
    zcli_store_dir(cli, store, sizeof store);
    for (int i = optind; i < argc; i++) {
        struct zctr rec;
        struct zerr e = {0};
        if (load_named(cli, store, argv[i], &rec, &e) < 0) {
            rc = zcli_fail(cli, NULL, &e);
            continue;
        }
        if (rm_one(cli, store, &rec, force, &e) < 0)
            rc = zcli_fail(cli, NULL, &e);
        else
            printf("%s\n", rec.id);
        zctr_clear(&rec);
    }
    return rc;
}

/* ------------------------------------------------------------ inspect */

static void gen_container(yajl_gen g, const struct zcli *cli, const char *store,
                          const struct zctr *c)
{
    struct dev_status st;
    _cleanup_free_ char *dir = zctr_dir(store, c->id), *cfg = NULL;
    struct zspec *spec = NULL;
    struct zerr e;
    char user[64] = "";

    dev_status_of(cli, c, &st);
    if (dir && asprintf(&cfg, "%s/config.json", dir) >= 0)
        spec = spec_load(cfg, &e);
    else
        cfg = NULL;
    yajl_gen_map_open(g);
    gen_kv(g, "Id", c->id);
    gen_kv(g, "Name", c->name);
    gen_kv(g, "Created", c->created);
    gen_kv(g, "Image", c->manifest);
    gen_kv(g, "ImageName", c->image);
    gen_strv(g, "Args", c->command, c->n_command);
    GEN_STR(g, "State");
    yajl_gen_map_open(g);
    gen_kv(g, "Status", state_name(st.state));
    GEN_STR(g, "Running");
    yajl_gen_bool(g, st.state == DEV_RUNNING);
    GEN_STR(g, "Paused");
    yajl_gen_bool(g, st.state == DEV_PAUSED);
    GEN_STR(g, "Pid");
    yajl_gen_integer(g, st.pid);
    GEN_STR(g, "ExitCode");
    yajl_gen_integer(g, c->exited ? c->exit_code : 0);
    if (c->exited && c->signal) {
        GEN_STR(g, "Signal");
        yajl_gen_integer(g, c->signal);
    }
    gen_kv(g, "FinishedAt", c->finished ? c->finished : "");
    yajl_gen_map_close(g);
    GEN_STR(g, "Config");
    yajl_gen_map_open(g);
    gen_kv(g, "Image", c->image);
    if (spec && spec->process) {
        const struct zspec_process *p = spec->process;
        snprintf(user, sizeof user, "%u:%u", (unsigned)p->user.uid, (unsigned)p->user.gid);
        gen_strv(g, "Cmd", p->args, p->n_args);
        gen_strv(g, "Env", p->env, p->n_env);
        gen_kv(g, "WorkingDir", p->cwd);
        gen_kv(g, "User", user);
        GEN_STR(g, "Tty");
        yajl_gen_bool(g, p->terminal);
    } else {
        gen_strv(g, "Cmd", c->command, c->n_command);
    }
    if (spec && spec->hostname)
        gen_kv(g, "Hostname", spec->hostname);
    GEN_STR(g, "StopTimeout");
    yajl_gen_integer(g, 10);
    yajl_gen_map_close(g);
    GEN_STR(g, "HostConfig");
    yajl_gen_map_open(g);
    GEN_STR(g, "AutoRemove");
    yajl_gen_bool(g, c->rm);
    GEN_STR(g, "Timeout");
    yajl_gen_integer(g, c->timeout);
    if (spec && spec->root) {
        GEN_STR(g, "ReadonlyRootfs");
        yajl_gen_bool(g, spec->root->readonly);
    }
    yajl_gen_map_close(g);
    gen_kv(g, "LogPath", dir ? dir : "");
    GEN_STR(g, "Mounts");
    yajl_gen_array_open(g);
    for (size_t i = 0; spec && i < spec->n_mounts; i++) {
        const struct zspec_mount *m = &spec->mounts[i];
        bool bind = m->type && !strcmp(m->type, "bind"), ro = false;
        for (size_t k = 0; k < m->n_options; k++) {
            if (!strcmp(m->options[k], "bind") || !strcmp(m->options[k], "rbind"))
                bind = true;
            if (!strcmp(m->options[k], "ro"))
                ro = true;
        }
        if (!bind || !m->source)
            continue;
        yajl_gen_map_open(g);
        gen_kv(g, "Type", "bind");
        gen_kv(g, "Source", m->source);
        gen_kv(g, "Destination", m->destination);
        GEN_STR(g, "RW");
        yajl_gen_bool(g, !ro);
        gen_strv(g, "Options", m->options, m->n_options);
        yajl_gen_map_close(g);
    }
    yajl_gen_array_close(g);
    yajl_gen_map_close(g);
    if (spec)
        spec_free(spec);
}

static void gen_image(yajl_gen g, struct zstore *s, const struct zimage *im)
{
    const struct zimage_config *c = &im->config;
    struct ztag *tags = NULL;
    size_t n_tags = 0;
    struct zerr e;
    const char *hex = strchr(im->manifest.config.digest, ':');

    yajl_gen_map_open(g);
    gen_kv(g, "Id", hex ? hex + 1 : im->manifest.config.digest);
    gen_kv(g, "Digest", im->manifest_digest);
    GEN_STR(g, "RepoTags");
    yajl_gen_array_open(g);
    if (zstore_tag_list(s, &tags, &n_tags, &e) == 0) {
        for (size_t i = 0; i < n_tags; i++)
            if (!strcmp(tags[i].digest, im->manifest_digest))
                GEN_STR(g, tags[i].name);
        zstore_tag_list_free(tags, n_tags);
    }
    yajl_gen_array_close(g);
    gen_kv(g, "Created", c->created);
    gen_kv(g, "Architecture", c->architecture);
    gen_kv(g, "Os", c->os);
    GEN_STR(g, "Config");
    yajl_gen_map_open(g);
    gen_kv(g, "User", c->user ? c->user : "");
    gen_strv(g, "Env", c->env, c->n_env);
    if (c->entrypoint)
        gen_strv(g, "Entrypoint", c->entrypoint, c->n_entrypoint);
    if (c->cmd)
        gen_strv(g, "Cmd", c->cmd, c->n_cmd);
    gen_kv(g, "WorkingDir", c->working_dir ? c->working_dir : "");
    if (c->stop_signal)
        gen_kv(g, "StopSignal", c->stop_signal);
    GEN_STR(g, "Labels");
    yajl_gen_map_open(g);
    for (size_t i = 0; i < c->n_labels; i++)
        gen_kv(g, c->labels[i].key, c->labels[i].value);
    yajl_gen_map_close(g);
    GEN_STR(g, "ExposedPorts");
    yajl_gen_map_open(g);
    for (size_t i = 0; i < c->n_exposed_ports; i++) {
        GEN_STR(g, c->exposed_ports[i]);
        yajl_gen_map_open(g);
        yajl_gen_map_close(g);
    }
    yajl_gen_map_close(g);
    GEN_STR(g, "Volumes");
    yajl_gen_map_open(g);
    for (size_t i = 0; i < c->n_volumes; i++) {
        GEN_STR(g, c->volumes[i]);
        yajl_gen_map_open(g);
        yajl_gen_map_close(g);
    }
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
    GEN_STR(g, "RootFS");
    yajl_gen_map_open(g);
    gen_kv(g, "Type", "layers");
    gen_strv(g, "Layers", c->diff_ids, c->n_diff_ids);
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
}

static int cmd_inspect(struct zcli *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"type", required_argument, NULL, 't'}, {0}};
    char store[PATH_MAX];
    struct zstore *s = NULL;
    const char *type = "all";
    yajl_gen g;
    int c, rc = 0;

    while ((c = getopt_long(argc, argv, "+t:", opts, NULL)) != -1) {
        if (c != 't')
            return zcli_usage_error(&zcmd_inspect, "unknown option %s", argv[optind - 1]);
        if (strcmp(optarg, "container") && strcmp(optarg, "image") && strcmp(optarg, "all"))
            return zcli_usage_error(&zcmd_inspect, "--type: expected container, image or all, "
                                    "got \"%s\"", optarg);
        type = optarg;
    }
    if (zcli_expect_args(&zcmd_inspect, argc, optind, 1, -1))
        return 1;
    zcli_store_dir(cli, store, sizeof store);
    g = yajl_gen_alloc(NULL);
    yajl_gen_config(g, yajl_gen_beautify, 1);
    yajl_gen_config(g, yajl_gen_indent_string, "    ");
    yajl_gen_array_open(g);
    for (int i = optind; i < argc; i++) {
        struct zctr rec;
        struct zimage im;
        struct zerr e = {0};
        if (strcmp(type, "image") && load_named(cli, store, argv[i], &rec, &e) == 0) {
            gen_container(g, cli, store, &rec);
            zctr_clear(&rec);
            continue;
        }
        if (!strcmp(type, "container")) {
            rc = zcli_fail(cli, NULL, &e);
            continue;
        }
        if (!s && zstore_open(store, &s, &e) < 0) {
            rc = zcli_fail(cli, NULL, &e);
            continue;
        }
        if (zimage_load(s, argv[i], &im, &e) < 0) {
            zerr_set(&e, ENOENT, "no such object: \"%s\" (neither a container nor an image)", argv[i]);
            rc = zcli_fail(cli, NULL, &e);
            continue;
        }
        gen_image(g, s, &im);
        zimage_free(&im);
    }
    yajl_gen_array_close(g);
    print_gen(g);
    yajl_gen_free(g);
    if (s)
        zstore_close(s);
    return rc ? 125 : 0;
}

const struct zcommand zcmd_logs = {
    "logs", "print a developer container's output", "[-f] NAME|ID",
    "   --follow, -f   keep printing until the container exits\n", cmd_logs};
const struct zcommand zcmd_stop = {
    "stop", "stop developer containers (stop signal, then SIGKILL)", "[-t SECONDS] NAME|ID...",
    "   --time, -t SECONDS   wait this long after the stop signal before SIGKILL (default 10)\n",
    cmd_stop};
const struct zcommand zcmd_rm = {
    "rm", "remove developer containers", "[-f] NAME|ID...",
    "   --force, -f   kill a running container first\n", cmd_rm};
const struct zcommand zcmd_inspect = {
    "inspect", "show a developer container or an image as JSON", "[--type container|image] NAME|ID|IMAGE...",
    "   --type, -t TYPE   only look for a container or an image\n", cmd_inspect};
