/* Node lifecycle: the loop, the thread that may run it, shutdown order. */
#include <stdlib.h>
#include <string.h>

#include "actor.h"
#include "node.h"
#include "linkreg.h"

/* How long a stopping node waits for its actors' last signals to peers. */
#define AL__FAREWELL_MS 2000

static void farewell_late(al__timer *t);

static void on_wakeup(uv_async_t *h)
{
    al__node_drain_inbox(h->data);
}

static void on_dispatch(uv_idle_t *h)
{
    al__node_dispatch(h->data);
}

int al_node_new(al_node **out, const al_node_opts *opts, al_error *err)
{
    *out = NULL;
    int rc = al__registry_init(err);
    if (rc)
        return rc;
    al_node *n = calloc(1, sizeof(*n));
    if (!n)
        return al_error_set(err, AL_ENOMEM, "out of memory");
    if (uv_loop_init(&n->loop)) {
        free(n);
        return al_error_set(err, AL_EIO, "uv_loop_init failed");
    }
    n->loop.data = n;
    n->wakeup.data = n;
    n->dispatch.data = n;
    uv_async_init(&n->loop, &n->wakeup, on_wakeup);
    uv_idle_init(&n->loop, &n->dispatch);
    al__timers_init(&n->timers, &n->loop);
    pthread_mutex_init(&n->lock, NULL);
    pthread_cond_init(&n->cond, NULL);
    atomic_init(&n->next_seq, 0);
    atomic_init(&n->loop_running, false);
    n->batch = opts && opts->dispatch_batch ? opts->dispatch_batch : 256;
    *out = n;
    return 0;
}

uv_loop_t *al_node_loop(al_node *node)
{
    return &node->loop;
}

bool al_node_on_loop(const al_node *node)
{
    return atomic_load_explicit(&node->loop_running, memory_order_acquire) &&
           pthread_equal(pthread_self(), node->loop_thread);
}

void al__node_schedule(al_node *n)
{
    if (!n->dispatch_active) {
        n->dispatch_active = true;
        uv_idle_start(&n->dispatch, on_dispatch);
    }
}

int al_node_run(al_node *node)
{
    if (node->closed)
        return AL_ESTATE;
    node->loop_thread = pthread_self();
    atomic_store_explicit(&node->loop_running, true, memory_order_release);
    /* Work posted before the loop started is waiting in the inbox. */
    al__node_drain_inbox(node);
    uv_run(&node->loop, UV_RUN_DEFAULT);
    atomic_store_explicit(&node->loop_running, false, memory_order_release);
    return 0;
}

static void run_thread(void *arg)
{
    al_node_run(arg);
}

int al_node_start(al_node *node)
{
    if (node->has_thread)
        return AL_ESTATE;
    if (uv_thread_create(&node->thread, run_thread, node))
        return AL_EIO;
    node->has_thread = true;
    return 0;
}

int al_node_join(al_node *node)
{
    if (!node->has_thread)
        return AL_ESTATE;
    uv_thread_join(&node->thread);
    node->has_thread = false;
    return 0;
}

int al__node_add_closer(al_node *node, void (*stop)(al_node *, void *),
                        void *ud)
{
    al__closer *c = malloc(sizeof(*c));
    if (!c)
        return AL_ENOMEM;
    c->stop = stop;
    c->ud = ud;
    c->next = node->closers;
    node->closers = c;
    return 0;
}

static void finish(al_node *n, bool drain)
{
    pthread_mutex_lock(&n->lock);
    n->closed = true;
    pthread_mutex_unlock(&n->lock);
    /* The inbox may have gained work between the last drain and closed;
     * nothing can be added after closed is set. */
    if (drain)
        al__node_drain_inbox(n);
    uv_close((uv_handle_t *)&n->wakeup, NULL);
    uv_close((uv_handle_t *)&n->dispatch, NULL);
    al__timers_close(&n->timers);
}

static void check_later(void *ud)
{
    al__node_check_done(ud);
}

static void farewell_late(al__timer *t)
{
    al_node *n = (al_node *)((char *)t - offsetof(al_node, farewell_timer));
    n->farewells_abandoned = true;
    al__node_check_done(n);
}

/* Shutdown order: actors drain first (they may still use the swarm), then
 * the subsystems close, then the loop's own handles. Called whenever an
 * actor finalizes or a subsystem reports done. */
void al__node_check_done(al_node *n)
{
    if (!n->stopping || n->closed || n->nactors > 0)
        return;
    if (!n->closers_started) {
        /* Without memory for the timer the farewells are not waited for. */
        if (n->farewells && !n->farewells_abandoned &&
            (al__timer_armed(&n->farewell_timer) ||
             al__timer_start(&n->timers, &n->farewell_timer,
                             al__now(n) + AL__FAREWELL_MS, farewell_late) == 0))
            return;
        if (al__timer_armed(&n->farewell_timer))
            al__timer_stop(&n->timers, &n->farewell_timer);
        n->closers_started = true;
        for (al__closer *c = n->closers; c; c = c->next)
            n->pending_closers++;
        for (al__closer *c = n->closers; c; c = c->next)
            c->stop(n, c->ud);
    }
    if (n->pending_closers == 0 && !n->closed)
        finish(n, !n->freeing);
}

void al__node_farewell_begin(al_node *node)
{
    node->farewells++;
}

void al__node_farewell_end(al_node *node)
{
    if (node->farewells == 0)
        return;
    node->farewells--;
    /* The closers start from the timer, not from inside the sender's
     * completion, which they would tear down under its feet. */
    if (node->farewells == 0 && node->stopping && !node->closers_started &&
        al__timer_start(&node->timers, &node->farewell_timer, al__now(node),
                        farewell_late))
        al_node_post(node, check_later, node); /* no memory for the timer */
}

void al__node_closer_done(al_node *node)
{
    node->pending_closers--;
    al__node_check_done(node);
}

static void stop_on_loop(void *ud)
{
    al_node *n = ud;
    if (n->stopping)
        return;
    n->stopping = true;
    al__node_stop_actors(n);
    al__node_check_done(n);
}

void al_node_stop(al_node *node)
{
    if (al_node_on_loop(node))
        stop_on_loop(node);
    else
        al_node_post(node, stop_on_loop, node);
}

void al_node_free(al_node *node)
{
    if (!node)
        return;
    if (!node->closed) {
        /* The loop never ran to completion. Subsystems (the swarm) still
         * close through their closers, which need the loop; commands still
         * in the inbox (spawns, sends) are dropped, not run. */
        node->freeing = true;
        node->loop_thread = pthread_self();
        atomic_store(&node->loop_running, true);
        node->stopping = true;
        al__node_stop_actors(node);
        al__node_check_done(node);
        uv_run(&node->loop, UV_RUN_DEFAULT);
        atomic_store(&node->loop_running, false);
    }
    uv_run(&node->loop, UV_RUN_NOWAIT);
    uv_loop_close(&node->loop);
    al__env_free_all(node);
    al__closer *c = node->closers;
    while (c) {
        al__closer *next = c->next;
        free(c);
        c = next;
    }
    pthread_mutex_destroy(&node->lock);
    pthread_cond_destroy(&node->cond);
    free(node);
}
