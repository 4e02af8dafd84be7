/*
 * sigwrap: runs a command with a hostile signal state, the way some
 * engines and shells start runtimes: every signal blocked, and SIGPIPE,
 * SIGHUP, SIGUSR1, SIGUSR2, SIGTERM and SIGINT ignored.  Both the mask and
 * ignored dispositions survive execve, so a runtime must reset them before
 * it starts the container's process.
 *
 *   sigwrap COMMAND [ARG...]
 */
#define _GNU_SOURCE /* the helper rule in the Makefile builds without it */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: sigwrap COMMAND [ARG...]\n");
        return 1;
    }
    static const int ignored[] = { SIGPIPE, SIGHUP, SIGUSR1, SIGUSR2, SIGTERM, SIGINT };
    for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
        signal(ignored[i], SIG_IGN);
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, NULL);
    execvp(argv[1], argv + 1);
    perror("sigwrap: execvp");
    return 127;
}
