/* Loads the kernel modules the initramfs builder listed (one absolute path
 * a line, dependencies first) with finit_module(2): no modprobe, no
 * busybox. The builder already decompressed them. */
#include "vm-sandbox/guest/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define LIST_MAX 65536

int modules_load(struct agent *a, const char *list_path, struct zerr *e)
{
    char buf[LIST_MAX + 1];
    size_t len = 0;
    unsigned loaded = 0;
    ssize_t n;
    int fd = open(list_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return zerr_sys(e, "%s", list_path);
    while ((n = read(fd, buf + len, LIST_MAX - len)) > 0)
        len += (size_t)n;
    close(fd);
    if (n < 0)
        return zerr_sys(e, "reading %s", list_path);
    if (len == LIST_MAX)
        return zerr_set(e, EFBIG, "%s: larger than %d bytes", list_path, LIST_MAX);
    buf[len] = '\0';
    for (char *line = buf, *next; *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        else
            next = line + strlen(line);
        if (!*line)
            continue;
        if (line[0] != '/')
            return zerr_set(e, EINVAL, "%s: \"%.100s\": not an absolute path", list_path, line);
        fd = open(line, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return zerr_sys(e, "module %s", line);
        if (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST) {
            zerr_sys(e, "loading module %s", line);
            close(fd);
            return -1;
        }
        close(fd);
        loaded++;
    }
    /* one line: /dev/kmsg rate-limits writers to 10 lines per 5 s */
    agent_debug(a, "loaded %u modules from %s", loaded, list_path);
    return 0;
}
