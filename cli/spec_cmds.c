/* spec, features */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

#include "cgroups/cgroups.h"
#include "cli/cli.h"
#include "core/spec.h"
#include "namespaces/namespaces.h"

static int cmd_spec(struct zcli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"bundle", required_argument, NULL, 'b'}, {"rootless", no_argument, NULL, 'r'}, {0}};
    const char *bundle = ".";
    bool rootless = false;
    char path[4096];
    struct zerr e = {0};
    struct zspec *s;
    char *json;
    int c, fd;

    while ((c = getopt_long(argc, argv, "+b:", opts, NULL)) != -1) {
        if (c == 'b')
            bundle = optarg;
        else if (c == 'r')
            rootless = true;
        else
            return zcli_usage_error(&zcmd_spec, "unknown option %s", argv[optind - 1]);
    }
    if (zcli_expect_args(&zcmd_spec, argc, optind, 0, 0))
        return 1;
    snprintf(path, sizeof path, "%s/config.json", bundle);
    s = spec_default(rootless, geteuid(), getegid());
    if (!s) {
        zerr_set(&e, ENOMEM, "build default spec");
        return zcli_fail(cli, NULL, &e);
    }
    /* the user's subordinate ids too, where newuidmap/newgidmap can map them */
    if (rootless && s->linux_) {
        struct zspec_linux *lx = s->linux_;
        struct zspec_idmap *uids, *gids;
        size_t n_uids, n_gids;
        if (zns_rootless_mappings(geteuid(), getegid(), &uids, &n_uids, &gids, &n_gids,
                                  &e) < 0) {
            spec_free(s);
            return zcli_fail(cli, "spec --rootless", &e);
        }
        free(lx->uid_mappings);
        free(lx->gid_mappings);
        lx->uid_mappings = uids;
        lx->n_uid_mappings = n_uids;
        lx->gid_mappings = gids;
        lx->n_gid_mappings = n_gids;
    }
    json = spec_emit(s, true, &e);
    spec_free(s);
    if (!json)
        return zcli_fail(cli, NULL, &e);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) {
        free(json);
        if (errno == EEXIST) {
            zerr_set(&e, EEXIST, "File %s exists. Remove it first", path);
            return zcli_fail(cli, NULL, &e);
        }
        zerr_sys(&e, "open %s", path);
        return zcli_fail(cli, NULL, &e);
    }
    if (write(fd, json, strlen(json)) < 0 || write(fd, "\n", 1) < 0) {
        zerr_sys(&e, "write %s", path);
        close(fd);
        free(json);
        return zcli_fail(cli, NULL, &e);
    }
    close(fd);
    free(json);
    return 0;
}

#define GEN_STR(g, s) yajl_gen_string(g, (const unsigned char *)(s), strlen(s))

static void gen_strs(yajl_gen g, const char *key, const char *const *v)
{
    GEN_STR(g, key);
    yajl_gen_array_open(g);
    for (; *v; v++)
        GEN_STR(g, *v);
    yajl_gen_array_close(g);
}

static void gen_bool(yajl_gen g, const char *key, bool v)
{
    GEN_STR(g, key);
    yajl_gen_bool(g, v);
}

static bool file_says(const char *path, char c)
{
    char buf[4] = {0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, 1);
    close(fd);
    return n == 1 && buf[0] == c;
}

static int cmd_features(struct zcli *cli, int argc, char **argv)
{
    static const char *const hooks[] = {"prestart", "createRuntime", "createContainer",
                                        "startContainer", "poststart", "poststop", NULL};
    static const char *const mount_options[] = {
        "acl", "async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec",
        "idmap", "iversion", "lazytime", "loud", "mand", "noacl", "noatime", "nodev",
        "nodiratime", "noexec", "noiversion", "nolazytime", "nomand", "norelatime",
        "nostrictatime", "nosuid", "nosymfollow", "private", "ratime", "rbind", "rdev",
        "rdiratime", "relatime", "remount", "rexec", "ridmap", "rnoatime", "rnodev",
        "rnodiratime", "rnoexec", "rnorelatime", "rnostrictatime", "rnosuid", "rnosymfollow",
        "ro", "rprivate", "rrelatime", "rro", "rrw", "rshared", "rslave", "rstrictatime",
        "rsuid", "rsymfollow", "runbindable", "rw", "shared", "silent", "slave",
        "strictatime", "suid", "symfollow", "sync", "tmpcopyup", "unbindable", NULL};
    static const char *const namespaces[] = {"cgroup", "ipc", "mount", "network", "pid",
                                             "time", "user", "uts", NULL};
    static const char *const actions[] = {
        "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
        "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE",
        "SCMP_ACT_TRAP", NULL};
    static const char *const operators[] = {"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
                                            "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ",
                                            "SCMP_CMP_NE", NULL};
    static const char *const archs[] = {
        "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64",
        "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32",
        "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_RISCV64",
        "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_X32", "SCMP_ARCH_X86",
        "SCMP_ARCH_X86_64", NULL};
    static const char *const flags[] = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                                        "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                                        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", NULL};
    static const char *const supported_flags[] = {"SECCOMP_FILTER_FLAG_TSYNC",
                                                  "SECCOMP_FILTER_FLAG_LOG",
                                                  "SECCOMP_FILTER_FLAG_SPEC_ALLOW", NULL};
    const struct scmp_version *sv = seccomp_version();
    char version[64];
    const unsigned char *buf;
    size_t len;
    yajl_gen g;
    enum zcg_mode mode;

    (void)cli;
    if (zcli_expect_args(&zcmd_features, argc, 1, 0, 0))
        return 1;
    g = yajl_gen_alloc(NULL);
    yajl_gen_config(g, yajl_gen_beautify, 1);
    yajl_gen_config(g, yajl_gen_indent_string, "    ");
    yajl_gen_map_open(g);
    GEN_STR(g, "ociVersionMin");
    GEN_STR(g, "1.0.0");
    GEN_STR(g, "ociVersionMax");
    GEN_STR(g, ZONE_OCI_VERSION);
    gen_strs(g, "hooks", hooks);
    gen_strs(g, "mountOptions", mount_options);

    GEN_STR(g, "linux");
    yajl_gen_map_open(g);
    gen_strs(g, "namespaces", namespaces);
    GEN_STR(g, "capabilities");
    yajl_gen_array_open(g);
    for (int cap = 0; cap <= CAP_LAST_CAP; cap++) {
        char *name = cap_to_name((cap_value_t)cap), up[64];
        size_t i;
        if (!name)
            continue;
        for (i = 0; name[i] && i < sizeof up - 1; i++)
            up[i] = (char)toupper((unsigned char)name[i]);
        up[i] = '\0';
        cap_free(name);
        GEN_STR(g, up);
    }
    yajl_gen_array_close(g);

    mode = zcg_host_mode();
    GEN_STR(g, "cgroup");
    yajl_gen_map_open(g);
    gen_bool(g, "v1", mode != ZCG_V2);
    gen_bool(g, "v2", mode != ZCG_V1);
    gen_bool(g, "systemd", access("/run/systemd/system", F_OK) == 0);
    gen_bool(g, "systemdUser", false);
    yajl_gen_map_close(g);

    GEN_STR(g, "seccomp");
    yajl_gen_map_open(g);
    gen_bool(g, "enabled", true);
    gen_strs(g, "actions", actions);
    gen_strs(g, "operators", operators);
    gen_strs(g, "archs", archs);
    gen_strs(g, "knownFlags", flags);
    gen_strs(g, "supportedFlags", supported_flags);
    yajl_gen_map_close(g);

    GEN_STR(g, "apparmor");
    yajl_gen_map_open(g);
    gen_bool(g, "enabled", file_says("/sys/module/apparmor/parameters/enabled", 'Y'));
    yajl_gen_map_close(g);
    GEN_STR(g, "selinux");
    yajl_gen_map_open(g);
    gen_bool(g, "enabled", access("/sys/fs/selinux/enforce", F_OK) == 0);
    yajl_gen_map_close(g);
    GEN_STR(g, "intelRdt");
    yajl_gen_map_open(g);
    gen_bool(g, "enabled", false);
    yajl_gen_map_close(g);
    GEN_STR(g, "mountExtensions");
    yajl_gen_map_open(g);
    GEN_STR(g, "idmap");
    yajl_gen_map_open(g);
    gen_bool(g, "enabled", true);
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
    yajl_gen_map_close(g); /* linux */

    GEN_STR(g, "annotations");
    yajl_gen_map_open(g);
    snprintf(version, sizeof version, "%u.%u.%u", sv->major, sv->minor, sv->micro);
    GEN_STR(g, "io.github.seccomp.libseccomp.version");
    GEN_STR(g, version);
    GEN_STR(g, "org.opencontainers.runc.checkpoint.enabled");
    GEN_STR(g, "false");
    GEN_STR(g, "org.opencontainers.runc.version");
    GEN_STR(g, ZONE_VERSION);
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
    yajl_gen_get_buf(g, &buf, &len);
    fwrite(buf, 1, len, stdout);
    fputc('\n', stdout);
    yajl_gen_free(g);
    return 0;
}

const struct zcommand zcmd_spec = {
    "spec", "create a new specification file (config.json)", "[command options]",
    "   --bundle DIR, -b DIR   where to write config.json (default: current directory)\n"
    "   --rootless             a spec for running without root (user namespace; the\n"
    "                          user's /etc/subuid and /etc/subgid ranges are mapped\n"
    "                          when newuidmap/newgidmap are installed)\n",
    cmd_spec};
const struct zcommand zcmd_features = {
    "features", "show the enabled features (runtime-spec features.md JSON)", "", "", cmd_features};
