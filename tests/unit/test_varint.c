/* varint.c: round trips, minimality, length and truncation checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "actorlib.h"
#include "varint.h"

static void known_encodings(void **state)
{
    (void)state;
    uint8_t b[AL__UVARINT_MAX];
    assert_int_equal(al__uvarint_encode(1, b), 1);
    assert_int_equal(b[0], 0x01);
    assert_int_equal(al__uvarint_encode(0x0111, b), 2); /* udp */
    assert_int_equal(b[0], 0x91);
    assert_int_equal(b[1], 0x02);
    assert_int_equal(al__uvarint_encode(0x01cd, b), 2); /* quic-v1 */
    assert_int_equal(b[0], 0xcd);
    assert_int_equal(b[1], 0x03);
    assert_int_equal(al__uvarint_len(300), 2);
    assert_int_equal(al__uvarint_len((1ULL << 63) - 1), 9);
}

static void round_trip(void **state)
{
    (void)state;
    uint64_t vals[] = {
        0, 1, 127, 128, 255, 16383, 16384, 1ULL << 32, (1ULL << 63) - 1};
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        uint8_t b[AL__UVARINT_MAX];
        size_t n = al__uvarint_encode(vals[i], b);
        uint64_t v = 0;
        assert_int_equal(al__uvarint_decode(b, n, &v), (int)n);
        assert_true(v == vals[i]);
        /* Every strict prefix asks for more input. */
        for (size_t k = 0; k < n; k++)
            assert_int_equal(al__uvarint_decode(b, k, &v), 0);
    }
}

static void rejects_bad_forms(void **state)
{
    (void)state;
    uint64_t v;
    const uint8_t nonminimal[] = {0x81, 0x00};
    assert_int_equal(al__uvarint_decode(nonminimal, 2, &v), AL_EDECODE);
    const uint8_t toolong[] = {0xff, 0xff, 0xff, 0xff, 0xff,
                               0xff, 0xff, 0xff, 0xff, 0x01};
    assert_int_equal(al__uvarint_decode(toolong, 10, &v), AL_EDECODE);
    const uint8_t over63[] = {0xff, 0xff, 0xff, 0xff, 0xff,
                              0xff, 0xff, 0xff, 0x80};
    assert_int_equal(al__uvarint_decode(over63, 9, &v), AL_EDECODE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_encodings),
        cmocka_unit_test(round_trip),
        cmocka_unit_test(rejects_bad_forms),
    };
    return cmocka_run_group_tests_name("varint", tests, NULL, NULL);
}
