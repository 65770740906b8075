/* Remote ask throughput and latency between two processes.
 *
 *   bench-remote serve [--listen MULTIADDR]
 *       spawns remote::MyActor, makes it reachable, prints "LISTEN <addr>"
 *       lines and "ACTOR <seq>", serves until SIGTERM/SIGINT.
 *   bench-remote ask --peer MULTIADDR --seq N [--inflight K]
 *                    [--seconds S] [--warmup S] [--server-pid PID]
 *       keeps K asks of Inc { amount: 1 } in flight for S seconds (after a
 *       warm-up) and prints one line of figures: asks/s, p50/p99 latency,
 *       CPU per ask of this process and (with --server-pid, read from
 *       /proc) of the server over the same window.
 *
 * The actor is addressed by id, so the figures hold no Kademlia lookup. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "actorlib.h"
#include "counter.h"
#include "remote.h"

static void usage(void)
{
    fprintf(stderr,
            "usage: bench-remote serve [--listen MULTIADDR]\n"
            "       bench-remote ask --peer MULTIADDR --seq N [--inflight K]\n"
            "                        [--seconds S] [--warmup S] "
            "[--server-pid PID]\n");
    exit(2);
}

static void die(const char *what, int rc, const char *detail)
{
    fprintf(stderr, "bench-remote: %s: %s%s%s\n", what, al_strerror(rc),
            detail && *detail ? ": " : "", detail ? detail : "");
    exit(1);
}

/* ------------------------------------------------------------ serve */

typedef struct server {
    al_node *node;
    const char *listen;
    al_actor *actor;
    uv_signal_t sigterm, sigint;
} server;

static void on_signal(uv_signal_t *h, int signum)
{
    (void)signum;
    server *s = h->data;
    uv_close((uv_handle_t *)&s->sigterm, NULL);
    uv_close((uv_handle_t *)&s->sigint, NULL);
    al_node_stop(s->node);
}

static void serve_start(void *ud)
{
    server *s = ud;
    al_error err = {0};
    int rc = al_swarm_bootstrap(s->node, NULL, NULL, &err);
    if (rc)
        die("bootstrap", rc, err.msg);
    rc = al_swarm_listen_on(s->node, s->listen, &err);
    if (rc)
        die("listen", rc, err.msg);
    rc = counter_spawn(s->node, 0, &s->actor);
    if (!rc)
        rc = al__remote_expose(al__remote_of(s->node), s->actor, "bench");
    if (rc)
        die("spawn", rc, NULL);
    char *addrs[16];
    size_t n = al_swarm_listen_addrs(s->node, addrs, 16);
    for (size_t i = 0; i < n; i++) {
        printf("LISTEN %s\n", addrs[i]);
        free(addrs[i]);
    }
    printf("ACTOR %llu\n", (unsigned long long)al_actor_seq(s->actor));
    fflush(stdout);
    uv_loop_t *loop = al_node_loop(s->node);
    uv_signal_init(loop, &s->sigterm);
    uv_signal_init(loop, &s->sigint);
    s->sigterm.data = s->sigint.data = s;
    uv_signal_start(&s->sigterm, on_signal, SIGTERM);
    uv_signal_start(&s->sigint, on_signal, SIGINT);
}

static int serve(int argc, char **argv)
{
    server s = {.listen = "/ip4/127.0.0.1/udp/0/quic-v1"};
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
            s.listen = argv[++i];
        else
            usage();
    }
    al_error err = {0};
    int rc = al_node_new(&s.node, NULL, &err);
    if (rc)
        die("node", rc, err.msg);
    al_node_post(s.node, serve_start, &s);
    al_node_run(s.node);
    al_actor_release(s.actor);
    al_node_free(s.node);
    return 0;
}

/* ------------------------------------------------------------ ask */

typedef struct client {
    al_node *node;
    const char *peer;
    uint64_t seq;
    unsigned inflight;
    double seconds, warmup;
    long server_pid;
    al_remote_ref *ref;
    uv_timer_t timer;
    int phase; /* 0 warm-up, 1 measuring, 2 draining */
    unsigned outstanding;
    uint64_t asks, errors;
    uint32_t *lat_us;
    size_t nlat, caplat;
    uint64_t t_start, t_end;
    double cpu_start, cpu_end, srv_start, srv_end;
    int first_error;
} client;

typedef struct lane {
    client *c;
    uint64_t sent_ns;
} lane;

static const uint8_t inc1[] = {0x81, 0xa6, 'a', 'm', 'o', 'u', 'n', 't', 0x01};

static double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* utime + stime of another process, from /proc/PID/stat. */
static double proc_cpu_s(long pid)
{
    if (pid <= 0)
        return 0;
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    if (!p ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
               &ut, &st) != 2)
        return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void send_one(lane *l);

static void on_reply(const al_reply *rep, void *ud)
{
    lane *l = ud;
    client *c = l->c;
    c->outstanding--;
    if (rep->status) {
        c->errors++;
        if (!c->first_error)
            c->first_error = rep->status;
    } else if (c->phase == 1) {
        uint64_t us = (uv_hrtime() - l->sent_ns) / 1000;
        if (c->nlat < c->caplat)
            c->lat_us[c->nlat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
        c->asks++;
    }
    if (c->phase < 2) {
        send_one(l);
    } else if (c->outstanding == 0) {
        al_remote_ref_free(c->ref);
        c->ref = NULL;
        al_node_stop(c->node);
    }
}

static void send_one(lane *l)
{
    client *c = l->c;
    l->sent_ns = uv_hrtime();
    int rc = al_remote_ask(c->ref, COUNTER_INC_ID, inc1, sizeof(inc1), NULL,
                           on_reply, l);
    if (rc)
        die("ask", rc, NULL);
    c->outstanding++;
}

static void on_phase(uv_timer_t *t)
{
    client *c = t->data;
    if (c->phase == 0) {
        c->phase = 1;
        c->t_start = uv_hrtime();
        c->cpu_start = self_cpu_s();
        c->srv_start = proc_cpu_s(c->server_pid);
        uv_timer_start(&c->timer, on_phase, (uint64_t)(c->seconds * 1000), 0);
        return;
    }
    c->phase = 2;
    c->t_end = uv_hrtime();
    c->cpu_end = self_cpu_s();
    c->srv_end = proc_cpu_s(c->server_pid);
    uv_close((uv_handle_t *)&c->timer, NULL);
}

static void on_dialed(int status, const al_peer_id *peer, const char *detail,
                      void *ud)
{
    client *c = ud;
    if (status)
        die("dial", status, detail);
    al_actor_id id = {.seq = c->seq, .peer = *peer};
    int rc = al_remote_ref_new(c->node, &id, COUNTER_REMOTE_ID, &c->ref);
    if (rc)
        die("ref", rc, NULL);
    lane *lanes = calloc(c->inflight, sizeof(*lanes));
    if (!lanes)
        die("lanes", AL_ENOMEM, NULL);
    for (unsigned i = 0; i < c->inflight; i++) {
        lanes[i].c = c;
        send_one(&lanes[i]);
    }
    uv_timer_init(al_node_loop(c->node), &c->timer);
    c->timer.data = c;
    uv_timer_start(&c->timer, on_phase, (uint64_t)(c->warmup * 1000), 0);
}

static void ask_start(void *ud)
{
    client *c = ud;
    al_error err = {0};
    int rc = al_swarm_bootstrap(c->node, NULL, NULL, &err);
    if (rc)
        die("bootstrap", rc, err.msg);
    rc = al_swarm_dial(c->node, c->peer, on_dialed, c);
    if (rc)
        die("dial", rc, NULL);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int ask(int argc, char **argv)
{
    client c = {.inflight = 1, .seconds = 3, .warmup = 0.5};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            usage();
        if (strcmp(a, "--peer") == 0)
            c.peer = v;
        else if (strcmp(a, "--seq") == 0)
            c.seq = strtoull(v, NULL, 10);
        else if (strcmp(a, "--inflight") == 0)
            c.inflight = (unsigned)strtoul(v, NULL, 10);
        else if (strcmp(a, "--seconds") == 0)
            c.seconds = strtod(v, NULL);
        else if (strcmp(a, "--warmup") == 0)
            c.warmup = strtod(v, NULL);
        else if (strcmp(a, "--server-pid") == 0)
            c.server_pid = strtol(v, NULL, 10);
        else
            usage();
        i++;
    }
    if (!c.peer || c.inflight == 0 || c.seconds <= 0)
        usage();
    c.caplat = (size_t)(c.seconds * 2e6) + 1024;
    c.lat_us = malloc(c.caplat * sizeof(*c.lat_us));
    if (!c.lat_us)
        die("latencies", AL_ENOMEM, NULL);
    al_error err = {0};
    int rc = al_node_new(&c.node, NULL, &err);
    if (rc)
        die("node", rc, err.msg);
    al_node_post(c.node, ask_start, &c);
    al_node_run(c.node);
    al_node_free(c.node);
    if (c.errors)
        fprintf(stderr, "bench-remote: %llu errors, first: %s\n",
                (unsigned long long)c.errors, al_status_name(c.first_error));
    double secs = (double)(c.t_end - c.t_start) / 1e9;
    qsort(c.lat_us, c.nlat, sizeof(*c.lat_us), cmp_u32);
    uint32_t p50 = c.nlat ? c.lat_us[c.nlat / 2] : 0;
    uint32_t p99 = c.nlat ? c.lat_us[c.nlat * 99 / 100] : 0;
    double n = c.asks ? (double)c.asks : 1;
    printf("inflight=%u asks=%llu seconds=%.2f rate=%.0f p50_us=%u "
           "p99_us=%u cpu_client_us=%.2f cpu_server_us=%.2f errors=%llu\n",
           c.inflight, (unsigned long long)c.asks, secs, c.asks / secs, p50,
           p99, (c.cpu_end - c.cpu_start) * 1e6 / n,
           c.server_pid ? (c.srv_end - c.srv_start) * 1e6 / n : 0.0,
           (unsigned long long)c.errors);
    free(c.lat_us);
    return c.errors ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        usage();
    if (strcmp(argv[1], "serve") == 0)
        return serve(argc - 2, argv + 2);
    if (strcmp(argv[1], "ask") == 0)
        return ask(argc - 2, argv + 2);
    usage();
    return 2;
}
