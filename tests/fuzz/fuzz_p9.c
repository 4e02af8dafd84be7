/* libFuzzer target for the 9P2000.L server (vm-sandbox/p9): each input is a
 * sequence of messages fed to a fresh server exporting a small fixed tree
 * (a file, a directory, a symlink to /etc, a symlink to ../keep). Besides
 * crashes and sanitizer reports it aborts when a reply is malformed (size
 * field not its length, larger than the buffer or than the negotiated
 * msize), when an fd leaks past p9_server_free, or when anything outside
 * the export changed (top/ must hold only root/ and keep/secret).
 *
 * Input: flags[1], then records until the input ends.
 *   flags bit 0: start with Tversion(8192, "9P2000.L") and Tattach(fid 0)
 *   flags bit 1: records are type[1] len[2] body[len], framed here with a
 *                correct size and a tag; otherwise len[2] bytes[len] raw
 *   flags bit 2: reply buffers of varying size (from each record's length)
 *
 * Build and run (as root for mknod/chown coverage, from the top of the
 * tree):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -D_GNU_SOURCE \
 *       tests/fuzz/fuzz_p9.c vm-sandbox/p9/p9_*.c core/error.c -o build/fuzz_p9
 *   mkdir -p build/fuzz-corpus-p9 && build/fuzz_p9 -max_total_time=30 build/fuzz-corpus-p9 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vm-sandbox/p9/p9.h"

#define RESP_MAX (P9_MSIZE_MAX + 64)

static char top[64], root[96], keep[96];
static uint8_t req[70000 + 16];
static uint8_t *resp;
static bool initialized;

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    int n = 0;
    if (!d)
        abort();
    while ((de = readdir(d)))
        n++;
    closedir(d);
    return n;
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st; (void)type; (void)ftw;
    remove(path);
    return 0;
}

static void put(const char *dir, const char *name, const char *text)
{
    char path[256];
    int fd;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        abort();
    close(fd);
}

/* The export's fixed contents, rebuilt for every input. */
static void reset_root(void)
{
    char path[160];
    chmod(root, 0755);
    nftw(root, remove_one, 32, FTW_DEPTH | FTW_PHYS);
    if (mkdir(root, 0755) && errno != EEXIST)
        abort();
    put(root, "f", "hello, 9p\n");
    snprintf(path, sizeof path, "%s/d", root);
    mkdir(path, 0755);
    put(path, "g", "inner\n");
    snprintf(path, sizeof path, "%s/l", root);
    symlink("/etc", path);
    snprintf(path, sizeof path, "%s/u", root);
    symlink("../keep", path);
}

/* Only root/ and keep/ in top, and keep/secret as it was. */
static void check_no_escape(void)
{
    char path[160], buf[64];
    struct dirent *de;
    DIR *d = opendir(top);
    int fd;
    ssize_t n;
    if (!d)
        abort();
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strcmp(de->d_name, "root") &&
            strcmp(de->d_name, "keep")) {
            fprintf(stderr, "escape: %s/%s appeared\n", top, de->d_name);
            abort();
        }
    closedir(d);
    d = opendir(keep);
    if (!d)
        abort();
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strcmp(de->d_name, "secret")) {
            fprintf(stderr, "escape: %s/%s appeared\n", keep, de->d_name);
            abort();
        }
    closedir(d);
    snprintf(path, sizeof path, "%s/secret", keep);
    fd = open(path, O_RDONLY);
    if (fd < 0)
        abort();
    n = read(fd, buf, sizeof buf);
    close(fd);
    if (n != 7 || memcmp(buf, "secret\n", 7)) {
        fprintf(stderr, "escape: %s changed\n", path);
        abort();
    }
}

static void remove_top(void)
{
    chmod(root, 0755);
    nftw(top, remove_one, 32, FTW_DEPTH | FTW_PHYS);
}

static void init_once(void)
{
    strcpy(top, "/tmp/fuzz_p9.XXXXXX");
    if (!mkdtemp(top))
        abort();
    snprintf(root, sizeof root, "%s/root", top);
    snprintf(keep, sizeof keep, "%s/keep", top);
    if (mkdir(keep, 0755))
        abort();
    put(keep, "secret", "secret\n");
    resp = malloc(RESP_MAX);
    if (!resp)
        abort();
    initialized = true;
    atexit(remove_top);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Sends req[0..len) and checks the reply; tracks the negotiated msize. */
static void exchange(struct p9_server *s, size_t len, size_t cap, uint32_t *msize)
{
    size_t n = p9_handle(s, req, len, resp, cap);
    if (n == 0) {
        if (len >= 7 && cap >= 11)
            abort(); /* every request with a tag gets a reply */
        return;
    }
    if (n < 7 || n > cap || le32(resp) != n || resp[5] != req[5] || resp[6] != req[6])
        abort();
    if (*msize && req[4] != 100 && n > *msize)
        abort();
    if (resp[4] == 101) {
        /* Rversion: msize[4] version[s]; "unknown" ends the session */
        if (n < 13)
            abort();
        *msize = (n == 21 && !memcmp(resp + 13, "9P2000.L", 8)) ? le32(resp + 7) : 0;
        if (*msize > P9_MSIZE_MAX)
            abort();
    }
}

static size_t frame(uint8_t type, const uint8_t *body, size_t len)
{
    uint32_t size = (uint32_t)(7 + len);
    req[0] = (uint8_t)size;
    req[1] = (uint8_t)(size >> 8);
    req[2] = (uint8_t)(size >> 16);
    req[3] = (uint8_t)(size >> 24);
    req[4] = type;
    req[5] = 0x01;
    req[6] = 0x00;
    memcpy(req + 7, body, len);
    return 7 + len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct p9_config c = { 0 };
    struct p9_server *s;
    struct zerr e;
    uint32_t msize = 0;
    uint8_t flags;
    size_t pos = 1;
    int base_fds;

    if (!initialized)
        init_once();
    if (size < 1)
        return 0;
    flags = data[0];
    reset_root();
    /* counted here, not once: libFuzzer's symbolizer opens pipes of its
     * own between inputs */
    base_fds = count_fds();
    c.root = root;
    c.read_only = false;
    c.max_fids = 64;
    if (p9_server_new(&c, &s, &e)) {
        fprintf(stderr, "p9_server_new: %s\n", e.msg);
        abort();
    }
    if (flags & 1) {
        static const uint8_t version[] = { 0x00, 0x20, 0, 0, 8, 0, '9', 'P', '2', '0', '0', '0', '.', 'L' };
        static const uint8_t attach[] = { 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0 };
        exchange(s, frame(100, version, sizeof version), RESP_MAX, &msize);
        exchange(s, frame(104, attach, sizeof attach), RESP_MAX, &msize);
    }
    while (pos < size) {
        size_t len, cap = RESP_MAX, n;
        uint8_t type = 0;
        if (flags & 2) {
            if (size - pos < 3)
                break;
            type = data[pos];
            len = (size_t)data[pos + 1] | (size_t)data[pos + 2] << 8;
            pos += 3;
        } else {
            if (size - pos < 2)
                break;
            len = (size_t)data[pos] | (size_t)data[pos + 1] << 8;
            pos += 2;
        }
        if (len > size - pos)
            len = size - pos;
        if (flags & 4)
            cap = 11 + (len * 131) % 8192;
        if (flags & 2)
            n = frame(type, data + pos, len);
        else {
            memcpy(req, data + pos, len);
            n = len;
        }
        exchange(s, n, cap, &msize);
        pos += len;
    }
    p9_server_free(s);
    if (count_fds() != base_fds) {
        fprintf(stderr, "fd leak: %d fds, %d before\n", count_fds(), base_fds);
        for (int fd = 0; fd < 1024; fd++) {
            char link[32], target[256];
            ssize_t n;
            snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
            n = readlink(link, target, sizeof target - 1);
            if (n > 0)
                fprintf(stderr, "  fd %d -> %.*s\n", fd, (int)n, target);
        }
        abort();
    }
    check_no_escape();
    return 0;
}
