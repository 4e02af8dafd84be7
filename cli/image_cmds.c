/* images, rmi, image {ls,rm,prune}: looking at and removing what the image
 * store holds, with podman's spelling and output. The IMAGE ID is the
 * config digest, as podman's (and `zone pull`'s) is. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yajl/yajl_gen.h>

#include "cli/cli.h"
#include "core/cleanup.h"
#include "images/manifest.h"
#include "images/reference.h"
#include "images/store.h"

#define GEN_STR(g, s) yajl_gen_string(g, (const unsigned char *)(s), strlen(s))

static int open_store(struct zcli *cli, struct zstore **s)
{
    struct zerr e = {0};
    if (zstore_open(cli->storage, s, &e) < 0)
        return zcli_fail(cli, NULL, &e);
    return 0;
}

/* ------------------------------------------------------------- listing */

struct image_row {
    char *name;                 /* the tag, "registry/repo:tag" or "...@digest" */
    char repo[800], tag[160];
    char target[ZDIGEST_MAX];   /* what the tag points to */
    char manifest[ZDIGEST_MAX]; /* this platform's manifest ("" if broken) */
    char id[ZDIGEST_MAX];       /* config digest ("" if broken) */
    time_t created;             /* 0 = unknown */
    char *created_text;
    uint64_t size;
    struct zspec_kv *labels; size_t n_labels;
    struct zimage im;           /* loaded, when not broken */
    bool loaded;
};

static void rows_free(struct image_row *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].name);
        if (v[i].loaded)
            zimage_free(&v[i].im);
    }
    free(v);
}

/* "2024-01-02T03:04:05.123Z" or "...+02:00" -> seconds; 0 if unparsable. */
static time_t parse_rfc3339(const char *s)
{
    struct tm tm = {0};
    const char *p;
    time_t t;
    if (!s || !(p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)))
        return 0;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            ;
    t = timegm(&tm);
    if ((*p == '+' || *p == '-') && strlen(p) >= 6) {
        int off = ((p[1] - '0') * 10 + (p[2] - '0')) * 3600 + ((p[4] - '0') * 10 + (p[5] - '0')) * 60;
        t += *p == '+' ? -off : off;
    }
    return t;
}

/* go-units HumanDuration, which podman prints with " ago". */
static void human_duration(time_t secs, char *buf, size_t n)
{
    long long s = secs, m = s / 60, h = s / 3600;
    if (s < 1)
        snprintf(buf, n, "Less than a second");
    else if (s == 1)
        snprintf(buf, n, "1 second");
    else if (s < 60)
        snprintf(buf, n, "%lld seconds", s);
    else if (m == 1)
        snprintf(buf, n, "About a minute");
    else if (m < 60)
        snprintf(buf, n, "%lld minutes", m);
    else if (h == 1)
        snprintf(buf, n, "About an hour");
    else if (h < 48)
        snprintf(buf, n, "%lld hours", h);
    else if (h < 24 * 7 * 2)
        snprintf(buf, n, "%lld days", h / 24);
    else if (h < 24 * 30 * 2)
        snprintf(buf, n, "%lld weeks", h / 24 / 7);
    else if (h < 24 * 365 * 2)
        snprintf(buf, n, "%lld months", h / 24 / 30);
    else
        snprintf(buf, n, "%lld years", h / 24 / 365);
}

/* go-units HumanSizeWithPrecision(size, 3), decimal units, as podman. */
static void human_size(uint64_t size, char *buf, size_t n)
{
    static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
    double v = (double)size;
    size_t u = 0;
    while (v >= 1000 && u + 1 < ZARRAY_SIZE(units)) {
        v /= 1000;
        u++;
    }
    snprintf(buf, n, "%.3g %s", v, units[u]);
}

static void split_name(const char *name, char *repo, size_t rn, char *tag, size_t tn)
{
    const char *slash = strrchr(name, '/');
    const char *at = strchr(slash ? slash : name, '@');
    const char *colon = strrchr(slash ? slash : name, ':');
    if (at) {
        snprintf(repo, rn, "%.*s", (int)(at - name), name);
        snprintf(tag, tn, "<none>");
    } else if (colon) {
        snprintf(repo, rn, "%.*s", (int)(colon - name), name);
        snprintf(tag, tn, "%s", colon + 1);
    } else {
        snprintf(repo, rn, "%s", name);
        snprintf(tag, tn, "<none>");
    }
}

static int row_cmp(const void *a, const void *b)
{
    const struct image_row *x = a, *y = b;
    if (x->created != y->created)
        return x->created > y->created ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Does the tag `name` match the user's filter (REPOSITORY[:TAG])? */
static bool row_matches(const struct image_row *r, const char *filter)
{
    static const char *const registries[] = {"docker.io", "localhost"};
    const char *slash = strrchr(filter, '/');
    bool with_tag = strchr(slash ? slash : filter, ':') || strchr(filter, '@');
    for (size_t i = 0; i < ZARRAY_SIZE(registries); i++) {
        struct zref ref;
        struct zerr e;
        char key[1024], repo[800];
        if (zref_parse(filter, registries[i], &ref, &e) < 0)
            return false;
        zref_format(&ref, key, sizeof key);
        snprintf(repo, sizeof repo, "%s/%s", ref.registry, ref.repository);
        if (with_tag ? !strcmp(key, r->name) : !strcmp(repo, r->repo))
            return true;
    }
    return false;
}

static int load_rows(struct zstore *s, const char *filter, struct image_row **out, size_t *n,
                     struct zerr *e)
{
    struct ztag *tags;
    size_t nt;
    struct image_row *v;
    size_t count = 0;

    *out = NULL;
    *n = 0;
    if (zstore_tag_list(s, &tags, &nt, e) < 0)
        return -1;
    v = calloc(nt + 1, sizeof *v);
    if (!v) {
        zstore_tag_list_free(tags, nt);
        return zerr_sys(e, "images");
    }
    for (size_t i = 0; i < nt; i++) {
        struct image_row *r = &v[count];
        struct zerr le;
        split_name(tags[i].name, r->repo, sizeof r->repo, r->tag, sizeof r->tag);
        r->name = tags[i].name;
        tags[i].name = NULL;
        if (filter && !row_matches(r, filter)) {
            free(r->name);
            r->name = NULL;
            continue;
        }
        memcpy(r->target, tags[i].digest, ZDIGEST_MAX);
        if (zimage_load(s, tags[i].digest, &r->im, &le) == 0) {
            r->loaded = true;
            memcpy(r->manifest, r->im.manifest_digest, ZDIGEST_MAX);
            memcpy(r->id, r->im.manifest.config.digest, ZDIGEST_MAX);
            r->created_text = r->im.config.created;
            r->created = parse_rfc3339(r->im.config.created);
            r->size = (uint64_t)r->im.manifest.config.size;
            for (size_t l = 0; l < r->im.manifest.n_layers; l++)
                r->size += (uint64_t)r->im.manifest.layers[l].size;
            r->labels = r->im.config.labels;
            r->n_labels = r->im.config.n_labels;
        }
        count++;
    }
    zstore_tag_list_free(tags, nt);
    qsort(v, count, sizeof *v, row_cmp);
    *out = v;
    *n = count;
    return 0;
}

static void short_id(const struct image_row *r, bool no_trunc, char *buf, size_t n)
{
    const char *d = r->id[0] ? r->id : r->target;
    if (no_trunc)
        snprintf(buf, n, "%s", d);
    else
        snprintf(buf, n, "%.12s", d + 7);
}

static void print_table(const struct image_row *v, size_t n, bool no_trunc)
{
    int w_repo = 10, w_tag = 3, w_id = 8, w_created = 7;
    char id[ZDIGEST_MAX], created[64], size[32];
    time_t now = time(NULL);

    for (size_t i = 0; i < n; i++) {
        short_id(&v[i], no_trunc, id, sizeof id);
        if ((int)strlen(v[i].repo) > w_repo)
            w_repo = (int)strlen(v[i].repo);
        if ((int)strlen(v[i].tag) > w_tag)
            w_tag = (int)strlen(v[i].tag);
        if ((int)strlen(id) > w_id)
            w_id = (int)strlen(id);
    }
    for (size_t i = 0; i < n; i++) {
        int len;
        if (!v[i].created)
            len = (int)strlen("unknown");
        else {
            human_duration(now - v[i].created, created, sizeof created);
            len = (int)strlen(created) + 4;
        }
        if (len > w_created)
            w_created = len;
    }
    printf("%-*s  %-*s  %-*s  %-*s  %s\n", w_repo, "REPOSITORY", w_tag, "TAG", w_id, "IMAGE ID",
           w_created, "CREATED", "SIZE");
    for (size_t i = 0; i < n; i++) {
        char ago[80];
        short_id(&v[i], no_trunc, id, sizeof id);
        if (v[i].created) {
            human_duration(now - v[i].created, created, sizeof created);
            snprintf(ago, sizeof ago, "%s ago", created);
        } else {
            snprintf(ago, sizeof ago, "unknown");
        }
        if (v[i].loaded)
            human_size(v[i].size, size, sizeof size);
        else
            snprintf(size, sizeof size, "(broken)");
        printf("%-*s  %-*s  %-*s  %-*s  %s\n", w_repo, v[i].repo, w_tag, v[i].tag, w_id, id,
               w_created, ago, size);
    }
}

/* One object per image (tags grouped by manifest), podman's field names. */
static void print_json(struct zstore *s, const struct image_row *v, size_t n)
{
    struct zcontainer_ref *refs = NULL;
    size_t n_refs = 0;
    struct zerr e;
    yajl_gen g = yajl_gen_alloc(NULL);
    const unsigned char *buf;
    size_t len;

    if (zstore_container_refs(s, &refs, &n_refs, &e) < 0)
        n_refs = 0;
    yajl_gen_config(g, yajl_gen_beautify, 1);
    yajl_gen_config(g, yajl_gen_indent_string, "    ");
    yajl_gen_array_open(g);
    for (size_t i = 0; i < n; i++) {
        const char *key = v[i].manifest[0] ? v[i].manifest : v[i].target;
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = !strcmp(key, v[j].manifest[0] ? v[j].manifest : v[j].target);
        if (seen)
            continue;
        long long containers = 0;
        for (size_t c = 0; c < n_refs; c++)
            containers += !strcmp(refs[c].manifest, key) || !strcmp(refs[c].manifest, v[i].target);
        yajl_gen_map_open(g);
        GEN_STR(g, "Id");
        GEN_STR(g, (v[i].id[0] ? v[i].id : v[i].target) + 7);
        GEN_STR(g, "Digest");
        GEN_STR(g, key);
        for (int pass = 0; pass < 2; pass++) {
            GEN_STR(g, pass ? "Names" : "RepoTags");
            yajl_gen_array_open(g);
            for (size_t j = i; j < n; j++)
                if (!strcmp(key, v[j].manifest[0] ? v[j].manifest : v[j].target))
                    GEN_STR(g, v[j].name);
            yajl_gen_array_close(g);
        }
        GEN_STR(g, "Created");
        yajl_gen_integer(g, (long long)v[i].created);
        GEN_STR(g, "CreatedAt");
        GEN_STR(g, v[i].created_text ? v[i].created_text : "");
        GEN_STR(g, "Size");
        yajl_gen_integer(g, (long long)v[i].size);
        GEN_STR(g, "Labels");
        if (!v[i].n_labels) {
            yajl_gen_null(g);   /* as podman prints an image without labels */
        } else {
            yajl_gen_map_open(g);
            for (size_t l = 0; l < v[i].n_labels; l++) {
                GEN_STR(g, v[i].labels[l].key);
                GEN_STR(g, v[i].labels[l].value);
            }
            yajl_gen_map_close(g);
        }
        GEN_STR(g, "Containers");
        yajl_gen_integer(g, containers);
        yajl_gen_map_close(g);
    }
    yajl_gen_array_close(g);
    yajl_gen_get_buf(g, &buf, &len);
    fwrite(buf, 1, len, stdout);
    if (len && buf[len - 1] != '\n')
        fputc('\n', stdout);
    yajl_gen_free(g);
    zstore_container_refs_free(refs, n_refs);
}

static int cmd_images(struct zcli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"quiet", no_argument, NULL, 'q'},
        {"format", required_argument, NULL, 'f'},
        {"no-trunc", no_argument, NULL, 'N'},
        {0},
    };
    bool quiet = false, no_trunc = false, json = false;
    struct zstore *s;
    struct image_row *v;
    size_t n;
    struct zerr e = {0};
    int c;

    while ((c = getopt_long(argc, argv, "+q", opts, NULL)) != -1) {
        switch (c) {
        case 'q': quiet = true; break;
        case 'N': no_trunc = true; break;
        case 'f':
            if (!strcmp(optarg, "json"))
                json = true;
            else if (strcmp(optarg, "table"))
                return zcli_usage_error(&zcmd_images, "--format: unsupported format \"%s\" "
                                        "(json or table)", optarg);
            break;
        default:
            return zcli_usage_error(&zcmd_images, "unknown option %s", argv[optind - 1]);
        }
    }
    if (zcli_expect_args(&zcmd_images, argc, optind, 0, 1))
        return 1;
    if (open_store(cli, &s))
        return 1;
    if (load_rows(s, optind < argc ? argv[optind] : NULL, &v, &n, &e) < 0) {
        zstore_close(s);
        return zcli_fail(cli, NULL, &e);
    }
    if (quiet) {
        for (size_t i = 0; i < n; i++) {
            char id[ZDIGEST_MAX], prev[ZDIGEST_MAX];
            bool seen = false;
            short_id(&v[i], no_trunc, id, sizeof id);
            for (size_t j = 0; j < i && !seen; j++) {
                short_id(&v[j], no_trunc, prev, sizeof prev);
                seen = !strcmp(prev, id);
            }
            if (!seen)
                printf("%s\n", id);
        }
    } else if (json) {
        print_json(s, v, n);
    } else {
        print_table(v, n, no_trunc);
    }
    rows_free(v, n);
    zstore_close(s);
    return 0;
}

/* ------------------------------------------------------------ removing */

/* Prints what gc freed: the images whose manifests went away (by ID), and
 * a summary line unless quiet. */
static int run_gc(struct zcli *cli, struct zstore *s, bool summary)
{
    struct zgc_report r;
    struct zerr e = {0};
    char size[32];
    if (zstore_gc(s, &r, &e) < 0)
        return zcli_fail(cli, NULL, &e);
    if (summary) {
        human_size(r.bytes_freed, size, sizeof size);
        printf("Removed %zu blob%s, %zu unpacked layer%s and %zu leftover%s; freed %s\n",
               r.blobs_removed, r.blobs_removed == 1 ? "" : "s", r.layers_removed,
               r.layers_removed == 1 ? "" : "s", r.partials_removed,
               r.partials_removed == 1 ? "" : "s", size);
    }
    return 0;
}

/* Is digest (a tag target or manifest) used by a container record? */
static const char *used_by(const struct zcontainer_ref *refs, size_t n, const char *target,
                           const char *manifest)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(refs[i].manifest, target) || (manifest[0] && !strcmp(refs[i].manifest, manifest)))
            return refs[i].id;
    return NULL;
}

struct removal {
    char target[ZDIGEST_MAX], manifest[ZDIGEST_MAX], id[ZDIGEST_MAX];
};

static void resolve_image(struct zstore *s, const char *target, struct removal *rm)
{
    struct zimage im;
    struct zerr e;
    memcpy(rm->target, target, ZDIGEST_MAX);
    rm->manifest[0] = rm->id[0] = '\0';
    if (zimage_load(s, target, &im, &e) == 0) {
        memcpy(rm->manifest, im.manifest_digest, ZDIGEST_MAX);
        memcpy(rm->id, im.manifest.config.digest, ZDIGEST_MAX);
        zimage_free(&im);
    }
}

/* Untags one name given to rmi; 0 ok, 1 not known/error, 2 in use. */
static int untag_one(struct zcli *cli, struct zstore *s, const char *name, bool force,
                     struct removal *rm, bool *removed_any)
{
    char tag[1024], digest[ZDIGEST_MAX];
    struct ztag *tags = NULL;
    struct zcontainer_ref *refs = NULL;
    size_t nt = 0, n_refs = 0, n_names = 0, n_other = 0;
    char **names = NULL;
    struct zerr e = {0};
    int rc = 1;

    if (zimage_lookup(s, name, tag, sizeof tag, digest, &e) < 0)
        return zcli_fail(cli, NULL, &e);
    if (zstore_tag_list(s, &tags, &nt, &e) < 0 || zstore_container_refs(s, &refs, &n_refs, &e) < 0) {
        zcli_fail(cli, NULL, &e);
        goto out;
    }
    resolve_image(s, digest, rm);
    names = calloc(nt + 1, sizeof *names);
    if (!names) {
        zerr_sys(&e, "rmi");
        zcli_fail(cli, NULL, &e);
        goto out;
    }
    /* by name: that tag; by ID or digest: every tag of that image */
    for (size_t i = 0; i < nt; i++) {
        bool same = !strcmp(tags[i].digest, digest);
        if (!same && rm->manifest[0]) {
            if (!strcmp(tags[i].digest, rm->manifest)) {
                same = true;
            } else {
                struct removal other;
                resolve_image(s, tags[i].digest, &other);
                same = other.manifest[0] && !strcmp(other.manifest, rm->manifest);
            }
        }
        if (tag[0] ? !strcmp(tags[i].name, tag) : same)
            names[n_names++] = tags[i].name;
        else if (same)
            n_other++;
    }
    if (!tag[0] && n_names > 1 && !force) {
        fprintf(stderr, "Error: unable to delete image %s by ID with more than one tag (%zu): "
                "use -f, or remove the tags by name\n", name, n_names);
        goto out;
    }
    if (n_other == 0 && !force) {
        const char *user = used_by(refs, n_refs, rm->target, rm->manifest);
        if (user) {
            fprintf(stderr, "Error: image %s is in use by container %s (zone rmi -f untags it "
                    "anyway; the container keeps what it uses)\n", name, user);
            rc = 2;
            goto out;
        }
    }
    if (n_names == 0 && !tag[0]) {
        /* an untagged blob named by digest: gc will decide */
        rc = 0;
        goto out;
    }
    for (size_t i = 0; i < n_names; i++) {
        if (zstore_tag_remove(s, names[i], &e) < 0 && e.code != ENOENT) {
            zcli_fail(cli, NULL, &e);
            goto out;
        }
        printf("Untagged: %s\n", names[i]);
        *removed_any = true;
    }
    rc = 0;
out:
    free(names);
    zstore_tag_list_free(tags, nt);
    zstore_container_refs_free(refs, n_refs);
    return rc;
}

static int cmd_rmi(struct zcli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"force", no_argument, NULL, 'f'},
        {"all", no_argument, NULL, 'a'},
        {0},
    };
    bool force = false, all = false, removed_any = false;
    struct zstore *s;
    struct removal *rms;
    char **names = NULL;
    struct ztag *tags = NULL;
    size_t n_names, nt = 0;
    struct zerr e = {0};
    int c, rc = 0;

    while ((c = getopt_long(argc, argv, "+fa", opts, NULL)) != -1) {
        switch (c) {
        case 'f': force = true; break;
        case 'a': all = true; break;
        default:
            return zcli_usage_error(&zcmd_rmi, "unknown option %s", argv[optind - 1]);
        }
    }
    if (!all && zcli_expect_args(&zcmd_rmi, argc, optind, 1, -1))
        return 1;
    if (all && optind < argc)
        return zcli_usage_error(&zcmd_rmi, "--all takes no image names");
    if (open_store(cli, &s))
        return 1;
    if (all) {
        if (zstore_tag_list(s, &tags, &nt, &e) < 0) {
            zstore_close(s);
            return zcli_fail(cli, NULL, &e);
        }
        names = calloc(nt + 1, sizeof *names);
        for (size_t i = 0; names && i < nt; i++)
            names[i] = tags[i].name;
        n_names = nt;
    } else {
        names = argv + optind;
        n_names = (size_t)(argc - optind);
    }
    rms = calloc(n_names + 1, sizeof *rms);
    if (!rms || !names) {
        zerr_sys(&e, "rmi");
        rc = zcli_fail(cli, NULL, &e);
        goto out;
    }
    for (size_t i = 0; i < n_names; i++) {
        int r = untag_one(cli, s, names[i], force, &rms[i], &removed_any);
        if (r > rc)
            rc = r;
    }
    /* the blobs of what is no longer referenced go now, as podman's rmi */
    if (run_gc(cli, s, false))
        rc = rc ? rc : 1;
    else
        for (size_t i = 0; i < n_names; i++) {
            const char *gone = rms[i].manifest[0] ? rms[i].manifest : rms[i].target;
            bool dup = false;
            if (!gone[0] || zstore_has_blob(s, gone))
                continue;
            for (size_t j = 0; j < i && !dup; j++)
                dup = !strcmp(rms[j].manifest[0] ? rms[j].manifest : rms[j].target, gone);
            if (!dup)
                printf("Deleted: %s\n", (rms[i].id[0] ? rms[i].id : gone) + 7);
        }
out:
    free(rms);
    if (all)
        free(names);
    zstore_tag_list_free(tags, nt);
    zstore_close(s);
    return rc;
}

/* `image prune [-a]`: gc; with -a every image no container uses is
 * untagged first (podman's --all). */
static int cmd_prune(struct zcli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"all", no_argument, NULL, 'a'},
        {"force", no_argument, NULL, 'f'},
        {0},
    };
    bool all = false;
    struct zstore *s;
    struct zerr e = {0};
    int c, rc;

    while ((c = getopt_long(argc, argv, "+af", opts, NULL)) != -1) {
        switch (c) {
        case 'a': all = true; break;
        case 'f': break;   /* zone never asks for confirmation */
        default:
            return zcli_usage_error(&zcmd_image, "unknown option %s", argv[optind - 1]);
        }
    }
    if (zcli_expect_args(&zcmd_image, argc, optind, 0, 0))
        return 1;
    if (open_store(cli, &s))
        return 1;
    if (all) {
        struct ztag *tags = NULL;
        struct zcontainer_ref *refs = NULL;
        size_t nt = 0, n_refs = 0;
        if (zstore_tag_list(s, &tags, &nt, &e) < 0 ||
            zstore_container_refs(s, &refs, &n_refs, &e) < 0) {
            zstore_tag_list_free(tags, nt);
            zstore_close(s);
            return zcli_fail(cli, NULL, &e);
        }
        for (size_t i = 0; i < nt; i++) {
            struct removal rm;
            resolve_image(s, tags[i].digest, &rm);
            if (used_by(refs, n_refs, rm.target, rm.manifest))
                continue;
            if (zstore_tag_remove(s, tags[i].name, &e) < 0 && e.code != ENOENT) {
                zstore_tag_list_free(tags, nt);
                zstore_container_refs_free(refs, n_refs);
                zstore_close(s);
                return zcli_fail(cli, NULL, &e);
            }
            printf("Untagged: %s\n", tags[i].name);
        }
        zstore_tag_list_free(tags, nt);
        zstore_container_refs_free(refs, n_refs);
    }
    rc = run_gc(cli, s, true);
    zstore_close(s);
    return rc;
}

/* `zone image SUBCOMMAND`: ls/list, rm, prune. */
static int cmd_image(struct zcli *cli, int argc, char **argv)
{
    const char *sub;
    if (argc < 2)
        return zcli_usage_error(&zcmd_image, "requires a subcommand (ls, rm or prune)");
    sub = argv[1];
    optind = 0;   /* the subcommand parses its own argv afresh */
    if (!strcmp(sub, "ls") || !strcmp(sub, "list"))
        return cmd_images(cli, argc - 1, argv + 1);
    if (!strcmp(sub, "rm"))
        return cmd_rmi(cli, argc - 1, argv + 1);
    if (!strcmp(sub, "prune"))
        return cmd_prune(cli, argc - 1, argv + 1);
    return zcli_usage_error(&zcmd_image, "unknown subcommand \"%s\" (ls, rm or prune)", sub);
}

const struct zcommand zcmd_images = {
    .name = "images",
    .summary = "list the images in the store",
    .usage = "[OPTIONS] [REPOSITORY[:TAG]]",
    .help = "   -q, --quiet        print only the image IDs (once each)\n"
            "   --format FORMAT    table (default) or json (one object per image)\n"
            "   --no-trunc         print full image IDs\n"
            "\nIMAGE ID is the image's config digest, as podman prints it; any 12 or more\n"
            "of its leading hex digits name the image in other commands.\n",
    .run = cmd_images,
};

const struct zcommand zcmd_rmi = {
    .name = "rmi",
    .summary = "remove images (tags), then their unreferenced blobs and layers",
    .usage = "[OPTIONS] IMAGE...",
    .help = "   -f, --force        untag even when a container uses the image (its blobs stay\n"
            "                      while the container exists), or an ID names several tags\n"
            "   -a, --all          remove every image\n"
            "\nIMAGE is a name (busybox, localhost/mine:1), a digest, or an image ID prefix.\n",
    .run = cmd_rmi,
};

const struct zcommand zcmd_image = {
    .name = "image",
    .summary = "manage images: ls, rm, prune",
    .usage = "ls|rm|prune [OPTIONS] [ARGS...]",
    .help = "   ls [-q] [--format json] [--no-trunc] [REPOSITORY[:TAG]]   same as `zone images`\n"
            "   rm [-f] [-a] IMAGE...                                     same as `zone rmi`\n"
            "   prune [-a] [-f]    remove blobs, unpacked layers and leftovers no tag or\n"
            "                      container references, and print what was freed;\n"
            "                      -a first untags every image no container uses;\n"
            "                      -f is accepted for podman compatibility (zone never asks)\n",
    .run = cmd_image,
};
