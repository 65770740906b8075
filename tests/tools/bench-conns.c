/* Many open keep-alive HTTP connections to one server, and the server's
 * resident memory (VmRSS from /proc/PID/status) at each step:
 *
 *   before   nothing opened yet
 *   idle     N connections accepted by the server (its fd count grew by N),
 *            no request sent
 *   active   after ROUNDS rounds of one POST on every connection at once,
 *            answered, the connections still open (one that fails is
 *            closed and counted as lost)
 *   settled  the same connections, still open and idle, SETTLE seconds
 *            later (what the server keeps, once it has tidied up)
 *   closed   after closing them all and the server closed its side
 *
 *   bench-conns --port N --pid PID [--host IP] [--conns N] [--rounds K]
 *               [--path PATH] [--body TEXT] [--settle SECONDS]
 *
 * Prints one line of key=value figures (memory in KiB). Exit status 1 when
 * something could not be done (connect failed, not accepted in time) or
 * some request was not answered 2xx. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <dirent.h>
#include <unistd.h>

#define RESP_MAX   8192
#define DEADLINE_S 60

typedef struct conn {
    int fd;
    size_t got;
    int status;
    bool done;
    char buf[RESP_MAX];
} conn;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kib(int pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kib = strtol(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kib;
}

static long fd_count(int pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/fd", pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

/* Polls until the server holds at least (at_least) or at most (!at_least)
 * want descriptors. */
static int wait_fds(int pid, long want, bool at_least)
{
    double end = now_s() + DEADLINE_S;
    while (now_s() < end) {
        long n = fd_count(pid);
        if (n < 0)
            return -1;
        if (at_least ? n >= want : n <= want)
            return 0;
        usleep(20000);
    }
    return -1;
}

static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int open_conn(const struct sockaddr_in *sa)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa))) {
        close(fd);
        return -1;
    }
    return fd;
}

/* The response is complete once the headers and Content-Length bytes are
 * in. */
static bool response_complete(conn *c)
{
    c->buf[c->got] = 0;
    char *end = strstr(c->buf, "\r\n\r\n");
    if (!end)
        return false;
    if (c->status == 0 && strncmp(c->buf, "HTTP/1.", 7) == 0)
        c->status = atoi(c->buf + 9);
    size_t body = 0;
    for (char *p = c->buf; p && p < end; p = strstr(p, "\r\n")) {
        if (*p == '\r')
            p += 2;
        if (strncasecmp(p, "Content-Length:", 15) == 0)
            body = strtoul(p + 15, NULL, 10);
    }
    return c->got >= (size_t)(end + 4 - c->buf) + body;
}

/* One request on every open connection at once; counts the 2xx answers.
 * A connection that fails (send, reset, closed before its answer) is
 * closed and left out of later rounds; *lost counts them, and what has
 * no answer by the deadline counts as lost too. */
static void round_trip(conn *cs, int n, int ep, const char *req, size_t req_len,
                       int *ok, int *lost)
{
    int left = 0;
    for (int i = 0; i < n; i++) {
        conn *c = &cs[i];
        c->got = 0;
        c->status = 0;
        c->done = c->fd < 0;
        if (c->done)
            continue;
        if (send(c->fd, req, req_len, MSG_NOSIGNAL) != (ssize_t)req_len) {
            close(c->fd);
            c->fd = -1;
            c->done = true;
            (*lost)++;
            continue;
        }
        left++;
    }
    double end = now_s() + DEADLINE_S;
    struct epoll_event evs[256];
    while (left > 0 && now_s() < end) {
        int k = epoll_wait(ep, evs, 256, 1000);
        if (k < 0 && errno != EINTR)
            break;
        for (int j = 0; j < k; j++) {
            conn *c = evs[j].data.ptr;
            if (c->done)
                continue;
            ssize_t r = recv(c->fd, c->buf + c->got, RESP_MAX - 1 - c->got, 0);
            if (r < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (r <= 0) {
                close(c->fd); /* also leaves the epoll set */
                c->fd = -1;
                c->done = true;
                left--;
                (*lost)++;
                continue;
            }
            c->got += (size_t)r;
            if (response_complete(c) || c->got >= RESP_MAX - 1) {
                c->done = true;
                left--;
                if (c->status >= 200 && c->status < 300)
                    (*ok)++;
            }
        }
    }
    for (int i = 0; i < n && left > 0; i++)
        if (!cs[i].done) { /* no answer in time: given up */
            close(cs[i].fd);
            cs[i].fd = -1;
            cs[i].done = true;
            left--;
            (*lost)++;
        }
}

static void usage(void)
{
    fprintf(stderr, "usage: bench-conns --port N --pid PID [--host IP] "
                    "[--conns N] [--rounds K] [--path PATH] [--body TEXT] "
                    "[--settle SECONDS]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    const char *path = "/healthz";
    const char *body = NULL;
    int port = 0, pid = 0, n = 1000, rounds = 3, settle = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc)
            usage();
        const char *v = argv[++i];
        if (strcmp(a, "--host") == 0)
            host = v;
        else if (strcmp(a, "--port") == 0)
            port = atoi(v);
        else if (strcmp(a, "--pid") == 0)
            pid = atoi(v);
        else if (strcmp(a, "--conns") == 0)
            n = atoi(v);
        else if (strcmp(a, "--rounds") == 0)
            rounds = atoi(v);
        else if (strcmp(a, "--path") == 0)
            path = v;
        else if (strcmp(a, "--body") == 0)
            body = v;
        else if (strcmp(a, "--settle") == 0)
            settle = atoi(v);
        else
            usage();
    }
    if (port <= 0 || pid <= 0 || n <= 0 || rounds < 0)
        usage();
    raise_fd_limit();

    char req[2048];
    int req_len;
    if (body)
        req_len = snprintf(req, sizeof(req),
                           "POST %s HTTP/1.1\r\nHost: %s\r\n"
                           "Content-Type: application/json\r\n"
                           "Content-Length: %zu\r\n\r\n%s",
                           path, host, strlen(body), body);
    else
        req_len = snprintf(req, sizeof(req),
                           "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, host);
    if (req_len < 0 || (size_t)req_len >= sizeof(req)) {
        fprintf(stderr, "bench-conns: the request is too long\n");
        return 2;
    }

    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        usage();
    conn *cs = calloc((size_t)n, sizeof(*cs));
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (!cs || ep < 0)
        return 1;

    long fds0 = fd_count(pid);
    long rss_before = rss_kib(pid);
    if (fds0 < 0 || rss_before < 0) {
        fprintf(stderr, "bench-conns: cannot read /proc/%d\n", pid);
        return 1;
    }
    for (int i = 0; i < n; i++) {
        cs[i].fd = open_conn(&sa);
        if (cs[i].fd < 0) {
            fprintf(stderr, "bench-conns: connection %d: %s\n", i,
                    strerror(errno));
            return 1;
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &cs[i]};
        epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
    }
    if (wait_fds(pid, fds0 + n, true)) {
        fprintf(stderr,
                "bench-conns: the server did not accept %d "
                "connections\n",
                n);
        return 1;
    }
    long rss_idle = rss_kib(pid);

    int ok = 0, lost = 0;
    double t0 = now_s();
    for (int r = 0; r < rounds; r++)
        round_trip(cs, n, ep, req, (size_t)req_len, &ok, &lost);
    double secs = now_s() - t0;
    long rss_active = rss_kib(pid);
    sleep((unsigned)(settle > 0 ? settle : 0));
    long rss_settled = rss_kib(pid);

    int open_left = 0;
    for (int i = 0; i < n; i++)
        if (cs[i].fd >= 0) {
            close(cs[i].fd);
            open_left++;
        }
    long rss_closed = wait_fds(pid, fds0, false) == 0 ? rss_kib(pid) : -1;
    printf("conns=%d open=%d rounds=%d ok=%d of=%d lost=%d secs=%.3f "
           "rss_before_kib=%ld "
           "rss_idle_kib=%ld rss_active_kib=%ld rss_settled_kib=%ld "
           "rss_closed_kib=%ld\n",
           n, open_left, rounds, ok, n * rounds, lost, secs, rss_before,
           rss_idle, rss_active, rss_settled, rss_closed);
    close(ep);
    free(cs);
    return ok == n * rounds ? 0 : 1;
}
