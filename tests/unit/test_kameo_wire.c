/* kameo_wire.c: the /kameo/1 CBOR envelope.
 *
 * The golden vectors below are written by hand from serde's data model and
 * cbor4ii's serializer rules (kameo_wire.h); each is derived item by item
 * in its comment. They were also compared byte for byte with what cbor4ii
 * 0.3.3's serde serializer writes for the same Kameo 0.14 values, and the
 * decoder's accept/reject decisions with cbor4ii's deserializer (the
 * differences are the ones kameo_wire.h lists).
 *
 * CBOR reminders: a1 = map(1), a<n> = map(n), 6<n>/7<n> = text(n) (n < 24),
 * 78 xx = text(xx), 4<n>/58 xx = bytes, 8<n>/98 xx = array, f4/f5 =
 * false/true, f6 = null, 18 xx = uint xx (24..255), 1a = uint32. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "actorlib.h"
#include "kameo_wire.h"

/* ------------------------------------------------------------ helpers */

/* The libp2p peer-ids spec's Ed25519 key as a peer id (identity
 * multihash: 00, length 0x24, PublicKey protobuf 08 01 12 20 <32 bytes>). */
#define PEER_ID                                                                \
    "\x00\x24\x08\x01\x12\x20\x1e\xd1\xe8\xfa\xe2\xc4\xa1\x44\xb8\xbe\x8f\xd4" \
    "\xb4\x7b\xf3\xd3\xb3\x4b\x87\x1c\x3c\xac\xf6\x01\x0f\x0e\x42\xd4\x74\xfc" \
    "\xe2\x7e"

#define LIT(s) (const uint8_t *)(s), sizeof(s) - 1
#define CL(s)  (s), sizeof(s) - 1

static al_actor_id aid(uint64_t seq, bool with_peer)
{
    al_actor_id id;
    memset(&id, 0, sizeof(id));
    id.seq = seq;
    if (with_peer) {
        id.peer.len = 38;
        memcpy(id.peer.bytes, PEER_ID, 38);
    }
    return id;
}

static al__kw_str S(const char *s)
{
    al__kw_str v = {(char *)s, strlen(s)};
    return v;
}

static al__kw_bytes B(const void *p, size_t len)
{
    al__kw_bytes v = {(uint8_t *)p, len};
    return v;
}

static void hexdump_diff(const uint8_t *a, size_t alen, const uint8_t *b,
                         size_t blen)
{
    for (size_t i = 0; i < alen || i < blen; i++) {
        int x = i < alen ? a[i] : -1, y = i < blen ? b[i] : -1;
        if (x != y) {
            print_error("first difference at byte %zu: got %d, want %d\n", i, x,
                        y);
            return;
        }
    }
}

/* encode(value) == bytes; decode(bytes) == value; encode(decode(bytes))
 * == bytes. */
static void check_request(const al__kw_request *value, const uint8_t *bytes,
                          size_t len)
{
    al_buf out = {0};
    al_error err = {0};
    assert_int_equal(al__kw_request_encode(value, &out, &err), 0);
    if (out.len != len || memcmp(out.data, bytes, len))
        hexdump_diff(out.data, out.len, bytes, len);
    assert_int_equal(out.len, len);
    assert_memory_equal(out.data, bytes, len);
    al__kw_request d;
    assert_int_equal(al__kw_request_decode(bytes, len, &d, &err), 0);
    assert_true(al__kw_request_equal(&d, value));
    al_buf_reset(&out);
    assert_int_equal(al__kw_request_encode(&d, &out, &err), 0);
    assert_int_equal(out.len, len);
    assert_memory_equal(out.data, bytes, len);
    al__kw_request_free(&d);
    al_buf_free(&out);
}

static void check_response(const al__kw_response *value, const uint8_t *bytes,
                           size_t len)
{
    al_buf out = {0};
    al_error err = {0};
    assert_int_equal(al__kw_response_encode(value, &out, &err), 0);
    if (out.len != len || memcmp(out.data, bytes, len))
        hexdump_diff(out.data, out.len, bytes, len);
    assert_int_equal(out.len, len);
    assert_memory_equal(out.data, bytes, len);
    al__kw_response d;
    assert_int_equal(al__kw_response_decode(bytes, len, &d, &err), 0);
    assert_true(al__kw_response_equal(&d, value));
    al_buf_reset(&out);
    assert_int_equal(al__kw_response_encode(&d, &out, &err), 0);
    assert_int_equal(out.len, len);
    assert_memory_equal(out.data, bytes, len);
    al__kw_response_free(&d);
    al_buf_free(&out);
}

/* ------------------------------------------------------------ requests */

/* Inc { amount: 10 } in rmp_serde's named form: 81 a6 "amount" 0a. */
static const uint8_t inc_msgpack[] = {0x81, 0xa6, 0x61, 0x6d, 0x6f,
                                      0x75, 0x6e, 0x74, 0x0a};

/* Each payload byte as cbor4ii writes a u8: 0..23 in one byte, else 18 xx.
 * 9 elements: 89. */
#define INC_PAYLOAD                                                            \
    "\x89"                                                                     \
    "\x18\x81\x18\xa6\x18\x61\x18\x6d\x18\x6f\x18\x75\x18\x6e\x18\x74\x0a"

/* actor_id h'01 00 00 00 00 00 00 00' ++ peer id: 46 bytes = 58 2e. */
#define ACTOR_1_WITH_PEER "\x58\x2e\x01\x00\x00\x00\x00\x00\x00\x00" PEER_ID

/* SwarmRequest::Ask { actor_id: #1@peer, actor_remote_id: "remote::MyActor",
 *   message_remote_id: "3b9128f1-...", payload: Inc{amount: 10},
 *   mailbox_timeout: None, reply_timeout: Some(5.25 s), immediate: false } */
static const char ask_cbor[] =
    "\xa1" /* struct variant: map(1) */
    "\x63"
    "Ask"  /* text(3) */
    "\xa7" /* 7 fields, declaration order */
    "\x68"
    "actor_id" ACTOR_1_WITH_PEER "\x6f"
    "actor_remote_id"
    "\x6f"
    "remote::MyActor"
    "\x71"
    "message_remote_id" /* text(17) */
    "\x78\x24"
    "3b9128f1-0593-44a0-b83a-f4188baa05bf" /* text(36) */
    "\x67"
    "payload" INC_PAYLOAD "\x6f"
    "mailbox_timeout"
    "\xf6" /* None */
    "\x6d"
    "reply_timeout"
    "\xa2" /* Duration { secs: 5, nanos: 250000000 } */
    "\x64"
    "secs"
    "\x05"
    "\x65"
    "nanos"
    "\x1a\x0e\xe6\xb2\x80" /* 250000000 = 0x0ee6b280 */
    "\x69"
    "immediate"
    "\xf4";

static al__kw_request ask_value(void)
{
    al__kw_request r;
    memset(&r, 0, sizeof(r));
    r.kind = AL__KW_ASK;
    r.u.send.actor_id = aid(1, true);
    r.u.send.actor_remote_id = S("remote::MyActor");
    r.u.send.message_remote_id = S("3b9128f1-0593-44a0-b83a-f4188baa05bf");
    r.u.send.payload = B(inc_msgpack, sizeof(inc_msgpack));
    r.u.send.reply_timeout.some = true;
    r.u.send.reply_timeout.secs = 5;
    r.u.send.reply_timeout.nanos = 250000000;
    return r;
}

static void request_ask(void **state)
{
    (void)state;
    al__kw_request r = ask_value();
    check_request(&r, LIT(ask_cbor));
}

/* SwarmRequest::Tell: as Ask without reply_timeout (6 fields);
 * mailbox_timeout: Some(1 s) = {"secs": 1, "nanos": 0}, immediate: true. */
static const char tell_cbor[] = "\xa1"
                                "\x64"
                                "Tell"
                                "\xa6"
                                "\x68"
                                "actor_id" ACTOR_1_WITH_PEER "\x6f"
                                "actor_remote_id"
                                "\x6f"
                                "remote::MyActor"
                                "\x71"
                                "message_remote_id"
                                "\x78\x24"
                                "3b9128f1-0593-44a0-b83a-f4188baa05bf"
                                "\x67"
                                "payload" INC_PAYLOAD "\x6f"
                                "mailbox_timeout"
                                "\xa2"
                                "\x64"
                                "secs"
                                "\x01"
                                "\x65"
                                "nanos"
                                "\x00"
                                "\x69"
                                "immediate"
                                "\xf5";

static void request_tell(void **state)
{
    (void)state;
    al__kw_request r = ask_value();
    r.kind = AL__KW_TELL;
    r.u.send.reply_timeout.some = false; /* not on the wire for Tell */
    r.u.send.reply_timeout.secs = 0;
    r.u.send.reply_timeout.nanos = 0;
    r.u.send.mailbox_timeout = al__kw_duration_from_ms(1000);
    r.u.send.immediate = true;
    check_request(&r, LIT(tell_cbor));
}

/* Actor ids without a peer: 8 bytes, 48 <seq LE>. */
#define ACTOR_1 "\x48\x01\x00\x00\x00\x00\x00\x00\x00"
#define ACTOR_2 "\x48\x02\x00\x00\x00\x00\x00\x00\x00"
#define ACTOR_3 "\x48\x03\x00\x00\x00\x00\x00\x00\x00"
#define ACTOR_7 "\x48\x07\x00\x00\x00\x00\x00\x00\x00"

/* SwarmRequest::Link { actor_id: #1, actor_remote_id: "a::A",
 *   sibbling_id: #7, sibbling_remote_id: "b::B" } */
static const char link_cbor[] = "\xa1"
                                "\x64"
                                "Link"
                                "\xa4"
                                "\x68"
                                "actor_id" ACTOR_1 "\x6f"
                                "actor_remote_id"
                                "\x64"
                                "a::A"
                                "\x6b"
                                "sibbling_id" ACTOR_7 "\x72"
                                "sibbling_remote_id" /* text(18) */
                                "\x64"
                                "b::B";

/* SwarmRequest::Unlink: the first three fields of Link. */
static const char unlink_cbor[] = "\xa1"
                                  "\x66"
                                  "Unlink"
                                  "\xa3"
                                  "\x68"
                                  "actor_id" ACTOR_1 "\x6f"
                                  "actor_remote_id"
                                  "\x64"
                                  "a::A"
                                  "\x6b"
                                  "sibbling_id" ACTOR_7;

static void request_link_unlink(void **state)
{
    (void)state;
    al__kw_request r;
    memset(&r, 0, sizeof(r));
    r.kind = AL__KW_LINK;
    r.u.link.actor_id = aid(1, false);
    r.u.link.actor_remote_id = S("a::A");
    r.u.link.sibbling_id = aid(7, false);
    r.u.link.sibbling_remote_id = S("b::B");
    check_request(&r, LIT(link_cbor));
    r.kind = AL__KW_UNLINK;
    r.u.link.sibbling_remote_id = S("");
    check_request(&r, LIT(unlink_cbor));
}

/* SwarmRequest::SignalLinkDied { dead_actor_id: #2, notified_actor_id: #1,
 *   notified_actor_remote_id: "a::A",
 *   stop_reason: LinkDied { id: #3, reason: Panicked("boom") } }
 * LinkDied is a struct variant (map(1) around map(2)); Panicked a newtype
 * variant whose PanicError serializes as its text. */
#define SLD_HEAD                                                               \
    "\xa1"                                                                     \
    "\x6e"                                                                     \
    "SignalLinkDied"                                                           \
    "\xa4"                                                                     \
    "\x6d"                                                                     \
    "dead_actor_id" ACTOR_2 "\x71"                                             \
    "notified_actor_id" ACTOR_1 "\x78\x18"                                     \
    "notified_actor_remote_id" /* text(24) */                                  \
    "\x64"                                                                     \
    "a::A"                                                                     \
    "\x6b"                                                                     \
    "stop_reason"

static const char sld_cbor[] = SLD_HEAD "\xa1"
                                        "\x68"
                                        "LinkDied"
                                        "\xa2"
                                        "\x62"
                                        "id" ACTOR_3 "\x66"
                                        "reason"
                                        "\xa1"
                                        "\x68"
                                        "Panicked"
                                        "\x64"
                                        "boom";

static al__kw_request sld_value(enum al__kw_stop_kind kind)
{
    al__kw_request r;
    memset(&r, 0, sizeof(r));
    r.kind = AL__KW_SIGNAL_LINK_DIED;
    r.u.link_died.dead_actor_id = aid(2, false);
    r.u.link_died.notified_actor_id = aid(1, false);
    r.u.link_died.notified_actor_remote_id = S("a::A");
    r.u.link_died.stop_reason.kind = kind;
    return r;
}

static void request_signal_link_died(void **state)
{
    (void)state;
    al__kw_stop_reason panicked;
    memset(&panicked, 0, sizeof(panicked));
    panicked.kind = AL__KW_STOP_PANICKED;
    panicked.panic = S("boom");
    al__kw_request r = sld_value(AL__KW_STOP_LINK_DIED);
    r.u.link_died.stop_reason.link_id = aid(3, false);
    r.u.link_died.stop_reason.inner = &panicked;
    check_request(&r, LIT(sld_cbor));

    /* Unit variants are bare text: "Normal", "Killed",
     * "PeerDisconnected" (text(16) = 70). */
    r = sld_value(AL__KW_STOP_NORMAL);
    check_request(&r, LIT(SLD_HEAD "\x66"
                                   "Normal"));
    r = sld_value(AL__KW_STOP_KILLED);
    check_request(&r, LIT(SLD_HEAD "\x66"
                                   "Killed"));
    r = sld_value(AL__KW_STOP_PEER_DISCONNECTED);
    check_request(&r, LIT(SLD_HEAD "\x70"
                                   "PeerDisconnected"));
}

/* ------------------------------------------------------------ responses */

static al__kw_response resp(enum al__kw_kind kind, int status)
{
    al__kw_response r;
    memset(&r, 0, sizeof(r));
    r.kind = kind;
    r.status = status;
    return r;
}

/* SwarmResponse::Ask(Ok(vec![0x0b])): newtype variants are map(1);
 * the reply (MessagePack 11) is an array of one u8: 81 0b. */
static void response_ask_ok(void **state)
{
    (void)state;
    static const uint8_t reply[] = {0x0b};
    al__kw_response r = resp(AL__KW_ASK, 0);
    r.data = B(reply, 1);
    check_response(&r, LIT("\xa1"
                           "\x63"
                           "Ask"
                           "\xa1"
                           "\x62"
                           "Ok"
                           "\x81\x0b"));
    /* u8 boundaries: 0 and 23 fit the initial byte, 24 and 255 need 18 xx. */
    static const uint8_t edge[] = {0x00, 0x17, 0x18, 0xff};
    r.data = B(edge, sizeof(edge));
    check_response(&r, LIT("\xa1"
                           "\x63"
                           "Ask"
                           "\xa1"
                           "\x62"
                           "Ok"
                           "\x84\x00\x17\x18\x18\x18\xff"));
    /* An empty reply is an empty array. */
    r.data = B(NULL, 0);
    check_response(&r, LIT("\xa1"
                           "\x63"
                           "Ask"
                           "\xa1"
                           "\x62"
                           "Ok"
                           "\x80"));
}

/* Result<(), _>::Ok(()): cbor4ii writes () as the empty array 80. Tell OK is
 * a16454656c6ca1624f6b80 (kameo.md A4). */
static void response_unit_oks(void **state)
{
    (void)state;
    al__kw_response r = resp(AL__KW_TELL, 0);
    check_response(&r, LIT("\xa1\x64"
                           "Tell"
                           "\xa1\x62"
                           "Ok"
                           "\x80"));
    r = resp(AL__KW_LINK, 0);
    check_response(&r, LIT("\xa1\x64"
                           "Link"
                           "\xa1\x62"
                           "Ok"
                           "\x80"));
    r = resp(AL__KW_UNLINK, 0);
    check_response(&r, LIT("\xa1\x66"
                           "Unlink"
                           "\xa1\x62"
                           "Ok"
                           "\x80"));
    r = resp(AL__KW_SIGNAL_LINK_DIED, 0);
    check_response(&r, LIT("\xa1\x6e"
                           "SignalLinkDied"
                           "\xa1\x62"
                           "Ok"
                           "\x80"));
}

/* {"Ask": {"Err": <error>}} for every RemoteSendError variant. */
#define ASK_ERR                                                                \
    "\xa1\x63"                                                                 \
    "Ask"                                                                      \
    "\xa1\x63"                                                                 \
    "Err"

static void response_every_error(void **state)
{
    (void)state;
    static const uint8_t bad_msgpack[] = {0xa3, 0x62, 0x61, 0x64}; /* "bad" */
    static const struct {
        int status;
        const char *cbor;
        size_t len;
    } cases[] = {
        /* Unit variants: the name as text. */
        {AL_E_ACTOR_NOT_RUNNING, CL(ASK_ERR "\x6f"
                                            "ActorNotRunning")},
        {AL_E_ACTOR_STOPPED, CL(ASK_ERR "\x6c"
                                        "ActorStopped")},
        /* UnknownActor { actor_remote_id: "x::X" }: map(1) around map(1). */
        {AL_E_UNKNOWN_ACTOR, CL(ASK_ERR "\xa1\x6c"
                                        "UnknownActor"
                                        "\xa1\x6f"
                                        "actor_remote_id"
                                        "\x64"
                                        "x::X")},
        /* UnknownMessage { actor_remote_id: "x::X",
         * message_remote_id: "m1" }: map(1) around map(2). */
        {AL_E_UNKNOWN_MESSAGE, CL(ASK_ERR "\xa1\x6e"
                                          "UnknownMessage"
                                          "\xa2\x6f"
                                          "actor_remote_id"
                                          "\x64"
                                          "x::X"
                                          "\x71"
                                          "message_remote_id"
                                          "\x62"
                                          "m1")},
        {AL_E_BAD_ACTOR_TYPE, CL(ASK_ERR "\x6c"
                                         "BadActorType")},
        {AL_E_MAILBOX_FULL, CL(ASK_ERR "\x6b"
                                       "MailboxFull")},
        {AL_E_REPLY_TIMEOUT, CL(ASK_ERR "\x6c"
                                        "ReplyTimeout")},
        /* HandlerError(Vec<u8>): a newtype variant holding an array of
         * u8, here MessagePack "bad" = a3 62 61 64 -> 84 18a3 1862 1861
         * 1864. */
        {AL_E_HANDLER_ERROR,
         CL(ASK_ERR "\xa1\x6c"
                    "HandlerError"
                    "\x84\x18\xa3\x18\x62\x18\x61\x18\x64")},
        /* String newtype variants: map(1) with the text. */
        {AL_E_SERIALIZE_MESSAGE, CL(ASK_ERR "\xa1\x70"
                                            "SerializeMessage"
                                            "\x62"
                                            "e1")},
        {AL_E_DESERIALIZE_MESSAGE, CL(ASK_ERR "\xa1\x72"
                                              "DeserializeMessage"
                                              "\x62"
                                              "e2")},
        {AL_E_SERIALIZE_REPLY, CL(ASK_ERR "\xa1\x6e"
                                          "SerializeReply"
                                          "\x62"
                                          "e3")},
        {AL_E_SERIALIZE_HANDLER_ERROR, CL(ASK_ERR "\xa1\x75"
                                                  "SerializeHandlerError"
                                                  "\x62"
                                                  "e4")},
        {AL_E_DESERIALIZE_HANDLER_ERROR, CL(ASK_ERR "\xa1\x77"
                                                    "DeserializeHandlerError"
                                                    "\x62"
                                                    "e5")},
        {AL_E_SWARM_NOT_BOOTSTRAPPED, CL(ASK_ERR "\x74"
                                                 "SwarmNotBootstrapped")},
        {AL_E_DIAL_FAILURE, CL(ASK_ERR "\x6b"
                                       "DialFailure")},
        {AL_E_NETWORK_TIMEOUT, CL(ASK_ERR "\x6e"
                                          "NetworkTimeout")},
        {AL_E_CONNECTION_CLOSED, CL(ASK_ERR "\x70"
                                            "ConnectionClosed")},
        {AL_E_UNSUPPORTED_PROTOCOLS, CL(ASK_ERR "\x74"
                                                "UnsupportedProtocols")},
    };
    assert_int_equal(sizeof(cases) / sizeof(cases[0]),
                     AL_E_ACTOR_NOT_RUNNING - AL_E_UNSUPPORTED_PROTOCOLS + 1);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        al__kw_response r = resp(AL__KW_ASK, cases[i].status);
        switch (cases[i].status) {
        case AL_E_UNKNOWN_MESSAGE:
            r.message_remote_id = S("m1");
            /* fall through */
        case AL_E_UNKNOWN_ACTOR:
            r.actor_remote_id = S("x::X");
            break;
        case AL_E_HANDLER_ERROR:
            r.data = B(bad_msgpack, sizeof(bad_msgpack));
            break;
        case AL_E_SERIALIZE_MESSAGE:
            r.detail = S("e1");
            break;
        case AL_E_DESERIALIZE_MESSAGE:
            r.detail = S("e2");
            break;
        case AL_E_SERIALIZE_REPLY:
            r.detail = S("e3");
            break;
        case AL_E_SERIALIZE_HANDLER_ERROR:
            r.detail = S("e4");
            break;
        case AL_E_DESERIALIZE_HANDLER_ERROR:
            r.detail = S("e5");
            break;
        default:
            break;
        }
        check_response(&r, (const uint8_t *)cases[i].cbor, cases[i].len);
        /* The names are al_status_name's too. */
        assert_string_equal(al__kw_error_name(cases[i].status),
                            al_status_name(cases[i].status));
        const char *name = al__kw_error_name(cases[i].status);
        assert_int_equal(al__kw_error_from_name(name, strlen(name)),
                         cases[i].status);
    }
    assert_null(al__kw_error_name(AL_EINVAL));
    assert_int_equal(al__kw_error_from_name("Io", 2), 0);
}

/* Errors of the other kinds, and OutboundFailure (a newtype variant holding
 * the error directly). */
static void response_other_errors(void **state)
{
    (void)state;
    al__kw_response r = resp(AL__KW_TELL, AL_E_MAILBOX_FULL);
    check_response(&r, LIT("\xa1\x64"
                           "Tell"
                           "\xa1\x63"
                           "Err"
                           "\x6b"
                           "MailboxFull"));
    r = resp(AL__KW_LINK, AL_E_UNKNOWN_ACTOR);
    r.actor_remote_id = S("x::X");
    check_response(&r, LIT("\xa1\x64"
                           "Link"
                           "\xa1\x63"
                           "Err"
                           "\xa1\x6c"
                           "UnknownActor"
                           "\xa1\x6f"
                           "actor_remote_id"
                           "\x64"
                           "x::X"));
    r = resp(AL__KW_OUTBOUND_FAILURE, AL_E_DIAL_FAILURE);
    check_response(&r, LIT("\xa1\x6f"
                           "OutboundFailure"
                           "\x6b"
                           "DialFailure"));
}

/* ------------------------------------------------------------ leniency */

static int dec_req(const char *cbor, size_t len, al__kw_request *r)
{
    al_error err = {0};
    int rc = al__kw_request_decode((const uint8_t *)cbor, len, r, &err);
    if (rc)
        assert_int_equal(err.code, rc);
    return rc;
}

#define DEC_REQ(lit, r) dec_req(lit, sizeof(lit) - 1, r)

/* Tell with keys that tests vary. A short base: payload [1, 2]. */
#define T_HEAD                                                                 \
    "\xa1\x64"                                                                 \
    "Tell"
#define T_ACTOR                                                                \
    "\x68"                                                                     \
    "actor_id" ACTOR_1
#define T_RID                                                                  \
    "\x6f"                                                                     \
    "actor_remote_id"                                                          \
    "\x64"                                                                     \
    "a::A"
#define T_MID                                                                  \
    "\x71"                                                                     \
    "message_remote_id"                                                        \
    "\x61"                                                                     \
    "m"
#define T_PAY                                                                  \
    "\x67"                                                                     \
    "payload"                                                                  \
    "\x82\x01\x02"
#define T_MBX                                                                  \
    "\x6f"                                                                     \
    "mailbox_timeout"                                                          \
    "\xf6"
#define T_IMM                                                                  \
    "\x69"                                                                     \
    "immediate"                                                                \
    "\xf4"

static void assert_base_tell(const al__kw_request *r)
{
    static const uint8_t pay[] = {1, 2};
    al__kw_request want;
    memset(&want, 0, sizeof(want));
    want.kind = AL__KW_TELL;
    want.u.send.actor_id = aid(1, false);
    want.u.send.actor_remote_id = S("a::A");
    want.u.send.message_remote_id = S("m");
    want.u.send.payload = B(pay, 2);
    assert_true(al__kw_request_equal(r, &want));
}

static void decode_accepts_serde_variations(void **state)
{
    (void)state;
    al__kw_request r;
    /* Keys in any order. */
    assert_int_equal(
        DEC_REQ(T_HEAD "\xa6" T_IMM T_MBX T_PAY T_MID T_RID T_ACTOR, &r), 0);
    assert_base_tell(&r);
    al__kw_request_free(&r);
    /* A missing Option field is None (serde's missing_field). */
    assert_int_equal(DEC_REQ(T_HEAD "\xa5" T_ACTOR T_RID T_MID T_PAY T_IMM, &r),
                     0);
    assert_base_tell(&r);
    al__kw_request_free(&r);
    /* Unknown fields are skipped, whatever they hold: [1, {"a": h''}], a
     * tag, undefined, a float; Tell ignores a reply_timeout. */
    assert_int_equal(DEC_REQ(T_HEAD "\xab" T_ACTOR T_RID T_MID T_PAY T_MBX T_IMM
                                    "\x65"
                                    "extra"
                                    "\x82\x01\xa1\x61"
                                    "a"
                                    "\x40"
                                    "\x61"
                                    "t"
                                    "\xc1\x1a\x00\x00\x00\x01"
                                    "\x61"
                                    "u"
                                    "\xf7"
                                    "\x61"
                                    "f"
                                    "\xfa\x00\x00\x00\x00"
                                    "\x6d"
                                    "reply_timeout"
                                    "\xf6",
                             &r),
                     0);
    assert_base_tell(&r);
    al__kw_request_free(&r);
    /* Indefinite struct map, indefinite text, indefinite payload array,
     * non-shortest integers (18 01) and ActorID length (58 08). */
    assert_int_equal(DEC_REQ(T_HEAD "\xbf"
                                    "\x68"
                                    "actor_id"
                                    "\x58\x08\x01\x00\x00\x00\x00\x00\x00\x00"
                                    "\x6f"
                                    "actor_remote_id"
                                    "\x7f\x62"
                                    "a:"
                                    "\x62"
                                    ":A"
                                    "\xff" T_MID "\x67"
                                    "payload"
                                    "\x9f\x18\x01\x02\xff" T_MBX T_IMM "\xff",
                             &r),
                     0);
    assert_base_tell(&r);
    al__kw_request_free(&r);
    /* undefined (f7) is None too. */
    assert_int_equal(DEC_REQ(T_HEAD "\xa6" T_ACTOR T_RID T_MID T_PAY "\x6f"
                                    "mailbox_timeout"
                                    "\xf7" T_IMM,
                             &r),
                     0);
    assert_base_tell(&r);
    al__kw_request_free(&r);
    /* Leniency beyond cbor4ii: the payload as a byte string. */
    assert_int_equal(DEC_REQ(T_HEAD "\xa6" T_ACTOR T_RID T_MID "\x67"
                                    "payload"
                                    "\x42\x01\x02" T_MBX T_IMM,
                             &r),
                     0);
    assert_base_tell(&r);
    al__kw_request_free(&r);
}

/* Duration: secs may be any uint up to 8 bytes, nanos up to 4; nanos of a
 * second or more carry into secs (Duration::new). */
static void decode_durations(void **state)
{
    (void)state;
    al__kw_request r;
    assert_int_equal(DEC_REQ(T_HEAD "\xa6" T_ACTOR T_RID T_MID T_PAY "\x6f"
                                    "mailbox_timeout"
                                    "\xa2\x64"
                                    "secs"
                                    "\x1b\x00\x00\x00\x00\x00\x00\x00\x01"
                                    "\x65"
                                    "nanos"
                                    "\x1a\x59\x68\x2f\x00" /* 1.5e9 */ T_IMM,
                             &r),
                     0);
    assert_true(r.u.send.mailbox_timeout.some);
    assert_int_equal(r.u.send.mailbox_timeout.secs, 2);
    assert_int_equal(r.u.send.mailbox_timeout.nanos, 500000000);
    assert_int_equal(al__kw_duration_to_ms(r.u.send.mailbox_timeout), 2500);
    al__kw_request_free(&r);
    /* An indefinite map with the fields swapped. */
    assert_int_equal(DEC_REQ(T_HEAD "\xa6" T_ACTOR T_RID T_MID T_PAY "\x6f"
                                    "mailbox_timeout"
                                    "\xbf\x65"
                                    "nanos"
                                    "\x00\x64"
                                    "secs"
                                    "\x07\xff" T_IMM,
                             &r),
                     0);
    assert_int_equal(r.u.send.mailbox_timeout.secs, 7);
    al__kw_request_free(&r);

    /* Refused as serde refuses them. */
    static const struct {
        const char *s;
        size_t len;
    } bad[] = {
        /* nanos as a u64 (1b) */
        {CL("\xa2\x64"
            "secs"
            "\x05\x65"
            "nanos"
            "\x1b\x00\x00\x00\x00\x00\x00\x00\x00")},
        /* secs + nanos/1e9 overflows */
        {CL("\xa2\x64"
            "secs"
            "\x1b\xff\xff\xff\xff\xff\xff\xff\xff\x65"
            "nanos"
            "\x1a\x3b\x9a\xca\x00")},
        /* unknown field */
        {CL("\xa3\x64"
            "secs"
            "\x01\x65"
            "nanos"
            "\x00\x61"
            "x"
            "\x00")},
        /* missing nanos */
        {CL("\xa1\x64"
            "secs"
            "\x01")},
        /* duplicate secs */
        {CL("\xa3\x64"
            "secs"
            "\x01\x65"
            "nanos"
            "\x00\x64"
            "secs"
            "\x01")},
        /* the tuple form */
        {CL("\x82\x01\x00")},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        al_buf in = {0};
        al_buf_append(&in,
                      T_HEAD "\xa6" T_ACTOR T_RID T_MID T_PAY "\x6f"
                             "mailbox_timeout",
                      sizeof(T_HEAD "\xa6" T_ACTOR T_RID T_MID T_PAY "\x6f"
                                    "mailbox_timeout") -
                          1);
        al_buf_append(&in, bad[i].s, bad[i].len);
        al_buf_append(&in, T_IMM, sizeof(T_IMM) - 1);
        assert_int_equal(al__kw_request_decode(in.data, in.len, &r, NULL),
                         AL_EDECODE);
        al_buf_free(&in);
    }
    /* Conversions. */
    al__kw_duration d = al__kw_duration_from_ms(AL_NO_TIMEOUT);
    assert_false(d.some);
    assert_int_equal(al__kw_duration_to_ms(d), AL_NO_TIMEOUT);
    d = al__kw_duration_from_ms(1234);
    assert_true(d.some);
    assert_int_equal(d.secs, 1);
    assert_int_equal(d.nanos, 234000000);
    d.nanos = 1; /* rounds up */
    assert_int_equal(al__kw_duration_to_ms(d), 1001);
    d.secs = UINT64_MAX;
    assert_true(al__kw_duration_to_ms(d) == INT64_MAX);
}

static void decode_rejects_what_serde_rejects(void **state)
{
    (void)state;
    al__kw_request r;
    /* Missing required field. */
    assert_int_equal(DEC_REQ(T_HEAD "\xa5" T_ACTOR T_RID T_MID T_PAY T_MBX, &r),
                     AL_EDECODE);
    /* Duplicate field. */
    assert_int_equal(
        DEC_REQ(T_HEAD "\xa7" T_ACTOR T_RID T_MID T_PAY T_MBX T_IMM T_IMM, &r),
        AL_EDECODE);
    /* A payload element wider than u8 (19 00 01), or negative (20). */
    assert_int_equal(DEC_REQ(T_HEAD "\xa6" T_ACTOR T_RID T_MID "\x67"
                                    "payload"
                                    "\x82\x19\x00\x01\x02" T_MBX T_IMM,
                             &r),
                     AL_EDECODE);
    assert_int_equal(DEC_REQ(T_HEAD "\xa6" T_ACTOR T_RID T_MID "\x67"
                                    "payload"
                                    "\x82\x20\x02" T_MBX T_IMM,
                             &r),
                     AL_EDECODE);
    /* ActorID: indefinite (Kameo borrows it), or shorter than 8 bytes. */
    assert_int_equal(DEC_REQ(T_HEAD "\xa6"
                                    "\x68"
                                    "actor_id"
                                    "\x5f\x48\x01\x00\x00\x00\x00\x00\x00\x00"
                                    "\xff" T_RID T_MID T_PAY T_MBX T_IMM,
                             &r),
                     AL_EDECODE);
    assert_int_equal(
        DEC_REQ(
            T_HEAD
            "\xa6"
            "\x68"
            "actor_id"
            "\x47\x01\x00\x00\x00\x00\x00\x00" T_RID T_MID T_PAY T_MBX T_IMM,
            &r),
        AL_EDECODE);
    /* Text that is not UTF-8; text given as a tagged item. */
    assert_int_equal(DEC_REQ(T_HEAD "\xa6" T_ACTOR "\x6f"
                                    "actor_remote_id"
                                    "\x62\xc3\x28" T_MID T_PAY T_MBX T_IMM,
                             &r),
                     AL_EDECODE);
    assert_int_equal(DEC_REQ(T_HEAD "\xa6" T_ACTOR "\x6f"
                                    "actor_remote_id"
                                    "\xc0\x64"
                                    "a::A" T_MID T_PAY T_MBX T_IMM,
                             &r),
                     AL_EDECODE);
    /* immediate as an integer. */
    assert_int_equal(DEC_REQ(T_HEAD "\xa6" T_ACTOR T_RID T_MID T_PAY T_MBX
                                    "\x69"
                                    "immediate"
                                    "\x00",
                             &r),
                     AL_EDECODE);
    /* The enum wrapper must be exactly a1: not b8 01, not bf, not a2. */
    assert_int_equal(DEC_REQ("\xb8\x01\x64"
                             "Tell"
                             "\xa6" T_ACTOR T_RID T_MID T_PAY T_MBX T_IMM,
                             &r),
                     AL_EDECODE);
    assert_int_equal(DEC_REQ("\xbf\x64"
                             "Tell"
                             "\xa6" T_ACTOR T_RID T_MID T_PAY T_MBX T_IMM
                             "\xff",
                             &r),
                     AL_EDECODE);
    /* A struct variant named as bare text; an unknown variant. */
    assert_int_equal(DEC_REQ("\x64"
                             "Tell",
                             &r),
                     AL_EDECODE);
    assert_int_equal(DEC_REQ("\xa1\x65"
                             "Shout"
                             "\xa0",
                             &r),
                     AL_EDECODE);
    /* A value nested past cbor4ii's depth limit inside an unknown field. */
    al_buf deep = {0};
    const char head[] =
        T_HEAD "\xa7" T_ACTOR T_RID T_MID T_PAY T_MBX T_IMM "\x61"
               "x";
    al_buf_append(&deep, head, sizeof(head) - 1);
    for (int i = 0; i < 300; i++)
        al_buf_append(&deep, "\x81", 1);
    al_buf_append(&deep, "\x00", 1);
    assert_int_equal(al__kw_request_decode(deep.data, deep.len, &r, NULL),
                     AL_EDECODE);
    al_buf_free(&deep);
    /* Simple values other than false/true/null/undefined and floats cannot
     * be skipped (cbor4ii's IgnoredAny). */
    assert_int_equal(DEC_REQ(T_HEAD "\xa7" T_ACTOR T_RID T_MID T_PAY T_MBX T_IMM
                                    "\x61"
                                    "x"
                                    "\xf0",
                             &r),
                     AL_EDECODE);
    /* Stricter than cbor4ii: bytes after the value. */
    assert_int_equal(
        DEC_REQ(T_HEAD "\xa6" T_ACTOR T_RID T_MID T_PAY T_MBX T_IMM "\x00", &r),
        AL_EDECODE);
    /* Every truncation of a valid request fails cleanly. */
    for (size_t n = 0; n < sizeof(ask_cbor) - 1; n++)
        assert_int_equal(
            al__kw_request_decode((const uint8_t *)ask_cbor, n, &r, NULL),
            AL_EDECODE);
}

static al__kw_response dec_resp_ok(const char *cbor, size_t len)
{
    al__kw_response r;
    al_error err = {0};
    assert_int_equal(
        al__kw_response_decode((const uint8_t *)cbor, len, &r, &err), 0);
    return r;
}

static int dec_resp(const char *cbor, size_t len)
{
    al__kw_response r;
    int rc = al__kw_response_decode((const uint8_t *)cbor, len, &r, NULL);
    al__kw_response_free(&r);
    return rc;
}

#define DEC_RESP(lit)    dec_resp(lit, sizeof(lit) - 1)
#define DEC_RESP_OK(lit) dec_resp_ok(lit, sizeof(lit) - 1)

static void decode_response_variations(void **state)
{
    (void)state;
    /* () as serde_cbor's null, leniently. */
    al__kw_response r = DEC_RESP_OK("\xa1\x64"
                                    "Tell"
                                    "\xa1\x62"
                                    "Ok"
                                    "\xf6");
    assert_int_equal(r.kind, AL__KW_TELL);
    assert_int_equal(r.status, 0);
    al__kw_response_free(&r);
    /* Ok bytes as an indefinite array or (leniently) a byte string. */
    r = DEC_RESP_OK("\xa1\x63"
                    "Ask"
                    "\xa1\x62"
                    "Ok"
                    "\x9f\x0b\xff");
    assert_int_equal(r.data.len, 1);
    assert_int_equal(r.data.data[0], 0x0b);
    al__kw_response_free(&r);
    r = DEC_RESP_OK("\xa1\x63"
                    "Ask"
                    "\xa1\x62"
                    "Ok"
                    "\x5f\x41\x0b\x41\x0c\xff");
    assert_int_equal(r.data.len, 2);
    assert_int_equal(r.data.data[1], 0x0c);
    al__kw_response_free(&r);
    /* Tell's error type is RemoteSendError<Vec<u8>> in Kameo 0.14. */
    r = DEC_RESP_OK("\xa1\x64"
                    "Tell"
                    "\xa1\x63"
                    "Err"
                    "\xa1\x6c"
                    "HandlerError"
                    "\x81\x01");
    assert_int_equal(r.status, AL_E_HANDLER_ERROR);
    assert_int_equal(r.data.len, 1);
    al__kw_response_free(&r);
    /* Unknown fields inside an error struct are skipped. */
    r = DEC_RESP_OK("\xa1\x64"
                    "Tell"
                    "\xa1\x63"
                    "Err"
                    "\xa1\x6c"
                    "UnknownActor"
                    "\xa2\x61"
                    "x"
                    "\x01\x6f"
                    "actor_remote_id"
                    "\x61"
                    "r");
    assert_int_equal(r.status, AL_E_UNKNOWN_ACTOR);
    assert_string_equal(r.actor_remote_id.data, "r");
    al__kw_response_free(&r);

    /* HandlerError where the error type is Infallible. */
    assert_int_equal(DEC_RESP("\xa1\x64"
                              "Link"
                              "\xa1\x63"
                              "Err"
                              "\xa1\x6c"
                              "HandlerError"
                              "\x80"),
                     AL_EDECODE);
    assert_int_equal(DEC_RESP("\xa1\x6f"
                              "OutboundFailure"
                              "\xa1\x6c"
                              "HandlerError"
                              "\x80"),
                     AL_EDECODE);
    /* A unit variant in map form; a struct variant as bare text; the
     * skipped Io variant; a missing field; Ok without a value. */
    assert_int_equal(DEC_RESP("\xa1\x64"
                              "Tell"
                              "\xa1\x63"
                              "Err"
                              "\xa1\x6b"
                              "MailboxFull"
                              "\x80"),
                     AL_EDECODE);
    assert_int_equal(DEC_RESP("\xa1\x64"
                              "Tell"
                              "\xa1\x63"
                              "Err"
                              "\x6c"
                              "UnknownActor"),
                     AL_EDECODE);
    assert_int_equal(DEC_RESP("\xa1\x64"
                              "Tell"
                              "\xa1\x63"
                              "Err"
                              "\x62"
                              "Io"),
                     AL_EDECODE);
    assert_int_equal(DEC_RESP("\xa1\x64"
                              "Tell"
                              "\xa1\x63"
                              "Err"
                              "\xa1\x6c"
                              "UnknownActor"
                              "\xa0"),
                     AL_EDECODE);
    assert_int_equal(DEC_RESP("\xa1\x64"
                              "Tell"
                              "\x62"
                              "Ok"),
                     AL_EDECODE);
    /* () must be empty. */
    assert_int_equal(DEC_RESP("\xa1\x64"
                              "Tell"
                              "\xa1\x62"
                              "Ok"
                              "\x81\x00"),
                     AL_EDECODE);
    /* A request is not a response. */
    assert_int_equal(dec_resp(link_cbor, sizeof(link_cbor) - 1), AL_EDECODE);
}

/* LinkDied chains are bounded (cbor4ii's depth limit allows ~125). */
static void stop_reason_depth(void **state)
{
    (void)state;
    for (int depth = AL__KW_STOP_DEPTH_MAX - 1; depth <= AL__KW_STOP_DEPTH_MAX;
         depth++) {
        al_buf in = {0};
        al_buf_append(&in, SLD_HEAD, sizeof(SLD_HEAD) - 1);
        const char link[] = "\xa1\x68"
                            "LinkDied"
                            "\xa2\x62"
                            "id" ACTOR_3 "\x66"
                            "reason";
        for (int i = 0; i < depth; i++)
            al_buf_append(&in, link, sizeof(link) - 1);
        al_buf_append(&in, "\x66Killed", 7);
        al__kw_request r;
        int rc = al__kw_request_decode(in.data, in.len, &r, NULL);
        if (depth < AL__KW_STOP_DEPTH_MAX) {
            assert_int_equal(rc, 0);
            int n = 0;
            const al__kw_stop_reason *s = &r.u.link_died.stop_reason;
            while (s->kind == AL__KW_STOP_LINK_DIED) {
                n++;
                s = s->inner;
            }
            assert_int_equal(n, depth);
            assert_int_equal(s->kind, AL__KW_STOP_KILLED);
            al_buf out = {0};
            assert_int_equal(al__kw_request_encode(&r, &out, NULL), 0);
            assert_int_equal(out.len, in.len);
            assert_memory_equal(out.data, in.data, in.len);
            al_buf_free(&out);
            al__kw_request_free(&r);
        } else {
            assert_int_equal(rc, AL_EDECODE);
        }
        al_buf_free(&in);
    }
}

/* A request near the 1 MiB cap with a payload of a million elements: the
 * payload costs one byte per element, and a declared length larger than
 * the input is refused before anything is allocated. */
static void large_and_lying_inputs(void **state)
{
    (void)state;
    const size_t n = 1000000;
    uint8_t *pay = malloc(n);
    assert_non_null(pay);
    for (size_t i = 0; i < n; i++)
        pay[i] = (uint8_t)(i % 24);
    al__kw_request r = ask_value();
    r.u.send.payload = B(pay, n);
    al_buf out = {0};
    assert_int_equal(al__kw_request_encode(&r, &out, NULL), 0);
    assert_true(out.len <= AL__KW_REQUEST_MAX);
    al__kw_request d;
    assert_int_equal(al__kw_request_decode(out.data, out.len, &d, NULL), 0);
    assert_int_equal(d.u.send.payload.len, n);
    assert_memory_equal(d.u.send.payload.data, pay, n);
    al__kw_request_free(&d);

    /* Over the cap. */
    uint8_t *big = calloc(1, AL__KW_REQUEST_MAX + 1);
    assert_non_null(big);
    assert_int_equal(
        al__kw_request_decode(big, AL__KW_REQUEST_MAX + 1, &d, NULL),
        AL_ELIMIT);
    free(big);

    /* An array that claims 2^32 - 1 elements, and a string that claims
     * 2^64 - 1 bytes. */
    assert_int_equal(DEC_REQ(T_HEAD "\xa6" T_ACTOR T_RID T_MID "\x67"
                                    "payload"
                                    "\x9a\xff\xff\xff\xff\x01",
                             &d),
                     AL_EDECODE);
    assert_int_equal(DEC_REQ(T_HEAD "\xa6" T_ACTOR "\x6f"
                                    "actor_remote_id"
                                    "\x7b\xff\xff\xff\xff\xff\xff\xff\xff"
                                    "a",
                             &d),
                     AL_EDECODE);
    /* A map that claims 2^64 - 1 entries. */
    assert_int_equal(DEC_REQ(T_HEAD "\xbb\xff\xff\xff\xff\xff\xff\xff\xff"
                                    "\x61"
                                    "x"
                                    "\x00",
                             &d),
                     AL_EDECODE);
    al_buf_free(&out);
    free(pay);
}

static bool inside(const void *p, const al__kw_scratch *sc)
{
    const uint8_t *b = p;
    return b >= sc->bytes && b < sc->bytes + sizeof(sc->bytes);
}

/* Decoding into a caller's scratch area: a typical Ask, its response and a
 * LinkDied chain take nothing from the heap; what does not fit goes to
 * heap blocks the struct owns; a decoded struct may be copied. */
static void decode_into_scratch(void **state)
{
    (void)state;
    al__kw_scratch sc;
    al__kw_request d;
    al__kw_request want = ask_value();
    assert_int_equal(al__kw_request_decode_in(LIT(ask_cbor), &d, &sc, NULL), 0);
    assert_null(d.blks);
    assert_true(inside(d.u.send.actor_remote_id.data, &sc));
    assert_true(inside(d.u.send.message_remote_id.data, &sc));
    assert_true(inside(d.u.send.payload.data, &sc));
    assert_int_equal(d.u.send.actor_remote_id.data[15], '\0');
    al__kw_request copy = d;
    assert_true(al__kw_request_equal(&copy, &want));
    al__kw_request_free(&d);

    al__kw_stop_reason panicked;
    memset(&panicked, 0, sizeof(panicked));
    panicked.kind = AL__KW_STOP_PANICKED;
    panicked.panic = S("boom");
    want = sld_value(AL__KW_STOP_LINK_DIED);
    want.u.link_died.stop_reason.link_id = aid(3, false);
    want.u.link_died.stop_reason.inner = &panicked;
    assert_int_equal(al__kw_request_decode_in(LIT(sld_cbor), &d, &sc, NULL), 0);
    assert_null(d.blks);
    assert_true(inside(d.u.link_died.stop_reason.inner, &sc));
    assert_true(al__kw_request_equal(&d, &want));
    al__kw_request_free(&d);

    al__kw_response r;
    assert_int_equal(al__kw_response_decode_in(LIT("\xa1\x63"
                                                   "Ask"
                                                   "\xa1\x62"
                                                   "Ok"
                                                   "\x82\x0b\x18\xff"),
                                               &r, &sc, NULL),
                     0);
    assert_null(r.blks);
    assert_int_equal(r.data.len, 2);
    assert_int_equal(r.data.data[1], 0xff);
    assert_true(inside(r.data.data, &sc));
    al__kw_response_free(&r);

    /* A payload larger than the scratch area: on the heap, the strings
     * still in the scratch area. */
    uint8_t big[3 * AL__KW_SCRATCH];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)i;
    want = ask_value();
    want.u.send.payload = B(big, sizeof(big));
    al_buf in = {0};
    assert_int_equal(al__kw_request_encode(&want, &in, NULL), 0);
    assert_int_equal(al__kw_request_decode_in(in.data, in.len, &d, &sc, NULL),
                     0);
    assert_non_null(d.blks);
    assert_false(inside(d.u.send.payload.data, &sc));
    assert_true(inside(d.u.send.message_remote_id.data, &sc));
    assert_true(al__kw_request_equal(&d, &want));
    al__kw_request_free(&d);
    assert_null(d.blks);

    /* Without a scratch area everything is on the heap. */
    assert_int_equal(al__kw_request_decode_in(LIT(ask_cbor), &d, NULL, NULL),
                     0);
    assert_non_null(d.blks);
    want = ask_value();
    assert_true(al__kw_request_equal(&d, &want));
    al__kw_request_free(&d);
    al_buf_free(&in);
}

static void encode_refuses_what_rust_cannot_read(void **state)
{
    (void)state;
    al_buf out = {0};
    al_error err = {0};
    al_buf_append(&out, "keep", 4);
    al__kw_request r = ask_value();
    r.u.send.actor_remote_id = S("\xc3\x28");
    assert_int_equal(al__kw_request_encode(&r, &out, &err), AL_EINVAL);
    assert_int_equal(err.code, AL_EINVAL);
    assert_int_equal(out.len, 4); /* untouched on failure */
    r = ask_value();
    r.u.send.mailbox_timeout.some = true;
    r.u.send.mailbox_timeout.nanos = 1000000000;
    assert_int_equal(al__kw_request_encode(&r, &out, NULL), AL_EINVAL);
    r = ask_value();
    r.u.send.actor_id.peer.len = AL_PEER_ID_MAX + 1;
    assert_int_equal(al__kw_request_encode(&r, &out, NULL), AL_EINVAL);
    r = ask_value();
    r.kind = AL__KW_OUTBOUND_FAILURE;
    assert_int_equal(al__kw_request_encode(&r, &out, NULL), AL_EINVAL);
    r = sld_value(AL__KW_STOP_LINK_DIED); /* without inner */
    assert_int_equal(al__kw_request_encode(&r, &out, NULL), AL_EINVAL);

    al__kw_response p = resp(AL__KW_LINK, AL_E_HANDLER_ERROR);
    assert_int_equal(al__kw_response_encode(&p, &out, NULL), AL_EINVAL);
    p = resp(AL__KW_ASK, AL_EINVAL);
    assert_int_equal(al__kw_response_encode(&p, &out, NULL), AL_EINVAL);
    p = resp(AL__KW_OUTBOUND_FAILURE, 0);
    assert_int_equal(al__kw_response_encode(&p, &out, NULL), AL_EINVAL);
    p = resp(AL__KW_ASK, AL_E_SERIALIZE_REPLY);
    p.detail = S("\xff");
    assert_int_equal(al__kw_response_encode(&p, &out, NULL), AL_EINVAL);
    assert_int_equal(out.len, 4);
    al_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(request_ask),
        cmocka_unit_test(request_tell),
        cmocka_unit_test(request_link_unlink),
        cmocka_unit_test(request_signal_link_died),
        cmocka_unit_test(response_ask_ok),
        cmocka_unit_test(response_unit_oks),
        cmocka_unit_test(response_every_error),
        cmocka_unit_test(response_other_errors),
        cmocka_unit_test(decode_accepts_serde_variations),
        cmocka_unit_test(decode_durations),
        cmocka_unit_test(decode_rejects_what_serde_rejects),
        cmocka_unit_test(decode_response_variations),
        cmocka_unit_test(stop_reason_depth),
        cmocka_unit_test(large_and_lying_inputs),
        cmocka_unit_test(encode_refuses_what_rust_cannot_read),
        cmocka_unit_test(decode_into_scratch),
    };
    return cmocka_run_group_tests_name("kameo_wire", tests, NULL, NULL);
}
