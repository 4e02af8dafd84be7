/* One error convention for all of zone: functions return 0 on success or -1
 * on failure and fill a struct zerr with errno and a message carrying context
 * ("config.json: linux.resources.memory.limit: expected integer"). Only cli/
 * prints errors. */
#ifndef ZONE_CORE_ERROR_H
#define ZONE_CORE_ERROR_H

#include <stdarg.h>

#define ZERR_MSG_MAX 2048

struct zerr {
    int code;                 /* errno value, or 0 when not an OS error */
    char msg[ZERR_MSG_MAX];
};

/* Sets the error to code and the formatted message; returns -1. */
int zerr_set(struct zerr *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like zerr_set with code=errno, appending ": <strerror(errno)>"; returns -1. */
int zerr_sys(struct zerr *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prepends "<formatted>: " to the current message (adds context while an
 * error travels up); returns -1 so it can end a failure path. */
int zerr_prefix(struct zerr *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void zerr_clear(struct zerr *e);

#endif
