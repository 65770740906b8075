/*
 * The gateway process: its state (gw_app) and one request being handled
 * (gw_call), shared by gateway.c (lifecycle, REST), admin.c and openapi.c.
 *
 * Everything runs on the actorlib node's loop thread.
 *
 * A call lives from the request's headers until both the HTTP request is
 * done and every asynchronous operation it started (a name lookup, a send,
 * its deadline timer) has come back: refs counts those holders. When the
 * HTTP side ends first (the client left, the deadline answered 504), req is
 * NULL and late outcomes are dropped.
 */
#ifndef GW_APP_H
#define GW_APP_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "actorlib.h"
#include "config.h"
#include "errors.h"
#include "http.h"
#include "idempotency.h"
#include "metrics.h"
#include "namecache.h"
#include "net.h"
#include "registry.h"
#include "routes.h"
#include "store.h"

#define GW_REQUEST_ID_MAX 128

enum gw_app_state {
    GW_APP_STARTING,
    GW_APP_RUNNING,
    GW_APP_DRAINING,
    GW_APP_STOPPED,
};

typedef struct gw_call gw_call;

typedef struct gw_app {
    gw_config cfg;
    al_node *node;
    uv_loop_t *loop;
    gw_store *store;
    gw_registry *reg;
    gw_namecache *nc;
    gw_idem *idem;
    gw_net *net;
    gw_http *http;
    gw_metrics *metrics;

    enum gw_app_state state;
    int64_t started_ms; /* wall clock */
    uint64_t started_hr;
    int exit_code;

    uv_signal_t sig_term, sig_int, sig_hup;
    uv_timer_t housekeeping;
    uv_timer_t drain;
    uv_prepare_t log_flush;
    int open_handles;
    unsigned ticks;

    gw_call *calls;                 /* every live call, for drain */
    struct gw_lookup_wait *lookups; /* swarm lookups in flight, by name */
    size_t inflight;                /* ask/tell calls not answered yet */

    /* Actor types with a live message, rebuilt when the registry changed:
     * a message reference is looked up under each. Strings borrowed from
     * the registry. */
    const char **actor_types;
    size_t nactor_types;
    bool types_dirty;
    json_t *openapi; /* cached document, NULL when stale */

    uint64_t rid_prefix;
    uint64_t rid_next;

    /* Calls freed recently, kept for the next requests: a call is larger
     * than malloc's small sizes, so reusing it spares malloc a slow path
     * per request. */
    gw_call *spare_calls;
    size_t nspare_calls;
} gw_app;

struct gw_call {
    gw_app *app;
    gw_req *req; /* NULL once the HTTP request ended */
    gw_call *prev, *next;
    int refs;
    gw_route route;
    char request_id[GW_REQUEST_ID_MAX + 1];
    char traceparent[GW_REQUEST_ID_MAX + 1];
    bool counted; /* in app->inflight */

    /* for the request log */
    const char *err_code;
    const char *remote_kind;
    const char *cache; /* "hit", "miss", "negative" */
    bool replayed;

    /* ask / tell */
    bool is_ask;
    json_t *json;          /* the parsed body */
    const gw_message *msg; /* borrowed from the registry */
    const char *actor_type;
    al_buf payload; /* MessagePack */
    bool encoded;
    int64_t timeout_ms;
    int64_t mailbox_ms; /* AL_NO_TIMEOUT when absent */
    gw_target target;
    bool from_cache;
    bool fresh_lookup_done;
    bool retried;
    bool sent;
    char idem_key[GW_IDEM_KEY_MAX + 1];
    bool idem_reserved;
    uv_timer_t deadline;
    bool timer_started;
};

/* ------------------------------------------------------------ responses */

/* Answers with body (malloc'd, taken; NULL for none) as application/json,
 * plus extra headers. X-Request-Id is always added. */
void gw_call_respond(gw_call *c, int status, char *body, size_t len,
                     const gw_header *extra, size_t nextra);
/* Answers with value (stolen) as compact JSON. */
void gw_call_json(gw_call *c, int status, json_t *value);
/* The one error body; message NULL = the table's; details stolen. */
void gw_call_error(gw_call *c, gw_err e, const char *message, json_t *details);
/* An error with another code (the registry's Confluent codes) and
 * status. */
void gw_call_error_code(gw_call *c, int status, const char *code,
                        const char *message, json_t *details);
/* Takes a reference for an asynchronous operation; gw_call_unref when it
 * comes back. */
void gw_call_ref(gw_call *c);
void gw_call_unref(gw_call *c);
/* Still waiting for an answer. */
static inline bool gw_call_live(const gw_call *c)
{
    return c->req && !c->req->responded;
}
/* Keeps the connection open after the body handler returns. */
int gw_call_suspend(gw_call *c);

/* A JSON body parsed with the gateway's loader; NULL after answering 400
 * BAD_JSON. */
json_t *gw_call_parse_body(gw_call *c, size_t flags);

/* ------------------------------------------------------------ app */

/* The name cache entry as admin shows it; new reference. */
json_t *gw_app_name_json(const gw_namecache_entry *e);
/* Reloads the schema folder (SIGHUP, POST /admin/reload). Returns 0 or the
 * error, described in msg. *messages gets how many messages the folder
 * holds. */
int gw_app_reload_schemas(gw_app *app, char *msg, size_t cap, size_t *messages);
/* Marks the registry changed: routes and OpenAPI are rebuilt lazily. */
void gw_app_registry_changed(gw_app *app);
/* Resolves a name in the swarm, bypassing the cache, and stores the
 * answer in the cache (POST /admin/actors/{name}/resolve). cb runs with
 * the outcome: 0 with the cache entry, or a lookup status. */
int gw_app_resolve(gw_app *app, const char *name,
                   void (*cb)(int status, const gw_namecache_entry *e,
                              void *ud),
                   void *ud);

/* The HTTP handlers of the gateway (gateway.c). */
gw_http_handlers gw_app_handlers(gw_app *app);
/* Frees the spare calls (at exit). */
void gw_app_free_spare_calls(gw_app *app);

/* admin.c */
void gw_admin_handle(gw_call *c);
/* openapi.c: the document for the registry's latest live versions; new
 * reference, NULL when out of memory. */
json_t *gw_openapi_build(const gw_registry *reg, const char *version);

/* The process: everything from flags to exit status. hooks may be NULL;
 * with hooks, setup runs once the node exists and may register actors of
 * the process in the local net, which then answers for their names before
 * the swarm does. */
typedef struct gw_hooks {
    int (*setup)(al_node *node, gw_net *local, void *ud);
    void *ud;
    bool no_swarm; /* only the process's actors: no swarm at all */
} gw_hooks;

int gw_main(int argc, char **argv, const gw_hooks *hooks);

#endif
