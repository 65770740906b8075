/* The seed's example on one node, no network: spawn remote::MyActor, ask
 * Inc { amount: 10 } twice, tell a LogMessage, stop. */
#include <stdio.h>
#include <string.h>

#include "counter.h"

int main(void)
{
    al_node *node;
    al_error err;
    if (al_node_new(&node, NULL, &err)) {
        fprintf(stderr, "counter-local: %s\n", err.msg);
        return 1;
    }
    al_node_start(node);
    al_actor *actor;
    int rc = counter_spawn(node, 0, &actor);
    for (int i = 0; rc == 0 && i < 2; i++) {
        counter_amount inc = {10};
        int64_t count;
        rc = al_ask_sync(actor, &counter_inc, &inc, NULL, &count, sizeof(count),
                         NULL);
        if (rc == 0)
            printf("Incremented count: %lld\n", (long long)count);
    }
    if (rc == 0) {
        counter_log msg = {strdup("Logging event")};
        rc = al_tell_sync(actor, &counter_log_msg, &msg, NULL);
    }
    if (rc)
        fprintf(stderr, "counter-local: %s\n", al_strerror(rc));
    al_actor_release(actor);
    al_node_stop(node);
    al_node_join(node);
    al_node_free(node);
    return rc ? 1 : 0;
}
