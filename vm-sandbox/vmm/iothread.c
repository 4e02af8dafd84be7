/* The host I/O thread (iothread.h): epoll_wait, dispatch, then run the
 * calls other threads queued. Sources deleted during a batch are marked
 * dead (skipped for the rest of it) and freed when the batch ends. */
#include "vm-sandbox/vmm/iothread.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define BATCH 64

struct vmm_io_source {
    struct vmm_iothread *t;
    int fd;
    bool owns_fd;              /* an event source's eventfd */
    bool dead;
    vmm_io_fn fn;
    void *opaque;
    struct vmm_io_source *prev, *next;   /* all live sources, or the dead list */
};

struct call {
    void (*fn)(void *);
    void *arg;
    bool done;
    struct call *next;
};

struct vmm_iothread {
    int epfd;
    int wake_fd;
    pthread_t thread;
    bool started;              /* the thread was created (and is not joined yet) */
    bool running;              /* lock: the thread runs and serves calls */
    atomic_bool stopping;
    pthread_mutex_t lock;      /* calls, running, the source lists */
    pthread_cond_t done_cond;
    struct call *calls;
    struct vmm_io_source *sources;
    struct vmm_io_source *dead;
    char name[16];
};

static void list_remove(struct vmm_io_source **head, struct vmm_io_source *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        *head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
}

static void list_push(struct vmm_io_source **head, struct vmm_io_source *s)
{
    s->prev = NULL;
    s->next = *head;
    if (*head)
        (*head)->prev = s;
    *head = s;
}

static void free_source(struct vmm_io_source *s)
{
    if (s->owns_fd && s->fd >= 0)
        close(s->fd);
    free(s);
}

static void run_calls(struct vmm_iothread *t)
{
    pthread_mutex_lock(&t->lock);
    while (t->calls) {
        struct call *c = t->calls;
        t->calls = c->next;
        pthread_mutex_unlock(&t->lock);
        c->fn(c->arg);
        pthread_mutex_lock(&t->lock);
        c->done = true;
        pthread_cond_broadcast(&t->done_cond);
    }
    pthread_mutex_unlock(&t->lock);
}

static void drain(int fd)
{
    uint64_t v;
    while (read(fd, &v, sizeof v) < 0 && errno == EINTR)
        ;
}

static void *loop(void *arg)
{
    struct vmm_iothread *t = arg;
    struct epoll_event ev[BATCH];
    while (!atomic_load(&t->stopping)) {
        int n = epoll_wait(t->epfd, ev, BATCH, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;      /* only EBADF/EINVAL, i.e. a bug: stop serving rather than spin */
        for (int i = 0; i < n; i++) {
            struct vmm_io_source *s = ev[i].data.ptr;
            if (!s) {
                drain(t->wake_fd);
                run_calls(t);
                continue;
            }
            if (s->dead)
                continue;
            if (s->owns_fd)
                drain(s->fd);
            s->fn(s->opaque, s->owns_fd ? 0 : ev[i].events);
        }
        pthread_mutex_lock(&t->lock);
        struct vmm_io_source *dead = t->dead;
        t->dead = NULL;
        pthread_mutex_unlock(&t->lock);
        while (dead) {
            struct vmm_io_source *next = dead->next;
            free_source(dead);
            dead = next;
        }
    }
    pthread_mutex_lock(&t->lock);
    t->running = false;
    pthread_mutex_unlock(&t->lock);
    run_calls(t);    /* whoever queued one while we stopped still gets it run */
    return NULL;
}

int vmm_iothread_new(const char *name, struct vmm_iothread **out, struct zerr *e)
{
    *out = NULL;
    struct vmm_iothread *t = calloc(1, sizeof *t);
    if (!t)
        return zerr_set(e, ENOMEM, "I/O thread: out of memory");
    t->epfd = t->wake_fd = -1;
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->done_cond, NULL);
    snprintf(t->name, sizeof t->name, "%s", name ? name : "zone-io");
    t->epfd = epoll_create1(EPOLL_CLOEXEC);
    t->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (t->epfd < 0 || t->wake_fd < 0) {
        zerr_sys(e, "I/O thread: epoll/eventfd");
        vmm_iothread_free(t);
        return -1;
    }
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
    if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->wake_fd, &ev) < 0) {
        zerr_sys(e, "I/O thread: epoll_ctl");
        vmm_iothread_free(t);
        return -1;
    }
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    t->running = true;   /* before the thread exists, so calls queue from now on */
    int r = pthread_create(&t->thread, NULL, loop, t);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r != 0) {
        t->running = false;
        errno = r;
        zerr_sys(e, "I/O thread: pthread_create");
        vmm_iothread_free(t);
        return -1;
    }
    pthread_setname_np(t->thread, t->name);
    t->started = true;
    *out = t;
    return 0;
}

static void wake(struct vmm_iothread *t)
{
    uint64_t one = 1;
    while (write(t->wake_fd, &one, sizeof one) < 0 && errno == EINTR)
        ;
}

void vmm_iothread_stop(struct vmm_iothread *t)
{
    if (!t)
        return;
    if (!t->started || atomic_exchange(&t->stopping, true))
        return;
    wake(t);
    pthread_join(t->thread, NULL);
}

void vmm_iothread_free(struct vmm_iothread *t)
{
    if (!t)
        return;
    vmm_iothread_stop(t);
    while (t->sources) {
        struct vmm_io_source *s = t->sources;
        list_remove(&t->sources, s);
        free_source(s);
    }
    while (t->dead) {
        struct vmm_io_source *s = t->dead;
        t->dead = s->next;
        free_source(s);
    }
    if (t->epfd >= 0)
        close(t->epfd);
    if (t->wake_fd >= 0)
        close(t->wake_fd);
    pthread_mutex_destroy(&t->lock);
    pthread_cond_destroy(&t->done_cond);
    free(t);
}

bool vmm_iothread_is_current(const struct vmm_iothread *t)
{
    return t->started && pthread_equal(pthread_self(), t->thread);
}

void vmm_iothread_call(struct vmm_iothread *t, void (*fn)(void *arg), void *arg)
{
    if (vmm_iothread_is_current(t)) {
        fn(arg);
        return;
    }
    struct call c = { .fn = fn, .arg = arg };
    pthread_mutex_lock(&t->lock);
    if (!t->running) {
        pthread_mutex_unlock(&t->lock);
        fn(arg);
        return;
    }
    /* append, so calls run in the order they were made */
    struct call **tail = &t->calls;
    while (*tail)
        tail = &(*tail)->next;
    *tail = &c;
    pthread_mutex_unlock(&t->lock);
    wake(t);
    pthread_mutex_lock(&t->lock);
    while (!c.done)
        pthread_cond_wait(&t->done_cond, &t->lock);
    pthread_mutex_unlock(&t->lock);
}

static struct vmm_io_source *add(struct vmm_iothread *t, int fd, bool owns, uint32_t events, vmm_io_fn fn,
                                 void *opaque, struct zerr *e)
{
    struct vmm_io_source *s = calloc(1, sizeof *s);
    if (!s) {
        zerr_set(e, ENOMEM, "I/O thread: out of memory");
        return NULL;
    }
    *s = (struct vmm_io_source){ .t = t, .fd = fd, .owns_fd = owns, .fn = fn, .opaque = opaque };
    pthread_mutex_lock(&t->lock);
    list_push(&t->sources, s);
    pthread_mutex_unlock(&t->lock);
    struct epoll_event ev = { .events = events, .data.ptr = s };
    if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        zerr_sys(e, "I/O thread: watch fd %d", fd);
        pthread_mutex_lock(&t->lock);
        list_remove(&t->sources, s);
        pthread_mutex_unlock(&t->lock);
        s->owns_fd = false;   /* the caller's eventfd is closed by the caller on failure */
        free_source(s);
        return NULL;
    }
    return s;
}

struct vmm_io_source *vmm_io_add_fd(struct vmm_iothread *t, int fd, uint32_t events, vmm_io_fn fn,
                                    void *opaque, struct zerr *e)
{
    return add(t, fd, false, events, fn, opaque, e);
}

struct vmm_io_source *vmm_io_add_event(struct vmm_iothread *t, vmm_io_fn fn, void *opaque, struct zerr *e)
{
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0) {
        zerr_sys(e, "I/O thread: eventfd");
        return NULL;
    }
    struct vmm_io_source *s = add(t, fd, true, EPOLLIN, fn, opaque, e);
    if (!s)
        close(fd);
    return s;
}

int vmm_io_set_events(struct vmm_io_source *s, uint32_t events, struct zerr *e)
{
    struct epoll_event ev = { .events = events, .data.ptr = s };
    if (epoll_ctl(s->t->epfd, EPOLL_CTL_MOD, s->fd, &ev) < 0)
        return zerr_sys(e, "I/O thread: change events of fd %d", s->fd);
    return 0;
}

void vmm_io_signal(struct vmm_io_source *s)
{
    uint64_t one = 1;
    while (write(s->fd, &one, sizeof one) < 0 && errno == EINTR)
        ;
}

int vmm_io_source_fd(const struct vmm_io_source *s) { return s->fd; }

static void del_here(void *arg)
{
    struct vmm_io_source *s = arg;
    struct vmm_iothread *t = s->t;
    epoll_ctl(t->epfd, EPOLL_CTL_DEL, s->fd, NULL);
    s->dead = true;
    pthread_mutex_lock(&t->lock);
    list_remove(&t->sources, s);
    bool in_loop = t->running && vmm_iothread_is_current(t);
    if (in_loop)
        list_push(&t->dead, s);     /* events for it may follow in this batch */
    pthread_mutex_unlock(&t->lock);
    if (!in_loop)
        free_source(s);
}

void vmm_io_del(struct vmm_io_source *s)
{
    if (s)
        vmm_iothread_call(s->t, del_here, s);
}
