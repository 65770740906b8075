/* actor.c, node.c, timer.c: local actors on a loop.
 *
 * Most tests run the node's loop on a second thread and drive it from the
 * test thread with the blocking helpers, which exercises the cross-thread
 * path; the rest post functions onto the loop to exercise the on-loop path.
 * Deadlines are generous: these machines are shared. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

#include <cmocka.h>

#include "actorlib.h"
#include "counter.h"

/* ------------------------------------------------------------ fixtures */

typedef struct probe {
    int64_t sum;
    int started;
    int stopped;
    int stop_reason;
    int link_died;
    int link_reason;
    int fail_start;
    bool keep_on_link_died;
    al_deferred *held;
    al_actor *self;
} probe;

static _Atomic int probes_freed;

static int probe_start(void *state, al_actor *self)
{
    probe *p = state;
    p->started++;
    p->self = self;
    return p->fail_start;
}

static void probe_stop(void *state, al_actor *self, int reason)
{
    probe *p = state;
    (void)self;
    p->stopped++;
    p->stop_reason = reason;
}

static bool probe_link_died(void *state, al_actor *self, uint64_t dead,
                            int reason)
{
    probe *p = state;
    (void)self;
    (void)dead;
    p->link_died++;
    p->link_reason = reason;
    return reason != AL_STOP_NORMAL && !p->keep_on_link_died;
}

/* Probes outlive their actors so tests can read them after the stop; the
 * class frees nothing but counts the call. */
static void probe_free(void *state)
{
    (void)state;
    probes_freed++;
}

static const al_actor_class probe_class = {
    .on_start = probe_start,
    .on_stop = probe_stop,
    .on_link_died = probe_link_died,
    .free_state = probe_free,
};

static void add_handler(void *state, al_ctx *ctx, void *msg)
{
    probe *p = state;
    p->sum += *(int64_t *)msg;
    al_ctx_reply(ctx, &p->sum, sizeof(p->sum));
}

static const al_message add_msg = {
    .name = "Add", .size = sizeof(int64_t), .handle = add_handler};

static void defer_handler(void *state, al_ctx *ctx, void *msg)
{
    probe *p = state;
    (void)msg;
    p->held = al_ctx_defer(ctx);
}

static const al_message defer_msg = {
    .name = "Defer", .size = 0, .handle = defer_handler};

static void silent_handler(void *state, al_ctx *ctx, void *msg)
{
    (void)state;
    (void)msg;
    assert_int_equal(al_ctx_reply(ctx, NULL, 0),
                     al_ctx_is_ask(ctx) ? 0 : AL_ESTATE);
}

static const al_message silent_msg = {
    .name = "Silent", .size = 0, .handle = silent_handler};

/* Sleeps inside the handler so that the mailbox fills up behind it. */
static void slow_handler(void *state, al_ctx *ctx, void *msg)
{
    (void)state;
    (void)ctx;
    usleep(*(uint32_t *)msg * 1000u);
}

static const al_message slow_msg = {
    .name = "Slow", .size = sizeof(uint32_t), .handle = slow_handler};

static al_node *start_node(void)
{
    al_node *n = NULL;
    al_error err;
    assert_int_equal(al_node_new(&n, NULL, &err), 0);
    assert_int_equal(al_node_start(n), 0);
    return n;
}

static void finish_node(al_node *n)
{
    al_node_stop(n);
    assert_int_equal(al_node_join(n), 0);
    al_node_free(n);
}

static al_actor *spawn_probe(al_node *n, probe *p, uint32_t cap)
{
    al_actor *a = NULL;
    al_spawn_opts o = {cap};
    assert_int_equal(al_spawn(n, &probe_class, p, &o, &a), 0);
    return a;
}

static int64_t ask_add(al_actor *a, int64_t v, int *status)
{
    int64_t out = -1;
    size_t len = 0;
    *status = al_ask_sync(a, &add_msg, &v, NULL, &out, sizeof(out), &len);
    if (*status == 0)
        assert_int_equal(len, sizeof(out));
    return out;
}

/* ------------------------------------------------------------ tests */

static void ask_replies_from_other_thread(void **s)
{
    (void)s;
    al_node *n = start_node();
    probe p = {0};
    al_actor *a = spawn_probe(n, &p, 0);
    int st;
    assert_int_equal(ask_add(a, 10, &st), 10);
    assert_int_equal(st, 0);
    assert_int_equal(ask_add(a, 10, &st), 20);
    assert_int_equal(p.started, 1);
    al_actor_release(a);
    finish_node(n);
    assert_int_equal(p.stopped, 1);
    assert_int_equal(p.stop_reason, AL_STOP_NORMAL);
}

static void tells_arrive_in_order(void **s)
{
    (void)s;
    al_node *n = start_node();
    probe p = {0};
    al_actor *a = spawn_probe(n, &p, 0);
    for (int64_t i = 1; i <= 1000; i++)
        assert_int_equal(al_tell(a, &add_msg, &i, NULL, NULL, NULL), 0);
    int st;
    /* The ask queues behind every tell, so it sees their sum. */
    assert_int_equal(ask_add(a, 0, &st), 500500);
    int64_t one = 1;
    assert_int_equal(al_tell_sync(a, &add_msg, &one, NULL), 0);
    al_actor_release(a);
    finish_node(n);
}

static void *hammer(void *arg)
{
    al_actor *a = arg;
    for (int64_t i = 0; i < 5000; i++)
        al_tell(a, &add_msg, &(int64_t){1}, NULL, NULL, NULL);
    return NULL;
}

static void many_threads_send_safely(void **s)
{
    (void)s;
    al_node *n = start_node();
    probe p = {0};
    al_actor *a = spawn_probe(n, &p, 0);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, hammer, a);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    int st;
    assert_int_equal(ask_add(a, 0, &st), 20000);
    al_actor_release(a);
    finish_node(n);
}

/* An async reply collected on a non-loop thread. */
typedef struct pending {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done;
    int status;
    int64_t value;
    size_t len;
} pending;

static void pending_init(pending *pd)
{
    memset(pd, 0, sizeof(*pd));
    pthread_mutex_init(&pd->lock, NULL);
    pthread_cond_init(&pd->cond, NULL);
}

static void pending_reply(const al_reply *r, void *ud)
{
    pending *pd = ud;
    pthread_mutex_lock(&pd->lock);
    pd->status = r->status;
    pd->len = r->len;
    if (r->data && r->len == sizeof(int64_t))
        memcpy(&pd->value, r->data, sizeof(int64_t));
    pd->done = true;
    pthread_cond_broadcast(&pd->cond);
    pthread_mutex_unlock(&pd->lock);
}

static int pending_wait(pending *pd)
{
    pthread_mutex_lock(&pd->lock);
    while (!pd->done)
        pthread_cond_wait(&pd->cond, &pd->lock);
    pthread_mutex_unlock(&pd->lock);
    return pd->status;
}

static void deferred_reply_from_thread(void **s)
{
    (void)s;
    al_node *n = start_node();
    probe p = {0};
    al_actor *a = spawn_probe(n, &p, 0);
    pending pd;
    pending_init(&pd);
    assert_int_equal(al_ask(a, &defer_msg, NULL, NULL, pending_reply, &pd), 0);
    int st;
    /* This ask is handled after the deferring one, so p.held is set. */
    ask_add(a, 0, &st);
    assert_non_null(p.held);
    int64_t v = 77;
    assert_int_equal(al_deferred_reply(p.held, &v, sizeof(v)), 0);
    assert_int_equal(pending_wait(&pd), 0);
    assert_int_equal(pd.value, 77);
    al_actor_release(a);
    finish_node(n);
}

static void reply_timeout_then_late_reply_ignored(void **s)
{
    (void)s;
    al_node *n = start_node();
    probe p = {0};
    al_actor *a = spawn_probe(n, &p, 0);
    al_send_opts o = AL_SEND_OPTS_DEFAULT;
    o.reply_timeout_ms = 30;
    pending pd;
    pending_init(&pd);
    assert_int_equal(al_ask(a, &defer_msg, NULL, &o, pending_reply, &pd), 0);
    assert_int_equal(pending_wait(&pd), AL_E_REPLY_TIMEOUT);
    int st;
    ask_add(a, 0, &st);
    assert_non_null(p.held);
    /* The slot must still be answered once; the answer goes nowhere. */
    int64_t v = 1;
    assert_int_equal(al_deferred_reply(p.held, &v, sizeof(v)), 0);
    assert_int_equal(ask_add(a, 3, &st), 3);
    al_actor_release(a);
    finish_node(n);
}

static void ask_without_reply_gets_unit(void **s)
{
    (void)s;
    al_node *n = start_node();
    probe p = {0};
    al_actor *a = spawn_probe(n, &p, 0);
    pending pd;
    pending_init(&pd);
    assert_int_equal(al_ask(a, &silent_msg, NULL, NULL, pending_reply, &pd), 0);
    assert_int_equal(pending_wait(&pd), 0);
    assert_int_equal(pd.len, 0);
    assert_int_equal(al_tell_sync(a, &silent_msg, NULL, NULL), 0);
    al_actor_release(a);
    finish_node(n);
}

static void graceful_stop_drains(void **s)
{
    (void)s;
    al_node *n = start_node();
    probe p = {0};
    al_actor *a = spawn_probe(n, &p, 0);
    uint32_t ms = 50;
    pending pd;
    pending_init(&pd);
    assert_int_equal(al_tell(a, &slow_msg, &ms, NULL, NULL, NULL), 0);
    int64_t v = 4;
    assert_int_equal(al_ask(a, &add_msg, &v, NULL, pending_reply, &pd), 0);
    al_actor_stop(a);
    assert_int_equal(al_actor_wait(a), AL_STOP_NORMAL);
    /* The ask queued before the stop was still handled. */
    assert_int_equal(pending_wait(&pd), 0);
    assert_int_equal(pd.value, 4);
    assert_false(al_actor_is_alive(a));
    int st;
    ask_add(a, 1, &st);
    assert_int_equal(st, AL_E_ACTOR_NOT_RUNNING);
    assert_int_equal(p.stopped, 1);
    al_actor_release(a);
    finish_node(n);
}

/* Bounded mailboxes, driven on the loop so the mailbox state is exact. */
typedef struct box_job {
    al_node *n;
    al_actor *a;
    probe p;
    int results[4];
    int nresults;
} box_job;

static void box_result(const al_reply *r, void *ud)
{
    box_job *j = ud;
    j->results[j->nresults++] = r->status;
    if (j->nresults == 2)
        al_node_stop(j->n);
}

static void box_done(int status, void *ud)
{
    al_reply r = {status, NULL, 0, NULL};
    box_result(&r, ud);
}

static void run_box(box_job *j, void (*fn)(void *))
{
    al_error err;
    assert_int_equal(al_node_new(&j->n, NULL, &err), 0);
    assert_int_equal(al_node_post(j->n, fn, j), 0);
    assert_int_equal(al_node_run(j->n), 0);
    al_actor_release(j->a);
    al_node_free(j->n);
}

static void box_immediate(void *ud)
{
    box_job *j = ud;
    al_spawn_opts o1 = {1};
    assert_int_equal(al_spawn(j->n, &probe_class, &j->p, &o1, &j->a), 0);
    uint32_t ms = 1;
    al_send_opts o = AL_SEND_OPTS_DEFAULT;
    o.immediate = true;
    /* The first fills the only slot; the next two find it full. */
    assert_int_equal(al_tell(j->a, &slow_msg, &ms, &o, NULL, NULL), 0);
    int64_t v = 1;
    assert_int_equal(al_tell(j->a, &add_msg, &v, &o, box_done, j), 0);
    assert_int_equal(al_ask(j->a, &add_msg, &v, &o, box_result, j), 0);
}

static void bounded_immediate_fails_when_full(void **s)
{
    (void)s;
    box_job j = {0};
    run_box(&j, box_immediate);
    assert_int_equal(j.nresults, 2);
    assert_int_equal(j.results[0], AL_E_MAILBOX_FULL);
    assert_int_equal(j.results[1], AL_E_MAILBOX_FULL);
    assert_int_equal(j.p.sum, 0);
}

static void box_wait(void *ud)
{
    box_job *j = ud;
    al_spawn_opts o1 = {1};
    assert_int_equal(al_spawn(j->n, &probe_class, &j->p, &o1, &j->a), 0);
    uint32_t ms = 150;
    assert_int_equal(al_tell(j->a, &slow_msg, &ms, NULL, NULL, NULL), 0);
    assert_int_equal(al_tell(j->a, &slow_msg, &ms, NULL, NULL, NULL), 0);
    /* Waits behind two 150 ms handlers: longer than its 50 ms. */
    al_send_opts o = AL_SEND_OPTS_DEFAULT;
    o.mailbox_timeout_ms = 50;
    int64_t v = 1;
    assert_int_equal(al_ask(j->a, &add_msg, &v, &o, box_result, j), 0);
    /* No timeout: waits as long as it takes, then gets in. */
    v = 2;
    assert_int_equal(al_ask(j->a, &add_msg, &v, NULL, box_result, j), 0);
}

static void mailbox_timeout_expires(void **s)
{
    (void)s;
    box_job j = {0};
    run_box(&j, box_wait);
    assert_int_equal(j.nresults, 2);
    /* The second gets in and replies first; the failure is reported from
     * the completion queue right after. */
    assert_int_equal(j.results[0], 0);
    assert_int_equal(j.results[1], AL_E_MAILBOX_FULL);
    assert_int_equal(j.p.sum, 2);
}

static void box_kill(void *ud)
{
    box_job *j = ud;
    assert_int_equal(al_spawn(j->n, &probe_class, &j->p, NULL, &j->a), 0);
    int64_t v = 1;
    assert_int_equal(al_ask(j->a, &add_msg, &v, NULL, box_result, j), 0);
    assert_int_equal(al_tell(j->a, &add_msg, &v, NULL, box_done, j), 0);
    al_actor_kill(j->a);
}

static void kill_fails_queued_messages(void **s)
{
    (void)s;
    box_job j = {0};
    run_box(&j, box_kill);
    assert_int_equal(j.nresults, 2);
    assert_int_equal(j.results[0], AL_E_ACTOR_STOPPED);
    /* The tell was accepted into the mailbox before the kill. */
    assert_int_equal(j.results[1], 0);
    assert_int_equal(j.p.sum, 0);
    assert_int_equal(j.p.stop_reason, AL_STOP_KILLED);
}

static void start_failure_stops_actor(void **s)
{
    (void)s;
    al_node *n = start_node();
    probe p = {.fail_start = 1};
    al_actor *a = spawn_probe(n, &p, 0);
    assert_int_equal(al_actor_wait(a), AL_STOP_START_FAILED);
    int st;
    ask_add(a, 1, &st);
    assert_int_equal(st, AL_E_ACTOR_NOT_RUNNING);
    al_actor_release(a);
    finish_node(n);
}

static void links_propagate_death(void **s)
{
    (void)s;
    al_node *n = start_node();
    probe pa = {0}, pb = {0}, pc = {.keep_on_link_died = true};
    al_actor *a = spawn_probe(n, &pa, 0);
    al_actor *b = spawn_probe(n, &pb, 0);
    al_actor *c = spawn_probe(n, &pc, 0);
    assert_int_equal(al_actor_link(a, b), 0);
    assert_int_equal(al_actor_link(c, b), 0);
    assert_int_equal(al_actor_link(a, a), AL_EINVAL);
    int st;
    ask_add(a, 0, &st); /* links are in place once this returns */
    ask_add(c, 0, &st);
    al_actor_kill(b);
    /* a stops by default; c's on_link_died keeps it running. */
    assert_int_equal(al_actor_wait(a), AL_STOP_LINK_DIED);
    assert_int_equal(pa.link_reason, AL_STOP_KILLED);
    assert_int_equal(ask_add(c, 2, &st), 2);
    assert_int_equal(pc.link_died, 1);
    al_actor_release(a);
    al_actor_release(b);
    al_actor_release(c);
    finish_node(n);
}

static void normal_stop_does_not_kill_links(void **s)
{
    (void)s;
    al_node *n = start_node();
    probe pa = {0}, pb = {0};
    al_actor *a = spawn_probe(n, &pa, 0);
    al_actor *b = spawn_probe(n, &pb, 0);
    assert_int_equal(al_actor_link(a, b), 0);
    assert_int_equal(al_actor_unlink(a, b), 0);
    assert_int_equal(al_actor_link(a, b), 0);
    al_actor_stop(b);
    assert_int_equal(al_actor_wait(b), AL_STOP_NORMAL);
    int st;
    assert_int_equal(ask_add(a, 9, &st), 9);
    assert_int_equal(pa.link_died, 1);
    assert_int_equal(pa.link_reason, AL_STOP_NORMAL);
    al_actor_release(a);
    al_actor_release(b);
    finish_node(n);
}

/* ---- on-loop path: everything below runs inside posted functions ---- */

typedef struct loop_job {
    al_node *n;
    al_actor *a;
    probe p;
    int replies;
    int64_t last;
    int status;
} loop_job;

static void loop_reply(const al_reply *r, void *ud)
{
    loop_job *j = ud;
    j->replies++;
    j->status = r->status;
    if (r->status == 0)
        memcpy(&j->last, r->data, sizeof(j->last));
    if (j->replies == 3)
        al_node_stop(j->n);
}

static void loop_start(void *ud)
{
    loop_job *j = ud;
    assert_true(al_node_on_loop(j->n));
    assert_int_equal(al_spawn(j->n, &probe_class, &j->p, NULL, &j->a), 0);
    for (int64_t i = 1; i <= 3; i++)
        assert_int_equal(al_ask(j->a, &add_msg, &i, NULL, loop_reply, j), 0);
    /* Replies never arrive from inside the sending call. */
    assert_int_equal(j->replies, 0);
}

static void on_loop_asks(void **s)
{
    (void)s;
    loop_job j = {0};
    al_error err;
    assert_int_equal(al_node_new(&j.n, NULL, &err), 0);
    assert_false(al_node_on_loop(j.n));
    assert_int_equal(al_node_post(j.n, loop_start, &j), 0);
    assert_int_equal(al_node_run(j.n), 0); /* returns once stopped */
    assert_int_equal(j.replies, 3);
    assert_int_equal(j.last, 6);
    assert_int_equal(j.p.stopped, 1);
    al_actor_release(j.a);
    assert_int_equal(al_node_post(j.n, loop_start, &j), AL_ESTATE);
    al_node_free(j.n);
}

/* Releasing the last reference from inside the actor's own handler must
 * not free it under the handler's feet (ASan watches this). */
static void release_self(void *state, al_ctx *ctx, void *msg)
{
    (void)ctx;
    (void)msg;
    probe *p = state;
    al_actor_kill(p->self);
    al_actor_release(p->self);
    p->sum = 42;
}

static const al_message release_msg = {
    .name = "Release", .size = 0, .handle = release_self};

static void release_inside_own_handler(void **s)
{
    (void)s;
    al_node *n = start_node();
    probe p = {0};
    al_actor *a = spawn_probe(n, &p, 0);
    int st;
    ask_add(a, 0, &st);
    /* The handler takes over our reference and drops it. */
    assert_int_equal(al_tell_sync(a, &release_msg, NULL, NULL), 0);
    finish_node(n);
    assert_int_equal(p.sum, 42);
    assert_int_equal(p.stopped, 1);
    assert_int_equal(p.stop_reason, AL_STOP_KILLED);
}

static void bad_arguments(void **s)
{
    (void)s;
    al_node *n = start_node();
    probe p = {0};
    al_actor *a = spawn_probe(n, &p, 0);
    assert_int_equal(al_tell(NULL, &add_msg, &(int64_t){1}, NULL, NULL, NULL),
                     AL_EINVAL);
    assert_int_equal(al_tell(a, &add_msg, NULL, NULL, NULL, NULL), AL_EINVAL);
    assert_int_equal(al_ask(a, &add_msg, &(int64_t){1}, NULL, NULL, NULL),
                     AL_EINVAL);
    assert_int_equal(al_spawn(n, NULL, NULL, NULL, NULL), AL_EINVAL);
    assert_int_equal(al_node_post(n, NULL, NULL), AL_EINVAL);
    al_actor_release(a);
    finish_node(n);
}

static void node_stop_stops_everyone(void **s)
{
    (void)s;
    al_node *n = start_node();
    probe p[10] = {0};
    al_actor *a[10];
    for (int i = 0; i < 10; i++)
        a[i] = spawn_probe(n, &p[i], 0);
    int freed_before = probes_freed;
    finish_node(n);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(p[i].stopped, 1);
        al_actor_release(a[i]);
    }
    assert_int_equal(probes_freed - freed_before, 10);
}

static void counter_example_local(void **s)
{
    (void)s;
    al_node *n = start_node();
    al_actor *c = NULL;
    assert_int_equal(counter_spawn(n, 0, &c), 0);
    counter_amount inc = {10};
    int64_t out = 0;
    assert_int_equal(
        al_ask_sync(c, &counter_inc, &inc, NULL, &out, sizeof(out), NULL), 0);
    assert_int_equal(out, 10);
    assert_int_equal(
        al_ask_sync(c, &counter_inc, &inc, NULL, &out, sizeof(out), NULL), 0);
    assert_int_equal(out, 20);
    counter_amount big = {100};
    counter_underflow u = {0};
    assert_int_equal(
        al_ask_sync(c, &counter_trydec, &big, NULL, &u, sizeof(u), NULL),
        AL_E_HANDLER_ERROR);
    assert_int_equal(u.count, 20);
    assert_int_equal(u.amount, 100);
    counter_sleep sl = {20};
    uint32_t slept = 0;
    assert_int_equal(al_ask_sync(c, &counter_sleep_msg, &sl, NULL, &slept,
                                 sizeof(slept), NULL),
                     0);
    assert_int_equal(slept, 20);
    uint64_t before = counter_logs_seen();
    counter_log lg = {strdup("hello")};
    assert_int_equal(al_tell_sync(c, &counter_log_msg, &lg, NULL), 0);
    assert_int_equal(
        al_ask_sync(c, &counter_inc, &inc, NULL, &out, sizeof(out), NULL), 0);
    assert_int_equal(counter_logs_seen(), before + 1);
    al_actor_release(c);
    finish_node(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ask_replies_from_other_thread),
        cmocka_unit_test(tells_arrive_in_order),
        cmocka_unit_test(many_threads_send_safely),
        cmocka_unit_test(bounded_immediate_fails_when_full),
        cmocka_unit_test(mailbox_timeout_expires),
        cmocka_unit_test(deferred_reply_from_thread),
        cmocka_unit_test(reply_timeout_then_late_reply_ignored),
        cmocka_unit_test(ask_without_reply_gets_unit),
        cmocka_unit_test(graceful_stop_drains),
        cmocka_unit_test(kill_fails_queued_messages),
        cmocka_unit_test(start_failure_stops_actor),
        cmocka_unit_test(links_propagate_death),
        cmocka_unit_test(normal_stop_does_not_kill_links),
        cmocka_unit_test(on_loop_asks),
        cmocka_unit_test(release_inside_own_handler),
        cmocka_unit_test(bad_arguments),
        cmocka_unit_test(node_stop_stops_everyone),
        cmocka_unit_test(counter_example_local),
    };
    return cmocka_run_group_tests_name("actor", tests, NULL, NULL);
}
