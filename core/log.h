/* Logging in runc's formats, because containerd-shim and conmon parse them:
 *   text: time="2024-05-01T10:00:00Z" level=error msg="..."
 *   json: {"level":"error","msg":"...","time":"2024-05-01T10:00:00Z"}
 * Without --log, messages go to stderr in text form. */
#ifndef ZONE_CORE_LOG_H
#define ZONE_CORE_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum zlog_level { ZLOG_DEBUG, ZLOG_INFO, ZLOG_WARN, ZLOG_ERROR };
enum zlog_format { ZLOG_TEXT, ZLOG_JSON };

/* path may be NULL (stderr). Returns 0 or -1 with errno set. */
int zlog_init(const char *path, enum zlog_format format, bool debug);
/* Redirects logging to an already-open fd (used by child processes). */
void zlog_set_fd(int fd);
int zlog_get_fd(void);
enum zlog_format zlog_get_format(void);
bool zlog_debug_enabled(void);

void zlog(enum zlog_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define zdebug(...) do { if (zlog_debug_enabled()) zlog(ZLOG_DEBUG, __VA_ARGS__); } while (0)
#define zinfo(...) zlog(ZLOG_INFO, __VA_ARGS__)
#define zwarn(...) zlog(ZLOG_WARN, __VA_ARGS__)
#define zerror(...) zlog(ZLOG_ERROR, __VA_ARGS__)

/* Writes s as a JSON string body (without quotes) with escapes into buf;
 * returns the length written (truncates to fit, always NUL-terminates). */
size_t zlog_json_escape(char *buf, size_t size, const char *s);

#endif
