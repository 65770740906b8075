/* peerid.c: spec vectors (peer-ids.md, tls.md), text forms, multihash and
 * PublicKey protobuf validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "actorlib.h"
#include "base58.h"
#include "peerid.h"

static size_t unhex(const char *hex, uint8_t *out)
{
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
    return n;
}

/* peer-ids.md, "ED25519 public key". */
#define SPEC_ED25519_PROTO                                                     \
    "080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e"
/* Base58btc of 00 24 <SPEC_ED25519_PROTO>, computed independently (Python). */
#define SPEC_ED25519_TEXT "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq"

/* The host keys inside tls.md's certificate vectors 1-3 and the peer ids
 * the spec gives for them. */
#define TLS1_PROTO                                                             \
    "08011220a77f1d92fedb59dddaea5a1c4abd1ac2fbde7d7b879ed364501809923d7c11b9"
#define TLS1_TEXT "12D3KooWM6CgA9iBFZmcYAHA6A2qvbAxqfkmrYiRQuz3XEsk4Ksv"
#define TLS2_PROTO                                                             \
    "0803125b3059301306072a8648ce3d020106082a8648ce3d03010703420004bf30511f90" \
    "9414ebdd3242178fd290f093a551cf75c973155de0bb5a96fedf6cb5d52da7563e794b"   \
    "512f66e60c7f55ba8a3acf3dd72a801980d205e8a1ad29f2"
#define TLS2_TEXT "QmfXbAwNjJLXfesgztEHe8HwgVDCMMpZ9Eax1HYq6hn9uE"
#define TLS3_PROTO                                                             \
    "080212210206dc6968726765b820f050263ececf7f71e4955892776c0970542efd689d23" \
    "82"
#define TLS3_TEXT "16Uiu2HAkutTMoTzDw1tCvSRtu6YoixJwS46S1ZFxW8hSx9fWHiPs"

static void check_proto_to_text(const char *hex, const char *text)
{
    uint8_t proto[128];
    size_t n = unhex(hex, proto);
    al_peer_id id, parsed;
    assert_int_equal(al__peer_id_from_pubkey_proto(proto, n, &id), 0);
    char buf[AL_PEER_ID_STRLEN];
    assert_int_equal(al_peer_id_format(&id, buf, sizeof(buf)), 0);
    assert_string_equal(buf, text);
    assert_int_equal(al_peer_id_parse(&parsed, text), 0);
    assert_true(al_peer_id_equal(&id, &parsed));
    al_peer_id again;
    assert_int_equal(al_peer_id_from_bytes(&again, id.bytes, id.len), 0);
    assert_true(al_peer_id_equal(&id, &again));
}

static void spec_vectors(void **state)
{
    (void)state;
    check_proto_to_text(SPEC_ED25519_PROTO, SPEC_ED25519_TEXT);
    check_proto_to_text(TLS1_PROTO, TLS1_TEXT); /* identity, Ed25519 */
    check_proto_to_text(TLS2_PROTO, TLS2_TEXT); /* sha2-256, ECDSA */
    check_proto_to_text(TLS3_PROTO, TLS3_TEXT); /* identity, secp256k1 */
}

static void ed25519_layout(void **state)
{
    (void)state;
    uint8_t proto[64], pub[32], got[32];
    unhex(SPEC_ED25519_PROTO, proto);
    memcpy(pub, proto + 4, 32);
    uint8_t built[AL__ED25519_PUBKEY_PROTO_LEN];
    al__ed25519_pubkey_proto(pub, built);
    assert_memory_equal(built, proto, sizeof(built));
    al_peer_id id;
    al__peer_id_from_ed25519(pub, &id);
    assert_int_equal(id.len, 38);
    assert_int_equal(id.bytes[0], 0x00);
    assert_int_equal(id.bytes[1], 0x24);
    assert_memory_equal(id.bytes + 2, proto, 36);
    assert_int_equal(al__peer_id_ed25519_pubkey(&id, got, NULL), 0);
    assert_memory_equal(got, pub, 32);
}

static void extraction_refuses_other_keys(void **state)
{
    (void)state;
    al_peer_id id;
    uint8_t pub[32];
    al_error err = {0};
    assert_int_equal(al_peer_id_parse(&id, TLS2_TEXT), 0);
    assert_int_equal(al__peer_id_ed25519_pubkey(&id, pub, &err), AL_ECRYPTO);
    assert_non_null(strstr(err.msg, "hashes"));
    assert_int_equal(al_peer_id_parse(&id, TLS3_TEXT), 0);
    assert_int_equal(al__peer_id_ed25519_pubkey(&id, pub, &err), AL_ECRYPTO);
    assert_non_null(strstr(err.msg, "Secp256k1"));
}

static void cid_forms(void **state)
{
    (void)state;
    al_peer_id a, b, c;
    al_error err = {0};
    /* peer-ids.md lists these two as the same peer in its two forms. */
    assert_int_equal(
        al_peer_id_parse(
            &a, "bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxe"),
        0);
    assert_int_equal(
        al_peer_id_parse(&b, "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N"),
        0);
    assert_true(al_peer_id_equal(&a, &b));
    /* The same CID in multibase base58btc ('z'). */
    uint8_t cid[64] = {0x01, 0x72};
    memcpy(cid + 2, b.bytes, b.len);
    char text[100] = "z";
    assert_true(al__base58_encode(cid, 2u + b.len, text + 1, 99) > 0);
    assert_int_equal(al_peer_id_parse(&c, text), 0);
    assert_true(al_peer_id_equal(&b, &c));
    /* A CID with another codec (0x70, dag-pb) is not a peer id. */
    cid[1] = 0x70;
    assert_true(al__base58_encode(cid, 2u + b.len, text + 1, 99) > 0);
    assert_int_equal(al__peer_id_parse_n(&c, text, strlen(text), &err),
                     AL_EDECODE);
    assert_non_null(strstr(err.msg, "libp2p-key"));
    /* Upper case, padding and trailing bits are not base32 CIDs. */
    assert_true(al_peer_id_parse(&c, "bAFZBEIE5745") < 0);
    assert_true(al_peer_id_parse(&c, "bafzbeie5745====") < 0);
    assert_true(al_peer_id_parse(&c, "b7") < 0);
}

static void bad_text(void **state)
{
    (void)state;
    al_peer_id id;
    al_error err = {0};
    assert_int_equal(al_peer_id_parse(&id, NULL), AL_EINVAL);
    assert_int_equal(al_peer_id_parse(&id, ""), AL_EDECODE);
    assert_int_equal(al_peer_id_parse(&id, "12D3KooW0OIl"), AL_EDECODE);
    /* A truncated id decodes but its multihash length no longer matches. */
    assert_int_equal(al__peer_id_parse_n(&id, TLS1_TEXT, 40, &err), AL_EDECODE);
    assert_non_null(strstr(err.msg, "multihash"));
    char longtext[300];
    memset(longtext, 'z', sizeof(longtext) - 1);
    longtext[sizeof(longtext) - 1] = '\0';
    longtext[0] = '1';
    assert_int_equal(al_peer_id_parse(&id, longtext), AL_EDECODE);
}

static void bad_bytes(void **state)
{
    (void)state;
    al_peer_id id;
    al_error err = {0};
    uint8_t b[80] = {0};
    assert_int_equal(al__peer_id_from_bytes_err(&id, b, 0, &err), AL_EDECODE);
    /* Unknown hash function (0x13 = sha2-512). */
    b[0] = 0x13;
    b[1] = 0x20;
    assert_int_equal(al__peer_id_from_bytes_err(&id, b, 34, &err), AL_EDECODE);
    assert_non_null(strstr(err.msg, "0x13"));
    /* sha2-256 digest must be 32 bytes. */
    b[0] = 0x12;
    b[1] = 0x1f;
    assert_int_equal(al__peer_id_from_bytes_err(&id, b, 33, &err), AL_EDECODE);
    /* Length byte disagrees with the bytes present. */
    b[1] = 0x20;
    assert_int_equal(al__peer_id_from_bytes_err(&id, b, 33, &err), AL_EDECODE);
    assert_int_equal(al__peer_id_from_bytes_err(&id, b, 35, &err), AL_EDECODE);
    assert_int_equal(al__peer_id_from_bytes_err(&id, b, 34, &err), 0);
    /* Identity digests: 1..42 bytes. */
    b[0] = 0x00;
    b[1] = 43;
    assert_int_equal(al__peer_id_from_bytes_err(&id, b, 45, &err), AL_EDECODE);
    b[1] = 0;
    assert_int_equal(al__peer_id_from_bytes_err(&id, b, 2, &err), AL_EDECODE);
    b[1] = 42;
    assert_int_equal(al__peer_id_from_bytes_err(&id, b, 44, &err), 0);
    assert_int_equal(al__peer_id_from_bytes_err(&id, b, 65, &err), AL_EDECODE);
    assert_non_null(strstr(err.msg, "too long"));
    /* A non-minimal varint code. */
    const uint8_t nonmin[] = {0x80, 0x00, 0x01, 0x00};
    assert_int_equal(al__peer_id_from_bytes_err(&id, nonmin, 4, &err),
                     AL_EDECODE);
}

static void format_errors(void **state)
{
    (void)state;
    al_peer_id id = {0};
    char buf[AL_PEER_ID_STRLEN];
    assert_int_equal(al_peer_id_format(&id, buf, sizeof(buf)), AL_EINVAL);
    assert_int_equal(al_peer_id_parse(&id, TLS1_TEXT), 0);
    char small[10];
    assert_true(al_peer_id_format(&id, small, sizeof(small)) < 0);
    al_peer_id other;
    assert_int_equal(al_peer_id_parse(&other, TLS3_TEXT), 0);
    assert_false(al_peer_id_equal(&id, &other));
}

static void key_proto_parsing(void **state)
{
    (void)state;
    uint8_t buf[64];
    al__key_proto kp;
    al_error err = {0};
    size_t n = unhex(SPEC_ED25519_PROTO, buf);
    assert_int_equal(al__key_proto_parse(buf, n, "public key", &kp, &err), 0);
    assert_int_equal(kp.type, AL__KEY_ED25519);
    assert_int_equal(kp.len, 32);
    assert_ptr_equal(kp.data, buf + 4);
    /* Unknown key type 7: a clear error naming it. */
    buf[1] = 7;
    assert_int_equal(al__key_proto_parse(buf, n, "public key", &kp, &err),
                     AL_ECRYPTO);
    assert_non_null(strstr(err.msg, "unknown key type 7"));
    buf[1] = 1;
    /* Trailing byte, short data, fields swapped, non-minimal type. */
    buf[n] = 0;
    assert_int_equal(al__key_proto_parse(buf, n + 1, "public key", &kp, &err),
                     AL_EDECODE);
    assert_int_equal(al__key_proto_parse(buf, n - 1, "public key", &kp, &err),
                     AL_EDECODE);
    const uint8_t swapped[] = {0x12, 0x01, 0xaa, 0x08, 0x01};
    assert_int_equal(
        al__key_proto_parse(swapped, sizeof(swapped), "public key", &kp, &err),
        AL_EDECODE);
    const uint8_t nonmin[] = {0x08, 0x81, 0x00, 0x12, 0x01, 0xaa};
    assert_int_equal(
        al__key_proto_parse(nonmin, sizeof(nonmin), "public key", &kp, &err),
        AL_EDECODE);
    const uint8_t dup[] = {0x08, 0x01, 0x08, 0x01, 0x12, 0x01, 0xaa};
    assert_int_equal(
        al__key_proto_parse(dup, sizeof(dup), "public key", &kp, &err),
        AL_EDECODE);
    const uint8_t empty_ok[] = {0x08, 0x00, 0x12, 0x00};
    assert_int_equal(al__key_proto_parse(empty_ok, sizeof(empty_ok),
                                         "public key", &kp, &err),
                     0);
    assert_int_equal(kp.type, AL__KEY_RSA);
    assert_int_equal(kp.len, 0);
    assert_string_equal(al__key_type_name(AL__KEY_SECP256K1), "Secp256k1");
    assert_string_equal(al__key_type_name(9), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(spec_vectors),
        cmocka_unit_test(ed25519_layout),
        cmocka_unit_test(extraction_refuses_other_keys),
        cmocka_unit_test(cid_forms),
        cmocka_unit_test(bad_text),
        cmocka_unit_test(bad_bytes),
        cmocka_unit_test(format_errors),
        cmocka_unit_test(key_proto_parsing),
    };
    return cmocka_run_group_tests_name("peerid", tests, NULL, NULL);
}
