/* libmicrohttpd in external-event mode on a libuv loop. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "http.h"
#include "log.h"

/* Each connection's memory pool in MHD: the request line and headers are
 * read into it and the response headers written from it. MHD zeroes all
 * of it after every request, so it is resident for each open connection
 * and cleared per request: 32 KiB by default, which makes a thousand
 * keep-alive connections cost 32 MB. A path is at most GW_PATH_MAX (4 KiB)
 * and the headers the gateway reads are short; requests whose head does
 * not fit are refused by MHD (414 or 431). */
#define CONN_POOL_BYTES (8u * 1024u)

/* The list of live requests: suspended ones must be answered before the
 * daemon stops, and drain needs the count. */
typedef struct req_node {
    gw_req req;
    struct req_node *prev, *next;
} req_node;

struct gw_http {
    uv_loop_t *loop;
    struct MHD_Daemon *d;
    uv_poll_t poll;
    uv_timer_t timer;
    /* MHD_run once per loop turn for the connections resumed in it, rather
     * than once per response: the check handle runs it right after the
     * loop's I/O callbacks (replies from the network); the idle handle,
     * for answers given elsewhere (timers, close callbacks), runs it at
     * the next turn and keeps the loop from blocking before it has. The
     * idle phase precedes actorlib's prepare-time flush, so requests that
     * this run reads go out before the loop blocks too. */
    uv_idle_t idle;
    uv_check_t check;
    bool run_scheduled;
    gw_http_handlers h;
    size_t body_limit;
    req_node *reqs;
    size_t active;
    bool in_run;
    bool run_again;
    bool stopping;
    int open_handles;
    void (*stopped)(void *ud);
    void *stopped_ud;
    uint16_t port;
};

static void run(gw_http *h);
static void schedule_run(gw_http *h);

/* ------------------------------------------------------------ requests */

static gw_req *new_req(gw_http *h, struct MHD_Connection *c, const char *url,
                       const char *method)
{
    req_node *n = calloc(1, sizeof(*n));
    if (!n)
        return NULL;
    n->req.http = h;
    n->req.conn = c;
    n->req.method = method;
    n->req.path = url;
    n->req.path_len = strlen(url);
    n->req.start_ns = uv_hrtime();
    n->next = h->reqs;
    if (h->reqs)
        h->reqs->prev = n;
    h->reqs = n;
    h->active++;
    return &n->req;
}

static void free_req(gw_req *req)
{
    gw_http *h = req->http;
    req_node *n = (req_node *)req;
    if (n->prev)
        n->prev->next = n->next;
    else
        h->reqs = n->next;
    if (n->next)
        n->next->prev = n->prev;
    h->active--;
    if (req->pending)
        MHD_destroy_response(req->pending);
    al_buf_free(&req->body);
    free(n);
}

const char *gw_req_header(gw_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *gw_req_query(gw_req *req, const char *name)
{
    const char *v =
        MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
    if (!v &&
        MHD_lookup_connection_value_n(req->conn, MHD_GET_ARGUMENT_KIND, name,
                                      strlen(name), NULL, NULL) == MHD_YES)
        return "";
    return v;
}

void gw_req_peer(gw_req *req, char *buf, size_t cap)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (cap)
        buf[0] = 0;
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf,
                  (socklen_t)cap);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf,
                  (socklen_t)cap);
}

int gw_req_respond(gw_req *req, int status, const gw_header *headers, size_t nh,
                   void *body, size_t len, bool take_body)
{
    if (req->responded || req->done) {
        if (take_body)
            free(body);
        return AL_ESTATE;
    }
    struct MHD_Response *r;
    if (take_body)
        r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    else
        r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_COPY);
    if (!r) {
        if (take_body)
            free(body);
        return AL_ENOMEM;
    }
    for (size_t i = 0; i < nh; i++)
        if (headers[i].value &&
            MHD_add_response_header(r, headers[i].name, headers[i].value) !=
                MHD_YES) {
            MHD_destroy_response(r);
            return AL_ENOMEM;
        }
    req->pending = r;
    req->status = status;
    req->responded = true;
    if (req->suspended) {
        req->suspended = false;
        MHD_resume_connection(req->conn);
        /* Sent within this loop turn, together with the other answers of
         * the turn. */
        schedule_run(req->http);
    }
    return 0;
}

int gw_req_suspend(gw_req *req)
{
    if (!req->in_handler || req->responded || req->suspended)
        return AL_ESTATE;
    MHD_suspend_connection(req->conn);
    req->suspended = true;
    return 0;
}

/* ------------------------------------------------------------ MHD glue */

static enum MHD_Result queue_pending(gw_req *req)
{
    if (!req->pending)
        return MHD_YES;
    struct MHD_Response *r = req->pending;
    req->pending = NULL;
    enum MHD_Result ok =
        MHD_queue_response(req->conn, (unsigned)req->status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c,
                                 const char *url, const char *method,
                                 const char *version, const char *upload,
                                 size_t *upload_size, void **con_cls)
{
    (void)version;
    gw_http *h = cls;
    gw_req *req = *con_cls;
    if (!req) {
        req = new_req(h, c, url, method);
        if (!req)
            return MHD_NO;
        *con_cls = req;
        req->in_handler = true;
        h->h.on_headers(req, h->h.ud);
        req->in_handler = false;
        return queue_pending(req);
    }
    if (*upload_size) {
        if (!req->responded && !req->too_large) {
            if (req->body.len + *upload_size > h->body_limit) {
                req->too_large = true;
                al_buf_free(&req->body);
            } else if (al_buf_append(&req->body, upload, *upload_size)) {
                return MHD_NO;
            }
        }
        *upload_size = 0; /* consumed (or dropped past the limit) */
        return MHD_YES;
    }
    if (!req->body_done) {
        req->body_done = true;
        if (!req->responded) {
            req->in_handler = true;
            h->h.on_body(req, h->h.ud);
            req->in_handler = false;
        }
    }
    return queue_pending(req);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)c;
    gw_http *h = cls;
    gw_req *req = *con_cls;
    if (!req)
        return;
    *con_cls = NULL;
    req->done = true;
    h->h.on_done(req, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK, h->h.ud);
    free_req(req);
}

static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    return strlen(s);
}

static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = 0;
    gw_log_event(GW_LOG_DEBUG, "http_server", "%s", msg);
}

/* ------------------------------------------------------------ loop */

static void on_timer(uv_timer_t *t)
{
    run(t->data);
}

static void run_scheduled(gw_http *h)
{
    if (!h->run_scheduled)
        return;
    h->run_scheduled = false;
    uv_idle_stop(&h->idle);
    uv_check_stop(&h->check);
    run(h);
}

static void on_idle(uv_idle_t *i)
{
    run_scheduled(i->data);
}

static void on_check(uv_check_t *c)
{
    run_scheduled(c->data);
}

static void schedule_run(gw_http *h)
{
    if (h->run_scheduled || h->stopping || !h->d)
        return;
    h->run_scheduled = true;
    uv_idle_start(&h->idle, on_idle);
    uv_check_start(&h->check, on_check);
}

static void run(gw_http *h)
{
    if (!h->d)
        return;
    if (h->in_run) {
        h->run_again = true;
        return;
    }
    h->in_run = true;
    /* This run serves whatever was scheduled. */
    if (h->run_scheduled) {
        h->run_scheduled = false;
        uv_idle_stop(&h->idle);
        uv_check_stop(&h->check);
    }
    do {
        h->run_again = false;
        MHD_run(h->d);
    } while (h->run_again);
    h->in_run = false;
    if (h->stopping)
        return;
    MHD_UNSIGNED_LONG_LONG ms;
    if (MHD_get_timeout(h->d, &ms) == MHD_YES)
        uv_timer_start(&h->timer, on_timer, ms > 3600000 ? 3600000 : ms, 0);
    else
        uv_timer_stop(&h->timer);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    (void)status;
    (void)events;
    run(p->data);
}

int gw_http_start(gw_http **out, uv_loop_t *loop, const gw_http_opts *o,
                  const gw_http_handlers *hs, al_error *err)
{
    *out = NULL;
    gw_http *h = calloc(1, sizeof(*h));
    if (!h)
        return al_error_set(err, AL_ENOMEM, "out of memory");
    h->loop = loop;
    h->h = *hs;
    h->body_limit = o->body_limit;

    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG | MHD_USE_TURBO;
    if (strchr(o->host, ':')) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(o->port);
        if (inet_pton(AF_INET6, o->host, &s6->sin6_addr) != 1)
            goto bad_addr;
        flags |= MHD_USE_IPv6;
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(o->port);
        if (inet_pton(AF_INET, o->host, &s4->sin_addr) != 1)
            goto bad_addr;
    }
    h->d = MHD_start_daemon(
        flags, o->port, NULL, NULL, on_access, h, MHD_OPTION_SOCK_ADDR, &ss,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
        MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL,
        MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)(o->max_connections ? o->max_connections : 4096),
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_POOL_BYTES,
        MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)(o->connection_timeout_s ? o->connection_timeout_s : 30),
        MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL, MHD_OPTION_END);
    if (!h->d) {
        free(h);
        return al_error_set(err, AL_EIO,
                            "cannot listen for HTTP on %s:%u (in use, or "
                            "not an address of this machine)",
                            o->host, (unsigned)o->port);
    }
    const union MHD_DaemonInfo *di =
        MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD);
    const union MHD_DaemonInfo *pi =
        MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = pi ? pi->port : o->port;
    if (!di || uv_poll_init(loop, &h->poll, di->epoll_fd)) {
        MHD_stop_daemon(h->d);
        free(h);
        return al_error_set(err, AL_EIO, "cannot watch the HTTP epoll fd");
    }
    uv_timer_init(loop, &h->timer);
    uv_idle_init(loop, &h->idle);
    uv_check_init(loop, &h->check);
    h->poll.data = h;
    h->timer.data = h;
    h->idle.data = h;
    h->check.data = h;
    h->open_handles = 4;
    uv_poll_start(&h->poll, UV_READABLE, on_poll);
    run(h);
    *out = h;
    return 0;
bad_addr:
    free(h);
    return al_error_set(err, AL_EINVAL, "bad HTTP address %s", o->host);
}

uint16_t gw_http_port(const gw_http *h)
{
    return h->port;
}

size_t gw_http_active(const gw_http *h)
{
    return h->active;
}

void gw_http_quiesce(gw_http *h)
{
    if (!h->d)
        return;
    MHD_socket fd = MHD_quiesce_daemon(h->d);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
}

static void handle_closed(uv_handle_t *handle)
{
    gw_http *h = handle->data;
    if (--h->open_handles == 0 && h->stopped)
        h->stopped(h->stopped_ud);
}

void gw_http_stop(gw_http *h, void (*done)(void *ud), void *ud)
{
    if (h->stopping)
        return;
    /* A suspended connection would make MHD_stop_daemon abort: answer
     * whatever the application left waiting. */
    static const char body[] = "{\"error\":{\"code\":\"NOT_READY\","
                               "\"message\":\"the gateway is shutting "
                               "down\"}}";
    static const gw_header hdr[] = {{"Content-Type", "application/json"},
                                    {"Connection", "close"}};
    for (req_node *n = h->reqs; n; n = n->next)
        if (n->req.suspended)
            gw_req_respond(&n->req, 503, hdr, 2, (void *)body, sizeof(body) - 1,
                           false);
    run(h);
    h->stopping = true;
    h->stopped = done;
    h->stopped_ud = ud;
    uv_poll_stop(&h->poll);
    uv_timer_stop(&h->timer);
    h->run_scheduled = false;
    uv_idle_stop(&h->idle);
    uv_check_stop(&h->check);
    MHD_stop_daemon(h->d);
    h->d = NULL;
    uv_close((uv_handle_t *)&h->poll, handle_closed);
    uv_close((uv_handle_t *)&h->timer, handle_closed);
    uv_close((uv_handle_t *)&h->idle, handle_closed);
    uv_close((uv_handle_t *)&h->check, handle_closed);
}

void gw_http_free(gw_http *h)
{
    free(h);
}
