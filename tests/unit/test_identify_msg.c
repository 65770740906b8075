/* identify_msg.c: framed Identify messages, limits, validation. Byte
 * vectors are derived by hand from identify.proto (tags: 0a publicKey,
 * 12 listenAddrs, 1a protocols, 22 observedAddr, 2a protocolVersion,
 * 32 agentVersion, 42 signedPeerRecord). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "actorlib.h"
#include "identify_msg.h"

/* The libp2p peer-ids spec's Ed25519 PublicKey protobuf (36 bytes):
 * 08 01 (type Ed25519) 12 20 <32-byte key>. */
#define PUBKEY                                                                 \
    "\x08\x01\x12\x20\x1e\xd1\xe8\xfa\xe2\xc4\xa1\x44\xb8\xbe\x8f\xd4\xb4\x7b" \
    "\xf3\xd3\xb3\x4b\x87\x1c\x3c\xac\xf6\x01\x0f\x0e\x42\xd4\x74\xfc\xe2\x7e"
/* /ip4/127.0.0.1/udp/4001/quic-v1 and .../4002/... (11 bytes each). */
#define ADDR1 "\x04\x7f\x00\x00\x01\x91\x02\x0f\xa1\xcd\x03"
#define ADDR2 "\x04\x7f\x00\x00\x01\x91\x02\x0f\xa2\xcd\x03"

#define LIT(s) (const uint8_t *)(s), sizeof(s) - 1

/* 0a 24 <key> = 38 bytes; 12 0b <addr1> = 13; 1a 0e "/ipfs/id/1.0.0" = 16;
 * 1a 10 "/ipfs/ping/1.0.0" = 18; 22 0b <addr2> = 13; 2a 0a "ipfs/0.1.0" =
 * 12; 32 0c "c-ngtcp2/0.1" = 14. Body 124 = 7c. */
static const char identify[] = "\x7c\x0a\x24" PUBKEY "\x12\x0b" ADDR1 "\x1a\x0e"
                               "/ipfs/id/1.0.0"
                               "\x1a\x10"
                               "/ipfs/ping/1.0.0"
                               "\x22\x0b" ADDR2 "\x2a\x0a"
                               "ipfs/0.1.0"
                               "\x32\x0c"
                               "c-ngtcp2/0.1";

static char *protos[] = {"/ipfs/id/1.0.0", "/ipfs/ping/1.0.0"};

static Identify__Identify example(ProtobufCBinaryData *addr)
{
    Identify__Identify m = IDENTIFY__IDENTIFY__INIT;
    m.has_publickey = 1;
    m.publickey.data = (uint8_t *)PUBKEY;
    m.publickey.len = 36;
    addr->data = (uint8_t *)ADDR1;
    addr->len = 11;
    m.n_listenaddrs = 1;
    m.listenaddrs = addr;
    m.n_protocols = 2;
    m.protocols = protos;
    m.has_observedaddr = 1;
    m.observedaddr.data = (uint8_t *)ADDR2;
    m.observedaddr.len = 11;
    m.protocolversion = "ipfs/0.1.0";
    m.agentversion = "c-ngtcp2/0.1";
    return m;
}

static void known_encoding(void **state)
{
    (void)state;
    ProtobufCBinaryData addr;
    Identify__Identify m = example(&addr);
    al_buf out = {0};
    assert_int_equal(al__identify_encode(&m, &out, NULL), 0);
    assert_int_equal(out.len, sizeof(identify) - 1);
    assert_memory_equal(out.data, identify, out.len);
    al_buf_free(&out);

    Identify__Identify *d = NULL;
    assert_int_equal(al__identify_decode(LIT(identify), &d, NULL),
                     (int)sizeof(identify) - 1);
    assert_non_null(d);
    assert_true(d->has_publickey);
    assert_memory_equal(d->publickey.data, PUBKEY, 36);
    assert_int_equal(d->n_listenaddrs, 1);
    assert_memory_equal(d->listenaddrs[0].data, ADDR1, 11);
    assert_int_equal(d->n_protocols, 2);
    assert_string_equal(d->protocols[1], "/ipfs/ping/1.0.0");
    assert_string_equal(d->agentversion, "c-ngtcp2/0.1");
    assert_true(d->has_observedaddr);
    assert_false(d->has_signedpeerrecord);
    al__identify_free(d);
    al__identify_free(NULL);
}

static void needs_more_input(void **state)
{
    (void)state;
    Identify__Identify *d = NULL;
    for (size_t n = 0; n < sizeof(identify) - 1; n++) {
        assert_int_equal(
            al__identify_decode((const uint8_t *)identify, n, &d, NULL), 0);
        assert_null(d);
    }
}

static void size_limits(void **state)
{
    (void)state;
    ProtobufCBinaryData addr;
    Identify__Identify m = example(&addr);
    /* Between rust's 4 KiB and js's 8 KiB: we accept it, but would not
     * send it. */
    static uint8_t spr[5000];
    m.has_signedpeerrecord = 1;
    m.signedpeerrecord.data = spr;
    m.signedpeerrecord.len = sizeof(spr);
    al_buf out = {0};
    al_error err = {0};
    assert_int_equal(al__identify_encode(&m, &out, &err), AL_ELIMIT);
    assert_int_equal(out.len, 0);
    /* Pack it by hand to see that decoding takes it. */
    size_t size = identify__identify__get_packed_size(&m);
    uint8_t *buf = malloc(size + 2);
    assert_non_null(buf);
    buf[0] = (uint8_t)(size | 0x80);
    buf[1] = (uint8_t)(size >> 7);
    identify__identify__pack(&m, buf + 2);
    Identify__Identify *d = NULL;
    assert_int_equal(al__identify_decode(buf, size + 2, &d, NULL),
                     (int)size + 2);
    assert_int_equal(d->signedpeerrecord.len, sizeof(spr));
    al__identify_free(d);
    free(buf);
    /* 8193 bytes (81 40) are refused from the prefix alone. */
    assert_int_equal(al__identify_decode(LIT("\x81\x40"), &d, &err), AL_ELIMIT);
    assert_null(d);
    /* 8192 (80 40) waits for its body. */
    assert_int_equal(al__identify_decode(LIT("\x80\x40"), &d, NULL), 0);
    al_buf_free(&out);
}

static void validation(void **state)
{
    (void)state;
    ProtobufCBinaryData addr;
    Identify__Identify m = example(&addr);
    assert_int_equal(al__identify_validate(&m, NULL), 0);
    /* A public key is required. */
    m.has_publickey = 0;
    assert_int_equal(al__identify_validate(&m, NULL), AL_EDECODE);
    m.has_publickey = 1;
    m.publickey.len = 0;
    assert_int_equal(al__identify_validate(&m, NULL), AL_EDECODE);
    m.publickey.len = 36;
    /* Protocols: empty, not UTF-8, too long. */
    char *bad1[] = {""};
    char *bad2[] = {"/\xff"};
    static char longp[AL__IDENTIFY_PROTOCOL_MAX + 2];
    memset(longp, 'p', AL__IDENTIFY_PROTOCOL_MAX + 1);
    char *bad3[] = {longp};
    m.n_protocols = 1;
    m.protocols = bad1;
    assert_int_equal(al__identify_validate(&m, NULL), AL_EDECODE);
    m.protocols = bad2;
    assert_int_equal(al__identify_validate(&m, NULL), AL_EDECODE);
    m.protocols = bad3;
    assert_int_equal(al__identify_validate(&m, NULL), AL_EDECODE);
    longp[AL__IDENTIFY_PROTOCOL_MAX] = '\0';
    assert_int_equal(al__identify_validate(&m, NULL), 0);
    m.n_protocols = AL__IDENTIFY_PROTOCOLS_MAX + 1;
    assert_int_equal(al__identify_validate(&m, NULL), AL_EDECODE);
    m.n_protocols = 0;
    /* Addresses: too many, empty, too long (listen or observed). */
    ProtobufCBinaryData addrs[AL__IDENTIFY_ADDRS_MAX + 1];
    for (size_t i = 0; i <= AL__IDENTIFY_ADDRS_MAX; i++)
        addrs[i] = addr;
    m.listenaddrs = addrs;
    m.n_listenaddrs = AL__IDENTIFY_ADDRS_MAX;
    assert_int_equal(al__identify_validate(&m, NULL), 0);
    m.n_listenaddrs = AL__IDENTIFY_ADDRS_MAX + 1;
    assert_int_equal(al__identify_validate(&m, NULL), AL_EDECODE);
    m.n_listenaddrs = 1;
    addrs[0].len = 0;
    assert_int_equal(al__identify_validate(&m, NULL), AL_EDECODE);
    addrs[0].len = 11;
    m.observedaddr.len = AL__IDENTIFY_ADDR_MAX + 1;
    assert_int_equal(al__identify_validate(&m, NULL), AL_EDECODE);
    m.observedaddr.len = 11;
    /* Version strings: UTF-8 and bounded. */
    m.agentversion = "agent\xc3";
    assert_int_equal(al__identify_validate(&m, NULL), AL_EDECODE);
    static char longv[AL__IDENTIFY_VERSION_MAX + 2];
    memset(longv, 'v', AL__IDENTIFY_VERSION_MAX + 1);
    m.agentversion = longv;
    assert_int_equal(al__identify_validate(&m, NULL), AL_EDECODE);
    m.agentversion = "";
    assert_int_equal(al__identify_validate(&m, NULL), 0);

    /* Decoding applies the validation: identify without a public key
     * (only 2a 0a "ipfs/0.1.0"). */
    Identify__Identify *d = NULL;
    assert_int_equal(al__identify_decode(LIT("\x0c\x2a\x0a"
                                             "ipfs/0.1.0"),
                                         &d, NULL),
                     AL_EDECODE);
    assert_null(d);
    /* Field number 0 (tag 80 00, a varint) is refused. */
    assert_int_equal(al__identify_decode(
                         LIT("\x29\x0a\x24" PUBKEY "\x80\x00\x01"), &d, NULL),
                     AL_EDECODE);
    /* Malformed protobuf: a length running past the body. */
    assert_int_equal(al__identify_decode(LIT("\x03\x0a\x24\x08"), &d, NULL),
                     AL_EDECODE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_encoding),
        cmocka_unit_test(needs_more_input),
        cmocka_unit_test(size_limits),
        cmocka_unit_test(validation),
    };
    return cmocka_run_group_tests_name("identify_msg", tests, NULL, NULL);
}
