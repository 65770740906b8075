/* The gateway's requests: headers checks, public endpoints, and the REST
 * path from JSON to a remote ask or tell and back. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app.h"
#include "log.h"
#include "mpjson.h"
#include "schema.h"

static void send_call(gw_call *c);
static void resolve_name(gw_call *c, bool fresh);

/* ------------------------------------------------------------ calls */

#define SPARE_CALLS_MAX 64

/* Under AddressSanitizer calls are freed for real, so that a use after
 * the last reference is caught. */
#if defined(__SANITIZE_ADDRESS__)
#define RECYCLE_CALLS false
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RECYCLE_CALLS false
#endif
#endif
#ifndef RECYCLE_CALLS
#define RECYCLE_CALLS true
#endif

/* A zeroed call, reused or new. */
static gw_call *call_new(gw_app *app)
{
    gw_call *c = app->spare_calls;
    if (!c)
        return calloc(1, sizeof(*c));
    app->spare_calls = c->next;
    app->nspare_calls--;
    memset(c, 0, sizeof(*c));
    return c;
}

void gw_app_free_spare_calls(gw_app *app)
{
    while (app->spare_calls) {
        gw_call *c = app->spare_calls;
        app->spare_calls = c->next;
        free(c);
    }
    app->nspare_calls = 0;
}

static void call_free(gw_call *c)
{
    gw_app *app = c->app;
    if (c->prev)
        c->prev->next = c->next;
    else
        app->calls = c->next;
    if (c->next)
        c->next->prev = c->prev;
    json_decref(c->json);
    al_buf_free(&c->payload);
    if (RECYCLE_CALLS && app->nspare_calls < SPARE_CALLS_MAX) {
        c->next = app->spare_calls;
        app->spare_calls = c;
        app->nspare_calls++;
        return;
    }
    free(c);
}

void gw_call_ref(gw_call *c)
{
    c->refs++;
}

void gw_call_unref(gw_call *c)
{
    if (--c->refs == 0)
        call_free(c);
}

int gw_call_suspend(gw_call *c)
{
    return c->req ? gw_req_suspend(c->req) : AL_ESTATE;
}

static void timer_closed(uv_handle_t *h)
{
    gw_call_unref(h->data);
}

static void stop_deadline(gw_call *c)
{
    if (c->timer_started && !uv_is_closing((uv_handle_t *)&c->deadline)) {
        uv_timer_stop(&c->deadline);
        uv_close((uv_handle_t *)&c->deadline, timer_closed);
    }
}

/* Settles the Idempotency-Key when the answer is known: kept when a handler
 * may have run, released when the request certainly reached none. */
static void settle_idem(gw_call *c, int status, const char *body, size_t len,
                        bool keep)
{
    if (!c->idem_reserved)
        return;
    c->idem_reserved = false;
    if (keep) {
        static const char hdr[] = "Content-Type: application/json\r\n";
        int rc = gw_idem_complete(c->app->idem, c->idem_key, status,
                                  len ? hdr : NULL, len ? sizeof(hdr) - 1 : 0,
                                  body, len);
        if (rc && rc != AL_ELIMIT)
            gw_log_event(GW_LOG_WARN, "idempotency",
                         "cannot keep the answer for key of request %s: %s",
                         c->request_id, al_strerror(rc));
    } else {
        gw_idem_abort(c->app->idem, c->idem_key);
    }
}

static void respond_raw(gw_call *c, int status, char *body, size_t len,
                        const char *content_type, const gw_header *extra,
                        size_t nextra, bool keep_idem)
{
    if (!gw_call_live(c)) {
        free(body);
        return;
    }
    settle_idem(c, status, body, len, keep_idem);
    gw_header h[8];
    size_t n = 0;
    if (body)
        h[n++] = (gw_header){"Content-Type", content_type};
    h[n++] = (gw_header){"X-Request-Id", c->request_id};
    if (c->app->state == GW_APP_DRAINING)
        h[n++] = (gw_header){"Connection", "close"};
    for (size_t i = 0; i < nextra && n < 8; i++)
        h[n++] = extra[i];
    if (c->counted) {
        c->counted = false;
        c->app->inflight--;
    }
    stop_deadline(c);
    gw_req_respond(c->req, status, h, n, body, body ? len : 0, true);
}

void gw_call_respond(gw_call *c, int status, char *body, size_t len,
                     const gw_header *extra, size_t nextra)
{
    respond_raw(c, status, body, len, "application/json", extra, nextra, true);
}

void gw_call_json(gw_call *c, int status, json_t *value)
{
    /* Most answers are small: dumped into the stack first. A larger one
     * has had its size measured by that, and is dumped once more into a
     * block of exactly that size. */
    const size_t flags = JSON_COMPACT | JSON_ENCODE_ANY;
    char small[256];
    size_t len = json_dumpb(value, small, sizeof(small), flags);
    char *text = len > 0 ? malloc(len) : NULL;
    if (text && len <= sizeof(small))
        memcpy(text, small, len);
    else if (text && json_dumpb(value, text, len, flags) != len) {
        free(text);
        text = NULL;
    }
    json_decref(value);
    if (!text) {
        gw_call_error(c, GW_E_INTERNAL, "out of memory", NULL);
        return;
    }
    gw_call_respond(c, status, text, len, NULL, 0);
}

static void error_with(gw_call *c, int status, const char *code,
                       bool retry_after, const char *message, json_t *details,
                       bool keep_idem)
{
    if (!gw_call_live(c)) {
        json_decref(details);
        return;
    }
    c->err_code = code;
    size_t len = 0;
    char *body = gw_err_body_code(code, message, c->request_id, details, &len);
    if (!body) {
        /* Out of memory: a status without a body still says what
         * happened. */
        respond_raw(c, status, NULL, 0, NULL, NULL, 0, false);
        return;
    }
    gw_header extra[2];
    size_t n = 0;
    char allow[64];
    if (retry_after)
        extra[n++] = (gw_header){"Retry-After", "1"};
    if (status == 405)
        extra[n++] = (gw_header){
            "Allow", gw_allow_header(c->route.allow, allow, sizeof(allow))};
    if (status == 401)
        extra[n++] = (gw_header){"WWW-Authenticate", "Bearer"};
    respond_raw(c, status, body, len, "application/json", extra, n, keep_idem);
}

void gw_call_error(gw_call *c, gw_err e, const char *message, json_t *details)
{
    const gw_errinfo *info = gw_err_info(e);
    error_with(c, info->status, info->code, info->retry_after,
               message ? message : info->when, details, false);
}

void gw_call_error_code(gw_call *c, int status, const char *code,
                        const char *message, json_t *details)
{
    error_with(c, status, code, status == 429 || status == 503, message,
               details, false);
}

/* A remote failure: the row of the table, details.kind the variant. */
static void remote_error(gw_call *c, int status, const char *detail)
{
    gw_remote_fail f = gw_err_from_status(status);
    const gw_errinfo *info = gw_err_info(f.err);
    c->remote_kind = al_status_name(status);
    json_t *details = json_object();
    if (details) {
        json_object_set_new(details, "kind", json_string(c->remote_kind));
        if (detail && *detail)
            json_object_set_new(details, "detail", json_string(detail));
        if (c->target.peer[0])
            json_object_set_new(details, "peer_id",
                                json_string(c->target.peer));
    }
    error_with(c, info->status, info->code, info->retry_after, info->when,
               details, c->sent && !f.not_run);
}

json_t *gw_call_parse_body(gw_call *c, size_t flags)
{
    gw_req *r = c->req;
    if (!r->body.len) {
        gw_call_error(c, GW_E_BAD_JSON, "the body is empty; send a JSON value",
                      NULL);
        return NULL;
    }
    json_error_t je;
    json_t *v =
        gw_json_loadb((const char *)r->body.data, r->body.len,
                      flags | JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
    if (!v) {
        json_t *d = json_pack("{s:i, s:i, s:s}", "line", je.line, "column",
                              je.column, "reason", je.text);
        gw_call_error(c, GW_E_BAD_JSON, "the body is not valid JSON", d);
    }
    return v;
}

/* ------------------------------------------------------------ headers */

static bool sane_id(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || strchr("-._:@/+=", ch);
        if (!ok)
            return false;
    }
    return true;
}

/* W3C trace context: version-traceid-parentid-flags in lower-case hex;
 * later versions may append fields, so only the charset and the length
 * are checked beyond the first four. */
static bool sane_traceparent(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 55 || n > GW_REQUEST_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool dash = i == 2 || i == 35 || i == 52;
        if (i < 55 && dash != (ch == '-'))
            return false;
        if (!dash && !((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')) &&
            !(i >= 55 && ch == '-'))
            return false;
    }
    return true;
}

/* Copies src into dst (cap > 0), cut to fit, always terminated. */
static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = 0;
}

static void put_hex64(char *out, uint64_t v)
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 15; i >= 0; i--, v >>= 4)
        out[i] = hex[v & 15];
}

/* 32 hex digits: the process's random prefix, then a counter. */
static void make_request_id(gw_app *app, char out[static 33])
{
    put_hex64(out, app->rid_prefix);
    put_hex64(out + 16, ++app->rid_next);
    out[32] = 0;
}

/* "application/json" with optional parameters (charset=utf-8). */
static bool content_type_is(const char *ct, const char *want)
{
    size_t n = strlen(want);
    if (!ct)
        return false;
    while (*ct == ' ')
        ct++;
    if (strncasecmp(ct, want, n) != 0)
        return false;
    ct += n;
    while (*ct == ' ')
        ct++;
    return *ct == 0 || *ct == ';';
}

static bool json_content_type(gw_call *c)
{
    const char *ct = gw_req_header(c->req, "Content-Type");
    if (content_type_is(ct, "application/json"))
        return true;
    /* Confluent's clients speak their own media types to the registry. */
    return c->route.admin &&
           (content_type_is(ct, "application/vnd.schemaregistry.v1+json") ||
            content_type_is(ct, "application/vnd.schemaregistry+json"));
}

/* A header holding milliseconds: absent (dflt), or 0..max (capped). */
static int header_ms(gw_call *c, const char *name, int64_t dflt, int64_t cap,
                     bool allow_zero, int64_t *out)
{
    const char *v = gw_req_header(c->req, name);
    if (!v) {
        *out = dflt;
        return 0;
    }
    uint32_t ms;
    if (gw_parse_u32(v, allow_zero ? 0 : 1, UINT32_MAX, &ms)) {
        char msg[160];
        snprintf(msg, sizeof(msg), "%s must be %s integer of milliseconds",
                 name, allow_zero ? "a non-negative" : "a positive");
        gw_call_error(c, GW_E_BAD_REQUEST, msg,
                      json_pack("{s:s}", "header", name));
        return AL_EINVAL;
    }
    *out = (int64_t)ms > cap ? cap : (int64_t)ms;
    return 0;
}

static bool ct_equal(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    unsigned char diff = (unsigned char)(n != m);
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(a[i] ^ b[i < m ? i : 0]);
    return diff == 0;
}

/* /admin: a bearer token, compared in constant time. */
static bool admin_allowed(gw_call *c)
{
    gw_config *cfg = &c->app->cfg;
    if (!cfg->admin_token) {
        if (cfg->admin_open)
            return true;
        gw_call_error(c, GW_E_ADMIN_DISABLED,
                      "the admin API is off: no admin token is configured "
                      "(--admin-token or ACTORGATE_ADMIN_TOKEN)",
                      NULL);
        return false;
    }
    const char *auth = gw_req_header(c->req, "Authorization");
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0) {
        gw_call_error(c, GW_E_UNAUTHORIZED,
                      "send Authorization: Bearer <token>", NULL);
        return false;
    }
    const char *tok = auth + 7;
    while (*tok == ' ')
        tok++;
    if (!ct_equal(tok, cfg->admin_token)) {
        gw_call_error(c, GW_E_FORBIDDEN, "the token is not the admin token",
                      NULL);
        return false;
    }
    return true;
}

static void route_failed(gw_call *c)
{
    switch (c->route.fail) {
    case GW_RF_METHOD:
        gw_call_error(c, GW_E_METHOD_NOT_ALLOWED, NULL, NULL);
        break;
    case GW_RF_BAD_SEGMENT:
        gw_call_error(c, GW_E_BAD_REQUEST,
                      "a path segment has a bad percent escape, a control "
                      "character or is not UTF-8",
                      NULL);
        break;
    case GW_RF_BAD_ACTOR_NAME:
        gw_call_error(c, GW_E_BAD_REQUEST,
                      "an actor name is 1 to 255 bytes of UTF-8 without "
                      "control characters",
                      NULL);
        break;
    case GW_RF_TOO_LONG:
        gw_call_error(c, GW_E_URI_TOO_LONG, NULL, NULL);
        break;
    case GW_RF_MESSAGE_NOT_FOUND:
        gw_call_error(c, GW_E_MESSAGE_NOT_FOUND,
                      "a message is named by its registered name or its "
                      "UUID",
                      NULL);
        break;
    default:
        gw_call_error(c, GW_E_NOT_FOUND, NULL, NULL);
        break;
    }
}

/* The headers an ask or tell depends on, checked before the body is read. */
static int ask_headers(gw_call *c)
{
    gw_config *cfg = &c->app->cfg;
    if (header_ms(c, "X-Timeout-Ms", cfg->timeout_ms, cfg->max_timeout_ms,
                  false, &c->timeout_ms) ||
        header_ms(c, "X-Mailbox-Timeout-Ms", AL_NO_TIMEOUT, cfg->max_timeout_ms,
                  true, &c->mailbox_ms))
        return AL_EINVAL;
    const char *key = gw_req_header(c->req, "Idempotency-Key");
    if (key) {
        size_t n = strlen(key);
        bool ok = n > 0 && n <= GW_IDEM_KEY_MAX;
        for (size_t i = 0; ok && i < n; i++)
            ok = key[i] >= 0x20 && key[i] <= 0x7e;
        if (!ok) {
            gw_call_error(c, GW_E_BAD_REQUEST,
                          "Idempotency-Key must be 1 to 255 printable ASCII "
                          "characters",
                          json_pack("{s:s}", "header", "Idempotency-Key"));
            return AL_EINVAL;
        }
        memcpy(c->idem_key, key, n + 1);
    }
    return 0;
}

/* ------------------------------------------------------------ public */

static void answer_readyz(gw_call *c)
{
    gw_app *app = c->app;
    bool net = app->net && app->net->ops->ready(app->net);
    bool db = app->store != NULL;
    if (net && db && app->state == GW_APP_RUNNING) {
        gw_call_respond(c, 204, NULL, 0, NULL, 0);
        return;
    }
    json_t *d =
        json_pack("{s:b, s:b, s:s}", "swarm", net, "database", db, "state",
                  app->state == GW_APP_DRAINING  ? "draining"
                  : app->state == GW_APP_RUNNING ? "running"
                                                 : "starting");
    gw_call_error(c, GW_E_NOT_READY,
                  app->state == GW_APP_DRAINING ? "the gateway is shutting down"
                  : !net                        ? "the swarm is not up"
                                                : "the database is not open",
                  d);
}

static void answer_metrics(gw_call *c)
{
    gw_app *app = c->app;
    gw_metrics_snapshot s;
    memset(&s, 0, sizeof(s));
    gw_namecache_stats ns;
    gw_namecache_get_stats(app->nc, &ns);
    s.cache_hits = ns.hits;
    s.cache_misses = ns.misses;
    s.cache_stale = ns.stale;
    s.cache_negative_hits = ns.negative_hits;
    s.cache_evictions = ns.evictions;
    s.cache_entries = ns.entries;
    gw_idem_stats is;
    gw_idem_get_stats(app->idem, &is);
    s.idem_replays = is.replays;
    s.idem_conflicts = is.conflicts;
    s.idem_entries = is.entries;
    gw_store_stats ss;
    gw_store_get_stats(app->store, &ss);
    s.store_committed = ss.committed;
    s.store_failed = ss.failed;
    s.store_rejected = ss.rejected;
    s.store_queue = ss.queue_len;
    s.peers = app->net->ops->num_peers(app->net);
    s.ready = app->net->ops->ready(app->net) && app->state == GW_APP_RUNNING;
    json_t *subjects = gw_registry_subjects(app->reg, false);
    s.schemas = json_array_size(subjects);
    json_decref(subjects);
    s.uptime_s = (double)(uv_hrtime() - app->started_hr) / 1e9;
    al_buf b = {0};
    if (gw_metrics_render(app->metrics, &s, &b)) {
        al_buf_free(&b);
        gw_call_error(c, GW_E_INTERNAL, "out of memory", NULL);
        return;
    }
    respond_raw(c, 200, (char *)b.data, b.len,
                "text/plain; version=0.0.4; charset=utf-8", NULL, 0, false);
}

static void answer_openapi(gw_call *c)
{
    gw_app *app = c->app;
    if (!app->openapi)
        app->openapi = gw_openapi_build(app->reg, ACTORGATE_VERSION);
    if (!app->openapi) {
        gw_call_error(c, GW_E_INTERNAL, "out of memory", NULL);
        return;
    }
    gw_call_json(c, 200, json_incref(app->openapi));
}

/* ------------------------------------------------------------ messages */

static void rebuild_types(gw_app *app);

typedef struct candidates {
    const gw_message *msg[8];
    const char *actor[8];
    size_t n;
    bool wrong_kind; /* some matched but cannot be sent this way */
} candidates;

/* Every actor type that has a message by this name or UUID. */
static void find_candidates(gw_call *c, candidates *out)
{
    gw_app *app = c->app;
    if (app->types_dirty)
        rebuild_types(app);
    out->n = 0;
    out->wrong_kind = false;
    int want = c->is_ask ? GW_KIND_ASK : GW_KIND_TELL;
    for (size_t i = 0; i < app->nactor_types && out->n < 8; i++) {
        gw_version_info info;
        const gw_message *m =
            gw_registry_find(app->reg, app->actor_types[i], c->route.p2, &info);
        if (!m)
            continue;
        if (!(m->kind & want)) {
            out->wrong_kind = true;
            continue;
        }
        out->msg[out->n] = m;
        out->actor[out->n] = info.actor;
        out->n++;
    }
}

static void collect_type(const gw_version_info *v, void *ud)
{
    gw_app *app = ud;
    for (size_t i = 0; i < app->nactor_types; i++)
        if (strcmp(app->actor_types[i], v->actor) == 0)
            return;
    const char **grown =
        realloc(app->actor_types, (app->nactor_types + 1) * sizeof(*grown));
    if (!grown)
        return;
    app->actor_types = grown;
    app->actor_types[app->nactor_types++] = v->actor;
}

static void rebuild_types(gw_app *app)
{
    app->nactor_types = 0;
    gw_registry_foreach_latest(app->reg, collect_type, app);
    app->types_dirty = false;
}

void gw_app_registry_changed(gw_app *app)
{
    app->types_dirty = true;
    json_decref(app->openapi);
    app->openapi = NULL;
}

/* JSON -> MessagePack through the request schema: 422 with the pointer. */
static bool encode_body(gw_call *c)
{
    gw_schema_error se;
    al_buf_reset(&c->payload);
    int rc =
        gw_schema_json_to_msgpack(c->msg->request, c->json, &c->payload, &se);
    if (rc == 0) {
        c->encoded = true;
        return true;
    }
    if (rc == AL_ENOMEM) {
        gw_call_error(c, GW_E_INTERNAL, "out of memory", NULL);
        return false;
    }
    json_t *d = json_pack("{s:s, s:s, s:s}", "pointer", se.pointer, "reason",
                          se.reason, "message", c->msg->name);
    char msg[GW_SCHEMA_POINTER_MAX + GW_SCHEMA_REASON_MAX + 16];
    snprintf(msg, sizeof(msg), "at %s: %s", se.pointer[0] ? se.pointer : "/",
             se.reason);
    gw_call_error(c, GW_E_SCHEMA_VIOLATION, msg, d);
    return false;
}

/* ------------------------------------------------------------ replies */

static void answer_reply(gw_call *c, const al_reply *r)
{
    json_t *v = NULL;
    gw_schema_error se;
    int rc = gw_schema_msgpack_to_json(c->msg->reply, r->data, r->len, &v, &se);
    if (rc) {
        c->remote_kind = "BadReply";
        json_t *d = json_pack("{s:s, s:s, s:s}", "kind", "BadReply", "pointer",
                              se.pointer, "reason", se.reason);
        error_with(c, 502, "BAD_REPLY", false,
                   "the actor's reply does not fit the message's reply "
                   "schema",
                   d, true);
        return;
    }
    gw_call_json(c, 200, v);
}

static void answer_handler_error(gw_call *c, const al_reply *r)
{
    json_t *v = NULL;
    c->remote_kind = "HandlerError";
    if (c->msg->error) {
        gw_schema_error se;
        if (gw_schema_msgpack_to_json(c->msg->error, r->data, r->len, &v,
                                      &se)) {
            json_t *d =
                json_pack("{s:s, s:s, s:s}", "kind", "DeserializeHandlerError",
                          "pointer", se.pointer, "reason", se.reason);
            error_with(c, 502, "BAD_REPLY", false,
                       "the handler's error does not fit the message's "
                       "error schema",
                       d, true);
            return;
        }
    } else {
        al_error e = {0};
        if (gw_mpjson_decode(r->data, r->len, &v, &e)) {
            json_t *d = json_pack("{s:s, s:s}", "kind",
                                  "DeserializeHandlerError", "reason", e.msg);
            error_with(c, 502, "BAD_REPLY", false,
                       "the handler's error is not readable MessagePack", d,
                       true);
            return;
        }
    }
    json_t *d = json_object();
    json_object_set_new(d, "kind", json_string("HandlerError"));
    json_object_set_new(d, "error", v);
    error_with(c, 422, "HANDLER_ERROR", false,
               "the actor's handler returned an error", d, true);
}

/* A failed send: evict what is suspect, send once more when nothing can
 * have run, else answer with the table's row. */
static void send_failed(gw_call *c, int status, const char *detail)
{
    gw_app *app = c->app;
    gw_remote_fail f = gw_err_from_status(status);
    gw_metrics_remote_error(app->metrics, status);
    if (f.evict)
        gw_namecache_evict(app->nc, c->route.p1);
    if (f.retry_safe && !c->retried && app->state == GW_APP_RUNNING) {
        c->retried = true;
        c->sent = false;
        gw_metrics_retry(app->metrics);
        resolve_name(c, true);
        return;
    }
    remote_error(c, status, detail);
}

static void on_reply(const al_reply *r, void *ud)
{
    gw_call *c = ud;
    if (gw_call_live(c)) {
        if (r->status == 0)
            answer_reply(c, r);
        else if (r->status == AL_E_HANDLER_ERROR)
            answer_handler_error(c, r);
        else
            send_failed(c, r->status, r->detail);
    }
    gw_call_unref(c);
}

static void on_told(int status, void *ud)
{
    gw_call *c = ud;
    if (gw_call_live(c)) {
        if (status == 0)
            gw_call_respond(c, 202, NULL, 0, NULL, 0);
        else
            send_failed(c, status, NULL);
    }
    gw_call_unref(c);
}

static void send_call(gw_call *c)
{
    gw_app *app = c->app;
    al_send_opts o = AL_SEND_OPTS_DEFAULT;
    o.reply_timeout_ms = c->is_ask ? c->timeout_ms : AL_NO_TIMEOUT;
    o.immediate = c->mailbox_ms == 0;
    o.mailbox_timeout_ms = c->mailbox_ms > 0 ? c->mailbox_ms : AL_NO_TIMEOUT;
    /* The network request covers the mailbox wait and the reply. */
    o.request_timeout_ms =
        c->timeout_ms + (c->mailbox_ms > 0 ? c->mailbox_ms : 0) + 1000;
    gw_call_ref(c);
    c->sent = true;
    int rc = c->is_ask
                 ? gw_net_ask(app->net, &c->target, c->msg->uuid,
                              c->payload.data, c->payload.len, &o, on_reply, c)
                 : gw_net_tell(app->net, &c->target, c->msg->uuid,
                               c->payload.data, c->payload.len, &o, on_told, c);
    if (rc) {
        c->sent = false;
        gw_call_unref(c);
        if (rc == AL_ENOMEM || rc == AL_EINVAL)
            gw_call_error(c, GW_E_INTERNAL, al_strerror(rc), NULL);
        else
            send_failed(c, rc, NULL);
    }
}

/* ------------------------------------------------------------ names */

/* The name resolved: pick the message for the actor's type, encode, send. */
static void on_target(gw_call *c)
{
    if (!c->msg) {
        candidates cand;
        find_candidates(c, &cand);
        for (size_t i = 0; i < cand.n; i++)
            if (strcmp(cand.actor[i], c->target.remote_id) == 0) {
                c->msg = cand.msg[i];
                c->actor_type = cand.actor[i];
            }
        if (!c->msg) {
            gw_call_error(
                c, GW_E_MESSAGE_NOT_FOUND,
                "the actor's type has no such message",
                json_pack("{s:s}", "actor_type", c->target.remote_id));
            return;
        }
    } else if (strcmp(c->actor_type, c->target.remote_id) != 0) {
        if (c->from_cache && !c->fresh_lookup_done) {
            /* The name may have moved to another actor since. */
            gw_namecache_evict(c->app->nc, c->route.p1);
            resolve_name(c, true);
            return;
        }
        gw_metrics_remote_error(c->app->metrics, AL_E_BAD_ACTOR_TYPE);
        gw_call_error(c, GW_E_ACTOR_TYPE_MISMATCH, NULL,
                      json_pack("{s:s, s:s, s:s}", "kind", "BadActorType",
                                "expected", c->actor_type, "actual",
                                c->target.remote_id));
        return;
    }
    if (!c->encoded && !encode_body(c))
        return;
    send_call(c);
}

/* Requests for one name that is not cached share one swarm lookup: a
 * burst after a start or an eviction costs one DHT query, not one each. */
typedef struct gw_lookup_wait {
    struct gw_lookup_wait *next;
    gw_app *app;
    gw_call **calls;
    size_t n, cap;
    char name[];
} gw_lookup_wait;

static gw_lookup_wait *find_wait(gw_app *app, const char *name)
{
    for (gw_lookup_wait *w = app->lookups; w; w = w->next)
        if (strcmp(w->name, name) == 0)
            return w;
    return NULL;
}

static void unlink_wait(gw_lookup_wait *w)
{
    for (gw_lookup_wait **p = &w->app->lookups; *p; p = &(*p)->next)
        if (*p == w) {
            *p = w->next;
            return;
        }
}

static int add_waiter(gw_lookup_wait *w, gw_call *c)
{
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 4;
        gw_call **grown = realloc(w->calls, cap * sizeof(*grown));
        if (!grown)
            return AL_ENOMEM;
        w->calls = grown;
        w->cap = cap;
    }
    gw_call_ref(c);
    w->calls[w->n++] = c;
    return 0;
}

static void lookup_done(gw_call *c, int status, const gw_target *t)
{
    gw_app *app = c->app;
    if (!gw_call_live(c))
        return;
    if (status == 0 && t) {
        c->target = *t;
        on_target(c);
        return;
    }
    gw_metrics_remote_error(app->metrics, status);
    if (status == AL_ENOTFOUND)
        gw_call_error(c, GW_E_ACTOR_NOT_FOUND,
                      "no actor is registered under this name",
                      json_pack("{s:s}", "name", c->route.p1));
    else
        remote_error(c, status, NULL);
}

static void on_lookup(int status, const gw_target *t, void *ud)
{
    gw_lookup_wait *w = ud;
    gw_app *app = w->app;
    unlink_wait(w);
    if (status == 0 && t)
        gw_namecache_put(app->nc, w->name, t->peer, &t->id, t->remote_id);
    else if (status == AL_ENOTFOUND)
        gw_namecache_put_negative(app->nc, w->name);
    for (size_t i = 0; i < w->n; i++) {
        lookup_done(w->calls[i], status, t);
        gw_call_unref(w->calls[i]);
    }
    free(w->calls);
    free(w);
}

static void resolve_name(gw_call *c, bool fresh)
{
    gw_app *app = c->app;
    if (!fresh) {
        const gw_namecache_entry *e;
        int r = gw_namecache_lookup(app->nc, c->route.p1, &e);
        if (r == GW_NC_HIT) {
            c->cache = "hit";
            c->from_cache = true;
            memset(&c->target, 0, sizeof(c->target));
            c->target.id = e->actor;
            copy_str(c->target.peer, sizeof(c->target.peer), e->peer_id);
            copy_str(c->target.remote_id, sizeof(c->target.remote_id),
                     e->remote_id);
            on_target(c);
            return;
        }
        if (r == GW_NC_NEGATIVE) {
            c->cache = "negative";
            gw_call_error(
                c, GW_E_ACTOR_NOT_FOUND,
                "no actor is registered under this name",
                json_pack("{s:s, s:b}", "name", c->route.p1, "cached", 1));
            return;
        }
        c->cache = "miss";
    }
    /* Without a connected peer a lookup can only come back empty, and "not
     * found" would be a lie that the negative cache then repeats. */
    if (!app->net->ops->ready(app->net)) {
        gw_call_error(c, GW_E_NOT_READY,
                      "the gateway reaches no peer of the swarm yet",
                      json_pack("{s:s}", "name", c->route.p1));
        return;
    }
    c->from_cache = false;
    c->fresh_lookup_done = true;
    /* A retry after a failure wants an answer newer than the failure: it
     * starts its own lookup rather than joining one. */
    gw_lookup_wait *w = fresh ? NULL : find_wait(app, c->route.p1);
    if (w) {
        if (add_waiter(w, c))
            gw_call_error(c, GW_E_INTERNAL, "out of memory", NULL);
        return;
    }
    w = calloc(1, sizeof(*w) + c->route.p1_len + 1);
    if (!w || add_waiter(w, c)) {
        free(w);
        gw_call_error(c, GW_E_INTERNAL, "out of memory", NULL);
        return;
    }
    w->app = app;
    memcpy(w->name, c->route.p1, c->route.p1_len + 1);
    w->next = app->lookups;
    app->lookups = w;
    gw_metrics_lookup(app->metrics);
    int rc = gw_net_lookup(app->net, w->name, on_lookup, w);
    if (rc) {
        unlink_wait(w);
        gw_call_unref(c);
        free(w->calls);
        free(w);
        remote_error(c, rc, NULL);
    }
}

/* ------------------------------------------------------------ ask/tell */

static void on_deadline(uv_timer_t *t)
{
    gw_call *c = t->data;
    if (gw_call_live(c)) {
        c->remote_kind = "Deadline";
        error_with(c, 504, "REPLY_TIMEOUT", false,
                   "no answer within the request's deadline",
                   json_pack("{s:s, s:I}", "kind", "Deadline", "timeout_ms",
                             (json_int_t)c->timeout_ms),
                   c->sent);
    }
}

/* The gateway's own bound on a request, in case a lower layer never
 * answers: the reply timeout, the mailbox wait, and a second for the
 * network. */
static void start_deadline(gw_call *c)
{
    uint64_t ms = (uint64_t)c->timeout_ms +
                  (uint64_t)(c->mailbox_ms > 0 ? c->mailbox_ms : 0) + 1000;
    if (uv_timer_init(c->app->loop, &c->deadline))
        return;
    c->deadline.data = c;
    c->timer_started = true;
    gw_call_ref(c);
    uv_timer_start(&c->deadline, on_deadline, ms, 0);
}

static void idem_replay(gw_call *c, const gw_idem_response *r)
{
    c->replayed = true;
    char *body = NULL;
    if (r->body_len) {
        body = malloc(r->body_len);
        if (!body) {
            gw_call_error(c, GW_E_INTERNAL, "out of memory", NULL);
            return;
        }
        memcpy(body, r->body, r->body_len);
    }
    static const gw_header replayed = {"Idempotent-Replayed", "true"};
    respond_raw(c, r->status, body, r->body_len, "application/json", &replayed,
                1, false);
}

/* Idempotency-Key: replay, conflict, or reserve the key. false when the
 * request was answered. */
static bool idem_check(gw_call *c)
{
    if (!c->idem_key[0])
        return true;
    gw_req *r = c->req;
    uint8_t fp[GW_IDEM_FP_LEN];
    char path[GW_PATH_MAX + 1];
    size_t n = r->path_len < GW_PATH_MAX ? r->path_len : GW_PATH_MAX;
    memcpy(path, r->path, n);
    path[n] = 0;
    if (gw_idem_fingerprint(r->method, path, r->body.data, r->body.len, fp)) {
        gw_call_error(c, GW_E_INTERNAL, "cannot hash the request", NULL);
        return false;
    }
    const gw_idem_response *resp = NULL;
    int rc = gw_idem_check(c->app->idem, c->idem_key, fp, &resp);
    switch (rc) {
    case GW_IDEM_MISS:
        c->idem_reserved = true;
        return true;
    case GW_IDEM_REPLAY:
        idem_replay(c, resp);
        return false;
    case GW_IDEM_CONFLICT:
        gw_call_error(c, GW_E_IDEMPOTENCY_CONFLICT, NULL, NULL);
        return false;
    case GW_IDEM_IN_FLIGHT:
        gw_call_error(c, GW_E_IDEMPOTENCY_IN_FLIGHT, NULL, NULL);
        return false;
    case AL_ELIMIT:
        gw_call_error(c, GW_E_TOO_MANY_REQUESTS,
                      "too many idempotent requests in flight", NULL);
        return false;
    default:
        gw_call_error(c, GW_E_BAD_REQUEST, "bad Idempotency-Key", NULL);
        return false;
    }
}

static void ask_or_tell(gw_call *c)
{
    if (!idem_check(c))
        return;
    c->json = gw_call_parse_body(c, 0);
    if (!c->json)
        return;
    candidates cand;
    find_candidates(c, &cand);
    if (cand.n == 0) {
        gw_call_error(c, GW_E_MESSAGE_NOT_FOUND,
                      cand.wrong_kind
                          ? (c->is_ask ? "the message is tell-only: POST "
                                         "/v1/actors/{name}/tell/{message}"
                                       : "the message is ask-only: POST "
                                         "/v1/actors/{name}/ask/{message}")
                          : "no registered message has this name or UUID",
                      json_pack("{s:s}", "message", c->route.p2));
        return;
    }
    if (cand.n == 1) {
        /* Validation comes before any network traffic. */
        c->msg = cand.msg[0];
        c->actor_type = cand.actor[0];
        if (!encode_body(c))
            return;
    }
    start_deadline(c);
    resolve_name(c, false);
    /* Answered already (a cached absence, a local failure)? Otherwise the
     * connection waits for the outcome. */
    if (gw_call_live(c))
        gw_call_suspend(c);
}

/* ------------------------------------------------------------ entry */

static void on_headers(gw_req *req, void *ud)
{
    gw_app *app = ud;
    gw_call *c = call_new(app);
    if (!c) {
        static const char oom[] = "{\"error\":{\"code\":\"INTERNAL\","
                                  "\"message\":\"out of memory\"}}";
        gw_req_respond(req, 500, NULL, 0, (void *)oom, sizeof(oom) - 1, false);
        return;
    }
    c->app = app;
    c->req = req;
    c->refs = 1;
    c->mailbox_ms = AL_NO_TIMEOUT;
    c->next = app->calls;
    if (app->calls)
        app->calls->prev = c;
    app->calls = c;
    req->app = c;
    gw_metrics_inflight(app->metrics, 1);

    const char *rid = gw_req_header(req, "X-Request-Id");
    if (sane_id(rid, GW_REQUEST_ID_MAX))
        copy_str(c->request_id, sizeof(c->request_id), rid);
    else
        make_request_id(app, c->request_id);
    const char *tp = gw_req_header(req, "traceparent");
    if (sane_traceparent(tp))
        copy_str(c->traceparent, sizeof(c->traceparent), tp);

    gw_route *rt = &c->route;
    gw_route_parse(req->method, req->path, req->path_len, rt);
    if (rt->fail != GW_RF_OK) {
        route_failed(c);
        return;
    }
    if (app->state != GW_APP_RUNNING && rt->id != GW_R_HEALTHZ &&
        rt->id != GW_R_READYZ && rt->id != GW_R_METRICS) {
        gw_call_error(c, GW_E_NOT_READY,
                      app->state == GW_APP_DRAINING
                          ? "the gateway is shutting down"
                          : "the gateway is starting",
                      NULL);
        return;
    }
    if (rt->admin && !admin_allowed(c))
        return;
    c->is_ask = rt->id == GW_R_ASK;
    if (rt->id == GW_R_ASK || rt->id == GW_R_TELL) {
        if (app->inflight >= app->cfg.max_inflight) {
            gw_call_error(c, GW_E_TOO_MANY_REQUESTS, NULL, NULL);
            return;
        }
        app->inflight++;
        c->counted = true;
    }
    if (rt->has_body) {
        if (!json_content_type(c)) {
            gw_call_error(c, GW_E_UNSUPPORTED_MEDIA_TYPE,
                          "send Content-Type: application/json",
                          json_pack("{s:s?}", "content_type",
                                    gw_req_header(req, "Content-Type")));
            return;
        }
        const char *cl = gw_req_header(req, "Content-Length");
        size_t n;
        if (cl && gw_parse_size(cl, &n) == 0 && n > app->cfg.body_limit) {
            gw_call_error(
                c, GW_E_PAYLOAD_TOO_LARGE, NULL,
                json_pack("{s:I}", "limit", (json_int_t)app->cfg.body_limit));
            return;
        }
    }
    if ((rt->id == GW_R_ASK || rt->id == GW_R_TELL) && ask_headers(c))
        return;
    /* Everything else is answered once the (empty) body is in, so that the
     * connection stays open for the next request. */
}

static void on_body(gw_req *req, void *ud)
{
    (void)ud;
    gw_call *c = req->app;
    if (!c)
        return;
    if (req->too_large) {
        gw_call_error(
            c, GW_E_PAYLOAD_TOO_LARGE, NULL,
            json_pack("{s:I}", "limit", (json_int_t)c->app->cfg.body_limit));
        return;
    }
    switch (c->route.id) {
    case GW_R_HEALTHZ:
        gw_call_respond(c, 204, NULL, 0, NULL, 0);
        break;
    case GW_R_READYZ:
        answer_readyz(c);
        break;
    case GW_R_METRICS:
        answer_metrics(c);
        break;
    case GW_R_OPENAPI:
        answer_openapi(c);
        break;
    case GW_R_ASK:
    case GW_R_TELL:
        ask_or_tell(c);
        break;
    default:
        if (c->route.admin)
            gw_admin_handle(c);
        else
            gw_call_error(c, GW_E_NOT_FOUND, NULL, NULL);
        break;
    }
}

static void log_request(gw_call *c, gw_req *req, bool completed)
{
    uint64_t us = (uv_hrtime() - req->start_ns) / 1000;
    int status = req->responded ? req->status : 499;
    gw_logline l;
    int level = status >= 500 ? GW_LOG_WARN : GW_LOG_INFO;
    if (!gw_log_begin(&l, level, "request"))
        return;
    gw_log_str(&l, "request_id", c->request_id);
    if (c->traceparent[0])
        gw_log_str(&l, "traceparent", c->traceparent);
    gw_log_str(&l, "method", req->method);
    gw_log_strn(&l, "path", req->path, req->path_len);
    gw_log_int(&l, "status", status);
    gw_log_uint(&l, "duration_us", us);
    if (c->route.id == GW_R_ASK || c->route.id == GW_R_TELL) {
        gw_log_strn(&l, "actor", c->route.p1, c->route.p1_len);
        gw_log_strn(&l, "message", c->route.p2, c->route.p2_len);
        if (c->actor_type)
            gw_log_str(&l, "actor_type", c->actor_type);
        if (c->target.peer[0])
            gw_log_str(&l, "peer_id", c->target.peer);
        gw_log_str(&l, "cache", c->cache);
        if (c->retried)
            gw_log_bool(&l, "retried", true);
    }
    gw_log_str(&l, "error", c->err_code);
    gw_log_str(&l, "remote_error", c->remote_kind);
    if (c->replayed)
        gw_log_bool(&l, "idempotent_replay", true);
    if (!completed)
        gw_log_bool(&l, "aborted", true);
    gw_log_end(&l);
}

static void on_done(gw_req *req, bool completed, void *ud)
{
    gw_app *app = ud;
    gw_call *c = req->app;
    if (!c)
        return;
    log_request(c, req, completed);
    gw_metrics_request(app->metrics, c->route.id,
                       req->responded ? req->status : 499,
                       uv_hrtime() - req->start_ns);
    gw_metrics_inflight(app->metrics, -1);
    if (c->counted) {
        c->counted = false;
        app->inflight--;
    }
    /* The client left before the answer: the reservation would otherwise
     * block the key until the late outcome. */
    settle_idem(c, 0, NULL, 0, false);
    stop_deadline(c);
    c->req = NULL;
    req->app = NULL;
    gw_call_unref(c);
}

gw_http_handlers gw_app_handlers(gw_app *app)
{
    return (gw_http_handlers){on_headers, on_body, on_done, app};
}
