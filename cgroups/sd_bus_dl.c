/* Loads the sd-bus functions of libsystemd on first use (see sd_bus_dl.h). */
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>

#include <systemd/sd-bus.h>

#include "cgroups/sd_bus_dl.h"

struct zcg_sd_bus_api zcg_sd_bus;

static const struct {
    const char *name;
    size_t offset;
} symbols[] = {
#define SYM(field, fn) {#fn, offsetof(struct zcg_sd_bus_api, field)}
    SYM(open_system, sd_bus_open_system),
    SYM(match_signal, sd_bus_match_signal),
    SYM(call_method, sd_bus_call_method),
    SYM(call, sd_bus_call),
    SYM(process, sd_bus_process),
    SYM(wait, sd_bus_wait),
    SYM(message_new_method_call, sd_bus_message_new_method_call),
    SYM(message_append, sd_bus_message_append),
    SYM(message_read, sd_bus_message_read),
    SYM(message_open_container, sd_bus_message_open_container),
    SYM(message_close_container, sd_bus_message_close_container),
    SYM(message_unref, sd_bus_message_unref),
    SYM(slot_unref, sd_bus_slot_unref),
    SYM(flush_close_unref, sd_bus_flush_close_unref),
    SYM(error_free, sd_bus_error_free),
    SYM(error_is_set, sd_bus_error_is_set),
    SYM(error_has_name, sd_bus_error_has_name),
#undef SYM
};

int zcg_sd_bus_load(struct zerr *e)
{
    struct zcg_sd_bus_api api;
    void *lib;

    if (zcg_sd_bus.open_system)
        return 0;
    lib = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        return zerr_set(e, ENOENT, "systemd cgroup driver: load libsystemd.so.0: %s",
                        dlerror());
    for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++) {
        void *fn = dlsym(lib, symbols[i].name);
        if (!fn) {
            zerr_set(e, ENOENT, "systemd cgroup driver: libsystemd.so.0 has no %s",
                     symbols[i].name);
            dlclose(lib);
            return -1;
        }
        /* POSIX guarantees that a dlsym result converts to a function pointer. */
        *(void **)((char *)&api + symbols[i].offset) = fn;
    }
    /* The library stays loaded for the life of the process. */
    zcg_sd_bus = api;
    return 0;
}

void zcg_sd_bus_error_free(sd_bus_error *e)
{
    if (zcg_sd_bus.error_free)
        zcg_sd_bus.error_free(e);
}

sd_bus_message *zcg_sd_bus_message_unref(sd_bus_message *m)
{
    return m && zcg_sd_bus.message_unref ? zcg_sd_bus.message_unref(m) : NULL;
}

sd_bus_slot *zcg_sd_bus_slot_unref(sd_bus_slot *slot)
{
    return slot && zcg_sd_bus.slot_unref ? zcg_sd_bus.slot_unref(slot) : NULL;
}

sd_bus *zcg_sd_bus_flush_close_unref(sd_bus *bus)
{
    return bus && zcg_sd_bus.flush_close_unref ? zcg_sd_bus.flush_close_unref(bus) : NULL;
}
