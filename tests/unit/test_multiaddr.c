/* multiaddr.c: text and binary forms against the multicodec table, round
 * trips, every kind of malformed input, and the QUIC address conversions. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include <cmocka.h>

#include "actorlib.h"
#include "multiaddr.h"

#define PEER "12D3KooWA4Xop1JaT3MHxwYMkCepYsv4iPVopMXwCz5iHYdBfeSB"
/* Its multihash: 00 24 08 01 12 20 <Ed25519 key of the seed 00..1f>. */
#define PEER_HEX                                                               \
    "002408011220"                                                             \
    "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"

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

/* text -> binary must give hex; binary -> text must give canon (the text
 * itself when NULL). */
static void check_vector(const char *text, const char *hex, const char *canon)
{
    al__maddr m, back;
    al_error err = {0};
    assert_int_equal(al__maddr_parse(&m, text, &err), 0);
    uint8_t bin[AL__MADDR_MAX_BYTES], want[AL__MADDR_MAX_BYTES];
    size_t wl = unhex(hex, want);
    int bl = al__maddr_encode(&m, bin, sizeof(bin));
    assert_int_equal(bl, (int)wl);
    assert_memory_equal(bin, want, wl);
    assert_int_equal(al__maddr_decode(&back, want, wl, &err), 0);
    assert_true(al__maddr_equal(&m, &back));
    char out[AL__MADDR_MAX_TEXT + 1];
    const char *expect = canon ? canon : text;
    assert_int_equal(al__maddr_format(&back, out, sizeof(out)),
                     (int)strlen(expect));
    assert_string_equal(out, expect);
}

static void vectors(void **state)
{
    (void)state;
    /* Verified with js multiaddr (research notes, A3). */
    check_vector("/ip4/127.0.0.1/udp/4001/quic-v1", "047f00000191020fa1cd03",
                 NULL);
    check_vector("/ip4/127.0.0.1/udp/4001/quic-v1/p2p/" PEER,
                 "047f00000191020fa1cd03a50326" PEER_HEX, NULL);
    check_vector("/ip4/127.0.0.1/udp/4001/quic-v1/ipfs/" PEER,
                 "047f00000191020fa1cd03a50326" PEER_HEX,
                 "/ip4/127.0.0.1/udp/4001/quic-v1/p2p/" PEER);
    check_vector("/ip6/::1/udp/8020/quic-v1",
                 "29000000000000000000000000000000019102"
                 "1f54cd03",
                 NULL);
    check_vector("/ip6/2001:db8:0:0:0:0:0:1/udp/1/quic-v1",
                 "2920010db800000000000000000000000191020001cd03",
                 "/ip6/2001:db8::1/udp/1/quic-v1");
    check_vector("/dns4/localhost/udp/65535/quic-v1",
                 "36096c6f63616c686f73749102ffffcd03", NULL);
    check_vector("/dns6/a-b.example/udp/0/quic-v1",
                 "370b612d622e6578616d706c6591020000cd03", NULL);
    check_vector("/dns/x_y/udp/9/quic-v1", "3503785f7991020009cd03", NULL);
    check_vector("/ip4/1.2.3.4/tcp/80", "0401020304060050", NULL);
    check_vector("/p2p/" PEER, "a50326" PEER_HEX, NULL);
    /* One trailing slash is accepted and dropped. */
    check_vector("/ip4/127.0.0.9/udp/1/", "047f00000991020001",
                 "/ip4/127.0.0.9/udp/1");
}

static void expect_text_error(const char *text, int code, const char *needle)
{
    al__maddr m;
    al_error err = {0};
    assert_int_equal(al__maddr_parse(&m, text, &err), code);
    if (needle && !strstr(err.msg, needle))
        fail_msg("'%s': error '%s' lacks '%s'", text, err.msg, needle);
}

static void text_errors(void **state)
{
    (void)state;
    expect_text_error("", AL_EDECODE, "empty");
    expect_text_error("/", AL_EDECODE, "empty");
    expect_text_error("ip4/1.2.3.4", AL_EDECODE, "start with '/'");
    expect_text_error("/foo/1", AL_EDECODE, "unknown protocol '/foo'");
    expect_text_error("/ip4/1.2.3.4/udp/1/quic", AL_EDECODE, "draft-29");
    expect_text_error("/ip4/1.2.3", AL_EDECODE, "bad IP address");
    expect_text_error("/ip4/256.0.0.1", AL_EDECODE, "bad IP address");
    expect_text_error("/ip4/::1", AL_EDECODE, "bad IP address");
    expect_text_error("/ip6/1.2.3.4", AL_EDECODE, "bad IP address");
    expect_text_error("/ip6/fe80::1%eth0", AL_EDECODE, "bad IP address");
    expect_text_error("/ip6/0000000000000000000000000000000000000000000000000",
                      AL_EDECODE, "bad IP address");
    expect_text_error("/ip4/1.2.3.4/udp/65536", AL_EDECODE, "bad port");
    expect_text_error("/ip4/1.2.3.4/udp/-1", AL_EDECODE, "bad port");
    expect_text_error("/ip4/1.2.3.4/udp/123456", AL_EDECODE, "bad port");
    expect_text_error("/ip4/1.2.3.4/udp/1x", AL_EDECODE, "bad port");
    expect_text_error("/ip4/1.2.3.4/udp", AL_EDECODE, "missing value for /udp");
    expect_text_error("/ip4/1.2.3.4/udp/", AL_EDECODE,
                      "missing value for /udp");
    expect_text_error("/ip4", AL_EDECODE, "missing value for /ip4");
    expect_text_error("/ip4//udp/1", AL_EDECODE, "missing value for /ip4");
    expect_text_error("/ip4/1.2.3.4//udp/1", AL_EDECODE, "empty protocol");
    expect_text_error("/ip4/1.2.3.4/udp/1/quic-v1x", AL_EDECODE,
                      "unknown protocol '/quic-v1x'");
    expect_text_error("/ip4/1.2.3.4/udp/1/quic-v1/garbage", AL_EDECODE,
                      "unknown protocol");
    expect_text_error("/dns4/bad name/udp/1", AL_EDECODE, "bad DNS name");
    expect_text_error("/dns4/a%2fb/udp/1", AL_EDECODE, "bad DNS name");
    expect_text_error("/p2p/QmNotAPeer", AL_EDECODE, "/p2p:");
    expect_text_error("/p2p/12D3KooW0", AL_EDECODE, "/p2p:");
    assert_int_equal(al__maddr_parse(NULL, "/ip4/1.2.3.4", NULL), AL_EINVAL);
    al__maddr m;
    assert_int_equal(al__maddr_parse(&m, NULL, NULL), AL_EINVAL);
    assert_int_equal(al__maddr_parse_n(&m, "/ip4/1.2.3.4\0/udp/1", 19, NULL),
                     AL_EDECODE);
}

static void limits(void **state)
{
    (void)state;
    char text[AL__MADDR_MAX_TEXT + 50];
    size_t n = 0;
    while (n + 9 < sizeof(text) - 1) {
        memcpy(text + n, "/quic-v1", 8);
        n += 8;
    }
    text[n] = '\0';
    expect_text_error(text, AL_ELIMIT, "too long");
    /* 17 components. */
    n = 0;
    for (int i = 0; i < AL__MADDR_MAX_COMPONENTS + 1; i++) {
        memcpy(text + n, "/quic-v1", 8);
        n += 8;
    }
    text[n] = '\0';
    expect_text_error(text, AL_ELIMIT, "more than 16");
    text[n - 8] = '\0'; /* exactly 16 is fine */
    expect_text_error(text, 0, NULL);
    /* A 255-character DNS name is the longest. */
    char host[300] = "/dns/";
    memset(host + 5, 'a', 255);
    host[260] = '\0';
    expect_text_error(host, 0, NULL);
    host[260] = 'a';
    host[261] = '\0';
    expect_text_error(host, AL_EDECODE, "bad DNS name");
}

static void expect_bin_error(const char *hex, int code, const char *needle)
{
    uint8_t b[AL__MADDR_MAX_BYTES + 8];
    size_t n = unhex(hex, b);
    al__maddr m;
    al_error err = {0};
    assert_int_equal(al__maddr_decode(&m, b, n, &err), code);
    if (needle && !strstr(err.msg, needle))
        fail_msg("%s: error '%s' lacks '%s'", hex, err.msg, needle);
}

static void binary_errors(void **state)
{
    (void)state;
    expect_bin_error("", AL_EDECODE, "empty");
    expect_bin_error("07", AL_EDECODE, "unknown protocol code 0x7");
    expect_bin_error("cc03", AL_EDECODE, "draft-29");
    expect_bin_error("047f0000", AL_EDECODE, "truncated value for /ip4");
    expect_bin_error("047f000001910201", AL_EDECODE,
                     "truncated value for /udp");
    expect_bin_error("29000102", AL_EDECODE, "truncated value for /ip6");
    expect_bin_error("91", AL_EDECODE, "bad protocol code varint");
    expect_bin_error("8480", AL_EDECODE, "bad protocol code varint");
    expect_bin_error("8400", AL_EDECODE, "bad protocol code varint"); /* 0x04 */
    expect_bin_error("350561", AL_EDECODE, "length for /dns");
    expect_bin_error("3500", AL_EDECODE, "bad DNS name");
    expect_bin_error("3503612f62", AL_EDECODE, "bad DNS name");
    expect_bin_error("3503610062", AL_EDECODE, "bad DNS name");
    expect_bin_error("a503031220aa", AL_EDECODE, "/p2p:");
    expect_bin_error("a50300", AL_EDECODE, "/p2p:");
    expect_bin_error("a503ff", AL_EDECODE, "length for /p2p");
    uint8_t big[AL__MADDR_MAX_BYTES + 1];
    memset(big, 0, sizeof(big));
    al__maddr m;
    assert_int_equal(al__maddr_decode(&m, big, sizeof(big), NULL), AL_ELIMIT);
    /* 17 quic-v1 components. */
    uint8_t many[34];
    for (int i = 0; i < 17; i++) {
        many[2 * i] = 0xcd;
        many[2 * i + 1] = 0x03;
    }
    assert_int_equal(al__maddr_decode(&m, many, 34, NULL), AL_ELIMIT);
    assert_int_equal(al__maddr_decode(&m, many, 32, NULL), 0);
}

static void output_bounds(void **state)
{
    (void)state;
    al__maddr m;
    assert_int_equal(
        al__maddr_parse(&m, "/ip4/127.0.0.1/udp/4001/quic-v1", NULL), 0);
    char small[10];
    assert_int_equal(al__maddr_format(&m, small, sizeof(small)), AL_ELIMIT);
    char exact[32];
    assert_int_equal(al__maddr_format(&m, exact, sizeof(exact)), 31);
    uint8_t b[10];
    assert_int_equal(al__maddr_encode(&m, b, sizeof(b)), AL_ELIMIT);
    uint8_t b11[11];
    assert_int_equal(al__maddr_encode(&m, b11, sizeof(b11)), 11);
    al__maddr empty = {0};
    assert_int_equal(al__maddr_format(&empty, exact, sizeof(exact)), AL_EINVAL);
    assert_int_equal(al__maddr_encode(&empty, b, sizeof(b)), AL_EINVAL);
    m.c[1].code = 0x9999;
    assert_int_equal(al__maddr_format(&m, exact, sizeof(exact)), AL_EINVAL);
}

static void quic_ip(void **state)
{
    (void)state;
    al__maddr m;
    al__quic_addr q;
    al_error err = {0};
    assert_int_equal(
        al__maddr_parse(&m, "/ip4/127.0.0.1/udp/4001/quic-v1/p2p/" PEER, &err),
        0);
    assert_int_equal(al__maddr_to_quic_dial(&m, &q, &err), 0);
    assert_false(q.is_dns);
    assert_int_equal(q.family, AF_INET);
    assert_int_equal(q.port, 4001);
    assert_string_equal(q.host, "127.0.0.1");
    assert_int_equal(q.addrlen, sizeof(struct sockaddr_in));
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&q.addr;
    assert_int_equal(sin->sin_family, AF_INET);
    assert_int_equal(ntohs(sin->sin_port), 4001);
    assert_int_equal(ntohl(sin->sin_addr.s_addr), 0x7f000001);
    assert_true(q.has_peer);
    al_peer_id want;
    assert_int_equal(al_peer_id_parse(&want, PEER), 0);
    assert_true(al_peer_id_equal(&q.peer, &want));
    assert_true(al_peer_id_equal(al__maddr_peer(&m), &want));

    assert_int_equal(al__maddr_parse(&m, "/ip6/::1/udp/9/quic-v1", &err), 0);
    assert_int_equal(al__maddr_to_quic_dial(&m, &q, &err), 0);
    assert_false(q.has_peer);
    assert_null(al__maddr_peer(&m));
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&q.addr;
    assert_int_equal(sin6->sin6_family, AF_INET6);
    assert_int_equal(ntohs(sin6->sin6_port), 9);
    assert_true(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
    assert_int_equal(q.addrlen, sizeof(struct sockaddr_in6));

    /* Listen addresses: port 0 and 0.0.0.0 pass the plain check only. */
    assert_int_equal(al__maddr_parse(&m, "/ip4/0.0.0.0/udp/0/quic-v1", &err),
                     0);
    assert_int_equal(al__maddr_to_quic(&m, &q, &err), 0);
    assert_int_equal(al__maddr_to_quic_dial(&m, &q, &err), AL_EINVAL);
    assert_non_null(strstr(err.msg, "port 0"));
    assert_int_equal(al__maddr_parse(&m, "/ip6/::/udp/5/quic-v1", &err), 0);
    assert_int_equal(al__maddr_to_quic_dial(&m, &q, &err), AL_EINVAL);
    assert_non_null(strstr(err.msg, "unspecified"));
}

static void expect_not_quic(const char *text, const char *needle)
{
    al__maddr m;
    al__quic_addr q;
    al_error err = {0};
    assert_int_equal(al__maddr_parse(&m, text, &err), 0);
    assert_int_equal(al__maddr_to_quic(&m, &q, &err), AL_EINVAL);
    if (!strstr(err.msg, needle))
        fail_msg("'%s': error '%s' lacks '%s'", text, err.msg, needle);
}

static void not_dialable(void **state)
{
    (void)state;
    expect_not_quic("/ip4/1.2.3.4/tcp/80", "TCP is not supported");
    expect_not_quic("/ip4/1.2.3.4/udp/80", "missing /quic-v1");
    expect_not_quic("/ip4/1.2.3.4", "missing /udp");
    expect_not_quic("/ip4/1.2.3.4/quic-v1", "expected /udp");
    expect_not_quic("/ip4/1.2.3.4/udp/1/udp/2", "expected /quic-v1");
    expect_not_quic("/p2p/" PEER, "starts with /ip4");
    expect_not_quic("/udp/1/quic-v1", "starts with /ip4");
    expect_not_quic("/ip4/1.2.3.4/udp/1/quic-v1/quic-v1",
                    "unexpected /quic-v1");
    expect_not_quic("/ip4/1.2.3.4/udp/1/quic-v1/p2p/" PEER "/p2p/" PEER,
                    "unexpected /p2p after /p2p");
}

static void dns_resolve(void **state)
{
    (void)state;
    al__maddr m;
    al__quic_addr q;
    al_error err = {0};
    assert_int_equal(
        al__maddr_parse(&m, "/dns4/localhost/udp/4001/quic-v1", &err), 0);
    assert_int_equal(al__maddr_to_quic_dial(&m, &q, &err), 0);
    assert_true(q.is_dns);
    assert_int_equal(q.family, AF_INET);
    assert_string_equal(q.host, "localhost");
    assert_int_equal(q.addrlen, 0);
    /* localhost comes from /etc/hosts: no query leaves the machine. */
    assert_int_equal(al__maddr_resolve(&q, &err), 0);
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&q.addr;
    assert_int_equal(sin->sin_family, AF_INET);
    assert_int_equal(ntohs(sin->sin_port), 4001);
    assert_int_equal(ntohl(sin->sin_addr.s_addr), 0x7f000001);
    assert_int_equal(al__maddr_parse(&m, "/dns/localhost/udp/1/quic-v1", &err),
                     0);
    assert_int_equal(al__maddr_to_quic(&m, &q, &err), 0);
    assert_int_equal(q.family, AF_UNSPEC);
    assert_int_equal(al__maddr_parse(&m, "/dns6/localhost/udp/1/quic-v1", &err),
                     0);
    assert_int_equal(al__maddr_to_quic(&m, &q, &err), 0);
    assert_int_equal(q.family, AF_INET6);
    /* Resolving an IP address is a no-op. */
    assert_int_equal(al__maddr_parse(&m, "/ip4/127.0.0.2/udp/7/quic-v1", &err),
                     0);
    assert_int_equal(al__maddr_to_quic(&m, &q, &err), 0);
    assert_int_equal(al__maddr_resolve(&q, &err), 0);
    assert_int_equal(ntohl(((struct sockaddr_in *)&q.addr)->sin_addr.s_addr),
                     0x7f000002);
}

static void from_sockaddr(void **state)
{
    (void)state;
    struct sockaddr_in sin = {0};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(4001);
    sin.sin_addr.s_addr = htonl(0x7f000001);
    char text[AL__MADDR_MAX_TEXT + 1];
    uint8_t bin[AL__MADDR_MAX_BYTES], want[128];
    al_error err = {0};
    int n = al__maddr_sockaddr_text((struct sockaddr *)&sin, NULL, text,
                                    sizeof(text), &err);
    assert_int_equal(n, (int)strlen("/ip4/127.0.0.1/udp/4001/quic-v1"));
    assert_string_equal(text, "/ip4/127.0.0.1/udp/4001/quic-v1");
    n = al__maddr_sockaddr_bytes((struct sockaddr *)&sin, NULL, bin,
                                 sizeof(bin), &err);
    size_t wl = unhex("047f00000191020fa1cd03", want);
    assert_int_equal(n, (int)wl);
    assert_memory_equal(bin, want, wl);

    al_peer_id peer;
    assert_int_equal(al_peer_id_parse(&peer, PEER), 0);
    struct sockaddr_in6 sin6 = {0};
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(8020);
    sin6.sin6_addr = in6addr_loopback;
    n = al__maddr_sockaddr_text((struct sockaddr *)&sin6, &peer, text,
                                sizeof(text), &err);
    assert_true(n > 0);
    assert_string_equal(text, "/ip6/::1/udp/8020/quic-v1/p2p/" PEER);

    /* IPv4-mapped IPv6 (a dual-stack socket) is written as /ip4. */
    inet_pton(AF_INET6, "::ffff:127.0.0.3", &sin6.sin6_addr);
    n = al__maddr_sockaddr_text((struct sockaddr *)&sin6, NULL, text,
                                sizeof(text), &err);
    assert_true(n > 0);
    assert_string_equal(text, "/ip4/127.0.0.3/udp/8020/quic-v1");

    struct sockaddr_un sun = {0};
    sun.sun_family = AF_UNIX;
    assert_int_equal(al__maddr_sockaddr_text((struct sockaddr *)&sun, NULL,
                                             text, sizeof(text), &err),
                     AL_EINVAL);
    assert_non_null(strstr(err.msg, "family"));
    assert_int_equal(
        al__maddr_sockaddr_text((struct sockaddr *)&sin, NULL, text, 5, &err),
        AL_ELIMIT);

    /* The round trip a transport does: sockaddr -> maddr -> sockaddr. */
    al__maddr m;
    al__quic_addr q;
    assert_int_equal(
        al__maddr_from_sockaddr(&m, (struct sockaddr *)&sin, &peer, &err), 0);
    assert_int_equal(al__maddr_to_quic_dial(&m, &q, &err), 0);
    assert_memory_equal(&q.addr, &sin, sizeof(sin));
    assert_true(q.has_peer && al_peer_id_equal(&q.peer, &peer));
}

static void push_p2p(void **state)
{
    (void)state;
    al__maddr m;
    al_peer_id peer;
    assert_int_equal(al_peer_id_parse(&peer, PEER), 0);
    assert_int_equal(al__maddr_parse(&m, "/ip4/127.0.0.1/udp/1/quic-v1", NULL),
                     0);
    assert_int_equal(al__maddr_push_p2p(&m, &peer), 0);
    char text[AL__MADDR_MAX_TEXT + 1];
    assert_true(al__maddr_format(&m, text, sizeof(text)) > 0);
    assert_string_equal(text, "/ip4/127.0.0.1/udp/1/quic-v1/p2p/" PEER);
    m.n = AL__MADDR_MAX_COMPONENTS;
    assert_int_equal(al__maddr_push_p2p(&m, &peer), AL_ELIMIT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(vectors),       cmocka_unit_test(text_errors),
        cmocka_unit_test(limits),        cmocka_unit_test(binary_errors),
        cmocka_unit_test(output_bounds), cmocka_unit_test(quic_ip),
        cmocka_unit_test(not_dialable),  cmocka_unit_test(dns_resolve),
        cmocka_unit_test(from_sockaddr), cmocka_unit_test(push_p2p),
    };
    return cmocka_run_group_tests_name("multiaddr", tests, NULL, NULL);
}
