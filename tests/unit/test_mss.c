/* mss.c: multistream-select 1.0, both roles, fragmentation, garbage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "actorlib.h"
#include "mss.h"

/* From the spec / libp2p.md A2: "/multistream/1.0.0\n" is 19 bytes (0x13),
 * "/ipfs/ping/1.0.0\n" 17 (0x11), "na\n" 3. */
#define HDR  "\x13/multistream/1.0.0\n"
#define PING "\x11/ipfs/ping/1.0.0\n"
#define ID   "\x0f/ipfs/id/1.0.0\n"
#define NA   "\x03na\n"

static const char *const ping_only[] = {"/ipfs/ping/1.0.0"};
static const char *const id_then_ping[] = {"/ipfs/id/1.0.0",
                                           "/ipfs/ping/1.0.0"};

static bool serves_ping_and_kameo(const char *p, size_t len, void *ud)
{
    (void)ud;
    return (len == 16 && strcmp(p, "/ipfs/ping/1.0.0") == 0) ||
           (len == 8 && strcmp(p, "/kameo/1") == 0);
}

static void assert_buf(const al_buf *b, const char *want, size_t len)
{
    assert_int_equal(b->len, len);
    assert_memory_equal(b->data, want, len);
}

#define LIT(s) (const uint8_t *)(s), sizeof(s) - 1

static void message_encoding(void **state)
{
    (void)state;
    al_buf b = {0};
    assert_int_equal(al__mss_write_message(&b, "na", 2), 0);
    assert_buf(&b, NA, 4);
    al_buf_reset(&b);
    assert_int_equal(al__mss_write_message(&b, AL__MSS_HEADER, 18), 0);
    assert_buf(&b, HDR, 20);
    al_buf_reset(&b);
    /* 200 bytes of text + newline = 201 = varint c9 01. */
    char text[200];
    memset(text, 'a', sizeof(text));
    assert_int_equal(al__mss_write_message(&b, text, sizeof(text)), 0);
    assert_int_equal(b.len, 2 + 201);
    assert_int_equal(b.data[0], 0xc9);
    assert_int_equal(b.data[1], 0x01);
    assert_int_equal(b.data[b.len - 1], '\n');
    al_buf_free(&b);
}

static void initiator_sends_header_and_proposal_at_once(void **state)
{
    (void)state;
    al__mss m;
    al_buf out = {0};
    assert_int_equal(al__mss_init_initiator(&m, ping_only, 1, &out, NULL), 0);
    assert_buf(&out, HDR PING, sizeof(HDR PING) - 1);
    assert_null(al__mss_selected(&m, NULL));
    al_buf_free(&out);
}

static void initiator_selects_and_leaves_app_data(void **state)
{
    (void)state;
    al__mss m;
    al_buf out = {0};
    assert_int_equal(al__mss_init_initiator(&m, ping_only, 1, &out, NULL), 0);
    al_buf_reset(&out);
    const char in[] = HDR PING "0123456789";
    size_t used = 0;
    int rc = al__mss_feed(&m, LIT(in), &used, &out, NULL);
    assert_int_equal(rc, AL__MSS_SELECTED);
    assert_int_equal(used, sizeof(HDR PING) - 1);
    assert_memory_equal(in + used, "0123456789", 10);
    assert_int_equal(out.len, 0);
    size_t len = 0;
    assert_string_equal(al__mss_selected(&m, &len), "/ipfs/ping/1.0.0");
    assert_int_equal(len, 16);
    assert_int_equal(al__mss_selected_index(&m), 0);
    /* Once selected, nothing more is consumed. */
    rc = al__mss_feed(&m, LIT("xyz"), &used, &out, NULL);
    assert_int_equal(rc, AL__MSS_SELECTED);
    assert_int_equal(used, 0);
    al_buf_free(&out);
}

static void initiator_byte_by_byte(void **state)
{
    (void)state;
    al__mss m;
    al_buf out = {0};
    assert_int_equal(al__mss_init_initiator(&m, ping_only, 1, &out, NULL), 0);
    const char in[] = HDR PING;
    size_t n = sizeof(in) - 1;
    for (size_t i = 0; i < n; i++) {
        size_t used = 0;
        int rc =
            al__mss_feed(&m, (const uint8_t *)in + i, 1, &used, &out, NULL);
        assert_int_equal(used, 1);
        assert_int_equal(rc, i + 1 == n ? AL__MSS_SELECTED : AL__MSS_PENDING);
    }
    assert_string_equal(al__mss_selected(&m, NULL), "/ipfs/ping/1.0.0");
    al_buf_free(&out);
}

static void initiator_tries_next_on_na(void **state)
{
    (void)state;
    al__mss m;
    al_buf out = {0};
    assert_int_equal(al__mss_init_initiator(&m, id_then_ping, 2, &out, NULL),
                     0);
    assert_buf(&out, HDR ID, sizeof(HDR ID) - 1);
    al_buf_reset(&out);
    size_t used;
    assert_int_equal(al__mss_feed(&m, LIT(HDR NA), &used, &out, NULL),
                     AL__MSS_PENDING);
    assert_buf(&out, PING, sizeof(PING) - 1);
    assert_int_equal(al__mss_feed(&m, LIT(PING), &used, &out, NULL),
                     AL__MSS_SELECTED);
    assert_int_equal(al__mss_selected_index(&m), 1);
    al_buf_free(&out);
}

static void initiator_reports_not_supported(void **state)
{
    (void)state;
    al__mss m;
    al_buf out = {0};
    al_error err = {0};
    assert_int_equal(al__mss_init_initiator(&m, ping_only, 1, &out, NULL), 0);
    size_t used;
    int rc = al__mss_feed(&m, LIT(HDR NA "trailing"), &used, &out, &err);
    assert_int_equal(rc, AL_E_UNSUPPORTED_PROTOCOLS);
    assert_int_equal(err.code, AL_E_UNSUPPORTED_PROTOCOLS);
    assert_int_equal(al__mss_failure(&m), AL__MSS_FAIL_UNSUPPORTED);
    /* The failure sticks. */
    rc = al__mss_feed(&m, LIT(PING), &used, &out, NULL);
    assert_int_equal(rc, AL_E_UNSUPPORTED_PROTOCOLS);
    assert_int_equal(used, 0);
    al_buf_free(&out);
}

static void initiator_rejects_other_answers(void **state)
{
    (void)state;
    al__mss m;
    al_buf out = {0};
    assert_int_equal(al__mss_init_initiator(&m, ping_only, 1, &out, NULL), 0);
    size_t used;
    assert_int_equal(al__mss_feed(&m, LIT(HDR ID), &used, &out, NULL),
                     AL_EPROTO);
    assert_int_equal(al__mss_failure(&m), AL__MSS_FAIL_UNEXPECTED);
    /* An answer before the header is a wrong header. */
    assert_int_equal(al__mss_init_initiator(&m, ping_only, 1, &out, NULL), 0);
    assert_int_equal(al__mss_feed(&m, LIT(NA), &used, &out, NULL), AL_EPROTO);
    assert_int_equal(al__mss_failure(&m), AL__MSS_FAIL_HEADER);
    al_buf_free(&out);
}

static void initiator_rejects_bad_lists(void **state)
{
    (void)state;
    al__mss m;
    al_buf out = {0};
    const char *const empty[] = {""};
    const char *const newline[] = {"/a\nb"};
    const char *const null[] = {NULL};
    assert_int_equal(al__mss_init_initiator(&m, ping_only, 0, &out, NULL),
                     AL_EINVAL);
    assert_int_equal(al__mss_init_initiator(&m, empty, 1, &out, NULL),
                     AL_EINVAL);
    assert_int_equal(al__mss_init_initiator(&m, newline, 1, &out, NULL),
                     AL_EINVAL);
    assert_int_equal(al__mss_init_initiator(&m, null, 1, &out, NULL),
                     AL_EINVAL);
    assert_int_equal(out.len, 0);
    al_buf_free(&out);
}

static void responder_coalesced_with_app_data(void **state)
{
    (void)state;
    al__mss m;
    al_buf out = {0};
    al__mss_init_responder(&m, serves_ping_and_kameo, NULL);
    /* A rust V1Lazy dialer sends everything in one go. */
    const char in[] = HDR "\x09/kameo/1\n"
                          "\xa1\x63"
                          "Ask";
    size_t used = 0;
    int rc = al__mss_feed(&m, LIT(in), &used, &out, NULL);
    assert_int_equal(rc, AL__MSS_SELECTED);
    assert_int_equal(used, sizeof(in) - 1 - 5);
    assert_buf(&out, HDR "\x09/kameo/1\n", 20 + 10);
    assert_string_equal(al__mss_selected(&m, NULL), "/kameo/1");
    al_buf_free(&out);
}

static void responder_byte_by_byte(void **state)
{
    (void)state;
    al__mss m;
    al_buf out = {0};
    al__mss_init_responder(&m, serves_ping_and_kameo, NULL);
    const char in[] = HDR PING;
    size_t n = sizeof(in) - 1;
    for (size_t i = 0; i < n; i++) {
        size_t used = 0;
        int rc =
            al__mss_feed(&m, (const uint8_t *)in + i, 1, &used, &out, NULL);
        assert_int_equal(used, 1);
        assert_int_equal(rc, i + 1 == n ? AL__MSS_SELECTED : AL__MSS_PENDING);
        /* The header is answered as soon as it is complete. */
        if (i + 1 == 20)
            assert_buf(&out, HDR, 20);
    }
    assert_buf(&out, HDR PING, n);
    al_buf_free(&out);
}

static void responder_na_then_select(void **state)
{
    (void)state;
    al__mss m;
    al_buf out = {0};
    al__mss_init_responder(&m, serves_ping_and_kameo, NULL);
    size_t used;
    assert_int_equal(
        al__mss_feed(&m, LIT(HDR ID "\x03ls\n"), &used, &out, NULL),
        AL__MSS_PENDING);
    assert_buf(&out, HDR NA NA, 20 + 4 + 4);
    al_buf_reset(&out);
    assert_int_equal(al__mss_feed(&m, LIT(PING), &used, &out, NULL),
                     AL__MSS_SELECTED);
    assert_buf(&out, PING, sizeof(PING) - 1);
    al_buf_free(&out);
}

static void responder_limits_rejections(void **state)
{
    (void)state;
    al__mss m;
    al_buf out = {0};
    al_error err = {0};
    al__mss_init_responder(&m, serves_ping_and_kameo, NULL);
    size_t used;
    assert_int_equal(al__mss_feed(&m, LIT(HDR), &used, &out, NULL),
                     AL__MSS_PENDING);
    for (int i = 0; i < AL__MSS_MAX_REJECTS; i++)
        assert_int_equal(al__mss_feed(&m, LIT(ID), &used, &out, NULL),
                         AL__MSS_PENDING);
    assert_int_equal(out.len, 20 + AL__MSS_MAX_REJECTS * 4);
    assert_int_equal(al__mss_feed(&m, LIT(ID), &used, &out, &err), AL_ELIMIT);
    assert_int_equal(al__mss_failure(&m), AL__MSS_FAIL_TOO_MANY);
    assert_int_equal(err.code, AL_ELIMIT);
    al_buf_free(&out);
}

static void responder_without_table_refuses_everything(void **state)
{
    (void)state;
    al__mss m;
    al_buf out = {0};
    al__mss_init_responder(&m, NULL, NULL);
    size_t used;
    assert_int_equal(al__mss_feed(&m, LIT(HDR PING), &used, &out, NULL),
                     AL__MSS_PENDING);
    assert_buf(&out, HDR NA, 24);
    al_buf_free(&out);
}

static int feed_responder(const uint8_t *in, size_t len, enum al__mss_fail *f)
{
    al__mss m;
    al_buf out = {0};
    size_t used;
    al__mss_init_responder(&m, serves_ping_and_kameo, NULL);
    int rc = al__mss_feed(&m, in, len, &used, &out, NULL);
    *f = al__mss_failure(&m);
    al_buf_free(&out);
    return rc;
}

static void garbage_is_classified(void **state)
{
    (void)state;
    enum al__mss_fail f;
    /* 0x81 0x00 is a non-minimal varint. */
    assert_int_equal(feed_responder(LIT("\x81\x00"), &f), AL_EDECODE);
    assert_int_equal(f, AL__MSS_FAIL_VARINT);
    /* A length of zero cannot hold the newline. */
    assert_int_equal(feed_responder(LIT("\x00"), &f), AL_EDECODE);
    assert_int_equal(f, AL__MSS_FAIL_NEWLINE);
    /* Header text without its newline. */
    assert_int_equal(feed_responder(LIT("\x13/multistream/1.0.0x"), &f),
                     AL_EDECODE);
    assert_int_equal(f, AL__MSS_FAIL_NEWLINE);
    /* Another version of the header. */
    assert_int_equal(feed_responder(LIT("\x13/multistream/2.0.0\n"), &f),
                     AL_EPROTO);
    assert_int_equal(f, AL__MSS_FAIL_HEADER);
    /* 1026 bytes (0x82 0x08) exceed 1024 + newline. */
    assert_int_equal(feed_responder(LIT("\x82\x08"), &f), AL_ELIMIT);
    assert_int_equal(f, AL__MSS_FAIL_TOO_LONG);
    /* Three varint bytes are at least 2^14. */
    assert_int_equal(feed_responder(LIT("\xff\xff"), &f), AL_ELIMIT);
    assert_int_equal(f, AL__MSS_FAIL_TOO_LONG);
    /* Incomplete input is not an error. */
    assert_int_equal(feed_responder(LIT("\x13/multi"), &f), AL__MSS_PENDING);
    assert_int_equal(f, AL__MSS_FAIL_NONE);
}

static bool serves_long(const char *p, size_t len, void *ud)
{
    (void)p;
    return len == *(size_t *)ud;
}

static void longest_protocol_is_accepted(void **state)
{
    (void)state;
    char proto[AL__MSS_PROTO_MAX + 1];
    memset(proto, 'p', AL__MSS_PROTO_MAX);
    proto[0] = '/';
    proto[AL__MSS_PROTO_MAX] = '\0';
    const char *const list[] = {proto};
    size_t want = AL__MSS_PROTO_MAX;
    al__mss init, resp;
    al_buf a = {0}, b = {0};
    assert_int_equal(al__mss_init_initiator(&init, list, 1, &a, NULL), 0);
    al__mss_init_responder(&resp, serves_long, &want);
    size_t used;
    assert_int_equal(al__mss_feed(&resp, a.data, a.len, &used, &b, NULL),
                     AL__MSS_SELECTED);
    assert_int_equal(al__mss_feed(&init, b.data, b.len, &used, &a, NULL),
                     AL__MSS_SELECTED);
    size_t len;
    assert_non_null(al__mss_selected(&init, &len));
    assert_int_equal(len, AL__MSS_PROTO_MAX);
    /* One byte more is refused by both sides. */
    char longer[AL__MSS_PROTO_MAX + 2];
    memset(longer, 'p', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    const char *const bad[] = {longer};
    assert_int_equal(al__mss_init_initiator(&init, bad, 1, &a, NULL),
                     AL_EINVAL);
    al_buf_reset(&a);
    assert_int_equal(al__mss_write_message(&a, longer, strlen(longer)), 0);
    al__mss_init_responder(&resp, serves_long, &want);
    assert_int_equal(al__mss_feed(&resp, LIT(HDR), &used, &b, NULL),
                     AL__MSS_PENDING);
    assert_int_equal(al__mss_feed(&resp, a.data, a.len, &used, &b, NULL),
                     AL_ELIMIT);
    al_buf_free(&a);
    al_buf_free(&b);
}

/* Both roles wired together through random fragmentation. Even rounds send
 * data right behind a single proposal (as a lazy dialer does); odd rounds
 * go through an "na" first. */
static void both_roles_random_fragments(void **state)
{
    (void)state;
    uint32_t seed = 12345;
    for (int round = 0; round < 200; round++) {
        al__mss init, resp;
        al_buf to_resp = {0}, to_init = {0};
        bool lazy = round % 2 == 0;
        assert_int_equal(al__mss_init_initiator(&init,
                                                lazy ? ping_only : id_then_ping,
                                                lazy ? 1 : 2, &to_resp, NULL),
                         0);
        if (lazy)
            al_buf_append(&to_resp, "DATA", 4);
        al__mss_init_responder(&resp, serves_ping_and_kameo, NULL);
        int ri = AL__MSS_PENDING, rr = AL__MSS_PENDING;
        size_t ro = 0, io = 0; /* read offsets */
        size_t app_at = 0;
        for (int step = 0; step < 1000 && ri != AL__MSS_SELECTED; step++) {
            seed = seed * 1103515245u + 12345u;
            size_t chunk = 1 + (seed >> 16) % 7;
            if (rr == AL__MSS_PENDING && ro < to_resp.len) {
                size_t n = to_resp.len - ro < chunk ? to_resp.len - ro : chunk;
                size_t used;
                rr = al__mss_feed(&resp, to_resp.data + ro, n, &used, &to_init,
                                  NULL);
                assert_true(rr >= 0);
                ro += used;
                if (rr == AL__MSS_SELECTED)
                    app_at = ro;
            }
            if (io < to_init.len) {
                size_t n = to_init.len - io < chunk ? to_init.len - io : chunk;
                size_t used;
                ri = al__mss_feed(&init, to_init.data + io, n, &used, &to_resp,
                                  NULL);
                assert_true(ri >= 0);
                io += used;
            }
        }
        assert_int_equal(ri, AL__MSS_SELECTED);
        assert_int_equal(rr, AL__MSS_SELECTED);
        assert_string_equal(al__mss_selected(&init, NULL), "/ipfs/ping/1.0.0");
        assert_string_equal(al__mss_selected(&resp, NULL), "/ipfs/ping/1.0.0");
        /* The responder stopped right before the initiator's data. */
        if (lazy)
            assert_memory_equal(to_resp.data + app_at, "DATA", 4);
        else
            assert_int_equal(app_at, to_resp.len);
        al_buf_free(&to_resp);
        al_buf_free(&to_init);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(message_encoding),
        cmocka_unit_test(initiator_sends_header_and_proposal_at_once),
        cmocka_unit_test(initiator_selects_and_leaves_app_data),
        cmocka_unit_test(initiator_byte_by_byte),
        cmocka_unit_test(initiator_tries_next_on_na),
        cmocka_unit_test(initiator_reports_not_supported),
        cmocka_unit_test(initiator_rejects_other_answers),
        cmocka_unit_test(initiator_rejects_bad_lists),
        cmocka_unit_test(responder_coalesced_with_app_data),
        cmocka_unit_test(responder_byte_by_byte),
        cmocka_unit_test(responder_na_then_select),
        cmocka_unit_test(responder_limits_rejections),
        cmocka_unit_test(responder_without_table_refuses_everything),
        cmocka_unit_test(garbage_is_classified),
        cmocka_unit_test(longest_protocol_is_accepted),
        cmocka_unit_test(both_roles_random_fragments),
    };
    return cmocka_run_group_tests_name("mss", tests, NULL, NULL);
}
