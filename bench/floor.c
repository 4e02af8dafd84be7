/* floor ROOTFS PROGRAM [ARG...]
 *
 * The floor of the benchmark: only the kernel work that any runtime must do
 * to run a process in a container of the default `zone spec` config, with no
 * runtime around it. One clone(2) with the same new namespaces as the default
 * spec (pid, network, ipc, uts, mount), then in the child: make the mount
 * tree private, bind the rootfs onto itself, pivot_root into it, drop the old
 * root, mount /proc and exec. The parent waits and exits with the child's
 * status (128+N for a signal, as a shell reports it).
 *
 * Deliberately absent (a runtime does these, the floor does not): config
 * parsing, state directory, cgroups, the other default mounts, masked and
 * read-only paths, capabilities, rlimits, no_new_privs, seccomp.
 *
 * Linked statically so that the floor pays no dynamic loader either. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEFAULT_SPEC_NAMESPACES \
    (CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS)

/* The child reports a failed step on stderr and exits 127, as a shell does
 * for a command that cannot run. */
static void die(const char *what, const char *arg)
{
    fprintf(stderr, "floor: %s %s: %s\n", what, arg, strerror(errno));
    _exit(127);
}

static void enter_container(const char *rootfs, char **argv)
{
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        die("make / private", "");
    if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
        die("bind", rootfs);
    if (chdir(rootfs) < 0)
        die("chdir", rootfs);
    /* pivot_root(".", ".") stacks the old root on the new one; detaching
     * "." afterwards removes it without needing a directory for it. */
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        die("pivot_root", rootfs);
    if (umount2(".", MNT_DETACH) < 0)
        die("detach old root", "");
    if (chdir("/") < 0)
        die("chdir", "/");
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        die("mount", "/proc");
    execv(argv[0], argv);
    die("exec", argv[0]);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: floor ROOTFS PROGRAM [ARG...]\n");
        return 2;
    }
    /* clone without a stack argument behaves like fork: the child runs on a
     * copy of this stack. */
    pid_t pid = (pid_t)syscall(SYS_clone, DEFAULT_SPEC_NAMESPACES | SIGCHLD,
                               NULL, NULL, NULL, NULL);
    if (pid < 0) {
        fprintf(stderr, "floor: clone: %s\n", strerror(errno));
        return 125;
    }
    if (pid == 0)
        enter_container(argv[1], argv + 2);

    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            fprintf(stderr, "floor: waitpid: %s\n", strerror(errno));
            return 125;
        }
    }
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}
