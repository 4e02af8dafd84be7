#include "core/userns.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

bool zuserns_is_initial(void)
{
    char text[256];
    unsigned long inside, outside, count;
    int fd = open("/proc/self/uid_map", O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return errno == ENOENT; /* no user namespaces in this kernel */
    n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0)
        return false;
    text[n] = '\0';
    if (sscanf(text, "%lu %lu %lu", &inside, &outside, &count) != 3)
        return false;
    /* one line only: a second range means a child namespace */
    const char *nl = strchr(text, '\n');
    return inside == 0 && outside == 0 && count == 4294967295UL && (!nl || nl[1] == '\0');
}
