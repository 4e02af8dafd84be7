/* sd-bus through dlopen: only the systemd cgroup driver talks to D-Bus, so
 * libsystemd (and the libgcrypt, liblzma, libzstd and liblz4 it pulls in) is
 * loaded when that driver runs, not by every zone command (see
 * docs/performance.md). Include after <systemd/sd-bus.h>; the macros below
 * send the sd_bus_* calls of cgroups/systemd.c through the loaded table. */
#ifndef ZONE_CGROUPS_SD_BUS_DL_H
#define ZONE_CGROUPS_SD_BUS_DL_H

#include <systemd/sd-bus.h>

#include "core/error.h"

struct zcg_sd_bus_api {
    int (*open_system)(sd_bus **bus);
    int (*match_signal)(sd_bus *bus, sd_bus_slot **slot, const char *sender,
                        const char *path, const char *interface,
                        const char *member, sd_bus_message_handler_t callback,
                        void *userdata);
    int (*call_method)(sd_bus *bus, const char *destination, const char *path,
                       const char *interface, const char *member,
                       sd_bus_error *ret_error, sd_bus_message **reply,
                       const char *types, ...);
    int (*call)(sd_bus *bus, sd_bus_message *m, uint64_t usec,
                sd_bus_error *ret_error, sd_bus_message **reply);
    int (*process)(sd_bus *bus, sd_bus_message **r);
    int (*wait)(sd_bus *bus, uint64_t timeout_usec);
    int (*message_new_method_call)(sd_bus *bus, sd_bus_message **m,
                                   const char *destination, const char *path,
                                   const char *interface, const char *member);
    int (*message_append)(sd_bus_message *m, const char *types, ...);
    int (*message_read)(sd_bus_message *m, const char *types, ...);
    int (*message_open_container)(sd_bus_message *m, char type,
                                  const char *contents);
    int (*message_close_container)(sd_bus_message *m);
    sd_bus_message *(*message_unref)(sd_bus_message *m);
    sd_bus_slot *(*slot_unref)(sd_bus_slot *slot);
    sd_bus *(*flush_close_unref)(sd_bus *bus);
    void (*error_free)(sd_bus_error *e);
    int (*error_is_set)(const sd_bus_error *e);
    int (*error_has_name)(const sd_bus_error *e, const char *name);
};

/* Filled by zcg_sd_bus_load; all NULL until then. */
extern struct zcg_sd_bus_api zcg_sd_bus;

/* Loads libsystemd.so.0 once per process; 0 or -1 naming the library or
 * the missing symbol. */
int zcg_sd_bus_load(struct zerr *e);

/* Releases that callers run on every exit path, also when loading failed:
 * the objects are NULL then, and so is the table. */
void zcg_sd_bus_error_free(sd_bus_error *e);
sd_bus_message *zcg_sd_bus_message_unref(sd_bus_message *m);
sd_bus_slot *zcg_sd_bus_slot_unref(sd_bus_slot *slot);
sd_bus *zcg_sd_bus_flush_close_unref(sd_bus *bus);

#define sd_bus_open_system (zcg_sd_bus.open_system)
#define sd_bus_match_signal (zcg_sd_bus.match_signal)
#define sd_bus_call_method (zcg_sd_bus.call_method)
#define sd_bus_call (zcg_sd_bus.call)
#define sd_bus_process (zcg_sd_bus.process)
#define sd_bus_wait (zcg_sd_bus.wait)
#define sd_bus_message_new_method_call (zcg_sd_bus.message_new_method_call)
#define sd_bus_message_append (zcg_sd_bus.message_append)
#define sd_bus_message_read (zcg_sd_bus.message_read)
#define sd_bus_message_open_container (zcg_sd_bus.message_open_container)
#define sd_bus_message_close_container (zcg_sd_bus.message_close_container)
#define sd_bus_error_is_set (zcg_sd_bus.error_is_set)
#define sd_bus_error_has_name (zcg_sd_bus.error_has_name)
#define sd_bus_message_unref zcg_sd_bus_message_unref
#define sd_bus_slot_unref zcg_sd_bus_slot_unref
#define sd_bus_flush_close_unref zcg_sd_bus_flush_close_unref
#define sd_bus_error_free zcg_sd_bus_error_free

#endif
