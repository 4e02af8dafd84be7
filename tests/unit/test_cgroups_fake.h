/* Fake cgroupfs trees in a temp dir for the cgroups unit tests: plain
 * directories and regular files standing in for cgroupfs control files. */
#ifndef ZONE_TESTS_CGROUPS_FAKE_H
#define ZONE_TESTS_CGROUPS_FAKE_H

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static __attribute__((unused)) char *fake_root(void)
{
    char tmpl[] = "/tmp/zone-cgtest-XXXXXX";
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

static __attribute__((unused)) int fake_rm_one(const char *p, const struct stat *sb, int flag,
                       struct FTW *f)
{
    (void)sb; (void)flag; (void)f;
    return remove(p);
}

static __attribute__((unused)) void fake_remove(char *root)
{
    if (root)
        nftw(root, fake_rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(root);
}

/* mkdir -p of root/rel */
static __attribute__((unused)) void fake_mkdir(const char *root, const char *rel)
{
    char p[2 * PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    for (char *s = p + strlen(root) + 1; *s; s++) {
        if (*s == '/') {
            *s = '\0';
            mkdir(p, 0755);
            *s = '/';
        }
    }
    mkdir(p, 0755);
}

/* Creates dir/file holding content (the dir must exist). */
static __attribute__((unused)) void fake_file(const char *dir, const char *file, const char *content)
{
    char p[2 * PATH_MAX];
    FILE *f;
    snprintf(p, sizeof p, "%s/%s", dir, file);
    f = fopen(p, "w");
    if (f) {
        fputs(content, f);
        fclose(f);
    }
}

/* Contents of dir/file, or "<missing>"; static buffer. */
static __attribute__((unused)) const char *fake_read(const char *dir, const char *file)
{
    static char buf[4096];
    char p[2 * PATH_MAX];
    FILE *f;
    size_t n;
    snprintf(p, sizeof p, "%s/%s", dir, file);
    f = fopen(p, "r");
    if (!f)
        return "<missing>";
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

#endif
