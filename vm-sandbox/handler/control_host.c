/* Host side of the control protocol: stdio streams and process messages. */
#include "vm-sandbox/handler/control_host.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>


int zvm_connect_unix(const char *path, struct zerr *e)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    int fd;

    if (strlen(path) >= sizeof a.sun_path)
        return zerr_set(e, ENAMETOOLONG, "unix socket path too long: %s", path);
    memcpy(a.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return zerr_sys(e, "socket");
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        zerr_sys(e, "connect %s", path);
        close(fd);
        return -1;
    }
    return fd;
}

int zvm_open_stream(const char *uds, uint32_t session, uint32_t stream, struct zerr *e)
{
    struct ctl_msg m = { .type = CTL_STDIO, .session = session, .u.stdio.stream = stream };
    char line[64];
    size_t n = 0;
    int fd = zvm_connect_unix(uds, e);

    if (fd < 0)
        return -1;
    if (dprintf(fd, "CONNECT %u\n", CTL_PORT_STDIO) < 0) {
        zerr_sys(e, "vsock %s: CONNECT", uds);
        goto fail;
    }
    /* byte by byte: what follows the newline is the stream's */
    for (;;) {
        ssize_t r = read(fd, line + n, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            zerr_set(e, ECONNREFUSED, "vsock: the guest refused the stdio stream (port %u)", CTL_PORT_STDIO);
            goto fail;
        }
        if (line[n] == '\n')
            break;
        if (++n == sizeof line - 1) {
            zerr_set(e, EPROTO, "vsock: overlong reply to CONNECT");
            goto fail;
        }
    }
    line[n] = '\0';
    if (strncmp(line, "OK ", 3)) {
        zerr_set(e, EPROTO, "vsock: CONNECT %u answered \"%s\"", CTL_PORT_STDIO, line);
        goto fail;
    }
    if (ctl_send(fd, &m, e) < 0)
        goto fail;
    return fd;
fail:
    close(fd);
    return -1;
}

int zvm_process_msg(const struct zspec_process *p, const struct zvm_resolved *caps, char *const *env,
                    const char *hostname,
                    const uint8_t stdio[3], struct ctl_process *out, struct zerr *e)
{
    size_t nenv = 0;

    memset(out, 0, sizeof *out);
    if (!p->args || !p->n_args)
        return zerr_set(e, EINVAL, "process.args must not be empty");
    if (p->n_args > CTL_ARGS_MAX)
        return zerr_set(e, E2BIG, "process.args: %zu arguments, at most %u in a VM", p->n_args, CTL_ARGS_MAX);
    while (env && env[nenv])
        nenv++;
    if (nenv > CTL_ENV_MAX)
        return zerr_set(e, E2BIG, "process.env: %zu variables, at most %u in a VM", nenv, CTL_ENV_MAX);
    if (p->user.n_additional_gids > CTL_GROUPS_MAX)
        return zerr_set(e, E2BIG, "process.user.additionalGids: too many");
    out->uid = p->user.uid;
    out->gid = p->user.gid;
    out->umask = p->user.has_umask ? p->user.umask & 0777 : 022;
    out->cwd = p->cwd && *p->cwd ? p->cwd : "/";
    out->hostname = (char *)(hostname ? hostname : "");
    out->args = p->args;
    out->nargs = (uint32_t)p->n_args;
    out->env = (char **)env;
    out->nenv = (uint32_t)nenv;
    memcpy(out->stdio, stdio, 3);
    if (p->terminal) {
        out->flags |= CTL_PROC_TERMINAL;
        if (p->has_console_size) {
            out->rows = (uint16_t)(p->console_height > 65535 ? 65535 : p->console_height);
            out->cols = (uint16_t)(p->console_width > 65535 ? 65535 : p->console_width);
        }
    }
    if (p->no_new_privileges)
        out->flags |= CTL_PROC_NO_NEW_PRIVS;
    if (caps && caps->caps_set) {
        out->flags |= CTL_PROC_CAPS;
        out->cap_bounding = caps->bounding;
        out->cap_effective = caps->effective;
        out->cap_permitted = caps->permitted;
        out->cap_inheritable = caps->inheritable;
        out->cap_ambient = caps->ambient;
        /* what capset(2) would refuse anyway: the agent's decoder too */
        out->cap_effective &= out->cap_permitted;
        out->cap_ambient &= out->cap_permitted & out->cap_inheritable;
    }
    if (caps && caps->seccomp_len) {
        out->seccomp = malloc(caps->seccomp_len);
        if (!out->seccomp)
            return zerr_set(e, ENOMEM, "out of memory");
        memcpy(out->seccomp, caps->seccomp, caps->seccomp_len);
        out->seccomp_len = caps->seccomp_len;
        out->seccomp_flags = caps->seccomp_flags;
    }
    if (p->user.n_additional_gids) {
        out->groups = calloc(p->user.n_additional_gids, sizeof *out->groups);
        if (!out->groups) {
            zvm_process_release(out);
            return zerr_set(e, ENOMEM, "out of memory");
        }
        memcpy(out->groups, p->user.additional_gids, p->user.n_additional_gids * sizeof *out->groups);
        out->ngroups = (uint32_t)p->user.n_additional_gids;
    }
    if (p->n_rlimits) {
        if (p->n_rlimits > CTL_RLIMITS_MAX) {
            zvm_process_release(out);
            return zerr_set(e, E2BIG, "process.rlimits: at most %u", CTL_RLIMITS_MAX);
        }
        out->rlimits = calloc(p->n_rlimits, sizeof *out->rlimits);
        if (!out->rlimits) {
            zvm_process_release(out);
            return zerr_set(e, ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < p->n_rlimits; i++)
            out->rlimits[i] = (struct ctl_rlimit){ (uint32_t)p->rlimits[i].resource, p->rlimits[i].soft,
                                                   p->rlimits[i].hard };
        out->nrlimits = (uint32_t)p->n_rlimits;
    }
    return 0;
}

void zvm_process_release(struct ctl_process *out)
{
    free(out->groups);
    free(out->rlimits);
    free(out->seccomp);
    out->groups = NULL;
    out->rlimits = NULL;
    out->seccomp = NULL;
}

int zvm_exit_code(uint32_t status)
{
    int st = (int)status;
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    return 1;
}

uint8_t zvm_stdio_mode(int fd)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return CTL_STDIO_NULL;
    if (S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3)
        return CTL_STDIO_NULL;
    return CTL_STDIO_STREAM;
}
