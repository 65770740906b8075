/* mpjson.c: MessagePack without a schema into JSON, with bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mpjson.h"

static char *decode_text(const uint8_t *b, size_t n)
{
    json_t *v = NULL;
    al_error e;
    if (gw_mpjson_decode(b, n, &v, &e))
        return NULL;
    char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(v);
    return t;
}

static void expect(const uint8_t *b, size_t n, const char *json)
{
    char *t = decode_text(b, n);
    assert_non_null(t);
    assert_string_equal(t, json);
    free(t);
}

static void expect_bad(const uint8_t *b, size_t n)
{
    json_t *v = NULL;
    al_error e = {0};
    assert_int_equal(gw_mpjson_decode(b, n, &v, &e), AL_EDECODE);
    assert_null(v);
    assert_true(strlen(e.msg) > 0);
}

static void scalars(void **state)
{
    (void)state;
    expect((const uint8_t[]){0x0a}, 1, "10");
    expect((const uint8_t[]){0xff}, 1, "-1");
    expect((const uint8_t[]){0xc0}, 1, "null");
    expect((const uint8_t[]){0xc3}, 1, "true");
    expect((const uint8_t[]){0xc2}, 1, "false");
    expect((const uint8_t[]){0xcd, 0x01, 0x00}, 3, "256");
    expect((const uint8_t[]){0xd0, 0x80}, 2, "-128");
    expect((const uint8_t[]){0xd1, 0xff, 0x7f}, 3, "-129");
    expect((const uint8_t[]){0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0}, 9,
           "-9223372036854775808");
    /* Above INT64_MAX: decimal text, as the schema mapping writes it. */
    expect(
        (const uint8_t[]){0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
        9, "\"18446744073709551615\"");
    expect((const uint8_t[]){0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0}, 9, "1.5");
    expect((const uint8_t[]){0xca, 0x3f, 0xc0, 0, 0}, 5, "1.5");
    expect((const uint8_t[]){0xa2, 'h', 'i'}, 3, "\"hi\"");
    expect((const uint8_t[]){0xc4, 0x03, 'a', 'b', 'c'}, 5, "\"YWJj\"");
}

static void containers(void **state)
{
    (void)state;
    /* {"Underflow": {"count": 20, "amount": 100}} as rmp_serde writes it */
    static const uint8_t err[] = {0x81, 0xa9, 'U', 'n', 'd',  'e',  'r',
                                  'f',  'l',  'o', 'w', 0x82, 0xa5, 'c',
                                  'o',  'u',  'n', 't', 0x14, 0xa6, 'a',
                                  'm',  'o',  'u', 'n', 't',  0x64};
    expect(err, sizeof(err), "{\"Underflow\":{\"count\":20,\"amount\":100}}");
    expect((const uint8_t[]){0x92, 0x01, 0xa1, 'x'}, 4, "[1,\"x\"]");
    expect((const uint8_t[]){0x81, 0x07, 0xc0}, 3, "{\"7\":null}");
    expect((const uint8_t[]){0xdc, 0x00, 0x01, 0x05}, 4, "[5]");
}

static void refused(void **state)
{
    (void)state;
    expect_bad((const uint8_t[]){0}, 0);                /* empty */
    expect_bad((const uint8_t[]){0x01, 0x02}, 2);       /* trailing */
    expect_bad((const uint8_t[]){0xa3, 'a'}, 2);        /* truncated */
    expect_bad((const uint8_t[]){0xc1}, 1);             /* reserved */
    expect_bad((const uint8_t[]){0xd4, 0x01, 0x02}, 3); /* ext */
    expect_bad((const uint8_t[]){0xa1, 0xff}, 2);       /* not UTF-8 */
    expect_bad((const uint8_t[]){0x82, 0xa1, 'a', 1, 0xa1, 'a', 2}, 7);
    expect_bad((const uint8_t[]){0x81, 0x90, 0x01}, 3);      /* array key */
    expect_bad((const uint8_t[]){0x81, 0xa2, 'a', 0, 1}, 5); /* NUL key */
    expect_bad((const uint8_t[]){0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0}, 9);
    /* Counts beyond the input are refused before anything is allocated. */
    expect_bad((const uint8_t[]){0xdd, 0xff, 0xff, 0xff, 0xff}, 5);
    expect_bad((const uint8_t[]){0xdf, 0x7f, 0xff, 0xff, 0xff, 0x01}, 6);
    expect_bad((const uint8_t[]){0xc6, 0xff, 0xff, 0xff, 0xff}, 5);
}

static void depth_is_bounded(void **state)
{
    (void)state;
    uint8_t deep[GW_MPJSON_DEPTH + 2];
    memset(deep, 0x91, sizeof(deep));
    deep[sizeof(deep) - 1] = 0x01;
    expect_bad(deep, sizeof(deep));
    uint8_t ok[GW_MPJSON_DEPTH + 1];
    memset(ok, 0x91, sizeof(ok));
    ok[sizeof(ok) - 1] = 0x01;
    char *t = decode_text(ok, sizeof(ok));
    assert_non_null(t);
    free(t);
}

static void base64(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } v[] = {{"", ""},
             {"f", "Zg=="},
             {"fo", "Zm8="},
             {"foo", "Zm9v"},
             {"foob", "Zm9vYg=="},
             {"fooba", "Zm9vYmE="},
             {"foobar", "Zm9vYmFy"}};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        char *b = gw_base64((const uint8_t *)v[i].in, strlen(v[i].in));
        assert_string_equal(b, v[i].out);
        free(b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scalars), cmocka_unit_test(containers),
        cmocka_unit_test(refused), cmocka_unit_test(depth_is_bounded),
        cmocka_unit_test(base64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
