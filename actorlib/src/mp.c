/* MessagePack in rmp_serde's named form: structs written with msgpack-c's
 * packer, scalars by hand, decoding straight from the bytes.
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

/* The scalars are written directly, in the forms msgpack-c's packer (and
 * rmp_serde) choose: the smallest that holds the value, non-negative values
 * with the unsigned markers. */

static int put_be(al_buf *out, uint8_t marker, uint64_t v, size_t n)
{
    if (al_buf_reserve(out, 1 + n))
        return AL_ENOMEM;
    uint8_t *p = out->data + out->len;
    *p++ = marker;
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    out->len += 1 + n;
    return 0;
}

int al_mp_encode_u64(uint64_t v, al_buf *out)
{
    if (v < 128) {
        uint8_t b = (uint8_t)v;
        return al_buf_append(out, &b, 1);
    }
    if (v < 256)
        return put_be(out, 0xcc, v, 1);
    if (v < 65536)
        return put_be(out, 0xcd, v, 2);
    if (v <= UINT32_MAX)
        return put_be(out, 0xce, v, 4);
    return put_be(out, 0xcf, v, 8);
}

int al_mp_encode_i64(int64_t v, al_buf *out)
{
    if (v >= 0)
        return al_mp_encode_u64((uint64_t)v, out);
    if (v >= -32) {
        uint8_t b = (uint8_t)v;
        return al_buf_append(out, &b, 1);
    }
    if (v >= INT8_MIN)
        return put_be(out, 0xd0, (uint64_t)v, 1);
    if (v >= INT16_MIN)
        return put_be(out, 0xd1, (uint64_t)v, 2);
    if (v >= INT32_MIN)
        return put_be(out, 0xd2, (uint64_t)v, 4);
    return put_be(out, 0xd3, (uint64_t)v, 8);
}

int al_mp_encode_str(const char *s, al_buf *out)
{
    if (!s)
        return AL_EINVAL;
    size_t n = strlen(s);
    int rc;
    if (n < 32)
        rc = put_be(out, (uint8_t)(0xa0 | n), 0, 0);
    else if (n < 256)
        rc = put_be(out, 0xd9, n, 1);
    else if (n < 65536)
        rc = put_be(out, 0xda, n, 2);
    else if (n <= UINT32_MAX)
        rc = put_be(out, 0xdb, n, 4);
    else
        return AL_EINVAL;
    return rc ? rc : al_buf_append(out, s, n);
}

int al_mp_encode_nil(al_buf *out)
{
    static const uint8_t nil = 0xc0;
    return al_buf_append(out, &nil, 1);
}

/* ------------------------------------------------------------ decode */

/* Decoding reads the bytes directly, in two passes: the first checks that
 * exactly one well-formed value covers the input (what msgpack-c's unpacker
 * checks, so structural errors come first, as they did with it), the second
 * interprets the value for the struct. Nothing is allocated but the fields'
 * own strings and byte arrays. */

/* Containers nested deeper than msgpack-c's unpacker allows are refused. */
#define MP_DEPTH_MAX 32

enum mp_type {
    MP_NIL,
    MP_BOOL,
    MP_UINT, /* msgpack-c's POSITIVE_INTEGER: any integer >= 0 */
    MP_NEG,  /* NEGATIVE_INTEGER */
    MP_FLOAT,
    MP_STR,
    MP_BIN,
    MP_EXT,
    MP_ARRAY,
    MP_MAP,
};

/* One item: a scalar's value, a string's bytes, a container's count. */
struct mpv {
    enum mp_type type;
    bool b;
    uint64_t u;
    int64_t i;
    double f;
    const uint8_t *ptr;
    uint32_t len; /* STR, BIN, EXT bytes; ARRAY, MAP entries */
};

enum { MP_OK = 0, MP_TRUNC = 1, MP_BAD = 2, MP_DEEP = 3 };

static uint64_t be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static void set_int(struct mpv *v, int64_t x)
{
    if (x >= 0) {
        v->type = MP_UINT;
        v->u = (uint64_t)x;
    } else {
        v->type = MP_NEG;
        v->i = x;
    }
}

/* Reads one item's head (and a string's body bounds) at *pp. */
static int mp_item(const uint8_t **pp, const uint8_t *end, struct mpv *v)
{
    const uint8_t *p = *pp;
    if (p >= end)
        return MP_TRUNC;
    uint8_t c = *p++;
    size_t avail = (size_t)(end - p);
    size_t n = 0; /* argument bytes */
    if (c <= 0x7f) {
        v->type = MP_UINT;
        v->u = c;
    } else if (c >= 0xe0) {
        v->type = MP_NEG;
        v->i = (int8_t)c;
    } else if (c >= 0xa0 && c <= 0xbf) {
        v->type = MP_STR;
        v->len = c & 0x1f;
        goto body;
    } else if (c >= 0x90 && c <= 0x9f) {
        v->type = MP_ARRAY;
        v->len = c & 0x0f;
    } else if (c >= 0x80 && c <= 0x8f) {
        v->type = MP_MAP;
        v->len = c & 0x0f;
    } else {
        switch (c) {
        case 0xc0:
            v->type = MP_NIL;
            break;
        case 0xc2:
        case 0xc3:
            v->type = MP_BOOL;
            v->b = c == 0xc3;
            break;
        case 0xc4:
        case 0xc5:
        case 0xc6:
        case 0xd9:
        case 0xda:
        case 0xdb:
            n = c <= 0xc6 ? (size_t)1 << (c - 0xc4) : (size_t)1 << (c - 0xd9);
            if (avail < n)
                return MP_TRUNC;
            v->type = c <= 0xc6 ? MP_BIN : MP_STR;
            v->len = (uint32_t)be(p, n);
            p += n;
            goto body;
        case 0xc7:
        case 0xc8:
        case 0xc9:
            /* ext: length, then a type byte, then the data */
            n = (size_t)1 << (c - 0xc7);
            if (avail < n)
                return MP_TRUNC;
            v->type = MP_EXT;
            v->len = (uint32_t)be(p, n);
            p += n;
            if ((size_t)(end - p) < 1 || (size_t)(end - p) - 1 < v->len)
                return MP_TRUNC;
            v->ptr = p + 1;
            p += 1 + (size_t)v->len;
            break;
        case 0xca:
        case 0xcb: {
            n = c == 0xca ? 4 : 8;
            if (avail < n)
                return MP_TRUNC;
            uint64_t bits = be(p, n);
            p += n;
            v->type = MP_FLOAT;
            if (n == 4) {
                uint32_t b32 = (uint32_t)bits;
                float f;
                memcpy(&f, &b32, 4);
                v->f = f;
            } else {
                memcpy(&v->f, &bits, 8);
            }
            break;
        }
        case 0xcc:
        case 0xcd:
        case 0xce:
        case 0xcf:
            n = (size_t)1 << (c - 0xcc);
            if (avail < n)
                return MP_TRUNC;
            v->type = MP_UINT;
            v->u = be(p, n);
            p += n;
            break;
        case 0xd0:
            if (avail < 1)
                return MP_TRUNC;
            set_int(v, (int8_t)p[0]);
            p += 1;
            break;
        case 0xd1:
            if (avail < 2)
                return MP_TRUNC;
            set_int(v, (int16_t)(uint16_t)be(p, 2));
            p += 2;
            break;
        case 0xd2:
            if (avail < 4)
                return MP_TRUNC;
            set_int(v, (int32_t)(uint32_t)be(p, 4));
            p += 4;
            break;
        case 0xd3:
            if (avail < 8)
                return MP_TRUNC;
            set_int(v, (int64_t)be(p, 8));
            p += 8;
            break;
        case 0xd4:
        case 0xd5:
        case 0xd6:
        case 0xd7:
        case 0xd8:
            /* fixext: a type byte and 1..16 data bytes */
            v->type = MP_EXT;
            v->len = (uint32_t)1 << (c - 0xd4);
            if (avail < 1 + (size_t)v->len)
                return MP_TRUNC;
            v->ptr = p + 1;
            p += 1 + (size_t)v->len;
            break;
        case 0xdc:
        case 0xdd:
        case 0xde:
        case 0xdf:
            n = (c & 1) ? 4 : 2;
            if (avail < n)
                return MP_TRUNC;
            v->type = c <= 0xdd ? MP_ARRAY : MP_MAP;
            v->len = (uint32_t)be(p, n);
            p += n;
            break;
        default: /* 0xc1 is never used */
            return MP_BAD;
        }
    }
    *pp = p;
    return MP_OK;
body:
    if ((size_t)(end - p) < v->len)
        return MP_TRUNC;
    v->ptr = p;
    *pp = p + v->len;
    return MP_OK;
}

/* Steps over one whole value. Every item takes at least one byte, so a
 * count larger than the input ends in MP_TRUNC, not in a long loop. */
static int mp_skip(const uint8_t **pp, const uint8_t *end, unsigned depth)
{
    struct mpv v;
    int rc = mp_item(pp, end, &v);
    if (rc || (v.type != MP_ARRAY && v.type != MP_MAP))
        return rc;
    if (depth >= MP_DEPTH_MAX)
        return MP_DEEP;
    uint64_t items = v.type == MP_MAP ? 2 * (uint64_t)v.len : v.len;
    for (uint64_t k = 0; k < items; k++)
        if ((rc = mp_skip(pp, end, depth + 1)))
            return rc;
    return MP_OK;
}

/* The structural check of the whole input (see above). */
static int mp_check(const uint8_t *buf, size_t len, al_error *err)
{
    if (len > AL__MP_MAX_INPUT)
        return al_error_set(err, AL_ELIMIT, "MessagePack value too large");
    const uint8_t *p = buf ? buf : (const uint8_t *)"";
    const uint8_t *end = p + len;
    switch (mp_skip(&p, end, 0)) {
    case MP_OK:
        if (p != end)
            return al_error_set(err, AL_EDECODE,
                                "trailing bytes after MessagePack value at %zu",
                                (size_t)(p - (buf ? buf : p)));
        return 0;
    case MP_TRUNC:
        return al_error_set(err, AL_EDECODE, "truncated MessagePack value");
    case MP_DEEP:
        return al_error_set(err, AL_EDECODE, "MessagePack nested too deep");
    default:
        return al_error_set(err, AL_EDECODE, "malformed MessagePack");
    }
}

static const char *type_name(const struct mpv *o)
{
    static const char *const names[] = {
        [MP_NIL] = "nil",     [MP_BOOL] = "boolean",  [MP_UINT] = "integer",
        [MP_NEG] = "integer", [MP_FLOAT] = "float",   [MP_STR] = "string",
        [MP_BIN] = "bytes",   [MP_EXT] = "extension", [MP_ARRAY] = "array",
        [MP_MAP] = "map",
    };
    return names[o->type];
}

static int want(al_error *err, const char *st, const char *field,
                const char *expected, const struct mpv *got)
{
    return al_error_set(err, AL_EDECODE, "%s.%s: invalid type: %s, expected %s",
                        st, field, type_name(got), expected);
}

/* Reads an integer into the range [lo, hi] (signed view) or [0, uhi]. */
static int get_int(const struct mpv *o, bool is_signed, int64_t lo, int64_t hi,
                   uint64_t uhi, uint64_t *uv, int64_t *sv)
{
    if (o->type == MP_UINT) {
        uint64_t v = o->u;
        if (is_signed ? v > (uint64_t)hi : v > uhi)
            return -1;
        *uv = v;
        *sv = (int64_t)v;
        return 0;
    }
    if (o->type == MP_NEG) {
        int64_t v = o->i;
        if (!is_signed || v < lo)
            return -1;
        *sv = v;
        return 0;
    }
    return -2;
}

static int decode_str(const struct mpv *o, char **out)
{
    if (o->type != MP_STR && o->type != MP_BIN)
        return -2;
    if (memchr(o->ptr, 0, o->len))
        return -1; /* C strings cannot hold NUL */
    char *s = malloc((size_t)o->len + 1);
    if (!s)
        return AL_ENOMEM;
    if (o->len)
        memcpy(s, o->ptr, o->len);
    s[o->len] = 0;
    *out = s;
    return 0;
}

/* v is the head just read at *pp; the elements follow (checked). */
static int decode_bytes(const struct mpv *o, const uint8_t **pp,
                        const uint8_t *end, al_buf *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
    if (o->type == MP_BIN)
        return al_buf_append(b, o->ptr, o->len);
    if (o->type != MP_ARRAY)
        return -2;
    if (al_buf_reserve(b, o->len))
        return AL_ENOMEM;
    for (uint32_t i = 0; i < o->len; i++) {
        struct mpv e;
        mp_item(pp, end, &e);
        if (e.type != MP_UINT || e.u > 255) {
            al_buf_free(b);
            return -1;
        }
        b->data[b->len++] = (uint8_t)e.u;
    }
    return 0;
}

/* Decodes the value at *pp (already checked) into field f; *pp moves
 * past what was read, not always past the whole value. */
static int decode_field(const al_mp_struct *d, const al_mp_field *f,
                        const uint8_t **pp, const uint8_t *end, void *s,
                        al_error *err)
{
    char *p = (char *)s + f->offset;
    struct mpv o;
    mp_item(pp, end, &o);
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
        rc = get_int(&o, true, -hi - 1, hi, 0, &uv, &sv);
        if (rc == -2)
            return want(err, d->name, f->name, "integer", &o);
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
        rc = get_int(&o, false, 0, 0, lim[f->type - AL_MP_U8], &uv, &sv);
        if (rc == -2)
            return want(err, d->name, f->name, "integer", &o);
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
        if (o.type == MP_FLOAT)
            v = o.f;
        else if (o.type == MP_UINT)
            v = (double)o.u;
        else if (o.type == MP_NEG)
            v = (double)o.i;
        else
            return want(err, d->name, f->name, "float", &o);
        if (f->type == AL_MP_F32)
            *(float *)p = (float)v;
        else
            *(double *)p = v;
        return 0;
    }
    case AL_MP_BOOL:
        if (o.type != MP_BOOL)
            return want(err, d->name, f->name, "a boolean", &o);
        *(bool *)p = o.b;
        return 0;
    case AL_MP_OPT_STR:
        if (o.type == MP_NIL) {
            *(char **)p = NULL;
            return 0;
        }
        /* fall through */
    case AL_MP_STR:
        rc = decode_str(&o, (char **)p);
        if (rc == -2)
            return want(err, d->name, f->name, "a string", &o);
        if (rc == -1)
            return al_error_set(err, AL_EDECODE, "%s.%s: string contains NUL",
                                d->name, f->name);
        return rc ? al_error_set(err, rc, "out of memory") : 0;
    case AL_MP_BYTES:
        rc = decode_bytes(&o, pp, end, (al_buf *)p);
        if (rc == -2)
            return want(err, d->name, f->name, "a byte array", &o);
        if (rc == -1)
            return al_error_set(err, AL_EDECODE,
                                "%s.%s: byte array element out of range",
                                d->name, f->name);
        return rc ? al_error_set(err, rc, "out of memory") : 0;
    }
    return al_error_set(err, AL_EINVAL, "%s.%s: unknown field type", d->name,
                        f->name);
}

/* Decodes field f from the value at *pp and steps past the whole value. */
static int decode_at(const al_mp_struct *d, const al_mp_field *f,
                     const uint8_t **pp, const uint8_t *end, void *s,
                     al_error *err)
{
    const uint8_t *at = *pp;
    int rc = decode_field(d, f, &at, end, s, err);
    if (rc == 0)
        mp_skip(pp, end, 0);
    return rc;
}

static int decode_map(const al_mp_struct *d, uint32_t n, const uint8_t *p,
                      const uint8_t *end, void *s, bool *seen, al_error *err)
{
    for (uint32_t i = 0; i < n; i++) {
        struct mpv key;
        mp_item(&p, end, &key);
        if (key.type != MP_STR)
            return al_error_set(err, AL_EDECODE,
                                "%s: map key is %s, expected a field name",
                                d->name, type_name(&key));
        size_t k = 0;
        for (; k < d->nfields; k++) {
            const char *name = d->fields[k].name;
            if (strlen(name) == key.len && memcmp(name, key.ptr, key.len) == 0)
                break;
        }
        if (k == d->nfields) {
            mp_skip(&p, end, 0);
            continue;
        }
        if (seen[k])
            return al_error_set(err, AL_EDECODE, "%s: duplicate field `%s`",
                                d->name, d->fields[k].name);
        seen[k] = true;
        int rc = decode_at(d, &d->fields[k], &p, end, s, err);
        if (rc)
            return rc;
    }
    for (size_t k = 0; k < d->nfields; k++)
        if (!seen[k] && d->fields[k].type != AL_MP_OPT_STR)
            return al_error_set(err, AL_EDECODE, "%s: missing field `%s`",
                                d->name, d->fields[k].name);
    return 0;
}

static int decode_array(const al_mp_struct *d, uint32_t n, const uint8_t *p,
                        const uint8_t *end, void *s, bool *seen, al_error *err)
{
    if (n != d->nfields)
        return al_error_set(err, AL_EDECODE,
                            "%s: invalid length %u, expected %zu fields",
                            d->name, n, d->nfields);
    for (size_t k = 0; k < d->nfields; k++) {
        int rc = decode_at(d, &d->fields[k], &p, end, s, err);
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
    rc = mp_check(buf, len, err);
    if (rc == 0) {
        const uint8_t *p = buf, *end = buf + len;
        struct mpv o;
        mp_item(&p, end, &o);
        if (o.type == MP_MAP)
            rc = decode_map(d, o.len, p, end, s, seen, err);
        else if (o.type == MP_ARRAY)
            rc = decode_array(d, o.len, p, end, s, seen, err);
        else
            rc = al_error_set(err, AL_EDECODE,
                              "%s: invalid type: %s, expected struct %s",
                              d->name, type_name(&o), d->name);
        if (rc)
            free_seen(d, s, seen);
    }
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
    int rc = mp_check(buf, len, err);
    if (rc)
        return rc;
    const uint8_t *p = buf;
    struct mpv o;
    mp_item(&p, buf + len, &o);
    int r = get_int(&o, is_signed, INT64_MIN, INT64_MAX, UINT64_MAX, uv, sv);
    if (r == -2)
        return al_error_set(err, AL_EDECODE,
                            "invalid type: %s, expected integer",
                            type_name(&o));
    if (r)
        return al_error_set(err, AL_EDECODE, "integer out of range");
    return 0;
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
