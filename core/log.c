#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int log_fd = 2;
static enum zlog_format log_format = ZLOG_TEXT;
static bool log_debug;

int zlog_init(const char *path, enum zlog_format format, bool debug)
{
    log_format = format;
    log_debug = debug;
    if (path && *path) {
        int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd < 0)
            return -1;
        log_fd = fd;
    }
    return 0;
}

void zlog_set_fd(int fd) { log_fd = fd; }
int zlog_get_fd(void) { return log_fd; }
enum zlog_format zlog_get_format(void) { return log_format; }
bool zlog_debug_enabled(void) { return log_debug; }

static const char *level_name(enum zlog_level level)
{
    switch (level) {
    case ZLOG_DEBUG: return "debug";
    case ZLOG_INFO: return "info";
    case ZLOG_WARN: return "warning";
    default: return "error";
    }
}

size_t zlog_json_escape(char *buf, size_t size, const char *s)
{
    size_t o = 0;
    if (size == 0)
        return 0;
    for (; *s && o + 7 < size; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '"': buf[o++] = '\\'; buf[o++] = '"'; break;
        case '\\': buf[o++] = '\\'; buf[o++] = '\\'; break;
        case '\n': buf[o++] = '\\'; buf[o++] = 'n'; break;
        case '\r': buf[o++] = '\\'; buf[o++] = 'r'; break;
        case '\t': buf[o++] = '\\'; buf[o++] = 't'; break;
        default:
            if (c < 0x20)
                o += (size_t)snprintf(buf + o, size - o, "\\u%04x", c);
            else
                buf[o++] = (char)c;
        }
    }
    buf[o] = '\0';
    return o;
}

/* RFC 3339 in UTC with nanoseconds, as logrus writes with runc's formatter. */
static void timestamp(char *buf, size_t size)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, size - n, ".%09ldZ", ts.tv_nsec);
}

void zlog(enum zlog_level level, const char *fmt, ...)
{
    char msg[4096], esc[8192], ts[64], line[12288];
    va_list ap;
    int saved = errno, n;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    timestamp(ts, sizeof ts);
    zlog_json_escape(esc, sizeof esc, msg);
    if (log_format == ZLOG_JSON)
        n = snprintf(line, sizeof line, "{\"level\":\"%s\",\"msg\":\"%s\",\"time\":\"%s\"}\n",
                     level_name(level), esc, ts);
    else
        n = snprintf(line, sizeof line, "time=\"%s\" level=%s msg=\"%s\"\n", ts,
                     level_name(level), esc);
    if (n > (int)sizeof line - 1)
        n = (int)sizeof line - 1;
    /* One write() so concurrent writers (parent, child) never interleave. */
    if (write(log_fd, line, (size_t)n) < 0) {
        /* nowhere left to report it */
    }
    errno = saved;
}
