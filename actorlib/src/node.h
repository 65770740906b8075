/* The node: one libuv loop, its cross-thread inbox, the ready queue of
 * actors with mail, deadlines, and hooks for the subsystems (swarm) that
 * live on the same loop. Shared by actor.c and the swarm modules. */
#ifndef AL_NODE_H
#define AL_NODE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "actorlib.h"
#include "timer.h"

typedef struct al__env al__env;

/* A subsystem that must shut down with the node: stop() is called once on
 * the loop when the node stops; the subsystem calls al__node_closer_done
 * when its handles are closed. */
typedef struct al__closer {
    void (*stop)(al_node *node, void *ud);
    void *ud;
    struct al__closer *next;
} al__closer;

struct al_node {
    uv_loop_t loop;
    uv_async_t wakeup;  /* cross-thread inbox has work */
    uv_idle_t dispatch; /* ready actors or completions pending */
    al__timers timers;
    pthread_t loop_thread;
    atomic_bool loop_running;
    uv_thread_t thread; /* al_node_start's thread */
    bool has_thread;

    pthread_mutex_t lock; /* guards inbox and the stopped-actor condvar */
    pthread_cond_t cond;
    al__env *inbox_head, *inbox_tail;

    al_actor *ready_head, *ready_tail;
    al__env *done_head, *done_tail; /* completions to report */
    al__env *free_envs;             /* recycled envelopes, loop only */
    size_t nfree;

    al_actor *actors; /* every started, not yet finalized actor */
    size_t nactors;
    atomic_uint_fast64_t next_seq;

    unsigned batch;
    bool stopping;
    bool dispatch_active;
    bool closed;
    bool closers_started;
    bool freeing; /* al_node_free on a loop that never finished */
    int pending_closers;
    al__closer *closers;
    /* Messages the stopping actors still send (remote link-death signals):
     * the closers wait for them, at most AL__FAREWELL_MS. */
    unsigned farewells;
    bool farewells_abandoned;
    al__timer farewell_timer;

    void *swarm;  /* owned by the swarm module (swarm.c) */
    void *kad;    /* owned by kad.c */
    void *remote; /* owned by remote.c */
};

/* Loop milliseconds (uv_now). */
static inline uint64_t al__now(al_node *n)
{
    return uv_now(&n->loop);
}

int al__node_add_closer(al_node *node, void (*stop)(al_node *, void *),
                        void *ud);
void al__node_closer_done(al_node *node);
/* A message sent while the node stops, that its closers should let go out
 * first: begin once it is under way, end when it was delivered or failed. */
void al__node_farewell_begin(al_node *node);
void al__node_farewell_end(al_node *node);

/* actor.c, called by node.c; al__node_dispatch also by the swarm before it
 * writes packets (see swarm.c's before_packets). */
void al__node_dispatch(al_node *node);
void al__node_drain_inbox(al_node *node);
void al__node_stop_actors(al_node *node);
void al__env_free_all(al_node *node);
void al__node_schedule(al_node *node);
/* node.c: re-checks whether a stopping node can finish. */
void al__node_check_done(al_node *node);

#endif
