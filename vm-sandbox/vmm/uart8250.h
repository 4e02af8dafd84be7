/* A 16550A UART (the PC's COM port) for the guest's ttyS0: the kernel
 * console and early printk write to it. Output goes to a host fd; input is
 * pushed with vmm_uart_input. */
#ifndef ZONE_VMM_UART8250_H
#define ZONE_VMM_UART8250_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define VMM_UART_COM1_PORT 0x3f8
#define VMM_UART_COM1_IRQ  4

struct vmm;
struct vmm_uart;

/* Adds a UART at port base (8 ports) raising gsi; output to out_fd (-1: drop).
 * *handle (if not NULL) receives the UART for vmm_uart_input; it lives as
 * long as the VM. */
int vmm_uart_add(struct vmm *vm, uint16_t base, unsigned gsi, int out_fd, struct vmm_uart **handle,
                 struct zerr *e);

/* Queues guest input; returns how many bytes fit in the receive FIFO. */
size_t vmm_uart_input(struct vmm_uart *u, const void *buf, size_t len);

/* The register model without a VM, for unit tests: an access at offset
 * (0..7); irq_level tells what the interrupt line would be. */
struct vmm_uart *vmm_uart_new(int out_fd);
void vmm_uart_free(struct vmm_uart *u);
uint8_t vmm_uart_read(struct vmm_uart *u, unsigned offset);
void vmm_uart_write(struct vmm_uart *u, unsigned offset, uint8_t value);
int vmm_uart_irq_level(struct vmm_uart *u);

#endif
