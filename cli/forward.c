/* Handing a command line to zone-dev, the binary with the image and
 * developer commands. It is looked up next to this executable (the build
 * tree, or a bin directory both are installed in), then in
 * ../libexec/zone/ (make install). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/dev.h"
#include "core/log.h"

static char self_dir[PATH_MAX];

const char *zcli_dev_binary(char *path, size_t size)
{
    static const char *const places[] = {"zone-dev", "../libexec/zone/zone-dev"};
    ssize_t n = readlink("/proc/self/exe", self_dir, sizeof self_dir - 1);
    char *slash;

    if (n <= 0)
        return NULL;
    self_dir[n] = '\0';
    slash = strrchr(self_dir, '/');
    if (slash)
        *slash = '\0';
    for (size_t i = 0; i < sizeof places / sizeof places[0]; i++) {
        snprintf(path, size, "%s/%s", self_dir, places[i]);
        if (access(path, X_OK) == 0)
            return path;
    }
    return NULL;
}

int zcli_forward_to_dev(const struct zcli *cli)
{
    char path[PATH_MAX + 64];

    if (!zcli_dev_binary(path, sizeof path)) {
        fprintf(stderr, "zone: the image and developer commands need zone-dev, found neither "
                        "%s/zone-dev nor %s/../libexec/zone/zone-dev (make install puts it there)\n",
                self_dir, self_dir);
        return 1;
    }
    execv(path, cli->argv0);
    fprintf(stderr, "zone: exec %s: %s\n", path, strerror(errno));
    return 1;
}
