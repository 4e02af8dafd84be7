/*
 * fdcheck: reports the file descriptors and working directory a process
 * inherited, to catch fd leaks from the runtime into a container
 * (CVE-2024-21626 and friends).
 *
 *   fdcheck [FD...]
 *
 * Prints one line "fd N -> TARGET" for every open fd (except the directory
 * fd used for the scan), then "cwd: PATH".  Fds 0, 1, 2 and the FDs named
 * on the command line are allowed; any other open fd, or a working
 * directory outside the process's root (getcwd() reports such a path as
 * "(unreachable)..." or fails with ENOENT), makes it print "LEAK: ..." and
 * exit 1.  Every fd named on the command line must be open, else
 * "MISSING: fd N" and exit 1.  Exit 0 means clean.
 */
#define _GNU_SOURCE /* the helper rule in the Makefile builds without it */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_ALLOWED 64

int main(int argc, char **argv)
{
    int allowed[MAX_ALLOWED + 3] = { 0, 1, 2 };
    int n_allowed = 3;
    int n_wanted = argc - 1;
    int seen_wanted[MAX_ALLOWED] = { 0 };
    int status = 0;

    if (n_wanted > MAX_ALLOWED) {
        fprintf(stderr, "fdcheck: too many fds\n");
        return 2;
    }
    for (int i = 1; i < argc; i++)
        allowed[n_allowed++] = atoi(argv[i]);

    DIR *d = opendir("/proc/self/fd");
    if (!d) {
        perror("fdcheck: opendir /proc/self/fd");
        return 2;
    }
    int scan_fd = dirfd(d);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        int fd = atoi(de->d_name);
        if (fd == scan_fd)
            continue;
        char link[64], target[PATH_MAX];
        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, target, sizeof(target) - 1);
        if (n < 0)
            snprintf(target, sizeof(target), "?(%s)", strerror(errno));
        else
            target[n] = '\0';
        int ok = 0;
        for (int i = 0; i < n_allowed; i++)
            if (allowed[i] == fd)
                ok = 1;
        for (int i = 0; i < n_wanted; i++)
            if (allowed[3 + i] == fd)
                seen_wanted[i] = 1;
        printf("%sfd %d -> %s\n", ok ? "" : "LEAK: ", fd, target);
        if (!ok)
            status = 1;
    }
    closedir(d);
    for (int i = 0; i < n_wanted; i++) {
        if (!seen_wanted[i]) {
            printf("MISSING: fd %d\n", allowed[3 + i]);
            status = 1;
        }
    }

    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof(cwd))) {
        printf("LEAK: cwd: getcwd: %s\n", strerror(errno));
        status = 1;
    } else if (cwd[0] != '/') {
        printf("LEAK: cwd: %s\n", cwd);
        status = 1;
    } else {
        printf("cwd: %s\n", cwd);
    }
    return status;
}
