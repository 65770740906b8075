/* A bounded MessagePack reader that builds jansson values. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpjson.h"

typedef struct rd {
    const uint8_t *p;
    size_t left;
    al_error *err;
} rd;

static int bad(rd *r, const char *why)
{
    return al_error_set(r->err, AL_EDECODE, "MessagePack: %s", why);
}

static int take(rd *r, size_t n, const uint8_t **out)
{
    if (n > r->left)
        return bad(r, "truncated");
    *out = r->p;
    r->p += n;
    r->left -= n;
    return 0;
}

static uint64_t be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

static int read_uint(rd *r, size_t n, uint64_t *v)
{
    const uint8_t *p = NULL;
    int rc = take(r, n, &p);
    if (!rc)
        *v = be(p, n);
    return rc;
}

char *gw_base64(const uint8_t *d, size_t len)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t olen = (len + 2) / 3 * 4;
    char *out = malloc(olen + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)d[i + 1] << 8;
        if (i + 2 < len)
            v |= d[i + 2];
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? tab[v & 63] : '=';
    }
    out[o] = 0;
    return out;
}

static int value(rd *r, int depth, json_t **out);

static int str_of(rd *r, size_t n, json_t **out)
{
    const uint8_t *p = NULL;
    int rc = take(r, n, &p);
    if (rc)
        return rc;
    *out = json_stringn((const char *)p, n);
    return *out ? 0 : bad(r, "string is not UTF-8");
}

static int bin_of(rd *r, size_t n, json_t **out)
{
    const uint8_t *p = NULL;
    int rc = take(r, n, &p);
    if (rc)
        return rc;
    char *b64 = gw_base64(p, n);
    if (!b64)
        return AL_ENOMEM;
    *out = json_string(b64);
    free(b64);
    return *out ? 0 : AL_ENOMEM;
}

static int array_of(rd *r, uint64_t n, int depth, json_t **out)
{
    if (n > r->left) /* each element takes at least one byte */
        return bad(r, "array longer than the input");
    json_t *a = json_array();
    if (!a)
        return AL_ENOMEM;
    for (uint64_t i = 0; i < n; i++) {
        json_t *v;
        int rc = value(r, depth + 1, &v);
        if (rc || json_array_append_new(a, v)) {
            json_decref(a);
            return rc ? rc : AL_ENOMEM;
        }
    }
    *out = a;
    return 0;
}

/* A map key as text: strings as they are, integers in decimal. */
static int key_of(rd *r, char **key, size_t *klen)
{
    json_t *k;
    int rc = value(r, GW_MPJSON_DEPTH, &k);
    if (rc)
        return rc;
    char num[24];
    const char *s;
    size_t n;
    if (json_is_string(k)) {
        s = json_string_value(k);
        n = json_string_length(k);
    } else if (json_is_integer(k)) {
        n = (size_t)snprintf(num, sizeof(num), "%lld",
                             (long long)json_integer_value(k));
        s = num;
    } else {
        json_decref(k);
        return bad(r, "map key is not a string or an integer");
    }
    *key = malloc(n + 1);
    if (*key) {
        memcpy(*key, s, n);
        (*key)[n] = 0;
        *klen = n;
    }
    json_decref(k);
    return *key ? 0 : AL_ENOMEM;
}

static int map_of(rd *r, uint64_t n, int depth, json_t **out)
{
    if (n > r->left / 2)
        return bad(r, "map longer than the input");
    json_t *o = json_object();
    if (!o)
        return AL_ENOMEM;
    for (uint64_t i = 0; i < n; i++) {
        char *key = NULL;
        size_t klen = 0;
        json_t *v = NULL;
        int rc = key_of(r, &key, &klen);
        if (!rc && memchr(key, 0, klen))
            rc = bad(r, "map key holds NUL");
        if (!rc && json_object_get(o, key))
            rc = bad(r, "repeated map key");
        if (!rc)
            rc = value(r, depth + 1, &v);
        if (!rc && json_object_set_new(o, key, v))
            rc = AL_ENOMEM;
        free(key);
        if (rc) {
            json_decref(o);
            return rc;
        }
    }
    *out = o;
    return 0;
}

static int uint_json(uint64_t v, json_t **out)
{
    if (v <= INT64_MAX) {
        *out = json_integer((json_int_t)v);
    } else {
        char num[24];
        snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
        *out = json_string(num);
    }
    return *out ? 0 : AL_ENOMEM;
}

static int float_json(rd *r, double d, json_t **out)
{
    if (!isfinite(d))
        return bad(r, "NaN or infinity has no JSON form");
    *out = json_real(d);
    return *out ? 0 : AL_ENOMEM;
}

static int value(rd *r, int depth, json_t **out)
{
    const uint8_t *p = NULL;
    uint64_t n;
    int rc;
    if (depth > GW_MPJSON_DEPTH)
        return bad(r, "nested too deeply");
    if ((rc = take(r, 1, &p)))
        return rc;
    uint8_t c = *p;
    if (c <= 0x7f)
        return uint_json(c, out);
    if (c >= 0xe0)
        return (*out = json_integer((int8_t)c)) ? 0 : AL_ENOMEM;
    if (c >= 0xa0 && c <= 0xbf)
        return str_of(r, c & 0x1f, out);
    if (c >= 0x90 && c <= 0x9f)
        return array_of(r, c & 0x0f, depth, out);
    if (c >= 0x80 && c <= 0x8f)
        return map_of(r, c & 0x0f, depth, out);
    switch (c) {
    case 0xc0:
        return (*out = json_null()) ? 0 : AL_ENOMEM;
    case 0xc2:
        return (*out = json_false()) ? 0 : AL_ENOMEM;
    case 0xc3:
        return (*out = json_true()) ? 0 : AL_ENOMEM;
    case 0xc4:
    case 0xc5:
    case 0xc6:
        if ((rc = read_uint(r, (size_t)1 << (c - 0xc4), &n)))
            return rc;
        return bin_of(r, n, out);
    case 0xca: {
        if ((rc = read_uint(r, 4, &n)))
            return rc;
        uint32_t bits = (uint32_t)n;
        float f;
        memcpy(&f, &bits, 4);
        return float_json(r, f, out);
    }
    case 0xcb: {
        if ((rc = read_uint(r, 8, &n)))
            return rc;
        double d;
        memcpy(&d, &n, 8);
        return float_json(r, d, out);
    }
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf:
        if ((rc = read_uint(r, (size_t)1 << (c - 0xcc), &n)))
            return rc;
        return uint_json(n, out);
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3: {
        size_t w = (size_t)1 << (c - 0xd0);
        if ((rc = read_uint(r, w, &n)))
            return rc;
        int64_t v = w == 8 ? (int64_t)n
                           : (int64_t)(n ^ ((uint64_t)1 << (w * 8 - 1))) -
                                 (int64_t)((uint64_t)1 << (w * 8 - 1));
        return (*out = json_integer(v)) ? 0 : AL_ENOMEM;
    }
    case 0xd9:
    case 0xda:
    case 0xdb:
        if ((rc = read_uint(r, (size_t)1 << (c - 0xd9), &n)))
            return rc;
        return str_of(r, n, out);
    case 0xdc:
    case 0xdd:
        if ((rc = read_uint(r, c == 0xdc ? 2 : 4, &n)))
            return rc;
        return array_of(r, n, depth, out);
    case 0xde:
    case 0xdf:
        if ((rc = read_uint(r, c == 0xde ? 2 : 4, &n)))
            return rc;
        return map_of(r, n, depth, out);
    default:
        return bad(r, "ext types and reserved bytes have no JSON form");
    }
}

int gw_mpjson_decode(const uint8_t *buf, size_t len, json_t **out,
                     al_error *err)
{
    rd r = {buf, len, err};
    json_t *v = NULL;
    *out = NULL;
    int rc = value(&r, 0, &v);
    if (rc)
        return rc;
    if (r.left) {
        json_decref(v);
        return bad(&r, "trailing bytes after the value");
    }
    *out = v;
    return 0;
}
