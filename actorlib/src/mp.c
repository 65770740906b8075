/* MessagePack in rmp_serde's named form, with msgpack-c.
 *
 * rmp_serde writes integers in the smallest encoding, non-negative values
 * with the unsigned markers, f32 as 0xca and f64 as 0xcb, strings with the
 * smallest str marker: msgpack-c's packer makes the same choices, so the
 * bytes match. Decoding follows serde's rules: a struct may come as a map
 * (unknown keys ignored, missing Option fields are None) or as an array in
 * field order; integers must fit the field's type. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "mp.h"

static int write_cb(void *data, const char *buf, size_t len)
{
    al__mp_out *o = data;
    if (!o->failed && al_buf_append(o->buf, buf, len))
        o->failed = AL_ENOMEM;
    return o->failed ? -1 : 0;
}

void al__mp_packer_init(msgpack_packer *pk, al__mp_out *out)
{
    out->failed = 0;
    msgpack_packer_init(pk, out, write_cb);
}

int al__mp_unpack_one(const uint8_t *buf, size_t len, msgpack_zone *zone,
                      msgpack_object *obj, al_error *err)
{
    if (len > AL__MP_MAX_INPUT)
        return al_error_set(err, AL_ELIMIT, "MessagePack value too large");
    size_t off = 0;
    msgpack_unpack_return r =
        msgpack_unpack((const char *)buf, len, &off, zone, obj);
    switch (r) {
    case MSGPACK_UNPACK_SUCCESS:
        return 0;
    case MSGPACK_UNPACK_EXTRA_BYTES:
        return al_error_set(err, AL_EDECODE,
                            "trailing bytes after MessagePack value at %zu",
                            off);
    case MSGPACK_UNPACK_CONTINUE:
        return al_error_set(err, AL_EDECODE, "truncated MessagePack value");
    case MSGPACK_UNPACK_NOMEM_ERROR:
        return al_error_set(err, AL_ENOMEM, "out of memory");
    default:
        return al_error_set(err, AL_EDECODE, "malformed MessagePack");
    }
}

/* ------------------------------------------------------------ encode */

static int pack_field(msgpack_packer *pk, const al_mp_field *f, const void *s)
{
    const char *p = (const char *)s + f->offset;
    switch (f->type) {
    case AL_MP_I8:
        return msgpack_pack_int64(pk, *(const int8_t *)p);
    case AL_MP_I16:
        return msgpack_pack_int64(pk, *(const int16_t *)p);
    case AL_MP_I32:
        return msgpack_pack_int64(pk, *(const int32_t *)p);
    case AL_MP_I64:
        return msgpack_pack_int64(pk, *(const int64_t *)p);
    case AL_MP_U8:
        return msgpack_pack_uint64(pk, *(const uint8_t *)p);
    case AL_MP_U16:
        return msgpack_pack_uint64(pk, *(const uint16_t *)p);
    case AL_MP_U32:
        return msgpack_pack_uint64(pk, *(const uint32_t *)p);
    case AL_MP_U64:
        return msgpack_pack_uint64(pk, *(const uint64_t *)p);
    case AL_MP_F32:
        return msgpack_pack_float(pk, *(const float *)p);
    case AL_MP_F64:
        return msgpack_pack_double(pk, *(const double *)p);
    case AL_MP_BOOL:
        return *(const bool *)p ? msgpack_pack_true(pk)
                                : msgpack_pack_false(pk);
    case AL_MP_OPT_STR:
        if (!*(char *const *)p)
            return msgpack_pack_nil(pk);
        /* fall through */
    case AL_MP_STR: {
        const char *str = *(char *const *)p;
        size_t n = str ? strlen(str) : 0;
        if (msgpack_pack_str(pk, n))
            return -1;
        return msgpack_pack_str_body(pk, str ? str : "", n);
    }
    case AL_MP_BYTES: {
        const al_buf *b = (const al_buf *)p;
        if (f->serde_bytes) {
            if (msgpack_pack_bin(pk, b->len))
                return -1;
            return msgpack_pack_bin_body(pk, b->data, b->len);
        }
        /* serde's Vec<u8> without serde_bytes is a sequence of u8. */
        if (msgpack_pack_array(pk, b->len))
            return -1;
        for (size_t i = 0; i < b->len; i++)
            if (msgpack_pack_uint8(pk, b->data[i]))
                return -1;
        return 0;
    }
    }
    return -1;
}

int al_mp_encode_struct(const al_mp_struct *d, const void *s, al_buf *out)
{
    msgpack_packer pk;
    al__mp_out o = {out, 0};
    al__mp_packer_init(&pk, &o);
    if (msgpack_pack_map(&pk, d->nfields))
        return o.failed ? o.failed : AL_EINVAL;
    for (size_t i = 0; i < d->nfields; i++) {
        const al_mp_field *f = &d->fields[i];
        size_t n = strlen(f->name);
        if (msgpack_pack_str(&pk, n) ||
            msgpack_pack_str_body(&pk, f->name, n) || pack_field(&pk, f, s))
            return o.failed ? o.failed : AL_EINVAL;
    }
    return 0;
}

static int encode_one(al_buf *out, int (*fn)(msgpack_packer *, const void *),
                      const void *v)
{
    msgpack_packer pk;
    al__mp_out o = {out, 0};
    al__mp_packer_init(&pk, &o);
    if (fn(&pk, v))
        return o.failed ? o.failed : AL_EINVAL;
    return 0;
}

static int pack_i64(msgpack_packer *pk, const void *v)
{
    return msgpack_pack_int64(pk, *(const int64_t *)v);
}

static int pack_u64(msgpack_packer *pk, const void *v)
{
    return msgpack_pack_uint64(pk, *(const uint64_t *)v);
}

static int pack_cstr(msgpack_packer *pk, const void *v)
{
    const char *s = v;
    size_t n = strlen(s);
    return msgpack_pack_str(pk, n) || msgpack_pack_str_body(pk, s, n);
}

static int pack_nil(msgpack_packer *pk, const void *v)
{
    (void)v;
    return msgpack_pack_nil(pk);
}

int al_mp_encode_i64(int64_t v, al_buf *out)
{
    return encode_one(out, pack_i64, &v);
}

int al_mp_encode_u64(uint64_t v, al_buf *out)
{
    return encode_one(out, pack_u64, &v);
}

int al_mp_encode_str(const char *s, al_buf *out)
{
    return s ? encode_one(out, pack_cstr, s) : AL_EINVAL;
}

int al_mp_encode_nil(al_buf *out)
{
    return encode_one(out, pack_nil, NULL);
}

/* ------------------------------------------------------------ decode */

static const char *type_name(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return "nil";
    case MSGPACK_OBJECT_BOOLEAN:
        return "boolean";
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return "integer";
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return "float";
    case MSGPACK_OBJECT_STR:
        return "string";
    case MSGPACK_OBJECT_BIN:
        return "bytes";
    case MSGPACK_OBJECT_ARRAY:
        return "array";
    case MSGPACK_OBJECT_MAP:
        return "map";
    default:
        return "extension";
    }
}

static int want(al_error *err, const char *st, const char *field,
                const char *expected, const msgpack_object *got)
{
    return al_error_set(err, AL_EDECODE, "%s.%s: invalid type: %s, expected %s",
                        st, field, type_name(got), expected);
}

/* Reads an integer into the range [lo, hi] (signed view) or [0, uhi]. */
static int get_int(const msgpack_object *o, bool is_signed, int64_t lo,
                   int64_t hi, uint64_t uhi, uint64_t *uv, int64_t *sv)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        uint64_t v = o->via.u64;
        if (is_signed ? v > (uint64_t)hi : v > uhi)
            return -1;
        *uv = v;
        *sv = (int64_t)v;
        return 0;
    }
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        int64_t v = o->via.i64;
        if (!is_signed || v < lo)
            return -1;
        *sv = v;
        return 0;
    }
    return -2;
}

static int decode_str(const msgpack_object *o, char **out)
{
    const char *p;
    size_t n;
    if (o->type == MSGPACK_OBJECT_STR) {
        p = o->via.str.ptr;
        n = o->via.str.size;
    } else if (o->type == MSGPACK_OBJECT_BIN) {
        p = o->via.bin.ptr;
        n = o->via.bin.size;
    } else {
        return -2;
    }
    if (memchr(p, 0, n))
        return -1; /* C strings cannot hold NUL */
    char *s = malloc(n + 1);
    if (!s)
        return AL_ENOMEM;
    memcpy(s, p, n);
    s[n] = 0;
    *out = s;
    return 0;
}

static int decode_bytes(const msgpack_object *o, al_buf *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
    if (o->type == MSGPACK_OBJECT_BIN)
        return al_buf_append(b, o->via.bin.ptr, o->via.bin.size);
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return -2;
    if (al_buf_reserve(b, o->via.array.size))
        return AL_ENOMEM;
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        const msgpack_object *e = &o->via.array.ptr[i];
        if (e->type != MSGPACK_OBJECT_POSITIVE_INTEGER || e->via.u64 > 255) {
            al_buf_free(b);
            return -1;
        }
        b->data[b->len++] = (uint8_t)e->via.u64;
    }
    return 0;
}

static int decode_field(const al_mp_struct *d, const al_mp_field *f,
                        const msgpack_object *o, void *s, al_error *err)
{
    char *p = (char *)s + f->offset;
    uint64_t uv = 0;
    int64_t sv = 0;
    int rc;
    switch (f->type) {
    case AL_MP_I8:
    case AL_MP_I16:
    case AL_MP_I32:
    case AL_MP_I64: {
        static const int64_t lim[] = {INT8_MAX, INT16_MAX, INT32_MAX,
                                      INT64_MAX};
        int64_t hi = lim[f->type - AL_MP_I8];
        rc = get_int(o, true, -hi - 1, hi, 0, &uv, &sv);
        if (rc == -2)
            return want(err, d->name, f->name, "integer", o);
        if (rc)
            return al_error_set(err, AL_EDECODE, "%s.%s: integer out of range",
                                d->name, f->name);
        if (f->type == AL_MP_I8)
            *(int8_t *)p = (int8_t)sv;
        else if (f->type == AL_MP_I16)
            *(int16_t *)p = (int16_t)sv;
        else if (f->type == AL_MP_I32)
            *(int32_t *)p = (int32_t)sv;
        else
            *(int64_t *)p = sv;
        return 0;
    }
    case AL_MP_U8:
    case AL_MP_U16:
    case AL_MP_U32:
    case AL_MP_U64: {
        static const uint64_t lim[] = {UINT8_MAX, UINT16_MAX, UINT32_MAX,
                                       UINT64_MAX};
        rc = get_int(o, false, 0, 0, lim[f->type - AL_MP_U8], &uv, &sv);
        if (rc == -2)
            return want(err, d->name, f->name, "integer", o);
        if (rc)
            return al_error_set(err, AL_EDECODE, "%s.%s: integer out of range",
                                d->name, f->name);
        if (f->type == AL_MP_U8)
            *(uint8_t *)p = (uint8_t)uv;
        else if (f->type == AL_MP_U16)
            *(uint16_t *)p = (uint16_t)uv;
        else if (f->type == AL_MP_U32)
            *(uint32_t *)p = (uint32_t)uv;
        else
            *(uint64_t *)p = uv;
        return 0;
    }
    case AL_MP_F32:
    case AL_MP_F64: {
        double v;
        /* serde's float visitors take integers too. */
        if (o->type == MSGPACK_OBJECT_FLOAT32 ||
            o->type == MSGPACK_OBJECT_FLOAT64)
            v = o->via.f64;
        else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            v = (double)o->via.u64;
        else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
            v = (double)o->via.i64;
        else
            return want(err, d->name, f->name, "float", o);
        if (f->type == AL_MP_F32)
            *(float *)p = (float)v;
        else
            *(double *)p = v;
        return 0;
    }
    case AL_MP_BOOL:
        if (o->type != MSGPACK_OBJECT_BOOLEAN)
            return want(err, d->name, f->name, "a boolean", o);
        *(bool *)p = o->via.boolean;
        return 0;
    case AL_MP_OPT_STR:
        if (o->type == MSGPACK_OBJECT_NIL) {
            *(char **)p = NULL;
            return 0;
        }
        /* fall through */
    case AL_MP_STR:
        rc = decode_str(o, (char **)p);
        if (rc == -2)
            return want(err, d->name, f->name, "a string", o);
        if (rc == -1)
            return al_error_set(err, AL_EDECODE, "%s.%s: string contains NUL",
                                d->name, f->name);
        return rc ? al_error_set(err, rc, "out of memory") : 0;
    case AL_MP_BYTES:
        rc = decode_bytes(o, (al_buf *)p);
        if (rc == -2)
            return want(err, d->name, f->name, "a byte array", o);
        if (rc == -1)
            return al_error_set(err, AL_EDECODE,
                                "%s.%s: byte array element out of range",
                                d->name, f->name);
        return rc ? al_error_set(err, rc, "out of memory") : 0;
    }
    return al_error_set(err, AL_EINVAL, "%s.%s: unknown field type", d->name,
                        f->name);
}

static int decode_map(const al_mp_struct *d, const msgpack_object *o, void *s,
                      bool *seen, al_error *err)
{
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        if (kv->key.type != MSGPACK_OBJECT_STR)
            return al_error_set(err, AL_EDECODE,
                                "%s: map key is %s, expected a field name",
                                d->name, type_name(&kv->key));
        for (size_t k = 0; k < d->nfields; k++) {
            const al_mp_field *f = &d->fields[k];
            if (strlen(f->name) != kv->key.via.str.size ||
                memcmp(f->name, kv->key.via.str.ptr, kv->key.via.str.size))
                continue;
            if (seen[k])
                return al_error_set(err, AL_EDECODE, "%s: duplicate field `%s`",
                                    d->name, f->name);
            seen[k] = true;
            int rc = decode_field(d, f, &kv->val, s, err);
            if (rc)
                return rc;
            break;
        }
    }
    for (size_t k = 0; k < d->nfields; k++)
        if (!seen[k] && d->fields[k].type != AL_MP_OPT_STR)
            return al_error_set(err, AL_EDECODE, "%s: missing field `%s`",
                                d->name, d->fields[k].name);
    return 0;
}

static int decode_array(const al_mp_struct *d, const msgpack_object *o, void *s,
                        bool *seen, al_error *err)
{
    if (o->via.array.size != d->nfields)
        return al_error_set(err, AL_EDECODE,
                            "%s: invalid length %u, expected %zu fields",
                            d->name, o->via.array.size, d->nfields);
    for (size_t k = 0; k < d->nfields; k++) {
        int rc = decode_field(d, &d->fields[k], &o->via.array.ptr[k], s, err);
        if (rc)
            return rc;
        seen[k] = true;
    }
    return 0;
}

/* Frees only the fields a failed decode already filled. */
static void free_seen(const al_mp_struct *d, void *s, const bool *seen)
{
    for (size_t k = 0; k < d->nfields; k++) {
        const al_mp_field *f = &d->fields[k];
        char *p = (char *)s + f->offset;
        if (!seen[k])
            continue;
        if (f->type == AL_MP_STR || f->type == AL_MP_OPT_STR) {
            free(*(char **)p);
            *(char **)p = NULL;
        } else if (f->type == AL_MP_BYTES) {
            al_buf_free((al_buf *)p);
        }
    }
}

int al_mp_decode_struct(const al_mp_struct *d, const uint8_t *buf, size_t len,
                        void *s, al_error *err)
{
    msgpack_zone zone;
    msgpack_object o;
    bool stack_seen[32];
    bool *seen = stack_seen;
    int rc;
    if (d->nfields > 32) {
        seen = calloc(d->nfields, sizeof(*seen));
        if (!seen)
            return al_error_set(err, AL_ENOMEM, "out of memory");
    } else {
        memset(stack_seen, 0, sizeof(stack_seen));
    }
    /* Absent Option fields read as None. */
    for (size_t k = 0; k < d->nfields; k++)
        if (d->fields[k].type == AL_MP_OPT_STR)
            *(char **)((char *)s + d->fields[k].offset) = NULL;
    if (!msgpack_zone_init(&zone, 2048)) {
        rc = al_error_set(err, AL_ENOMEM, "out of memory");
        goto out;
    }
    rc = al__mp_unpack_one(buf, len, &zone, &o, err);
    if (rc == 0) {
        if (o.type == MSGPACK_OBJECT_MAP)
            rc = decode_map(d, &o, s, seen, err);
        else if (o.type == MSGPACK_OBJECT_ARRAY)
            rc = decode_array(d, &o, s, seen, err);
        else
            rc = al_error_set(err, AL_EDECODE,
                              "%s: invalid type: %s, expected struct %s",
                              d->name, type_name(&o), d->name);
        if (rc)
            free_seen(d, s, seen);
    }
    msgpack_zone_destroy(&zone);
out:
    if (seen != stack_seen)
        free(seen);
    return rc;
}

void al_mp_free_struct(const al_mp_struct *d, void *s)
{
    for (size_t k = 0; k < d->nfields; k++) {
        const al_mp_field *f = &d->fields[k];
        char *p = (char *)s + f->offset;
        if (f->type == AL_MP_STR || f->type == AL_MP_OPT_STR) {
            free(*(char **)p);
            *(char **)p = NULL;
        } else if (f->type == AL_MP_BYTES) {
            al_buf_free((al_buf *)p);
        }
    }
}

static int decode_scalar(const uint8_t *buf, size_t len, bool is_signed,
                         uint64_t *uv, int64_t *sv, al_error *err)
{
    msgpack_zone zone;
    msgpack_object o;
    if (!msgpack_zone_init(&zone, 256))
        return al_error_set(err, AL_ENOMEM, "out of memory");
    int rc = al__mp_unpack_one(buf, len, &zone, &o, err);
    if (rc == 0) {
        int r =
            get_int(&o, is_signed, INT64_MIN, INT64_MAX, UINT64_MAX, uv, sv);
        if (r == -2)
            rc = al_error_set(err, AL_EDECODE,
                              "invalid type: %s, expected integer",
                              type_name(&o));
        else if (r)
            rc = al_error_set(err, AL_EDECODE, "integer out of range");
    }
    msgpack_zone_destroy(&zone);
    return rc;
}

int al_mp_decode_i64(const uint8_t *buf, size_t len, int64_t *v, al_error *err)
{
    uint64_t u;
    return decode_scalar(buf, len, true, &u, v, err);
}

int al_mp_decode_u64(const uint8_t *buf, size_t len, uint64_t *v, al_error *err)
{
    int64_t s;
    return decode_scalar(buf, len, false, v, &s, err);
}
