/* quic.c: two transports on one loop over 127.0.0.1 with port 0 —
 * handshakes, peer id checks, refused certificates, streams and stream
 * credit, limits, closing, stateless resets, stray packets. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <gnutls/gnutls.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "actorlib.h"
#include "identity.h"
#include "quic.h"
#include "tlscert.h"

#define DEADLINE_MS 10000
#define MAX_TRACKED 1024

enum mode { MODE_ECHO, MODE_HOLD, MODE_SINK };

typedef struct tstream {
    al__qstream *s;
    size_t got;
    bool fin, closed;
    int status;
} tstream;

typedef struct side {
    uv_loop_t *loop;
    al__quic *q;
    al_identity *id;
    al_peer_id pid;
    struct sockaddr_storage addr;
    enum mode mode;
    int ready, closed, last_status;
    char detail[AL_ERROR_MSG];
    al__qconn *conn;
    int inbound, inbound_closed;
    al__qstream *held[MAX_TRACKED];
    size_t nheld;
    tstream out[MAX_TRACKED];
    size_t nout;
    size_t sink_bytes;
    bool done;
} side;

/* ------------------------------------------------------------ upcalls */

static bool pre_flush(void *ud)
{
    (void)ud;
    return false;
}

static void conn_ready(al__qconn *c, void *ud)
{
    side *s = ud;
    s->ready++;
    s->conn = c;
}

static void conn_closed(al__qconn *c, int status, const char *detail, void *ud)
{
    side *s = ud;
    s->closed++;
    s->last_status = status;
    snprintf(s->detail, sizeof(s->detail), "%s", detail);
    if (s->conn == c)
        s->conn = NULL;
}

static void stream_open(al__qstream *qs, void *ud)
{
    side *s = ud;
    s->inbound++;
    if (s->mode == MODE_HOLD && s->nheld < MAX_TRACKED)
        s->held[s->nheld++] = qs;
}

static tstream *tracked(side *s, al__qstream *qs)
{
    return al__qstream_local(qs) ? al__qstream_ud(qs) : NULL;
}

static void stream_data(al__qstream *qs, const uint8_t *data, size_t len,
                        void *ud)
{
    side *s = ud;
    tstream *t = tracked(s, qs);
    if (t) {
        t->got += len;
        return;
    }
    if (s->mode == MODE_ECHO)
        assert_int_equal(al__qstream_write(qs, data, len), 0);
    else
        s->sink_bytes += len;
}

static void stream_fin(al__qstream *qs, void *ud)
{
    side *s = ud;
    tstream *t = tracked(s, qs);
    if (t) {
        t->fin = true;
        return;
    }
    if (s->mode != MODE_HOLD)
        al__qstream_finish(qs);
}

static void stream_close(al__qstream *qs, int status, void *ud)
{
    side *s = ud;
    tstream *t = tracked(s, qs);
    if (t) {
        t->closed = true;
        t->status = status;
        t->s = NULL;
        return;
    }
    s->inbound_closed++;
    for (size_t i = 0; i < s->nheld; i++)
        if (s->held[i] == qs)
            s->held[i] = NULL;
}

static const al__quic_cbs cbs = {pre_flush,   conn_ready,  conn_closed,
                                 stream_open, stream_data, stream_fin,
                                 stream_close};

/* ------------------------------------------------------------ harness */

static void tick(uv_timer_t *t)
{
    (void)t;
}

static bool run_until(uv_loop_t *loop, bool (*cond)(void *), void *arg,
                      uint64_t ms)
{
    uv_timer_t t;
    uv_timer_init(loop, &t);
    uv_timer_start(&t, tick, 2, 2);
    uv_update_time(loop);
    uint64_t end = uv_now(loop) + ms;
    while (!cond(arg) && uv_now(loop) < end)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return cond(arg);
}

static bool never(void *arg)
{
    (void)arg;
    return false;
}

/* Lets the loop run for ms (to show that something does NOT happen). */
static void run_for(uv_loop_t *loop, uint64_t ms)
{
    run_until(loop, never, NULL, ms);
}

static void side_init(side *s, uv_loop_t *loop, const al__quic_config *cfg,
                      bool listen)
{
    memset(s, 0, sizeof(*s));
    s->loop = loop;
    assert_int_equal(al_identity_generate(&s->id, NULL), 0);
    al_identity_peer_id(s->id, &s->pid);
    al_error err = {0};
    assert_int_equal(al__quic_new(&s->q, loop, s->id, cfg, &cbs, s, &err), 0);
    if (listen) {
        struct sockaddr_in a = {.sin_family = AF_INET};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        assert_int_equal(
            al__quic_listen(s->q, (struct sockaddr *)&a, &s->addr, &err), 0);
        assert_int_not_equal(((struct sockaddr_in *)&s->addr)->sin_port, 0);
    }
}

static void on_done(void *ud)
{
    ((side *)ud)->done = true;
}

static bool is_done(void *arg)
{
    return ((side *)arg)->done;
}

static bool both_done(void *arg)
{
    side **s = arg;
    return s[0]->done && s[1]->done;
}

static void sides_free(side *a, side *b)
{
    al__quic_shutdown(a->q, on_done, a);
    al__quic_shutdown(b->q, on_done, b);
    side *both[2] = {a, b};
    assert_true(run_until(a->loop, both_done, both, DEADLINE_MS));
    al__quic_free(a->q);
    al__quic_free(b->q);
    al_identity_free(a->id);
    al_identity_free(b->id);
}

static uv_loop_t *new_loop(void)
{
    uv_loop_t *loop = malloc(sizeof(*loop));
    assert_int_equal(uv_loop_init(loop), 0);
    return loop;
}

static void loop_free(uv_loop_t *loop)
{
    uv_run(loop, UV_RUN_NOWAIT);
    assert_int_equal(uv_loop_close(loop), 0);
    free(loop);
}

static bool ready_both(void *arg)
{
    side **s = arg;
    return s[0]->ready && s[1]->ready;
}

static bool closed_one(void *arg)
{
    return ((side *)arg)->closed > 0;
}

static void dial(side *from, side *to, const al_peer_id *expected)
{
    al__qconn *c;
    al_error err = {0};
    assert_int_equal(al__quic_dial(from->q, (struct sockaddr *)&to->addr,
                                   expected, NULL, &c, &err),
                     0);
    assert_non_null(c);
}

/* Two transports, b connected to a. */
static void connected_pair(uv_loop_t *loop, side *a, side *b,
                           const al__quic_config *acfg,
                           const al__quic_config *bcfg)
{
    side_init(a, loop, acfg, true);
    side_init(b, loop, bcfg, false);
    dial(b, a, &a->pid);
    side *both[2] = {a, b};
    assert_true(run_until(loop, ready_both, both, DEADLINE_MS));
    assert_non_null(a->conn);
    assert_non_null(b->conn);
}

/* ------------------------------------------------------------ tests */

static void handshake_both_ways(void **state)
{
    (void)state;
    uv_loop_t *loop = new_loop();
    side a, b;
    connected_pair(loop, &a, &b, NULL, NULL);
    assert_true(al_peer_id_equal(al__qconn_peer(b.conn), &a.pid));
    assert_true(al_peer_id_equal(al__qconn_peer(a.conn), &b.pid));
    assert_true(al__qconn_outbound(b.conn));
    assert_false(al__qconn_outbound(a.conn));
    /* Dialing happens from an ephemeral socket when not listening. */
    const struct sockaddr_in *local =
        (const struct sockaddr_in *)al__qconn_local(b.conn);
    const struct sockaddr_in *seen =
        (const struct sockaddr_in *)al__qconn_remote(a.conn);
    assert_int_equal(local->sin_port, seen->sin_port);
    assert_int_equal(al__quic_num_conns(a.q), 1);
    sides_free(&a, &b);
    assert_int_equal(a.last_status, AL_ECANCELED);
    loop_free(loop);
}

static void dial_from_listening_socket(void **state)
{
    (void)state;
    uv_loop_t *loop = new_loop();
    side a, b;
    side_init(&a, loop, NULL, true);
    side_init(&b, loop, NULL, true);
    dial(&b, &a, &a.pid);
    side *both[2] = {&a, &b};
    assert_true(run_until(loop, ready_both, both, DEADLINE_MS));
    /* a sees b's listen port: port reuse. */
    const struct sockaddr_in *seen =
        (const struct sockaddr_in *)al__qconn_remote(a.conn);
    assert_int_equal(seen->sin_port, ((struct sockaddr_in *)&b.addr)->sin_port);
    sides_free(&a, &b);
    loop_free(loop);
}

static void wrong_peer_id(void **state)
{
    (void)state;
    uv_loop_t *loop = new_loop();
    side a, b;
    side_init(&a, loop, NULL, true);
    side_init(&b, loop, NULL, false);
    /* b expects its own id from a. */
    dial(&b, &a, &b.pid);
    assert_true(run_until(loop, closed_one, &b, DEADLINE_MS));
    assert_int_equal(b.ready, 0);
    assert_int_equal(b.last_status, AL_EPEERID);
    char want[AL_PEER_ID_STRLEN], got[AL_PEER_ID_STRLEN], msg[300];
    al_peer_id_format(&b.pid, want, sizeof(want));
    al_peer_id_format(&a.pid, got, sizeof(got));
    snprintf(msg, sizeof(msg), "peer id mismatch: expected %s, got %s", want,
             got);
    assert_string_equal(b.detail, msg);
    /* a never had a connection to report, and forgets the attempt. */
    run_for(loop, 300);
    assert_int_equal(a.ready, 0);
    assert_int_equal(a.closed, 0);
    sides_free(&a, &b);
    loop_free(loop);
}

/* A P-256 certificate and key (PEM) made with OpenSSL, without the libp2p
 * extension. */
static void cert_without_extension(char **cert_pem, char **key_pem)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *x = X509_new();
    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               (const unsigned char *)"plain", -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509_set_pubkey(x, k);
    assert_true(X509_sign(x, k, EVP_sha256()) > 0);
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    char *p;
    long n = BIO_get_mem_data(b, &p);
    *cert_pem = strndup(p, (size_t)n);
    BIO_free(b);
    b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
    n = BIO_get_mem_data(b, &p);
    *key_pem = strndup(p, (size_t)n);
    BIO_free(b);
    X509_free(x);
    EVP_PKEY_free(k);
}

/* A libp2p certificate of host whose self-signature is corrupted. */
static void cert_bad_signature(const al_identity *host, char **cert_pem,
                               char **key_pem)
{
    al__tlscert c;
    assert_int_equal(al__tlscert_generate(host, &c, NULL), 0);
    c.cert_der[c.cert_der_len - 1] ^= 0x01;
    assert_int_not_equal(
        al__tlscert_verify(c.cert_der, c.cert_der_len, NULL, NULL, NULL), 0);
    gnutls_datum_t der = {c.cert_der, (unsigned)c.cert_der_len}, pem;
    assert_int_equal(gnutls_pem_base64_encode2("CERTIFICATE", &der, &pem), 0);
    *cert_pem = strndup((char *)pem.data, pem.size);
    gnutls_free(pem.data);
    *key_pem = strdup(c.key_pem);
    al__tlscert_free(&c);
}

static void listener_without_extension_refused(void **state)
{
    (void)state;
    uv_loop_t *loop = new_loop();
    side a, b;
    side_init(&a, loop, NULL, true);
    side_init(&b, loop, NULL, false);
    char *cert, *key;
    cert_without_extension(&cert, &key);
    assert_int_equal(al__quic_test_set_cert(a.q, cert, key, NULL), 0);
    free(cert);
    free(key);
    dial(&b, &a, &a.pid);
    assert_true(run_until(loop, closed_one, &b, DEADLINE_MS));
    assert_int_equal(b.ready, 0);
    assert_int_equal(b.last_status, AL_ECRYPTO);
    assert_non_null(strstr(b.detail, "libp2p"));
    run_for(loop, 200);
    assert_int_equal(a.ready, 0);
    sides_free(&a, &b);
    loop_free(loop);
}

static void dialer_bad_signature_refused(void **state)
{
    (void)state;
    uv_loop_t *loop = new_loop();
    side a, b;
    side_init(&a, loop, NULL, true);
    side_init(&b, loop, NULL, false);
    char *cert, *key;
    cert_bad_signature(b.id, &cert, &key);
    assert_int_equal(al__quic_test_set_cert(b.q, cert, key, NULL), 0);
    free(cert);
    free(key);
    dial(&b, &a, &a.pid);
    assert_true(run_until(loop, closed_one, &b, DEADLINE_MS));
    /* The dialer never reports a connection the listener refused. */
    assert_int_equal(b.ready, 0);
    assert_int_equal(b.last_status, AL_ECRYPTO);
    assert_non_null(strstr(b.detail, "refused the TLS handshake"));
    run_for(loop, 200);
    assert_int_equal(a.ready, 0);
    sides_free(&a, &b);
    loop_free(loop);
}

static void listener_bad_signature_refused(void **state)
{
    (void)state;
    uv_loop_t *loop = new_loop();
    side a, b;
    side_init(&a, loop, NULL, true);
    side_init(&b, loop, NULL, false);
    char *cert, *key;
    cert_bad_signature(a.id, &cert, &key);
    assert_int_equal(al__quic_test_set_cert(a.q, cert, key, NULL), 0);
    free(cert);
    free(key);
    dial(&b, &a, &a.pid);
    assert_true(run_until(loop, closed_one, &b, DEADLINE_MS));
    assert_int_equal(b.ready, 0);
    assert_int_equal(b.last_status, AL_ECRYPTO);
    assert_non_null(strstr(b.detail, "self-signature"));
    sides_free(&a, &b);
    loop_free(loop);
}

/* ------------------------------------------------------------ streams */

typedef struct streams_goal {
    side *s;
    size_t n;
    size_t bytes;
} streams_goal;

static bool all_echoed(void *arg)
{
    streams_goal *g = arg;
    for (size_t i = 0; i < g->n; i++) {
        tstream *t = &g->s->out[i];
        if (!t->closed)
            return false;
    }
    return true;
}

static void open_streams(side *b, size_t n, size_t bytes)
{
    uint8_t *buf = malloc(bytes ? bytes : 1);
    for (size_t i = 0; i < bytes; i++)
        buf[i] = (uint8_t)i;
    for (size_t i = 0; i < n; i++) {
        tstream *t = &b->out[b->nout++];
        memset(t, 0, sizeof(*t));
        assert_int_equal(al__qconn_open_stream(b->conn, t, &t->s), 0);
        assert_int_equal(al__qstream_id(t->s), -1);
        if (bytes)
            assert_int_equal(al__qstream_write(t->s, buf, bytes), 0);
        assert_int_equal(al__qstream_finish(t->s), 0);
        /* Nothing more after FIN. */
        assert_int_equal(al__qstream_write(t->s, buf, 1), AL_ESTATE);
    }
    free(buf);
}

static void many_streams_and_credit(void **state)
{
    (void)state;
    uv_loop_t *loop = new_loop();
    side a, b;
    /* 16 concurrent streams at most: 500 need the credit back 30 times. */
    al__quic_config acfg = {.max_streams_per_conn = 16};
    connected_pair(loop, &a, &b, &acfg, NULL);
    a.mode = MODE_ECHO;
    open_streams(&b, 500, 100);
    streams_goal g = {&b, 500, 100};
    assert_true(run_until(loop, all_echoed, &g, DEADLINE_MS));
    for (size_t i = 0; i < 500; i++) {
        assert_int_equal(b.out[i].status, 0);
        assert_int_equal(b.out[i].got, 100);
        assert_true(b.out[i].fin);
    }
    assert_int_equal(a.inbound, 500);
    sides_free(&a, &b);
    loop_free(loop);
}

static void large_transfer(void **state)
{
    (void)state;
    uv_loop_t *loop = new_loop();
    side a, b;
    connected_pair(loop, &a, &b, NULL, NULL);
    a.mode = MODE_ECHO;
    /* Several flow-control windows each way, in small and large writes. */
    tstream *t = &b.out[b.nout++];
    memset(t, 0, sizeof(*t));
    assert_int_equal(al__qconn_open_stream(b.conn, t, &t->s), 0);
    static uint8_t buf[1 << 20];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 7);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(al__qstream_write(t->s, buf, 1000), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(al__qstream_write(t->s, buf, sizeof(buf)), 0);
    assert_int_equal(al__qstream_finish(t->s), 0);
    streams_goal g = {&b, 1, 0};
    assert_true(run_until(loop, all_echoed, &g, DEADLINE_MS));
    assert_int_equal(t->status, 0);
    assert_int_equal(t->got, 1000 * 1000 + 3 * sizeof(buf));
    sides_free(&a, &b);
    loop_free(loop);
}

static void send_buffer_bounded(void **state)
{
    (void)state;
    uv_loop_t *loop = new_loop();
    side a, b;
    al__quic_config bcfg = {.max_stream_send = 64 * 1024,
                            .max_conn_send = 96 * 1024};
    connected_pair(loop, &a, &b, NULL, &bcfg);
    a.mode = MODE_HOLD;
    tstream *t = &b.out[b.nout++];
    memset(t, 0, sizeof(*t));
    assert_int_equal(al__qconn_open_stream(b.conn, t, &t->s), 0);
    static uint8_t buf[32 * 1024];
    assert_int_equal(al__qstream_write(t->s, buf, sizeof(buf)), 0);
    assert_int_equal(al__qstream_write(t->s, buf, sizeof(buf)), 0);
    assert_int_equal(al__qstream_unacked(t->s), 2 * sizeof(buf));
    assert_int_equal(al__qstream_write(t->s, buf, 1), AL_ELIMIT);
    /* The connection's bound covers all its streams together. */
    tstream *t2 = &b.out[b.nout++];
    memset(t2, 0, sizeof(*t2));
    assert_int_equal(al__qconn_open_stream(b.conn, t2, &t2->s), 0);
    assert_int_equal(al__qstream_write(t2->s, buf, sizeof(buf)), 0);
    assert_int_equal(al__qstream_write(t2->s, buf, 1), AL_ELIMIT);
    sides_free(&a, &b);
    loop_free(loop);
}

typedef struct held_goal {
    side *s;
    int inbound;
} held_goal;

static bool inbound_at_least(void *arg)
{
    held_goal *g = arg;
    return g->s->inbound >= g->inbound;
}

static void stream_limit_enforced(void **state)
{
    (void)state;
    uv_loop_t *loop = new_loop();
    side a, b;
    al__quic_config acfg = {.max_streams_per_conn = 4};
    al__quic_config bcfg = {.max_pending_streams = 8};
    connected_pair(loop, &a, &b, &acfg, &bcfg);
    a.mode = MODE_HOLD;
    uint8_t byte = 1;
    for (int i = 0; i < 10; i++) {
        tstream *t = &b.out[b.nout++];
        memset(t, 0, sizeof(*t));
        int rc = al__qconn_open_stream(b.conn, t, &t->s);
        if (i < 8) {
            assert_int_equal(rc, 0);
            assert_int_equal(al__qstream_write(t->s, &byte, 1), 0);
        } else {
            /* More than max_pending_streams waiting for credit. */
            assert_int_equal(rc, AL_ELIMIT);
            b.nout--;
        }
    }
    held_goal g = {&a, 4};
    assert_true(run_until(loop, inbound_at_least, &g, DEADLINE_MS));
    run_for(loop, 200);
    assert_int_equal(a.inbound, 4);
    /* Closing one held stream lets exactly one more in. */
    al__qstream_reset(a.held[0]);
    g.inbound = 5;
    assert_true(run_until(loop, inbound_at_least, &g, DEADLINE_MS));
    run_for(loop, 200);
    assert_int_equal(a.inbound, 5);
    /* The reset reached b's first stream. */
    assert_true(b.out[0].closed);
    assert_int_equal(b.out[0].status, AL_EPROTO);
    sides_free(&a, &b);
    loop_free(loop);
}

/* ------------------------------------------------------------ closing */

static bool closed_both(void *arg)
{
    side **s = arg;
    return s[0]->closed && s[1]->closed;
}

static void graceful_close(void **state)
{
    (void)state;
    uv_loop_t *loop = new_loop();
    side a, b;
    connected_pair(loop, &a, &b, NULL, NULL);
    a.mode = MODE_HOLD;
    open_streams(&b, 3, 10);
    held_goal g = {&a, 3};
    assert_true(run_until(loop, inbound_at_least, &g, DEADLINE_MS));
    al__qconn_close(b.conn);
    side *both[2] = {&a, &b};
    assert_true(run_until(loop, closed_both, both, DEADLINE_MS));
    assert_int_equal(b.last_status, 0);
    assert_int_equal(a.last_status, AL_E_CONNECTION_CLOSED);
    /* Streams were told before the connection. */
    for (size_t i = 0; i < 3; i++) {
        assert_true(b.out[i].closed);
        assert_int_equal(b.out[i].status, AL_ECANCELED);
    }
    assert_int_equal(a.inbound_closed, 3);
    sides_free(&a, &b);
    loop_free(loop);
}

static void shutdown_closes_peers(void **state)
{
    (void)state;
    uv_loop_t *loop = new_loop();
    side a, b;
    connected_pair(loop, &a, &b, NULL, NULL);
    al__quic_shutdown(b.q, on_done, &b);
    side *both[2] = {&a, &b};
    assert_true(run_until(loop, closed_both, both, DEADLINE_MS));
    assert_int_equal(b.last_status, AL_ECANCELED);
    assert_int_equal(a.last_status, AL_E_CONNECTION_CLOSED);
    sides_free(&a, &b);
    loop_free(loop);
}

static void stateless_reset(void **state)
{
    (void)state;
    uv_loop_t *loop = new_loop();
    side a, b;
    connected_pair(loop, &a, &b, NULL, NULL);
    /* a loses every connection without a word, as after a restart; b's
     * next packet gets a stateless reset. */
    al__quic_test_forget_all(a.q);
    assert_int_equal(a.last_status, AL_ECANCELED);
    open_streams(&b, 1, 10);
    uint64_t t0 = uv_now(loop);
    assert_true(run_until(loop, closed_one, &b, DEADLINE_MS));
    assert_int_equal(b.last_status, AL_E_CONNECTION_CLOSED);
    assert_non_null(strstr(b.detail, "stateless reset"));
    /* Far sooner than the idle timeout. */
    assert_true(uv_now(loop) - t0 < 5000);
    sides_free(&a, &b);
    loop_free(loop);
}

static void handshake_timeout(void **state)
{
    (void)state;
    uv_loop_t *loop = new_loop();
    side a, b;
    al__quic_config bcfg = {.handshake_timeout_ms = 300};
    side_init(&a, loop, NULL, false);
    side_init(&b, loop, &bcfg, false);
    /* A UDP socket that never answers. */
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(sa);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, len), 0);
    getsockname(fd, (struct sockaddr *)&sa, &len);
    memcpy(&a.addr, &sa, sizeof(sa));
    dial(&b, &a, &a.pid);
    assert_true(run_until(loop, closed_one, &b, DEADLINE_MS));
    assert_int_equal(b.last_status, AL_E_NETWORK_TIMEOUT);
    assert_string_equal(b.detail, "handshake timed out");
    close(fd);
    sides_free(&a, &b);
    loop_free(loop);
}

static void connection_limit(void **state)
{
    (void)state;
    uv_loop_t *loop = new_loop();
    side a, b;
    al__quic_config acfg = {.max_connections = 1};
    connected_pair(loop, &a, &b, &acfg, NULL);
    dial(&b, &a, &a.pid);
    assert_true(run_until(loop, closed_one, &b, DEADLINE_MS));
    assert_int_equal(b.last_status, AL_ELIMIT);
    assert_int_equal(a.ready, 1);
    assert_int_equal(al__quic_num_conns(a.q), 1);
    /* The dialer's own limit. */
    al__quic_config ccfg = {.max_connections = 1};
    side c;
    side_init(&c, loop, &ccfg, false);
    al__qconn *conn;
    assert_int_equal(
        al__quic_dial(c.q, (struct sockaddr *)&a.addr, NULL, NULL, &conn, NULL),
        0);
    assert_int_equal(
        al__quic_dial(c.q, (struct sockaddr *)&a.addr, NULL, NULL, &conn, NULL),
        AL_ELIMIT);
    al__quic_shutdown(c.q, on_done, &c);
    assert_true(run_until(loop, is_done, &c, DEADLINE_MS));
    sides_free(&a, &b);
    al__quic_free(c.q);
    al_identity_free(c.id);
    loop_free(loop);
}

/* ------------------------------------------------------------ stray packets */

static int udp_to(const struct sockaddr_storage *to, const uint8_t *p, size_t n)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in me = {.sin_family = AF_INET};
    me.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr *)&me, sizeof(me));
    struct timeval tv = {0, 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    sendto(fd, p, n, 0, (const struct sockaddr *)to,
           sizeof(struct sockaddr_in));
    return fd;
}

/* Receives one datagram while the loop keeps running. */
static ssize_t udp_reply(uv_loop_t *loop, int fd, uint8_t *buf, size_t cap)
{
    uint64_t end = uv_now(loop) + 2000;
    while (uv_now(loop) < end) {
        ssize_t n = recv(fd, buf, cap, MSG_DONTWAIT);
        if (n > 0)
            return n;
        run_for(loop, 5);
    }
    return -1;
}

static void stray_packets(void **state)
{
    (void)state;
    uv_loop_t *loop = new_loop();
    side a, b;
    side_init(&a, loop, NULL, true);
    uint8_t pkt[1300], reply[2048];
    /* A short-header packet for no connection: a stateless reset, shorter
     * than what caused it. */
    memset(pkt, 0x5a, sizeof(pkt));
    pkt[0] = 0x40;
    int fd = udp_to(&a.addr, pkt, 100);
    ssize_t n = udp_reply(loop, fd, reply, sizeof(reply));
    assert_true(n > 20 && n < 100);
    assert_int_equal(reply[0] & 0xc0, 0x40);
    close(fd);
    /* Too short to be answered without feeding a reset loop. */
    fd = udp_to(&a.addr, pkt, 40);
    assert_int_equal(udp_reply(loop, fd, reply, sizeof(reply)), -1);
    close(fd);
    /* An Initial-sized long header with an unknown version: version
     * negotiation offering QUIC v1. */
    pkt[0] = 0xc0;
    memcpy(pkt + 1, "\x1a\x2a\x3a\x4a", 4);
    pkt[5] = 8;
    pkt[14] = 8;
    fd = udp_to(&a.addr, pkt, 1200);
    n = udp_reply(loop, fd, reply, sizeof(reply));
    assert_true(n > 7);
    assert_memory_equal(reply + 1, "\0\0\0\0", 4);
    bool v1 = false;
    for (ssize_t i = 7 + 8 + 8; i + 4 <= n; i += 4)
        v1 |= memcmp(reply + i, "\0\0\0\1", 4) == 0;
    assert_true(v1);
    close(fd);
    /* Garbage of every length; the listener still works afterwards. */
    for (size_t len = 1; len < 1300; len += 37) {
        for (size_t i = 0; i < len; i++)
            pkt[i] = (uint8_t)(i * 31 + len);
        fd = udp_to(&a.addr, pkt, len);
        close(fd);
    }
    run_for(loop, 50);
    side_init(&b, loop, NULL, false);
    dial(&b, &a, &a.pid);
    side *both[2] = {&a, &b};
    assert_true(run_until(loop, ready_both, both, DEADLINE_MS));
    sides_free(&a, &b);
    loop_free(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(handshake_both_ways),
        cmocka_unit_test(dial_from_listening_socket),
        cmocka_unit_test(wrong_peer_id),
        cmocka_unit_test(listener_without_extension_refused),
        cmocka_unit_test(dialer_bad_signature_refused),
        cmocka_unit_test(listener_bad_signature_refused),
        cmocka_unit_test(many_streams_and_credit),
        cmocka_unit_test(large_transfer),
        cmocka_unit_test(send_buffer_bounded),
        cmocka_unit_test(stream_limit_enforced),
        cmocka_unit_test(graceful_close),
        cmocka_unit_test(shutdown_closes_peers),
        cmocka_unit_test(stateless_reset),
        cmocka_unit_test(handshake_timeout),
        cmocka_unit_test(connection_limit),
        cmocka_unit_test(stray_packets),
    };
    return cmocka_run_group_tests_name("quic", tests, NULL, NULL);
}
