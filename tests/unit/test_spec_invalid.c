/* Unit tests: every refused config.json names the JSON path and the problem,
 * exactly. Documents use single quotes; J() makes them JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/spec.h"

static char *J(const char *s)
{
    char *out = strdup(s);
    assert_non_null(out);
    for (char *p = out; *p; p++)
        if (*p == '\'')
            *p = '"';
    return out;
}

struct bad_case {
    const char *json;   /* single-quoted; V() adds ociVersion */
    const char *msg;    /* the exact message */
};

#define V(body) "{'ociVersion':'1.2.0'," body "}"
#define P(body) V("'process':{'cwd':'/'," body "}")
#define L(body) V("'linux':{" body "}")
#define R(body) L("'resources':{" body "}")

static const struct bad_case bad_cases[] = {
    /* malformed JSON */
    { "", "config.json: invalid JSON: empty document" },
    { "{'ociVersion':'1.2.0'} x",
      "config.json: invalid JSON at line 1, column 24: trailing garbage" },
    { "{'ociVersion':'1.2.0',\n 'hostname': }",
      "config.json: invalid JSON at line 2, column 14: unallowed token at this "
      "point in JSON text" },
    { "{'ociVersion':'1.2.0'",
      "config.json: invalid JSON at end of input: premature EOF" },
    { "{'ociVersion':'1.2.0', /* c */ 'x':1}",
      "config.json: invalid JSON at line 1, column 24: probable comment found in "
      "input text, comments are not enabled." },
    { "[]", "config.json: expected object, got array" },
    /* missing required */
    { "{}", "config.json: ociVersion: missing required field" },
    { "{'hostname':'x'}", "config.json: ociVersion: missing required field" },
    { "{'ociVersion':null}", "config.json: ociVersion: missing required field" },
    { V("'root':{'readonly':true}"), "config.json: root.path: missing required field" },
    { V("'root':{'path':''}"), "config.json: root.path: must not be empty" },
    { V("'process':{'args':['sh']}"), "config.json: process.cwd: missing required field" },
    { V("'mounts':[{'destination':'/a'},{'type':'tmpfs'}]"),
      "config.json: mounts[1].destination: missing required field" },
    { V("'hooks':{'poststop':[{'args':[]}]}"),
      "config.json: hooks.poststop[0].path: missing required field" },
    { L("'namespaces':[{'path':'/proc/1/ns/net'}]"),
      "config.json: linux.namespaces[0].type: missing required field" },
    { L("'devices':[{'path':'/dev/x','type':'c','major':1}]"),
      "config.json: linux.devices[0].minor: missing required field" },
    { L("'devices':[{'type':'c','major':1,'minor':2}]"),
      "config.json: linux.devices[0].path: missing required field" },
    { L("'seccomp':{'syscalls':[]}"),
      "config.json: linux.seccomp.defaultAction: missing required field" },
    { L("'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read']}]}"),
      "config.json: linux.seccomp.syscalls[0].action: missing required field" },
    { L("'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':[],"
        "'action':'SCMP_ACT_LOG'}]}"),
      "config.json: linux.seccomp.syscalls[0].names: must not be empty" },
    { L("'uidMappings':[{'containerID':0,'size':1}]"),
      "config.json: linux.uidMappings[0].hostID: missing required field" },
    { V("'mounts':[{'destination':'/m','gidMappings':[{'hostID':0,'size':1}]}]"),
      "config.json: mounts[0].gidMappings[0].containerID: missing required field" },
    { P("'rlimits':[{'type':'RLIMIT_CORE','hard':1}]"),
      "config.json: process.rlimits[0].soft: missing required field" },
    /* wrong types */
    { "{'ociVersion':1}", "config.json: ociVersion: expected string, got integer 1" },
    { R("'memory':{'limit':'1G'}"),
      "config.json: linux.resources.memory.limit: expected integer, got string" },
    { R("'memory':{'limit':1.5}"),
      "config.json: linux.resources.memory.limit: expected integer, got number 1.5" },
    { R("'cpu':{'shares':1e3}"),
      "config.json: linux.resources.cpu.shares: expected integer, got number 1e3" },
    { P("'terminal':'yes'"), "config.json: process.terminal: expected boolean, got string" },
    { P("'args':'sh'"), "config.json: process.args: expected array, got string" },
    { P("'env':['A=1',2]"), "config.json: process.env[1]: expected string, got integer 2" },
    { V("'annotations':{'a':'x','b':true}"),
      "config.json: annotations[\"b\"]: expected string, got boolean" },
    { V("'linux':[]"), "config.json: linux: expected object, got array" },
    { P("'args':['a\\u0000b']"),
      "config.json: process.args[0]: string contains a NUL character" },
    /* out of range */
    { P("'user':{'uid':4294967296}"),
      "config.json: process.user.uid: value 4294967296 out of range 0..4294967295" },
    { P("'user':{'gid':-1}"),
      "config.json: process.user.gid: value -1 out of range 0..4294967295" },
    { P("'user':{'additionalGids':[1,99999999999]}"),
      "config.json: process.user.additionalGids[1]: value 99999999999 out of range "
      "0..4294967295" },
    { P("'oomScoreAdj':1001"),
      "config.json: process.oomScoreAdj: value 1001 out of range -1000..1000" },
    { P("'ioPriority':{'class':'IOPRIO_CLASS_BE','priority':8}"),
      "config.json: process.ioPriority.priority: value 8 out of range 0..7" },
    { L("'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['x'],"
        "'action':'SCMP_ACT_LOG','args':[{'index':6,'value':0,'op':'SCMP_CMP_EQ'}]}]}"),
      "config.json: linux.seccomp.syscalls[0].args[0].index: value 6 out of range 0..5" },
    { R("'blockIO':{'weight':5}"),
      "config.json: linux.resources.blockIO.weight: value 5 out of range 10..1000" },
    { R("'blockIO':{'weightDevice':[{'major':8,'minor':0,'leafWeight':1001}]}"),
      "config.json: linux.resources.blockIO.weightDevice[0].leafWeight: value 1001 "
      "out of range 10..1000" },
    { R("'memory':{'limit':9223372036854775808}"),
      "config.json: linux.resources.memory.limit: value 9223372036854775808 out of "
      "range -9223372036854775808..9223372036854775807" },
    { R("'cpu':{'period':18446744073709551616}"),
      "config.json: linux.resources.cpu.period: value 18446744073709551616 out of "
      "range 0..18446744073709551615" },
    { V("'hooks':{'prestart':[{'path':'/x','timeout':0}]}"),
      "config.json: hooks.prestart[0].timeout: value 0 out of range 1..2147483647" },
    { L("'timeOffsets':{'boottime':{'secs':1,'nanosecs':1000000000}}"),
      "config.json: linux.timeOffsets.boottime.nanosecs: value 1000000000 out of "
      "range 0..999999999" },
    { P("'rlimits':[{'type':'RLIMIT_CORE','hard':1,'soft':2}]"),
      "config.json: process.rlimits[0].soft: soft limit 2 exceeds hard limit 1" },
    /* unknown enumerations */
    { L("'namespaces':[{'type':'pid'},{'type':'ipc'},{'type':'foo'}]"),
      "config.json: linux.namespaces[2].type: unknown namespace type \"foo\"" },
    { L("'namespaces':[{'type':'pid'},{'type':'pid'}]"),
      "config.json: linux.namespaces[1].type: duplicate namespace type \"pid\"" },
    { P("'rlimits':[{'type':'RLIMIT_FOO','hard':1,'soft':1}]"),
      "config.json: process.rlimits[0].type: unknown rlimit type \"RLIMIT_FOO\"" },
    { P("'scheduler':{'policy':'SCHED_FAST'}"),
      "config.json: process.scheduler.policy: unknown scheduler policy \"SCHED_FAST\"" },
    { P("'scheduler':{'policy':'SCHED_OTHER','flags':['SCHED_FLAG_RECLAIM','X']}"),
      "config.json: process.scheduler.flags[1]: unknown scheduler flag \"X\"" },
    { P("'scheduler':{'policy':'SCHED_FIFO','priority':1,'period':5}"),
      "config.json: process.scheduler.period: only valid with policy SCHED_DEADLINE" },
    { P("'scheduler':{'policy':'SCHED_OTHER','nice':20}"),
      "config.json: process.scheduler.nice: value 20 out of range -20..19" },
    { P("'scheduler':{'nice':1}"),
      "config.json: process.scheduler.policy: missing required field" },
    { P("'ioPriority':{'class':'IOPRIO_CLASS_NONE'}"),
      "config.json: process.ioPriority.class: unknown I/O priority class "
      "\"IOPRIO_CLASS_NONE\"" },
    { L("'rootfsPropagation':'recursive'"),
      "config.json: linux.rootfsPropagation: unknown propagation \"recursive\"" },
    { L("'devices':[{'path':'/dev/x','type':'x'}]"),
      "config.json: linux.devices[0].type: unknown device type \"x\"" },
    { L("'personality':{'domain':'LINUX64'}"),
      "config.json: linux.personality.domain: unknown personality domain \"LINUX64\"" },
    { L("'seccomp':{'defaultAction':'SCMP_ACT_FOO'}"),
      "config.json: linux.seccomp.defaultAction: unknown seccomp action "
      "\"SCMP_ACT_FOO\"" },
    { L("'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['x'],"
        "'action':'SCMP_ACT_LOG','args':[{'index':0,'value':0,'op':'SCMP_CMP_XX'}]}]}"),
      "config.json: linux.seccomp.syscalls[0].args[0].op: unknown seccomp operator "
      "\"SCMP_CMP_XX\"" },
    { L("'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','flags':['SECCOMP_FILTER_FLAG_X']}"),
      "config.json: linux.seccomp.flags[0]: unknown seccomp flag "
      "\"SECCOMP_FILTER_FLAG_X\"" },
    { L("'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','architectures':['SCMP_ARCH_Z80']}"),
      "config.json: linux.seccomp.architectures[0]: unknown seccomp architecture "
      "\"SCMP_ARCH_Z80\"" },
    { R("'devices':[{'allow':true,'type':'x'}]"),
      "config.json: linux.resources.devices[0].type: unknown device cgroup type \"x\"" },
    { R("'devices':[{'allow':true,'access':'rwx'}]"),
      "config.json: linux.resources.devices[0].access: invalid access \"rwx\" "
      "(expected letters of \"rwm\")" },
    { R("'devices':[{'access':'r'}]"),
      "config.json: linux.resources.devices[0].allow: missing required field" },
    { R("'hugepageLimits':[{'pageSize':'2mb','limit':1}]"),
      "config.json: linux.resources.hugepageLimits[0].pageSize: invalid page size "
      "\"2mb\" (expected e.g. \"2MB\")" },
    { L("'timeOffsets':{'realtime':{'secs':1}}"),
      "config.json: linux.timeOffsets.realtime: unknown clock (expected monotonic or "
      "boottime)" },
    { P("'execCPUAffinity':{'initial':'3-1'}"),
      "config.json: process.execCPUAffinity.initial: invalid CPU list \"3-1\"" },
    /* relative paths where absolute ones are required */
    { V("'process':{'cwd':'work'}"),
      "config.json: process.cwd: \"work\" is not an absolute path" },
    { V("'hooks':{'prestart':[{'path':'hook.sh'}]}"),
      "config.json: hooks.prestart[0].path: \"hook.sh\" is not an absolute path" },
    { L("'devices':[{'path':'dev/x','type':'p'}]"),
      "config.json: linux.devices[0].path: \"dev/x\" is not an absolute path" },
    { L("'namespaces':[{'type':'network','path':'netns'}]"),
      "config.json: linux.namespaces[0].path: \"netns\" is not an absolute path" },
    { L("'intelRdt':{'schemata':['L3:0=f\\nMB:0=1']}"),
      "config.json: linux.intelRdt.schemata[0]: line contains a newline" },
};

static void test_invalid_documents(void **state)
{
    (void)state;
    assert_true(ZARRAY_SIZE(bad_cases) >= 25);
    for (size_t i = 0; i < ZARRAY_SIZE(bad_cases); i++) {
        struct zerr e = {0};
        char *json = J(bad_cases[i].json);
        struct zspec *s = spec_parse(json, strlen(json), "config.json", &e);
        free(json);
        if (s) {
            spec_free(s);
            fail_msg("case %zu accepted: %s", i, bad_cases[i].json);
        }
        if (strcmp(e.msg, bad_cases[i].msg) != 0)
            fail_msg("case %zu:\n got: %s\nwant: %s", i, e.msg, bad_cases[i].msg);
        assert_int_equal(e.code, EINVAL);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_invalid_documents),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
