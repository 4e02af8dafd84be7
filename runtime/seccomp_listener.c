/* Handing a seccomp notify fd to the agent at linux.seccomp.listenerPath, as
 * the runtime-spec's containerProcessState describes. */
#include "runtime/seccomp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/log.h"

static char *build_message(pid_t pid, const char *metadata, const char *state_json,
                           struct zerr *e)
{
    size_t meta_len = metadata ? strlen(metadata) : 0;
    /* zlog_json_escape writes at most 6 bytes per input byte and stops
     * 7 bytes short of the end, hence the margin. */
    size_t esc_size = meta_len * 6 + 8;
    _cleanup_free_ char *esc = malloc(esc_size);
    if (!esc)
        return zerr_sys(e, "seccomp listener message"), NULL;
    zlog_json_escape(esc, esc_size, metadata ? metadata : "");

    char *msg = NULL;
    int n;
    if (meta_len)
        n = asprintf(&msg, "{\"ociVersion\":\"%s\",\"fds\":[\"seccompFd\"],\"pid\":%d,"
                     "\"metadata\":\"%s\",\"state\":%s}", ZONE_OCI_VERSION, (int)pid, esc,
                     state_json);
    else
        n = asprintf(&msg, "{\"ociVersion\":\"%s\",\"fds\":[\"seccompFd\"],\"pid\":%d,"
                     "\"state\":%s}", ZONE_OCI_VERSION, (int)pid, state_json);
    if (n < 0)
        return zerr_sys(e, "seccomp listener message"), NULL;
    return msg;
}

static int send_with_fd(int sock, const char *msg, size_t len, int fd, struct zerr *e)
{
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    struct iovec iov = { .iov_base = (void *)msg, .iov_len = len };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
                         .msg_control = control.buf, .msg_controllen = sizeof control.buf };
    memset(&control, 0, sizeof control);
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof fd);

    ssize_t n;
    do
        n = sendmsg(sock, &mh, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return zerr_sys(e, "sending the seccomp notify fd");
    /* A stream socket may take the rest in more writes; the fd went with
     * the first byte. */
    for (size_t off = (size_t)n; off < len; off += (size_t)n) {
        n = send(sock, msg + off, len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            n = 0;
            continue;
        }
        if (n <= 0)
            return zerr_sys(e, "sending the seccomp container process state");
    }
    return 0;
}

int zseccomp_send_to_listener(const char *listener_path, int notify_fd, pid_t pid,
                              const char *metadata, const char *state_json,
                              struct zerr *e)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };

    if (!listener_path || !*listener_path)
        return zerr_set(e, EINVAL, "linux.seccomp.listenerPath: required");
    if (strlen(listener_path) >= sizeof addr.sun_path)
        return zerr_set(e, ENAMETOOLONG, "linux.seccomp.listenerPath: \"%s\" is longer "
                        "than a unix socket path may be (%zu bytes)", listener_path,
                        sizeof addr.sun_path - 1);
    if (!state_json || !*state_json)
        return zerr_set(e, EINVAL, "seccomp listener: the container state is required");
    if (notify_fd < 0)
        return zerr_set(e, EBADF, "seccomp listener: no notify fd to send");
    memcpy(addr.sun_path, listener_path, strlen(listener_path) + 1);

    _cleanup_free_ char *msg = build_message(pid, metadata, state_json, e);
    if (!msg)
        return -1;
    _cleanup_close_ int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock < 0)
        return zerr_sys(e, "seccomp listener: socket");
    if (connect(sock, (struct sockaddr *)&addr, sizeof addr) < 0)
        return zerr_sys(e, "linux.seccomp.listenerPath: connecting to %s", listener_path);
    if (send_with_fd(sock, msg, strlen(msg), notify_fd, e) < 0)
        return zerr_prefix(e, "linux.seccomp.listenerPath: %s", listener_path);
    return 0;
}
