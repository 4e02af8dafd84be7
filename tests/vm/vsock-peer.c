/* vsock-peer: both ends of the VM vsock tests (tests/vm/t_virtio.sh).
 * Built static, so the same binary runs in the test guest's initramfs.
 *
 * In the guest (AF_VSOCK):
 *   listen-echo PORT          accept one connection, echo it until EOF
 *   listen-sink PORT          accept one, read until EOF, print the rate
 *   listen-source PORT MIB    accept one, write MIB MiB, close
 *   connect PORT MSG          connect to the host (CID 2), send MSG, print the reply
 * On the host (the monitor's unix sockets):
 *   host-listen-echo PATH     accept one on unix PATH, answer "HOST:" + what came
 *   host-connect UDS PORT MSG CONNECT to guest PORT, send MSG, print the reply
 *   host-send UDS PORT MIB    CONNECT, send MIB MiB, print the rate
 *   host-recv UDS PORT        CONNECT, read until EOF, print the rate
 * host-* retry the CONNECT for up to VSOCK_PEER_WAIT seconds (default 60):
 * the guest may not listen yet. */
#include <errno.h>
#include <linux/vm_sockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "vsock-peer: %s: %s\n", what, strerror(errno));
    exit(1);
}

static int write_all(int fd, const void *p, size_t len)
{
    const char *c = p;
    while (len) {
        ssize_t n = write(fd, c, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        c += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads until EOF; keeps up to cap bytes in buf (if any); returns the total. */
static long long read_all(int fd, char *buf, size_t cap)
{
    char tmp[65536];
    long long total = 0;
    for (;;) {
        ssize_t n = read(fd, tmp, sizeof tmp);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die("read");
        if (n == 0)
            return total;
        if (buf && (size_t)total < cap) {
            size_t k = cap - (size_t)total < (size_t)n ? cap - (size_t)total : (size_t)n;
            memcpy(buf + total, tmp, k);
        }
        total += n;
    }
}

static void rate(const char *what, long long bytes, double secs)
{
    printf("%s %lld bytes in %.3f s: %.1f MB/s\n", what, bytes, secs, secs > 0 ? (double)bytes / secs / 1e6 : 0.0);
}

static int vsock_accept(unsigned port)
{
    int s = socket(AF_VSOCK, SOCK_STREAM, 0);
    if (s < 0)
        die("socket(AF_VSOCK)");
    struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port };
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 4) < 0)
        die("bind/listen");
    printf("LISTENING %u\n", port);
    fflush(stdout);
    int c = accept(s, NULL, NULL);
    if (c < 0)
        die("accept");
    close(s);
    return c;
}

/* Connects to the monitor's unix socket and asks for guest port; returns
 * the fd after the "OK <port>" line, which goes to ok (if not NULL). */
static int host_connect(const char *uds, const char *port, char *ok, size_t ok_cap)
{
    const char *wait = getenv("VSOCK_PEER_WAIT");
    double deadline = now() + (wait ? atof(wait) : 60);
    for (;;) {
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un a = { .sun_family = AF_UNIX };
        snprintf(a.sun_path, sizeof a.sun_path, "%s", uds);
        if (s < 0)
            die("socket");
        if (connect(s, (struct sockaddr *)&a, sizeof a) == 0) {
            char line[64];
            size_t n = 0;
            snprintf(line, sizeof line, "CONNECT %s\n", port);
            if (write_all(s, line, strlen(line)) == 0) {
                while (n < sizeof line - 1 && read(s, line + n, 1) == 1 && line[n] != '\n')
                    n++;
                line[n] = '\0';
                if (strncmp(line, "OK ", 3) == 0) {
                    if (ok)
                        snprintf(ok, ok_cap, "%s", line);
                    return s;
                }
            }
        }
        close(s);
        if (now() > deadline) {
            fprintf(stderr, "vsock-peer: no connection to guest port %s through %s\n", port, uds);
            exit(1);
        }
        usleep(200 * 1000);
    }
}

int main(int argc, char **argv)
{
    static char buf[1 << 16];
    const char *mode = argc > 1 ? argv[1] : "";
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(mode, "listen-echo") && argc == 3) {
        int c = vsock_accept((unsigned)atoi(argv[2]));
        long long total = 0;
        for (;;) {
            ssize_t n = read(c, buf, sizeof buf);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            if (write_all(c, buf, (size_t)n) < 0)
                die("write");
            total += n;
        }
        printf("ECHOED %lld\n", total);
        return 0;
    }
    if (!strcmp(mode, "listen-sink") && argc == 3) {
        int c = vsock_accept((unsigned)atoi(argv[2]));
        double t = now();
        long long n = read_all(c, NULL, 0);
        rate("GUEST-RECEIVED", n, now() - t);
        return 0;
    }
    if (!strcmp(mode, "listen-source") && argc == 4) {
        int c = vsock_accept((unsigned)atoi(argv[2]));
        long long left = atoll(argv[3]) << 20;
        memset(buf, 'g', sizeof buf);
        while (left > 0) {
            size_t k = left < (long long)sizeof buf ? (size_t)left : sizeof buf;
            if (write_all(c, buf, k) < 0)
                die("write");
            left -= (long long)k;
        }
        close(c);
        printf("SOURCE-DONE\n");
        return 0;
    }
    if (!strcmp(mode, "connect") && argc == 4) {
        int s = socket(AF_VSOCK, SOCK_STREAM, 0);
        struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST, .svm_port = (unsigned)atoi(argv[2]) };
        if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) < 0)
            die("connect to the host");
        if (write_all(s, argv[3], strlen(argv[3])) < 0)
            die("write");
        shutdown(s, SHUT_WR);
        long long n = read_all(s, buf, sizeof buf - 1);
        buf[n < (long long)sizeof buf ? n : (long long)sizeof buf - 1] = '\0';
        printf("GUEST-GOT-REPLY:%s\n", buf);
        return 0;
    }
    if (!strcmp(mode, "host-listen-echo") && argc == 3) {
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un a = { .sun_family = AF_UNIX };
        snprintf(a.sun_path, sizeof a.sun_path, "%s", argv[2]);
        unlink(argv[2]);
        if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 4) < 0)
            die("unix listen");
        int c = accept(s, NULL, NULL);
        if (c < 0)
            die("accept");
        long long n = read_all(c, buf + 5, sizeof buf - 6);
        memcpy(buf, "HOST:", 5);
        if (write_all(c, buf, 5 + (size_t)(n < (long long)sizeof buf - 6 ? n : (long long)sizeof buf - 6)) < 0)
            die("write");
        close(c);
        printf("HOST-ANSWERED %lld\n", n);
        return 0;
    }
    if (!strcmp(mode, "host-connect") && argc == 5) {
        char ok[64];
        int s = host_connect(argv[2], argv[3], ok, sizeof ok);
        if (write_all(s, argv[4], strlen(argv[4])) < 0)
            die("write");
        shutdown(s, SHUT_WR);
        long long n = read_all(s, buf, sizeof buf - 1);
        buf[n < (long long)sizeof buf ? n : (long long)sizeof buf - 1] = '\0';
        printf("HOST-GOT:[%s] REPLY:%s\n", ok, buf);
        return 0;
    }
    if (!strcmp(mode, "host-send") && argc == 5) {
        int s = host_connect(argv[2], argv[3], NULL, 0);
        long long left = atoll(argv[4]) << 20, total = left;
        memset(buf, 'h', sizeof buf);
        double t = now();
        while (left > 0) {
            size_t k = left < (long long)sizeof buf ? (size_t)left : sizeof buf;
            if (write_all(s, buf, k) < 0)
                die("write");
            left -= (long long)k;
        }
        shutdown(s, SHUT_WR);
        read_all(s, NULL, 0);     /* the guest closes when it has read it all */
        rate("HOST-SENT", total, now() - t);
        return 0;
    }
    if (!strcmp(mode, "host-recv") && argc == 4) {
        int s = host_connect(argv[2], argv[3], NULL, 0);
        double t = now();
        long long n = read_all(s, NULL, 0);
        rate("HOST-RECEIVED", n, now() - t);
        return 0;
    }
    fprintf(stderr, "usage: see the comment at the top of tests/vm/vsock-peer.c\n");
    return 2;
}
