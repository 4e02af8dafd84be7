/* Download progress. On a terminal every item has one bar line, redrawn in
 * place with ANSI cursor movement (at most ten times a second); elsewhere
 * (logs, CI) one line per finished item, so output stays readable. This is
 * output the library produces on a stream the CLI hands it, as curl's own
 * progress meter does. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "images/registry.h"

struct item {
    char label[64];
    uint64_t total, done;
    bool shown, finished;
    char status[64];
};

struct zprogress {
    FILE *out;
    bool tty;
    size_t n;
    struct item *items;
    size_t lines;             /* bar lines on screen below the cursor's row */
    struct timespec last;
};

struct zprogress *zprogress_new(FILE *out, bool quiet, size_t n)
{
    if (!out || quiet)
        return NULL;
    struct zprogress *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->items = calloc(n ? n : 1, sizeof *p->items);
    if (!p->items) {
        free(p);
        return NULL;
    }
    p->out = out;
    p->n = n;
    p->tty = isatty(fileno(out)) && getenv("TERM") && strcmp(getenv("TERM"), "dumb");
    return p;
}

void zprogress_free(struct zprogress *p)
{
    if (!p)
        return;
    fflush(p->out);
    free(p->items);
    free(p);
}

void zprogress_human(uint64_t bytes, char *buf, size_t n)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)bytes;
    size_t u = 0;
    while (v >= 1024 && u + 1 < sizeof units / sizeof units[0]) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, n, "%llu B", (unsigned long long)bytes);
    else
        snprintf(buf, n, "%.1f %s", v, units[u]);
}

static void draw_item(struct zprogress *p, const struct item *it)
{
    char done[32], total[32];
    zprogress_human(it->done, done, sizeof done);
    zprogress_human(it->total, total, sizeof total);
    fprintf(p->out, "\r\033[KCopying %s ", it->label);
    if (it->finished) {
        fprintf(p->out, "%s\n", it->status);
        return;
    }
    enum { WIDTH = 30 };
    size_t filled = it->total ? (size_t)((double)it->done / (double)it->total * WIDTH) : 0;
    if (filled > WIDTH)
        filled = WIDTH;
    char bar[WIDTH + 1];
    for (size_t i = 0; i < WIDTH; i++)
        bar[i] = i < filled ? '=' : (i == filled ? '>' : ' ');
    bar[WIDTH] = 0;
    fprintf(p->out, "[%s] %s / %s\n", bar, done, total);
}

static void redraw(struct zprogress *p)
{
    if (p->lines)
        fprintf(p->out, "\033[%zuA", p->lines);
    p->lines = 0;
    for (size_t i = 0; i < p->n; i++) {
        if (!p->items[i].shown)
            continue;
        draw_item(p, &p->items[i]);
        p->lines++;
    }
    fflush(p->out);
    clock_gettime(CLOCK_MONOTONIC, &p->last);
}

void zprogress_set(struct zprogress *p, size_t i, const char *label, uint64_t total)
{
    if (!p || i >= p->n)
        return;
    snprintf(p->items[i].label, sizeof p->items[i].label, "%s", label);
    p->items[i].total = total;
    p->items[i].shown = true;
    if (p->tty)
        redraw(p);
}

void zprogress_update(struct zprogress *p, size_t i, uint64_t done)
{
    if (!p || i >= p->n)
        return;
    p->items[i].done = done;
    if (!p->tty)
        return;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long ms = (now.tv_sec - p->last.tv_sec) * 1000 + (now.tv_nsec - p->last.tv_nsec) / 1000000;
    if (ms >= 100)
        redraw(p);
}

void zprogress_finish(struct zprogress *p, size_t i, const char *status)
{
    if (!p || i >= p->n || p->items[i].finished)
        return;
    struct item *it = &p->items[i];
    it->finished = true;
    if (!strcmp(status, "done")) {
        char size[32];
        zprogress_human(it->total, size, sizeof size);
        snprintf(it->status, sizeof it->status, "done (%s)", size);
    } else {
        snprintf(it->status, sizeof it->status, "%s", status);
    }
    if (p->tty) {
        redraw(p);
        return;
    }
    fprintf(p->out, "Copying %s %s\n", it->label, it->status);
    fflush(p->out);
}

void zprogress_note(struct zprogress *p, const char *fmt, ...)
{
    if (!p)
        return;
    va_list ap;
    /* On a terminal the bars drawn so far stay as they are, above the
     * note; items updated later get new lines below it. */
    if (p->tty) {
        for (size_t i = 0; i < p->n; i++)
            p->items[i].shown = false;
        p->lines = 0;
        fputs("\r\033[K", p->out);
    }
    va_start(ap, fmt);
    vfprintf(p->out, fmt, ap);
    va_end(ap);
    fputc('\n', p->out);
    fflush(p->out);
}
