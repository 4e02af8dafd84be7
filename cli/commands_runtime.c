/* zone's verbs: runc's, run in this binary, and the image and developer
 * commands, which zone hands to zone-dev so that the runtime engines call
 * on every container operation never loads libcurl, libarchive or
 * libcrypto (docs/performance.md). The summaries must match zone-dev's
 * (an integration test compares the two --help outputs). */
#include "cli/cli.h"

#define FORWARDED(verb, text) \
    static const struct zcommand fwd_##verb = {.name = #verb, .summary = text}

FORWARDED(pull, "pull an image from a registry (or an OCI layout or archive) into the store");
FORWARDED(import, "make a one-layer image from a root filesystem tarball");
FORWARDED(save, "write an image to an archive or an OCI layout directory");
FORWARDED(load, "load an image from a docker-archive or oci-archive (or an OCI layout directory)");
FORWARDED(logs, "print a developer container's output");
FORWARDED(stop, "stop developer containers (stop signal, then SIGKILL)");
FORWARDED(rm, "remove developer containers");
FORWARDED(inspect, "show a developer container or an image as JSON");
FORWARDED(images, "list the images in the store");
FORWARDED(rmi, "remove images (tags), then their unreferenced blobs and layers");
FORWARDED(image, "manage images: ls, rm, prune");

const struct zcommand *const zcli_commands[] = {
    &zcmd_create, &zcmd_delete, &zcmd_events, &zcmd_exec, &zcmd_features,
    &zcmd_kill, &zcmd_list, &zcmd_pause, &zcmd_ps, &zcmd_resume, &zcmd_run,
    &zcmd_spec, &zcmd_start, &zcmd_state, &zcmd_update,
    &fwd_pull, &fwd_import, &fwd_save, &fwd_load, &fwd_logs, &fwd_stop,
    &fwd_rm, &fwd_inspect, &fwd_images, &fwd_rmi, &fwd_image,
};
const size_t zcli_n_commands = sizeof zcli_commands / sizeof zcli_commands[0];
