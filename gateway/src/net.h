/*
 * Where the gateway's sends go: a small interface over "resolve a name,
 * ask or tell the actor behind it", with two implementations:
 *
 *   netswarm.c  the swarm (al_remote_lookup, al_remote_ask/tell): the
 *               production path;
 *   netlocal.c  actors living in the gateway's own process (found through
 *               the link-time registry), handled exactly as a remote node
 *               handles a /kameo/1 request: MessagePack decoded by the
 *               message's codec, the reply encoded again. Names it does not
 *               know go to the next net (the swarm).
 *
 * Loop thread only. Callbacks never run inside the call that started them.
 */
#ifndef GW_NET_H
#define GW_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "actorlib.h"

#define GW_REMOTE_ID_MAX 256

/* What a name resolved to; a plain value. */
typedef struct gw_target {
    al_actor_id id;
    char peer[AL_PEER_ID_STRLEN]; /* base58 text, "local" for netlocal */
    char remote_id[GW_REMOTE_ID_MAX];
} gw_target;

/* status 0 with t, or AL_ENOTFOUND, AL_ETIMEDOUT, AL_E_SWARM_NOT_BOOTSTRAPPED
 * ... t is borrowed for the call. */
typedef void (*gw_lookup_cb)(int status, const gw_target *t, void *ud);

typedef struct gw_net gw_net;

/* Connection events, for logs and the name cache. */
typedef struct gw_net_events {
    void (*peer_connected)(const char *peer, const char *addr, void *ud);
    void (*peer_disconnected)(const char *peer, const al_peer_id *id,
                              int reason, void *ud);
    void *ud;
} gw_net_events;

typedef struct gw_net_ops {
    int (*lookup)(gw_net *n, const char *name, gw_lookup_cb cb, void *ud);
    int (*ask)(gw_net *n, const gw_target *t, const char *message_uuid,
               const uint8_t *payload, size_t len, const al_send_opts *opts,
               al_reply_cb cb, void *ud);
    int (*tell)(gw_net *n, const gw_target *t, const char *message_uuid,
                const uint8_t *payload, size_t len, const al_send_opts *opts,
                al_done_cb cb, void *ud);
    /* The swarm is up (or no swarm is needed). */
    bool (*ready)(gw_net *n);
    /* {"peer_id", "listen_addrs": [...], "swarm": "up"|...}; new ref. */
    json_t *(*info)(gw_net *n);
    /* [{"peer_id", "addr", "rtt_us", "outbound", "agent",
     * "connected_at"}]; new reference. */
    json_t *(*peers)(gw_net *n);
    size_t (*num_peers)(gw_net *n);
    /* Closes the net's own loop handles (timers): call when draining
     * starts, before the node stops. */
    void (*shutdown)(gw_net *n);
    /* Frees the net (after its node stopped). */
    void (*free)(gw_net *n);
} gw_net_ops;

struct gw_net {
    const gw_net_ops *ops;
};

static inline int gw_net_lookup(gw_net *n, const char *name, gw_lookup_cb cb,
                                void *ud)
{
    return n->ops->lookup(n, name, cb, ud);
}

static inline int gw_net_ask(gw_net *n, const gw_target *t, const char *uuid,
                             const uint8_t *p, size_t len,
                             const al_send_opts *o, al_reply_cb cb, void *ud)
{
    return n->ops->ask(n, t, uuid, p, len, o, cb, ud);
}

static inline int gw_net_tell(gw_net *n, const gw_target *t, const char *uuid,
                              const uint8_t *p, size_t len,
                              const al_send_opts *o, al_done_cb cb, void *ud)
{
    return n->ops->tell(n, t, uuid, p, len, o, cb, ud);
}

static inline void gw_net_shutdown(gw_net *n)
{
    if (n)
        n->ops->shutdown(n);
}

static inline void gw_net_free(gw_net *n)
{
    if (n)
        n->ops->free(n);
}

/* ------------------------------------------------------------ swarm */

typedef struct gw_swarm_opts {
    const char *listen;     /* multiaddr, NULL: do not listen */
    char *const *bootstrap; /* multiaddrs to dial */
    size_t nbootstrap;
    const char *key_file; /* NULL: a random identity */
    gw_net_events events;
} gw_swarm_opts;

/* Bootstraps the node's swarm, listens, dials the bootstrap peers (and
 * again every 2 s while no peer is connected). Loop thread, or before the
 * loop runs. *out is set whenever the result is not AL_ENOMEM; an error
 * (a bad key file, a listen address in use) means the swarm did not start,
 * err says why. */
int gw_swarm_net_new(gw_net **out, al_node *node, const gw_swarm_opts *opts,
                     al_error *err);

/* ------------------------------------------------------------ local */

/* Local actors by name, in front of next (may be NULL: unknown names are
 * AL_ENOTFOUND). Takes next. */
int gw_local_net_new(gw_net **out, al_node *node, gw_net *next);
/* Registers a local actor (retained) of class cls under name. The class
 * must have a remote_id and outlive the net. AL_EDUPLICATE for a name
 * already taken. */
int gw_local_net_register(gw_net *local, const char *name, al_actor *a,
                          const al_actor_class *cls);

#endif
