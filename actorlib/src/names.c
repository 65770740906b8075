/* Actor names in Kademlia, as Kameo 0.12-0.17 keeps them (kameo.md A2,
 * A9): the record key is the name's bytes, the value Kameo's registration
 * record (record.h). Registering also makes the actor reachable from
 * other nodes (remote.h); lookups check the actor type in the record.
 *
 * The actor is served from the moment register is called rather than
 * after the put succeeded (Kameo's order): a peer that finds the record at
 * once must not get ActorNotRunning. A put that fails (AL_ETIMEDOUT) is
 * reported, but the record stays in the local store and the actor stays
 * served; al_actor_unregister undoes both. */
#include <stdlib.h>
#include <string.h>

#include "actor.h"
#include "kad.h"
#include "record.h"
#include "remote.h"

/* Longest name accepted; kad keys travel in every GET_VALUE. */
#define NAME_MAX_LEN 1024

typedef struct name_op {
    al_node *node;
    al_actor *actor; /* register: held until the put ends */
    al_done_cb done;
    al_lookup_cb found;
    char *expected; /* lookup: the wanted actor type, or NULL */
    void *ud;
} name_op;

static void op_free(name_op *op)
{
    if (op->actor)
        al_actor_release(op->actor);
    free(op->expected);
    free(op);
}

static name_op *op_new(al_node *node)
{
    name_op *op = calloc(1, sizeof(*op));
    if (op)
        op->node = node;
    return op;
}

static int check_name(const char *name)
{
    size_t len = name ? strnlen(name, NAME_MAX_LEN + 1) : 0;
    if (len == 0)
        return AL_EINVAL;
    if (len > NAME_MAX_LEN)
        return AL_ELIMIT;
    return al__utf8_valid((const uint8_t *)name, len) ? 0 : AL_EINVAL;
}

/* The swarm's Kademlia and the remote state: both exist once the swarm is
 * bootstrapped. */
static int parts(al_node *node, al__kad **kad, al__remote **r)
{
    *kad = al__kad_of(node);
    *r = al__remote_of(node);
    return *kad && *r ? 0 : AL_E_SWARM_NOT_BOOTSTRAPPED;
}

static void done_later(void *ud)
{
    name_op *op = ud;
    if (op->done)
        op->done(0, op->ud);
    op_free(op);
}

/* ------------------------------------------------------------ register */

/* The record is in the local store whatever the put's outcome (and is
 * republished from there), so the actor stays served: lookups that reach
 * this node find it. No peer able to store it (every peer a Kademlia
 * client) is the no-peer case, where Kameo stores locally and succeeds;
 * Kameo 0.12-0.17 would report QuorumFailed here. The same holds for an
 * unregister's tombstone (the record is gone from the local store). */
static void put_done(int status, void *ud)
{
    name_op *op = ud;
    if (status == AL_ENOTFOUND)
        status = 0;
    if (op->done)
        op->done(status, op->ud);
    op_free(op);
}

int al_actor_register(al_actor *a, const char *name, al_done_cb cb, void *ud)
{
    if (!a)
        return AL_EINVAL;
    int rc = check_name(name);
    if (rc)
        return rc;
    if (!al__actor_class(a)->remote_id)
        return AL_EINVAL;
    al_node *node = al_actor_node(a);
    al__kad *kad;
    al__remote *r;
    rc = parts(node, &kad, &r);
    if (rc)
        return rc;
    al_actor_id id = {.seq = al_actor_seq(a),
                      .peer = *al__remote_local_peer(r)};
    const char *type = al__actor_class(a)->remote_id;
    al_buf value = {0};
    al_error err = {0};
    rc = al__record_encode(&id, type, strlen(type), &value, &err);
    if (rc)
        return rc;
    name_op *op = op_new(node);
    if (!op) {
        al_buf_free(&value);
        return AL_ENOMEM;
    }
    op->actor = al_actor_retain(a);
    op->done = cb;
    op->ud = ud;
    rc = al__remote_expose(r, a, name);
    if (!rc)
        rc = al__kad_put(kad, (const uint8_t *)name, strlen(name), value.data,
                         value.len, put_done, op);
    al_buf_free(&value);
    if (rc) {
        if (al__remote_name_is(r, name, id.seq))
            al__remote_forget_name(r, name, NULL);
        op_free(op);
    }
    return rc;
}

/* ------------------------------------------------------------ unregister */

/* Kameo 0.15: with peers, a tombstone (empty value) is put with quorum 1
 * and the record removed locally; alone, it is only removed locally. */
int al_actor_unregister(al_node *node, const char *name, al_done_cb cb,
                        void *ud)
{
    if (!node)
        return AL_EINVAL;
    int rc = check_name(name);
    if (rc)
        return rc;
    al__kad *kad;
    al__remote *r;
    rc = parts(node, &kad, &r);
    if (rc)
        return rc;
    name_op *op = op_new(node);
    if (!op)
        return AL_ENOMEM;
    op->done = cb;
    op->ud = ud;
    al__remote_forget_name(r, name, NULL);
    const uint8_t *key = (const uint8_t *)name;
    size_t klen = strlen(name);
    al__swarm *sw = al__swarm_of(node);
    bool peers = sw && al__swarm_num_connected(sw) > 0;
    rc = peers ? al__kad_put(kad, key, klen, NULL, 0, put_done, op)
               : al_node_post(node, done_later, op);
    al__kad_remove_local(kad, key, klen);
    if (rc)
        op_free(op);
    return rc;
}

/* ------------------------------------------------------------ lookup */

static void lookup_got(int status, const uint8_t *value, size_t vlen, void *ud)
{
    name_op *op = ud;
    al_remote_ref *ref = NULL;
    al__record rec;
    if (status == 0) {
        /* An empty value is Kameo's tombstone: not found. */
        status = al__record_decode(value, vlen, &rec, NULL);
        if (status == 0) {
            if (op->expected && strcmp(op->expected, rec.remote_id) != 0)
                status = AL_E_BAD_ACTOR_TYPE;
            else
                status =
                    al_remote_ref_new(op->node, &rec.id, rec.remote_id, &ref);
            al__record_free(&rec);
        }
    }
    op->found(status, ref, op->ud);
    op_free(op);
}

int al_remote_lookup(al_node *node, const char *name,
                     const char *expected_remote_id, al_lookup_cb cb, void *ud)
{
    if (!node || !cb)
        return AL_EINVAL;
    int rc = check_name(name);
    if (rc)
        return rc;
    al__kad *kad;
    al__remote *r;
    rc = parts(node, &kad, &r);
    if (rc)
        return rc;
    name_op *op = op_new(node);
    if (!op)
        return AL_ENOMEM;
    op->found = cb;
    op->ud = ud;
    if (expected_remote_id && !(op->expected = strdup(expected_remote_id))) {
        op_free(op);
        return AL_ENOMEM;
    }
    rc = al__kad_get(kad, (const uint8_t *)name, strlen(name), lookup_got, op);
    if (rc)
        op_free(op);
    return rc;
}
