/* Local actor benchmark: tells/s and asks/s on one loop, bytes per idle
 * actor. The baseline, measured in the same run, is the floor any mailbox
 * has to pay: the same handler called through a function pointer after a
 * push/pop on an intrusive queue, with no actor machinery.
 *
 * Output: one "name value unit" line per figure, then ratio lines. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actorlib.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------ actors */

typedef struct sink {
    uint64_t seen;
    uint64_t want;
    double t_end;
    al_actor *producer; /* told to send more after each chunk */
    unsigned chunk;
} sink;

static const al_message drive_msg;

static void sink_handle(void *state, al_ctx *ctx, void *msg)
{
    sink *s = state;
    s->seen += *(uint64_t *)msg;
    if (al_ctx_is_ask(ctx))
        al_ctx_reply(ctx, &s->seen, sizeof(s->seen));
    else if (s->seen == s->want)
        s->t_end = now_s();
    else if (s->producer && s->seen % s->chunk == 0)
        al_tell(s->producer, &drive_msg, NULL, NULL, NULL, NULL);
}

static const al_message sink_msg = {
    .name = "Add", .size = sizeof(uint64_t), .handle = sink_handle};
static const al_actor_class sink_class = {.remote_id = NULL};

/* The driver refills the sink's mailbox one chunk at a time, when the sink
 * asks for more, so the queue stays short and the figure is steady-state
 * throughput, not a memory test. Two chunks are in flight. */
typedef struct driver {
    al_actor *target;
    uint64_t left;
    unsigned chunk;
} driver;

static void drive(void *state, al_ctx *ctx, void *msg);
static const al_message drive_msg = {
    .name = "Drive", .size = 0, .handle = drive};

static void drive(void *state, al_ctx *ctx, void *msg)
{
    driver *d = state;
    (void)msg;
    uint64_t one = 1;
    unsigned n = d->left < d->chunk ? (unsigned)d->left : d->chunk;
    for (unsigned i = 0; i < n; i++)
        al_tell(d->target, &sink_msg, &one, NULL, NULL, NULL);
    d->left -= n;
    (void)ctx;
}

static const al_actor_class driver_class = {.remote_id = NULL};

typedef struct tell_run {
    al_node *node;
    sink s;
    driver d;
    al_actor *sink_a, *driver_a;
    double t0;
} tell_run;

static void tell_start(void *ud)
{
    tell_run *r = ud;
    al_spawn(r->node, &sink_class, &r->s, NULL, &r->sink_a);
    r->d.target = r->sink_a;
    al_spawn(r->node, &driver_class, &r->d, NULL, &r->driver_a);
    r->s.producer = r->driver_a;
    r->s.chunk = r->d.chunk;
    r->t0 = now_s();
    al_tell(r->driver_a, &drive_msg, NULL, NULL, NULL, NULL);
    al_tell(r->driver_a, &drive_msg, NULL, NULL, NULL, NULL);
}

static void tell_check(uv_idle_t *h);

static double bench_tells(uint64_t n)
{
    tell_run r;
    memset(&r, 0, sizeof(r));
    al_node_new(&r.node, NULL, NULL);
    r.s.want = n;
    r.d.left = n;
    r.d.chunk = 256;
    al_node_post(r.node, tell_start, &r);
    uv_idle_t idle;
    uv_idle_init(al_node_loop(r.node), &idle);
    idle.data = &r;
    uv_idle_start(&idle, tell_check);
    al_node_run(r.node);
    al_actor_release(r.sink_a);
    al_actor_release(r.driver_a);
    al_node_free(r.node);
    return (double)n / (r.s.t_end - r.t0);
}

static void tell_check(uv_idle_t *h)
{
    tell_run *r = h->data;
    if (r->s.t_end > 0) {
        uv_close((uv_handle_t *)h, NULL);
        al_node_stop(r->node);
    }
}

/* Asks: `inflight` outstanding at once, each reply sends the next. */
typedef struct ask_run {
    al_node *node;
    sink s;
    al_actor *sink_a;
    uint64_t sent, done, n;
    unsigned inflight;
    double t0, t1;
} ask_run;

static void ask_reply(const al_reply *rep, void *ud)
{
    ask_run *r = ud;
    (void)rep;
    r->done++;
    if (r->sent < r->n) {
        uint64_t one = 1;
        r->sent++;
        al_ask(r->sink_a, &sink_msg, &one, NULL, ask_reply, r);
    } else if (r->done == r->n) {
        r->t1 = now_s();
        al_node_stop(r->node);
    }
}

static void ask_start(void *ud)
{
    ask_run *r = ud;
    al_spawn(r->node, &sink_class, &r->s, NULL, &r->sink_a);
    r->t0 = now_s();
    for (unsigned i = 0; i < r->inflight; i++) {
        uint64_t one = 1;
        r->sent++;
        al_ask(r->sink_a, &sink_msg, &one, NULL, ask_reply, r);
    }
}

static double bench_asks(uint64_t n, unsigned inflight)
{
    ask_run r;
    memset(&r, 0, sizeof(r));
    al_node_new(&r.node, NULL, NULL);
    r.n = n;
    r.inflight = inflight;
    al_node_post(r.node, ask_start, &r);
    al_node_run(r.node);
    al_actor_release(r.sink_a);
    al_node_free(r.node);
    return (double)n / (r.t1 - r.t0);
}

/* Heap bytes per idle actor, allocator overhead included, user state not.
 * Spawned on the loop; measured once every actor has run on_start, so the
 * start envelopes are back in the (bounded) free list. */
typedef struct bytes_run {
    al_node *node;
    al_actor **v;
    unsigned count, started;
    size_t before, after;
} bytes_run;

static bytes_run *bytes_cur;

static int bytes_on_start(void *state, al_actor *self)
{
    (void)state;
    (void)self;
    bytes_run *r = bytes_cur;
    if (++r->started == r->count) {
        r->after = mallinfo2().uordblks;
        al_node_stop(r->node);
    }
    return 0;
}

static const al_actor_class bytes_class = {.on_start = bytes_on_start};

static void bytes_start(void *ud)
{
    bytes_run *r = ud;
    r->before = mallinfo2().uordblks;
    for (unsigned i = 0; i < r->count; i++)
        al_spawn(r->node, &bytes_class, NULL, NULL, &r->v[i]);
}

static double bench_actor_bytes(unsigned count)
{
    bytes_run r = {0};
    bytes_cur = &r;
    r.count = count;
    r.v = malloc(count * sizeof(*r.v));
    al_node_new(&r.node, NULL, NULL);
    al_node_post(r.node, bytes_start, &r);
    al_node_run(r.node);
    for (unsigned i = 0; i < count; i++)
        al_actor_release(r.v[i]);
    free(r.v);
    al_node_free(r.node);
    return (double)(r.after - r.before) / count;
}

/* ------------------------------------------------------------ baseline */

typedef struct bnode {
    struct bnode *next;
    const al_message *m;
    uint64_t v;
} bnode;

static void base_handle(sink *s, uint64_t v)
{
    s->seen += v;
}

static double bench_baseline(uint64_t n)
{
    sink s = {0};
    bnode pool[1024];
    bnode *head = NULL, *tail = NULL;
    void (*volatile fn)(sink *, uint64_t) = base_handle;
    uint64_t done = 0;
    double t0 = now_s();
    while (done < n) {
        for (int i = 0; i < 1024; i++) {
            bnode *b = &pool[i];
            b->next = NULL;
            b->m = &sink_msg;
            b->v = 1;
            if (tail)
                tail->next = b;
            else
                head = b;
            tail = b;
        }
        while (head) {
            bnode *b = head;
            head = b->next;
            fn(&s, b->v);
            done++;
        }
        tail = NULL;
    }
    double t1 = now_s();
    if (s.seen != done)
        abort();
    return (double)done / (t1 - t0);
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 20000000;
    double base = bench_baseline(n);
    double tells = bench_tells(n);
    double asks1 = bench_asks(n / 4, 1);
    double asks64 = bench_asks(n / 4, 64);
    double bytes = bench_actor_bytes(100000);
    printf("baseline_queue_calls %.0f /s\n", base);
    printf("local_tells %.0f /s (goal >= 5000000)\n", tells);
    printf("local_asks_1_inflight %.0f /s (goal >= 2000000)\n", asks1);
    printf("local_asks_64_inflight %.0f /s (goal >= 2000000)\n", asks64);
    printf("bytes_per_idle_actor %.0f B (goal <= 256)\n", bytes);
    printf("ratio tells/baseline %.3f\n", tells / base);
    printf("ratio asks64/baseline %.3f\n", asks64 / base);
    return 0;
}
