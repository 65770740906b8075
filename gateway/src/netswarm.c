/* The production net: the node's swarm and actorlib's remote layer. */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "net.h"

#define REDIAL_MS 2000
#define PEERS_MAX 256

typedef struct swarm_net {
    gw_net base;
    al_node *node;
    gw_net_events events;
    char **bootstrap;
    size_t nbootstrap;
    uv_timer_t redial;
    bool timer_open;
    bool up;       /* bootstrapped and listening */
    size_t npeers; /* connected peers, kept from the swarm's events */
    char reason[AL_ERROR_MSG + 64];
} swarm_net;

/* ------------------------------------------------------------ failures */

typedef struct failed {
    int status;
    gw_lookup_cb lookup_cb;
    al_reply_cb reply_cb;
    al_done_cb done_cb;
    void *ud;
} failed;

static void run_failed(void *arg)
{
    failed *f = arg;
    if (f->lookup_cb) {
        f->lookup_cb(f->status, NULL, f->ud);
    } else if (f->reply_cb) {
        al_reply r = {f->status, NULL, 0, NULL};
        f->reply_cb(&r, f->ud);
    } else if (f->done_cb) {
        f->done_cb(f->status, f->ud);
    }
    free(f);
}

/* Reports status through the callback from the loop, not from inside the
 * call. */
static int fail_later(swarm_net *sn, failed f)
{
    failed *copy = malloc(sizeof(*copy));
    if (!copy)
        return AL_ENOMEM;
    *copy = f;
    int rc = al_node_post(sn->node, run_failed, copy);
    if (rc)
        free(copy);
    return rc;
}

/* ------------------------------------------------------------ lookup */

typedef struct lookup_op {
    gw_lookup_cb cb;
    void *ud;
} lookup_op;

static void on_lookup(int status, al_remote_ref *ref, void *arg)
{
    lookup_op *op = arg;
    if (status || !ref) {
        op->cb(status ? status : AL_ENOTFOUND, NULL, op->ud);
    } else {
        gw_target t;
        memset(&t, 0, sizeof(t));
        t.id = *al_remote_ref_id(ref);
        snprintf(t.remote_id, sizeof(t.remote_id), "%s",
                 al_remote_ref_remote_id(ref));
        if (al_peer_id_format(&t.id.peer, t.peer, sizeof(t.peer)))
            t.peer[0] = 0;
        al_remote_ref_free(ref);
        op->cb(0, &t, op->ud);
    }
    free(op);
}

static int swarm_lookup(gw_net *n, const char *name, gw_lookup_cb cb, void *ud)
{
    swarm_net *sn = (swarm_net *)n;
    if (!sn->up)
        return fail_later(sn, (failed){.status = AL_E_SWARM_NOT_BOOTSTRAPPED,
                                       .lookup_cb = cb,
                                       .ud = ud});
    lookup_op *op = malloc(sizeof(*op));
    if (!op)
        return AL_ENOMEM;
    *op = (lookup_op){cb, ud};
    int rc = al_remote_lookup(sn->node, name, NULL, on_lookup, op);
    if (rc)
        free(op);
    return rc;
}

/* ------------------------------------------------------------ sends */

typedef struct send_op {
    al_remote_ref *ref; /* kept until the outcome arrives */
    al_reply_cb reply_cb;
    al_done_cb done_cb;
    void *ud;
} send_op;

static void on_reply(const al_reply *r, void *arg)
{
    send_op *op = arg;
    op->reply_cb(r, op->ud);
    al_remote_ref_free(op->ref);
    free(op);
}

static void on_done(int status, void *arg)
{
    send_op *op = arg;
    op->done_cb(status, op->ud);
    al_remote_ref_free(op->ref);
    free(op);
}

static int new_send(swarm_net *sn, const gw_target *t, send_op **out)
{
    send_op *op = calloc(1, sizeof(*op));
    if (!op)
        return AL_ENOMEM;
    int rc = al_remote_ref_new(sn->node, &t->id, t->remote_id, &op->ref);
    if (rc) {
        free(op);
        return rc;
    }
    *out = op;
    return 0;
}

static int swarm_ask(gw_net *n, const gw_target *t, const char *uuid,
                     const uint8_t *p, size_t len, const al_send_opts *o,
                     al_reply_cb cb, void *ud)
{
    swarm_net *sn = (swarm_net *)n;
    if (!sn->up)
        return fail_later(sn, (failed){.status = AL_E_SWARM_NOT_BOOTSTRAPPED,
                                       .reply_cb = cb,
                                       .ud = ud});
    send_op *op;
    int rc = new_send(sn, t, &op);
    if (rc)
        return rc;
    op->reply_cb = cb;
    op->ud = ud;
    rc = al_remote_ask(op->ref, uuid, p, len, o, on_reply, op);
    if (rc) {
        al_remote_ref_free(op->ref);
        free(op);
    }
    return rc;
}

static int swarm_tell(gw_net *n, const gw_target *t, const char *uuid,
                      const uint8_t *p, size_t len, const al_send_opts *o,
                      al_done_cb cb, void *ud)
{
    swarm_net *sn = (swarm_net *)n;
    if (!sn->up)
        return fail_later(sn, (failed){.status = AL_E_SWARM_NOT_BOOTSTRAPPED,
                                       .done_cb = cb,
                                       .ud = ud});
    send_op *op;
    int rc = new_send(sn, t, &op);
    if (rc)
        return rc;
    op->done_cb = cb;
    op->ud = ud;
    rc = al_remote_tell(op->ref, uuid, p, len, o, on_done, op);
    if (rc) {
        al_remote_ref_free(op->ref);
        free(op);
    }
    return rc;
}

/* ------------------------------------------------------------ peers */

static size_t swarm_num_peers(gw_net *n)
{
    swarm_net *sn = (swarm_net *)n;
    /* Kept by on_event: readiness is asked on every cache miss, and
     * counting walks the swarm's whole peer table. */
    return sn->up ? sn->npeers : 0;
}

static bool swarm_ready(gw_net *n)
{
    swarm_net *sn = (swarm_net *)n;
    /* With bootstrap peers configured, names can only be resolved once at
     * least one peer is connected. */
    return sn->up && (sn->nbootstrap == 0 || swarm_num_peers(n) > 0);
}

/* What a bootstrap dial needs once it ends; the node outlives its
 * callbacks, the net may not. */
typedef struct boot_dial {
    al_node *node;
    char addr[];
} boot_dial;

static void on_dialed(int status, const al_peer_id *peer, const char *detail,
                      void *ud)
{
    boot_dial *d = ud;
    gw_logline l;
    if (gw_log_begin(&l, status ? GW_LOG_WARN : GW_LOG_INFO,
                     "bootstrap_dial")) {
        gw_log_str(&l, "addr", d->addr);
        gw_log_str(&l, "result", status ? al_status_name(status) : "ok");
        gw_log_str(&l, "detail", detail);
        gw_log_end(&l);
    }
    /* Kademlia learns the peer (and bootstraps from it) even when it runs
     * no identify, as a Rust Kameo node does not. */
    if (status == 0 && peer)
        al_swarm_add_peer_address(d->node, peer, d->addr);
    free(d);
}

static void dial_bootstrap(swarm_net *sn)
{
    for (size_t i = 0; i < sn->nbootstrap; i++) {
        size_t len = strlen(sn->bootstrap[i]);
        boot_dial *d = malloc(sizeof(*d) + len + 1);
        if (!d)
            continue;
        d->node = sn->node;
        memcpy(d->addr, sn->bootstrap[i], len + 1);
        int rc = al_swarm_dial(sn->node, sn->bootstrap[i], on_dialed, d);
        if (rc) {
            gw_log_event(GW_LOG_WARN, "bootstrap_dial", "%s: %s",
                         sn->bootstrap[i], al_strerror(rc));
            free(d);
        }
    }
}

/* Keeps dialing the bootstrap peers while none is connected, so that a
 * gateway started before its peers, or cut off, finds its way back. */
static void on_redial(uv_timer_t *t)
{
    swarm_net *sn = t->data;
    if (sn->up && sn->nbootstrap && swarm_num_peers(&sn->base) == 0)
        dial_bootstrap(sn);
}

static void on_event(const al_swarm_event *ev, void *ud)
{
    swarm_net *sn = ud;
    char peer[AL_PEER_ID_STRLEN] = "";
    if (ev->peer && al_peer_id_format(ev->peer, peer, sizeof(peer)))
        peer[0] = 0;
    switch (ev->type) {
    case AL_SWARM_CONNECTED:
        sn->npeers++;
        if (sn->events.peer_connected)
            sn->events.peer_connected(peer, ev->addr, sn->events.ud);
        break;
    case AL_SWARM_DISCONNECTED:
        if (sn->npeers > 0)
            sn->npeers--;
        if (sn->events.peer_disconnected)
            sn->events.peer_disconnected(peer, ev->peer, ev->reason,
                                         sn->events.ud);
        break;
    case AL_SWARM_LISTENING:
        gw_log_event(GW_LOG_INFO, "swarm_listening", "%s",
                     ev->addr ? ev->addr : "");
        break;
    case AL_SWARM_IDENTIFIED:
        break;
    }
}

static json_t *swarm_info(gw_net *n)
{
    swarm_net *sn = (swarm_net *)n;
    json_t *info = json_object();
    if (!info)
        return NULL;
    json_t *addrs = json_array();
    if (sn->up) {
        al_peer_id id;
        char text[AL_PEER_ID_STRLEN];
        al_swarm_local_peer_id(sn->node, &id);
        if (al_peer_id_format(&id, text, sizeof(text)) == 0)
            json_object_set_new(info, "peer_id", json_string(text));
        char *list[32];
        size_t k = al_swarm_listen_addrs(sn->node, list, 32);
        for (size_t i = 0; i < k && i < 32; i++) {
            json_array_append_new(addrs, json_string(list[i]));
            free(list[i]);
        }
    } else {
        json_object_set_new(info, "peer_id", json_null());
    }
    json_object_set_new(info, "listen_addrs", addrs);
    json_object_set_new(info, "swarm", json_string(sn->up ? "up" : "failed"));
    if (!sn->up)
        json_object_set_new(info, "swarm_error", json_string(sn->reason));
    return info;
}

static json_t *swarm_peers(gw_net *n)
{
    swarm_net *sn = (swarm_net *)n;
    json_t *arr = json_array();
    if (!arr || !sn->up)
        return arr;
    al_peer_info *list = calloc(PEERS_MAX, sizeof(*list));
    if (!list)
        return arr;
    size_t total = al_swarm_peers(sn->node, list, PEERS_MAX);
    for (size_t i = 0; i < total && i < PEERS_MAX; i++) {
        char text[AL_PEER_ID_STRLEN] = "";
        if (al_peer_id_format(&list[i].id, text, sizeof(text)))
            text[0] = 0;
        json_t *p =
            json_pack("{s:s, s:s, s:I, s:b, s:s, s:I}", "peer_id", text, "addr",
                      list[i].addr, "rtt_us", (json_int_t)list[i].rtt_us,
                      "outbound", list[i].outbound, "agent", list[i].agent,
                      "connected_at_ms", (json_int_t)list[i].connected_at_ms);
        if (p)
            json_array_append_new(arr, p);
    }
    free(list);
    return arr;
}

static void timer_closed(uv_handle_t *h)
{
    swarm_net *sn = h->data;
    sn->timer_open = false;
}

static void swarm_shutdown(gw_net *n)
{
    swarm_net *sn = (swarm_net *)n;
    if (sn->timer_open && !uv_is_closing((uv_handle_t *)&sn->redial))
        uv_close((uv_handle_t *)&sn->redial, timer_closed);
}

static void swarm_free(gw_net *n)
{
    swarm_net *sn = (swarm_net *)n;
    for (size_t i = 0; i < sn->nbootstrap; i++)
        free(sn->bootstrap[i]);
    free(sn->bootstrap);
    free(sn);
}

static const gw_net_ops swarm_ops = {
    swarm_lookup, swarm_ask,       swarm_tell,     swarm_ready, swarm_info,
    swarm_peers,  swarm_num_peers, swarm_shutdown, swarm_free,
};

static int start(swarm_net *sn, const gw_swarm_opts *o, al_error *err)
{
    al_identity *id = NULL;
    int rc;
    if (o->key_file && (rc = al_identity_load_or_create(&id, o->key_file, err)))
        return rc;
    if ((rc = al_swarm_bootstrap(sn->node, id, NULL, err)))
        return rc;
    al_swarm_on_event(sn->node, on_event, sn);
    if (o->listen && (rc = al_swarm_listen_on(sn->node, o->listen, err)))
        return rc;
    sn->up = true;
    dial_bootstrap(sn);
    return 0;
}

int gw_swarm_net_new(gw_net **out, al_node *node, const gw_swarm_opts *o,
                     al_error *err)
{
    *out = NULL;
    swarm_net *sn = calloc(1, sizeof(*sn));
    if (!sn)
        return al_error_set(err, AL_ENOMEM, "out of memory");
    sn->base.ops = &swarm_ops;
    sn->node = node;
    sn->events = o->events;
    if (o->nbootstrap) {
        sn->bootstrap = calloc(o->nbootstrap, sizeof(char *));
        if (!sn->bootstrap)
            goto nomem;
        for (size_t i = 0; i < o->nbootstrap; i++) {
            if (!(sn->bootstrap[i] = strdup(o->bootstrap[i])))
                goto nomem;
            sn->nbootstrap++;
        }
    }
    *out = &sn->base;
    uv_timer_init(al_node_loop(node), &sn->redial);
    sn->redial.data = sn;
    sn->timer_open = true;
    uv_timer_start(&sn->redial, on_redial, REDIAL_MS, REDIAL_MS);
    al_error e = {0};
    int rc = start(sn, o, &e);
    if (rc) {
        snprintf(sn->reason, sizeof(sn->reason), "%s: %s", al_status_name(rc),
                 e.msg);
        return al_error_set(err, rc, "%s", sn->reason);
    }
    return 0;
nomem:
    swarm_free(&sn->base);
    return al_error_set(err, AL_ENOMEM, "out of memory");
}
