/* The config `zone spec` writes: the same as `runc spec` (and
 * `runc spec --rootless`), with our ociVersion. Kept as JSON text so that
 * the default and the parser can never disagree. */
#include "core/spec_private.h"

#include <stdio.h>
#include <stdlib.h>

static const char default_template[] =
    "{"
    "\"ociVersion\":\"" ZONE_OCI_VERSION "\","
    "\"process\":{"
        "\"terminal\":true,"
        "\"user\":{\"uid\":0,\"gid\":0},"
        "\"args\":[\"sh\"],"
        "\"env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\","
                "\"TERM=xterm\"],"
        "\"cwd\":\"/\","
        "\"capabilities\":{"
            "\"bounding\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],"
            "\"effective\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],"
            "\"permitted\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],"
            "\"ambient\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"]"
        "},"
        "\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":1024,\"soft\":1024}],"
        "\"noNewPrivileges\":true"
    "},"
    "\"root\":{\"path\":\"rootfs\",\"readonly\":true},"
    "\"hostname\":\"zone\","
    "\"mounts\":["
        "{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
        "{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\","
         "\"options\":[\"nosuid\",\"strictatime\",\"mode=755\",\"size=65536k\"]},"
        "{\"destination\":\"/dev/pts\",\"type\":\"devpts\",\"source\":\"devpts\","
         "\"options\":[\"nosuid\",\"noexec\",\"newinstance\",\"ptmxmode=0666\","
                      "\"mode=0620\"%s]},"
        "{\"destination\":\"/dev/shm\",\"type\":\"tmpfs\",\"source\":\"shm\","
         "\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"mode=1777\",\"size=65536k\"]},"
        "{\"destination\":\"/dev/mqueue\",\"type\":\"mqueue\",\"source\":\"mqueue\","
         "\"options\":[\"nosuid\",\"noexec\",\"nodev\"]},"
        "%s,"
        "{\"destination\":\"/sys/fs/cgroup\",\"type\":\"cgroup\",\"source\":\"cgroup\","
         "\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"relatime\",\"ro\"]}"
    "],"
    "\"linux\":{"
        "%s,"
        "\"maskedPaths\":[\"/proc/acpi\",\"/proc/asound\",\"/proc/kcore\",\"/proc/keys\","
            "\"/proc/latency_stats\",\"/proc/timer_list\",\"/proc/timer_stats\","
            "\"/proc/sched_debug\",\"/sys/firmware\",\"/proc/scsi\"],"
        "\"readonlyPaths\":[\"/proc/bus\",\"/proc/fs\",\"/proc/irq\",\"/proc/sys\","
            "\"/proc/sysrq-trigger\"]"
    "}"
    "}";

static const char sys_mount_root[] =
    "{\"destination\":\"/sys\",\"type\":\"sysfs\",\"source\":\"sysfs\","
    "\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"ro\"]}";

/* Without CAP_SYS_ADMIN over the network namespace sysfs cannot be mounted;
 * bind the host's read-only instead. */
static const char sys_mount_rootless[] =
    "{\"destination\":\"/sys\",\"type\":\"none\",\"source\":\"/sys\","
    "\"options\":[\"rbind\",\"nosuid\",\"noexec\",\"nodev\",\"ro\"]}";

static const char linux_root[] =
    "\"resources\":{\"devices\":[{\"allow\":false,\"access\":\"rwm\"}]},"
    "\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\"},{\"type\":\"ipc\"},"
                    "{\"type\":\"uts\"},{\"type\":\"mount\"}]";

static const char linux_rootless_fmt[] =
    "\"uidMappings\":[{\"containerID\":0,\"hostID\":%u,\"size\":1}],"
    "\"gidMappings\":[{\"containerID\":0,\"hostID\":%u,\"size\":1}],"
    "\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"ipc\"},{\"type\":\"uts\"},"
                    "{\"type\":\"mount\"},{\"type\":\"user\"}]";

struct zspec *spec_default(bool rootless, uid_t uid, gid_t gid)
{
    char linux_part[512];
    char *json = NULL;
    struct zerr e;

    if (rootless)
        snprintf(linux_part, sizeof linux_part, linux_rootless_fmt,
                 (unsigned)uid, (unsigned)gid);
    else
        snprintf(linux_part, sizeof linux_part, "%s", linux_root);

    /* The template is a constant of this file. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    int n = asprintf(&json, default_template,
                     rootless ? "" : ",\"gid=5\"",
                     rootless ? sys_mount_rootless : sys_mount_root,
                     linux_part);
#pragma GCC diagnostic pop
    if (n < 0)
        return NULL;
    struct zspec *s = spec_parse(json, (size_t)n, "default config", &e);
    free(json);
    return s;
}
