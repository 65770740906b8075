/* Test harness for swarm tests: nodes running on their own threads, calls
 * carried out on a node's loop and waited for, swarm events recorded, and
 * waits on conditions with generous deadlines. Header-only: each test
 * binary includes it once. */
#ifndef SWARM_HARNESS_H
#define SWARM_HARNESS_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actorlib.h"
#include "node.h"
#include "swarm.h"

#define DEADLINE_MS 15000

typedef struct tnode {
    al_node *node;
    al_peer_id id;
    char addr[256]; /* first listen address, with /p2p */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int connected, disconnected, identified, listening;
    int last_reason;
    char last_agent[64];
} tnode;

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------ on the loop */

typedef struct call {
    void (*fn)(void *);
    void *arg;
    bool done;
    pthread_mutex_t mu;
    pthread_cond_t cv;
} call;

static void call_run(void *ud)
{
    call *c = ud;
    c->fn(c->arg);
    pthread_mutex_lock(&c->mu);
    c->done = true;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

/* Runs fn(arg) on node's loop and waits for it. Returns false on
 * timeout. */
static bool on_loop(al_node *node, void (*fn)(void *), void *arg)
{
    call c = {.fn = fn, .arg = arg};
    pthread_mutex_init(&c.mu, NULL);
    pthread_cond_init(&c.cv, NULL);
    if (al_node_post(node, call_run, &c))
        return false;
    uint64_t end = mono_ms() + DEADLINE_MS;
    pthread_mutex_lock(&c.mu);
    while (!c.done && mono_ms() < end) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 20 * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&c.cv, &c.mu, &ts);
    }
    bool done = c.done;
    pthread_mutex_unlock(&c.mu);
    /* A call that timed out still references c: leak-free only when done;
     * a timeout fails the test anyway. */
    if (done) {
        pthread_mutex_destroy(&c.mu);
        pthread_cond_destroy(&c.cv);
    }
    return done;
}

/* Waits until cond(arg) holds, re-checking on the caller's thread. */
static bool wait_until(bool (*cond)(void *), void *arg, uint64_t ms)
{
    uint64_t end = mono_ms() + ms;
    while (mono_ms() < end) {
        if (cond(arg))
            return true;
        struct timespec ts = {0, 2 * 1000000};
        nanosleep(&ts, NULL);
    }
    return cond(arg);
}

/* ------------------------------------------------------------ nodes */

static void record_event(const al_swarm_event *ev, void *ud)
{
    tnode *t = ud;
    pthread_mutex_lock(&t->mu);
    switch (ev->type) {
    case AL_SWARM_CONNECTED:
        t->connected++;
        break;
    case AL_SWARM_DISCONNECTED:
        t->disconnected++;
        t->last_reason = ev->reason;
        break;
    case AL_SWARM_IDENTIFIED:
        t->identified++;
        snprintf(t->last_agent, sizeof(t->last_agent), "%s",
                 ev->agent ? ev->agent : "");
        break;
    case AL_SWARM_LISTENING:
        t->listening++;
        break;
    }
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

static int tn_get(tnode *t, int *field)
{
    pthread_mutex_lock(&t->mu);
    int v = *field;
    pthread_mutex_unlock(&t->mu);
    return v;
}

typedef struct start_args {
    tnode *t;
    const al_swarm_opts *opts;
    const char *listen;
    int rc;
    al_error err;
} start_args;

static void do_start(void *arg)
{
    start_args *a = arg;
    a->rc = al_swarm_bootstrap(a->t->node, NULL, a->opts, &a->err);
    if (a->rc)
        return;
    al_swarm_on_event(a->t->node, record_event, a->t);
    al_swarm_local_peer_id(a->t->node, &a->t->id);
    if (a->listen) {
        a->rc = al_swarm_listen_on(a->t->node, a->listen, &a->err);
        if (a->rc)
            return;
        char *addrs[8];
        size_t n = al_swarm_listen_addrs(a->t->node, addrs, 8);
        if (n > 0)
            snprintf(a->t->addr, sizeof(a->t->addr), "%s", addrs[0]);
        for (size_t i = 0; i < n; i++)
            free(addrs[i]);
    }
}

/* A node with a swarm on its own thread; listen may be NULL. Returns 0 or
 * the failing code. */
static int tn_start(tnode *t, const al_swarm_opts *opts, const char *listen)
{
    memset(t, 0, sizeof(*t));
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    int rc = al_node_new(&t->node, NULL, NULL);
    if (rc)
        return rc;
    rc = al_node_start(t->node);
    if (rc)
        return rc;
    start_args a = {.t = t, .opts = opts, .listen = listen};
    if (!on_loop(t->node, do_start, &a))
        return AL_ETIMEDOUT;
    if (a.rc)
        fprintf(stderr, "tn_start: %s\n", a.err.msg);
    return a.rc;
}

static void tn_stop(tnode *t)
{
    if (!t->node)
        return;
    al_node_stop(t->node);
    al_node_join(t->node);
    al_node_free(t->node);
    t->node = NULL;
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
}

/* ------------------------------------------------------------ dial, ping */

typedef struct dial_args {
    tnode *t;
    const char *addr;
    int rc;
    bool done;
    int status;
    al_peer_id peer;
    char detail[AL_ERROR_MSG];
    pthread_mutex_t mu;
} dial_args;

static void dial_done(int status, const al_peer_id *peer, const char *detail,
                      void *ud)
{
    dial_args *a = ud;
    pthread_mutex_lock(&a->mu);
    a->status = status;
    if (peer)
        a->peer = *peer;
    snprintf(a->detail, sizeof(a->detail), "%s", detail ? detail : "");
    a->done = true;
    pthread_mutex_unlock(&a->mu);
}

static void do_dial(void *arg)
{
    dial_args *a = arg;
    a->rc = al_swarm_dial(a->t->node, a->addr, dial_done, a);
}

static bool dial_finished(void *arg)
{
    dial_args *a = arg;
    pthread_mutex_lock(&a->mu);
    bool d = a->done;
    pthread_mutex_unlock(&a->mu);
    return d;
}

/* Dials addr from t and waits for the outcome; returns the status (or
 * the call's error, or AL_ETIMEDOUT). */
static int tn_dial(tnode *t, const char *addr, dial_args *out)
{
    dial_args local;
    dial_args *a = out ? out : &local;
    memset(a, 0, sizeof(*a));
    pthread_mutex_init(&a->mu, NULL);
    a->t = t;
    a->addr = addr;
    if (!on_loop(t->node, do_dial, a))
        return AL_ETIMEDOUT;
    if (a->rc)
        return a->rc;
    if (!wait_until(dial_finished, a, DEADLINE_MS))
        return AL_ETIMEDOUT;
    return a->status;
}

typedef struct ping_args {
    tnode *t;
    al_peer_id peer;
    int rc;
    bool done;
    int status;
    uint64_t rtt;
    pthread_mutex_t mu;
} ping_args;

static void ping_done(int status, uint64_t rtt, void *ud)
{
    ping_args *a = ud;
    pthread_mutex_lock(&a->mu);
    a->status = status;
    a->rtt = rtt;
    a->done = true;
    pthread_mutex_unlock(&a->mu);
}

static void do_ping(void *arg)
{
    ping_args *a = arg;
    a->rc = al_swarm_ping(a->t->node, &a->peer, ping_done, a);
}

static bool ping_finished(void *arg)
{
    ping_args *a = arg;
    pthread_mutex_lock(&a->mu);
    bool d = a->done;
    pthread_mutex_unlock(&a->mu);
    return d;
}

static int tn_ping(tnode *t, const al_peer_id *peer, uint64_t *rtt)
{
    ping_args a;
    memset(&a, 0, sizeof(a));
    pthread_mutex_init(&a.mu, NULL);
    a.t = t;
    a.peer = *peer;
    if (!on_loop(t->node, do_ping, &a))
        return AL_ETIMEDOUT;
    if (a.rc)
        return a.rc;
    if (!wait_until(ping_finished, &a, DEADLINE_MS))
        return AL_ETIMEDOUT;
    if (rtt)
        *rtt = a.rtt;
    return a.status;
}

typedef struct peers_args {
    tnode *t;
    al_peer_info info[16];
    size_t n;
} peers_args;

static void do_peers(void *arg)
{
    peers_args *a = arg;
    a->n = al_swarm_peers(a->t->node, a->info, 16);
}

static size_t tn_peers(tnode *t, peers_args *out)
{
    peers_args local;
    peers_args *a = out ? out : &local;
    memset(a, 0, sizeof(*a));
    a->t = t;
    if (!on_loop(t->node, do_peers, a))
        return (size_t)-1;
    return a->n;
}

#endif
