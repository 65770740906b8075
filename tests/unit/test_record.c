/* record.c: Kameo's ActorRegistration value layout, bounds, UTF-8. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "actorlib.h"
#include "record.h"

/* Peer id of the libp2p peer-ids spec's Ed25519 test key: the identity
 * multihash (00, length 0x24) of the PublicKey protobuf
 * 08 01 12 20 1ed1e8fa...74fce27e. */
static const uint8_t peer[38] = {0x00, 0x24, 0x08, 0x01, 0x12, 0x20, 0x1e, 0xd1,
                                 0xe8, 0xfa, 0xe2, 0xc4, 0xa1, 0x44, 0xb8, 0xbe,
                                 0x8f, 0xd4, 0xb4, 0x7b, 0xf3, 0xd3, 0xb3, 0x4b,
                                 0x87, 0x1c, 0x3c, 0xac, 0xf6, 0x01, 0x0f, 0x0e,
                                 0x42, 0xd4, 0x74, 0xfc, 0xe2, 0x7e};

static al_actor_id example_id(void)
{
    al_actor_id id;
    memset(&id, 0, sizeof(id));
    id.seq = 0x0102030405060708ULL;
    id.peer.len = sizeof(peer);
    memcpy(id.peer.bytes, peer, sizeof(peer));
    return id;
}

/* Kameo's ActorRegistration::into_bytes for actor #0x0102030405060708 of
 * type "remote::MyActor": 26 (peer id length 38), the sequence id little
 * endian, the 38 peer id bytes, then the remote id with no terminator. */
static void encodes_kameo_layout(void **state)
{
    (void)state;
    al_actor_id id = example_id();
    al_buf b = {0};
    assert_int_equal(al__record_encode(&id, "remote::MyActor", 15, &b, NULL),
                     0);
    assert_int_equal(b.len, 1 + 8 + 38 + 15);
    assert_int_equal(b.data[0], 0x26);
    const uint8_t seq_le[8] = {8, 7, 6, 5, 4, 3, 2, 1};
    assert_memory_equal(b.data + 1, seq_le, 8);
    assert_memory_equal(b.data + 9, peer, 38);
    assert_memory_equal(b.data + 47, "remote::MyActor", 15);

    al__record r;
    assert_int_equal(al__record_decode(b.data, b.len, &r, NULL), 0);
    assert_true(r.id.seq == id.seq);
    assert_int_equal(r.id.peer.len, 38);
    assert_memory_equal(r.id.peer.bytes, peer, 38);
    assert_string_equal(r.remote_id, "remote::MyActor");
    assert_int_equal(r.remote_id_len, 15);
    al__record_free(&r);
    assert_null(r.remote_id);
    al_buf_free(&b);
}

static void empty_value_is_not_found(void **state)
{
    (void)state;
    al__record r;
    al_error err = {0};
    assert_int_equal(al__record_decode((const uint8_t *)"", 0, &r, &err),
                     AL_ENOTFOUND);
    assert_int_equal(err.code, AL_ENOTFOUND);
    assert_null(r.remote_id);
}

static void rejects_malformed_values(void **state)
{
    (void)state;
    al__record r;
    uint8_t v[1 + 8 + 65 + 4];
    memset(v, 'a', sizeof(v));
    /* Peer id length 0 and 65 are out of range. */
    v[0] = 0;
    assert_int_equal(al__record_decode(v, 20, &r, NULL), AL_EDECODE);
    v[0] = 65;
    assert_int_equal(al__record_decode(v, sizeof(v), &r, NULL), AL_EDECODE);
    /* Truncated inside the sequence id or the peer id. */
    v[0] = 38;
    assert_int_equal(al__record_decode(v, 5, &r, NULL), AL_EDECODE);
    assert_int_equal(al__record_decode(v, 1 + 8 + 37, &r, NULL), AL_EDECODE);
    /* Exactly header + peer id: an empty remote id, which Kameo reads. */
    assert_int_equal(al__record_decode(v, 1 + 8 + 38, &r, NULL), 0);
    assert_int_equal(r.remote_id_len, 0);
    assert_string_equal(r.remote_id, "");
    al__record_free(&r);
    /* Invalid UTF-8: a lone continuation byte, an overlong '/', a
     * surrogate, and a NUL. */
    const uint8_t *bad[] = {
        (const uint8_t *)"\x80", (const uint8_t *)"\xc0\xaf",
        (const uint8_t *)"\xed\xa0\x80", (const uint8_t *)"a\0b"};
    const size_t bad_len[] = {1, 2, 3, 3};
    for (size_t i = 0; i < 4; i++) {
        memcpy(v + 47, bad[i], bad_len[i]);
        assert_int_equal(al__record_decode(v, 47 + bad_len[i], &r, NULL),
                         AL_EDECODE);
        assert_null(r.remote_id);
    }
    /* Multi-byte UTF-8 is fine. */
    memcpy(v + 47, "\xc3\xa9", 2);
    assert_int_equal(al__record_decode(v, 49, &r, NULL), 0);
    assert_string_equal(r.remote_id, "\xc3\xa9");
    al__record_free(&r);
}

static void remote_id_is_bounded(void **state)
{
    (void)state;
    static uint8_t v[1 + 8 + 38 + AL__RECORD_REMOTE_ID_MAX + 1];
    memset(v, 'x', sizeof(v));
    v[0] = 38;
    al__record r;
    assert_int_equal(al__record_decode(v, sizeof(v) - 1, &r, NULL), 0);
    assert_int_equal(r.remote_id_len, AL__RECORD_REMOTE_ID_MAX);
    al__record_free(&r);
    assert_int_equal(al__record_decode(v, sizeof(v), &r, NULL), AL_EDECODE);
}

static void encode_checks_arguments(void **state)
{
    (void)state;
    al_actor_id id = example_id();
    al_buf b = {0};
    id.peer.len = 0;
    assert_int_equal(al__record_encode(&id, "a", 1, &b, NULL), AL_EINVAL);
    id.peer.len = 65;
    assert_int_equal(al__record_encode(&id, "a", 1, &b, NULL), AL_EINVAL);
    id.peer.len = 38;
    assert_int_equal(al__record_encode(&id, "", 0, &b, NULL), AL_EINVAL);
    assert_int_equal(al__record_encode(&id, "\xff", 1, &b, NULL), AL_EINVAL);
    assert_int_equal(al__record_encode(&id, NULL, 1, &b, NULL), AL_EINVAL);
    assert_int_equal(b.len, 0);
    /* The shortest valid record. */
    id.peer.len = 1;
    assert_int_equal(al__record_encode(&id, "a", 1, &b, NULL), 0);
    assert_int_equal(b.len, 11);
    al_buf_free(&b);
}

static void utf8_validator(void **state)
{
    (void)state;
    assert_true(al__utf8_valid((const uint8_t *)"", 0));
    assert_true(al__utf8_valid((const uint8_t *)"\xf0\x9f\x98\x80", 4));
    assert_true(al__utf8_valid((const uint8_t *)"\xf4\x8f\xbf\xbf", 4));
    assert_false(al__utf8_valid((const uint8_t *)"\xf4\x90\x80\x80", 4));
    assert_false(al__utf8_valid((const uint8_t *)"\xe0\x80\xaf", 3));
    assert_false(al__utf8_valid((const uint8_t *)"\xf0\x9f\x98", 3));
    assert_false(al__utf8_valid((const uint8_t *)"\xc3\x28", 2));
    assert_false(al__utf8_valid((const uint8_t *)"\xf5\x80\x80\x80", 4));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(encodes_kameo_layout),
        cmocka_unit_test(empty_value_is_not_found),
        cmocka_unit_test(rejects_malformed_values),
        cmocka_unit_test(remote_id_is_bounded),
        cmocka_unit_test(encode_checks_arguments),
        cmocka_unit_test(utf8_validator),
    };
    return cmocka_run_group_tests_name("record", tests, NULL, NULL);
}
