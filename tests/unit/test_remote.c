/* remote.c: serving /kameo/1 requests without a network (request bytes in,
 * response bytes out), the local shortcut of al_remote_ask/tell, and links.
 *
 * The node's loop runs on a second thread; every remote call is made on
 * the loop through on_loop(). Requests are built with the envelope encoder
 * (golden-tested in test_kameo_wire.c); the expected responses are written
 * out as bytes where they are short, derived as there:
 *   a1 63 "Ask"            {"Ask":
 *   a1 62 "Ok" 81 0a        {"Ok": [0x0a]}}   (Vec<u8> = array of uints;
 *                                              MessagePack 10 = 0a)
 *   a1 63 "Err" 6f "ActorNotRunning"           (unit variant = its name) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>

#include <cmocka.h>

#include "actorlib.h"
#include "actor.h"
#include "counter.h"
#include "kameo_wire.h"
#include "remote.h"

#define LIT(s) (const uint8_t *)(s), sizeof(s) - 1

/* This node's peer id (the libp2p spec's Ed25519 key) and another one. */
#define PEER_ID                                                                \
    "\x00\x24\x08\x01\x12\x20\x1e\xd1\xe8\xfa\xe2\xc4\xa1\x44\xb8\xbe\x8f\xd4" \
    "\xb4\x7b\xf3\xd3\xb3\x4b\x87\x1c\x3c\xac\xf6\x01\x0f\x0e\x42\xd4\x74\xfc" \
    "\xe2\x7e"
#define OTHER_ID                                                               \
    "\x00\x24\x08\x01\x12\x20\xaa\xd1\xe8\xfa\xe2\xc4\xa1\x44\xb8\xbe\x8f\xd4" \
    "\xb4\x7b\xf3\xd3\xb3\x4b\x87\x1c\x3c\xac\xf6\x01\x0f\x0e\x42\xd4\x74\xfc" \
    "\xe2\x7e"

/* ------------------------------------------------------------ a second type */

/* test::Other: messages whose replies exercise the reply encoders, and a
 * class that records link deaths. */
typedef struct other {
    _Atomic int link_died;
    _Atomic int link_reason;
    _Atomic uint64_t dead_seq;
} other;

static void unit_handler(void *state, al_ctx *ctx, void *msg)
{
    (void)state;
    (void)ctx;
    (void)msg;
}

static void value_handler(void *state, al_ctx *ctx, void *msg)
{
    (void)state;
    (void)msg;
    int64_t v = 5;
    al_ctx_reply(ctx, &v, sizeof(v));
}

static void error_handler(void *state, al_ctx *ctx, void *msg)
{
    (void)state;
    (void)msg;
    int64_t v = 5;
    al_ctx_reply_error(ctx, &v, sizeof(v));
}

static int decode_nothing(const uint8_t *b, size_t n, void *m, al_error *e)
{
    (void)m;
    (void)e;
    return n == 1 && b[0] == 0xc0 ? 0 : AL_EDECODE;
}

static int encode_fails(const void *v, size_t len, al_buf *out)
{
    (void)v;
    (void)len;
    (void)out;
    return AL_EINVAL;
}

static bool other_link_died(void *state, al_actor *self, uint64_t dead,
                            int reason)
{
    (void)self;
    other *o = state;
    o->dead_seq = dead;
    o->link_reason = reason;
    o->link_died++;
    return false;
}

static const al_actor_class other_class = {
    .remote_id = "test::Other",
    .on_link_died = other_link_died,
};

static const al_message unit_msg = {
    .name = "Unit", .handle = unit_handler, .decode = decode_nothing};
static const al_message noenc_msg = {
    .name = "NoEnc", .handle = value_handler, .decode = decode_nothing};
static const al_message badenc_msg = {.name = "BadEnc",
                                      .handle = value_handler,
                                      .decode = decode_nothing,
                                      .encode_reply = encode_fails};
static const al_message baderr_msg = {.name = "BadErr",
                                      .handle = error_handler,
                                      .decode = decode_nothing,
                                      .encode_error = encode_fails};

AL_REMOTE_ACTOR(other_class);
AL_REMOTE_MESSAGE(other_class, unit_msg, "unit");
AL_REMOTE_MESSAGE(other_class, noenc_msg, "noenc");
AL_REMOTE_MESSAGE(other_class, badenc_msg, "badenc");
AL_REMOTE_MESSAGE(other_class, baderr_msg, "baderr");

/* ------------------------------------------------------------ fixture */

typedef struct fx {
    al_node *node;
    al__remote *r;
    al_actor *counter;
    al_peer_id me, other;
} fx;

static fx F;

typedef struct waiter {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done;
} waiter;

static waiter W = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};

static void signal_done(void)
{
    pthread_mutex_lock(&W.lock);
    W.done++;
    pthread_cond_broadcast(&W.cond);
    pthread_mutex_unlock(&W.lock);
}

/* Waits until `want` signals arrived (generous deadline). */
static void wait_done(int want)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 20;
    pthread_mutex_lock(&W.lock);
    while (W.done < want) {
        if (pthread_cond_timedwait(&W.cond, &W.lock, &ts)) {
            pthread_mutex_unlock(&W.lock);
            fail_msg("timed out waiting for the loop");
        }
    }
    W.done -= want;
    pthread_mutex_unlock(&W.lock);
}

typedef struct loop_call {
    void (*fn)(void *);
    void *ud;
} loop_call;

static void run_call(void *ud)
{
    loop_call *c = ud;
    c->fn(c->ud);
    signal_done();
}

/* Runs fn(ud) on the loop thread and waits for it. */
static void on_loop(void (*fn)(void *), void *ud)
{
    loop_call c = {fn, ud};
    assert_int_equal(al_node_post(F.node, run_call, &c), 0);
    wait_done(1);
}

static void setup_remote(void *ud)
{
    uint32_t *cap = ud;
    assert_int_equal(al__remote_attach(F.node, &F.me, &F.r), 0);
    assert_int_equal(counter_spawn(F.node, *cap, &F.counter), 0);
    assert_int_equal(al__remote_expose(F.r, F.counter, "my_actor"), 0);
}

static int setup_cap(uint32_t cap)
{
    memset(&F, 0, sizeof(F));
    al_peer_id_from_bytes(&F.me, (const uint8_t *)PEER_ID, 38);
    al_peer_id_from_bytes(&F.other, (const uint8_t *)OTHER_ID, 38);
    al_error err;
    if (al_node_new(&F.node, NULL, &err) || al_node_start(F.node))
        return -1;
    on_loop(setup_remote, &cap);
    return 0;
}

static int setup(void **s)
{
    (void)s;
    return setup_cap(0);
}

static int setup_bounded(void **s)
{
    (void)s;
    return setup_cap(1);
}

static int teardown(void **s)
{
    (void)s;
    al_actor_release(F.counter);
    al_node_stop(F.node);
    al_node_join(F.node);
    al_node_free(F.node);
    return 0;
}

/* ------------------------------------------------------------ serving */

typedef struct answer {
    bool got;
    bool reset;
    al_buf bytes;
} answer;

static void take_answer(al__rserve *s, const uint8_t *resp, size_t len,
                        void *ud)
{
    (void)s;
    answer *a = ud;
    a->got = true;
    a->reset = resp == NULL;
    if (resp)
        al_buf_append(&a->bytes, resp, len);
    signal_done();
}

typedef struct serve_job {
    const al_buf *reqs;
    answer *answers;
    size_t n;
} serve_job;

/* Every request of the job is served in the same loop turn. */
static void run_serve(void *ud)
{
    serve_job *j = ud;
    for (size_t i = 0; i < j->n; i++)
        al__remote_serve(F.r, &F.other, j->reqs[i].data, j->reqs[i].len,
                         take_answer, &j->answers[i]);
}

static void serve_many(const al_buf *reqs, answer *answers, size_t n)
{
    serve_job j = {reqs, answers, n};
    memset(answers, 0, n * sizeof(*answers));
    loop_call c = {run_serve, &j};
    assert_int_equal(al_node_post(F.node, run_call, &c), 0);
    wait_done((int)n + 1);
}

static answer serve(const al_buf *req)
{
    answer a;
    serve_many(req, &a, 1);
    return a;
}

static al_actor_id counter_id(void)
{
    al_actor_id id = {.seq = al_actor_seq(F.counter), .peer = F.me};
    return id;
}

static al__kw_str S(const char *s)
{
    al__kw_str v = {(char *)s, strlen(s)};
    return v;
}

typedef struct send_args {
    al_actor_id id;
    const char *actor;
    const char *msg;
    const uint8_t *payload;
    size_t len;
    int64_t mailbox_ms, reply_ms;
    bool immediate;
} send_args;

static al_buf request(enum al__kw_kind kind, send_args a)
{
    al__kw_request req = {.kind = kind};
    al__kw_send *s = &req.u.send;
    s->actor_id = a.id.peer.len ? a.id : counter_id();
    s->actor_remote_id = S(a.actor ? a.actor : COUNTER_REMOTE_ID);
    s->message_remote_id = S(a.msg);
    s->payload.data = (uint8_t *)a.payload;
    s->payload.len = a.len;
    s->mailbox_timeout =
        al__kw_duration_from_ms(a.mailbox_ms ? a.mailbox_ms : AL_NO_TIMEOUT);
    s->reply_timeout =
        al__kw_duration_from_ms(a.reply_ms ? a.reply_ms : AL_NO_TIMEOUT);
    s->immediate = a.immediate;
    al_buf out = {0};
    assert_int_equal(al__kw_request_encode(&req, &out, NULL), 0);
    return out;
}

/* Unset fields: the counter's id, no timeouts. */
#define ASK(...)  request(AL__KW_ASK, (send_args){__VA_ARGS__})
#define TELL(...) request(AL__KW_TELL, (send_args){__VA_ARGS__})

static const uint8_t inc10[] = {0x81, 0xa6, 'a', 'm', 'o', 'u', 'n', 't', 0x0a};

static void assert_bytes(const answer *a, const uint8_t *want, size_t len)
{
    assert_true(a->got);
    assert_false(a->reset);
    assert_int_equal(a->bytes.len, len);
    assert_memory_equal(a->bytes.data, want, len);
}

/* Decodes an answer and checks its kind and status. */
static al__kw_response decoded(const answer *a, enum al__kw_kind kind,
                               int status)
{
    assert_true(a->got);
    assert_false(a->reset);
    al__kw_response resp;
    al_error err = {0};
    assert_int_equal(
        al__kw_response_decode(a->bytes.data, a->bytes.len, &resp, &err), 0);
    assert_int_equal(resp.kind, kind);
    assert_int_equal(resp.status, status);
    return resp;
}

static void answer_free(answer *a)
{
    al_buf_free(&a->bytes);
}

/* ------------------------------------------------------------ tests */

static void ask_replies_then_counts_on(void **s)
{
    (void)s;
    al_buf req = ASK(.msg = COUNTER_INC_ID, .payload = inc10, .len = 9);
    answer a = serve(&req);
    assert_bytes(&a, LIT("\xa1\x63"
                         "Ask"
                         "\xa1\x62"
                         "Ok"
                         "\x81\x0a"));
    answer_free(&a);
    a = serve(&req);
    assert_bytes(&a, LIT("\xa1\x63"
                         "Ask"
                         "\xa1\x62"
                         "Ok"
                         "\x81\x14"));
    answer_free(&a);
    al_buf_free(&req);
    assert_int_equal(al__remote_inbound(F.r), 0);
}

static void unknown_actor_id_is_not_running(void **s)
{
    (void)s;
    al_actor_id nobody = {.seq = 999999, .peer = F.me};
    al_actor_id elsewhere = counter_id();
    elsewhere.peer = F.other;
    al_buf reqs[3] = {
        ASK(.id = nobody, .msg = COUNTER_INC_ID, .payload = inc10, .len = 9),
        ASK(.id = elsewhere, .msg = COUNTER_INC_ID, .payload = inc10, .len = 9),
        TELL(.id = nobody, .msg = COUNTER_INC_ID, .payload = inc10, .len = 9),
    };
    answer a[3];
    serve_many(reqs, a, 3);
    static const uint8_t not_running[] = "\xa1\x63"
                                         "Ask"
                                         "\xa1\x63"
                                         "Err"
                                         "\x6f"
                                         "ActorNotRunning";
    assert_bytes(&a[0], not_running, sizeof(not_running) - 1);
    assert_bytes(&a[1], not_running, sizeof(not_running) - 1);
    assert_bytes(&a[2], LIT("\xa1\x64"
                            "Tell"
                            "\xa1\x63"
                            "Err"
                            "\x6f"
                            "ActorNotRunning"));
    for (int i = 0; i < 3; i++) {
        answer_free(&a[i]);
        al_buf_free(&reqs[i]);
    }
}

static void other_type_is_bad_actor_type(void **s)
{
    (void)s;
    /* A message of test::Other sent to the counter's id. */
    al_buf req = ASK(.actor = "test::Other", .msg = "unit",
                     .payload = (const uint8_t *)"\xc0", .len = 1);
    answer a = serve(&req);
    assert_bytes(&a, LIT("\xa1\x63"
                         "Ask"
                         "\xa1\x63"
                         "Err"
                         "\x6c"
                         "BadActorType"));
    answer_free(&a);
    al_buf_free(&req);
}

static void unknown_message_names_both_ids(void **s)
{
    (void)s;
    al_buf reqs[2] = {
        ASK(.msg = "no-such-message", .payload = inc10, .len = 9),
        /* Unknown beats not running: Kameo looks the message up first. */
        ASK(.id = {.seq = 424242, .peer = F.me}, .actor = "x",
            .msg = COUNTER_INC_ID),
    };
    answer a[2];
    serve_many(reqs, a, 2);
    /* {"Ask": {"Err": {"UnknownMessage": {"actor_remote_id": ...,
     *  "message_remote_id": ...}}}} */
    assert_bytes(&a[1], LIT("\xa1\x63"
                            "Ask"
                            "\xa1\x63"
                            "Err"
                            "\xa1\x6e"
                            "UnknownMessage"
                            "\xa2\x6f"
                            "actor_remote_id"
                            "\x61"
                            "x"
                            "\x71"
                            "message_remote_id"
                            "\x78\x24" COUNTER_INC_ID));
    al__kw_response resp = decoded(&a[0], AL__KW_ASK, AL_E_UNKNOWN_MESSAGE);
    assert_string_equal(resp.actor_remote_id.data, COUNTER_REMOTE_ID);
    assert_string_equal(resp.message_remote_id.data, "no-such-message");
    al__kw_response_free(&resp);
    for (int i = 0; i < 2; i++) {
        answer_free(&a[i]);
        al_buf_free(&reqs[i]);
    }
}

static void bad_payload_is_deserialize_message(void **s)
{
    (void)s;
    /* amount as a string */
    static const uint8_t bad[] = {0x81, 0xa6, 'a', 'm',  'o',
                                  'u',  'n',  't', 0xa1, 'x'};
    al_buf reqs[2] = {
        ASK(.msg = COUNTER_INC_ID, .payload = bad, .len = sizeof(bad)),
        TELL(.msg = COUNTER_INC_ID),
    };
    answer a[2];
    serve_many(reqs, a, 2);
    al__kw_response resp = decoded(&a[0], AL__KW_ASK, AL_E_DESERIALIZE_MESSAGE);
    assert_true(resp.detail.len > 0);
    al__kw_response_free(&resp);
    resp = decoded(&a[1], AL__KW_TELL, AL_E_DESERIALIZE_MESSAGE);
    al__kw_response_free(&resp);
    for (int i = 0; i < 2; i++) {
        answer_free(&a[i]);
        al_buf_free(&reqs[i]);
    }
}

static void handler_error_carries_its_bytes(void **s)
{
    (void)s;
    static const uint8_t dec5[] = {0x81, 0xa6, 'a', 'm', 'o', 'u', 'n', 't', 5};
    al_buf req = ASK(.msg = COUNTER_TRYDEC_ID, .payload = dec5, .len = 9);
    answer a = serve(&req);
    /* CounterError::Underflow { count: 0, amount: 5 } in rmp_serde's named
     * form: 81 a9 "Underflow" 82 a5 "count" 00 a6 "amount" 05 (27 bytes),
     * as HandlerError's Vec<u8>: an array of 27 uints (98 1b ...; bytes
     * from 0x18 up take two: 18 xx). */
    al__kw_response resp = decoded(&a, AL__KW_ASK, AL_E_HANDLER_ERROR);
    static const uint8_t underflow[] = {0x81, 0xa9, 'U', 'n', 'd',  'e',  'r',
                                        'f',  'l',  'o', 'w', 0x82, 0xa5, 'c',
                                        'o',  'u',  'n', 't', 0x00, 0xa6, 'a',
                                        'm',  'o',  'u', 'n', 't',  0x05};
    assert_int_equal(resp.data.len, sizeof(underflow));
    assert_memory_equal(resp.data.data, underflow, sizeof(underflow));
    al__kw_response_free(&resp);
    answer_free(&a);
    al_buf_free(&req);
}

static void immediate_on_full_mailbox(void **s)
{
    (void)s;
    /* Capacity 1: the first ask fills the mailbox (its handler runs only
     * after this loop turn), the immediate one is refused. */
    al_buf reqs[3] = {
        ASK(.msg = COUNTER_INC_ID, .payload = inc10, .len = 9),
        ASK(.msg = COUNTER_INC_ID, .payload = inc10, .len = 9,
            .immediate = true),
        TELL(.msg = COUNTER_INC_ID, .payload = inc10, .len = 9,
             .immediate = true),
    };
    answer a[3];
    serve_many(reqs, a, 3);
    assert_bytes(&a[0], LIT("\xa1\x63"
                            "Ask"
                            "\xa1\x62"
                            "Ok"
                            "\x81\x0a"));
    assert_bytes(&a[1], LIT("\xa1\x63"
                            "Ask"
                            "\xa1\x63"
                            "Err"
                            "\x6b"
                            "MailboxFull"));
    assert_bytes(&a[2], LIT("\xa1\x64"
                            "Tell"
                            "\xa1\x63"
                            "Err"
                            "\x6b"
                            "MailboxFull"));
    for (int i = 0; i < 3; i++) {
        answer_free(&a[i]);
        al_buf_free(&reqs[i]);
    }
}

static void reply_timeout_applies_here(void **s)
{
    (void)s;
    /* Sleep { ms: 2000 } with a 50 ms reply timeout. */
    static const uint8_t sleep2s[] = {0x81, 0xa2, 'm', 's', 0xcd, 0x07, 0xd0};
    al_buf req = ASK(.msg = COUNTER_SLEEP_ID, .payload = sleep2s,
                     .len = sizeof(sleep2s), .reply_ms = 50);
    answer a = serve(&req);
    assert_bytes(&a, LIT("\xa1\x63"
                         "Ask"
                         "\xa1\x63"
                         "Err"
                         "\x6c"
                         "ReplyTimeout"));
    answer_free(&a);
    al_buf_free(&req);
}

static void tell_is_acknowledged(void **s)
{
    (void)s;
    /* LogMessage { text: "hi" }: 81 a4 "text" a2 "hi" */
    static const uint8_t log[] = {0x81, 0xa4, 't', 'e', 'x',
                                  't',  0xa2, 'h', 'i'};
    uint64_t before = counter_logs_seen();
    al_buf reqs[2] = {
        TELL(.msg = COUNTER_LOG_ID, .payload = log, .len = sizeof(log)),
        /* an ask queued behind it: when it is answered, the tell ran */
        ASK(.msg = COUNTER_INC_ID, .payload = inc10, .len = 9),
    };
    answer a[2];
    serve_many(reqs, a, 2);
    /* {"Tell": {"Ok": []}}: cbor4ii writes () as an empty array. */
    assert_bytes(&a[0], LIT("\xa1\x64"
                            "Tell"
                            "\xa1\x62"
                            "Ok"
                            "\x80"));
    assert_int_equal(counter_logs_seen(), before + 1);
    for (int i = 0; i < 2; i++) {
        answer_free(&a[i]);
        al_buf_free(&reqs[i]);
    }
}

static other other_state;
static al_actor *other_actor;

static void spawn_other(void *ud)
{
    (void)ud;
    memset(&other_state, 0, sizeof(other_state));
    assert_int_equal(
        al_spawn(F.node, &other_class, &other_state, NULL, &other_actor), 0);
    assert_int_equal(al__remote_expose(F.r, other_actor, "other"), 0);
}

static void reply_encoders(void **s)
{
    (void)s;
    on_loop(spawn_other, NULL);
    al_actor_id id = {.seq = al_actor_seq(other_actor), .peer = F.me};
    const uint8_t *nil = (const uint8_t *)"\xc0";
    al_buf reqs[4] = {
        ASK(.id = id, .actor = "test::Other", .msg = "unit", .payload = nil,
            .len = 1),
        ASK(.id = id, .actor = "test::Other", .msg = "noenc", .payload = nil,
            .len = 1),
        ASK(.id = id, .actor = "test::Other", .msg = "badenc", .payload = nil,
            .len = 1),
        ASK(.id = id, .actor = "test::Other", .msg = "baderr", .payload = nil,
            .len = 1),
    };
    answer a[4];
    serve_many(reqs, a, 4);
    /* No reply: Rust's (), MessagePack nil (c0, an array of one uint 0xc0:
     * 81 18 c0). */
    assert_bytes(&a[0], LIT("\xa1\x63"
                            "Ask"
                            "\xa1\x62"
                            "Ok"
                            "\x81\x18\xc0"));
    al__kw_response r1 = decoded(&a[1], AL__KW_ASK, AL_E_SERIALIZE_REPLY);
    al__kw_response r2 = decoded(&a[2], AL__KW_ASK, AL_E_SERIALIZE_REPLY);
    al__kw_response r3 =
        decoded(&a[3], AL__KW_ASK, AL_E_SERIALIZE_HANDLER_ERROR);
    assert_non_null(strstr(r1.detail.data, "NoEnc"));
    assert_non_null(strstr(r2.detail.data, "BadEnc"));
    assert_non_null(strstr(r3.detail.data, "BadErr"));
    al__kw_response_free(&r1);
    al__kw_response_free(&r2);
    al__kw_response_free(&r3);
    for (int i = 0; i < 4; i++) {
        answer_free(&a[i]);
        al_buf_free(&reqs[i]);
    }
    al_actor_stop(other_actor);
    al_actor_release(other_actor);
}

static void undecodable_request_gets_no_answer(void **s)
{
    (void)s;
    al_buf reqs[3] = {{0}, {0}, {0}};
    al_buf_append(&reqs[0],
                  "\xa1\x63"
                  "Ask",
                  5);
    al_buf_append(&reqs[1], "\xa1\x65Hello\xf6", 8);
    al_buf_append(&reqs[2], "\xff", 1);
    answer a[3];
    serve_many(reqs, a, 3);
    for (int i = 0; i < 3; i++) {
        assert_true(a[i].got);
        assert_true(a[i].reset);
        answer_free(&a[i]);
        al_buf_free(&reqs[i]);
    }
}

static void shed_answers_mailbox_full(void **s)
{
    (void)s;
    al_buf ask = ASK(.msg = COUNTER_INC_ID, .payload = inc10, .len = 9);
    al_buf tell = TELL(.msg = COUNTER_INC_ID, .payload = inc10, .len = 9);
    al_buf out = {0};
    assert_int_equal(al__remote_shed_answer(ask.data, 16, &out), 0);
    assert_int_equal(out.len, 22);
    assert_memory_equal(out.data,
                        "\xa1\x63"
                        "Ask"
                        "\xa1\x63"
                        "Err"
                        "\x6b"
                        "MailboxFull",
                        22);
    al_buf_reset(&out);
    assert_int_equal(al__remote_shed_answer(tell.data, tell.len, &out), 0);
    assert_memory_equal(out.data, "\xa1\x64Tell", 6);
    al_buf_reset(&out);
    assert_int_equal(al__remote_shed_answer(LIT("\xa1\x63"
                                                "Axk"),
                                            &out),
                     AL_EDECODE);
    assert_int_equal(al__remote_shed_answer(LIT("\xa1\x63"
                                                "As"),
                                            &out),
                     AL_EDECODE);
    assert_int_equal(al__remote_shed_answer(LIT("\x82\x01"), &out), AL_EDECODE);
    assert_int_equal(out.len, 0);
    al_buf_free(&out);
    al_buf_free(&ask);
    al_buf_free(&tell);
}

/* ------------------------------------------------------------ links */

static al_buf link_request(enum al__kw_kind kind, al_actor_id target,
                           const char *target_type, al_actor_id sib)
{
    al__kw_request req = {.kind = kind};
    req.u.link.actor_id = target;
    req.u.link.actor_remote_id = S(target_type);
    req.u.link.sibbling_id = sib;
    req.u.link.sibbling_remote_id = S("rust::Peer");
    al_buf out = {0};
    assert_int_equal(al__kw_request_encode(&req, &out, NULL), 0);
    return out;
}

static al_buf died_request(al_actor_id dead, al_actor_id notified,
                           const char *type, enum al__kw_stop_kind why)
{
    al__kw_request req = {.kind = AL__KW_SIGNAL_LINK_DIED};
    req.u.link_died.dead_actor_id = dead;
    req.u.link_died.notified_actor_id = notified;
    req.u.link_died.notified_actor_remote_id = S(type);
    req.u.link_died.stop_reason.kind = why;
    al_buf out = {0};
    assert_int_equal(al__kw_request_encode(&req, &out, NULL), 0);
    return out;
}

static void link_requests(void **s)
{
    (void)s;
    al_actor_id peer_actor = {.seq = 7, .peer = F.other};
    al_actor_id stranger = {.seq = 8, .peer = F.other};
    al_actor_id nobody = {.seq = 999999, .peer = F.me};
    al_buf reqs[6] = {
        link_request(AL__KW_LINK, counter_id(), "no::Such", peer_actor),
        link_request(AL__KW_LINK, nobody, COUNTER_REMOTE_ID, peer_actor),
        link_request(AL__KW_LINK, counter_id(), "test::Other", peer_actor),
        link_request(AL__KW_LINK, counter_id(), COUNTER_REMOTE_ID, peer_actor),
        /* a death along no link changes nothing */
        died_request(stranger, counter_id(), COUNTER_REMOTE_ID,
                     AL__KW_STOP_KILLED),
        link_request(AL__KW_UNLINK, counter_id(), COUNTER_REMOTE_ID, stranger),
    };
    answer a[6];
    serve_many(reqs, a, 6);
    /* {"Link": {"Err": {"UnknownActor": {"actor_remote_id": "no::Such"}}}} */
    assert_bytes(&a[0], LIT("\xa1\x64"
                            "Link"
                            "\xa1\x63"
                            "Err"
                            "\xa1\x6c"
                            "UnknownActor"
                            "\xa1\x6f"
                            "actor_remote_id"
                            "\x68"
                            "no::Such"));
    al__kw_response r = decoded(&a[1], AL__KW_LINK, AL_E_ACTOR_NOT_RUNNING);
    al__kw_response_free(&r);
    r = decoded(&a[2], AL__KW_LINK, AL_E_BAD_ACTOR_TYPE);
    al__kw_response_free(&r);
    assert_bytes(&a[3], LIT("\xa1\x64"
                            "Link"
                            "\xa1\x62"
                            "Ok"
                            "\x80"));
    assert_bytes(&a[4], LIT("\xa1\x6e"
                            "SignalLinkDied"
                            "\xa1\x62"
                            "Ok"
                            "\x80"));
    r = decoded(&a[5], AL__KW_UNLINK, 0);
    al__kw_response_free(&r);
    for (int i = 0; i < 6; i++) {
        answer_free(&a[i]);
        al_buf_free(&reqs[i]);
    }
    assert_true(al_actor_is_alive(F.counter));

    /* Now along the link: the counter (no on_link_died) stops, and is
     * then no longer served. */
    al_buf died = died_request(peer_actor, counter_id(), COUNTER_REMOTE_ID,
                               AL__KW_STOP_KILLED);
    answer d = serve(&died);
    al__kw_response rd = decoded(&d, AL__KW_SIGNAL_LINK_DIED, 0);
    al__kw_response_free(&rd);
    assert_int_equal(al_actor_wait(F.counter), AL_STOP_LINK_DIED);
    al_buf ask = ASK(.msg = COUNTER_INC_ID, .payload = inc10, .len = 9);
    answer x = serve(&ask);
    al__kw_response rx = decoded(&x, AL__KW_ASK, AL_E_ACTOR_NOT_RUNNING);
    al__kw_response_free(&rx);
    answer_free(&d);
    answer_free(&x);
    al_buf_free(&died);
    al_buf_free(&ask);
}

/* ------------------------------------------------------------ local path */

typedef struct got {
    bool called;
    bool inside; /* called from inside the sending call */
    int status;
    al_buf data;
    char detail[256];
} got;

static bool sending;

static void got_reply(const al_reply *rep, void *ud)
{
    got *g = ud;
    g->called = true;
    g->inside = sending;
    g->status = rep->status;
    if (rep->data)
        al_buf_append(&g->data, rep->data, rep->len);
    if (rep->detail)
        snprintf(g->detail, sizeof(g->detail), "%s", rep->detail);
    signal_done();
}

static void got_done(int status, void *ud)
{
    got *g = ud;
    g->called = true;
    g->inside = sending;
    g->status = status;
    signal_done();
}

typedef struct local_job {
    al_remote_ref *ref;
    const char *msg;
    const uint8_t *payload;
    size_t len;
    bool tell;
    got *g;
    int rc;
} local_job;

static void run_local(void *ud)
{
    local_job *j = ud;
    sending = true;
    if (j->tell)
        j->rc = al_remote_tell(j->ref, j->msg, j->payload, j->len, NULL,
                               got_done, j->g);
    else
        j->rc = al_remote_ask(j->ref, j->msg, j->payload, j->len, NULL,
                              got_reply, j->g);
    sending = false;
    signal_done();
}

static got local_send(al_remote_ref *ref, const char *msg,
                      const uint8_t *payload, size_t len, bool tell)
{
    got g = {0};
    local_job j = {ref, msg, payload, len, tell, &g, -1};
    loop_call c = {run_local, &j};
    assert_int_equal(al_node_post(F.node, run_call, &c), 0);
    wait_done(3);
    assert_int_equal(j.rc, 0);
    assert_true(g.called);
    assert_false(g.inside);
    return g;
}

static void local_target_runs_without_network(void **s)
{
    (void)s;
    al_remote_ref *ref, *bad;
    al_actor_id id = counter_id();
    assert_int_equal(al_remote_ref_new(F.node, &id, COUNTER_REMOTE_ID, &ref),
                     0);
    al_actor_id gone = {.seq = 999999, .peer = F.me};
    assert_int_equal(al_remote_ref_new(F.node, &gone, COUNTER_REMOTE_ID, &bad),
                     0);
    got g = local_send(ref, COUNTER_INC_ID, inc10, 9, false);
    assert_int_equal(g.status, 0);
    assert_int_equal(g.data.len, 1);
    assert_int_equal(g.data.data[0], 0x0a);
    al_buf_free(&g.data);

    g = local_send(ref, "nope", inc10, 9, false);
    assert_int_equal(g.status, AL_E_UNKNOWN_MESSAGE);
    assert_non_null(strstr(g.detail, "nope"));
    assert_non_null(strstr(g.detail, COUNTER_REMOTE_ID));

    g = local_send(bad, COUNTER_INC_ID, inc10, 9, false);
    assert_int_equal(g.status, AL_E_ACTOR_NOT_RUNNING);

    g = local_send(ref, COUNTER_INC_ID, (const uint8_t *)"\xc1", 1, false);
    assert_int_equal(g.status, AL_E_DESERIALIZE_MESSAGE);
    assert_true(g.detail[0] != 0);

    static const uint8_t log[] = {0x81, 0xa4, 't', 'e', 'x',
                                  't',  0xa2, 'h', 'i'};
    g = local_send(ref, COUNTER_LOG_ID, log, sizeof(log), true);
    assert_int_equal(g.status, 0);
    g = local_send(bad, COUNTER_LOG_ID, log, sizeof(log), true);
    assert_int_equal(g.status, AL_E_ACTOR_NOT_RUNNING);

    /* A peer elsewhere needs a swarm. */
    al_actor_id far = {.seq = 1, .peer = F.other};
    al_remote_ref *farref;
    assert_int_equal(
        al_remote_ref_new(F.node, &far, COUNTER_REMOTE_ID, &farref), 0);
    local_job j = {farref, COUNTER_INC_ID, inc10, 9, false, &g, 0};
    on_loop(run_local, &j);
    wait_done(1); /* run_local's own signal */
    assert_int_equal(j.rc, AL_E_SWARM_NOT_BOOTSTRAPPED);

    assert_int_equal(
        al_remote_ask(NULL, COUNTER_INC_ID, inc10, 9, NULL, got_reply, &g),
        AL_EINVAL);
    assert_int_equal(
        al_remote_ask(ref, COUNTER_INC_ID, inc10, 9, NULL, NULL, NULL),
        AL_EINVAL);
    al_remote_ref *dup = al_remote_ref_dup(ref);
    assert_non_null(dup);
    assert_string_equal(al_remote_ref_remote_id(dup), COUNTER_REMOTE_ID);
    assert_int_equal(al_remote_ref_id(dup)->seq, id.seq);
    al_remote_ref_free(dup);
    al_remote_ref_free(farref);
    al_remote_ref_free(ref);
    al_remote_ref_free(bad);
}

typedef struct link_job {
    al_actor *local;
    al_remote_ref *ref;
    got *g;
    bool unlink;
    int rc;
} link_job;

static void run_link(void *ud)
{
    link_job *j = ud;
    sending = true;
    j->rc = j->unlink ? al_remote_unlink(j->local, j->ref, got_done, j->g)
                      : al_remote_link(j->local, j->ref, got_done, j->g);
    sending = false;
    signal_done();
}

static void remote_link_between_local_actors(void **s)
{
    (void)s;
    static other st;
    memset(&st, 0, sizeof(st));
    al_actor *a;
    assert_int_equal(al_spawn(F.node, &other_class, &st, NULL, &a), 0);
    al_remote_ref *ref;
    al_actor_id id = counter_id();
    assert_int_equal(al_remote_ref_new(F.node, &id, COUNTER_REMOTE_ID, &ref),
                     0);
    got g = {0};
    link_job j = {a, ref, &g, false, -1};
    loop_call c = {run_link, &j};
    assert_int_equal(al_node_post(F.node, run_call, &c), 0);
    wait_done(3);
    assert_int_equal(j.rc, 0);
    assert_int_equal(g.status, 0);
    assert_false(g.inside);

    /* The counter dies: a, linked to it, hears of it through a
     * SignalLinkDied sent to this very node, and keeps running. */
    al_actor_kill(F.counter);
    assert_int_equal(al_actor_wait(F.counter), AL_STOP_KILLED);
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (st.link_died == 0) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (t.tv_sec - t0.tv_sec > 20)
            fail_msg("no link-died signal");
        struct timespec nap = {0, 1000000};
        nanosleep(&nap, NULL);
    }
    assert_int_equal(st.dead_seq, id.seq);
    assert_int_equal(st.link_reason, AL_STOP_KILLED);
    assert_true(al_actor_is_alive(a));

    /* Linking to a dead actor fails, and unlinking is acknowledged. */
    memset(&g, 0, sizeof(g));
    j = (link_job){a, ref, &g, false, -1};
    assert_int_equal(al_node_post(F.node, run_call, &c), 0);
    wait_done(3);
    assert_int_equal(g.status, AL_E_ACTOR_NOT_RUNNING);
    memset(&g, 0, sizeof(g));
    j = (link_job){a, ref, &g, true, -1};
    assert_int_equal(al_node_post(F.node, run_call, &c), 0);
    wait_done(3);
    assert_int_equal(g.status, AL_E_ACTOR_NOT_RUNNING);
    al_remote_ref_free(ref);
    al_actor_release(a);
}

static void lookup_never(int status, al_remote_ref *ref, void *ud)
{
    (void)status;
    (void)ref;
    (void)ud;
    fail_msg("no callback expected");
}

static void run_names_without_swarm(void *ud)
{
    int *rc = ud;
    rc[0] = al_actor_register(F.counter, "x", NULL, NULL);
    rc[1] = al_remote_lookup(F.node, "x", NULL, lookup_never, NULL);
    rc[2] = al_actor_unregister(F.node, "x", NULL, NULL);
    rc[3] = al_actor_register(F.counter, "", NULL, NULL);
    rc[4] = al_remote_lookup(F.node, "x", NULL, NULL, NULL);
}

static void names_need_a_swarm(void **s)
{
    (void)s;
    int rc[5];
    on_loop(run_names_without_swarm, rc);
    assert_int_equal(rc[0], AL_E_SWARM_NOT_BOOTSTRAPPED);
    assert_int_equal(rc[1], AL_E_SWARM_NOT_BOOTSTRAPPED);
    assert_int_equal(rc[2], AL_E_SWARM_NOT_BOOTSTRAPPED);
    assert_int_equal(rc[3], AL_EINVAL);
    assert_int_equal(rc[4], AL_EINVAL);
}

static void links_per_actor_are_bounded(void **s)
{
    (void)s;
    enum { N = 4097 };
    static al_buf reqs[N];
    static answer a[N];
    for (int i = 0; i < N; i++) {
        al_actor_id sib = {.seq = (uint64_t)i, .peer = F.other};
        reqs[i] =
            link_request(AL__KW_LINK, counter_id(), COUNTER_REMOTE_ID, sib);
    }
    serve_many(reqs, a, N);
    for (int i = 0; i < N - 1; i++) {
        assert_bytes(&a[i], LIT("\xa1\x64"
                                "Link"
                                "\xa1\x62"
                                "Ok"
                                "\x80"));
        answer_free(&a[i]);
        al_buf_free(&reqs[i]);
    }
    al__kw_response r = decoded(&a[N - 1], AL__KW_LINK, AL_E_MAILBOX_FULL);
    al__kw_response_free(&r);
    answer_free(&a[N - 1]);
    al_buf_free(&reqs[N - 1]);
}

static void run_too_large(void *ud)
{
    int *rc = ud;
    static uint8_t big[AL__KW_REQUEST_MAX / 2 + 1];
    al_actor_id id = counter_id();
    al_remote_ref *ref;
    *rc = al_remote_ref_new(F.node, &id, COUNTER_REMOTE_ID, &ref);
    if (*rc)
        return;
    *rc = al_remote_ask(ref, COUNTER_INC_ID, big, sizeof(big), NULL, got_reply,
                        NULL);
    al_remote_ref_free(ref);
}

static void oversized_payload_is_refused(void **s)
{
    (void)s;
    int rc = -1;
    on_loop(run_too_large, &rc);
    assert_int_equal(rc, AL_ELIMIT);
}

static void stop_codes(void **s)
{
    (void)s;
    al__kw_stop_reason r = {.kind = AL__KW_STOP_NORMAL};
    assert_int_equal(al__remote_stop_code(&r), AL_STOP_NORMAL);
    r.kind = AL__KW_STOP_PANICKED;
    assert_int_equal(al__remote_stop_code(&r), AL_STOP_KILLED);
    r.kind = AL__KW_STOP_LINK_DIED;
    assert_int_equal(al__remote_stop_code(&r), AL_STOP_LINK_DIED);
    r.kind = AL__KW_STOP_PEER_DISCONNECTED;
    assert_int_equal(al__remote_stop_code(&r), AL_STOP_PEER_DISCONNECTED);
}

static void reply_kinds_must_match(void **s)
{
    (void)s;
    char buf[128];
    al_reply out;
    al__kw_response resp = {.kind = AL__KW_TELL, .status = 0};
    al__remote_reply_of(AL__KW_ASK, &resp, &out, buf, sizeof(buf));
    assert_int_equal(out.status, AL_E_BAD_REPLY);
    assert_non_null(strstr(out.detail, "Tell response to Ask request"));
    resp.kind = AL__KW_OUTBOUND_FAILURE;
    resp.status = AL_E_DIAL_FAILURE;
    al__remote_reply_of(AL__KW_ASK, &resp, &out, buf, sizeof(buf));
    assert_int_equal(out.status, AL_E_DIAL_FAILURE);
    resp.kind = AL__KW_ASK;
    resp.status = AL_E_UNKNOWN_ACTOR;
    resp.actor_remote_id = S("a::B");
    al__remote_reply_of(AL__KW_ASK, &resp, &out, buf, sizeof(buf));
    assert_string_equal(out.detail, "actor a::B");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(ask_replies_then_counts_on, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(unknown_actor_id_is_not_running, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(other_type_is_bad_actor_type, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(unknown_message_names_both_ids, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(bad_payload_is_deserialize_message,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(handler_error_carries_its_bytes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(immediate_on_full_mailbox,
                                        setup_bounded, teardown),
        cmocka_unit_test_setup_teardown(reply_timeout_applies_here, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(tell_is_acknowledged, setup, teardown),
        cmocka_unit_test_setup_teardown(reply_encoders, setup, teardown),
        cmocka_unit_test_setup_teardown(undecodable_request_gets_no_answer,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(shed_answers_mailbox_full, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(link_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(local_target_runs_without_network,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(remote_link_between_local_actors, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(names_need_a_swarm, setup, teardown),
        cmocka_unit_test_setup_teardown(links_per_actor_are_bounded, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(oversized_payload_is_refused, setup,
                                        teardown),
        cmocka_unit_test(stop_codes),
        cmocka_unit_test(reply_kinds_must_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
