/* libFuzzer target for the guest agent's control protocol decoder
 * (vm-sandbox/proto/control.c) and the zone.* kernel command line parser
 * (vm-sandbox/proto/bootargs.c). Besides crashes, sanitizer reports and
 * leaks it aborts when a message that decodes does not encode back to the
 * same bytes: the wire format has exactly one encoding per message, so a
 * difference means the decoder accepted something it should not have.
 * Not part of the default build. Build and run (from the top of the tree):
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -D_GNU_SOURCE \
 *       tests/fuzz/fuzz_control.c vm-sandbox/proto/control.c \
 *       vm-sandbox/proto/bootargs.c core/error.c -o build/fuzz_control
 *   mkdir -p build/fuzz-control-corpus && build/fuzz_control build/fuzz-control-corpus
 *
 * The first byte picks the parser (even: a control message, odd: a
 * command line); an empty corpus finds the message layout on its own
 * within a minute, seeding it with encoded messages is faster. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vm-sandbox/proto/bootargs.h"
#include "vm-sandbox/proto/control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct zerr e;
    if (size == 0)
        return 0;
    if (data[0] & 1) {
        struct boot_args a, b;
        char *line = malloc(size), out[4096];
        memcpy(line, data + 1, size - 1);
        line[size - 1] = '\0';
        if (bootargs_parse(line, &a, &e) == 0 && bootargs_format(&a, out, sizeof out, &e) == 0) {
            /* what we write, we read back the same */
            if (bootargs_parse(out, &b, &e) != 0 || memcmp(&a, &b, sizeof a) != 0)
                abort();
        }
        free(line);
        return 0;
    }
    {
        struct ctl_header h;
        struct ctl_msg m;
        uint8_t *enc;
        size_t len;
        data++, size--;
        ctl_decode_header(data, size, &h, &e);
        if (ctl_decode(data, size, &m, &e) != 0)
            return 0;
        if (ctl_encode(&m, &enc, &len, &e) != 0 || len != size || memcmp(enc, data, size) != 0)
            abort();
        free(enc);
        ctl_msg_free(&m);
    }
    return 0;
}
