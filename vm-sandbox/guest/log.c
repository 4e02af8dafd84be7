/* The agent's own messages: the kernel log in a VM (they reach the serial
 * console even with "quiet", being KERN_ERR), stderr in test mode; and
 * ERROR messages to the host. Plus the monotonic deadlines the loop uses. */
#include "vm-sandbox/guest/agent.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void __attribute__((format(printf, 3, 0)))
vlog(struct agent *a, const char *level, const char *fmt, va_list ap)
{
    char line[1024];
    int n = snprintf(line, sizeof line, "%szone-agent: ", a && a->kmsg_fd >= 0 ? level : "");
    if (n < 0)
        return;
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    n = (int)strlen(line);
    if (n < (int)sizeof line - 1)
        line[n++] = '\n';
    if (a && a->kmsg_fd >= 0) {
        if (write(a->kmsg_fd, line, (size_t)n) < 0) {
            /* nowhere else to say it */
        }
    } else if (write(STDERR_FILENO, line, (size_t)n) < 0) {
        /* likewise */
    }
}

void agent_log(struct agent *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(a, "<3>", fmt, ap);
    va_end(ap);
}

void agent_debug(struct agent *a, const char *fmt, ...)
{
    va_list ap;
    if (!a->debug)
        return;
    va_start(ap, fmt);
    vlog(a, "<3>", fmt, ap);
    va_end(ap);
}

void agent_send_error(struct agent *a, uint32_t session, const struct zerr *err)
{
    struct zerr e;
    struct ctl_msg m = { .type = CTL_ERROR, .session = session };
    char msg[CTL_ERROR_MAX + 1];
    snprintf(msg, sizeof msg, "%s", err->msg[0] ? err->msg : "unknown error");
    m.u.error.code = err->code >= 0 && err->code <= 4095 ? err->code : 0;
    m.u.error.message = msg;
    agent_log(a, "session %u: %s", session, msg);
    if (a->control_fd >= 0 && ctl_send(a->control_fd, &m, &e) < 0)
        agent_log(a, "%s", e.msg);
}

struct timespec deadline_in(unsigned ms)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

int deadline_poll_ms(const struct timespec *t)
{
    struct timespec now;
    long long ms;
    clock_gettime(CLOCK_MONOTONIC, &now);
    ms = (long long)(t->tv_sec - now.tv_sec) * 1000 + (t->tv_nsec - now.tv_nsec) / 1000000;
    if (ms < 0)
        return 0;
    return ms > 60000 ? 60000 : (int)ms + 1;
}

bool deadline_passed(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}
