/* libFuzzer target for the layer unpacker (images/unpack*.c): each input
 * is a layer blob (tar, gzip or zstd), unpacked in both modes into a fresh
 * directory. Besides crashes and sanitizer reports it aborts when anything
 * appears next to the target directory, i.e. when an entry escaped.
 * Not part of the default build. Build and run (as root, from the top of
 * the tree):
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -D_GNU_SOURCE \
 *       tests/fuzz/fuzz_unpack.c images/unpack.c images/unpack_entry.c \
 *       images/unpack_path.c images/unpack_whiteout.c images/digest.c \
 *       core/path.c core/error.c -larchive -lcrypto -o build/fuzz_unpack
 *   mkdir -p build/fuzz-corpus && build/fuzz_unpack build/fuzz-corpus
 *
 * Seed the corpus with a few small layers (tar, tar.gz, tar.zst), e.g. the
 * ones test_unpack writes. */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "images/unpack.h"

static char top[64];

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st; (void)type; (void)ftw;
    remove(path);
    return 0;
}

/* Only "t" (the target) and "keep" may exist in top. */
static void check_no_escape(void)
{
    DIR *d = opendir(top);
    struct dirent *de;
    if (!d)
        abort();
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strcmp(de->d_name, "t") &&
            strcmp(de->d_name, "keep")) {
            fprintf(stderr, "escape: %s/%s appeared\n", top, de->d_name);
            abort();
        }
    closedir(d);
}

static void remove_top(void)
{
    nftw(top, remove_one, 64, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char blob[64], target[96];
    int mfd;

    if (!top[0]) {
        snprintf(top, sizeof top, "/tmp/zone-fuzz-unpack-XXXXXX");
        if (!mkdtemp(top))
            abort();
        snprintf(target, sizeof target, "%s/keep", top);
        close(open(target, O_WRONLY | O_CREAT, 0600));
        atexit(remove_top);
    }
    mfd = memfd_create("layer", MFD_CLOEXEC);
    if (mfd < 0 || write(mfd, data, size) != (ssize_t)size)
        abort();
    snprintf(blob, sizeof blob, "/proc/self/fd/%d", mfd);
    snprintf(target, sizeof target, "%s/t", top);
    for (int mode = 0; mode < 2; mode++) {
        struct zunpack_opts o = {
            .mode = mode ? ZUNPACK_FLAT : ZUNPACK_OVERLAY,
            .opaque_xattr = "user.overlay.opaque",
            .expect_diff_id = mode ? NULL :
                "sha256:0000000000000000000000000000000000000000000000000000000000000000",
        };
        struct zunpack_stats st;
        struct zerr e;
        int dirfd;

        lseek(mfd, 0, SEEK_SET);
        if (mkdir(target, 0755) < 0)
            abort();
        dirfd = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0)
            abort();
        zunpack_layer(dirfd, blob, "fuzz", &o, &st, &e);
        close(dirfd);
        check_no_escape();
        nftw(target, remove_one, 64, FTW_DEPTH | FTW_PHYS);
    }
    close(mfd);
    return 0;
}
