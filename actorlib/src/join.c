/* al_swarm_join: what every node program does at start with its bootstrap
 * addresses (dial them, tell Kademlia, fill the routing table), in one
 * call built on the public swarm functions. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "actorlib.h"
#include "kad.h"

typedef struct join join;

/* One bootstrap address. An address without /p2p/ is dialed all the same
 * (the TLS handshake proves who answers); the peer id it reached is then
 * what Kademlia learns the address under. */
typedef struct target {
    join *j;
    char *addr;
    al_peer_id peer;
    bool reached;
} target;

struct join {
    al_node *node;
    target *t;
    size_t n, left, reached;
    al_done_cb cb;
    void *ud;
};

static void join_free(join *j)
{
    for (size_t i = 0; i < j->n; i++)
        free(j->t[i].addr);
    free(j->t);
    free(j);
}

static void finish(join *j, int status)
{
    if (j->cb)
        j->cb(status, j->ud);
    join_free(j);
}

static void bootstrapped(int status, void *ud)
{
    join *j = ud;
    /* An empty answer from Kademlia is no failure: the peers were reached
     * and a lookup through them will say more. A stopping node is. */
    finish(j, status == AL_ECANCELED ? AL_ECANCELED : 0);
}

static void after_dials(void *ud)
{
    join *j = ud;
    for (size_t i = 0; i < j->n; i++) {
        target *t = &j->t[i];
        /* The id the handshake proved; it matches any /p2p/ named. */
        int rc = al_swarm_add_peer_address(
            j->node, t->reached ? &t->peer : NULL, t->addr);
        if (rc)
            al_log(AL_LOG_WARN, "join: %s: %s", t->addr, al_strerror(rc));
    }
    if (!j->reached) {
        finish(j, AL_E_DIAL_FAILURE);
        return;
    }
    al__kad *kad = al__kad_of(j->node);
    if (!kad || al__kad_bootstrap(kad, bootstrapped, j))
        finish(j, 0);
}

static void dialed(int status, const al_peer_id *peer, const char *detail,
                   void *ud)
{
    target *t = ud;
    join *j = t->j;
    if (status) {
        al_log(AL_LOG_WARN, "join: dial %s: %s%s%s", t->addr,
               al_strerror(status), detail && *detail ? ": " : "",
               detail ? detail : "");
    } else {
        j->reached++;
        if (peer) {
            t->peer = *peer;
            t->reached = true;
        }
    }
    if (--j->left == 0)
        after_dials(j);
}

int al_swarm_join(al_node *node, const char *const *multiaddrs, size_t n,
                  al_done_cb cb, void *ud)
{
    if (!node || n == 0 || !multiaddrs)
        return AL_EINVAL;
    join *j = calloc(1, sizeof(*j));
    if (!j || !(j->t = calloc(n, sizeof(target)))) {
        free(j);
        return AL_ENOMEM;
    }
    j->node = node;
    j->cb = cb;
    j->ud = ud;
    for (; j->n < n; j->n++) {
        j->t[j->n].j = j;
        if (!(j->t[j->n].addr = strdup(multiaddrs[j->n]))) {
            join_free(j);
            return AL_ENOMEM;
        }
    }
    /* One extra count until every dial is under way, so that no outcome
     * is reported from inside this call. */
    j->left = n + 1;
    for (size_t i = 0; i < n; i++) {
        int rc = al_swarm_dial(node, j->t[i].addr, dialed, &j->t[i]);
        if (rc) {
            al_log(AL_LOG_WARN, "join: dial %s: %s", j->t[i].addr,
                   al_strerror(rc));
            j->left--;
        }
    }
    if (--j->left == 0) {
        int rc = al_node_post(node, after_dials, j);
        if (rc)
            join_free(j);
        return rc;
    }
    return 0;
}
