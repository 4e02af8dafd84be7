/* zone-dev's verbs: runc's and the image and developer commands. */
#include "cli/cli.h"

extern const struct zcommand zcmd_pull, zcmd_import, zcmd_save, zcmd_load, zcmd_logs,
    zcmd_stop, zcmd_rm, zcmd_inspect, zcmd_images, zcmd_rmi, zcmd_image;

const struct zcommand *const zcli_commands[] = {
    &zcmd_create, &zcmd_delete, &zcmd_events, &zcmd_exec, &zcmd_features,
    &zcmd_kill, &zcmd_list, &zcmd_pause, &zcmd_ps, &zcmd_resume, &zcmd_run,
    &zcmd_spec, &zcmd_start, &zcmd_state, &zcmd_update,
    &zcmd_pull, &zcmd_import, &zcmd_save, &zcmd_load, &zcmd_logs, &zcmd_stop,
    &zcmd_rm, &zcmd_inspect, &zcmd_images, &zcmd_rmi, &zcmd_image,
};
const size_t zcli_n_commands = sizeof zcli_commands / sizeof zcli_commands[0];
