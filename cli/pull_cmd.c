/* pull: an image from a registry (or an OCI layout / archive) into the
 * store. Progress goes to stderr, the image ID (config digest) to stdout,
 * as podman does, so `id=$(zone pull IMAGE)` works. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "core/cleanup.h"
#include "images/manifest.h"
#include "images/reference.h"
#include "images/registry.h"
#include "images/store.h"
#include "images/transfer.h"

static bool is_registry_source(const char *src)
{
    static const char *const others[] = {"oci:", "oci-archive:", "docker-archive:"};
    for (size_t i = 0; i < ZARRAY_SIZE(others); i++)
        if (!strncmp(src, others[i], strlen(others[i])))
            return false;
    return true;
}

static int parse_bool(const char *s, bool *out)
{
    if (!s || !strcasecmp(s, "true") || !strcmp(s, "1")) {
        *out = true;
        return 0;
    }
    if (!strcasecmp(s, "false") || !strcmp(s, "0")) {
        *out = false;
        return 0;
    }
    return -1;
}

/* The image ID: the config digest of the manifest pulled, for an index
 * the entry of the platform asked for (which need not be this host's, so
 * zimage_load, which follows the host platform, cannot tell). */
static int image_id(struct zstore *s, const char *digest, const struct zpull_opts *o,
                    char id[ZDIGEST_MAX], struct zerr *e)
{
    char manifest_digest[ZDIGEST_MAX];
    _cleanup_free_ char *data = NULL;
    size_t len = 0;
    snprintf(manifest_digest, sizeof manifest_digest, "%s", digest);
    if (zstore_read_blob(s, digest, ZMANIFEST_MAX, &data, &len, e) < 0)
        return -1;
    if (zdoc_kind_of(data, len, NULL) == ZDOC_INDEX) {
        struct zindex x;
        size_t which;
        if (zindex_parse(data, len, digest, &x, e) < 0)
            return -1;
        int r = zindex_select(&x, o->os, o->arch, o->variant, &which, e);
        if (r == 0)
            snprintf(manifest_digest, sizeof manifest_digest, "%s", x.manifests[which].digest);
        zindex_free(&x);
        if (r < 0)
            return -1;
        free(data);
        data = NULL;
        if (zstore_read_blob(s, manifest_digest, ZMANIFEST_MAX, &data, &len, e) < 0)
            return -1;
    }
    struct zmanifest m;
    if (zmanifest_parse(data, len, manifest_digest, &m, e) < 0)
        return -1;
    snprintf(id, ZDIGEST_MAX, "%s", m.config.digest);
    zmanifest_free(&m);
    return 0;
}

static int cmd_pull(struct zcli *cli, int argc, char **argv)
{
    enum { OPT_TLS = 256, OPT_CREDS, OPT_AUTHFILE, OPT_PLATFORM, OPT_OS, OPT_ARCH, OPT_VARIANT };
    static const struct option opts[] = {
        {"tls-verify", optional_argument, NULL, OPT_TLS},
        {"creds", required_argument, NULL, OPT_CREDS},
        {"authfile", required_argument, NULL, OPT_AUTHFILE},
        {"platform", required_argument, NULL, OPT_PLATFORM},
        {"os", required_argument, NULL, OPT_OS},
        {"arch", required_argument, NULL, OPT_ARCH},
        {"variant", required_argument, NULL, OPT_VARIANT},
        {"quiet", no_argument, NULL, 'q'},
        {0}};
    struct zpull_opts o = {.tls_verify = true, .parallel = 3, .progress = stderr};
    char platform_buf[256];
    struct zerr e = {0};
    int c;

    while ((c = getopt_long(argc, argv, "+q", opts, NULL)) != -1) {
        switch (c) {
        case OPT_TLS:
            if (parse_bool(optarg, &o.tls_verify) < 0)
                return zcli_usage_error(&zcmd_pull, "--tls-verify: expected true or false, "
                                        "not \"%s\"", optarg);
            break;
        case OPT_CREDS:
            o.creds = optarg;
            break;
        case OPT_AUTHFILE:
            o.auth_file = optarg;
            break;
        case OPT_PLATFORM:
            if (zregistry_parse_platform(optarg, platform_buf, sizeof platform_buf, &o.os,
                                         &o.arch, &o.variant, &e) < 0)
                return zcli_usage_error(&zcmd_pull, "--platform: %s", e.msg);
            break;
        case OPT_OS:
            o.os = optarg;
            break;
        case OPT_ARCH:
            o.arch = optarg;
            break;
        case OPT_VARIANT:
            o.variant = optarg;
            break;
        case 'q':
            o.quiet = true;
            break;
        default:
            return zcli_usage_error(&zcmd_pull, "unknown option %s", argv[optind - 1]);
        }
    }
    if (zcli_expect_args(&zcmd_pull, argc, optind, 1, 1))
        return 1;
    const char *src = argv[optind];
    if (o.quiet)
        o.progress = NULL;

    if (!o.quiet) {
        struct zref ref;
        const char *text = strncmp(src, "docker://", 9) ? src : src + 9;
        char name[1024];
        if (is_registry_source(src) && zref_parse(text, NULL, &ref, &e) == 0) {
            zref_format(&ref, name, sizeof name);
            fprintf(stderr, "Trying to pull %s...\n", name);
        }
        zerr_clear(&e);
    }

    struct zstore *s = NULL;
    if (zstore_open(cli->storage, &s, &e) < 0)
        return zcli_fail(cli, "pull", &e);
    char name[1024] = "";
    char digest[ZDIGEST_MAX] = "";
    int ret = 1;
    if (zimage_pull(s, src, &o, name, sizeof name, digest, &e) < 0) {
        zcli_fail(cli, "pull", &e);
        goto out;
    }
    char id[ZDIGEST_MAX];
    if (image_id(s, digest, &o, id, &e) < 0) {
        zcli_fail(cli, "pull", &e);
        goto out;
    }
    if (!o.quiet)
        fprintf(stderr, "Stored %s (digest %s)\n", name, digest);
    printf("%s\n", strchr(id, ':') ? strchr(id, ':') + 1 : id);
    ret = 0;
out:
    zstore_close(s);
    return ret;
}

const struct zcommand zcmd_pull = {
    "pull", "pull an image from a registry (or an OCI layout or archive) into the store",
    "[command options] IMAGE",
    "   --tls-verify=false     use HTTPS without verifying the certificate, and plain HTTP\n"
    "                          if HTTPS fails (for insecure registries; default: true)\n"
    "   --creds USER:PASSWORD  credentials for the registry\n"
    "   --authfile FILE        auth file (default: $REGISTRY_AUTH_FILE, then\n"
    "                          ~/.docker/config.json, then $XDG_RUNTIME_DIR/containers/auth.json)\n"
    "   --platform OS/ARCH[/VARIANT]  the platform to pick from a multi-platform image\n"
    "                          (default: this host); --os, --arch, --variant set one part\n"
    "   --quiet, -q            no progress; print only the image ID\n"
    "\nIMAGE is [docker://]REFERENCE (e.g. busybox, 127.0.0.1:5000/app:1, repo@sha256:...),\n"
    "oci:DIR[:TAG], oci-archive:FILE[:TAG] or docker-archive:FILE[:REF].\n",
    cmd_pull};
