/* timer: run a sequence of commands repeatedly and record, for each run of
 * each step, its wall time and the peak RSS of the process started.
 *
 *   timer [-n ITER] [-w WARMUP] [-s MS] [-p] [-q] [-o FILE] -- STEP [::: STEP]...
 *
 * A STEP is a program and its arguments. In every argument the text "{i}" is
 * replaced by the iteration number (warm-up runs count first, so ids stay
 * unique across warm-up and measured runs). Iteration k runs step 1, step 2,
 * ... in order; each step is timed on its own with CLOCK_MONOTONIC from just
 * before the process is spawned to just after wait4 returns it.
 *
 * Peak RSS:
 *   maxrss_kb  ru_maxrss from wait4 of the step's process: the process and
 *              the descendants it waited for itself (what /usr/bin/time -v
 *              reports). For `run` that includes the container's process.
 *   self_kb    with -p: VmHWM of the step's process alone, read from
 *              /proc/PID/status at its PTRACE_EVENT_EXIT stop (only the
 *              process itself is traced, never its children). -p runs are
 *              slower and their wall times are not comparable; do them apart.
 *
 * Steps read stdin from /dev/null; -q also sends their stdout there (stderr
 * is kept for errors).
 * Output: one JSON object on stdout (or FILE):
 *   {"steps":[{"argv":[...],"wall_ns":[...],"maxrss_kb":[...],
 *              "self_kb":[...]}]}
 * Exit status: 0 when every run of every step exited 0; otherwise 1 after the
 * first failing run, naming the command and how it ended. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_STEPS 16

struct step {
    char **argv;     /* template, "{i}" not yet replaced */
    int argc;
    uint64_t *wall_ns;
    long *maxrss_kb;
    long *self_kb;
};

struct options {
    long iterations;
    long warmup;
    int trace_self;
    int quiet;
    long pause_ms;
    const char *out_path;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Returns a malloc'd copy of arg with every "{i}" replaced by iter. */
static char *substitute(const char *arg, long iter)
{
    char num[24];
    int numlen = snprintf(num, sizeof num, "%ld", iter);
    size_t count = 0;
    for (const char *p = arg; (p = strstr(p, "{i}")) != NULL; p += 3)
        count++;
    size_t len = strlen(arg) + count * (size_t)numlen + 1;
    char *out = malloc(len);
    if (!out)
        return NULL;
    char *o = out;
    for (const char *p = arg; *p;) {
        if (strncmp(p, "{i}", 3) == 0) {
            memcpy(o, num, (size_t)numlen);
            o += numlen;
            p += 3;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    return out;
}

static long read_vmhwm_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = -1;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

static void describe_status(int status, char *buf, size_t len)
{
    if (WIFEXITED(status))
        snprintf(buf, len, "exited %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, len, "killed by signal %d", WTERMSIG(status));
    else
        snprintf(buf, len, "ended with status 0x%x", status);
}

/* Spawns argv without tracing; returns the pid or -1. */
static pid_t spawn_plain(char **argv, int quiet)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    if (quiet)
        posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        errno = rc;
        return -1;
    }
    return pid;
}

/* Forks a child that asks to be traced and execs argv; the parent sees it
 * stop at the exec. Only this process is traced (no TRACEFORK/TRACECLONE),
 * so the runtime's children run untouched. */
static pid_t spawn_traced(char **argv, int quiet)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (in >= 0)
            dup2(in, STDIN_FILENO);
        if (quiet) {
            int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
            if (fd >= 0)
                dup2(fd, STDOUT_FILENO);
        }
        if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0)
            _exit(126);
        execvp(argv[0], argv);
        _exit(127);
    }
    int status;
    if (waitpid(pid, &status, 0) < 0)
        return -1;
    if (!WIFSTOPPED(status)) /* exec failed: it exited already */
        return -pid - 2;
    ptrace(PTRACE_SETOPTIONS, pid, NULL,
           (void *)(long)(PTRACE_O_TRACEEXIT | PTRACE_O_EXITKILL));
    ptrace(PTRACE_CONT, pid, NULL, NULL);
    return pid;
}

/* Waits for a traced child to end, reading VmHWM at its exit stop and
 * passing every other signal on. */
static int wait_traced(pid_t pid, int *status, struct rusage *ru, long *self_kb)
{
    for (;;) {
        if (wait4(pid, status, 0, ru) < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (!WIFSTOPPED(*status))
            return 0;
        int sig = WSTOPSIG(*status);
        if (sig == SIGTRAP && (*status >> 16) == PTRACE_EVENT_EXIT) {
            *self_kb = read_vmhwm_kb(pid);
            sig = 0;
        } else if (sig == SIGTRAP) {
            sig = 0;
        }
        ptrace(PTRACE_CONT, pid, NULL, (void *)(long)sig);
    }
}

static int run_once(struct step *s, long iter, long slot, const struct options *o)
{
    char *argv[s->argc + 1];
    int rc = -1;
    for (int a = 0; a < s->argc; a++)
        argv[a] = NULL;
    for (int a = 0; a < s->argc; a++)
        if (!(argv[a] = substitute(s->argv[a], iter)))
            goto out;
    argv[s->argc] = NULL;

    struct rusage ru;
    int status = 0;
    long self_kb = -1;
    if (o->pause_ms > 0) {
        struct timespec pause = {o->pause_ms / 1000, (o->pause_ms % 1000) * 1000000L};
        while (nanosleep(&pause, &pause) < 0 && errno == EINTR)
            ;
    }
    uint64_t t0 = now_ns();
    pid_t pid = o->trace_self ? spawn_traced(argv, o->quiet) : spawn_plain(argv, o->quiet);
    if (pid < -1) { /* traced child could not exec */
        fprintf(stderr, "timer: cannot run %s\n", argv[0]);
        goto out;
    }
    if (pid < 0) {
        fprintf(stderr, "timer: cannot run %s: %s\n", argv[0], strerror(errno));
        goto out;
    }
    int w = o->trace_self ? wait_traced(pid, &status, &ru, &self_kb)
                          : (int)wait4(pid, &status, 0, &ru);
    uint64_t t1 = now_ns();
    if (w < 0) {
        fprintf(stderr, "timer: wait for %s: %s\n", argv[0], strerror(errno));
        goto out;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char how[64];
        describe_status(status, how, sizeof how);
        fprintf(stderr, "timer: command failed (%s):", how);
        for (int a = 0; a < s->argc; a++)
            fprintf(stderr, " %s", argv[a]);
        fputc('\n', stderr);
        goto out;
    }
    if (slot >= 0) {
        s->wall_ns[slot] = t1 - t0;
        s->maxrss_kb[slot] = ru.ru_maxrss;
        s->self_kb[slot] = self_kb;
    }
    rc = 0;
out:
    for (int a = 0; a < s->argc; a++)
        free(argv[a]);
    return rc;
}

static void print_json_string(FILE *f, const char *str)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)str; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void print_results(FILE *f, struct step *steps, int nsteps, long n)
{
    fputs("{\"steps\":[", f);
    for (int k = 0; k < nsteps; k++) {
        struct step *s = &steps[k];
        fputs(k ? ",{\"argv\":[" : "{\"argv\":[", f);
        for (int a = 0; a < s->argc; a++) {
            if (a)
                fputc(',', f);
            print_json_string(f, s->argv[a]);
        }
        fputs("],\"wall_ns\":[", f);
        for (long i = 0; i < n; i++)
            fprintf(f, i ? ",%llu" : "%llu", (unsigned long long)s->wall_ns[i]);
        fputs("],\"maxrss_kb\":[", f);
        for (long i = 0; i < n; i++)
            fprintf(f, i ? ",%ld" : "%ld", s->maxrss_kb[i]);
        fputs("],\"self_kb\":[", f);
        for (long i = 0; i < n; i++)
            fprintf(f, i ? ",%ld" : "%ld", s->self_kb[i]);
        fputs("]}", f);
    }
    fputs("]}\n", f);
}

static int usage(void)
{
    fprintf(stderr, "usage: timer [-n ITER] [-w WARMUP] [-s MS] [-p] [-q] [-o FILE] -- "
                    "PROGRAM [ARG]... [::: PROGRAM [ARG]...]...\n");
    return 2;
}

int main(int argc, char **argv)
{
    struct options o = {.iterations = 10, .warmup = 0};
    int opt;
    while ((opt = getopt(argc, argv, "+n:w:s:pqo:")) != -1) {
        switch (opt) {
        case 'n': o.iterations = strtol(optarg, NULL, 10); break;
        case 'w': o.warmup = strtol(optarg, NULL, 10); break;
        case 's': o.pause_ms = strtol(optarg, NULL, 10); break;
        case 'p': o.trace_self = 1; break;
        case 'q': o.quiet = 1; break;
        case 'o': o.out_path = optarg; break;
        default: return usage();
        }
    }
    if (o.iterations < 1 || o.warmup < 0 || o.pause_ms < 0 || optind >= argc)
        return usage();

    struct step steps[MAX_STEPS];
    int nsteps = 0;
    for (int a = optind; a < argc;) {
        if (nsteps == MAX_STEPS) {
            fprintf(stderr, "timer: more than %d steps\n", MAX_STEPS);
            return 2;
        }
        int end = a;
        while (end < argc && strcmp(argv[end], ":::") != 0)
            end++;
        if (end == a)
            return usage();
        struct step *s = &steps[nsteps++];
        s->argv = argv + a;
        s->argc = end - a;
        s->wall_ns = calloc((size_t)o.iterations, sizeof *s->wall_ns);
        s->maxrss_kb = calloc((size_t)o.iterations, sizeof *s->maxrss_kb);
        s->self_kb = calloc((size_t)o.iterations, sizeof *s->self_kb);
        if (!s->wall_ns || !s->maxrss_kb || !s->self_kb) {
            fprintf(stderr, "timer: out of memory\n");
            return 1;
        }
        a = end + 1;
    }

    for (long it = 0; it < o.warmup + o.iterations; it++) {
        long slot = it - o.warmup; /* negative: a warm-up run, not kept */
        for (int k = 0; k < nsteps; k++)
            if (run_once(&steps[k], it, slot, &o) < 0)
                return 1;
    }

    FILE *out = stdout;
    if (o.out_path && !(out = fopen(o.out_path, "we"))) {
        fprintf(stderr, "timer: %s: %s\n", o.out_path, strerror(errno));
        return 1;
    }
    print_results(out, steps, nsteps, o.iterations);
    if (fflush(out) != 0 || (out != stdout && fclose(out) != 0)) {
        fprintf(stderr, "timer: writing results: %s\n", strerror(errno));
        return 1;
    }
    for (int k = 0; k < nsteps; k++) {
        free(steps[k].wall_ns);
        free(steps[k].maxrss_kb);
        free(steps[k].self_kb);
    }
    return 0;
}
