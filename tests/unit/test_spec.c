/* Unit tests for the OCI spec model: core/spec*.c and core/json.c.
 *
 * JSON documents are written with single quotes to stay readable in C;
 * J() turns them into real JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/json.h"
#include "core/spec.h"

/* Refused documents and their exact messages: test_spec_invalid.c. */

static char *J(const char *s)
{
    char *out = strdup(s);
    assert_non_null(out);
    for (char *p = out; *p; p++)
        if (*p == '\'')
            *p = '"';
    return out;
}

static struct zspec *parse_j(const char *single_quoted, struct zerr *e)
{
    char *json = J(single_quoted);
    struct zspec *s = spec_parse(json, strlen(json), "config.json", e);
    free(json);
    return s;
}

/* The exact output of `runc spec` (runc 1.1.5). */
static const char runc_default[] =
    "{\n"
    "\t\"ociVersion\": \"1.0.2-dev\",\n"
    "\t\"process\": {\n"
    "\t\t\"terminal\": true,\n"
    "\t\t\"user\": {\n\t\t\t\"uid\": 0,\n\t\t\t\"gid\": 0\n\t\t},\n"
    "\t\t\"args\": [\n\t\t\t\"sh\"\n\t\t],\n"
    "\t\t\"env\": [\n"
    "\t\t\t\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\",\n"
    "\t\t\t\"TERM=xterm\"\n\t\t],\n"
    "\t\t\"cwd\": \"/\",\n"
    "\t\t\"capabilities\": {\n"
    "\t\t\t\"bounding\": [\n\t\t\t\t\"CAP_AUDIT_WRITE\",\n\t\t\t\t\"CAP_KILL\",\n"
    "\t\t\t\t\"CAP_NET_BIND_SERVICE\"\n\t\t\t],\n"
    "\t\t\t\"effective\": [\n\t\t\t\t\"CAP_AUDIT_WRITE\",\n\t\t\t\t\"CAP_KILL\",\n"
    "\t\t\t\t\"CAP_NET_BIND_SERVICE\"\n\t\t\t],\n"
    "\t\t\t\"permitted\": [\n\t\t\t\t\"CAP_AUDIT_WRITE\",\n\t\t\t\t\"CAP_KILL\",\n"
    "\t\t\t\t\"CAP_NET_BIND_SERVICE\"\n\t\t\t],\n"
    "\t\t\t\"ambient\": [\n\t\t\t\t\"CAP_AUDIT_WRITE\",\n\t\t\t\t\"CAP_KILL\",\n"
    "\t\t\t\t\"CAP_NET_BIND_SERVICE\"\n\t\t\t]\n"
    "\t\t},\n"
    "\t\t\"rlimits\": [\n\t\t\t{\n\t\t\t\t\"type\": \"RLIMIT_NOFILE\",\n"
    "\t\t\t\t\"hard\": 1024,\n\t\t\t\t\"soft\": 1024\n\t\t\t}\n\t\t],\n"
    "\t\t\"noNewPrivileges\": true\n"
    "\t},\n"
    "\t\"root\": {\n\t\t\"path\": \"rootfs\",\n\t\t\"readonly\": true\n\t},\n"
    "\t\"hostname\": \"runc\",\n"
    "\t\"mounts\": [\n"
    "\t\t{\n\t\t\t\"destination\": \"/proc\",\n\t\t\t\"type\": \"proc\",\n"
    "\t\t\t\"source\": \"proc\"\n\t\t},\n"
    "\t\t{\n\t\t\t\"destination\": \"/dev\",\n\t\t\t\"type\": \"tmpfs\",\n"
    "\t\t\t\"source\": \"tmpfs\",\n\t\t\t\"options\": [\n\t\t\t\t\"nosuid\",\n"
    "\t\t\t\t\"strictatime\",\n\t\t\t\t\"mode=755\",\n\t\t\t\t\"size=65536k\"\n"
    "\t\t\t]\n\t\t},\n"
    "\t\t{\n\t\t\t\"destination\": \"/dev/pts\",\n\t\t\t\"type\": \"devpts\",\n"
    "\t\t\t\"source\": \"devpts\",\n\t\t\t\"options\": [\n\t\t\t\t\"nosuid\",\n"
    "\t\t\t\t\"noexec\",\n\t\t\t\t\"newinstance\",\n\t\t\t\t\"ptmxmode=0666\",\n"
    "\t\t\t\t\"mode=0620\",\n\t\t\t\t\"gid=5\"\n\t\t\t]\n\t\t},\n"
    "\t\t{\n\t\t\t\"destination\": \"/dev/shm\",\n\t\t\t\"type\": \"tmpfs\",\n"
    "\t\t\t\"source\": \"shm\",\n\t\t\t\"options\": [\n\t\t\t\t\"nosuid\",\n"
    "\t\t\t\t\"noexec\",\n\t\t\t\t\"nodev\",\n\t\t\t\t\"mode=1777\",\n"
    "\t\t\t\t\"size=65536k\"\n\t\t\t]\n\t\t},\n"
    "\t\t{\n\t\t\t\"destination\": \"/dev/mqueue\",\n\t\t\t\"type\": \"mqueue\",\n"
    "\t\t\t\"source\": \"mqueue\",\n\t\t\t\"options\": [\n\t\t\t\t\"nosuid\",\n"
    "\t\t\t\t\"noexec\",\n\t\t\t\t\"nodev\"\n\t\t\t]\n\t\t},\n"
    "\t\t{\n\t\t\t\"destination\": \"/sys\",\n\t\t\t\"type\": \"sysfs\",\n"
    "\t\t\t\"source\": \"sysfs\",\n\t\t\t\"options\": [\n\t\t\t\t\"nosuid\",\n"
    "\t\t\t\t\"noexec\",\n\t\t\t\t\"nodev\",\n\t\t\t\t\"ro\"\n\t\t\t]\n\t\t},\n"
    "\t\t{\n\t\t\t\"destination\": \"/sys/fs/cgroup\",\n\t\t\t\"type\": \"cgroup\",\n"
    "\t\t\t\"source\": \"cgroup\",\n\t\t\t\"options\": [\n\t\t\t\t\"nosuid\",\n"
    "\t\t\t\t\"noexec\",\n\t\t\t\t\"nodev\",\n\t\t\t\t\"relatime\",\n"
    "\t\t\t\t\"ro\"\n\t\t\t]\n\t\t}\n"
    "\t],\n"
    "\t\"linux\": {\n"
    "\t\t\"resources\": {\n\t\t\t\"devices\": [\n\t\t\t\t{\n"
    "\t\t\t\t\t\"allow\": false,\n\t\t\t\t\t\"access\": \"rwm\"\n"
    "\t\t\t\t}\n\t\t\t]\n\t\t},\n"
    "\t\t\"namespaces\": [\n"
    "\t\t\t{\n\t\t\t\t\"type\": \"pid\"\n\t\t\t},\n"
    "\t\t\t{\n\t\t\t\t\"type\": \"network\"\n\t\t\t},\n"
    "\t\t\t{\n\t\t\t\t\"type\": \"ipc\"\n\t\t\t},\n"
    "\t\t\t{\n\t\t\t\t\"type\": \"uts\"\n\t\t\t},\n"
    "\t\t\t{\n\t\t\t\t\"type\": \"mount\"\n\t\t\t}\n"
    "\t\t],\n"
    "\t\t\"maskedPaths\": [\n"
    "\t\t\t\"/proc/acpi\",\n\t\t\t\"/proc/asound\",\n\t\t\t\"/proc/kcore\",\n"
    "\t\t\t\"/proc/keys\",\n\t\t\t\"/proc/latency_stats\",\n"
    "\t\t\t\"/proc/timer_list\",\n\t\t\t\"/proc/timer_stats\",\n"
    "\t\t\t\"/proc/sched_debug\",\n\t\t\t\"/sys/firmware\",\n"
    "\t\t\t\"/proc/scsi\"\n"
    "\t\t],\n"
    "\t\t\"readonlyPaths\": [\n"
    "\t\t\t\"/proc/bus\",\n\t\t\t\"/proc/fs\",\n\t\t\t\"/proc/irq\",\n"
    "\t\t\t\"/proc/sys\",\n\t\t\t\"/proc/sysrq-trigger\"\n"
    "\t\t]\n"
    "\t}\n"
    "}";

static void assert_strv(char *const *v, size_t n, const char *const *want)
{
    size_t i = 0;
    assert_non_null(v);
    for (; want[i]; i++) {
        assert_true(i < n);
        assert_string_equal(v[i], want[i]);
    }
    assert_int_equal(n, i);
    assert_null(v[n]);   /* NULL-terminated for execve() */
}

static void test_runc_default_fields(void **state)
{
    (void)state;
    struct zerr e = {0};
    struct zspec *s = spec_parse(runc_default, strlen(runc_default),
                                 "config.json", &e);
    assert_non_null(s);
    assert_string_equal(s->oci_version, "1.0.2-dev");

    struct zspec_process *p = s->process;
    assert_non_null(p);
    assert_true(p->terminal);
    assert_false(p->has_console_size);
    assert_int_equal(p->user.uid, 0);
    assert_int_equal(p->user.gid, 0);
    assert_false(p->user.has_umask);
    assert_null(p->user.additional_gids);
    assert_strv(p->args, p->n_args, (const char *[]){ "sh", NULL });
    assert_strv(p->env, p->n_env, (const char *[]){
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "TERM=xterm", NULL });
    assert_string_equal(p->cwd, "/");
    const char *caps[] = { "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE",
                           NULL };
    assert_non_null(p->capabilities);
    assert_strv(p->capabilities->bounding, p->capabilities->n_bounding, caps);
    assert_strv(p->capabilities->effective, p->capabilities->n_effective, caps);
    assert_strv(p->capabilities->permitted, p->capabilities->n_permitted, caps);
    assert_strv(p->capabilities->ambient, p->capabilities->n_ambient, caps);
    assert_null(p->capabilities->inheritable);
    assert_int_equal(p->n_rlimits, 1);
    assert_string_equal(p->rlimits[0].type, "RLIMIT_NOFILE");
    assert_int_equal(p->rlimits[0].resource, RLIMIT_NOFILE);
    assert_int_equal(p->rlimits[0].hard, 1024);
    assert_int_equal(p->rlimits[0].soft, 1024);
    assert_true(p->no_new_privileges);
    assert_false(p->has_oom_score_adj);
    assert_null(p->scheduler);
    assert_null(p->io_priority);
    assert_null(p->exec_cpu_affinity);

    assert_non_null(s->root);
    assert_string_equal(s->root->path, "rootfs");
    assert_true(s->root->readonly);
    assert_string_equal(s->hostname, "runc");
    assert_null(s->domainname);
    assert_null(s->hooks);
    assert_null(s->annotations);

    assert_int_equal(s->n_mounts, 7);
    const char *dests[] = { "/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue",
                            "/sys", "/sys/fs/cgroup" };
    const char *types[] = { "proc", "tmpfs", "devpts", "tmpfs", "mqueue", "sysfs",
                            "cgroup" };
    for (size_t i = 0; i < 7; i++) {
        assert_string_equal(s->mounts[i].destination, dests[i]);
        assert_string_equal(s->mounts[i].type, types[i]);
    }
    assert_null(s->mounts[0].options);
    assert_string_equal(s->mounts[3].source, "shm");
    assert_strv(s->mounts[2].options, s->mounts[2].n_options, (const char *[]){
        "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5",
        NULL });

    struct zspec_linux *l = s->linux_;
    assert_non_null(l);
    assert_non_null(l->resources);
    assert_int_equal(l->resources->n_devices, 1);
    assert_false(l->resources->devices[0].allow);
    assert_null(l->resources->devices[0].type);
    assert_false(l->resources->devices[0].has_major);
    assert_string_equal(l->resources->devices[0].access, "rwm");
    assert_null(l->resources->memory);
    assert_int_equal(l->n_namespaces, 5);
    enum zspec_ns_type ns[] = { ZNS_PID, ZNS_NETWORK, ZNS_IPC, ZNS_UTS, ZNS_MOUNT };
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(l->namespaces[i].type, ns[i]);
        assert_null(l->namespaces[i].path);
    }
    assert_int_equal(l->n_masked_paths, 10);
    assert_string_equal(l->masked_paths[9], "/proc/scsi");
    assert_int_equal(l->n_readonly_paths, 5);
    assert_string_equal(l->readonly_paths[4], "/proc/sysrq-trigger");
    assert_null(l->seccomp);
    assert_null(l->uid_mappings);
    assert_null(l->cgroups_path);

    assert_non_null(spec_namespace(s, ZNS_NETWORK));
    assert_null(spec_namespace(s, ZNS_USER));
    assert_null(spec_namespace(s, ZNS_TIME));
    spec_free(s);
}

/* spec_default() writes what `runc spec` writes, bar ociVersion. */
static void test_default_matches_runc(void **state)
{
    (void)state;
    struct zerr e = {0};
    struct zspec *s = spec_default(false, 0, 0);
    assert_non_null(s);
    assert_string_equal(s->oci_version, ZONE_OCI_VERSION);
    char *out = spec_emit(s, true, &e);
    assert_non_null(out);
    const char *tail = strstr(runc_default, "\t\"process\"");
    assert_non_null(tail);
    char *want = NULL;
    assert_true(asprintf(&want, "{\n\t\"ociVersion\": \"%s\",\n%s",
                         ZONE_OCI_VERSION, tail) > 0);
    /* the one intended difference besides ociVersion: our own hostname */
    char *host = strstr(want, "\"hostname\": \"runc\"");
    assert_non_null(host);
    memcpy(host + strlen("\"hostname\": \""), "zone", 4);
    assert_string_equal(out, want);
    free(want);
    free(out);
    spec_free(s);
}

static void test_default_rootless(void **state)
{
    (void)state;
    struct zspec *s = spec_default(true, 1000, 1001);
    assert_non_null(s);
    struct zspec_linux *l = s->linux_;
    assert_int_equal(l->n_uid_mappings, 1);
    assert_int_equal(l->uid_mappings[0].container_id, 0);
    assert_int_equal(l->uid_mappings[0].host_id, 1000);
    assert_int_equal(l->uid_mappings[0].size, 1);
    assert_int_equal(l->n_gid_mappings, 1);
    assert_int_equal(l->gid_mappings[0].host_id, 1001);
    assert_null(l->resources);
    assert_non_null(spec_namespace(s, ZNS_USER));
    assert_null(spec_namespace(s, ZNS_NETWORK));
    assert_null(spec_namespace(s, ZNS_CGROUP));
    assert_int_equal(l->n_namespaces, 5);
    /* /sys is bound from the host; devpts has no gid=5 */
    assert_string_equal(s->mounts[5].destination, "/sys");
    assert_string_equal(s->mounts[5].type, "none");
    assert_string_equal(s->mounts[5].source, "/sys");
    assert_string_equal(s->mounts[5].options[0], "rbind");
    assert_int_equal(s->mounts[2].n_options, 5);
    assert_strv(s->process->args, s->process->n_args, (const char *[]){ "sh", NULL });
    spec_free(s);
}

/* Every field of runtime-spec 1.2 (Linux) at least once. */
static const char maximal[] =
    "{'ociVersion':'1.2.0',"
    "'process':{'terminal':true,'consoleSize':{'height':25,'width':80},"
      "'user':{'uid':1000,'gid':1001,'umask':18,'additionalGids':[5,4294967295],"
              "'username':'me'},"
      "'args':['/bin/sh','-c','echo \\u00e9'],'commandLine':'sh -c x',"
      "'env':['A=1','B'],'cwd':'/work',"
      "'capabilities':{'bounding':['CAP_KILL'],'effective':[],"
        "'inheritable':['CAP_CHOWN'],'permitted':['CAP_KILL'],'ambient':[]},"
      "'rlimits':[{'type':'RLIMIT_NOFILE','hard':18446744073709551615,'soft':1024},"
                 "{'type':'RLIMIT_RTTIME','hard':5,'soft':5}],"
      "'noNewPrivileges':true,'apparmorProfile':'docker-default',"
      "'oomScoreAdj':-1000,'selinuxLabel':'system_u:system_r:svirt_lxc_net_t:s0',"
      "'scheduler':{'policy':'SCHED_DEADLINE','nice':-20,'priority':0,"
        "'flags':['SCHED_FLAG_RESET_ON_FORK','SCHED_FLAG_UTIL_CLAMP_MAX'],"
        "'runtime':10000000,'deadline':20000000,'period':30000000},"
      "'ioPriority':{'class':'IOPRIO_CLASS_IDLE','priority':7},"
      "'execCPUAffinity':{'initial':'0-3,7','final':'5'}},"
    "'root':{'path':'/var/lib/rootfs'},"
    "'hostname':'h','domainname':'example.org',"
    "'mounts':[{'destination':'/data','type':'bind','source':'/srv/data',"
                "'options':['rbind','ro'],"
                "'uidMappings':[{'containerID':0,'hostID':100000,'size':65536}],"
                "'gidMappings':[{'containerID':0,'hostID':200000,'size':65536}]},"
              "{'destination':'relative/dest'}],"
    "'hooks':{'prestart':[{'path':'/bin/p'}],"
      "'createRuntime':[{'path':'/bin/cr','args':['cr','x'],'env':['K=V'],'timeout':5}],"
      "'createContainer':[{'path':'/bin/cc'}],'startContainer':[{'path':'/bin/sc'}],"
      "'poststart':[{'path':'/bin/ps'}],'poststop':[{'path':'/bin/pst','timeout':2147483647}]},"
    "'annotations':{'org.example.a':'1','b':''},"
    "'linux':{"
      "'uidMappings':[{'containerID':0,'hostID':1000,'size':1}],"
      "'gidMappings':[{'containerID':0,'hostID':1000,'size':1},"
                     "{'containerID':1,'hostID':100000,'size':65536}],"
      "'sysctl':{'net.ipv4.ip_forward':'1','kernel.msgmax':'65536'},"
      "'resources':{"
        "'devices':[{'allow':false,'access':'rwm'},"
                   "{'allow':true,'type':'c','major':1,'minor':-1,'access':'rw'}],"
        "'memory':{'limit':536870912,'reservation':268435456,'swap':-1,"
                  "'kernel':0,'kernelTCP':1,'swappiness':60,'disableOOMKiller':false,"
                  "'useHierarchy':true,'checkBeforeUpdate':true},"
        "'cpu':{'shares':1024,'quota':-1,'burst':1000,'period':100000,"
               "'realtimeRuntime':950000,'realtimePeriod':1000000,'cpus':'0-1',"
               "'mems':'0','idle':1},"
        "'pids':{'limit':-9223372036854775808},"
        "'blockIO':{'weight':10,'leafWeight':1000,"
          "'weightDevice':[{'major':8,'minor':0,'weight':500,'leafWeight':300},"
                          "{'major':8,'minor':16}],"
          "'throttleReadBpsDevice':[{'major':8,'minor':0,'rate':1048576}],"
          "'throttleWriteBpsDevice':[{'major':8,'minor':0,'rate':2}],"
          "'throttleReadIOPSDevice':[{'major':8,'minor':0,'rate':3}],"
          "'throttleWriteIOPSDevice':[{'major':8,'minor':0,'rate':18446744073709551615}]},"
        "'hugepageLimits':[{'pageSize':'2MB','limit':0},{'pageSize':'1GB','limit':1073741824}],"
        "'network':{'classID':1048577,'priorities':[{'name':'eth0','priority':500}]},"
        "'rdma':{'mlx5_1':{'hcaHandles':3,'hcaObjects':10000},'mlx4_0':{}},"
        "'unified':{'io.weight':'default 100','memory.high':'max'}},"
      "'cgroupsPath':'/zone/abc',"
      "'namespaces':[{'type':'pid'},{'type':'network','path':'/var/run/netns/x'},"
        "{'type':'mount'},{'type':'ipc'},{'type':'uts'},{'type':'user'},"
        "{'type':'cgroup'},{'type':'time'}],"
      "'devices':[{'path':'/dev/fuse','type':'c','major':10,'minor':229,"
                  "'fileMode':438,'uid':0,'gid':0},{'path':'/dev/fifo','type':'p'}],"
      "'seccomp':{'defaultAction':'SCMP_ACT_ERRNO','defaultErrnoRet':1,"
        "'architectures':['SCMP_ARCH_X86_64','SCMP_ARCH_X86','SCMP_ARCH_X32'],"
        "'flags':['SECCOMP_FILTER_FLAG_LOG'],"
        "'listenerPath':'/run/seccomp.sock','listenerMetadata':'meta',"
        "'syscalls':[{'names':['read','write'],'action':'SCMP_ACT_ALLOW'},"
          "{'names':['personality'],'action':'SCMP_ACT_ERRNO','errnoRet':38,"
           "'args':[{'index':0,'value':8,'op':'SCMP_CMP_EQ'},"
                   "{'index':5,'value':255,'valueTwo':18446744073709551615,"
                    "'op':'SCMP_CMP_MASKED_EQ'}]}]},"
      "'rootfsPropagation':'rslave',"
      "'maskedPaths':['/proc/kcore'],'readonlyPaths':['/proc/sys'],"
      "'mountLabel':'system_u:object_r:svirt_sandbox_file_t:s0',"
      "'intelRdt':{'closID':'guaranteed','l3CacheSchema':'L3:0=7f',"
                  "'memBwSchema':'MB:0=20','schemata':['L2:0=ff','MB:0=50'],"
                  "'enableCMT':true,'enableMBM':true},"
      "'personality':{'domain':'LINUX32','flags':[]},"
      "'timeOffsets':{'monotonic':{'secs':-86400,'nanosecs':999999999},"
                     "'boottime':{'secs':172800,'nanosecs':0}}}}";

static void check_maximal_fields(const struct zspec *s)
{
    const struct zspec_process *p = s->process;
    assert_true(p->has_console_size);
    assert_int_equal(p->console_height, 25);
    assert_int_equal(p->console_width, 80);
    assert_int_equal(p->user.uid, 1000);
    assert_int_equal(p->user.gid, 1001);
    assert_true(p->user.has_umask);
    assert_int_equal(p->user.umask, 18);
    assert_int_equal(p->user.n_additional_gids, 2);
    assert_int_equal(p->user.additional_gids[1], 4294967295u);
    assert_string_equal(p->user.username, "me");
    assert_string_equal(p->args[2], "echo \xc3\xa9");
    assert_string_equal(p->command_line, "sh -c x");
    assert_string_equal(p->env[1], "B");   /* no '=' is fine, as in runc */
    assert_string_equal(p->cwd, "/work");
    assert_int_equal(p->capabilities->n_effective, 0);
    assert_non_null(p->capabilities->effective);
    assert_string_equal(p->capabilities->inheritable[0], "CAP_CHOWN");
    assert_int_equal(p->rlimits[0].hard, UINT64_MAX);
    assert_int_equal(p->rlimits[1].resource, RLIMIT_RTTIME);
    assert_string_equal(p->apparmor_profile, "docker-default");
    assert_true(p->has_oom_score_adj);
    assert_int_equal(p->oom_score_adj, -1000);
    assert_non_null(p->selinux_label);
    assert_string_equal(p->scheduler->policy, "SCHED_DEADLINE");
    assert_int_equal(p->scheduler->policy_num, 6);
    assert_true(p->scheduler->has_nice);
    assert_int_equal(p->scheduler->nice, -20);
    assert_true(p->scheduler->has_priority);
    assert_int_equal(p->scheduler->flags_mask, 0x41);
    assert_int_equal(p->scheduler->runtime, 10000000);
    assert_int_equal(p->scheduler->deadline, 20000000);
    assert_int_equal(p->scheduler->period, 30000000);
    assert_string_equal(p->io_priority->class, "IOPRIO_CLASS_IDLE");
    assert_int_equal(p->io_priority->class_num, 3);
    assert_int_equal(p->io_priority->priority, 7);
    assert_string_equal(p->exec_cpu_affinity->initial, "0-3,7");
    assert_string_equal(p->exec_cpu_affinity->final, "5");

    assert_false(s->root->readonly);
    assert_string_equal(s->domainname, "example.org");
    assert_int_equal(s->mounts[0].n_uid_mappings, 1);
    assert_int_equal(s->mounts[0].uid_mappings[0].host_id, 100000);
    assert_int_equal(s->mounts[0].gid_mappings[0].host_id, 200000);
    assert_string_equal(s->mounts[1].destination, "relative/dest");
    assert_null(s->mounts[1].type);
    assert_string_equal(s->hooks->create_runtime.hooks[0].args[1], "x");
    assert_true(s->hooks->create_runtime.hooks[0].has_timeout);
    assert_int_equal(s->hooks->create_runtime.hooks[0].timeout, 5);
    assert_string_equal(s->hooks->poststop.hooks[0].path, "/bin/pst");
    assert_int_equal(s->hooks->start_container.n_hooks, 1);
    assert_string_equal(spec_annotation(s, "org.example.a"), "1");
    assert_string_equal(spec_annotation(s, "b"), "");
    assert_null(spec_annotation(s, "c"));

    const struct zspec_linux *l = s->linux_;
    assert_int_equal(l->n_gid_mappings, 2);
    assert_int_equal(l->gid_mappings[1].size, 65536);
    assert_string_equal(l->sysctl[1].key, "kernel.msgmax");
    assert_string_equal(l->sysctl[1].value, "65536");
    const struct zspec_resources *r = l->resources;
    assert_true(r->devices[1].allow);
    assert_int_equal(r->devices[1].minor, -1);
    assert_true(r->memory->has_swap);
    assert_int_equal(r->memory->swap, -1);
    assert_true(r->memory->has_disable_oom_killer);
    assert_false(r->memory->disable_oom_killer);
    assert_true(r->memory->check_before_update);
    assert_int_equal(r->cpu->burst, 1000);
    assert_int_equal(r->cpu->idle, 1);
    assert_string_equal(r->cpu->cpus, "0-1");
    assert_int_equal(r->pids->limit, INT64_MIN);
    assert_int_equal(r->block_io->weight, 10);
    assert_int_equal(r->block_io->leaf_weight, 1000);
    assert_int_equal(r->block_io->weight_device[0].leaf_weight, 300);
    assert_false(r->block_io->weight_device[1].has_weight);
    assert_int_equal(r->block_io->throttle_write_iops[0].rate, UINT64_MAX);
    assert_string_equal(r->hugepage_limits[1].page_size, "1GB");
    assert_int_equal(r->network->class_id, 1048577);
    assert_string_equal(r->network->priorities[0].name, "eth0");
    assert_int_equal(r->n_rdma, 2);
    assert_string_equal(r->rdma[0].device, "mlx5_1");
    assert_int_equal(r->rdma[0].hca_objects, 10000);
    assert_false(r->rdma[1].has_hca_handles);
    assert_string_equal(r->unified[1].key, "memory.high");
    assert_string_equal(l->cgroups_path, "/zone/abc");
    assert_int_equal(l->n_namespaces, 8);
    assert_string_equal(spec_namespace(s, ZNS_NETWORK)->path, "/var/run/netns/x");
    assert_non_null(spec_namespace(s, ZNS_TIME));
    assert_int_equal(l->devices[0].file_mode, 438);
    assert_true(l->devices[0].has_uid);
    assert_false(l->devices[1].has_major);
    assert_string_equal(l->seccomp->default_action, "SCMP_ACT_ERRNO");
    assert_int_equal(l->seccomp->default_errno_ret, 1);
    assert_int_equal(l->seccomp->n_architectures, 3);
    assert_string_equal(l->seccomp->listener_path, "/run/seccomp.sock");
    assert_int_equal(l->seccomp->syscalls[1].errno_ret, 38);
    assert_int_equal(l->seccomp->syscalls[1].args[1].index, 5);
    assert_int_equal(l->seccomp->syscalls[1].args[1].value_two, UINT64_MAX);
    assert_string_equal(l->seccomp->syscalls[1].args[1].op, "SCMP_CMP_MASKED_EQ");
    assert_string_equal(l->rootfs_propagation, "rslave");
    assert_string_equal(l->intel_rdt->schemata, "L2:0=ff\nMB:0=50");
    assert_true(l->intel_rdt->enable_mbm);
    assert_string_equal(l->personality->domain, "LINUX32");
    assert_true(l->time_monotonic.present);
    assert_int_equal(l->time_monotonic.secs, -86400);
    assert_int_equal(l->time_monotonic.nanosecs, 999999999);
    assert_int_equal(l->time_boottime.secs, 172800);
}

static void test_maximal_roundtrip(void **state)
{
    (void)state;
    struct zerr e = {0};
    struct zspec *s = parse_j(maximal, &e);
    if (!s)
        fail_msg("%s", e.msg);
    check_maximal_fields(s);

    for (int pretty = 0; pretty <= 1; pretty++) {
        char *out1 = spec_emit(s, pretty, &e);
        assert_non_null(out1);
        struct zspec *s2 = spec_parse(out1, strlen(out1), "emitted", &e);
        if (!s2)
            fail_msg("%s\n%s", e.msg, out1);
        check_maximal_fields(s2);
        char *out2 = spec_emit(s2, pretty, &e);
        assert_non_null(out2);
        assert_string_equal(out1, out2);
        free(out1);
        free(out2);
        spec_free(s2);
    }
    spec_free(s);
}

/* The default spec round-trips too, and compact output is one line. */
static void test_default_roundtrip_compact(void **state)
{
    (void)state;
    struct zerr e = {0};
    struct zspec *s = spec_parse(runc_default, strlen(runc_default), "c", &e);
    assert_non_null(s);
    char *out = spec_emit(s, false, &e);
    assert_non_null(out);
    assert_null(strchr(out, '\n'));
    assert_non_null(strstr(out, "\"ociVersion\":\"1.0.2-dev\",\"process\":{"));
    struct zspec *s2 = spec_parse(out, strlen(out), "c", &e);
    assert_non_null(s2);
    char *out2 = spec_emit(s2, false, &e);
    assert_string_equal(out, out2);
    free(out);
    free(out2);
    spec_free(s);
    spec_free(s2);
}

static void test_embedded_nul_and_length(void **state)
{
    (void)state;
    struct zerr e = {0};
    /* A NUL byte in the text is not the end of the document. */
    const char text[] = "{\"ociVersion\":\"1.2.0\"}\0garbage";
    assert_null(spec_parse(text, sizeof text - 1, "config.json", &e));
    assert_non_null(strstr(e.msg, "config.json: invalid JSON at line 1"));
    /* len is honoured without a terminating NUL. */
    char buf[22];
    memcpy(buf, "{\"ociVersion\":\"1.2\"}XX", 22);
    struct zspec *s = spec_parse(buf, 20, "config.json", &e);
    assert_non_null(s);
    assert_string_equal(s->oci_version, "1.2");
    spec_free(s);
    /* Invalid UTF-8 is refused. */
    const char bad_utf8[] = "{\"ociVersion\":\"\xff\"}";
    assert_null(spec_parse(bad_utf8, sizeof bad_utf8 - 1, "config.json", &e));
    assert_non_null(strstr(e.msg, "invalid JSON"));
}

static void test_deep_nesting(void **state)
{
    (void)state;
    struct zerr e = {0};
    size_t depth = 100000;
    char *text = malloc(depth * 2 + 64);
    if (!text) {
        fail_msg("out of memory");
        return;
    }
    size_t n = (size_t)sprintf(text, "{\"ociVersion\":\"1\",\"x\":");
    memset(text + n, '[', depth);
    memset(text + n + depth, ']', depth);
    n += depth * 2;
    text[n++] = '}';
    assert_null(spec_parse(text, n, "config.json", &e));
    assert_string_equal(e.msg,
                        "config.json: invalid JSON: nesting deeper than 256 levels");
    free(text);
}

static void test_unknown_fields_ignored(void **state)
{
    (void)state;
    struct zerr e = {0};
    struct zspec *s = parse_j(
        "{'ociVersion':'1.2.0','windows':{'layerFolders':['x']},'vm':{},"
        "'solaris':1,'futureField':[{'a':null}],"
        "'process':{'cwd':'/','future':{'x':1},'user':{'uid':1,'sids':[]}},"
        "'linux':{'netDevices':{'eth0':{'name':'x'}},'memoryPolicy':{},"
                 "'resources':{'memory':{'limit':1,'newKnob':true}},"
                 "'namespaces':[{'type':'uts','extra':1}]}}", &e);
    if (!s)
        fail_msg("%s", e.msg);
    assert_int_equal(s->process->user.uid, 1);
    assert_int_equal(s->linux_->resources->memory->limit, 1);
    assert_int_equal(s->linux_->n_namespaces, 1);
    spec_free(s);
}

/* null means "not set" (Go), a repeated key keeps its last value (Go). */
static void test_null_and_duplicate_keys(void **state)
{
    (void)state;
    struct zerr e = {0};
    struct zspec *s = parse_j(
        "{'ociVersion':'1.0','hostname':'a','hostname':'b','annotations':null,"
        "'process':{'cwd':'/','args':null,'oomScoreAdj':null},"
        "'linux':{'sysctl':{'k':'1','j':'2','k':'3'},'rootfsPropagation':'',"
                 "'resources':{'rdma':{'d':{'hcaHandles':1},'d':{'hcaHandles':2}}}}}",
        &e);
    if (!s)
        fail_msg("%s", e.msg);
    assert_string_equal(s->hostname, "b");
    assert_null(s->annotations);
    assert_null(s->process->args);
    assert_false(s->process->has_oom_score_adj);
    assert_int_equal(s->linux_->n_sysctl, 2);
    assert_string_equal(s->linux_->sysctl[0].key, "j");
    assert_string_equal(s->linux_->sysctl[1].key, "k");
    assert_string_equal(s->linux_->sysctl[1].value, "3");
    assert_null(s->linux_->rootfs_propagation);
    assert_int_equal(s->linux_->resources->n_rdma, 1);
    assert_int_equal(s->linux_->resources->rdma[0].hca_handles, 2);
    spec_free(s);
}

static void test_process_and_resources_alone(void **state)
{
    (void)state;
    struct zerr e = {0};
    char *json = J("{'terminal':false,'args':['ls','-l'],'cwd':'/tmp',"
                   "'env':['X=1'],'user':{'uid':5}}");
    struct zspec_process *p = spec_process_parse(json, strlen(json), "process.json", &e);
    free(json);
    assert_non_null(p);
    assert_string_equal(p->args[1], "-l");
    assert_int_equal(p->user.uid, 5);
    spec_process_free(p);

    json = J("{'args':['ls']}");
    assert_null(spec_process_parse(json, strlen(json), "process.json", &e));
    free(json);
    assert_string_equal(e.msg, "process.json: cwd: missing required field");

    json = J("{'memory':{'limit':1048576,'swap':2097152},'pids':{'limit':10},"
             "'cpu':{'quota':50000,'period':100000}}");
    struct zspec_resources *r = spec_resources_parse(json, strlen(json), "r.json", &e);
    free(json);
    assert_non_null(r);
    assert_int_equal(r->memory->limit, 1048576);
    assert_int_equal(r->pids->limit, 10);
    assert_true(r->pids->has_limit);
    assert_int_equal(r->cpu->quota, 50000);
    assert_false(r->cpu->has_shares);
    spec_resources_free(r);

    json = J("{'pids':{'limit':'max'}}");
    assert_null(spec_resources_parse(json, strlen(json), "r.json", &e));
    free(json);
    assert_string_equal(e.msg, "r.json: pids.limit: expected integer, got string");
}

#define V(body) "{'ociVersion':'1.2.0'," body "}"

static void test_load_file(void **state)
{
    (void)state;
    struct zerr e = {0};
    char path[] = "/tmp/zone-test-spec-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    char *json = J(V("'process':{'cwd':'/','user':{'uid':-5}}"));
    assert_int_equal(write(fd, json, strlen(json)), (ssize_t)strlen(json));
    close(fd);
    free(json);
    assert_null(spec_load(path, &e));
    char want[256];
    snprintf(want, sizeof want,
             "%s: process.user.uid: value -5 out of range 0..4294967295", path);
    assert_string_equal(e.msg, want);

    fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, runc_default, strlen(runc_default)),
                     (ssize_t)strlen(runc_default));
    close(fd);
    struct zspec *s = spec_load(path, &e);
    assert_non_null(s);
    assert_int_equal(s->n_mounts, 7);
    spec_free(s);
    unlink(path);

    assert_null(spec_load("/nonexistent/config.json", &e));
    assert_int_equal(e.code, ENOENT);
    assert_null(spec_load("/tmp", &e));
}

static void test_state_emit(void **state)
{
    (void)state;
    struct zerr e = {0};
    struct zstate_doc st = {
        .oci_version = "1.2.0", .id = "abc", .status = ZSTATUS_RUNNING,
        .pid = 4242, .bundle = "/b",
    };
    char *out = zstate_emit(&st, false, &e);
    assert_non_null(out);
    assert_string_equal(out, "{\"ociVersion\":\"1.2.0\",\"id\":\"abc\","
                             "\"status\":\"running\",\"pid\":4242,\"bundle\":\"/b\"}");
    free(out);

    struct zspec_kv ann[] = { { "k", "v\"q" }, { "x", "" } };
    st.status = ZSTATUS_STOPPED;
    st.pid = 0;
    st.annotations = ann;
    st.n_annotations = 2;
    out = zstate_emit(&st, false, &e);
    assert_non_null(out);
    assert_string_equal(out, "{\"ociVersion\":\"1.2.0\",\"id\":\"abc\","
                             "\"status\":\"stopped\",\"pid\":0,\"bundle\":\"/b\","
                             "\"annotations\":{\"k\":\"v\\\"q\",\"x\":\"\"}}");
    free(out);

    out = zstate_emit(&st, true, &e);
    assert_non_null(out);
    assert_non_null(strstr(out, "\n\t\"status\": \"stopped\",\n"));
    free(out);

    assert_string_equal(zstate_status_name(ZSTATUS_CREATING), "creating");
    assert_string_equal(zstate_status_name(ZSTATUS_CREATED), "created");
    assert_string_equal(zstate_status_name(ZSTATUS_PAUSED), "paused");
    st.status = (enum zstate_status)42;
    assert_null(zstate_emit(&st, false, &e));
}

static void test_emit_refuses_invalid_utf8(void **state)
{
    (void)state;
    struct zerr e = {0};
    struct zspec s = { .oci_version = "1.2.0", .hostname = "\xc3(" };
    assert_null(spec_emit(&s, false, &e));
    assert_string_equal(e.msg, "emit config: a string is not valid UTF-8");
}

static void test_namespace_names_and_flags(void **state)
{
    (void)state;
    const char *names[] = { "pid", "network", "mount", "ipc", "uts", "user",
                            "cgroup", "time" };
    const int flags[] = { CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWIPC,
                          CLONE_NEWUTS, CLONE_NEWUSER, 0x02000000, 0x80 };
    for (int t = 0; t < ZNS__COUNT; t++) {
        assert_string_equal(spec_ns_type_name((enum zspec_ns_type)t), names[t]);
        assert_int_equal(spec_ns_clone_flag((enum zspec_ns_type)t), flags[t]);
    }
    assert_null(spec_ns_type_name(ZNS__COUNT));
    assert_int_equal(spec_ns_clone_flag(ZNS__COUNT), 0);
}

/* Integer edge cases of the JSON layer. */
static void test_json_integers(void **state)
{
    (void)state;
    struct zerr e = {0};
    const char text[] = "[0,-0,9223372036854775807,-9223372036854775808,"
                        "18446744073709551615,1.0,-1]";
    struct zjson_doc *doc = zjson_parse(text, sizeof text - 1, &e);
    assert_non_null(doc);
    const struct zjson *a = zjson_root(doc);
    int64_t i;
    uint64_t u;
    assert_int_equal(a->len, 7);
    assert_int_equal(zjson_uint64(a->u.items[1], &u), 0);
    assert_int_equal(u, 0);
    assert_int_equal(zjson_int64(a->u.items[2], &i), 0);
    assert_int_equal(i, INT64_MAX);
    assert_int_equal(zjson_int64(a->u.items[3], &i), 0);
    assert_int_equal(i, INT64_MIN);
    assert_int_equal(zjson_int64(a->u.items[4], &i), -ERANGE);
    assert_int_equal(zjson_uint64(a->u.items[4], &u), 0);
    assert_int_equal(u, UINT64_MAX);
    assert_int_equal(zjson_int64(a->u.items[5], &i), -EINVAL);
    assert_int_equal(zjson_uint64(a->u.items[6], &u), -ERANGE);
    zjson_doc_free(doc);
}

/* Every `zone create` parses config.json: keep it cheap. The bound is loose
 * because this binary runs under ASan; an -O2 build takes ~10-20 us. */
static void test_parse_speed(void **state)
{
    (void)state;
    struct zerr e = {0};
    struct timespec t0, t1;
    const int rounds = 500;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < rounds; i++) {
        struct zspec *s = spec_parse(runc_default, strlen(runc_default), "c", &e);
        assert_non_null(s);
        spec_free(s);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double us = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 +
                 (double)(t1.tv_nsec - t0.tv_nsec)) / 1e3 / rounds;
    print_message("spec_parse(runc default): %.1f us per parse\n", us);
    assert_true(us < 1000.0);
}

/* Hostile maps with many (and repeated) keys stay fast. */
static void test_large_map_linear(void **state)
{
    (void)state;
    struct zerr e = {0};
    const size_t keys = 50000;
    char *text = malloc(keys * 32 + 64);
    if (!text) {
        fail_msg("out of memory");
        return;
    }
    size_t n = (size_t)sprintf(text, "{\"ociVersion\":\"1\",\"annotations\":{");
    for (size_t i = 0; i < keys; i++)
        n += (size_t)sprintf(text + n, "%s\"k%zu\":\"v\"", i ? "," : "", i % (keys / 2));
    n += (size_t)sprintf(text + n, "}}");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct zspec *s = spec_parse(text, n, "c", &e);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_non_null(s);
    assert_int_equal(s->n_annotations, keys / 2);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
                (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    assert_true(ms < 2000.0);
    spec_free(s);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runc_default_fields),
        cmocka_unit_test(test_default_matches_runc),
        cmocka_unit_test(test_default_rootless),
        cmocka_unit_test(test_maximal_roundtrip),
        cmocka_unit_test(test_default_roundtrip_compact),
        cmocka_unit_test(test_embedded_nul_and_length),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_unknown_fields_ignored),
        cmocka_unit_test(test_null_and_duplicate_keys),
        cmocka_unit_test(test_process_and_resources_alone),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_state_emit),
        cmocka_unit_test(test_emit_refuses_invalid_utf8),
        cmocka_unit_test(test_namespace_names_and_flags),
        cmocka_unit_test(test_json_integers),
        cmocka_unit_test(test_parse_speed),
        cmocka_unit_test(test_large_map_linear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
