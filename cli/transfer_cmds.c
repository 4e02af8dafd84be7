/* import, save, load: images to and from files, as podman names them.
 *   zone import ROOTFS.tar NAME       a rootfs tarball -> a one-layer image
 *   zone save [-o FILE] [--format F] NAME
 *   zone load [-i FILE]               docker-archive or oci-archive, detected */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "images/manifest.h"
#include "images/reference.h"
#include "images/store.h"
#include "images/transfer.h"

/* Prints the image ID (config digest without "sha256:"), as podman does. */
static int print_image_id(struct zstore *s, const char *name, struct zerr *e)
{
    struct zimage im;
    const char *id;
    if (zimage_load(s, name, &im, e) < 0)
        return -1;
    id = strchr(im.manifest.config.digest, ':');
    printf("%s\n", id ? id + 1 : im.manifest.config.digest);
    zimage_free(&im);
    return 0;
}

static int cmd_import(struct zcli *cli, int argc, char **argv)
{
    static const struct option none[] = {{"quiet", no_argument, NULL, 'q'}, {0}};
    struct zstore *s = NULL;
    struct zerr e = {0};
    char digest[ZDIGEST_MAX], name[1024];
    struct zref ref;
    int c, ret = 1;
    while ((c = getopt_long(argc, argv, "+q", none, NULL)) != -1)
        if (c != 'q')
            return zcli_usage_error(&zcmd_import, "unknown option %s", argv[optind - 1]);
    if (zcli_expect_args(&zcmd_import, argc, optind, 2, 2))
        return 1;
    if (zref_parse(argv[optind + 1], "localhost", &ref, &e) < 0)
        return zcli_fail(cli, "import", &e);
    zref_format(&ref, name, sizeof name);
    if (zstore_open(cli->storage, &s, &e) < 0)
        return zcli_fail(cli, "import", &e);
    if (zimage_import_rootfs(s, argv[optind], argv[optind + 1], digest, &e) < 0 ||
        print_image_id(s, name, &e) < 0)
        zcli_fail(cli, "import", &e);
    else
        ret = 0;
    zstore_close(s);
    return ret;
}

const struct zcommand zcmd_import = {
    "import", "make a one-layer image from a root filesystem tarball",
    "ROOTFS.tar NAME",
    "   The tarball may be gzip, zstd or xz compressed. NAME without a registry is\n"
    "   stored as localhost/NAME (localhost/NAME:latest without a tag). The image\n"
    "   runs /bin/sh with a default PATH. Prints the image ID.\n",
    cmd_import};

static int cmd_save(struct zcli *cli, int argc, char **argv)
{
    enum { OPT_FORMAT = 256 };
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"quiet", no_argument, NULL, 'q'},
        {0}};
    const char *output = NULL, *format = "docker-archive", *prefix;
    struct zstore *s = NULL;
    struct zerr e = {0};
    char dst[4200];
    int c, ret = 1;
    while ((c = getopt_long(argc, argv, "+o:q", opts, NULL)) != -1) {
        switch (c) {
        case 'o': output = optarg; break;
        case OPT_FORMAT: format = optarg; break;
        case 'q': break;
        default: return zcli_usage_error(&zcmd_save, "unknown option %s", argv[optind - 1]);
        }
    }
    if (zcli_expect_args(&zcmd_save, argc, optind, 1, 1))
        return 1;
    if (!strcmp(format, "docker-archive"))
        prefix = "docker-archive:";
    else if (!strcmp(format, "oci-archive"))
        prefix = "oci-archive:";
    else if (!strcmp(format, "oci-dir"))
        prefix = "oci:";
    else
        return zcli_usage_error(&zcmd_save, "--format: expected oci-archive, oci-dir or "
                                "docker-archive, not \"%s\"", format);
    if (!output || !strcmp(output, "-")) {
        if (!strcmp(format, "oci-dir"))
            return zcli_usage_error(&zcmd_save, "--format oci-dir needs -o DIR");
        if (isatty(STDOUT_FILENO))
            return zcli_usage_error(&zcmd_save, "refusing to write an archive to a terminal: "
                                    "use -o FILE or redirect stdout");
        fflush(stdout);
        output = "/dev/stdout";
    }
    if (strchr(output, ':'))
        return zcli_usage_error(&zcmd_save, "-o %s: a path with ':' cannot be named as a "
                                "transport target", output);
    snprintf(dst, sizeof dst, "%s%s", prefix, output);
    if (zstore_open(cli->storage, &s, &e) < 0)
        return zcli_fail(cli, "save", &e);
    if (zimage_save(s, argv[optind], dst, &e) < 0)
        zcli_fail(cli, "save", &e);
    else
        ret = 0;
    zstore_close(s);
    return ret;
}

const struct zcommand zcmd_save = {
    "save", "write an image to an archive or an OCI layout directory",
    "[command options] IMAGE",
    "   --output, -o FILE   where to write (default: stdout, when it is not a terminal)\n"
    "   --format FORMAT     docker-archive (default), oci-archive or oci-dir\n"
    "   --quiet, -q         accepted for podman compatibility (zone save prints nothing)\n",
    cmd_save};

static int cmd_load(struct zcli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"input", required_argument, NULL, 'i'}, {"quiet", no_argument, NULL, 'q'}, {0}};
    const char *input = NULL;
    bool quiet = false;
    struct zstore *s = NULL;
    struct zerr e = {0};
    struct stat st;
    char src[4200], name[1024], digest[ZDIGEST_MAX];
    int c, ret = 1;
    while ((c = getopt_long(argc, argv, "+i:q", opts, NULL)) != -1) {
        switch (c) {
        case 'i': input = optarg; break;
        case 'q': quiet = true; break;
        default: return zcli_usage_error(&zcmd_load, "unknown option %s", argv[optind - 1]);
        }
    }
    if (zcli_expect_args(&zcmd_load, argc, optind, 0, 0))
        return 1;
    if (!input) {
        /* An archive is read in up to two passes, so stdin must be a file
         * that can be opened again (a redirect), not a pipe. */
        if (fstat(STDIN_FILENO, &st) < 0 || !S_ISREG(st.st_mode))
            return zcli_usage_error(&zcmd_load, "stdin is not a regular file: use -i FILE");
        input = "/dev/stdin";
    }
    if (strchr(input, ':'))
        return zcli_usage_error(&zcmd_load, "-i %s: a path with ':' cannot be loaded", input);
    if (stat(input, &st) < 0) {
        zerr_sys(&e, "%s", input);
        return zcli_fail(cli, "load", &e);
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(src, sizeof src, "oci:%s", input);
    } else {
        enum zarchive_kind kind;
        if (zarchive_detect(input, &kind, &e) < 0)
            return zcli_fail(cli, "load", &e);
        snprintf(src, sizeof src, "%s%s", kind == ZARCHIVE_OCI ? "oci-archive:" : "docker-archive:",
                 input);
    }
    if (zstore_open(cli->storage, &s, &e) < 0)
        return zcli_fail(cli, "load", &e);
    if (zimage_pull(s, src, NULL, name, sizeof name, digest, &e) < 0) {
        zcli_fail(cli, "load", &e);
    } else {
        if (!quiet)
            printf("Loaded image: %s\n", name);
        ret = 0;
    }
    zstore_close(s);
    return ret;
}

const struct zcommand zcmd_load = {
    "load", "load an image from a docker-archive or oci-archive (or an OCI layout directory)",
    "[command options]",
    "   --input, -i FILE    the archive (default: stdin, when it is redirected from a file)\n"
    "   --quiet, -q         do not print the loaded name\n"
    "   The format is detected: manifest.json (docker save / podman save) or\n"
    "   index.json + oci-layout (oci-archive). Compressed archives are accepted.\n",
    cmd_load};
