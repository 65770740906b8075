/* mp.c: rmp_serde's named form, byte for byte, and serde's decoding rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "actorlib.h"
#include "counter.h"

typedef struct sample {
    int8_t i8;
    int64_t i64;
    uint16_t u16;
    uint64_t u64;
    double f64;
    bool flag;
    char *name;
    char *note; /* Option<String> */
    al_buf raw; /* Vec<u8> */
} sample;

static const al_mp_field sample_fields[] = {
    AL_MP_FIELD(sample, i8, AL_MP_I8),
    AL_MP_FIELD(sample, i64, AL_MP_I64),
    AL_MP_FIELD(sample, u16, AL_MP_U16),
    AL_MP_FIELD(sample, u64, AL_MP_U64),
    AL_MP_FIELD(sample, f64, AL_MP_F64),
    AL_MP_FIELD(sample, flag, AL_MP_BOOL),
    AL_MP_FIELD(sample, name, AL_MP_STR),
    AL_MP_FIELD(sample, note, AL_MP_OPT_STR),
    AL_MP_FIELD(sample, raw, AL_MP_BYTES),
};
static const al_mp_struct sample_mp = AL_MP_STRUCT("Sample", sample_fields);

#define BYTES(...) ((const uint8_t[]){__VA_ARGS__})
#define LEN(...)   sizeof((const uint8_t[]){__VA_ARGS__})

static void inc_matches_rmp_serde(void **s)
{
    (void)s;
    counter_amount inc = {10};
    al_buf b = {0};
    assert_int_equal(al_mp_encode_struct(&counter_amount_mp, &inc, &b), 0);
    const uint8_t want[] = {0x81, 0xa6, 'a', 'm', 'o', 'u', 'n', 't', 0x0a};
    assert_int_equal(b.len, sizeof(want));
    assert_memory_equal(b.data, want, sizeof(want));
    counter_amount back = {0};
    assert_int_equal(
        al_mp_decode_struct(&counter_amount_mp, b.data, b.len, &back, NULL), 0);
    assert_int_equal(back.amount, 10);
    al_buf_free(&b);
}

static void array_form_accepted(void **s)
{
    (void)s;
    counter_amount v = {0};
    /* [300] as rmp_serde's compact (tuple) form. */
    assert_int_equal(al_mp_decode_struct(&counter_amount_mp,
                                         BYTES(0x91, 0xcd, 0x01, 0x2c), 4, &v,
                                         NULL),
                     0);
    assert_int_equal(v.amount, 300);
    al_error err;
    assert_int_equal(al_mp_decode_struct(&counter_amount_mp,
                                         BYTES(0x92, 0x01, 0x02), 3, &v, &err),
                     AL_EDECODE);
    assert_non_null(strstr(err.msg, "invalid length 2"));
}

static void integer_encodings_are_smallest(void **s)
{
    (void)s;
    struct {
        int64_t v;
        uint8_t bytes[9];
        size_t n;
    } cases[] = {
        {0, {0x00}, 1},
        {127, {0x7f}, 1},
        {128, {0xcc, 0x80}, 2},
        {256, {0xcd, 0x01, 0x00}, 3},
        {65536, {0xce, 0x00, 0x01, 0x00, 0x00}, 5},
        {-1, {0xff}, 1},
        {-32, {0xe0}, 1},
        {-33, {0xd0, 0xdf}, 2},
        {-129, {0xd1, 0xff, 0x7f}, 3},
        {INT64_MIN, {0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0}, 9},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        al_buf b = {0};
        assert_int_equal(al_mp_encode_i64(cases[i].v, &b), 0);
        assert_int_equal(b.len, cases[i].n);
        assert_memory_equal(b.data, cases[i].bytes, cases[i].n);
        int64_t back;
        assert_int_equal(al_mp_decode_i64(b.data, b.len, &back, NULL), 0);
        assert_true(back == cases[i].v);
        al_buf_free(&b);
    }
    al_buf b = {0};
    assert_int_equal(al_mp_encode_u64(UINT64_MAX, &b), 0);
    assert_int_equal(b.len, 9);
    assert_int_equal(b.data[0], 0xcf);
    uint64_t u;
    assert_int_equal(al_mp_decode_u64(b.data, b.len, &u, NULL), 0);
    assert_true(u == UINT64_MAX);
    int64_t i;
    assert_int_equal(al_mp_decode_i64(b.data, b.len, &i, NULL), AL_EDECODE);
    al_buf_free(&b);
    assert_int_equal(al_mp_decode_u64(BYTES(0xff), 1, &u, NULL), AL_EDECODE);
}

static void full_struct_round_trip(void **s)
{
    (void)s;
    uint8_t raw[] = {1, 200};
    sample in = {-5,   -1234567890123LL, 65535, 1ULL << 40, 1.5, true, "hé",
                 NULL, {raw, 2, 2}};
    al_buf b = {0};
    assert_int_equal(al_mp_encode_struct(&sample_mp, &in, &b), 0);
    /* Option::None is nil; Vec<u8> without serde_bytes is an int array. */
    const uint8_t note_nil[] = {0xa4, 'n', 'o', 't', 'e', 0xc0};
    assert_non_null(memmem(b.data, b.len, note_nil, sizeof(note_nil)));
    const uint8_t raw_arr[] = {0xa3, 'r', 'a', 'w', 0x92, 0x01, 0xcc, 0xc8};
    assert_non_null(memmem(b.data, b.len, raw_arr, sizeof(raw_arr)));
    sample out;
    memset(&out, 0, sizeof(out));
    assert_int_equal(al_mp_decode_struct(&sample_mp, b.data, b.len, &out, NULL),
                     0);
    assert_int_equal(out.i8, -5);
    assert_true(out.i64 == -1234567890123LL);
    assert_int_equal(out.u16, 65535);
    assert_true(out.u64 == 1ULL << 40);
    assert_true(out.f64 == 1.5);
    assert_true(out.flag);
    assert_string_equal(out.name, "hé");
    assert_null(out.note);
    assert_int_equal(out.raw.len, 2);
    assert_int_equal(out.raw.data[1], 200);
    al_mp_free_struct(&sample_mp, &out);
    assert_null(out.name);
    al_buf_free(&b);
}

static void unknown_fields_ignored_missing_reported(void **s)
{
    (void)s;
    counter_amount v = {0};
    /* {"x": 1, "amount": 7} */
    assert_int_equal(al_mp_decode_struct(&counter_amount_mp,
                                         BYTES(0x82, 0xa1, 'x', 0x01, 0xa6, 'a',
                                               'm', 'o', 'u', 'n', 't', 0x07),
                                         12, &v, NULL),
                     0);
    assert_int_equal(v.amount, 7);
    al_error err;
    assert_int_equal(al_mp_decode_struct(&counter_amount_mp,
                                         BYTES(0x81, 0xa1, 'x', 0x01), 4, &v,
                                         &err),
                     AL_EDECODE);
    assert_string_equal(err.msg, "Inc: missing field `amount`");
}

static void wrong_types_rejected_clearly(void **s)
{
    (void)s;
    counter_amount v = {0};
    al_error err;
    /* {"amount": "10"} */
    assert_int_equal(al_mp_decode_struct(&counter_amount_mp,
                                         BYTES(0x81, 0xa6, 'a', 'm', 'o', 'u',
                                               'n', 't', 0xa2, '1', '0'),
                                         11, &v, &err),
                     AL_EDECODE);
    assert_string_equal(err.msg,
                        "Inc.amount: invalid type: string, expected integer");
    /* {"amount": -1} and 2^32 do not fit a u32. */
    assert_int_equal(al_mp_decode_struct(
                         &counter_amount_mp,
                         BYTES(0x81, 0xa6, 'a', 'm', 'o', 'u', 'n', 't', 0xff),
                         9, &v, &err),
                     AL_EDECODE);
    assert_non_null(strstr(err.msg, "out of range"));
    assert_int_equal(
        al_mp_decode_struct(&counter_amount_mp,
                            BYTES(0x81, 0xa6, 'a', 'm', 'o', 'u', 'n', 't',
                                  0xcf, 0, 0, 0, 1, 0, 0, 0, 0),
                            17, &v, &err),
        AL_EDECODE);
    /* Not a struct at all. */
    assert_int_equal(
        al_mp_decode_struct(&counter_amount_mp, BYTES(0x0a), 1, &v, &err),
        AL_EDECODE);
    assert_non_null(strstr(err.msg, "expected struct Inc"));
    /* Duplicate field. */
    assert_int_equal(
        al_mp_decode_struct(&counter_amount_mp,
                            BYTES(0x82, 0xa6, 'a', 'm', 'o', 'u', 'n', 't', 1,
                                  0xa6, 'a', 'm', 'o', 'u', 'n', 't', 2),
                            17, &v, &err),
        AL_EDECODE);
    assert_non_null(strstr(err.msg, "duplicate field"));
}

static void malformed_bytes_rejected(void **s)
{
    (void)s;
    counter_amount v = {0};
    al_error err;
    /* Truncated map, trailing garbage, reserved marker 0xc1. */
    assert_int_equal(al_mp_decode_struct(&counter_amount_mp,
                                         BYTES(0x81, 0xa6, 'a', 'm'), 4, &v,
                                         &err),
                     AL_EDECODE);
    assert_non_null(strstr(err.msg, "truncated"));
    assert_int_equal(al_mp_decode_struct(&counter_amount_mp,
                                         BYTES(0x91, 0x01, 0x02), 3, &v, &err),
                     AL_EDECODE);
    assert_non_null(strstr(err.msg, "trailing"));
    assert_int_equal(
        al_mp_decode_struct(&counter_amount_mp, BYTES(0xc1), 1, &v, &err),
        AL_EDECODE);
    assert_int_equal(al_mp_decode_struct(&counter_amount_mp, NULL, 0, &v, &err),
                     AL_EDECODE);
}

static void strings_and_bytes_edge_cases(void **s)
{
    (void)s;
    counter_log lg = {0};
    al_error err;
    /* A string with an embedded NUL cannot become a C string. */
    assert_int_equal(al_mp_decode_struct(&counter_log_mp,
                                         BYTES(0x91, 0xa3, 'a', 0, 'b'), 5, &lg,
                                         &err),
                     AL_EDECODE);
    assert_null(lg.text);
    /* bin is accepted for a String, as serde does for valid bytes. */
    assert_int_equal(al_mp_decode_struct(&counter_log_mp,
                                         BYTES(0x91, 0xc4, 0x02, 'h', 'i'), 5,
                                         &lg, &err),
                     0);
    assert_string_equal(lg.text, "hi");
    al_mp_free_struct(&counter_log_mp, &lg);
    al_buf nil = {0};
    assert_int_equal(al_mp_encode_nil(&nil), 0);
    assert_int_equal(nil.len, 1);
    assert_int_equal(nil.data[0], 0xc0);
    al_buf_free(&nil);
    al_buf str = {0};
    assert_int_equal(al_mp_encode_str("abc", &str), 0);
    assert_int_equal(str.len, 4);
    assert_int_equal(str.data[0], 0xa3);
    assert_int_equal(al_mp_encode_str(NULL, &str), AL_EINVAL);
    al_buf_free(&str);
}

/* The decoder checks the whole value before it reads the struct, as
 * msgpack-c's unpacker did: nesting is bounded (32 containers), lengths
 * that claim more than the input are truncation (nothing is allocated for
 * them), and every well-formed item is skipped in an unknown field. */
static void structure_checked_first(void **s)
{
    (void)s;
    counter_amount v = {0};
    al_error err;
    uint8_t deep[80];
    for (int nest = 31; nest <= 32; nest++) {
        /* {"x": [[[...[]...]]], "amount": 7}: nest arrays in the map */
        size_t n = 0;
        deep[n++] = 0x82;
        deep[n++] = 0xa1;
        deep[n++] = 'x';
        for (int i = 0; i < nest; i++)
            deep[n++] = i + 1 < nest ? 0x91 : 0x90;
        const uint8_t tail[] = {0xa6, 'a', 'm', 'o', 'u', 'n', 't', 0x07};
        memcpy(deep + n, tail, sizeof(tail));
        n += sizeof(tail);
        int rc = al_mp_decode_struct(&counter_amount_mp, deep, n, &v, &err);
        if (nest == 31) {
            assert_int_equal(rc, 0);
            assert_int_equal(v.amount, 7);
        } else {
            assert_int_equal(rc, AL_EDECODE);
            assert_non_null(strstr(err.msg, "nested too deep"));
        }
    }
    /* A map, an array and a string that claim 2^32 - 1 entries or bytes. */
    assert_int_equal(al_mp_decode_struct(
                         &counter_amount_mp,
                         BYTES(0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 'x', 0x01),
                         8, &v, &err),
                     AL_EDECODE);
    assert_non_null(strstr(err.msg, "truncated"));
    assert_int_equal(al_mp_decode_struct(&counter_amount_mp,
                                         BYTES(0x81, 0xa1, 'x', 0xdd, 0xff,
                                               0xff, 0xff, 0xff, 0x01),
                                         9, &v, &err),
                     AL_EDECODE);
    assert_non_null(strstr(err.msg, "truncated"));
    assert_int_equal(al_mp_decode_struct(&counter_amount_mp,
                                         BYTES(0x81, 0xa1, 'x', 0xdb, 0xff,
                                               0xff, 0xff, 0xff, 'a'),
                                         9, &v, &err),
                     AL_EDECODE);
    assert_non_null(strstr(err.msg, "truncated"));
    /* Unknown fields holding an ext, a float, bin, nil and a map: skipped.
     * A signed marker holding a non-negative value is a plain integer. */
    static const uint8_t mixed[] = {
        0x86, 0xa1, 'a',  0xd6, 0x01, 1,   2,    3,    4,    0xa1,
        'b',  0xca, 0x3f, 0x80, 0,    0,   0xa1, 'c',  0xc4, 0x01,
        0x00, 0xa1, 'd',  0xc0, 0xa1, 'e', 0x81, 0x01, 0xc7, 0x00,
        0x05, 0xa6, 'a',  'm',  'o',  'u', 'n',  't',  0xd0, 0x09};
    v.amount = 0;
    assert_int_equal(
        al_mp_decode_struct(&counter_amount_mp, mixed, sizeof(mixed), &v, &err),
        0);
    assert_int_equal(v.amount, 9);
    /* The tuple form with a field of the wrong type: its name is given. */
    assert_int_equal(
        al_mp_decode_struct(&counter_amount_mp, BYTES(0x91, 0xc3), 2, &v, &err),
        AL_EDECODE);
    assert_string_equal(err.msg,
                        "Inc.amount: invalid type: boolean, expected integer");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(inc_matches_rmp_serde),
        cmocka_unit_test(array_form_accepted),
        cmocka_unit_test(integer_encodings_are_smallest),
        cmocka_unit_test(full_struct_round_trip),
        cmocka_unit_test(unknown_fields_ignored_missing_reported),
        cmocka_unit_test(wrong_types_rejected_clearly),
        cmocka_unit_test(malformed_bytes_rejected),
        cmocka_unit_test(strings_and_bytes_edge_cases),
        cmocka_unit_test(structure_checked_first),
    };
    return cmocka_run_group_tests_name("mp", tests, NULL, NULL);
}
