/* The gateway with actors in its own process, for the integration tests
 * that need an actor behind the HTTP side without a swarm: the counter of
 * the seed's example and two test actor types, served through the local
 * net exactly as a remote node would serve them (MessagePack decoded by
 * the message's codec, the reply encoded again).
 *
 * Names:
 *   my_actor   remote::MyActor, unbounded mailbox
 *   small_box  remote::MyActor, mailbox of 1 (for MailboxFull)
 *   loose      test::Loose: handles Inc's codec under its own UUIDs, so
 *              that a schema can disagree with the actor's code
 *   other      test::Other: a type without messages
 *
 * Flags are the gateway's, plus
 *   --with-swarm   names the process does not hold go to the swarm (without
 *                  it there is no swarm at all and they are not found);
 *   --shift-seq N  spawns N unnamed test::Other actors first, so that the
 *                  named ones get other actor ids than in a run without it
 *                  (a name cache kept across a restart then points at ids
 *                  that serve nothing: the evict-and-resolve-again path). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "counter.h"

#define LOOSE_INC_ID  "5a0c3f8e-1b2d-4c6e-9f7a-0b1c2d3e4f50"
#define LOOSE_TEXT_ID "5a0c3f8e-1b2d-4c6e-9f7a-0b1c2d3e4f51"

static void free_state(void *s)
{
    free(s);
}

static const al_actor_class loose_class = {
    .remote_id = "test::Loose",
    .free_state = free_state,
};

static const al_actor_class other_class = {
    .remote_id = "test::Other",
};

/* The counter's handlers under test::Loose: same codec, other UUIDs. */
AL_REMOTE_ACTOR(loose_class);
AL_REMOTE_MESSAGE(loose_class, counter_inc, LOOSE_INC_ID);
AL_REMOTE_MESSAGE(loose_class, counter_inc, LOOSE_TEXT_ID);

static int spawn_loose(al_node *node, al_actor **out)
{
    /* The counter's handlers read their state as a counter: give them
     * one. */
    int64_t *state = calloc(1, 64);
    if (!state)
        return AL_ENOMEM;
    return al_spawn(node, &loose_class, state, NULL, out);
}

static unsigned shift_seq;

static int setup(al_node *node, gw_net *local, void *ud)
{
    (void)ud;
    al_actor *a;
    int rc;
    for (unsigned i = 0; i < shift_seq; i++) {
        if ((rc = al_spawn(node, &other_class, NULL, NULL, &a)))
            return rc;
        al_actor_release(a);
    }
    if ((rc = counter_spawn(node, 0, &a)) ||
        (rc = gw_local_net_register(local, "my_actor", a, &counter_class)))
        return rc;
    al_actor_release(a);
    if ((rc = counter_spawn(node, 1, &a)) ||
        (rc = gw_local_net_register(local, "small_box", a, &counter_class)))
        return rc;
    al_actor_release(a);
    if ((rc = spawn_loose(node, &a)) ||
        (rc = gw_local_net_register(local, "loose", a, &loose_class)))
        return rc;
    al_actor_release(a);
    if ((rc = al_spawn(node, &other_class, NULL, NULL, &a)) ||
        (rc = gw_local_net_register(local, "other", a, &other_class)))
        return rc;
    al_actor_release(a);
    return 0;
}

int main(int argc, char **argv)
{
    gw_hooks hooks = {setup, NULL, true};
    int n = 0;
    for (int i = 0; i < argc; i++) {
        if (i > 0 && strcmp(argv[i], "--with-swarm") == 0)
            hooks.no_swarm = false;
        else if (i > 0 && i + 1 < argc && strcmp(argv[i], "--shift-seq") == 0)
            shift_seq = (unsigned)strtoul(argv[++i], NULL, 10);
        else
            argv[n++] = argv[i];
    }
    return gw_main(n, argv, &hooks);
}
