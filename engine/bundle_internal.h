/* Shared by engine/bundle*.c; not for other folders. */
#ifndef ZONE_ENGINE_BUNDLE_INTERNAL_H
#define ZONE_ENGINE_BUNDLE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"
#include "core/spec.h"
#include "engine/bundle.h"

/* A growing NULL-terminated string vector (the spec's char ** + count). */
struct zstrv {
    char **v;
    size_t n, cap;
};
int zstrv_add(struct zstrv *s, const char *str, struct zerr *e);
int zstrv_addf(struct zstrv *s, struct zerr *e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
bool zstrv_has(const struct zstrv *s, const char *str);
void zstrv_remove(struct zstrv *s, const char *str);
void zstrv_free(struct zstrv *s);

/* ---- bundle_user.c ---- */

/* Largest /etc/passwd or /etc/group read from an image. */
#define ZBUNDLE_IDFILE_MAX (4u << 20)

/* The topmost visible copy of rel ("etc/passwd") in the layers, as the
 * overlay would show it: a whiteout (0/0 char device) or a non-directory
 * on the way hides lower copies, and so does an opaque directory. Returns a
 * malloc'd path, or NULL with e->code ENOENT when it is not visible. A
 * symlink is not followed (reported as absent). */
char *zbundle_layer_file(char *const *lowerdirs, size_t n_lower, const char *rel,
                         struct zerr *e);

/* Resolves `zone run -u` / the image's User ("", "uid", "uid:gid",
 * "name", "name:group", "uid:group"...) through the image's /etc/passwd and
 * /etc/group. Fills uid, gid and additional_gids (groups listing the user
 * as a member). `image` names the image in errors. */
int zbundle_resolve_user(const char *spec, char *const *lowerdirs, size_t n_lower,
                         const char *image, struct zspec_user *out, struct zerr *e);

/* ---- bundle_resources.c ---- */

/* podman's default capability set adjusted by --cap-add / --cap-drop
 * ("ALL" supported, names with or without CAP_); an unknown name is an
 * error naming it. */
int zbundle_capabilities(const struct zrun_flags *f, struct zstrv *caps, struct zerr *e);

/* linux.resources from --memory, --cpus, --pids-limit; NULL (no error)
 * when nothing is asked and no device rule applies. */
int zbundle_resources(const struct zrun_flags *f, struct zspec_resources **out,
                      struct zerr *e);

/* linux.seccomp for --security-opt seccomp=...: NULL = default profile,
 * "unconfined" = none (*out NULL), else a JSON profile file (the OCI
 * linux.seccomp object, or containers' format with includes/excludes and
 * archMap), with the rules that apply to caps and this architecture. */
int zbundle_seccomp(const char *profile, const struct zstrv *caps,
                    struct zspec_seccomp **out, struct zerr *e);

#endif
