/* Actors of the gateway's own process, served as a remote node serves
 * /kameo/1: look the message up in the link-time registry, decode the
 * MessagePack with its codec, ask or tell, encode the reply. */
#include <stdlib.h>
#include <string.h>

#include "net.h"

#define LOCAL_PEER "local"

typedef struct local_actor {
    char *name;
    const char *remote_id; /* the class's */
    al_actor *actor;
    struct local_actor *next;
} local_actor;

typedef struct local_net {
    gw_net base;
    al_node *node;
    gw_net *next;
    local_actor *actors;
} local_net;

/* ------------------------------------------------------------ deferral */

/* Callbacks never run inside the call that started them: results travel
 * through al_node_post. */
typedef struct deferred {
    int status;
    gw_target target;
    bool has_target;
    gw_lookup_cb lookup_cb;
    al_reply_cb reply_cb;
    al_done_cb done_cb;
    void *ud;
} deferred;

static void run_deferred(void *arg)
{
    deferred *d = arg;
    if (d->lookup_cb) {
        d->lookup_cb(d->status, d->has_target ? &d->target : NULL, d->ud);
    } else if (d->reply_cb) {
        al_reply r = {d->status, NULL, 0, NULL};
        d->reply_cb(&r, d->ud);
    } else if (d->done_cb) {
        d->done_cb(d->status, d->ud);
    }
    free(d);
}

static int post(local_net *ln, deferred *d)
{
    int rc = al_node_post(ln->node, run_deferred, d);
    if (rc)
        free(d);
    return rc;
}

static int fail_reply(local_net *ln, int status, al_reply_cb cb, void *ud)
{
    deferred *d = calloc(1, sizeof(*d));
    if (!d)
        return AL_ENOMEM;
    d->status = status;
    d->reply_cb = cb;
    d->ud = ud;
    return post(ln, d);
}

static int fail_done(local_net *ln, int status, al_done_cb cb, void *ud)
{
    deferred *d = calloc(1, sizeof(*d));
    if (!d)
        return AL_ENOMEM;
    d->status = status;
    d->done_cb = cb;
    d->ud = ud;
    return post(ln, d);
}

/* ------------------------------------------------------------ lookup */

static local_actor *find_name(local_net *ln, const char *name)
{
    for (local_actor *a = ln->actors; a; a = a->next)
        if (strcmp(a->name, name) == 0)
            return a;
    return NULL;
}

static local_actor *find_seq(local_net *ln, uint64_t seq)
{
    for (local_actor *a = ln->actors; a; a = a->next)
        if (al_actor_seq(a->actor) == seq)
            return a;
    return NULL;
}

static void fill_target(local_actor *a, gw_target *t)
{
    memset(t, 0, sizeof(*t));
    t->id.seq = al_actor_seq(a->actor);
    t->id.peer.len = sizeof(LOCAL_PEER) - 1;
    memcpy(t->id.peer.bytes, LOCAL_PEER, sizeof(LOCAL_PEER) - 1);
    snprintf(t->peer, sizeof(t->peer), "%s", LOCAL_PEER);
    snprintf(t->remote_id, sizeof(t->remote_id), "%s", a->remote_id);
}

static int local_lookup(gw_net *n, const char *name, gw_lookup_cb cb, void *ud)
{
    local_net *ln = (local_net *)n;
    local_actor *a = find_name(ln, name);
    if (!a && ln->next)
        return gw_net_lookup(ln->next, name, cb, ud);
    deferred *d = calloc(1, sizeof(*d));
    if (!d)
        return AL_ENOMEM;
    d->lookup_cb = cb;
    d->ud = ud;
    if (!a || !al_actor_is_alive(a->actor)) {
        d->status = AL_ENOTFOUND;
    } else {
        fill_target(a, &d->target);
        d->has_target = true;
    }
    return post(ln, d);
}

static bool is_local(const gw_target *t)
{
    return strcmp(t->peer, LOCAL_PEER) == 0;
}

/* The message a target's actor handles under uuid, as the serving node
 * checks it: the actor must exist (ActorNotRunning), be of the type the
 * sender expects (BadActorType) and know the message (UnknownMessage). */
static int resolve(local_net *ln, const gw_target *t, const char *uuid,
                   local_actor **actor, const al_message **msg)
{
    local_actor *a = find_seq(ln, t->id.seq);
    if (!a || !al_actor_is_alive(a->actor))
        return AL_E_ACTOR_NOT_RUNNING;
    if (strcmp(a->remote_id, t->remote_id) != 0)
        return AL_E_BAD_ACTOR_TYPE;
    const al_remote_message_entry *e = al_registry_find(t->remote_id, uuid);
    if (!e)
        return AL_E_UNKNOWN_MESSAGE;
    *actor = a;
    *msg = e->msg;
    return 0;
}

/* ------------------------------------------------------------ ask */

typedef struct ask_op {
    const al_message *m;
    al_reply_cb cb;
    void *ud;
} ask_op;

static void on_local_reply(const al_reply *r, void *arg)
{
    ask_op *op = arg;
    al_buf out = {0};
    al_reply up = *r;
    if (r->status == 0) {
        int rc = op->m->encode_reply
                     ? op->m->encode_reply(r->data, r->len, &out)
                     : al_mp_encode_nil(&out);
        up.status = rc ? AL_E_SERIALIZE_REPLY : 0;
    } else if (r->status == AL_E_HANDLER_ERROR) {
        int rc = op->m->encode_error
                     ? op->m->encode_error(r->data, r->len, &out)
                     : AL_EINVAL;
        if (rc)
            up.status = AL_E_SERIALIZE_HANDLER_ERROR;
    }
    up.data =
        up.status == 0 || up.status == AL_E_HANDLER_ERROR ? out.data : NULL;
    up.len = up.data ? out.len : 0;
    op->cb(&up, op->ud);
    al_buf_free(&out);
    free(op);
}

/* Decodes the payload into a fresh message value of m->size bytes. */
static int decode(const al_message *m, const uint8_t *p, size_t len, void **out)
{
    void *msg = calloc(1, m->size ? m->size : 1);
    if (!msg)
        return AL_ENOMEM;
    al_error err;
    if (!m->decode || m->decode(p, len, msg, &err)) {
        if (m->drop)
            m->drop(msg);
        free(msg);
        return AL_E_DESERIALIZE_MESSAGE;
    }
    *out = msg;
    return 0;
}

static int local_ask(gw_net *n, const gw_target *t, const char *uuid,
                     const uint8_t *p, size_t len, const al_send_opts *o,
                     al_reply_cb cb, void *ud)
{
    local_net *ln = (local_net *)n;
    if (!is_local(t))
        return ln->next ? gw_net_ask(ln->next, t, uuid, p, len, o, cb, ud)
                        : fail_reply(ln, AL_E_SWARM_NOT_BOOTSTRAPPED, cb, ud);
    local_actor *a;
    const al_message *m;
    int rc = resolve(ln, t, uuid, &a, &m);
    void *msg = NULL;
    if (rc == 0)
        rc = decode(m, p, len, &msg);
    if (rc)
        return rc == AL_ENOMEM ? rc : fail_reply(ln, rc, cb, ud);
    ask_op *op = malloc(sizeof(*op));
    if (!op) {
        if (m->drop)
            m->drop(msg);
        free(msg);
        return AL_ENOMEM;
    }
    *op = (ask_op){m, cb, ud};
    rc = al_ask(a->actor, m, msg, o, on_local_reply, op);
    free(msg); /* copied by al_ask; what it points to moved with it */
    if (rc)
        free(op);
    return rc;
}

static int local_tell(gw_net *n, const gw_target *t, const char *uuid,
                      const uint8_t *p, size_t len, const al_send_opts *o,
                      al_done_cb cb, void *ud)
{
    local_net *ln = (local_net *)n;
    if (!is_local(t))
        return ln->next ? gw_net_tell(ln->next, t, uuid, p, len, o, cb, ud)
                        : fail_done(ln, AL_E_SWARM_NOT_BOOTSTRAPPED, cb, ud);
    local_actor *a;
    const al_message *m;
    int rc = resolve(ln, t, uuid, &a, &m);
    void *msg = NULL;
    if (rc == 0)
        rc = decode(m, p, len, &msg);
    if (rc)
        return rc == AL_ENOMEM ? rc : fail_done(ln, rc, cb, ud);
    rc = al_tell(a->actor, m, msg, o, cb, ud);
    free(msg);
    return rc;
}

/* ------------------------------------------------------------ the rest */

/* The process's actors can always be served; the swarm behind may not be
 * up, and names it alone knows then fail with its error. */
static bool local_ready(gw_net *n)
{
    (void)n;
    return true;
}

static json_t *local_info(gw_net *n)
{
    local_net *ln = (local_net *)n;
    json_t *info = ln->next ? ln->next->ops->info(ln->next) : json_object();
    json_t *names = json_array();
    for (local_actor *a = ln->actors; a; a = a->next)
        json_array_append_new(names, json_string(a->name));
    if (info)
        json_object_set_new(info, "local_actors", names);
    else
        json_decref(names);
    return info;
}

static json_t *local_peers(gw_net *n)
{
    local_net *ln = (local_net *)n;
    return ln->next ? ln->next->ops->peers(ln->next) : json_array();
}

static size_t local_num_peers(gw_net *n)
{
    local_net *ln = (local_net *)n;
    return ln->next ? ln->next->ops->num_peers(ln->next) : 0;
}

static void local_shutdown(gw_net *n)
{
    local_net *ln = (local_net *)n;
    gw_net_shutdown(ln->next);
}

static void local_free(gw_net *n)
{
    local_net *ln = (local_net *)n;
    local_actor *a = ln->actors;
    while (a) {
        local_actor *next = a->next;
        al_actor_release(a->actor);
        free(a->name);
        free(a);
        a = next;
    }
    gw_net_free(ln->next);
    free(ln);
}

static const gw_net_ops local_ops = {
    local_lookup, local_ask,       local_tell,     local_ready, local_info,
    local_peers,  local_num_peers, local_shutdown, local_free,
};

int gw_local_net_new(gw_net **out, al_node *node, gw_net *next)
{
    local_net *ln = calloc(1, sizeof(*ln));
    if (!ln) {
        gw_net_free(next);
        return AL_ENOMEM;
    }
    ln->base.ops = &local_ops;
    ln->node = node;
    ln->next = next;
    *out = &ln->base;
    return 0;
}

int gw_local_net_register(gw_net *n, const char *name, al_actor *actor,
                          const al_actor_class *cls)
{
    local_net *ln = (local_net *)n;
    if (n->ops != &local_ops || !name || !*name || !cls || !cls->remote_id)
        return AL_EINVAL;
    if (find_name(ln, name))
        return AL_EDUPLICATE;
    local_actor *a = calloc(1, sizeof(*a));
    if (!a || !(a->name = strdup(name))) {
        free(a);
        return AL_ENOMEM;
    }
    a->remote_id = cls->remote_id;
    a->actor = al_actor_retain(actor);
    a->next = ln->actors;
    ln->actors = a;
    return 0;
}
