/* kadmsg.c: framed kad Messages, limits, validation. Byte vectors are
 * derived by hand from the protobuf encoding of kad.proto (tag = field
 * number << 3 | wire type: 08 = type varint, 12 = key bytes, 1a = record,
 * 42 = closerPeers, 4a = providerPeers; inside Peer 0a = id, 12 = addrs,
 * 18 = connection; inside Record 0a = key, 12 = value). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "actorlib.h"
#include "kadmsg.h"
#include "varint.h"

/* The libp2p peer-ids spec's Ed25519 key as a peer id (38 bytes). */
#define PEER_ID                                                                \
    "\x00\x24\x08\x01\x12\x20\x1e\xd1\xe8\xfa\xe2\xc4\xa1\x44\xb8\xbe\x8f\xd4" \
    "\xb4\x7b\xf3\xd3\xb3\x4b\x87\x1c\x3c\xac\xf6\x01\x0f\x0e\x42\xd4\x74\xfc" \
    "\xe2\x7e"
/* /ip4/127.0.0.1/udp/4001/quic-v1 (libp2p.md A3, checked with js). */
#define ADDR "\x04\x7f\x00\x00\x01\x91\x02\x0f\xa1\xcd\x03"

#define LIT(s) (const uint8_t *)(s), sizeof(s) - 1

static void check_encodes_to(const Kad__Message *m, const uint8_t *want,
                             size_t len)
{
    al_buf out = {0};
    assert_int_equal(al__kadmsg_encode(m, AL__KAD_MAX_PACKET, &out, NULL), 0);
    assert_int_equal(out.len, len);
    assert_memory_equal(out.data, want, len);
    al_buf_free(&out);
}

static Kad__Message *decode_all(const uint8_t *in, size_t len)
{
    Kad__Message *m = NULL;
    al_error err = {0};
    int n = al__kadmsg_decode(in, len, AL__KAD_MAX_PACKET, &m, &err);
    assert_int_equal(n, (int)len);
    assert_non_null(m);
    return m;
}

/* FIND_NODE for a peer id: 08 04 (type 4), 12 26 <38 bytes>; body 42
 * bytes, prefix 2a. */
static const char find_node[] = "\x2a\x08\x04\x12\x26" PEER_ID;

static void find_node_request(void **state)
{
    (void)state;
    Kad__Message m = KAD__MESSAGE__INIT;
    m.type = KAD__MESSAGE__MESSAGE_TYPE__FIND_NODE;
    m.key.data = (uint8_t *)PEER_ID;
    m.key.len = 38;
    check_encodes_to(&m, LIT(find_node));
    Kad__Message *d = decode_all(LIT(find_node));
    assert_int_equal(d->type, KAD__MESSAGE__MESSAGE_TYPE__FIND_NODE);
    assert_int_equal(d->key.len, 38);
    assert_memory_equal(d->key.data, PEER_ID, 38);
    assert_null(d->record);
    assert_int_equal(d->n_closerpeers, 0);
    al__kadmsg_free(d);
}

/* GET_VALUE "my_actor": 08 01, 12 08 "my_actor"; body 12 = 0c. */
static const char get_value[] = "\x0c\x08\x01\x12\x08"
                                "my_actor";

/* PUT_VALUE (type 0 is proto3's default: not written) with the record
 * {key "my_actor", value 01 02}: 12 08 "my_actor", 1a 0e (0a 08 "my_actor"
 * 12 02 01 02); body 26 = 1a. */
static const char put_value[] = "\x1a\x12\x08"
                                "my_actor"
                                "\x1a\x0e\x0a\x08"
                                "my_actor"
                                "\x12\x02\x01\x02";

static void get_and_put_value(void **state)
{
    (void)state;
    Kad__Message m = KAD__MESSAGE__INIT;
    m.type = KAD__MESSAGE__MESSAGE_TYPE__GET_VALUE;
    m.key.data = (uint8_t *)"my_actor";
    m.key.len = 8;
    check_encodes_to(&m, LIT(get_value));

    Kad__Record r = KAD__RECORD__INIT;
    r.key = m.key;
    r.value.data = (uint8_t *)"\x01\x02";
    r.value.len = 2;
    m.type = KAD__MESSAGE__MESSAGE_TYPE__PUT_VALUE;
    m.record = &r;
    check_encodes_to(&m, LIT(put_value));

    Kad__Message *d = decode_all(LIT(put_value));
    assert_int_equal(d->type, KAD__MESSAGE__MESSAGE_TYPE__PUT_VALUE);
    assert_non_null(d->record);
    assert_int_equal(d->record->key.len, 8);
    assert_memory_equal(d->record->value.data, "\x01\x02", 2);
    al__kadmsg_free(d);
}

/* A FIND_NODE answer with one closer peer: 08 04, 42 37 (0a 26 <peer id>,
 * 12 0b <addr>, 18 01 CONNECTED); peer 55 bytes, body 59 = 3b. */
static const char closer[] =
    "\x3b\x08\x04\x42\x37\x0a\x26" PEER_ID "\x12\x0b" ADDR "\x18\x01";

static void closer_peers(void **state)
{
    (void)state;
    Kad__Message__Peer p = KAD__MESSAGE__PEER__INIT;
    ProtobufCBinaryData addr = {11, (uint8_t *)ADDR};
    p.id.data = (uint8_t *)PEER_ID;
    p.id.len = 38;
    p.n_addrs = 1;
    p.addrs = &addr;
    p.connection = KAD__MESSAGE__CONNECTION_TYPE__CONNECTED;
    Kad__Message__Peer *peers[] = {&p};
    Kad__Message m = KAD__MESSAGE__INIT;
    m.type = KAD__MESSAGE__MESSAGE_TYPE__FIND_NODE;
    m.n_closerpeers = 1;
    m.closerpeers = peers;
    check_encodes_to(&m, LIT(closer));
    Kad__Message *d = decode_all(LIT(closer));
    assert_int_equal(d->n_closerpeers, 1);
    assert_int_equal(d->closerpeers[0]->n_addrs, 1);
    assert_memory_equal(d->closerpeers[0]->addrs[0].data, ADDR, 11);
    assert_int_equal(d->closerpeers[0]->connection,
                     KAD__MESSAGE__CONNECTION_TYPE__CONNECTED);
    al__kadmsg_free(d);
}

/* rust-libp2p's record extensions: publisher = field 666 (tag
 * 666 << 3 | 2 = 5330 = d2 29), ttl = field 777 (6216 = c8 30), ttl 3600 =
 * 90 1c. GET_VALUE answer: 08 01, 1a 33 (0a 01 "k" = 3 bytes, 12 01 "v"
 * = 3, d2 29 26 <peer id> = 41, c8 30 90 1c = 4); record 51 bytes, body
 * 55 = 37. */
static const char rust_record[] = "\x37\x08\x01\x1a\x33\x0a\x01"
                                  "k"
                                  "\x12\x01"
                                  "v"
                                  "\xd2\x29\x26" PEER_ID "\xc8\x30\x90\x1c";

static void rust_record_extensions(void **state)
{
    (void)state;
    Kad__Message *d = decode_all(LIT(rust_record));
    assert_non_null(d->record);
    assert_int_equal(d->record->ttl, 3600);
    assert_int_equal(d->record->publisher.len, 38);
    assert_memory_equal(d->record->value.data, "v", 1);
    al_buf out = {0};
    assert_int_equal(al__kadmsg_encode(d, AL__KAD_MAX_PACKET, &out, NULL), 0);
    assert_int_equal(out.len, sizeof(rust_record) - 1);
    assert_memory_equal(out.data, rust_record, out.len);
    al_buf_free(&out);
    al__kadmsg_free(d);
}

static void framing_needs_more_and_leaves_the_rest(void **state)
{
    (void)state;
    Kad__Message *m = NULL;
    /* Every strict prefix asks for more. */
    for (size_t n = 0; n < sizeof(closer) - 1; n++) {
        assert_int_equal(al__kadmsg_decode((const uint8_t *)closer, n,
                                           AL__KAD_MAX_PACKET, &m, NULL),
                         0);
        assert_null(m);
    }
    /* Two messages back to back: one at a time. */
    al_buf two = {0};
    al_buf_append(&two, get_value, sizeof(get_value) - 1);
    al_buf_append(&two, find_node, sizeof(find_node) - 1);
    int n = al__kadmsg_decode(two.data, two.len, AL__KAD_MAX_PACKET, &m, NULL);
    assert_int_equal(n, sizeof(get_value) - 1);
    assert_int_equal(m->type, KAD__MESSAGE__MESSAGE_TYPE__GET_VALUE);
    al__kadmsg_free(m);
    int n2 = al__kadmsg_decode(two.data + n, two.len - (size_t)n,
                               AL__KAD_MAX_PACKET, &m, NULL);
    assert_int_equal(n2, sizeof(find_node) - 1);
    assert_int_equal(m->type, KAD__MESSAGE__MESSAGE_TYPE__FIND_NODE);
    al__kadmsg_free(m);
    al_buf_free(&two);
    al__kadmsg_free(NULL);
}

static void size_limits(void **state)
{
    (void)state;
    Kad__Message *m = NULL;
    al_error err = {0};
    /* A prefix announcing 16 KiB + 1 fails before the body arrives:
     * 16385 = 81 80 01. */
    assert_int_equal(
        al__kadmsg_decode(LIT("\x81\x80\x01"), AL__KAD_MAX_PACKET, &m, &err),
        AL_ELIMIT);
    assert_int_equal(err.code, AL_ELIMIT);
    /* Exactly 16 KiB (80 80 01) is fine: it needs more input. */
    assert_int_equal(
        al__kadmsg_decode(LIT("\x80\x80\x01"), AL__KAD_MAX_PACKET, &m, NULL),
        0);
    /* The limit is a parameter. */
    assert_int_equal(al__kadmsg_decode(LIT(find_node), 41, &m, NULL),
                     AL_ELIMIT);
    assert_int_equal(al__kadmsg_decode(LIT(find_node), 42, &m, NULL),
                     (int)sizeof(find_node) - 1);
    al__kadmsg_free(m);
    /* Encoding refuses what the peer would refuse. */
    Kad__Message big = KAD__MESSAGE__INIT;
    big.type = KAD__MESSAGE__MESSAGE_TYPE__GET_VALUE;
    big.key.data = (uint8_t *)PEER_ID;
    big.key.len = 38;
    al_buf out = {0};
    assert_int_equal(al__kadmsg_encode(&big, 41, &out, NULL), AL_ELIMIT);
    assert_int_equal(out.len, 0);
    al_buf_free(&out);
    /* Absurd limits are refused. */
    assert_int_equal(
        al__kadmsg_decode(LIT(find_node), AL__PB_FRAME_MAX + 1, &m, NULL),
        AL_EINVAL);
}

static void malformed_input(void **state)
{
    (void)state;
    Kad__Message *m = NULL;
    /* Non-minimal length prefix. */
    assert_int_equal(
        al__kadmsg_decode(LIT("\x80\x00"), AL__KAD_MAX_PACKET, &m, NULL),
        AL_EDECODE);
    /* Field 1 with wire type 7 (invalid). */
    assert_int_equal(
        al__kadmsg_decode(LIT("\x02\x0f\x00"), AL__KAD_MAX_PACKET, &m, NULL),
        AL_EDECODE);
    /* A key whose length runs past the body. */
    assert_int_equal(al__kadmsg_decode(LIT("\x04\x12\x05"
                                           "ab"),
                                       AL__KAD_MAX_PACKET, &m, NULL),
                     AL_EDECODE);
    /* A record that is not a valid sub-message. */
    assert_int_equal(al__kadmsg_decode(LIT("\x04\x1a\x02\xff\xff"),
                                       AL__KAD_MAX_PACKET, &m, NULL),
                     AL_EDECODE);
    /* Field number 0, which protobuf-c would take when its tag is written
     * in two bytes (81 00: wire type 1, eight bytes follow), at the top
     * and inside a closer peer (42 0a 81 00 <8 bytes>). */
    assert_int_equal(al__kadmsg_decode(LIT("\x0c\x08\x01\x81\x00"
                                           "\0\0\0\0\0\0\0\0"),
                                       AL__KAD_MAX_PACKET, &m, NULL),
                     AL_EDECODE);
    assert_int_equal(al__kadmsg_decode(LIT("\x0e\x08\x04\x42\x0a\x81\x00"
                                           "\0\0\0\0\0\0\0\0"),
                                       AL__KAD_MAX_PACKET, &m, NULL),
                     AL_EDECODE);
    assert_null(m);
    /* Unknown fields with valid numbers are kept (and packed back). */
    assert_int_equal(al__kadmsg_decode(LIT("\x04\x08\x01\x78\x05"),
                                       AL__KAD_MAX_PACKET, &m, NULL),
                     5);
    al_buf out = {0};
    assert_int_equal(al__kadmsg_encode(m, AL__KAD_MAX_PACKET, &out, NULL), 0);
    assert_int_equal(out.len, 5);
    assert_memory_equal(out.data, "\x04\x08\x01\x78\x05", 5);
    al_buf_free(&out);
    al__kadmsg_free(m);
}

static int decode_rc(const al_buf *b)
{
    Kad__Message *m = NULL;
    int rc = al__kadmsg_decode(b->data, b->len, AL__KAD_MAX_PACKET, &m, NULL);
    al__kadmsg_free(m);
    return rc;
}

static void validation(void **state)
{
    (void)state;
    al_buf b = {0};
    /* Unknown message type 7: 08 07. */
    al_buf_append(&b, "\x02\x08\x07", 3);
    assert_int_equal(decode_rc(&b), AL_EDECODE);

    /* Build messages with protobuf-c and check each bound. */
    Kad__Message m = KAD__MESSAGE__INIT;
    m.type = KAD__MESSAGE__MESSAGE_TYPE__GET_VALUE;
    static uint8_t key[AL__KAD_KEY_MAX + 1];
    m.key.data = key;
    m.key.len = AL__KAD_KEY_MAX;
    al_buf_reset(&b);
    assert_int_equal(al__kadmsg_encode(&m, AL__KAD_MAX_PACKET, &b, NULL), 0);
    assert_true(decode_rc(&b) > 0);
    m.key.len = AL__KAD_KEY_MAX + 1;
    al_buf_reset(&b);
    assert_int_equal(al__kadmsg_encode(&m, AL__KAD_MAX_PACKET, &b, NULL), 0);
    assert_int_equal(decode_rc(&b), AL_EDECODE);
    assert_int_equal(al__kadmsg_validate(&m, NULL), AL_EDECODE);
    m.key.len = 1;

    /* Peer ids: empty and 65 bytes are refused. */
    static uint8_t idbuf[AL_PEER_ID_MAX + 1];
    Kad__Message__Peer p = KAD__MESSAGE__PEER__INIT;
    Kad__Message__Peer *peers[AL__KAD_PEERS_MAX + 1];
    for (size_t i = 0; i <= AL__KAD_PEERS_MAX; i++)
        peers[i] = &p;
    m.closerpeers = peers;
    m.n_closerpeers = 1;
    p.id.data = idbuf;
    p.id.len = 0;
    assert_int_equal(al__kadmsg_validate(&m, NULL), AL_EDECODE);
    p.id.len = AL_PEER_ID_MAX + 1;
    assert_int_equal(al__kadmsg_validate(&m, NULL), AL_EDECODE);
    p.id.len = AL_PEER_ID_MAX;
    assert_int_equal(al__kadmsg_validate(&m, NULL), 0);
    /* Too many peers, in either list. */
    m.n_closerpeers = AL__KAD_PEERS_MAX + 1;
    assert_int_equal(al__kadmsg_validate(&m, NULL), AL_EDECODE);
    m.n_closerpeers = 0;
    m.providerpeers = peers;
    m.n_providerpeers = AL__KAD_PEERS_MAX + 1;
    assert_int_equal(al__kadmsg_validate(&m, NULL), AL_EDECODE);
    m.n_providerpeers = AL__KAD_PEERS_MAX;
    assert_int_equal(al__kadmsg_validate(&m, NULL), 0);
    /* Addresses: empty, too long, too many. */
    ProtobufCBinaryData addrs[AL__KAD_ADDRS_MAX + 1];
    static uint8_t abuf[AL__KAD_ADDR_MAX + 1];
    for (size_t i = 0; i <= AL__KAD_ADDRS_MAX; i++) {
        addrs[i].data = abuf;
        addrs[i].len = 11;
    }
    p.addrs = addrs;
    p.n_addrs = AL__KAD_ADDRS_MAX;
    assert_int_equal(al__kadmsg_validate(&m, NULL), 0);
    p.n_addrs = AL__KAD_ADDRS_MAX + 1;
    assert_int_equal(al__kadmsg_validate(&m, NULL), AL_EDECODE);
    p.n_addrs = 1;
    addrs[0].len = 0;
    assert_int_equal(al__kadmsg_validate(&m, NULL), AL_EDECODE);
    addrs[0].len = AL__KAD_ADDR_MAX + 1;
    assert_int_equal(al__kadmsg_validate(&m, NULL), AL_EDECODE);
    addrs[0].len = AL__KAD_ADDR_MAX;
    assert_int_equal(al__kadmsg_validate(&m, NULL), 0);
    /* Unknown connection types pass (open proto3 enum). */
    p.connection = (Kad__Message__ConnectionType)9;
    assert_int_equal(al__kadmsg_validate(&m, NULL), 0);
    /* Record bounds. */
    Kad__Record r = KAD__RECORD__INIT;
    m.record = &r;
    r.key.data = key;
    r.key.len = AL__KAD_KEY_MAX + 1;
    assert_int_equal(al__kadmsg_validate(&m, NULL), AL_EDECODE);
    r.key.len = 1;
    r.publisher.data = idbuf;
    r.publisher.len = AL_PEER_ID_MAX + 1;
    assert_int_equal(al__kadmsg_validate(&m, NULL), AL_EDECODE);
    r.publisher.len = 38;
    r.timereceived = "2025-01-01T00:00:00Z";
    assert_int_equal(al__kadmsg_validate(&m, NULL), 0);
    uint8_t *value = calloc(1, AL__KAD_VALUE_MAX + 1);
    assert_non_null(value);
    r.value.data = value;
    r.value.len = AL__KAD_VALUE_MAX + 1;
    assert_int_equal(al__kadmsg_validate(&m, NULL), AL_EDECODE);
    free(value);
    al_buf_free(&b);
}

/* 16 KiB of empty closer peers (42 00 each) is decoded within the
 * allocation budget and then refused for its count. */
static void many_empty_peers(void **state)
{
    (void)state;
    al_buf b = {0};
    size_t body = AL__KAD_MAX_PACKET - 4;
    uint8_t pre[AL__UVARINT_MAX];
    al_buf_append(&b, pre, al__uvarint_encode(body, pre));
    for (size_t i = 0; i < body / 2; i++)
        al_buf_append(&b, "\x42\x00", 2);
    Kad__Message *m = NULL;
    assert_int_equal(
        al__kadmsg_decode(b.data, b.len, AL__KAD_MAX_PACKET, &m, NULL),
        AL_EDECODE);
    assert_null(m);
    al_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(find_node_request),
        cmocka_unit_test(get_and_put_value),
        cmocka_unit_test(closer_peers),
        cmocka_unit_test(rust_record_extensions),
        cmocka_unit_test(framing_needs_more_and_leaves_the_rest),
        cmocka_unit_test(size_limits),
        cmocka_unit_test(malformed_input),
        cmocka_unit_test(validation),
        cmocka_unit_test(many_empty_peers),
    };
    return cmocka_run_group_tests_name("kadmsg", tests, NULL, NULL);
}
