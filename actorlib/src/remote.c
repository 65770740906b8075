/* Remote actors over /kameo/1 (see remote.h).
 *
 * Three kinds of objects carry a request:
 *   rcall  one request being dispatched to a local actor (the core both
 *          directions share: a served request, or a request whose target
 *          is this node);
 *   rserve a request served for someone (embeds an rcall), answered with
 *          CBOR bytes;
 *   rreq   a request this node sent (embeds an rcall for the local
 *          shortcut), answered through the caller's callback.
 * Inbound streams are `inb`. All of them are recycled through small free
 * lists so that the steady state allocates nothing of its own.
 *
 * Lifetime: the state outlives every stream and every stream-open it
 * started (the node's closer completes only when those are gone), and
 * every dispatched call (a call still waiting for an actor when the node
 * stops keeps the state alive until it ends). The swarm offers no way to
 * unregister a protocol handler or a connection watch: the handler carries
 * the node, not the state, and the closer waits until the swarm is gone
 * before the state (which holds the watch) may go. */
#include "remote.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actor.h"
#include "kad.h"
#include "node.h"
#include "record.h"
#include "timer.h"

#define POOL_MAX       256
#define KEEP_BUF_MAX   (64 * 1024) /* larger buffers are not recycled */
#define MSG_INLINE     256         /* messages decoded on the stack */
#define SHED_HEAD      32          /* bytes kept of a refused request */
#define DETAIL_MAX     512
#define NBUCKETS_FIRST 16
/* Bytes of requests being read, all streams together: a request is read
 * whole before it is served, so many slow senders could otherwise hold
 * max_inbound x 1 MiB. Beyond it a stream is reset, as an oversized
 * request is. */
#define INBOUND_BYTES_MAX (64u << 20)
/* Remote links one actor may hold: peers create them, so they are bounded
 * (beyond it a Link is refused with MailboxFull). */
#define LINKS_MAX 4096

#define container_of(p, type, member)                                          \
    ((type *)(void *)((char *)(p)-offsetof(type, member)))

/* ------------------------------------------------------------ types */

typedef struct rlink {
    al_actor_id id;  /* the actor on the other side */
    char *remote_id; /* its type (owned) */
} rlink;

/* An actor of this node reachable from other nodes. */
typedef struct served {
    struct served *next; /* hash chain */
    al__remote *r;
    al_actor *actor; /* one reference held */
    uint64_t seq;
    uint32_t names;
    uint32_t nlinks, caplinks;
    rlink *links;
    al__death_watch watch;
    /* The last link death a peer reported, to name it if this actor then
     * stops with AL_STOP_LINK_DIED. */
    bool link_known;
    int link_reason;
    al_actor_id link_dead;
} served;

typedef struct name_ent {
    struct name_ent *next;
    uint64_t seq;
    char name[];
} name_ent;

typedef struct rcall rcall;
/* resp == NULL: no answer can be given (reset the stream). */
typedef void (*rcall_done_fn)(rcall *c, const al__kw_response *resp);

struct rcall {
    al__remote *r;
    rcall_done_fn done;
    const al_message *m;
    enum al__kw_kind kind;
    bool pending; /* waiting for a local actor */
};

struct al__rserve {
    rcall call;
    al__rserve_fn out;
    void *ud;
    bool cancelled;
    bool in_serve; /* inside al__remote_serve: it frees */
    bool finished; /* answered while in_serve */
    al__rserve *next_free;
};

typedef struct rreq {
    rcall call; /* the local shortcut */
    al__remote *r;
    struct rreq *prev, *next; /* r->reqs */
    enum al__kw_kind kind;
    al_reply_cb reply_cb;
    al_done_cb done_cb;
    void *ud;
    al__timer timer;
    al__stream *stream;
    al_buf buf;     /* the request until written, then the response */
    bool opening;   /* waiting for the swarm's open callback */
    bool delivered; /* the caller has its outcome */
    bool buffered;  /* buf holds a response to deliver from the timer */
    bool in_call;   /* inside al_remote_ask/tell: do not call back */
    bool in_use;
    bool routed; /* peer routing was tried after a failed dial */
    al_peer_id peer;
} rreq;

typedef struct inb {
    al__remote *r;
    al__stream *s; /* NULL once closed */
    struct inb *prev, *next;
    al__rserve *serving;
    al_buf buf;
    al_peer_id from;
    bool shed;     /* over the limit: answered MailboxFull unread */
    bool counted;  /* counts in r->inbound */
    bool answered; /* response written (or stream reset) */
    bool in_serve;
    al__timer read_deadline; /* until the request is read whole */
} inb;

struct al__remote {
    al_node *node;
    al__swarm *sw; /* NULL when attached without a swarm */
    al_peer_id local;
    uint32_t max_inbound;
    uint32_t read_timeout_ms;
    uint32_t inbound;
    size_t inbound_bytes; /* buffered by unserved inbound streams */

    served **buckets;
    size_t nbuckets, nserved;
    name_ent *names;

    rreq *reqs; /* live requests */
    inb *inbs;  /* live inbound streams */
    size_t nstreams, nopening, ncalls;

    rreq *free_reqs;
    size_t nfree_reqs;
    al__rserve *free_serves;
    size_t nfree_serves;
    inb *free_inbs;
    size_t nfree_inbs;

    al_buf mp_scratch, cbor_scratch;
    bool mp_busy, cbor_busy;

    /* The last (actor, message) pair found in the link-time registry: a
     * node serves the same few messages over and over. */
    const al_remote_message_entry *last_msg;
    size_t last_actor_len, last_msg_len;

    al__conn_watch watch;
    al__timer poll; /* stopping: waits for the swarm to be gone */
    bool stopping;
    bool in_stop; /* remote_stop walks the lists: nothing is freed */
    bool closer_done;
    bool handler_set;
};

struct al_remote_ref {
    al_node *node;
    al_actor_id id;
    char *remote_id;
};

static void call_finished(al__remote *r);
static void poll_swarm(al__timer *t);
static int send_request(al__remote *r, const al_peer_id *peer,
                        const al__kw_request *req, int64_t timeout_ms,
                        al_reply_cb reply_cb, al_done_cb done_cb, void *ud);

/* ------------------------------------------------------------ helpers */

static bool id_equal(const al_actor_id *a, const al_actor_id *b)
{
    return a->seq == b->seq && al_peer_id_equal(&a->peer, &b->peer);
}

/* A text field usable as a C string: no NUL inside. */
static const char *cstr(const al__kw_str *s)
{
    if (s->len == 0)
        return "";
    if (!s->data || memchr(s->data, 0, s->len))
        return NULL;
    return s->data;
}

static al__kw_str kstr(const char *s)
{
    al__kw_str v = {(char *)s, s ? strlen(s) : 0};
    return v;
}

static void buf_recycle(al_buf *b)
{
    if (b->cap > KEEP_BUF_MAX)
        al_buf_free(b);
    else
        al_buf_reset(b);
}

/* A scratch buffer, or tmp when the scratch is in use further up the stack
 * (a reply callback that sends again). */
static al_buf *scratch_take(al_buf *scratch, bool *busy, al_buf *tmp)
{
    if (*busy) {
        memset(tmp, 0, sizeof(*tmp));
        return tmp;
    }
    *busy = true;
    al_buf_reset(scratch);
    return scratch;
}

static void scratch_give(al_buf *b, al_buf *scratch, bool *busy)
{
    if (b == scratch) {
        *busy = false;
        if (scratch->cap > KEEP_BUF_MAX)
            al_buf_free(scratch);
    } else {
        al_buf_free(b);
    }
}

/* ------------------------------------------------------------ state */

al__remote *al__remote_of(al_node *node)
{
    return node ? node->remote : NULL;
}

const al_peer_id *al__remote_local_peer(const al__remote *r)
{
    return &r->local;
}

void al__remote_set_max_inbound(al__remote *r, uint32_t max)
{
    r->max_inbound = max ? max : AL__REMOTE_MAX_INBOUND;
}

void al__remote_set_read_timeout(al__remote *r, uint32_t ms)
{
    r->read_timeout_ms = ms ? ms : AL__REMOTE_TIMEOUT_MS;
}

uint32_t al__remote_inbound(const al__remote *r)
{
    return r->inbound;
}

static void remote_free(al__remote *r)
{
    for (size_t i = 0; i < r->nbuckets; i++) {
        served *sv = r->buckets[i];
        while (sv) {
            served *next = sv->next;
            if (al_actor_is_alive(sv->actor))
                al__actor_unwatch(sv->actor, &sv->watch);
            for (uint32_t k = 0; k < sv->nlinks; k++)
                free(sv->links[k].remote_id);
            free(sv->links);
            al_actor_release(sv->actor);
            free(sv);
            sv = next;
        }
    }
    free(r->buckets);
    while (r->names) {
        name_ent *n = r->names;
        r->names = n->next;
        free(n);
    }
    while (r->free_reqs) {
        rreq *q = r->free_reqs;
        r->free_reqs = q->next;
        al_buf_free(&q->buf);
        free(q);
    }
    while (r->free_serves) {
        al__rserve *s = r->free_serves;
        r->free_serves = s->next_free;
        free(s);
    }
    while (r->free_inbs) {
        inb *b = r->free_inbs;
        r->free_inbs = b->next;
        al_buf_free(&b->buf);
        free(b);
    }
    al_buf_free(&r->mp_scratch);
    al_buf_free(&r->cbor_scratch);
    free(r);
}

/* The node's closer completes once no stream or stream-open of ours is
 * left and the swarm is gone (its connection watch lives in this state and
 * the swarm has no way to drop it); the memory goes once no dispatched
 * call is left either. */
static void maybe_done(al__remote *r)
{
    if (!r->stopping || r->in_stop)
        return;
    if (!r->closer_done) {
        if (r->nstreams || r->nopening)
            return;
        if (r->sw && r->node->swarm) {
            /* The swarm is still closing its connections. */
            if (!al__timer_armed(&r->poll))
                al__timer_start(&r->node->timers, &r->poll,
                                al__now(r->node) + 2, poll_swarm);
            return;
        }
        if (al__timer_armed(&r->poll))
            al__timer_stop(&r->node->timers, &r->poll);
        r->closer_done = true;
        r->node->remote = NULL;
        al__node_closer_done(r->node);
    }
    if (r->ncalls == 0 && !r->reqs)
        remote_free(r);
}

static void poll_swarm(al__timer *t)
{
    maybe_done(container_of(t, al__remote, poll));
}

static void call_finished(al__remote *r)
{
    r->ncalls--;
    maybe_done(r);
}

/* ------------------------------------------------------------ served */

static uint64_t hash_seq(uint64_t seq)
{
    seq ^= seq >> 33;
    seq *= 0xff51afd7ed558ccdULL;
    seq ^= seq >> 33;
    return seq;
}

static served *served_find(al__remote *r, uint64_t seq)
{
    if (!r->nbuckets)
        return NULL;
    for (served *sv = r->buckets[hash_seq(seq) & (r->nbuckets - 1)]; sv;
         sv = sv->next)
        if (sv->seq == seq)
            return sv;
    return NULL;
}

/* Only ids of this node name served actors; a missing peer part does not
 * (Kameo's registry is keyed by the full ActorID). */
static served *served_find_id(al__remote *r, const al_actor_id *id)
{
    if (!al_peer_id_equal(&id->peer, &r->local))
        return NULL;
    return served_find(r, id->seq);
}

bool al__remote_is_served(al__remote *r, uint64_t seq)
{
    return served_find(r, seq) != NULL;
}

static int buckets_grow(al__remote *r)
{
    size_t n = r->nbuckets ? r->nbuckets * 2 : NBUCKETS_FIRST;
    served **b = calloc(n, sizeof(*b));
    if (!b)
        return AL_ENOMEM;
    for (size_t i = 0; i < r->nbuckets; i++) {
        served *sv = r->buckets[i];
        while (sv) {
            served *next = sv->next;
            size_t k = hash_seq(sv->seq) & (n - 1);
            sv->next = b[k];
            b[k] = sv;
            sv = next;
        }
    }
    free(r->buckets);
    r->buckets = b;
    r->nbuckets = n;
    return 0;
}

static void served_unlist(al__remote *r, served *sv)
{
    for (served **p = &r->buckets[hash_seq(sv->seq) & (r->nbuckets - 1)]; *p;
         p = &(*p)->next)
        if (*p == sv) {
            *p = sv->next;
            r->nserved--;
            return;
        }
}

static void served_destroy(served *sv)
{
    for (uint32_t k = 0; k < sv->nlinks; k++)
        free(sv->links[k].remote_id);
    free(sv->links);
    al_actor_release(sv->actor);
    free(sv);
}

static void names_drop_seq(al__remote *r, uint64_t seq)
{
    for (name_ent **p = &r->names; *p;) {
        name_ent *n = *p;
        if (n->seq == seq) {
            *p = n->next;
            free(n);
        } else {
            p = &n->next;
        }
    }
}

/* An actor is served while a name or a link keeps it. */
static void served_prune(served *sv)
{
    if (sv->names || sv->nlinks)
        return;
    al__remote *r = sv->r;
    served_unlist(r, sv);
    al__actor_unwatch(sv->actor, &sv->watch);
    served_destroy(sv);
}

static void stop_reason_of(int code, al__kw_stop_reason *out)
{
    memset(out, 0, sizeof(*out));
    switch (code) {
    case AL_STOP_NORMAL:
        out->kind = AL__KW_STOP_NORMAL;
        break;
    case AL_STOP_START_FAILED:
        out->kind = AL__KW_STOP_PANICKED;
        out->panic = kstr("on_start failed");
        break;
    case AL_STOP_PEER_DISCONNECTED:
        out->kind = AL__KW_STOP_PEER_DISCONNECTED;
        break;
    default:
        out->kind = AL__KW_STOP_KILLED;
        break;
    }
}

int al__remote_stop_code(const al__kw_stop_reason *reason)
{
    switch (reason->kind) {
    case AL__KW_STOP_NORMAL:
        return AL_STOP_NORMAL;
    case AL__KW_STOP_LINK_DIED:
        return AL_STOP_LINK_DIED;
    case AL__KW_STOP_PEER_DISCONNECTED:
        return AL_STOP_PEER_DISCONNECTED;
    default: /* Killed, Panicked */
        return AL_STOP_KILLED;
    }
}

static void farewell_sent(int status, void *ud)
{
    (void)status;
    al__node_farewell_end(ud);
}

/* A served actor died: tell the peers of its remote links (Kameo sends
 * SignalLinkDied to each), then forget it. */
static void on_served_death(al__death_watch *w, al_actor *dead, int reason)
{
    (void)dead;
    served *sv = container_of(w, served, watch);
    al__remote *r = sv->r;
    served_unlist(r, sv);
    names_drop_seq(r, sv->seq);

    al__kw_stop_reason why, inner;
    stop_reason_of(reason, &why);
    if (reason == AL_STOP_LINK_DIED && sv->link_known) {
        stop_reason_of(sv->link_reason, &inner);
        why.kind = AL__KW_STOP_LINK_DIED;
        why.link_id = sv->link_dead;
        why.inner = &inner;
    }
    for (uint32_t i = 0; i < sv->nlinks && !r->stopping; i++) {
        rlink *l = &sv->links[i];
        al__kw_request req = {.kind = AL__KW_SIGNAL_LINK_DIED};
        req.u.link_died.dead_actor_id.seq = sv->seq;
        req.u.link_died.dead_actor_id.peer = r->local;
        req.u.link_died.notified_actor_id = l->id;
        req.u.link_died.notified_actor_remote_id = kstr(l->remote_id);
        req.u.link_died.stop_reason = why;
        /* A stopping node holds its closers until these went out. */
        bool farewell = r->node->stopping;
        int rc = send_request(r, &l->id.peer, &req, 0, NULL,
                              farewell ? farewell_sent : NULL, r->node);
        if (rc == 0 && farewell)
            al__node_farewell_begin(r->node);
        if (rc)
            al_log(AL_LOG_INFO,
                   "remote: link-died signal for actor %llu "
                   "not sent: %s",
                   (unsigned long long)l->id.seq, al_strerror(rc));
    }
    served_destroy(sv);
}

static served *served_get(al__remote *r, al_actor *a)
{
    uint64_t seq = al_actor_seq(a);
    served *sv = served_find(r, seq);
    if (sv)
        return sv;
    if (r->nserved >= r->nbuckets && buckets_grow(r))
        return NULL;
    sv = calloc(1, sizeof(*sv));
    if (!sv)
        return NULL;
    sv->r = r;
    sv->actor = al_actor_retain(a);
    sv->seq = seq;
    sv->watch.cb = on_served_death;
    al__actor_watch(a, &sv->watch);
    size_t k = hash_seq(seq) & (r->nbuckets - 1);
    sv->next = r->buckets[k];
    r->buckets[k] = sv;
    r->nserved++;
    return sv;
}

static rlink *link_find(served *sv, const al_actor_id *id)
{
    for (uint32_t i = 0; i < sv->nlinks; i++)
        if (id_equal(&sv->links[i].id, id))
            return &sv->links[i];
    return NULL;
}

static int link_add(served *sv, const al_actor_id *id, const char *remote_id)
{
    rlink *l = link_find(sv, id);
    if (!l && sv->nlinks >= LINKS_MAX)
        return AL_ELIMIT;
    char *copy = strdup(remote_id ? remote_id : "");
    if (!copy)
        return AL_ENOMEM;
    if (l) {
        free(l->remote_id);
        l->remote_id = copy;
        return 0;
    }
    if (sv->nlinks == sv->caplinks) {
        uint32_t cap = sv->caplinks ? sv->caplinks * 2 : 4;
        rlink *v = realloc(sv->links, cap * sizeof(*v));
        if (!v) {
            free(copy);
            return AL_ENOMEM;
        }
        sv->links = v;
        sv->caplinks = cap;
    }
    sv->links[sv->nlinks].id = *id;
    sv->links[sv->nlinks].remote_id = copy;
    sv->nlinks++;
    return 0;
}

static bool link_remove(served *sv, const al_actor_id *id)
{
    rlink *l = link_find(sv, id);
    if (!l)
        return false;
    free(l->remote_id);
    *l = sv->links[--sv->nlinks];
    return true;
}

static name_ent *name_find(al__remote *r, const char *name)
{
    for (name_ent *n = r->names; n; n = n->next)
        if (strcmp(n->name, name) == 0)
            return n;
    return NULL;
}

int al__remote_expose(al__remote *r, al_actor *a, const char *name)
{
    const al_actor_class *cls = al__actor_class(a);
    if (!cls->remote_id)
        return AL_EINVAL;
    if (!al_actor_is_alive(a))
        return AL_E_ACTOR_NOT_RUNNING;
    served *sv = served_get(r, a);
    if (!sv)
        return AL_ENOMEM;
    if (!name)
        return 0;
    name_ent *n = name_find(r, name);
    if (n && n->seq == sv->seq)
        return 0;
    if (n) {
        /* The name moves to this actor, as a Kademlia put overwrites. */
        served *old = served_find(r, n->seq);
        n->seq = sv->seq;
        sv->names++;
        if (old) {
            old->names--;
            served_prune(old);
        }
        return 0;
    }
    size_t len = strlen(name);
    n = malloc(sizeof(*n) + len + 1);
    if (!n) {
        served_prune(sv);
        return AL_ENOMEM;
    }
    memcpy(n->name, name, len + 1);
    n->seq = sv->seq;
    n->next = r->names;
    r->names = n;
    sv->names++;
    return 0;
}

bool al__remote_name_is(al__remote *r, const char *name, uint64_t seq)
{
    name_ent *n = name_find(r, name);
    return n && n->seq == seq;
}

int al__remote_forget_name(al__remote *r, const char *name, uint64_t *seq)
{
    for (name_ent **p = &r->names; *p; p = &(*p)->next) {
        name_ent *n = *p;
        if (strcmp(n->name, name) != 0)
            continue;
        *p = n->next;
        if (seq)
            *seq = n->seq;
        served *sv = served_find(r, n->seq);
        free(n);
        if (sv) {
            sv->names--;
            served_prune(sv);
        }
        return 0;
    }
    return AL_ENOTFOUND;
}

/* ------------------------------------------------------------ dispatch */

static void respond(rcall *c, int status)
{
    al__kw_response resp = {.kind = c->kind, .status = status};
    c->done(c, &resp);
}

static void respond_detail(rcall *c, int status, const char *detail)
{
    al__kw_response resp = {.kind = c->kind, .status = status};
    resp.detail = kstr(detail);
    c->done(c, &resp);
}

static void respond_unknown_actor(rcall *c, const al__kw_str *actor)
{
    al__kw_response resp = {.kind = c->kind,
                            .status = AL_E_UNKNOWN_ACTOR,
                            .actor_remote_id = *actor};
    c->done(c, &resp);
}

static void on_ask_reply(const al_reply *rep, void *ud)
{
    rcall *c = ud;
    al__remote *r = c->r;
    c->pending = false;
    al__kw_response resp = {.kind = AL__KW_ASK, .status = rep->status};
    al_buf tmp, *b = NULL;
    char detail[DETAIL_MAX];
    if (rep->status == 0 || rep->status == AL_E_HANDLER_ERROR) {
        bool is_err = rep->status != 0;
        int (*enc)(const void *, size_t, al_buf *) =
            is_err ? c->m->encode_error : c->m->encode_reply;
        b = scratch_take(&r->mp_scratch, &r->mp_busy, &tmp);
        int rc;
        if (!rep->data && rep->len == 0)
            rc = al_mp_encode_nil(b); /* Rust's () */
        else if (!enc)
            rc = AL_ESTATE;
        else
            rc = enc(rep->data, rep->len, b);
        if (rc) {
            snprintf(detail, sizeof(detail), "%s: %s %s", c->m->name,
                     is_err ? "handler error" : "reply",
                     rc == AL_ESTATE ? "has no encoder" : "did not encode");
            resp.status =
                is_err ? AL_E_SERIALIZE_HANDLER_ERROR : AL_E_SERIALIZE_REPLY;
            resp.detail = kstr(detail);
        } else {
            resp.data.data = b->data;
            resp.data.len = b->len;
        }
    }
    if (resp.status != 0 && !al__kw_error_name(resp.status))
        c->done(c, NULL);
    else
        c->done(c, &resp);
    if (b)
        scratch_give(b, &r->mp_scratch, &r->mp_busy);
    call_finished(r);
}

static void on_tell_done(int status, void *ud)
{
    rcall *c = ud;
    al__remote *r = c->r;
    c->pending = false;
    if (status && !al__kw_error_name(status))
        c->done(c, NULL);
    else
        respond(c, status);
    call_finished(r);
}

/* The registry entry for a request's ids. Entries are static, so a cached
 * one stays valid; equal bytes hold no NUL, as the entry's C strings. */
static const al_remote_message_entry *find_message(al__remote *r,
                                                   const al__kw_send *s)
{
    const al_remote_message_entry *e = r->last_msg;
    if (e && s->actor_remote_id.len == r->last_actor_len &&
        s->message_remote_id.len == r->last_msg_len &&
        memcmp(s->actor_remote_id.data, e->cls->remote_id, r->last_actor_len) ==
            0 &&
        memcmp(s->message_remote_id.data, e->message_remote_id,
               r->last_msg_len) == 0)
        return e;
    const char *actor_id = cstr(&s->actor_remote_id);
    const char *msg_id = cstr(&s->message_remote_id);
    e = actor_id && msg_id ? al_registry_find(actor_id, msg_id) : NULL;
    if (e) {
        r->last_msg = e;
        r->last_actor_len = s->actor_remote_id.len;
        r->last_msg_len = s->message_remote_id.len;
    }
    return e;
}

static void dispatch_send(al__remote *r, const al__kw_request *req, rcall *c)
{
    const al__kw_send *s = &req->u.send;
    const al_remote_message_entry *e = find_message(r, s);
    if (!e) {
        al__kw_response resp = {.kind = c->kind,
                                .status = AL_E_UNKNOWN_MESSAGE,
                                .actor_remote_id = s->actor_remote_id,
                                .message_remote_id = s->message_remote_id};
        c->done(c, &resp);
        return;
    }
    served *sv = served_find_id(r, &s->actor_id);
    if (!sv) {
        respond(c, AL_E_ACTOR_NOT_RUNNING);
        return;
    }
    if (al__actor_class(sv->actor) != e->cls) {
        respond(c, AL_E_BAD_ACTOR_TYPE);
        return;
    }
    const al_message *m = e->msg;
    union {
        max_align_t align;
        uint8_t bytes[MSG_INLINE];
    } inline_msg;
    void *msg = m->size <= MSG_INLINE ? inline_msg.bytes : malloc(m->size);
    if (!msg) {
        c->done(c, NULL);
        return;
    }
    memset(msg, 0, m->size);
    al_error err = {0};
    int rc = m->decode(s->payload.data ? s->payload.data : (const uint8_t *)"",
                       s->payload.len, msg, &err);
    if (rc) {
        if (msg != inline_msg.bytes)
            free(msg);
        respond_detail(c, AL_E_DESERIALIZE_MESSAGE,
                       err.msg[0] ? err.msg : al_strerror(rc));
        return;
    }
    al_send_opts o = AL_SEND_OPTS_DEFAULT;
    o.mailbox_timeout_ms = al__kw_duration_to_ms(s->mailbox_timeout);
    o.immediate = s->immediate;
    c->m = m;
    c->pending = true;
    r->ncalls++;
    if (req->kind == AL__KW_ASK) {
        o.reply_timeout_ms = al__kw_duration_to_ms(s->reply_timeout);
        rc = al_ask(sv->actor, m, msg, &o, on_ask_reply, c);
    } else {
        rc = al_tell(sv->actor, m, msg, &o, on_tell_done, c);
    }
    if (msg != inline_msg.bytes)
        free(msg);
    if (rc) {
        c->pending = false;
        r->ncalls--;
        c->done(c, NULL);
    }
}

/* The served actor a Link, Unlink or SignalLinkDied names, after Kameo's
 * checks; NULL when the answer has been given. */
static served *link_target(al__remote *r, rcall *c, const al_actor_id *id,
                           const al__kw_str *remote_id)
{
    const char *rid = cstr(remote_id);
    const al_remote_actor_entry *e = rid ? al_registry_find_actor(rid) : NULL;
    if (!e) {
        respond_unknown_actor(c, remote_id);
        return NULL;
    }
    served *sv = served_find_id(r, id);
    if (!sv) {
        respond(c, AL_E_ACTOR_NOT_RUNNING);
        return NULL;
    }
    if (al__actor_class(sv->actor) != e->cls) {
        respond(c, AL_E_BAD_ACTOR_TYPE);
        return NULL;
    }
    return sv;
}

/* The other side of a link, with the sender's peer filled in when the id
 * came without one. */
static al_actor_id other_side(const al_actor_id *id, const al_peer_id *from,
                              const al__remote *r)
{
    al_actor_id o = *id;
    if (o.peer.len == 0)
        o.peer = from ? *from : r->local;
    return o;
}

static void dispatch_link(al__remote *r, const al_peer_id *from,
                          const al__kw_request *req, rcall *c)
{
    const al__kw_link *l = &req->u.link;
    served *sv = link_target(r, c, &l->actor_id, &l->actor_remote_id);
    if (!sv)
        return;
    al_actor_id sib = other_side(&l->sibbling_id, from, r);
    if (req->kind == AL__KW_LINK) {
        const char *sib_type = cstr(&l->sibbling_remote_id);
        if (!sib_type || l->sibbling_remote_id.len > AL__RECORD_REMOTE_ID_MAX) {
            respond_unknown_actor(c, &l->sibbling_remote_id);
            return;
        }
        if (sib.seq == sv->seq && al_peer_id_equal(&sib.peer, &r->local)) {
            respond(c, 0); /* an actor is not linked to itself */
            return;
        }
        int rc = link_add(sv, &sib, sib_type);
        if (rc == AL_ELIMIT) {
            respond(c, AL_E_MAILBOX_FULL);
            return;
        }
        if (rc) {
            c->done(c, NULL);
            return;
        }
    } else {
        link_remove(sv, &sib);
        served_prune(sv);
    }
    respond(c, 0);
}

/* Delivered only along an existing link: a peer cannot stop an actor it
 * was never linked with (Kameo does not check; nothing legitimate sends
 * one without the link). */
static void dispatch_link_died(al__remote *r, const al_peer_id *from,
                               const al__kw_request *req, rcall *c)
{
    const al__kw_link_died *d = &req->u.link_died;
    served *sv =
        link_target(r, c, &d->notified_actor_id, &d->notified_actor_remote_id);
    if (!sv)
        return;
    al_actor_id dead = other_side(&d->dead_actor_id, from, r);
    int rc = 0;
    if (link_remove(sv, &dead)) {
        int code = al__remote_stop_code(&d->stop_reason);
        sv->link_known = true;
        sv->link_dead = dead;
        sv->link_reason = code;
        rc = al__actor_signal_link_died(sv->actor, dead.seq, code);
        served_prune(sv);
    }
    respond(c, rc);
}

static void dispatch(al__remote *r, const al_peer_id *from,
                     const al__kw_request *req, rcall *c)
{
    c->r = r;
    c->kind = req->kind;
    c->m = NULL;
    c->pending = false;
    switch (req->kind) {
    case AL__KW_ASK:
    case AL__KW_TELL:
        dispatch_send(r, req, c);
        break;
    case AL__KW_LINK:
    case AL__KW_UNLINK:
        dispatch_link(r, from, req, c);
        break;
    case AL__KW_SIGNAL_LINK_DIED:
        dispatch_link_died(r, from, req, c);
        break;
    default:
        c->done(c, NULL);
        break;
    }
}

/* ------------------------------------------------------------ serving */

static al__rserve *rserve_new(al__remote *r)
{
    al__rserve *s = r->free_serves;
    if (s) {
        r->free_serves = s->next_free;
        r->nfree_serves--;
    } else {
        s = malloc(sizeof(*s));
        if (!s)
            return NULL;
    }
    memset(s, 0, sizeof(*s));
    return s;
}

static void rserve_free(al__remote *r, al__rserve *s)
{
    if (r->nfree_serves < POOL_MAX) {
        s->next_free = r->free_serves;
        r->free_serves = s;
        r->nfree_serves++;
    } else {
        free(s);
    }
}

static void rserve_answer(al__rserve *s, const uint8_t *bytes, size_t len)
{
    if (!s->cancelled)
        s->out(s, bytes, len, s->ud);
}

static void rserve_release(al__remote *r, al__rserve *s)
{
    if (s->in_serve)
        s->finished = true;
    else
        rserve_free(r, s);
}

static void rserve_done(rcall *c, const al__kw_response *resp)
{
    al__rserve *s = container_of(c, al__rserve, call);
    al__remote *r = c->r;
    if (!resp || s->cancelled) {
        rserve_answer(s, NULL, 0);
        rserve_release(r, s);
        return;
    }
    al_buf tmp;
    al_buf *b = scratch_take(&r->cbor_scratch, &r->cbor_busy, &tmp);
    al_error err = {0};
    if (al__kw_response_encode(resp, b, &err)) {
        al_log(AL_LOG_WARN, "remote: response not encoded: %s", err.msg);
        rserve_answer(s, NULL, 0);
    } else {
        rserve_answer(s, b->data, b->len);
    }
    scratch_give(b, &r->cbor_scratch, &r->cbor_busy);
    rserve_release(r, s);
}

al__rserve *al__remote_serve(al__remote *r, const al_peer_id *from,
                             const uint8_t *bytes, size_t len,
                             al__rserve_fn out, void *ud)
{
    al__kw_request req;
    al__kw_scratch scratch;
    al_error err = {0};
    int rc = al__kw_request_decode_in(bytes, len, &req, &scratch, &err);
    if (rc) {
        al_log(AL_LOG_DEBUG, "remote: request dropped: %s", err.msg);
        al__kw_request_free(&req);
        out(NULL, NULL, 0, ud);
        return NULL;
    }
    al__rserve *s = rserve_new(r);
    if (!s) {
        al__kw_request_free(&req);
        out(NULL, NULL, 0, ud);
        return NULL;
    }
    s->out = out;
    s->ud = ud;
    s->call.done = rserve_done;
    s->in_serve = true;
    dispatch(r, from, &req, &s->call);
    al__kw_request_free(&req);
    s->in_serve = false;
    if (s->finished) {
        rserve_free(r, s);
        return NULL;
    }
    return s;
}

void al__rserve_cancel(al__rserve *s)
{
    if (s)
        s->cancelled = true;
}

int al__remote_shed_answer(const uint8_t *head, size_t len, al_buf *out)
{
    static const char *const kinds[] = {"Ask", "Tell", "Link", "Unlink",
                                        "SignalLinkDied"};
    if (len < 2 || head[0] != 0xa1)
        return AL_EDECODE;
    size_t n, off;
    if (head[1] >= 0x60 && head[1] < 0x78) {
        n = head[1] - 0x60u;
        off = 2;
    } else if (head[1] == 0x78 && len >= 3) {
        n = head[2];
        off = 3;
    } else {
        return AL_EDECODE;
    }
    if (n > len - off)
        return AL_EDECODE;
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        if (strlen(kinds[k]) != n || memcmp(kinds[k], head + off, n) != 0)
            continue;
        al__kw_response resp = {.kind = (enum al__kw_kind)k,
                                .status = AL_E_MAILBOX_FULL};
        return al__kw_response_encode(&resp, out, NULL);
    }
    return AL_EDECODE;
}

/* ------------------------------------------------------------ requests */

static int status_of_open(int status)
{
    switch (status) {
    case AL_E_DIAL_FAILURE:
    case AL_E_NETWORK_TIMEOUT:
    case AL_E_UNSUPPORTED_PROTOCOLS:
    case AL_E_CONNECTION_CLOSED:
    case AL_ECANCELED:
    case AL_ELIMIT:
        return status;
    default: /* AL_EPEERID, AL_ECRYPTO, ...: no connection came up */
        return AL_E_DIAL_FAILURE;
    }
}

static const char *kind_name(enum al__kw_kind k)
{
    static const char *const names[] = {
        "Ask", "Tell", "Link", "Unlink", "SignalLinkDied", "OutboundFailure"};
    return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}

void al__remote_reply_of(enum al__kw_kind kind, const al__kw_response *resp,
                         al_reply *out, char *buf, size_t cap)
{
    memset(out, 0, sizeof(*out));
    if (resp->kind != kind && resp->kind != AL__KW_OUTBOUND_FAILURE) {
        snprintf(buf, cap, "%s response to %s request", kind_name(resp->kind),
                 kind_name(kind));
        out->status = AL_E_BAD_REPLY;
        out->detail = buf;
        return;
    }
    out->status = resp->status;
    if (resp->status == 0 || resp->status == AL_E_HANDLER_ERROR) {
        out->data = resp->data.data;
        out->len = resp->data.len;
    }
    if (resp->status == AL_E_UNKNOWN_MESSAGE) {
        snprintf(buf, cap, "actor %.200s, message %.200s",
                 resp->actor_remote_id.data ? resp->actor_remote_id.data : "",
                 resp->message_remote_id.data ? resp->message_remote_id.data
                                              : "");
        out->detail = buf;
    } else if (resp->status == AL_E_UNKNOWN_ACTOR) {
        snprintf(buf, cap, "actor %.200s",
                 resp->actor_remote_id.data ? resp->actor_remote_id.data : "");
        out->detail = buf;
    } else if (resp->detail.len) {
        out->detail = resp->detail.data;
    }
}

static rreq *req_new(al__remote *r)
{
    rreq *q = r->free_reqs;
    if (q) {
        r->free_reqs = q->next;
        r->nfree_reqs--;
    } else {
        q = calloc(1, sizeof(*q));
        if (!q)
            return NULL;
    }
    al_buf keep = q->buf;
    memset(q, 0, sizeof(*q));
    q->buf = keep;
    al_buf_reset(&q->buf);
    q->r = r;
    q->in_use = true;
    q->next = r->reqs;
    if (r->reqs)
        r->reqs->prev = q;
    r->reqs = q;
    return q;
}

/* Frees q once nothing refers to it any more: the caller has its outcome,
 * no stream or stream-open is outstanding, no local call is pending. */
static void req_maybe_free(rreq *q)
{
    if (!q->in_use || !q->delivered || q->stream || q->opening ||
        q->call.pending || q->buffered)
        return;
    al__remote *r = q->r;
    if (al__timer_armed(&q->timer))
        al__timer_stop(&r->node->timers, &q->timer);
    if (q->prev)
        q->prev->next = q->next;
    else
        r->reqs = q->next;
    if (q->next)
        q->next->prev = q->prev;
    q->in_use = false;
    buf_recycle(&q->buf);
    if (r->nfree_reqs < POOL_MAX) {
        q->next = r->free_reqs;
        r->free_reqs = q;
        r->nfree_reqs++;
    } else {
        al_buf_free(&q->buf);
        free(q);
    }
    maybe_done(r);
}

static void req_deliver(rreq *q, int status, const void *data, size_t len,
                        const char *detail)
{
    if (q->delivered)
        return;
    q->delivered = true;
    if (al__timer_armed(&q->timer))
        al__timer_stop(&q->r->node->timers, &q->timer);
    if (q->reply_cb) {
        al_reply rep = {status, data, len, detail};
        q->reply_cb(&rep, q->ud);
    } else if (q->done_cb) {
        q->done_cb(status, q->ud);
    }
}

/* Delivers the response in q->buf. */
static void req_deliver_buf(rreq *q)
{
    al__kw_response resp;
    al__kw_scratch scratch;
    al_error err = {0};
    if (al__kw_response_decode_in(q->buf.data, q->buf.len, &resp, &scratch,
                                  &err)) {
        al__kw_response_free(&resp);
        req_deliver(q, AL_E_BAD_REPLY, NULL, 0, err.msg);
        return;
    }
    al_reply rep;
    char detail[DETAIL_MAX];
    al__remote_reply_of(q->kind, &resp, &rep, detail, sizeof(detail));
    req_deliver(q, rep.status, rep.data, rep.len, rep.detail);
    al__kw_response_free(&resp);
}

static void req_timer(al__timer *t)
{
    rreq *q = container_of(t, rreq, timer);
    if (q->buffered) {
        q->buffered = false;
        req_deliver_buf(q);
    } else {
        req_deliver(q, AL_E_NETWORK_TIMEOUT, NULL, 0, "request timed out");
        if (q->stream) {
            al__stream_reset(q->stream); /* on_close frees q */
            return;
        }
    }
    req_maybe_free(q);
}

/* The local shortcut's answer: through the same bytes as a peer's, so that
 * both paths report alike; never from inside al_remote_ask/tell. */
static void req_local_done(rcall *c, const al__kw_response *resp)
{
    rreq *q = container_of(c, rreq, call);
    if (q->delivered) {
        req_maybe_free(q);
        return;
    }
    al_buf_reset(&q->buf);
    if (!resp || al__kw_response_encode(resp, &q->buf, NULL)) {
        al_buf_reset(&q->buf);
        /* The same outcome a reset stream gives a remote caller. */
        q->buffered = false;
        if (q->in_call) {
            al__kw_response fail = {.kind = q->kind,
                                    .status = AL_E_CONNECTION_CLOSED};
            if (al__kw_response_encode(&fail, &q->buf, NULL) == 0)
                q->buffered = true;
        } else {
            req_deliver(q, AL_E_CONNECTION_CLOSED, NULL, 0,
                        "request not served");
        }
    } else if (q->in_call) {
        q->buffered = true;
    } else {
        req_deliver_buf(q);
    }
    if (q->buffered && al__timer_start(&q->r->node->timers, &q->timer,
                                       al__now(q->r->node), req_timer) == 0)
        return;
    if (q->buffered) {
        /* Out of memory for the deferral: answer now rather than never. */
        q->buffered = false;
        req_deliver_buf(q);
    }
    req_maybe_free(q);
}

static void req_on_data(al__stream *s, const uint8_t *data, size_t len,
                        void *ud)
{
    rreq *q = ud;
    if (q->delivered)
        return;
    if (len > AL__KW_RESPONSE_MAX - q->buf.len) {
        req_deliver(q, AL_E_BAD_REPLY, NULL, 0, "response over 10 MiB");
        al__stream_reset(s);
        return;
    }
    if (al_buf_append(&q->buf, data, len)) {
        req_deliver(q, AL_ENOMEM, NULL, 0, "no memory for the response");
        al__stream_reset(s);
    }
}

static void req_on_fin(al__stream *s, void *ud)
{
    (void)s;
    rreq *q = ud;
    if (!q->delivered)
        req_deliver_buf(q);
}

static void req_on_close(al__stream *s, int status, void *ud)
{
    (void)s;
    rreq *q = ud;
    al__remote *r = q->r;
    q->stream = NULL;
    r->nstreams--;
    switch (status) {
    case 0:
        req_deliver(q, AL_E_BAD_REPLY, NULL, 0, "stream ended without reply");
        break;
    case AL_EPROTO:
        req_deliver(q, AL_E_CONNECTION_CLOSED, NULL, 0, "stream reset");
        break;
    case AL_E_UNSUPPORTED_PROTOCOLS:
        req_deliver(q, status, NULL, 0, "peer does not serve /kameo/1");
        break;
    case AL_ECANCELED:
        req_deliver(q, AL_ECANCELED, NULL, 0, NULL);
        break;
    default:
        req_deliver(q, AL_E_CONNECTION_CLOSED, NULL, 0, al_strerror(status));
        break;
    }
    req_maybe_free(q);
}

static const al__stream_ops req_ops = {
    .on_data = req_on_data,
    .on_fin = req_on_fin,
    .on_close = req_on_close,
};

static void req_on_open(int status, al__stream *s, void *ud);

/* Peer routing ended: dial again with what it taught the address book. */
static void req_routed(int status, void *ud)
{
    rreq *q = ud;
    al__remote *r = q->r;
    q->opening = false;
    r->nopening--;
    if (q->delivered || r->stopping) {
        req_maybe_free(q);
        return;
    }
    if (status) {
        req_deliver(q, AL_E_DIAL_FAILURE, NULL, 0,
                    "no address known for the peer, and the DHT found none");
        req_maybe_free(q);
        return;
    }
    q->opening = true;
    r->nopening++;
    int rc = al__swarm_open_stream(r->sw, &q->peer, AL__KAMEO_PROTOCOL,
                                   req_on_open, q);
    if (rc) {
        q->opening = false;
        r->nopening--;
        req_deliver(q, status_of_open(rc), NULL, 0, al_strerror(rc));
        req_maybe_free(q);
    }
}

/* A record names the actor's peer but not where it is; rust-libp2p would
 * look the peer up in its routing table, then ask the DHT. Once per
 * request, after the first dial failed. */
static bool try_peer_routing(rreq *q)
{
    al__remote *r = q->r;
    al__kad *kad = al__kad_of(r->node);
    if (q->routed || q->delivered || r->stopping || !kad)
        return false;
    q->routed = true;
    if (al__kad_find_peer(kad, &q->peer, req_routed, q))
        return false;
    q->opening = true;
    r->nopening++;
    return true;
}

static void req_on_open(int status, al__stream *s, void *ud)
{
    rreq *q = ud;
    al__remote *r = q->r;
    q->opening = false;
    r->nopening--;
    if (status == AL_E_DIAL_FAILURE && try_peer_routing(q))
        return;
    if (status) {
        req_deliver(q, status_of_open(status), NULL, 0, al_strerror(status));
        req_maybe_free(q);
        return;
    }
    q->stream = s;
    r->nstreams++;
    al__stream_set_ops(s, &req_ops, q);
    if (q->delivered || r->stopping) {
        req_deliver(q, AL_ECANCELED, NULL, 0, NULL);
        al__stream_reset(s); /* on_close frees q */
        return;
    }
    int rc = al__stream_write(s, q->buf.data, q->buf.len);
    if (!rc)
        rc = al__stream_finish(s);
    al_buf_reset(&q->buf); /* from now on it gathers the response */
    if (rc) {
        req_deliver(q, AL_E_CONNECTION_CLOSED, NULL, 0, al_strerror(rc));
        al__stream_reset(s);
    }
}

static bool peer_is_local(const al__remote *r, const al_peer_id *peer)
{
    return peer->len == 0 || al_peer_id_equal(peer, &r->local);
}

/* Sends one request to peer (this node: dispatched locally). The outcome
 * reaches reply_cb (Ask) or done_cb (may be NULL), never from inside this
 * call; a non-zero return means neither runs. */
static int send_request(al__remote *r, const al_peer_id *peer,
                        const al__kw_request *req, int64_t timeout_ms,
                        al_reply_cb reply_cb, al_done_cb done_cb, void *ud)
{
    if (r->stopping)
        return AL_ECANCELED;
    bool local = peer_is_local(r, peer);
    if (!local && !r->sw)
        return AL_E_SWARM_NOT_BOOTSTRAPPED;
    rreq *q = req_new(r);
    if (!q)
        return AL_ENOMEM;
    q->kind = req->kind;
    q->reply_cb = reply_cb;
    q->done_cb = done_cb;
    q->ud = ud;
    uint64_t ms = timeout_ms > 0 ? (uint64_t)timeout_ms : AL__REMOTE_TIMEOUT_MS;
    if (al__timer_start(&r->node->timers, &q->timer, al__now(r->node) + ms,
                        req_timer)) {
        /* No deadline, no request: nothing may wait without one. */
        q->delivered = true;
        req_maybe_free(q);
        return AL_ENOMEM;
    }
    if (local) {
        q->in_call = true;
        q->call.done = req_local_done;
        dispatch(r, NULL, req, &q->call);
        q->in_call = false;
        return 0;
    }
    al_error err = {0};
    int rc = al__kw_request_encode(req, &q->buf, &err);
    if (rc == 0 && q->buf.len > AL__KW_REQUEST_MAX)
        rc = AL_ELIMIT; /* the peer would drop it unanswered */
    if (rc) {
        q->delivered = true;
        req_maybe_free(q);
        return rc;
    }
    q->peer = *peer;
    q->routed = false;
    q->opening = true;
    r->nopening++;
    rc = al__swarm_open_stream(r->sw, peer, AL__KAMEO_PROTOCOL, req_on_open, q);
    if (rc) {
        q->opening = false;
        r->nopening--;
        q->delivered = true;
        req_maybe_free(q);
        return rc;
    }
    return 0;
}

/* ------------------------------------------------------------ inbound */

static inb *inb_new(al__remote *r)
{
    inb *b = r->free_inbs;
    if (b) {
        r->free_inbs = b->next;
        r->nfree_inbs--;
    } else {
        b = calloc(1, sizeof(*b));
        if (!b)
            return NULL;
    }
    al_buf keep = b->buf;
    memset(b, 0, sizeof(*b));
    b->buf = keep;
    al_buf_reset(&b->buf);
    b->r = r;
    b->next = r->inbs;
    if (r->inbs)
        r->inbs->prev = b;
    r->inbs = b;
    return b;
}

static void inb_uncount(inb *b)
{
    if (b->counted) {
        b->counted = false;
        b->r->inbound--;
    }
}

/* The request bytes of b no longer count against INBOUND_BYTES_MAX. */
static void inb_drop_bytes(inb *b)
{
    b->r->inbound_bytes -= b->buf.len;
    buf_recycle(&b->buf);
}

static void inb_stop_deadline(inb *b)
{
    if (al__timer_armed(&b->read_deadline))
        al__timer_stop(&b->r->node->timers, &b->read_deadline);
}

static void inb_free(inb *b)
{
    al__remote *r = b->r;
    inb_stop_deadline(b);
    inb_drop_bytes(b);
    if (b->prev)
        b->prev->next = b->next;
    else
        r->inbs = b->next;
    if (b->next)
        b->next->prev = b->prev;
    if (r->nfree_inbs < POOL_MAX) {
        b->next = r->free_inbs;
        r->free_inbs = b;
        r->nfree_inbs++;
    } else {
        al_buf_free(&b->buf);
        free(b);
    }
    maybe_done(r);
}

/* Writes the answer; resp NULL resets the stream instead. */
static void inb_answer(al__rserve *s, const uint8_t *resp, size_t len, void *ud)
{
    (void)s;
    inb *b = ud;
    b->serving = NULL;
    b->answered = true;
    inb_uncount(b);
    if (!b->s)
        return;
    int rc = resp ? al__stream_write(b->s, resp, len) : AL_ECANCELED;
    if (!rc)
        rc = al__stream_finish(b->s);
    if (rc)
        al__stream_reset(b->s);
}

static void inb_on_data(al__stream *s, const uint8_t *data, size_t len,
                        void *ud)
{
    inb *b = ud;
    if (b->answered)
        return;
    if (b->shed) {
        size_t room = SHED_HEAD - b->buf.len;
        size_t take = len < room ? len : room;
        if (al_buf_append(&b->buf, data, take))
            b->answered = true;
        else
            b->r->inbound_bytes += take;
        return;
    }
    if (len > AL__KW_REQUEST_MAX - b->buf.len ||
        len > INBOUND_BYTES_MAX - b->r->inbound_bytes ||
        al_buf_append(&b->buf, data, len)) {
        /* As libp2p's codec: an oversized request is an I/O error and the
         * stream is dropped unanswered. */
        b->answered = true;
        inb_uncount(b);
        al__stream_reset(s);
        return;
    }
    b->r->inbound_bytes += len;
}

static void inb_on_fin(al__stream *s, void *ud)
{
    inb *b = ud;
    al__remote *r = b->r;
    inb_stop_deadline(b);
    if (b->answered)
        return;
    if (b->shed) {
        al_buf tmp;
        al_buf *out = scratch_take(&r->cbor_scratch, &r->cbor_busy, &tmp);
        int rc = al__remote_shed_answer(b->buf.data, b->buf.len, out);
        b->answered = true;
        if (!rc)
            rc = al__stream_write(s, out->data, out->len);
        if (!rc)
            rc = al__stream_finish(s);
        scratch_give(out, &r->cbor_scratch, &r->cbor_busy);
        if (rc)
            al__stream_reset(s);
        return;
    }
    b->in_serve = true;
    al__rserve *sv =
        al__remote_serve(r, &b->from, b->buf.data, b->buf.len, inb_answer, b);
    b->in_serve = false;
    if (!b->answered)
        b->serving = sv;
    inb_drop_bytes(b);
    if (!b->s) {
        /* The stream closed while the request was being served. */
        if (b->serving) {
            al__rserve_cancel(b->serving);
            b->serving = NULL;
        }
        inb_uncount(b);
        inb_free(b);
    }
}

static void inb_on_close(al__stream *s, int status, void *ud)
{
    (void)s;
    (void)status;
    inb *b = ud;
    b->s = NULL;
    b->r->nstreams--;
    if (b->serving) {
        al__rserve_cancel(b->serving);
        b->serving = NULL;
    }
    inb_uncount(b);
    if (!b->in_serve)
        inb_free(b);
}

static const al__stream_ops inb_ops = {
    .on_data = inb_on_data,
    .on_fin = inb_on_fin,
    .on_close = inb_on_close,
};

/* The request did not arrive whole in time: as an oversized one, the
 * stream is dropped unanswered (on_close frees b). */
static void inb_read_late(al__timer *t)
{
    inb *b = container_of(t, inb, read_deadline);
    if (b->answered || !b->s)
        return;
    b->answered = true;
    inb_uncount(b);
    al__stream_reset(b->s);
}

static void on_inbound(al__stream *s, void *ud)
{
    al__remote *r = al__remote_of(ud);
    inb *b = r && !r->stopping ? inb_new(r) : NULL;
    if (!b) {
        al__stream_reset(s);
        return;
    }
    b->s = s;
    b->from = *al__stream_peer(s);
    if (r->inbound < r->max_inbound) {
        b->counted = true;
        r->inbound++;
    } else {
        b->shed = true;
    }
    r->nstreams++;
    al__stream_set_ops(s, &inb_ops, b);
    if (al__timer_start(&r->node->timers, &b->read_deadline,
                        al__now(r->node) + r->read_timeout_ms, inb_read_late))
        inb_read_late(&b->read_deadline); /* no deadline: not served */
}

/* ------------------------------------------------------------ peers */

/* Kameo: when the connection to a peer closes, every local actor linked to
 * an actor there gets LinkDied with PeerDisconnected. */
static void on_disconnected(const al_peer_id *peer, int reason, void *ud)
{
    (void)reason;
    al__remote *r = al__remote_of(ud);
    if (!r || r->stopping)
        return;
    for (size_t i = 0; i < r->nbuckets; i++) {
        served *sv = r->buckets[i];
        while (sv) {
            served *next = sv->next;
            for (uint32_t k = 0; k < sv->nlinks;) {
                rlink *l = &sv->links[k];
                if (!al_peer_id_equal(&l->id.peer, peer)) {
                    k++;
                    continue;
                }
                al__actor_signal_link_died(sv->actor, l->id.seq,
                                           AL_STOP_PEER_DISCONNECTED);
                free(l->remote_id);
                *l = sv->links[--sv->nlinks];
            }
            served_prune(sv);
            sv = next;
        }
    }
}

static void on_connected(al__conn *c, void *ud)
{
    (void)c;
    (void)ud;
}

/* ------------------------------------------------------------ lifecycle */

static void remote_stop(al_node *node, void *ud)
{
    (void)node;
    al__remote *r = ud;
    r->stopping = true;
    r->in_stop = true;
    for (rreq *q = r->reqs, *next; q; q = next) {
        next = q->next;
        q->buffered = false;
        req_deliver(q, AL_ECANCELED, NULL, 0, NULL);
        if (q->stream)
            al__stream_reset(q->stream);
        else
            req_maybe_free(q);
    }
    /* Answers already written go out with the swarm's last flush; only
     * requests that can no longer be answered are reset. */
    for (inb *b = r->inbs, *next; b; b = next) {
        next = b->next;
        if (b->s && !b->answered)
            al__stream_reset(b->s);
    }
    r->in_stop = false;
    maybe_done(r);
}

int al__remote_attach(al_node *node, const al_peer_id *local, al__remote **out)
{
    if (node->remote) {
        *out = node->remote;
        return 0;
    }
    al__remote *r = calloc(1, sizeof(*r));
    if (!r)
        return AL_ENOMEM;
    r->node = node;
    r->local = *local;
    r->max_inbound = AL__REMOTE_MAX_INBOUND;
    r->read_timeout_ms = AL__REMOTE_TIMEOUT_MS;
    if (al__node_add_closer(node, remote_stop, r)) {
        free(r);
        return AL_ENOMEM;
    }
    node->remote = r;
    *out = r;
    return 0;
}

int al__remote_init(al__swarm *sw)
{
    al_node *node = al__swarm_node(sw);
    al__remote *r;
    int rc = al__remote_attach(node, al__swarm_local_peer(sw), &r);
    if (rc)
        return rc;
    r->sw = sw;
    r->local = *al__swarm_local_peer(sw);
    if (!r->handler_set) {
        rc = al__swarm_handle(sw, AL__KAMEO_PROTOCOL, on_inbound, node);
        if (rc)
            return rc;
        r->watch.on_connected = on_connected;
        r->watch.on_disconnected = on_disconnected;
        r->watch.ud = node;
        al__swarm_watch(sw, &r->watch);
        r->handler_set = true;
    }
    return 0;
}

/* ------------------------------------------------------------ refs */

int al_remote_ref_new(al_node *node, const al_actor_id *id,
                      const char *remote_id, al_remote_ref **out)
{
    if (out)
        *out = NULL;
    if (!node || !id || !remote_id || !out || id->peer.len > AL_PEER_ID_MAX)
        return AL_EINVAL;
    al_remote_ref *r = malloc(sizeof(*r));
    if (!r)
        return AL_ENOMEM;
    r->remote_id = strdup(remote_id);
    if (!r->remote_id) {
        free(r);
        return AL_ENOMEM;
    }
    r->node = node;
    r->id = *id;
    *out = r;
    return 0;
}

al_remote_ref *al_remote_ref_dup(const al_remote_ref *r)
{
    al_remote_ref *d = NULL;
    if (r)
        al_remote_ref_new(r->node, &r->id, r->remote_id, &d);
    return d;
}

void al_remote_ref_free(al_remote_ref *r)
{
    if (!r)
        return;
    free(r->remote_id);
    free(r);
}

const al_actor_id *al_remote_ref_id(const al_remote_ref *r)
{
    return &r->id;
}

const char *al_remote_ref_remote_id(const al_remote_ref *r)
{
    return r->remote_id;
}

/* ------------------------------------------------------------ ask, tell */

static int send_checks(const al_remote_ref *to, const char *message_remote_id,
                       const uint8_t *payload, size_t len, al__remote **r)
{
    if (!to || !message_remote_id || (len && !payload))
        return AL_EINVAL;
    /* A payload byte takes up to two bytes of the envelope (1 MiB). */
    if (len > AL__KW_REQUEST_MAX / 2)
        return AL_ELIMIT;
    *r = al__remote_of(to->node);
    return *r ? 0 : AL_E_SWARM_NOT_BOOTSTRAPPED;
}

static void fill_send(al__kw_request *req, const al_remote_ref *to,
                      const char *message_remote_id, const uint8_t *payload,
                      size_t len, const al_send_opts *o)
{
    al__kw_send *s = &req->u.send;
    s->actor_id = to->id;
    s->actor_remote_id = kstr(to->remote_id);
    s->message_remote_id = kstr(message_remote_id);
    s->payload.data = (uint8_t *)payload;
    s->payload.len = len;
    s->mailbox_timeout = al__kw_duration_from_ms(o->mailbox_timeout_ms);
    s->reply_timeout = al__kw_duration_from_ms(o->reply_timeout_ms);
    s->immediate = o->immediate;
}

int al_remote_ask(al_remote_ref *to, const char *message_remote_id,
                  const uint8_t *payload, size_t len, const al_send_opts *opts,
                  al_reply_cb cb, void *ud)
{
    al__remote *r;
    if (!cb)
        return AL_EINVAL;
    int rc = send_checks(to, message_remote_id, payload, len, &r);
    if (rc)
        return rc;
    al_send_opts o = opts ? *opts : AL_SEND_OPTS_DEFAULT;
    al__kw_request req = {.kind = AL__KW_ASK};
    fill_send(&req, to, message_remote_id, payload, len, &o);
    return send_request(r, &to->id.peer, &req, o.request_timeout_ms, cb, NULL,
                        ud);
}

int al_remote_tell(al_remote_ref *to, const char *message_remote_id,
                   const uint8_t *payload, size_t len, const al_send_opts *opts,
                   al_done_cb cb, void *ud)
{
    al__remote *r;
    int rc = send_checks(to, message_remote_id, payload, len, &r);
    if (rc)
        return rc;
    al_send_opts o = opts ? *opts : AL_SEND_OPTS_DEFAULT;
    al__kw_request req = {.kind = AL__KW_TELL};
    fill_send(&req, to, message_remote_id, payload, len, &o);
    req.u.send.reply_timeout.some = false;
    return send_request(r, &to->id.peer, &req, o.request_timeout_ms, NULL, cb,
                        ud);
}

/* ------------------------------------------------------------ links */

typedef struct link_op {
    al__remote *r;
    uint64_t seq;
    al_actor_id other;
    al_done_cb cb;
    void *ud;
} link_op;

/* A link the peer refused is dropped here too, so that no signal is sent
 * later along a link that exists on one side only. */
static void link_sent(int status, void *ud)
{
    link_op *op = ud;
    if (status) {
        served *sv = served_find(op->r, op->seq);
        if (sv && link_remove(sv, &op->other))
            served_prune(sv);
    }
    if (op->cb)
        op->cb(status, op->ud);
    free(op);
}

static void local_notify(void *ud)
{
    link_op *op = ud;
    if (op->cb)
        op->cb(0, op->ud);
    free(op);
}

static int link_checks(al_actor *local, al_remote_ref *remote, al__remote **r)
{
    if (!local || !remote || remote->node != al_actor_node(local))
        return AL_EINVAL;
    if (!al__actor_class(local)->remote_id)
        return AL_EINVAL;
    *r = al__remote_of(remote->node);
    return *r ? 0 : AL_E_SWARM_NOT_BOOTSTRAPPED;
}

static int link_request(al__remote *r, al_actor *local, al_remote_ref *remote,
                        enum al__kw_kind kind, al_done_cb cb, void *ud)
{
    link_op *op = calloc(1, sizeof(*op));
    if (!op)
        return AL_ENOMEM;
    op->r = r;
    op->seq = al_actor_seq(local);
    op->other = other_side(&remote->id, NULL, r);
    op->cb = cb;
    op->ud = ud;
    if (op->other.seq == op->seq && peer_is_local(r, &op->other.peer)) {
        /* Kameo: linking an actor with itself is a no-op. */
        int rc = al_node_post(r->node, local_notify, op);
        if (rc)
            free(op);
        return rc;
    }
    al__kw_request req = {.kind = kind};
    al__kw_link *l = &req.u.link;
    l->actor_id = remote->id;
    l->actor_remote_id = kstr(remote->remote_id);
    l->sibbling_id.seq = op->seq;
    l->sibbling_id.peer = r->local;
    l->sibbling_remote_id = kstr(al__actor_class(local)->remote_id);
    if (kind == AL__KW_LINK) {
        int rc = al__remote_expose(r, local, NULL);
        served *sv = rc ? NULL : served_find(r, op->seq);
        if (!rc)
            rc = sv ? link_add(sv, &op->other, remote->remote_id) : AL_ENOMEM;
        if (rc) {
            if (sv)
                served_prune(sv);
            free(op);
            return rc;
        }
    } else {
        served *sv = served_find(r, op->seq);
        if (sv && link_remove(sv, &op->other))
            served_prune(sv);
    }
    if (kind == AL__KW_UNLINK) {
        free(op);
        return send_request(r, &remote->id.peer, &req, 0, NULL, cb, ud);
    }
    int rc = send_request(r, &remote->id.peer, &req, 0, NULL, link_sent, op);
    if (rc) {
        op->cb = NULL;
        link_sent(rc, op);
    }
    return rc;
}

int al_remote_link(al_actor *local, al_remote_ref *remote, al_done_cb cb,
                   void *ud)
{
    al__remote *r;
    int rc = link_checks(local, remote, &r);
    return rc ? rc : link_request(r, local, remote, AL__KW_LINK, cb, ud);
}

int al_remote_unlink(al_actor *local, al_remote_ref *remote, al_done_cb cb,
                     void *ud)
{
    al__remote *r;
    int rc = link_checks(local, remote, &r);
    return rc ? rc : link_request(r, local, remote, AL__KW_UNLINK, cb, ud);
}
