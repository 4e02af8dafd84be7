#include "core/error.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

int zerr_set(struct zerr *e, int code, const char *fmt, ...)
{
    va_list ap;
    if (!e)
        return -1;
    e->code = code;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return -1;
}

int zerr_sys(struct zerr *e, const char *fmt, ...)
{
    int saved = errno;
    va_list ap;
    size_t len;
    if (!e)
        return -1;
    e->code = saved;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    len = strlen(e->msg);
    /* errno text in lower case, as Go's syscall errors read: engines match
     * on "no such file or directory" and "permission denied" */
    if (len + 2 < sizeof e->msg) {
        snprintf(e->msg + len, sizeof e->msg - len, ": %s", strerror(saved));
        e->msg[len + 2] = (char)tolower((unsigned char)e->msg[len + 2]);
    }
    errno = saved;
    return -1;
}

int zerr_prefix(struct zerr *e, const char *fmt, ...)
{
    char prefix[512], old[ZERR_MSG_MAX];
    va_list ap;
    if (!e)
        return -1;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof old);
    /* an over-long message is truncated at its end */
    size_t n = (size_t)snprintf(e->msg, sizeof e->msg, "%s: ", prefix);
    if (n < sizeof e->msg) {
        size_t len = strnlen(old, sizeof e->msg - n - 1);
        memcpy(e->msg + n, old, len);
        e->msg[n + len] = '\0';
    }
    return -1;
}

void zerr_clear(struct zerr *e)
{
    if (e) {
        e->code = 0;
        e->msg[0] = '\0';
    }
}
