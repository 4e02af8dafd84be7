/* Shared by handler.c (prepare, open) and serve.c (the monitor's loop). */
#ifndef ZONE_VM_HANDLER_SERVE_INTERNAL_H
#define ZONE_VM_HANDLER_SERVE_INTERNAL_H

#include <signal.h>

#include "vm-sandbox/handler/handler.h"

struct vmm;

struct zvm {
    struct vmm *vm;      /* made at start (zvm_create_vm) */
    int state_fd;        /* O_PATH of the state dir: the monitor's cwd */
    int serial_fd;       /* vm.log with ZONE_VM_DEBUG, else -1 */
    char cmdline[768];
    struct zvm_plan plan;  /* its fds (zvm_prepare's, inherited) are ours */
};

/* At start: the VM itself, with the kernel loaded. Not at create: a guest
 * whose vCPUs and clocks were made seconds before its first instruction
 * hung early in boot far more often under nested emulation, and a created
 * container should not hold its guest memory yet. */
int zvm_create_vm(struct zvm *z, struct zerr *e);

/* The signals the monitor relays to the container process. */
void zvm_relayed_signals(sigset_t *set);

#endif
