/* __attribute__((cleanup)) helpers so that failure paths cannot leak fds,
 * buffers or streams. Use steal_fd()/steal_ptr() to hand ownership out. */
#ifndef ZONE_CORE_CLEANUP_H
#define ZONE_CORE_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void zcleanup_free(void *p) { free(*(void **)p); }
static inline void zcleanup_close(int *fd)
{
    if (*fd >= 0) {
        int saved = errno;
        close(*fd);
        errno = saved;
    }
}
static inline void zcleanup_fclose(FILE **f) { if (*f) fclose(*f); }
static inline void zcleanup_closedir(DIR **d) { if (*d) closedir(*d); }
static inline void zcleanup_strv(char ***v)
{
    if (*v) {
        for (char **p = *v; *p; p++)
            free(*p);
        free(*v);
    }
}

#define _cleanup_free_ __attribute__((cleanup(zcleanup_free)))
#define _cleanup_close_ __attribute__((cleanup(zcleanup_close)))
#define _cleanup_fclose_ __attribute__((cleanup(zcleanup_fclose)))
#define _cleanup_closedir_ __attribute__((cleanup(zcleanup_closedir)))
#define _cleanup_strv_ __attribute__((cleanup(zcleanup_strv)))

static inline int steal_fd(int *fd) { int r = *fd; *fd = -1; return r; }
#define steal_ptr(pp) ({ __typeof__(*(pp)) _p = *(pp); *(pp) = NULL; _p; })

#define ZARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
