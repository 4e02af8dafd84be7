/* The runtime binary's side of the developer forms of run, ps and exec:
 * they go to zone-dev (cli/forward.c), which links the image code. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/dev.h"

int zcli_dev_run(struct zcli *cli, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return zcli_forward_to_dev(cli);
}

int zcli_dev_ps(struct zcli *cli, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return zcli_forward_to_dev(cli);
}

bool zcli_dev_resolve_runtime(const struct zcli *cli, const char *name,
                              char id[ZCTR_ID_LEN + 1], struct zruntime *rt)
{
    char path[PATH_MAX];
    struct stat st;
    (void)id;
    (void)rt;
    /* a runtime container of that id wins: runc's exec stays here */
    if (strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
        return false;
    snprintf(path, sizeof path, "%s/%s", cli->rt.root, name);
    if (stat(path, &st) == 0)
        return false;
    /* without zone-dev, the name is simply not a container */
    if (zcli_dev_binary(path, sizeof path)) {
        execv(path, cli->argv0);
        fprintf(stderr, "zone: exec %s: %s\n", path, strerror(errno));
    }
    return false;
}
