/* The rule groups of the default seccomp profile (engine/seccomp_profile.c
 * turns them into a struct zspec_seccomp). Internal to engine/. */
#ifndef ZONE_ENGINE_SECCOMP_PROFILE_DATA_H
#define ZONE_ENGINE_SECCOMP_PROFILE_DATA_H

#include <stddef.h>
#include <stdint.h>

/* Architectures a group is limited to (bit set; 0 = every architecture). */
enum {
    ZSC_ARCH_X86_64 = 1u << 0, ZSC_ARCH_X86 = 1u << 1, ZSC_ARCH_X32 = 1u << 2,
    ZSC_ARCH_AARCH64 = 1u << 3, ZSC_ARCH_ARM = 1u << 4, ZSC_ARCH_S390X = 1u << 5,
    ZSC_ARCH_S390 = 1u << 6, ZSC_ARCH_PPC64LE = 1u << 7,
};

enum zsc_when { ZSC_ALWAYS, ZSC_WITH_CAP, ZSC_WITHOUT_CAP };

struct zsc_arg {
    uint32_t index;
    uint64_t value;
    const char *op;          /* SCMP_CMP_* */
};

struct zsc_group {
    const char *const *names;   /* NULL-terminated */
    const char *action;         /* SCMP_ACT_ALLOW or SCMP_ACT_ERRNO */
    int errno_ret;              /* for SCMP_ACT_ERRNO; -1 = none */
    enum zsc_when when;
    const char *cap;            /* for ZSC_WITH_CAP / ZSC_WITHOUT_CAP */
    unsigned arches;            /* ZSC_ARCH_* of the host it applies on; 0 = all */
    struct zsc_arg args[2];
    size_t n_args;
};

/* In the order the rules are added (the order of containers-common's
 * seccomp.json, so the compiled filter is the same). */
extern const struct zsc_group zsc_groups[];
extern const size_t zsc_n_groups;

#endif
