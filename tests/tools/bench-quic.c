/* bench-quic: QUIC swarm figures.
 *
 *   bench-quic local [SECONDS [ping|req|hs]]
 *       Two nodes in this process, each on its own loop thread, over
 *       127.0.0.1: handshakes per second (dial, connected, disconnect, one
 *       at a time and 8 at once), /ipfs/ping/1.0.0 round trips (p50/p99),
 *       and request/response streams (open, 60 bytes + FIN, 16 bytes + FIN
 *       back) with 1 and 32 in flight.
 *   bench-quic ping MULTIADDR [N [LABEL]]
 *       Dials MULTIADDR and pings it N times (default 1000) one after the
 *       other; prints p50/p99 of the round trips on a line named LABEL.
 *
 * Figures only: nothing is asserted. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actorlib.h"
#include "node.h"
#include "swarm.h"

#define ECHO_PROTO  "/bench/echo/1"
#define REQ_LEN     60
#define REPLY_LEN   16
#define MAX_SAMPLES 2000000

static uint64_t now_us(void)
{
    return uv_hrtime() / 1000;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void percentiles(uint64_t *v, size_t n, uint64_t *p50, uint64_t *p99)
{
    *p50 = *p99 = 0;
    if (!n)
        return;
    qsort(v, n, sizeof(*v), cmp_u64);
    *p50 = v[n / 2];
    *p99 = v[(n * 99) / 100 >= n ? n - 1 : (n * 99) / 100];
}

/* ------------------------------------------------------------ sync */

typedef struct waitset {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
} waitset;

static void ws_init(waitset *w)
{
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->done = false;
}

static void ws_signal(waitset *w)
{
    pthread_mutex_lock(&w->mu);
    w->done = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static bool ws_wait(waitset *w, int seconds)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += seconds;
    pthread_mutex_lock(&w->mu);
    while (!w->done)
        if (pthread_cond_timedwait(&w->cv, &w->mu, &ts))
            break;
    bool d = w->done;
    w->done = false;
    pthread_mutex_unlock(&w->mu);
    return d;
}

/* ------------------------------------------------------------ echo server */

typedef struct echo_srv {
    size_t got;
} echo_srv;

static void srv_data(al__stream *s, const uint8_t *d, size_t n, void *ud)
{
    (void)s;
    (void)d;
    ((echo_srv *)ud)->got += n;
}

static void srv_fin(al__stream *s, void *ud)
{
    (void)ud;
    static const uint8_t reply[REPLY_LEN] = "0123456789abcdef";
    al__stream_write(s, reply, sizeof(reply));
    al__stream_finish(s);
}

static void srv_close(al__stream *s, int status, void *ud)
{
    (void)s;
    (void)status;
    free(ud);
}

static const al__stream_ops srv_ops = {srv_data, srv_fin, srv_close};

static void srv_open(al__stream *s, void *ud)
{
    (void)ud;
    echo_srv *e = calloc(1, sizeof(*e));
    if (!e) {
        al__stream_reset(s);
        return;
    }
    al__stream_set_ops(s, &srv_ops, e);
}

/* ------------------------------------------------------------ bench state */

typedef struct bench {
    al_node *a, *b;
    al_peer_id a_id;
    char a_addr[256];
    waitset ws;
    /* handshakes */
    int hs_inflight, hs_target_inflight;
    uint64_t hs_done, hs_end_us;
    bool hs_by_id;
    /* pings */
    uint64_t *samples;
    size_t nsamples, want;
    uint64_t failures;
    /* requests */
    int req_inflight;
    uint64_t req_done, req_end_us;
    bool stopping;
} bench;

typedef struct req {
    bench *bn;
    uint64_t t0;
    size_t got;
} req;

static void req_next(bench *bn);

static void req_data(al__stream *s, const uint8_t *d, size_t n, void *ud)
{
    (void)s;
    (void)d;
    ((req *)ud)->got += n;
}

static void req_fin(al__stream *s, void *ud)
{
    (void)s;
    req *r = ud;
    bench *bn = r->bn;
    if (r->got == REPLY_LEN && bn->nsamples < MAX_SAMPLES)
        bn->samples[bn->nsamples++] = now_us() - r->t0;
    bn->req_done++;
    bn->req_inflight--;
    r->bn = NULL;
    req_next(bn);
}

static void req_close(al__stream *s, int status, void *ud)
{
    (void)s;
    req *r = ud;
    if (r->bn) {
        r->bn->failures++;
        r->bn->req_inflight--;
        req_next(r->bn);
    }
    (void)status;
    free(r);
}

static const al__stream_ops req_ops = {req_data, req_fin, req_close};

static void req_open(int status, al__stream *s, void *ud)
{
    req *r = ud;
    bench *bn = r->bn;
    if (status) {
        bn->failures++;
        bn->req_inflight--;
        free(r);
        req_next(bn);
        return;
    }
    static const uint8_t payload[REQ_LEN] = {1};
    al__stream_set_ops(s, &req_ops, r);
    r->t0 = now_us();
    al__stream_write(s, payload, sizeof(payload));
    al__stream_finish(s);
}

static int req_target;

static void req_next(bench *bn)
{
    if (now_us() >= bn->req_end_us) {
        if (bn->req_inflight == 0 && !bn->stopping) {
            bn->stopping = true;
            ws_signal(&bn->ws);
        }
        return;
    }
    al__swarm *sw = al__swarm_of(bn->b);
    while (bn->req_inflight < req_target) {
        req *r = calloc(1, sizeof(*r));
        r->bn = bn;
        bn->req_inflight++;
        if (al__swarm_open_stream(sw, &bn->a_id, ECHO_PROTO, req_open, r)) {
            bn->req_inflight--;
            free(r);
            break;
        }
    }
}

static void start_requests(void *ud)
{
    bench *bn = ud;
    bn->stopping = false;
    req_next(bn);
}

/* ------------------------------------------------------------ handshakes */

static void hs_next(bench *bn);

static void hs_dialed(int status, const al_peer_id *peer, const char *detail,
                      void *ud)
{
    (void)detail;
    bench *bn = ud;
    bn->hs_inflight--;
    if (status)
        bn->failures++;
    else
        bn->hs_done++;
    if (!status && peer)
        al_swarm_disconnect(bn->b, peer);
    hs_next(bn);
}

static void hs_event(const al_swarm_event *ev, void *ud)
{
    bench *bn = ud;
    if (ev->type == AL_SWARM_DISCONNECTED && bn->hs_by_id)
        hs_next(bn);
}

static void hs_next(bench *bn)
{
    if (now_us() >= bn->hs_end_us) {
        if (bn->hs_inflight == 0 && !bn->stopping) {
            bn->stopping = true;
            ws_signal(&bn->ws);
        }
        return;
    }
    /* Dialing by id waits until the previous connection is gone (a dial
     * to a connected peer reuses it); dialing the bare address opens a new
     * connection every time. */
    if (bn->hs_by_id && al__swarm_connected(al__swarm_of(bn->b), &bn->a_id))
        return;
    while (bn->hs_inflight < bn->hs_target_inflight) {
        const char *addr = bn->a_addr;
        char bare[256];
        if (!bn->hs_by_id) {
            snprintf(bare, sizeof(bare), "%s", bn->a_addr);
            char *p = strstr(bare, "/p2p/");
            if (p)
                *p = '\0';
            addr = bare;
        }
        bn->hs_inflight++;
        if (al_swarm_dial(bn->b, addr, hs_dialed, bn)) {
            bn->hs_inflight--;
            bn->failures++;
            break;
        }
    }
}

static void start_handshakes(void *ud)
{
    bench *bn = ud;
    bn->stopping = false;
    al_swarm_on_event(bn->b, hs_event, bn);
    /* Start from no connection: the disconnect event starts the loop. */
    if (bn->hs_by_id && al_swarm_disconnect(bn->b, &bn->a_id) == 0)
        return;
    hs_next(bn);
}

/* ------------------------------------------------------------ pings */

static void ping_next(bench *bn);

static void pinged(int status, uint64_t rtt, void *ud)
{
    bench *bn = ud;
    if (status)
        bn->failures++;
    else if (bn->nsamples < MAX_SAMPLES)
        bn->samples[bn->nsamples++] = rtt;
    ping_next(bn);
}

static void ping_next(bench *bn)
{
    if (bn->nsamples + bn->failures >= bn->want) {
        ws_signal(&bn->ws);
        return;
    }
    if (al_swarm_ping(bn->b, &bn->a_id, pinged, bn)) {
        bn->failures++;
        ws_signal(&bn->ws);
    }
}

static void start_pings(void *ud)
{
    ping_next(ud);
}

/* ------------------------------------------------------------ setup */

typedef struct setup {
    bench *bn;
    int rc;
    const char *target;
} setup;

static void setup_a(void *ud)
{
    setup *s = ud;
    bench *bn = s->bn;
    al_error err = {0};
    al_swarm_opts opts = {.max_streams_per_conn = 4096};
    s->rc = al_swarm_bootstrap(bn->a, NULL, &opts, &err);
    if (!s->rc)
        s->rc = al_swarm_listen_on(bn->a, "/ip4/127.0.0.1/udp/0/quic-v1", &err);
    if (!s->rc)
        s->rc =
            al__swarm_handle(al__swarm_of(bn->a), ECHO_PROTO, srv_open, NULL);
    if (!s->rc) {
        char *addrs[4];
        size_t n = al_swarm_listen_addrs(bn->a, addrs, 4);
        if (n)
            snprintf(bn->a_addr, sizeof(bn->a_addr), "%s", addrs[0]);
        for (size_t i = 0; i < n; i++)
            free(addrs[i]);
        al_swarm_local_peer_id(bn->a, &bn->a_id);
    }
    if (s->rc)
        fprintf(stderr, "bench-quic: %s\n", err.msg);
    ws_signal(&bn->ws);
}

static void b_dialed(int status, const al_peer_id *peer, const char *detail,
                     void *ud)
{
    setup *s = ud;
    s->rc = status;
    if (status)
        fprintf(stderr, "bench-quic: dial: %s %s\n", al_strerror(status),
                detail ? detail : "");
    else
        s->bn->a_id = *peer;
    ws_signal(&s->bn->ws);
}

static void setup_b(void *ud)
{
    setup *s = ud;
    bench *bn = s->bn;
    al_error err = {0};
    al_swarm_opts opts = {.max_streams_per_conn = 4096};
    s->rc = al_swarm_bootstrap(bn->b, NULL, &opts, &err);
    if (s->rc) {
        fprintf(stderr, "bench-quic: %s\n", err.msg);
        ws_signal(&bn->ws);
        return;
    }
    s->rc = al_swarm_dial(bn->b, s->target, b_dialed, s);
    if (s->rc) {
        fprintf(stderr, "bench-quic: dial %s: %s\n", s->target,
                al_strerror(s->rc));
        ws_signal(&bn->ws);
    }
}

static void run_pings(bench *bn, size_t n, const char *label)
{
    bn->nsamples = 0;
    bn->failures = 0;
    bn->want = n;
    al_node_post(bn->b, start_pings, bn);
    if (!ws_wait(&bn->ws, 120)) {
        printf("%-44s timed out\n", label);
        return;
    }
    uint64_t p50, p99;
    percentiles(bn->samples, bn->nsamples, &p50, &p99);
    printf("%-44s %8zu pings   p50 %6llu us   p99 %6llu us   failed %llu\n",
           label, bn->nsamples, (unsigned long long)p50,
           (unsigned long long)p99, (unsigned long long)bn->failures);
}

static int local(double seconds, const char *only)
{
    bench bn = {0};
    ws_init(&bn.ws);
    bn.samples = malloc(MAX_SAMPLES * sizeof(uint64_t));
    al_node_new(&bn.a, NULL, NULL);
    al_node_new(&bn.b, NULL, NULL);
    al_node_start(bn.a);
    al_node_start(bn.b);
    setup s = {.bn = &bn};
    al_node_post(bn.a, setup_a, &s);
    if (!ws_wait(&bn.ws, 10) || s.rc)
        return 1;
    s.target = bn.a_addr;
    al_node_post(bn.b, setup_b, &s);
    if (!ws_wait(&bn.ws, 10) || s.rc)
        return 1;
    uint64_t span = (uint64_t)(seconds * 1e6);

    if (!only || strcmp(only, "ping") == 0)
        run_pings(&bn, 2000, "ping actorlib -> actorlib (sequential)");

    int inflight[] = {1, 32};
    for (size_t i = 0; i < 2 && (!only || strcmp(only, "req") == 0); i++) {
        req_target = inflight[i];
        bn.nsamples = 0;
        bn.failures = 0;
        bn.req_done = 0;
        uint64_t t0 = now_us();
        bn.req_end_us = t0 + span;
        al_node_post(bn.b, start_requests, &bn);
        if (!ws_wait(&bn.ws, (int)seconds + 30)) {
            printf("requests timed out\n");
            return 1;
        }
        double el = (double)(now_us() - t0) / 1e6;
        uint64_t p50, p99;
        percentiles(bn.samples, bn.nsamples, &p50, &p99);
        char label[64];
        snprintf(label, sizeof(label), "stream request/response, %d in flight",
                 inflight[i]);
        printf("%-44s %8.0f req/s   p50 %6llu us   p99 %6llu us   failed "
               "%llu\n",
               label, (double)bn.req_done / el, (unsigned long long)p50,
               (unsigned long long)p99, (unsigned long long)bn.failures);
    }

    struct {
        int inflight;
        bool by_id;
        const char *label;
    } hs[] = {{1, true, "QUIC handshakes, one at a time"},
              {8, false, "QUIC handshakes, 8 at once"}};
    for (size_t i = 0; i < 2 && (!only || strcmp(only, "hs") == 0); i++) {
        bn.failures = 0;
        bn.hs_done = 0;
        bn.hs_target_inflight = hs[i].inflight;
        bn.hs_by_id = hs[i].by_id;
        uint64_t t0 = now_us();
        bn.hs_end_us = t0 + span;
        al_node_post(bn.b, start_handshakes, &bn);
        if (!ws_wait(&bn.ws, (int)seconds + 30)) {
            printf("handshakes timed out\n");
            return 1;
        }
        double el = (double)(now_us() - t0) / 1e6;
        printf("%-44s %8.0f /s      failed %llu\n", hs[i].label,
               (double)bn.hs_done / el, (unsigned long long)bn.failures);
    }
    al_node_stop(bn.b);
    al_node_join(bn.b);
    al_node_stop(bn.a);
    al_node_join(bn.a);
    al_node_free(bn.b);
    al_node_free(bn.a);
    free(bn.samples);
    return 0;
}

static int remote(const char *target, size_t n, const char *label)
{
    bench bn = {0};
    ws_init(&bn.ws);
    bn.samples = malloc(MAX_SAMPLES * sizeof(uint64_t));
    al_node_new(&bn.b, NULL, NULL);
    al_node_start(bn.b);
    setup s = {.bn = &bn, .target = target};
    al_node_post(bn.b, setup_b, &s);
    if (!ws_wait(&bn.ws, 20) || s.rc)
        return 1;
    run_pings(&bn, n, label ? label : "ping actorlib -> peer (sequential)");
    al_node_stop(bn.b);
    al_node_join(bn.b);
    al_node_free(bn.b);
    free(bn.samples);
    return bn.failures ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "local") == 0)
        return local(argc > 2 ? atof(argv[2]) : 2.0, argc > 3 ? argv[3] : NULL);
    if (argc >= 3 && strcmp(argv[1], "ping") == 0)
        return remote(argv[2], argc > 3 ? (size_t)atol(argv[3]) : 1000,
                      argc > 4 ? argv[4] : NULL);
    fprintf(stderr, "usage: bench-quic local [SECONDS [ping|req|hs]]\n"
                    "       bench-quic ping MULTIADDR [N [LABEL]]\n");
    return 2;
}
