/* Actors on a node's loop: mailboxes, dispatch, asks and tells, stop and
 * kill, links. The public half is in actorlib.h; this header holds what the
 * swarm modules need. */
#ifndef AL_ACTOR_H
#define AL_ACTOR_H

#include "actorlib.h"

/* Loop thread only. The actor's class and its node-local state. */
const al_actor_class *al__actor_class(const al_actor *a);

/* Loop thread only: finds a live actor of this node by sequence id; the
 * result is borrowed (retain it to keep it). */
al_actor *al__actor_find(al_node *node, uint64_t seq);

/* Observers of an actor's death (remote links use this): cb runs on the loop
 * once, when the actor finalizes, with its stop reason. */
typedef struct al__death_watch {
    void (*cb)(struct al__death_watch *w, al_actor *dead, int reason);
    struct al__death_watch *next;
} al__death_watch;

void al__actor_watch(al_actor *a, al__death_watch *w);
void al__actor_unwatch(al_actor *a, al__death_watch *w);

/* Delivers a link-died signal to a local actor, as a linked local actor's
 * death does (used for remote links). Loop thread only. */
int al__actor_signal_link_died(al_actor *a, uint64_t dead_seq, int reason);

#endif
