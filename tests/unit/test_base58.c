/* base58.c: Bitcoin's base58 vectors, leading zeros, bounds, bad text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "actorlib.h"
#include "base58.h"

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

/* From Bitcoin Core's src/test/data/base58_encode_decode.json. */
static const char *const vectors[][2] = {
    {"61", "2g"},
    {"626262", "a3gV"},
    {"636363", "aPEr"},
    {"73696d706c792061206c6f6e6720737472696e67",
     "2cFupjhnEsSn59qHXstmK2ffpLv2"},
    {"00eb15231dfceb60925886b67d065299925915aeb172c06647",
     "1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L"},
    {"516b6fcd0f", "ABnLTmg"},
    {"bf4f89001e670274dd", "3SEo3LWLoPntC"},
    {"572e4794", "3EFU7m"},
    {"ecac89cad93923c02321", "EJDM8drfXA6uyA"},
    {"10c8511e", "Rt5zm"},
    {"00000000000000000000", "1111111111"},
};

static void bitcoin_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        uint8_t bin[64], back[64];
        size_t n = unhex(vectors[i][0], bin);
        char text[128];
        int tl = al__base58_encode(bin, n, text, sizeof(text));
        assert_int_equal(tl, (int)strlen(vectors[i][1]));
        assert_string_equal(text, vectors[i][1]);
        int bl = al__base58_decode(vectors[i][1], strlen(vectors[i][1]), back,
                                   sizeof(back));
        assert_int_equal(bl, (int)n);
        assert_memory_equal(back, bin, n);
    }
}

static void empty_input(void **state)
{
    (void)state;
    char text[4] = "x";
    assert_int_equal(al__base58_encode(NULL, 0, text, sizeof(text)), 0);
    assert_string_equal(text, "");
    uint8_t out[4];
    assert_int_equal(al__base58_decode("", 0, out, sizeof(out)), AL_EDECODE);
}

static void rejects_bad_characters(void **state)
{
    (void)state;
    uint8_t out[32];
    /* 0, O, I and l are not in the alphabet; nor are '+' and NUL. */
    const char *bad[] = {"0", "O", "I", "l", "ab+c", "3EF U7m"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(al__base58_decode(bad[i], strlen(bad[i]), out, 32),
                         AL_EDECODE);
    assert_int_equal(al__base58_decode("2g\0", 3, out, 32), AL_EDECODE);
}

static void bounds(void **state)
{
    (void)state;
    uint8_t big[AL__BASE58_MAX_BYTES + 1];
    memset(big, 0xff, sizeof(big));
    char text[AL__BASE58_MAX_TEXT + 1];
    /* The largest input fits the documented text bound exactly. */
    int n = al__base58_encode(big, AL__BASE58_MAX_BYTES, text, sizeof(text));
    assert_true(n > 0 && n <= AL__BASE58_MAX_TEXT);
    uint8_t back[AL__BASE58_MAX_BYTES];
    assert_int_equal(al__base58_decode(text, (size_t)n, back, sizeof(back)),
                     AL__BASE58_MAX_BYTES);
    assert_memory_equal(back, big, AL__BASE58_MAX_BYTES);
    assert_int_equal(al__base58_encode(big, sizeof(big), text, sizeof(text)),
                     AL_ELIMIT);
    /* Output buffer too small for the text or the bytes. */
    char small[3];
    assert_int_equal(
        al__base58_encode((const uint8_t *)"bbb", 3, small, sizeof(small)),
        AL_EINVAL);
    uint8_t two[2];
    assert_int_equal(al__base58_decode("a3gV", 4, two, sizeof(two)), AL_ELIMIT);
    char longtext[AL__BASE58_MAX_TEXT + 2];
    memset(longtext, '2', sizeof(longtext));
    assert_int_equal(
        al__base58_decode(longtext, sizeof(longtext), back, sizeof(back)),
        AL_ELIMIT);
}

static void round_trip_with_zeros(void **state)
{
    (void)state;
    for (unsigned seed = 0; seed < 200; seed++) {
        uint8_t in[40], back[40];
        size_t n = seed % 40 + 1;
        for (size_t i = 0; i < n; i++)
            in[i] = (uint8_t)(i < seed % 4 ? 0 : (seed * 31 + i * 17) & 0xff);
        char text[80];
        int tl = al__base58_encode(in, n, text, sizeof(text));
        assert_true(tl > 0);
        assert_int_equal(al__base58_decode(text, (size_t)tl, back, 40), (int)n);
        assert_memory_equal(back, in, n);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bitcoin_vectors),        cmocka_unit_test(empty_input),
        cmocka_unit_test(rejects_bad_characters), cmocka_unit_test(bounds),
        cmocka_unit_test(round_trip_with_zeros),
    };
    return cmocka_run_group_tests_name("base58", tests, NULL, NULL);
}
