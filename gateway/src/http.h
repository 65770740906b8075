/*
 * libmicrohttpd driven by a libuv loop: MHD runs in external-event mode
 * with epoll; its epoll fd is watched with a uv_poll_t and MHD_run is
 * called on readiness and from a uv_timer_t armed with MHD_get_timeout.
 * Everything runs on the loop thread; no locks.
 *
 * A request passes through the application in two steps:
 *   on_headers  the request line and headers are in, the body is not: the
 *               application may answer at once (404, 415, 413 from
 *               Content-Length ...) and the body is never read;
 *   on_body     the whole body is in req->body (or req->too_large says it
 *               passed the limit and was dropped while reading).
 * In either, the application calls gw_req_respond, or (on_body only)
 * gw_req_suspend and later gw_req_respond from any loop callback, which
 * resumes the connection; MHD then runs once in the same loop turn (or,
 * when answered from a callback after the loop's I/O phase, at the start
 * of the next) and sends every answer given meanwhile. on_done runs exactly
 * once per request that reached on_headers, when the response went out or the
 * connection died; the request is freed after it returns.
 *
 * The raw path is given as the client sent it (MHD's unescaping is off:
 * routes.c decodes each segment, so that %2F stays inside a segment).
 */
#ifndef GW_HTTP_H
#define GW_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "actorlib.h"

typedef struct gw_http gw_http;
typedef struct gw_req gw_req;

typedef struct gw_http_handlers {
    void (*on_headers)(gw_req *req, void *ud);
    void (*on_body)(gw_req *req, void *ud);
    /* completed: the response was sent in full; else the connection failed
     * or closed first (the client went away, a timeout, shutdown). */
    void (*on_done)(gw_req *req, bool completed, void *ud);
    void *ud;
} gw_http_handlers;

typedef struct gw_http_opts {
    const char *host; /* IP literal */
    uint16_t port;
    size_t body_limit;
    unsigned max_connections;
    unsigned connection_timeout_s; /* idle connections; 0 = 30 */
} gw_http_opts;

/* Binds and starts serving on loop. The caller owns *out: gw_http_stop and
 * then gw_http_free. err names the address on a bind failure. */
int gw_http_start(gw_http **out, uv_loop_t *loop, const gw_http_opts *opts,
                  const gw_http_handlers *h, al_error *err);
/* Stops accepting new connections (the listening socket closes); the
 * connections that are open go on. */
void gw_http_quiesce(gw_http *http);
/* Requests between on_headers and on_done. */
size_t gw_http_active(const gw_http *http);
/* Closes every connection and the daemon; suspended requests must have been
 * answered first. The uv handles close asynchronously: done (may be NULL)
 * runs once they have, then gw_http_free may be called. */
void gw_http_stop(gw_http *http, void (*done)(void *ud), void *ud);
void gw_http_free(gw_http *http);
uint16_t gw_http_port(const gw_http *http);

/* ------------------------------------------------------------ requests */

struct gw_req {
    gw_http *http;
    const char *method; /* borrowed from MHD, valid until on_done */
    const char *path;   /* raw, without the query string */
    size_t path_len;
    uint64_t start_ns; /* uv_hrtime at on_headers */
    al_buf body;       /* owned by the request */
    bool too_large;    /* the body passed the limit */
    bool responded;    /* a response is queued or sent */
    bool suspended;
    int status; /* the status responded with, 0 before */
    void *app;  /* the application's, untouched by http.c */
    /* private */
    void *conn;
    void *pending; /* MHD response waiting to be queued */
    bool in_handler;
    bool body_done;
    bool done;
};

/* A request header (case-insensitive name), or NULL. Borrowed until
 * on_done. */
const char *gw_req_header(gw_req *req, const char *name);
/* A query argument as sent (not percent-decoded), or NULL; "" for a key
 * without '='. */
const char *gw_req_query(gw_req *req, const char *name);
/* The peer's address as text ("127.0.0.1"), "" when unknown. */
void gw_req_peer(gw_req *req, char *buf, size_t cap);

typedef struct gw_header {
    const char *name;
    const char *value;
} gw_header;

/* Answers the request: status, nh headers (copied), and body (len bytes).
 * With take_body the body is malloc'd memory that the response frees;
 * else it is copied. Responding twice is an error (AL_ESTATE; a taken body
 * is freed). May be called from on_headers, on_body or, for a suspended
 * request, from any loop callback. */
int gw_req_respond(gw_req *req, int status, const gw_header *headers, size_t nh,
                   void *body, size_t len, bool take_body);
/* Keeps the connection waiting after on_body returns, until
 * gw_req_respond. Only from on_body. */
int gw_req_suspend(gw_req *req);

#endif
