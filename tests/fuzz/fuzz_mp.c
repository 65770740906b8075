/* MessagePack structs (mp.c): whatever decodes must encode, and decode
 * again to the same value and the same bytes; the scalar decoders must not
 * crash either. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "actorlib.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct every {
    int8_t i8;
    int16_t i16;
    int32_t i32;
    int64_t i64;
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    float f32;
    double f64;
    bool flag;
    char *str;
    al_buf bytes;
    char *opt;
    al_buf bin;
} every;

static const al_mp_field fields[] = {
    AL_MP_FIELD(every, i8, AL_MP_I8),
    AL_MP_FIELD(every, i16, AL_MP_I16),
    AL_MP_FIELD(every, i32, AL_MP_I32),
    AL_MP_FIELD(every, i64, AL_MP_I64),
    AL_MP_FIELD(every, u8, AL_MP_U8),
    AL_MP_FIELD(every, u16, AL_MP_U16),
    AL_MP_FIELD(every, u32, AL_MP_U32),
    AL_MP_FIELD(every, u64, AL_MP_U64),
    AL_MP_FIELD(every, f32, AL_MP_F32),
    AL_MP_FIELD(every, f64, AL_MP_F64),
    AL_MP_FIELD(every, flag, AL_MP_BOOL),
    AL_MP_FIELD(every, str, AL_MP_STR),
    AL_MP_FIELD(every, bytes, AL_MP_BYTES),
    AL_MP_FIELD(every, opt, AL_MP_OPT_STR),
    {"bin", AL_MP_BYTES, offsetof(every, bin), true},
};
static const al_mp_struct every_mp = AL_MP_STRUCT("Every", fields);

static bool str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool buf_eq(const al_buf *a, const al_buf *b)
{
    return a->len == b->len &&
           (a->len == 0 || !memcmp(a->data, b->data, a->len));
}

static bool same(const every *a, const every *b)
{
    return a->i8 == b->i8 && a->i16 == b->i16 && a->i32 == b->i32 &&
           a->i64 == b->i64 && a->u8 == b->u8 && a->u16 == b->u16 &&
           a->u32 == b->u32 && a->u64 == b->u64 &&
           !memcmp(&a->f32, &b->f32, sizeof(a->f32)) &&
           !memcmp(&a->f64, &b->f64, sizeof(a->f64)) && a->flag == b->flag &&
           str_eq(a->str, b->str) && buf_eq(&a->bytes, &b->bytes) &&
           str_eq(a->opt, b->opt) && buf_eq(&a->bin, &b->bin);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t i;
    uint64_t u;
    al_mp_decode_i64(data, size, &i, NULL);
    al_mp_decode_u64(data, size, &u, NULL);
    every a, b;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    if (al_mp_decode_struct(&every_mp, data, size, &a, NULL) != 0)
        return 0;
    al_buf e1 = {0}, e2 = {0};
    if (al_mp_encode_struct(&every_mp, &a, &e1) != 0)
        abort();
    if (al_mp_decode_struct(&every_mp, e1.data, e1.len, &b, NULL) != 0)
        abort();
    if (!same(&a, &b))
        abort();
    if (al_mp_encode_struct(&every_mp, &b, &e2) != 0 || e1.len != e2.len ||
        memcmp(e1.data, e2.data, e1.len))
        abort();
    al_mp_free_struct(&every_mp, &a);
    al_mp_free_struct(&every_mp, &b);
    al_buf_free(&e1);
    al_buf_free(&e2);
    return 0;
}
