/*
 * Remote actors: Kameo's /kameo/1 request/response protocol on the swarm,
 * the node's table of actors reachable from other nodes (Kameo's
 * REMOTE_REGISTRY), remote references, and remote links. The public half
 * (al_remote_*, al_actor_register/unregister) is declared in actorlib.h;
 * names.c keeps the Kademlia side of registration.
 *
 * Serving a request is sans-I/O (al__remote_serve): bytes in, response
 * bytes out, so that the dispatch can be tested and fuzzed without a
 * network. The stream glue around it reads a request to the end of the
 * stream, serves it and writes the answer back.
 *
 * The order of checks is Kameo's (remote.rs and _internal.rs, 0.14-0.17):
 *   Ask/Tell: (actor remote id, message remote id) not in the link-time
 *     registry -> UnknownMessage; actor id not served here ->
 *     ActorNotRunning; served actor of another type -> BadActorType;
 *     payload decode failure -> DeserializeMessage; then the local send,
 *     with mailbox_timeout, reply_timeout and immediate applied here.
 *   Link/Unlink/SignalLinkDied: actor remote id unknown -> UnknownActor;
 *     then ActorNotRunning and BadActorType as above.
 *
 * Loop thread only.
 */
#ifndef AL_REMOTE_H
#define AL_REMOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actorlib.h"
#include "kameo_wire.h"
#include "swarm.h"

#define AL__KAMEO_PROTOCOL "/kameo/1"
/* Default bound of a request on the sending side (libp2p's default). */
#define AL__REMOTE_TIMEOUT_MS 10000
/* Default bound of requests being served at once (al_swarm_opts). */
#define AL__REMOTE_MAX_INBOUND 1024

typedef struct al__remote al__remote;

/* Creates the node's remote state for the swarm (node->remote): serves
 * /kameo/1 and watches connections for PeerDisconnected. Freed at node
 * stop, after every stream it opened has closed. */
int al__remote_init(al__swarm *sw);
/* The remote state without a swarm, local peer id given: requests run
 * only locally (tests, and refs to this node). Creates it on first use;
 * al__remote_init later adopts it. */
int al__remote_attach(al_node *node, const al_peer_id *local, al__remote **out);
/* NULL before either of the above. */
al__remote *al__remote_of(al_node *node);
/* Requests being served at once; over it, a request is answered
 * MailboxFull without being read (0 = AL__REMOTE_MAX_INBOUND). */
void al__remote_set_max_inbound(al__remote *r, uint32_t max);
/* How long a peer has to send a whole request once it opened its stream
 * (0 = AL__REMOTE_TIMEOUT_MS, libp2p's request timeout); past it the stream
 * is reset, so that slow or silent senders cannot hold the inbound slots. */
void al__remote_set_read_timeout(al__remote *r, uint32_t ms);
const al_peer_id *al__remote_local_peer(const al__remote *r);

/* ------------------------------------------------------------ served actors */

/* Makes a local actor reachable by id from other nodes (under one more
 * name, when named), as Kameo's register and link_remote do. The table
 * holds a reference on the actor until it dies or its last name and link
 * are gone. The class must have a remote_id. */
int al__remote_expose(al__remote *r, al_actor *a, const char *name);
/* Drops a name; returns the sequence id it named, or AL_ENOTFOUND. The
 * actor stays reachable while other names or links keep it. */
int al__remote_forget_name(al__remote *r, const char *name, uint64_t *seq);
/* True when name names the actor with this sequence id. */
bool al__remote_name_is(al__remote *r, const char *name, uint64_t seq);
/* True when an actor of this node with that sequence id is served. */
bool al__remote_is_served(al__remote *r, uint64_t seq);

/* ------------------------------------------------------------ serving */

/* One request being served. */
typedef struct al__rserve al__rserve;

/* The answer: the response's CBOR (borrowed for the call), or resp == NULL
 * when the request gets no answer and its stream should be reset (the
 * request did not decode, or the node ran out of memory), as a libp2p
 * request_response listener drops a stream it cannot read. */
typedef void (*al__rserve_fn)(al__rserve *s, const uint8_t *resp, size_t len,
                              void *ud);

/* Serves one request (the whole CBOR value). from is the peer that sent
 * it (NULL: this node). out runs exactly once, possibly inside this call,
 * unless the request is cancelled first. Returns the request (until out
 * runs) or NULL when out already ran. */
al__rserve *al__remote_serve(al__remote *r, const al_peer_id *from,
                             const uint8_t *req, size_t len, al__rserve_fn out,
                             void *ud);
/* The asker went away: out will not run. */
void al__rserve_cancel(al__rserve *s);

/* The answer to a request refused for load: {"<Kind>": {"Err":
 * "MailboxFull"}}, with the kind read from the first bytes of the request
 * (the enum tag comes first; a few dozen bytes suffice). AL_EDECODE when
 * head does not start like a request. */
int al__remote_shed_answer(const uint8_t *head, size_t len, al_buf *out);

/* Requests being served now (for tests and diagnostics). */
uint32_t al__remote_inbound(const al__remote *r);

/* ------------------------------------------------------------ requests */

/* Turns a decoded response into what the caller of a request sees: the
 * status, data and detail of an al_reply, checking that its kind answers
 * the request's kind (else AL_E_BAD_REPLY). detail points into resp or
 * into buf (cap bytes). */
void al__remote_reply_of(enum al__kw_kind kind, const al__kw_response *resp,
                         al_reply *out, char *buf, size_t cap);

/* ActorStopReason <-> AL_STOP_*. */
int al__remote_stop_code(const al__kw_stop_reason *reason);

#endif
