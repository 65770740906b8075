/* Message schemas: compile the JSON Schema subset, validate, map JSON to
 * MessagePack and back, compare schemas for compatibility.
 *
 * Integers are carried as __int128 internally so that every int64 and
 * uint64 value, and every bound, compares exactly without sign games. */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "schema.h"

typedef __int128 wide;

#define MAX_DEPTH   32  /* nesting of schemas */
#define MAX_MEMBERS 256 /* properties of an object, variants of an enum */
#define MAX_NAME    255 /* bytes of a property or variant name */
#define MARKER      0xff

static const char schema_uri[] = "https://json-schema.org/draft/2020-12/schema";

enum kind {
    K_NULL,
    K_BOOL,
    K_INT,
    K_NUM,
    K_STR,
    K_BYTES,
    K_ARRAY,
    K_STRUCT,
    K_MAP,
    K_VARIANTS,
};

static const char *const kind_names[] = {
    "null",  "boolean", "integer", "number", "string",
    "bytes", "array",   "object",  "map",    "enum",
};

struct int_format {
    const char *name;
    wide lo, hi;
};

#define WIDE_U64_MAX ((wide)UINT64_MAX)

static const struct int_format int_formats[] = {
    {"int8", INT8_MIN, INT8_MAX},    {"int16", INT16_MIN, INT16_MAX},
    {"int32", INT32_MIN, INT32_MAX}, {"int64", INT64_MIN, INT64_MAX},
    {"uint8", 0, UINT8_MAX},         {"uint16", 0, UINT16_MAX},
    {"uint32", 0, UINT32_MAX},       {"uint64", 0, WIDE_U64_MAX},
};
enum { FMT_INT64 = 3, FMT_UINT64 = 7, NFORMATS = 8 };

struct node;

struct field {
    char *name;
    size_t len;
    struct node *type;
    bool required;
};

struct variant {
    char *name;
    size_t len;
    struct node *payload; /* NULL: a unit variant */
};

struct node {
    enum kind kind;
    bool nullable;
    int format;         /* K_INT: index in int_formats; K_NUM: 1 = float */
    wide lo, hi;        /* K_INT: format range narrowed by minimum/maximum */
    double nlo, nhi;    /* K_NUM: range, format's narrowed by min/max */
    uint64_t min, max;  /* K_STR code points, K_ARRAY items */
    struct node *items; /* K_ARRAY items, K_MAP values */
    struct field *fields;
    size_t nfields;
    bool open; /* K_STRUCT: unknown properties are ignored, not rejected */
    struct variant *variants;
    size_t nvariants;
};

struct gw_schema {
    struct node *root;
    json_t *doc;
};

/* ------------------------------------------------------------ pointers */

/* A position in a JSON document, as a chain of frames on the C stack from
 * the leaf up: building it costs nothing until an error prints it. */
struct path {
    const struct path *up;
    const char *key; /* NULL: index */
    size_t keylen;
    size_t index;
};

static struct path at_key(const struct path *up, const char *key)
{
    return (struct path){up, key, strlen(key), 0};
}

static struct path at_keyn(const struct path *up, const char *key, size_t n)
{
    return (struct path){up, key, n, 0};
}

static struct path at_index(const struct path *up, size_t i)
{
    return (struct path){up, NULL, 0, i};
}

struct sink {
    char *buf;
    size_t cap, len;
    bool full;
};

static void sink_put(struct sink *s, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s->len + 4 >= s->cap) { /* keep room for "..." and NUL */
            s->full = true;
            return;
        }
        s->buf[s->len++] = p[i];
    }
}

static void put_pointer(struct sink *s, const struct path *p)
{
    if (!p)
        return;
    put_pointer(s, p->up);
    if (s->full)
        return;
    sink_put(s, "/", 1);
    if (!p->key) {
        char num[24];
        int n = snprintf(num, sizeof(num), "%zu", p->index);
        sink_put(s, num, (size_t)n);
        return;
    }
    for (size_t i = 0; i < p->keylen && !s->full; i++) {
        if (p->key[i] == '~')
            sink_put(s, "~0", 2);
        else if (p->key[i] == '/')
            sink_put(s, "~1", 2);
        else
            sink_put(s, &p->key[i], 1);
    }
}

static void format_pointer(const struct path *p, char *buf, size_t cap)
{
    struct sink s = {buf, cap, 0, false};
    put_pointer(&s, p);
    if (s.full)
        memcpy(buf + s.len, "...", 3), s.len += 3;
    buf[s.len] = '\0';
}

static int fail(gw_schema_error *err, const struct path *p, int code,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int fail(gw_schema_error *err, const struct path *p, int code,
                const char *fmt, ...)
{
    if (!err)
        return code;
    format_pointer(p, err->pointer, sizeof(err->pointer));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->reason, sizeof(err->reason), fmt, ap);
    va_end(ap);
    return code;
}

/* ------------------------------------------------------------ numbers */

static void wide_str(wide v, char out[48])
{
    char tmp[48];
    size_t n = 0;
    bool neg = v < 0;
    unsigned __int128 u = neg ? -(unsigned __int128)v : (unsigned __int128)v;
    do {
        tmp[n++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u && n < sizeof(tmp) - 1);
    size_t o = 0;
    if (neg)
        out[o++] = '-';
    while (n)
        out[o++] = tmp[--n];
    out[o] = '\0';
}

/* Strict decimal: -?(0|[1-9][0-9]*), at most 38 digits (below 2^127). */
static bool parse_decimal(const char *s, size_t n, wide *out)
{
    size_t i = 0;
    bool neg = false;
    if (i < n && s[i] == '-')
        neg = true, i++;
    size_t digits = n - i;
    if (digits == 0 || digits > 38 || (s[i] == '0' && digits > 1))
        return false;
    wide v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = neg ? -v : v;
    return true;
}

static bool is_marker(const json_t *v)
{
    return json_is_string(v) && json_string_length(v) > 0 &&
           (uint8_t)json_string_value(v)[0] == MARKER;
}

static const char *json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return is_marker(v) ? "integer" : "string";
    case JSON_INTEGER:
        return "integer";
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    case JSON_NULL:
        return "null";
    }
    return "?";
}

/* 2^53: above it a double no longer holds every integer, so a JSON real
 * there may not be the integer its text said. */
#define EXACT_DOUBLE_INT 9007199254740992.0

/* An integer bound or value written as a JSON integer, a marker, or (when
 * strings is true) a decimal string. Returns a reason or NULL. */
static const char *json_wide(const json_t *v, bool strings, wide *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return NULL;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d != floor(d))
            return "not an integer";
        if (fabs(d) > EXACT_DOUBLE_INT)
            return "written with a fraction or exponent and too large to "
                   "be exact (write it as a plain integer)";
        *out = (wide)d;
        return NULL;
    }
    if (is_marker(v)) {
        if (!parse_decimal(json_string_value(v) + 1, json_string_length(v) - 1,
                           out))
            return "integer out of range";
        return NULL;
    }
    if (json_is_string(v) && strings) {
        if (!parse_decimal(json_string_value(v), json_string_length(v), out))
            return "not a decimal integer string";
        return NULL;
    }
    return "";
}

static bool format_takes_strings(int format)
{
    return format == FMT_INT64 || format == FMT_UINT64;
}

/* ------------------------------------------------------------ UTF-8 */

/* Strict UTF-8 (no overlongs, surrogates or values above U+10FFFF); counts
 * code points. */
static bool utf8_valid(const uint8_t *s, size_t n, uint64_t *count)
{
    uint64_t cps = 0;
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t need;
        uint32_t cp;
        if (c < 0x80) {
            i++, cps++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            need = 1, cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2, cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3, cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i - 1 < need)
            return false;
        for (size_t k = 1; k <= need; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += need + 1, cps++;
    }
    *count = cps;
    return true;
}

static uint64_t utf8_count(const char *s, size_t n)
{
    uint64_t cps = 0;
    for (size_t i = 0; i < n; i++)
        cps += ((uint8_t)s[i] & 0xc0) != 0x80;
    return cps;
}

/* ------------------------------------------------------------ base64 */

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Standard alphabet, padded, canonical (unused bits zero), no whitespace.
 * out must hold n / 4 * 3 bytes. */
static bool b64_decode(const char *s, size_t n, uint8_t *out, size_t *outlen)
{
    if (n % 4)
        return false;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        size_t pad = 0;
        for (int k = 0; k < 4; k++) {
            if (s[i + k] == '=' && i + 4 == n && k >= 2) {
                v[k] = 0, pad++;
                continue;
            }
            if (pad) /* '=' followed by data */
                return false;
            v[k] = b64val(s[i + k]);
            if (v[k] < 0)
                return false;
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
                     (uint32_t)v[2] << 6 | (uint32_t)v[3];
        if ((pad == 1 && (w & 0xff)) || (pad == 2 && (w & 0xffff)))
            return false;
        out[o++] = (uint8_t)(w >> 16);
        if (pad < 2)
            out[o++] = (uint8_t)(w >> 8);
        if (pad < 1)
            out[o++] = (uint8_t)w;
    }
    *outlen = o;
    return true;
}

static json_t *b64_json(const uint8_t *p, size_t n)
{
    size_t olen = (n + 2) / 3 * 4;
    char *s = malloc(olen + 1);
    if (!s)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t w = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            w |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            w |= p[i + 2];
        s[o++] = b64chars[(w >> 18) & 63];
        s[o++] = b64chars[(w >> 12) & 63];
        s[o++] = i + 1 < n ? b64chars[(w >> 6) & 63] : '=';
        s[o++] = i + 2 < n ? b64chars[w & 63] : '=';
    }
    json_t *j = json_stringn_nocheck(s, o);
    free(s);
    return j;
}

/* ------------------------------------------------------------ compile */

static void node_free(struct node *n)
{
    if (!n)
        return;
    node_free(n->items);
    for (size_t i = 0; i < n->nfields; i++) {
        free(n->fields[i].name);
        node_free(n->fields[i].type);
    }
    free(n->fields);
    for (size_t i = 0; i < n->nvariants; i++) {
        free(n->variants[i].name);
        node_free(n->variants[i].payload);
    }
    free(n->variants);
    free(n);
}

static const char *const annotations[] = {
    "title", "description", "$comment", "examples", "deprecated", NULL,
};

/* Every keyword the subset knows, to tell "misplaced" from "unknown". */
static const char *const known[] = {
    "type",      "nullable",
    "format",    "minimum",
    "maximum",   "minLength",
    "maxLength", "contentEncoding",
    "items",     "minItems",
    "maxItems",  "properties",
    "required",  "additionalProperties",
    "enum",      "const",
    "oneOf",     "$schema",
    NULL,
};

static bool in_list(const char *const *list, const char *k)
{
    for (; *list; list++)
        if (!strcmp(*list, k))
            return true;
    return false;
}

/* Rejects any keyword of doc outside allowed (plus the ones every schema
 * may carry), naming it: a misspelled keyword must not pass silently. */
static int check_keywords(json_t *doc, const struct path *p,
                          const char *const *allowed, const char *shape,
                          gw_schema_error *err)
{
    const char *k;
    json_t *v;
    json_object_foreach(doc, k, v)
    {
        if (in_list(annotations, k) || !strcmp(k, "type") ||
            !strcmp(k, "nullable") || !strcmp(k, "$schema") ||
            in_list(allowed, k))
            continue;
        struct path kp = at_key(p, k);
        if (in_list(known, k))
            return fail(err, &kp, AL_EINVAL,
                        "keyword '%s' does not apply to %s", k, shape);
        return fail(err, &kp, AL_EINVAL,
                    "unsupported keyword '%s' (see schemas/README.md)", k);
    }
    return 0;
}

/* `type` as a name plus nullability: "T", ["T", "null"] or ["null", "T"]. */
static int read_type(json_t *doc, const struct path *p, const char **type,
                     bool *nullable, gw_schema_error *err)
{
    static const char *const types[] = {
        "null",   "boolean", "integer", "number",
        "string", "array",   "object",  NULL,
    };
    json_t *t = json_object_get(doc, "type");
    struct path tp = at_key(p, "type");
    *type = NULL;
    if (!t)
        return 0;
    if (json_is_array(t)) {
        size_t n = json_array_size(t);
        const char *a = n > 0 ? json_string_value(json_array_get(t, 0)) : NULL;
        const char *b = n > 1 ? json_string_value(json_array_get(t, 1)) : NULL;
        if (n == 1 && a) {
            *type = a;
        } else if (n == 2 && a && b &&
                   (!strcmp(a, "null") != !strcmp(b, "null"))) {
            *type = strcmp(a, "null") ? a : b;
            *nullable = true;
        } else {
            return fail(err, &tp, AL_EINVAL,
                        "'type' must be a type name or [name, \"null\"]");
        }
    } else if (json_is_string(t)) {
        *type = json_string_value(t);
    } else {
        return fail(err, &tp, AL_EINVAL, "'type' must be a string or array");
    }
    if (!in_list(types, *type))
        return fail(err, &tp, AL_EINVAL, "unknown type '%s'", *type);
    return 0;
}

static int read_count(json_t *doc, const char *key, const struct path *p,
                      uint64_t *out, gw_schema_error *err)
{
    json_t *v = json_object_get(doc, key);
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        struct path kp = at_key(p, key);
        return fail(err, &kp, AL_EINVAL, "'%s' must be a non-negative integer",
                    key);
    }
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static int check_range_order(json_t *doc, const struct path *p, bool ok,
                             const char *lo, gw_schema_error *err)
{
    if (ok)
        return 0;
    struct path kp = at_key(p, lo);
    (void)doc;
    return fail(err, &kp, AL_EINVAL, "the range is empty");
}

static int compile_node(json_t *doc, const struct path *p, int depth, bool root,
                        struct node **out, gw_schema_error *err);

static int compile_int(json_t *doc, const struct path *p, struct node *n,
                       gw_schema_error *err)
{
    static const char *const allowed[] = {"format", "minimum", "maximum", NULL};
    int rc = check_keywords(doc, p, allowed, "integer", err);
    if (rc)
        return rc;
    n->format = FMT_INT64;
    json_t *f = json_object_get(doc, "format");
    if (f) {
        struct path fp = at_key(p, "format");
        const char *name = json_string_value(f);
        n->format = -1;
        for (int i = 0; name && i < NFORMATS; i++)
            if (!strcmp(name, int_formats[i].name))
                n->format = i;
        if (n->format < 0)
            return fail(err, &fp, AL_EINVAL,
                        "integer 'format' must be one of int8, int16, int32, "
                        "int64, uint8, uint16, uint32, uint64");
    }
    const struct int_format *fm = &int_formats[n->format];
    n->lo = fm->lo;
    n->hi = fm->hi;
    static const char *const bounds[] = {"minimum", "maximum"};
    for (int i = 0; i < 2; i++) {
        json_t *b = json_object_get(doc, bounds[i]);
        if (!b)
            continue;
        struct path bp = at_key(p, bounds[i]);
        wide w;
        if (json_wide(b, true, &w))
            return fail(err, &bp, AL_EINVAL,
                        "'%s' must be an integer (or a decimal string)",
                        bounds[i]);
        if (w < fm->lo || w > fm->hi)
            return fail(err, &bp, AL_EINVAL, "'%s' is outside the range of %s",
                        bounds[i], fm->name);
        if (i == 0)
            n->lo = w;
        else
            n->hi = w;
    }
    return check_range_order(doc, p, n->lo <= n->hi, "minimum", err);
}

static int compile_num(json_t *doc, const struct path *p, struct node *n,
                       gw_schema_error *err)
{
    static const char *const allowed[] = {"format", "minimum", "maximum", NULL};
    int rc = check_keywords(doc, p, allowed, "number", err);
    if (rc)
        return rc;
    json_t *f = json_object_get(doc, "format");
    if (f) {
        const char *name = json_string_value(f);
        struct path fp = at_key(p, "format");
        if (name && !strcmp(name, "float"))
            n->format = 1;
        else if (!name || strcmp(name, "double"))
            return fail(err, &fp, AL_EINVAL,
                        "number 'format' must be float or double");
    }
    double lim = n->format ? FLT_MAX : DBL_MAX;
    n->nlo = -lim;
    n->nhi = lim;
    json_t *lo = json_object_get(doc, "minimum");
    json_t *hi = json_object_get(doc, "maximum");
    if (lo && !json_is_number(lo)) {
        struct path kp = at_key(p, "minimum");
        return fail(err, &kp, AL_EINVAL, "'minimum' must be a number");
    }
    if (hi && !json_is_number(hi)) {
        struct path kp = at_key(p, "maximum");
        return fail(err, &kp, AL_EINVAL, "'maximum' must be a number");
    }
    if (lo)
        n->nlo = fmax(n->nlo, json_number_value(lo));
    if (hi)
        n->nhi = fmin(n->nhi, json_number_value(hi));
    return check_range_order(doc, p, n->nlo <= n->nhi, "minimum", err);
}

static int compile_str(json_t *doc, const struct path *p, struct node *n,
                       gw_schema_error *err)
{
    static const char *const allowed[] = {"minLength", "maxLength", "format",
                                          "contentEncoding", NULL};
    int rc = check_keywords(doc, p, allowed, "string", err);
    if (rc)
        return rc;
    json_t *f = json_object_get(doc, "format");
    json_t *ce = json_object_get(doc, "contentEncoding");
    if (f) {
        struct path fp = at_key(p, "format");
        if (!json_is_string(f) || strcmp(json_string_value(f), "byte"))
            return fail(err, &fp, AL_EINVAL,
                        "the only string 'format' supported is \"byte\" "
                        "(bytes as base64)");
        n->kind = K_BYTES;
    }
    if (ce) {
        struct path cp = at_key(p, "contentEncoding");
        if (!json_is_string(ce) || strcmp(json_string_value(ce), "base64"))
            return fail(err, &cp, AL_EINVAL,
                        "'contentEncoding' must be \"base64\"");
        n->kind = K_BYTES;
    }
    n->min = 0;
    n->max = UINT64_MAX;
    if (n->kind == K_BYTES) {
        const char *k = json_object_get(doc, "minLength")   ? "minLength"
                        : json_object_get(doc, "maxLength") ? "maxLength"
                                                            : NULL;
        if (k) {
            struct path kp = at_key(p, k);
            return fail(err, &kp, AL_EINVAL,
                        "keyword '%s' does not apply to bytes", k);
        }
        return 0;
    }
    if ((rc = read_count(doc, "minLength", p, &n->min, err)) ||
        (rc = read_count(doc, "maxLength", p, &n->max, err)))
        return rc;
    return check_range_order(doc, p, n->min <= n->max, "minLength", err);
}

static int compile_array(json_t *doc, const struct path *p, int depth,
                         struct node *n, gw_schema_error *err)
{
    static const char *const allowed[] = {"items", "minItems", "maxItems",
                                          NULL};
    int rc = check_keywords(doc, p, allowed, "array", err);
    if (rc)
        return rc;
    json_t *items = json_object_get(doc, "items");
    if (!items)
        return fail(err, p, AL_EINVAL, "an array needs 'items'");
    struct path ip = at_key(p, "items");
    if ((rc = compile_node(items, &ip, depth + 1, false, &n->items, err)))
        return rc;
    n->min = 0;
    n->max = UINT64_MAX;
    if ((rc = read_count(doc, "minItems", p, &n->min, err)) ||
        (rc = read_count(doc, "maxItems", p, &n->max, err)))
        return rc;
    return check_range_order(doc, p, n->min <= n->max, "minItems", err);
}

static int compile_struct(json_t *doc, const struct path *p, int depth,
                          struct node *n, gw_schema_error *err)
{
    json_t *props = json_object_get(doc, "properties");
    json_t *req = json_object_get(doc, "required");
    json_t *ap = json_object_get(doc, "additionalProperties");
    struct path pp = at_key(p, "properties");
    struct path rp = at_key(p, "required");
    struct path ap_p = at_key(p, "additionalProperties");
    int rc;
    if (ap && json_is_object(ap)) {
        static const char *const allowed[] = {"additionalProperties", NULL};
        rc = check_keywords(doc, p, allowed,
                            "a map (additionalProperties with a schema)", err);
        if (rc)
            return rc;
        n->kind = K_MAP;
        return compile_node(ap, &ap_p, depth + 1, false, &n->items, err);
    }
    static const char *const allowed[] = {"properties", "required",
                                          "additionalProperties", NULL};
    if ((rc = check_keywords(doc, p, allowed, "object", err)))
        return rc;
    if (ap && !json_is_boolean(ap))
        return fail(err, &ap_p, AL_EINVAL,
                    "'additionalProperties' must be false, true or a schema");
    n->open = ap && json_is_true(ap);
    if (props && !json_is_object(props))
        return fail(err, &pp, AL_EINVAL, "'properties' must be an object");
    if (req && !json_is_array(req))
        return fail(err, &rp, AL_EINVAL, "'required' must be an array");
    size_t np = props ? json_object_size(props) : 0;
    if (np > MAX_MEMBERS)
        return fail(err, &pp, AL_EINVAL, "more than %d properties",
                    MAX_MEMBERS);
    n->fields = calloc(np ? np : 1, sizeof(*n->fields));
    if (!n->fields)
        return AL_ENOMEM;
    const char *k;
    json_t *v;
    if (props) {
        json_object_foreach(props, k, v)
        {
            struct path kp = at_key(&pp, k);
            size_t len = strlen(k);
            if (len == 0 || len > MAX_NAME)
                return fail(err, &kp, AL_EINVAL,
                            "a property name must have 1 to %d bytes",
                            MAX_NAME);
            struct field *f = &n->fields[n->nfields];
            if (!(f->name = strdup(k)))
                return AL_ENOMEM;
            f->len = len;
            n->nfields++;
            if ((rc = compile_node(v, &kp, depth + 1, false, &f->type, err)))
                return rc;
        }
    }
    for (size_t i = 0; req && i < json_array_size(req); i++) {
        struct path ep = at_index(&rp, i);
        const char *name = json_string_value(json_array_get(req, i));
        if (!name)
            return fail(err, &ep, AL_EINVAL, "'required' holds strings");
        struct field *f = NULL;
        for (size_t j = 0; j < n->nfields; j++)
            if (!strcmp(n->fields[j].name, name))
                f = &n->fields[j];
        if (!f)
            return fail(err, &ep, AL_EINVAL,
                        "required property '%s' is not in 'properties'", name);
        if (f->required)
            return fail(err, &ep, AL_EINVAL, "'%s' is listed twice", name);
        f->required = true;
    }
    for (size_t j = 0; j < n->nfields; j++) {
        const struct field *f = &n->fields[j];
        if (f->required || f->type->nullable || f->type->kind == K_NULL)
            continue;
        struct path fp = at_key(&pp, f->name);
        return fail(err, &fp, AL_EINVAL,
                    "property '%s' is not required, so it is an Option: "
                    "mark it nullable (or list it in 'required')",
                    f->name);
    }
    return 0;
}

static int add_variant(struct node *n, const char *name, const struct path *p,
                       struct node *payload, gw_schema_error *err)
{
    size_t len = strlen(name);
    if (len == 0 || len > MAX_NAME) {
        node_free(payload);
        return fail(err, p, AL_EINVAL, "a variant name must have 1 to %d bytes",
                    MAX_NAME);
    }
    for (size_t i = 0; i < n->nvariants; i++)
        if (!strcmp(n->variants[i].name, name)) {
            node_free(payload);
            return fail(err, p, AL_EINVAL, "variant '%s' appears twice", name);
        }
    if (n->nvariants == MAX_MEMBERS) {
        node_free(payload);
        return fail(err, p, AL_EINVAL, "more than %d variants", MAX_MEMBERS);
    }
    if (n->nvariants % 16 == 0) {
        struct variant *nv =
            realloc(n->variants, (n->nvariants + 16) * sizeof(*nv));
        if (!nv) {
            node_free(payload);
            return AL_ENOMEM;
        }
        n->variants = nv;
    }
    struct variant *v = &n->variants[n->nvariants];
    if (!(v->name = strdup(name))) {
        node_free(payload);
        return AL_ENOMEM;
    }
    v->len = len;
    v->payload = payload;
    n->nvariants++;
    return 0;
}

/* `enum` (strings) and `const` (a string): unit variants. */
static int compile_units(json_t *doc, const struct path *p, struct node *n,
                         gw_schema_error *err)
{
    json_t *e = json_object_get(doc, "enum");
    json_t *c = json_object_get(doc, "const");
    if (e && c) {
        struct path cp = at_key(p, "const");
        return fail(err, &cp, AL_EINVAL, "use 'enum' or 'const', not both");
    }
    if (c) {
        struct path cp = at_key(p, "const");
        if (!json_is_string(c))
            return fail(err, &cp, AL_EINVAL,
                        "'const' must be a string (a unit variant)");
        return add_variant(n, json_string_value(c), &cp, NULL, err);
    }
    struct path ep = at_key(p, "enum");
    if (!json_is_array(e) || json_array_size(e) == 0)
        return fail(err, &ep, AL_EINVAL,
                    "'enum' must be a non-empty array of strings");
    for (size_t i = 0; i < json_array_size(e); i++) {
        struct path ip = at_index(&ep, i);
        json_t *s = json_array_get(e, i);
        if (!json_is_string(s))
            return fail(err, &ip, AL_EINVAL,
                        "'enum' values must be strings (unit variants)");
        int rc = add_variant(n, json_string_value(s), &ip, NULL, err);
        if (rc)
            return rc;
    }
    return 0;
}

/* One oneOf branch: unit variants ({"const": "A"}, {"enum": [...]}) or a
 * one-property object {"V": payload} (a variant with data). */
static int compile_branch(json_t *b, const struct path *p, int depth,
                          struct node *n, gw_schema_error *err)
{
    if (!json_is_object(b))
        return fail(err, p, AL_EINVAL, "a oneOf branch must be an object");
    const char *type = NULL;
    bool nullable = false;
    int rc = read_type(b, p, &type, &nullable, err);
    if (rc)
        return rc;
    if (nullable || json_object_get(b, "nullable"))
        return fail(err, p, AL_EINVAL,
                    "a oneOf branch cannot be nullable (make the oneOf "
                    "nullable instead)");
    if (json_object_get(b, "const") || json_object_get(b, "enum")) {
        static const char *const allowed[] = {"const", "enum", NULL};
        if (type && strcmp(type, "string"))
            return fail(err, p, AL_EINVAL,
                        "a unit variant branch has type string");
        if ((rc = check_keywords(b, p, allowed, "a unit variant branch", err)))
            return rc;
        return compile_units(b, p, n, err);
    }
    static const char *const allowed[] = {"properties", "required",
                                          "additionalProperties", NULL};
    if (!type || strcmp(type, "object"))
        return fail(err, p, AL_EINVAL,
                    "a oneOf branch is {\"const\": name} or an object "
                    "with one property (the variant)");
    if ((rc = check_keywords(b, p, allowed, "a variant branch", err)))
        return rc;
    json_t *props = json_object_get(b, "properties");
    json_t *req = json_object_get(b, "required");
    json_t *ap = json_object_get(b, "additionalProperties");
    if (!json_is_object(props) || json_object_size(props) != 1)
        return fail(err, p, AL_EINVAL,
                    "a variant branch has exactly one property");
    const char *name = json_object_iter_key(json_object_iter(props));
    if (!json_is_array(req) || json_array_size(req) != 1 ||
        !json_is_string(json_array_get(req, 0)) ||
        strcmp(json_string_value(json_array_get(req, 0)), name))
        return fail(err, p, AL_EINVAL,
                    "a variant branch must have \"required\": [\"%s\"]", name);
    if (ap && !json_is_false(ap))
        return fail(err, p, AL_EINVAL,
                    "a variant branch cannot allow additional properties");
    struct path pp = at_key(p, "properties");
    struct path vp = at_key(&pp, name);
    struct node *payload = NULL;
    if ((rc = compile_node(json_object_get(props, name), &vp, depth + 1, false,
                           &payload, err))) {
        node_free(payload);
        return rc;
    }
    return add_variant(n, name, &vp, payload, err);
}

static int compile_oneof(json_t *doc, const struct path *p, int depth,
                         struct node *n, gw_schema_error *err)
{
    static const char *const allowed[] = {"oneOf", NULL};
    int rc = check_keywords(doc, p, allowed, "oneOf", err);
    if (rc)
        return rc;
    json_t *one = json_object_get(doc, "oneOf");
    struct path op = at_key(p, "oneOf");
    if (!json_is_array(one) || json_array_size(one) == 0)
        return fail(err, &op, AL_EINVAL, "'oneOf' must be a non-empty array");
    for (size_t i = 0; i < json_array_size(one); i++) {
        struct path bp = at_index(&op, i);
        if ((rc = compile_branch(json_array_get(one, i), &bp, depth, n, err)))
            return rc;
    }
    return 0;
}

static int compile_shape(json_t *doc, const struct path *p, int depth,
                         const char *type, struct node *n, gw_schema_error *err)
{
    static const char *const none[] = {NULL};
    if (json_object_get(doc, "oneOf")) {
        if (type) {
            struct path tp = at_key(p, "type");
            return fail(err, &tp, AL_EINVAL,
                        "'oneOf' takes no 'type' (the branches say it)");
        }
        n->kind = K_VARIANTS;
        return compile_oneof(doc, p, depth, n, err);
    }
    if (json_object_get(doc, "enum") || json_object_get(doc, "const")) {
        static const char *const allowed[] = {"enum", "const", NULL};
        if (type && strcmp(type, "string")) {
            struct path tp = at_key(p, "type");
            return fail(err, &tp, AL_EINVAL,
                        "'enum' and 'const' are strings (unit variants)");
        }
        n->kind = K_VARIANTS;
        int rc = check_keywords(doc, p, allowed, "an enum", err);
        return rc ? rc : compile_units(doc, p, n, err);
    }
    if (!type) {
        /* name a stray keyword first: {"$ref": ...} is not "missing type" */
        int rc = check_keywords(doc, p, known, "a schema without type", err);
        return rc ? rc
                  : fail(err, p, AL_EINVAL,
                         "missing 'type' (or 'enum', 'const', 'oneOf')");
    }
    if (!strcmp(type, "null")) {
        n->kind = K_NULL;
        return check_keywords(doc, p, none, "null", err);
    }
    if (!strcmp(type, "boolean")) {
        n->kind = K_BOOL;
        return check_keywords(doc, p, none, "boolean", err);
    }
    if (!strcmp(type, "integer")) {
        n->kind = K_INT;
        return compile_int(doc, p, n, err);
    }
    if (!strcmp(type, "number")) {
        n->kind = K_NUM;
        return compile_num(doc, p, n, err);
    }
    if (!strcmp(type, "string")) {
        n->kind = K_STR;
        return compile_str(doc, p, n, err);
    }
    if (!strcmp(type, "array")) {
        n->kind = K_ARRAY;
        return compile_array(doc, p, depth, n, err);
    }
    n->kind = K_STRUCT;
    return compile_struct(doc, p, depth, n, err);
}

static int compile_node(json_t *doc, const struct path *p, int depth, bool root,
                        struct node **out, gw_schema_error *err)
{
    *out = NULL;
    if (!json_is_object(doc))
        return fail(err, p, AL_EINVAL, "a schema must be a JSON object");
    if (depth > MAX_DEPTH)
        return fail(err, p, AL_EINVAL, "schemas nest deeper than %d levels",
                    MAX_DEPTH);
    struct node *n = calloc(1, sizeof(*n));
    if (!n)
        return AL_ENOMEM;
    const char *type = NULL;
    int rc = read_type(doc, p, &type, &n->nullable, err);
    json_t *nb = json_object_get(doc, "nullable");
    if (!rc && nb) {
        struct path np = at_key(p, "nullable");
        if (!json_is_boolean(nb))
            rc = fail(err, &np, AL_EINVAL, "'nullable' must be a boolean");
        else if (json_is_true(nb))
            n->nullable = true;
    }
    json_t *sch = json_object_get(doc, "$schema");
    if (!rc && sch) {
        struct path sp = at_key(p, "$schema");
        if (!root)
            rc = fail(err, &sp, AL_EINVAL,
                      "'$schema' is only allowed at the root");
        else if (!json_is_string(sch) ||
                 strcmp(json_string_value(sch), schema_uri))
            rc = fail(err, &sp, AL_EINVAL, "'$schema' must be \"%s\"",
                      schema_uri);
    }
    if (!rc)
        rc = compile_shape(doc, p, depth, type, n, err);
    if (rc) {
        node_free(n);
        return rc;
    }
    *out = n;
    return 0;
}

int gw_schema_compile(json_t *doc, gw_schema **out, gw_schema_error *err)
{
    *out = NULL;
    gw_schema *s = calloc(1, sizeof(*s));
    if (!s)
        return AL_ENOMEM;
    int rc = compile_node(doc, NULL, 0, true, &s->root, err);
    if (rc) {
        free(s);
        return rc;
    }
    s->doc = json_incref(doc);
    *out = s;
    return 0;
}

void gw_schema_free(gw_schema *s)
{
    if (!s)
        return;
    node_free(s->root);
    json_decref(s->doc);
    free(s);
}

json_t *gw_schema_doc(const gw_schema *s)
{
    return s->doc;
}

/* ------------------------------------------------------------ JSON -> mp */

struct enc {
    msgpack_packer pk;
    gw_schema_error *err;
};

static int buf_write(void *data, const char *buf, size_t len)
{
    return al_buf_append(data, buf, len);
}

static int null_write(void *data, const char *buf, size_t len)
{
    return 0;
}

static const char *describe(const struct node *n, char *buf, size_t cap)
{
    if (n->kind == K_INT)
        snprintf(buf, cap, "integer (%s)", int_formats[n->format].name);
    else if (n->kind == K_NUM)
        snprintf(buf, cap, "number (%s)", n->format ? "float" : "double");
    else if (n->kind == K_BYTES)
        snprintf(buf, cap, "bytes (a base64 string)");
    else if (n->kind == K_MAP)
        snprintf(buf, cap, "object");
    else if (n->kind == K_VARIANTS)
        snprintf(buf, cap, "one of the enum's variants");
    else
        snprintf(buf, cap, "%s", kind_names[n->kind]);
    return buf;
}

static int wrong_type(struct enc *e, const struct node *n, const json_t *v,
                      const struct path *p)
{
    char d[64];
    return fail(e->err, p, AL_EINVAL, "expected %s, got %s",
                describe(n, d, sizeof(d)), json_type_name(v));
}

static int enc_value(struct enc *e, const struct node *n, const json_t *v,
                     const struct path *p);

static int enc_int(struct enc *e, const struct node *n, const json_t *v,
                   const struct path *p)
{
    wide w;
    const char *why = json_wide(v, format_takes_strings(n->format), &w);
    if (why && !*why)
        return wrong_type(e, n, v, p);
    if (why)
        return fail(e->err, p, AL_EINVAL, "%s", why);
    if (w < n->lo || w > n->hi) {
        char a[48], lo[48], hi[48];
        wide_str(w, a), wide_str(n->lo, lo), wide_str(n->hi, hi);
        return fail(e->err, p, AL_EINVAL, "%s is out of range for %s: [%s, %s]",
                    a, int_formats[n->format].name, lo, hi);
    }
    return w < 0 ? msgpack_pack_int64(&e->pk, (int64_t)w)
                 : msgpack_pack_uint64(&e->pk, (uint64_t)w);
}

static int enc_num(struct enc *e, const struct node *n, const json_t *v,
                   const struct path *p)
{
    double d;
    wide w;
    if (is_marker(v) && !json_wide(v, false, &w))
        d = (double)w;
    else if (json_is_number(v))
        d = json_number_value(v);
    else
        return wrong_type(e, n, v, p);
    if (!(d >= n->nlo && d <= n->nhi) || (n->format && isinf((float)d))) {
        char lo[32], hi[32];
        snprintf(lo, sizeof(lo), "%.17g", n->nlo);
        snprintf(hi, sizeof(hi), "%.17g", n->nhi);
        return fail(e->err, p, AL_EINVAL, "%.17g is out of range [%s, %s]", d,
                    lo, hi);
    }
    return n->format ? msgpack_pack_float(&e->pk, (float)d)
                     : msgpack_pack_double(&e->pk, d);
}

static int enc_str(struct enc *e, const struct node *n, const json_t *v,
                   const struct path *p)
{
    if (!json_is_string(v) || is_marker(v))
        return wrong_type(e, n, v, p);
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    uint64_t cps = utf8_count(s, len);
    if (cps < n->min || cps > n->max)
        return fail(e->err, p, AL_EINVAL, "length %llu is outside [%llu, %llu]",
                    (unsigned long long)cps, (unsigned long long)n->min,
                    (unsigned long long)n->max);
    if (len > UINT32_MAX)
        return fail(e->err, p, AL_EINVAL, "string too long for MessagePack");
    int rc = msgpack_pack_str(&e->pk, len);
    return rc ? rc : msgpack_pack_str_body(&e->pk, s, len);
}

static int enc_bytes(struct enc *e, const struct node *n, const json_t *v,
                     const struct path *p)
{
    if (!json_is_string(v) || is_marker(v))
        return wrong_type(e, n, v, p);
    size_t len = json_string_length(v);
    uint8_t *raw = malloc(len / 4 * 3 + 1);
    if (!raw)
        return AL_ENOMEM;
    size_t rawlen = 0;
    int rc;
    if (!b64_decode(json_string_value(v), len, raw, &rawlen))
        rc = fail(e->err, p, AL_EINVAL,
                  "not canonical base64 (standard alphabet, padded)");
    else if (rawlen > UINT32_MAX)
        rc = fail(e->err, p, AL_EINVAL, "bytes too long for MessagePack");
    else if (!(rc = msgpack_pack_bin(&e->pk, rawlen)))
        rc = msgpack_pack_bin_body(&e->pk, raw, rawlen);
    free(raw);
    return rc;
}

static int enc_array(struct enc *e, const struct node *n, const json_t *v,
                     const struct path *p)
{
    if (!json_is_array(v))
        return wrong_type(e, n, v, p);
    size_t len = json_array_size(v);
    if (len < n->min || len > n->max)
        return fail(e->err, p, AL_EINVAL,
                    "%zu items, expected between %llu and %llu", len,
                    (unsigned long long)n->min, (unsigned long long)n->max);
    int rc = msgpack_pack_array(&e->pk, len);
    for (size_t i = 0; !rc && i < len; i++) {
        struct path ip = at_index(p, i);
        rc = enc_value(e, n->items, json_array_get(v, i), &ip);
    }
    return rc;
}

static const struct field *find_field(const struct node *n, const char *k,
                                      size_t len)
{
    for (size_t i = 0; i < n->nfields; i++)
        if (n->fields[i].len == len && !memcmp(n->fields[i].name, k, len))
            return &n->fields[i];
    return NULL;
}

/* rmp_serde's named form: every field, in declaration order; an absent
 * Option is nil. */
static int enc_struct(struct enc *e, const struct node *n, const json_t *v,
                      const struct path *p)
{
    if (!json_is_object(v))
        return wrong_type(e, n, v, p);
    size_t present = 0;
    for (size_t i = 0; i < n->nfields; i++) {
        const struct field *f = &n->fields[i];
        json_t *fv = json_object_getn(v, f->name, f->len);
        if (fv)
            present++;
        else if (f->required)
            return fail(e->err, p, AL_EINVAL, "missing required property '%s'",
                        f->name);
    }
    if (!n->open && present < json_object_size(v)) {
        const char *k;
        size_t klen;
        json_t *fv;
        json_object_keylen_foreach((json_t *)v, k, klen, fv)
        {
            if (!find_field(n, k, klen)) {
                struct path kp = at_keyn(p, k, klen);
                return fail(e->err, &kp, AL_EINVAL, "unknown property");
            }
        }
    }
    int rc = msgpack_pack_map(&e->pk, n->nfields);
    for (size_t i = 0; !rc && i < n->nfields; i++) {
        const struct field *f = &n->fields[i];
        json_t *fv = json_object_getn(v, f->name, f->len);
        struct path fp = at_keyn(p, f->name, f->len);
        if (!(rc = msgpack_pack_str(&e->pk, f->len)) &&
            !(rc = msgpack_pack_str_body(&e->pk, f->name, f->len)))
            rc = fv ? enc_value(e, f->type, fv, &fp) : msgpack_pack_nil(&e->pk);
    }
    return rc;
}

static int enc_map(struct enc *e, const struct node *n, const json_t *v,
                   const struct path *p)
{
    if (!json_is_object(v))
        return wrong_type(e, n, v, p);
    int rc = msgpack_pack_map(&e->pk, json_object_size(v));
    const char *k;
    size_t klen;
    json_t *fv;
    json_object_keylen_foreach((json_t *)v, k, klen, fv)
    {
        if (rc)
            break;
        struct path kp = at_keyn(p, k, klen);
        if (!(rc = msgpack_pack_str(&e->pk, klen)) &&
            !(rc = msgpack_pack_str_body(&e->pk, k, klen)))
            rc = enc_value(e, n->items, fv, &kp);
    }
    return rc;
}

static const struct variant *find_variant(const struct node *n, const char *k,
                                          size_t len)
{
    for (size_t i = 0; i < n->nvariants; i++)
        if (n->variants[i].len == len && !memcmp(n->variants[i].name, k, len))
            return &n->variants[i];
    return NULL;
}

static int enc_variants(struct enc *e, const struct node *n, const json_t *v,
                        const struct path *p)
{
    if (json_is_string(v) && !is_marker(v)) {
        const struct variant *var =
            find_variant(n, json_string_value(v), json_string_length(v));
        if (!var)
            return fail(e->err, p, AL_EINVAL, "unknown variant");
        if (var->payload)
            return fail(e->err, p, AL_EINVAL,
                        "variant '%s' carries a value: write {\"%s\": ...}",
                        var->name, var->name);
        int rc = msgpack_pack_str(&e->pk, var->len);
        return rc ? rc : msgpack_pack_str_body(&e->pk, var->name, var->len);
    }
    if (!json_is_object(v) || json_object_size(v) != 1)
        return fail(e->err, p, AL_EINVAL,
                    "expected a variant: a string, or an object with one key");
    void *it = json_object_iter((json_t *)v);
    const char *k = json_object_iter_key(it);
    size_t klen = json_object_iter_key_len(it);
    struct path kp = at_keyn(p, k, klen);
    const struct variant *var = find_variant(n, k, klen);
    if (!var)
        return fail(e->err, &kp, AL_EINVAL, "unknown variant");
    if (!var->payload)
        return fail(e->err, &kp, AL_EINVAL,
                    "variant '%s' is a unit variant: write \"%s\"", var->name,
                    var->name);
    int rc = msgpack_pack_map(&e->pk, 1);
    if (!rc && !(rc = msgpack_pack_str(&e->pk, var->len)) &&
        !(rc = msgpack_pack_str_body(&e->pk, var->name, var->len)))
        rc = enc_value(e, var->payload, json_object_iter_value(it), &kp);
    return rc;
}

static int enc_value(struct enc *e, const struct node *n, const json_t *v,
                     const struct path *p)
{
    if (json_is_null(v)) {
        if (n->nullable || n->kind == K_NULL)
            return msgpack_pack_nil(&e->pk);
        return wrong_type(e, n, v, p);
    }
    switch (n->kind) {
    case K_NULL:
        return wrong_type(e, n, v, p);
    case K_BOOL:
        if (!json_is_boolean(v))
            return wrong_type(e, n, v, p);
        return json_is_true(v) ? msgpack_pack_true(&e->pk)
                               : msgpack_pack_false(&e->pk);
    case K_INT:
        return enc_int(e, n, v, p);
    case K_NUM:
        return enc_num(e, n, v, p);
    case K_STR:
        return enc_str(e, n, v, p);
    case K_BYTES:
        return enc_bytes(e, n, v, p);
    case K_ARRAY:
        return enc_array(e, n, v, p);
    case K_STRUCT:
        return enc_struct(e, n, v, p);
    case K_MAP:
        return enc_map(e, n, v, p);
    case K_VARIANTS:
        return enc_variants(e, n, v, p);
    }
    return AL_EINVAL;
}

int gw_schema_validate(const gw_schema *s, const json_t *value,
                       gw_schema_error *err)
{
    struct enc e = {.err = err};
    msgpack_packer_init(&e.pk, NULL, null_write);
    return enc_value(&e, s->root, value, NULL);
}

int gw_schema_json_to_msgpack(const gw_schema *s, const json_t *value,
                              al_buf *out, gw_schema_error *err)
{
    struct enc e = {.err = err};
    size_t start = out->len;
    msgpack_packer_init(&e.pk, out, buf_write);
    int rc = enc_value(&e, s->root, value, NULL);
    if (rc)
        out->len = start;
    return rc;
}

/* ------------------------------------------------------------ mp -> JSON */

/* A bounded MessagePack reader: every length is checked against the bytes
 * left before anything is read or allocated. */
struct rd {
    const uint8_t *p, *end;
    gw_schema_error *err;
};

enum mp_type {
    MP_NIL,
    MP_BOOL,
    MP_UINT,
    MP_NEG,
    MP_F32,
    MP_F64,
    MP_STR,
    MP_BIN,
    MP_ARRAY,
    MP_MAP,
    MP_EXT,
};

static const char *const mp_names[] = {
    "nil",    "boolean", "integer", "integer", "float32",   "float64",
    "string", "binary",  "array",   "map",     "extension",
};

struct head {
    enum mp_type t;
    bool b;
    uint64_t u; /* MP_UINT */
    int64_t i;  /* MP_NEG */
    double d;   /* MP_F32, MP_F64 */
    const uint8_t *data;
    uint32_t len; /* bytes of str/bin/ext, items of array/map */
};

static uint64_t be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static int truncated(struct rd *r, const struct path *p)
{
    return fail(r->err, p, AL_EDECODE, "MessagePack ends early");
}

static int need(struct rd *r, size_t n, const struct path *p)
{
    return (size_t)(r->end - r->p) < n ? truncated(r, p) : 0;
}

/* Reads a marker and its fixed part; for str/bin/ext also takes the body.
 * Array and map counts are checked against what is left (an item takes at
 * least one byte), so no count can make a caller loop or allocate past the
 * input. */
static int read_head(struct rd *r, struct head *h, const struct path *p)
{
    int rc = need(r, 1, p);
    if (rc)
        return rc;
    uint8_t m = *r->p++;
    memset(h, 0, sizeof(*h));
    if (m <= 0x7f) {
        h->t = MP_UINT, h->u = m;
        return 0;
    }
    if (m >= 0xe0) {
        h->t = MP_NEG, h->i = (int8_t)m;
        return 0;
    }
    if (m >= 0x80 && m <= 0x8f)
        h->t = MP_MAP, h->len = m & 0x0f;
    else if (m >= 0x90 && m <= 0x9f)
        h->t = MP_ARRAY, h->len = m & 0x0f;
    else if (m >= 0xa0 && m <= 0xbf)
        h->t = MP_STR, h->len = m & 0x1f;
    else {
        static const int8_t fixed[] = {
            /* c0 nil, c1 -, c2 false, c3 true */
            0,
            -1,
            0,
            0,
            /* c4-c6 bin8/16/32, c7-c9 ext8/16/32 */
            1,
            2,
            4,
            1,
            2,
            4,
            /* ca cb float, cc-cf uint */
            4,
            8,
            1,
            2,
            4,
            8,
            /* d0-d3 int */
            1,
            2,
            4,
            8,
            /* d4-d8 fixext 1/2/4/8/16 */
            1,
            1,
            1,
            1,
            1,
            /* d9-db str8/16/32, dc dd array16/32, de df map16/32 */
            1,
            2,
            4,
            2,
            4,
            2,
            4,
        };
        int8_t n = fixed[m - 0xc0];
        if (n < 0)
            return fail(r->err, p, AL_EDECODE, "invalid MessagePack marker c1");
        if ((rc = need(r, (size_t)n, p)))
            return rc;
        uint64_t x = be(r->p, n);
        r->p += n;
        switch (m) {
        case 0xc0:
            h->t = MP_NIL;
            return 0;
        case 0xc2:
        case 0xc3:
            h->t = MP_BOOL, h->b = m == 0xc3;
            return 0;
        case 0xc4:
        case 0xc5:
        case 0xc6:
            h->t = MP_BIN, h->len = (uint32_t)x;
            break;
        case 0xc7:
        case 0xc8:
        case 0xc9:
            h->t = MP_EXT, h->len = (uint32_t)x + 1; /* type byte */
            break;
        case 0xca: {
            uint32_t bits = (uint32_t)x;
            float f;
            memcpy(&f, &bits, sizeof(f));
            h->t = MP_F32, h->d = f;
            return 0;
        }
        case 0xcb: {
            double d;
            memcpy(&d, &x, sizeof(d));
            h->t = MP_F64, h->d = d;
            return 0;
        }
        case 0xcc:
        case 0xcd:
        case 0xce:
        case 0xcf:
            h->t = MP_UINT, h->u = x;
            return 0;
        case 0xd0:
            h->t = MP_NEG, h->i = (int8_t)x;
            break;
        case 0xd1:
            h->t = MP_NEG, h->i = (int16_t)x;
            break;
        case 0xd2:
            h->t = MP_NEG, h->i = (int32_t)x;
            break;
        case 0xd3:
            h->t = MP_NEG, h->i = (int64_t)x;
            break;
        case 0xd4:
        case 0xd5:
        case 0xd6:
        case 0xd7:
        case 0xd8:
            /* fixext: the byte read was the type; then 1..16 bytes */
            h->t = MP_EXT, h->len = 1u << (m - 0xd4);
            break;
        case 0xd9:
        case 0xda:
        case 0xdb:
            h->t = MP_STR, h->len = (uint32_t)x;
            break;
        case 0xdc:
        case 0xdd:
            h->t = MP_ARRAY, h->len = (uint32_t)x;
            break;
        default:
            h->t = MP_MAP, h->len = (uint32_t)x;
            break;
        }
        if (h->t == MP_NEG) {
            /* signed markers may hold non-negative values */
            if (h->i >= 0)
                h->t = MP_UINT, h->u = (uint64_t)h->i;
            return 0;
        }
    }
    size_t left = (size_t)(r->end - r->p);
    if (h->t == MP_ARRAY || h->t == MP_MAP) {
        uint64_t min = h->t == MP_MAP ? (uint64_t)h->len * 2 : h->len;
        if (min > left)
            return truncated(r, p);
        return 0;
    }
    if (h->len > left)
        return truncated(r, p);
    h->data = r->p;
    r->p += h->len;
    return 0;
}

/* Skips one value of any shape without recursion: the count of values still
 * to read is bounded by the input length. */
static int skip_value(struct rd *r, const struct path *p)
{
    uint64_t pending = 1;
    while (pending) {
        struct head h;
        int rc = read_head(r, &h, p);
        if (rc)
            return rc;
        pending--;
        if (h.t == MP_ARRAY)
            pending += h.len;
        else if (h.t == MP_MAP)
            pending += (uint64_t)h.len * 2;
    }
    return 0;
}

static int mp_wrong(struct rd *r, const struct node *n, const struct head *h,
                    const struct path *p)
{
    char d[64];
    return fail(r->err, p, AL_EDECODE, "expected %s, got MessagePack %s",
                describe(n, d, sizeof(d)), mp_names[h->t]);
}

static int dec_value(struct rd *r, const struct node *n, const struct path *p,
                     json_t **out);

static int dec_body(struct rd *r, const struct node *n, const struct head *h,
                    const struct path *p, json_t **out);

static json_t *wide_json(wide w)
{
    if (w <= INT64_MAX)
        return json_integer((json_int_t)w);
    char s[48];
    wide_str(w, s);
    return json_string(s);
}

static int dec_int(struct rd *r, const struct node *n, const struct head *h,
                   const struct path *p, json_t **out)
{
    if (h->t != MP_UINT && h->t != MP_NEG)
        return mp_wrong(r, n, h, p);
    wide w = h->t == MP_UINT ? (wide)h->u : (wide)h->i;
    if (w < n->lo || w > n->hi) {
        char a[48], lo[48], hi[48];
        wide_str(w, a), wide_str(n->lo, lo), wide_str(n->hi, hi);
        return fail(r->err, p, AL_EDECODE,
                    "%s is out of range for %s: [%s, %s]", a,
                    int_formats[n->format].name, lo, hi);
    }
    *out = wide_json(w);
    return *out ? 0 : AL_ENOMEM;
}

static int dec_num(struct rd *r, const struct node *n, const struct head *h,
                   const struct path *p, json_t **out)
{
    double d;
    if (h->t == MP_UINT)
        d = (double)h->u;
    else if (h->t == MP_NEG)
        d = (double)h->i;
    else if (h->t == MP_F32 || h->t == MP_F64)
        d = h->d;
    else
        return mp_wrong(r, n, h, p);
    if (!isfinite(d))
        return fail(r->err, p, AL_EDECODE,
                    "%g has no JSON form (only finite numbers do)", d);
    if (n->format && isinf((float)d))
        return fail(r->err, p, AL_EDECODE, "%.17g is out of range for float",
                    d);
    if (d < n->nlo || d > n->nhi)
        return fail(r->err, p, AL_EDECODE,
                    "%.17g is out of range [%.17g, "
                    "%.17g]",
                    d, n->nlo, n->nhi);
    if (n->format)
        d = (float)d;
    *out = json_real(d);
    return *out ? 0 : AL_ENOMEM;
}

static int dec_str(struct rd *r, const struct node *n, const struct head *h,
                   const struct path *p, json_t **out)
{
    if (h->t != MP_STR)
        return mp_wrong(r, n, h, p);
    uint64_t cps;
    if (!utf8_valid(h->data, h->len, &cps))
        return fail(r->err, p, AL_EDECODE, "string is not valid UTF-8");
    if (cps < n->min || cps > n->max)
        return fail(r->err, p, AL_EDECODE,
                    "length %llu is outside [%llu, %llu]",
                    (unsigned long long)cps, (unsigned long long)n->min,
                    (unsigned long long)n->max);
    *out = json_stringn_nocheck((const char *)h->data, h->len);
    return *out ? 0 : AL_ENOMEM;
}

/* serde_bytes reads bin, and also an array of u8 (what Vec<u8> writes). */
static int dec_bytes(struct rd *r, const struct node *n, const struct head *h,
                     const struct path *p, json_t **out)
{
    if (h->t == MP_BIN) {
        *out = b64_json(h->data, h->len);
        return *out ? 0 : AL_ENOMEM;
    }
    if (h->t != MP_ARRAY)
        return mp_wrong(r, n, h, p);
    uint8_t *raw = malloc(h->len ? h->len : 1);
    if (!raw)
        return AL_ENOMEM;
    int rc = 0;
    for (uint32_t i = 0; !rc && i < h->len; i++) {
        struct path ip = at_index(p, i);
        struct head e;
        if ((rc = read_head(r, &e, &ip)))
            break;
        if (e.t != MP_UINT || e.u > 255)
            rc = fail(r->err, &ip, AL_EDECODE, "expected a byte (0..255)");
        else
            raw[i] = (uint8_t)e.u;
    }
    if (!rc && !(*out = b64_json(raw, h->len)))
        rc = AL_ENOMEM;
    free(raw);
    return rc;
}

static int dec_array(struct rd *r, const struct node *n, const struct head *h,
                     const struct path *p, json_t **out)
{
    if (h->t != MP_ARRAY)
        return mp_wrong(r, n, h, p);
    if (h->len < n->min || h->len > n->max)
        return fail(r->err, p, AL_EDECODE,
                    "%u items, expected between %llu and %llu", h->len,
                    (unsigned long long)n->min, (unsigned long long)n->max);
    json_t *a = json_array();
    if (!a)
        return AL_ENOMEM;
    for (uint32_t i = 0; i < h->len; i++) {
        struct path ip = at_index(p, i);
        json_t *item;
        int rc = dec_value(r, n->items, &ip, &item);
        if (!rc && json_array_append_new(a, item))
            rc = AL_ENOMEM;
        if (rc) {
            json_decref(a);
            return rc;
        }
    }
    *out = a;
    return 0;
}

static int read_key(struct rd *r, const struct path *p, struct head *k)
{
    int rc = read_head(r, k, p);
    if (rc)
        return rc;
    if (k->t != MP_STR)
        return fail(r->err, p, AL_EDECODE,
                    "map key is MessagePack %s, expected a string",
                    mp_names[k->t]);
    uint64_t cps;
    if (!utf8_valid(k->data, k->len, &cps))
        return fail(r->err, p, AL_EDECODE, "map key is not valid UTF-8");
    return 0;
}

/* A struct as rmp_serde reads it: a map keyed by field name (unknown keys
 * skipped when the schema is open, missing Options are None), or an array of
 * every field in declaration order. The JSON object lists fields in schema
 * order either way. */
static int dec_struct(struct rd *r, const struct node *n, const struct head *h,
                      const struct path *p, json_t **out)
{
    if (h->t != MP_MAP && h->t != MP_ARRAY)
        return mp_wrong(r, n, h, p);
    if (h->t == MP_ARRAY && h->len != n->nfields)
        return fail(r->err, p, AL_EDECODE,
                    "struct as an array has %u items, expected %zu", h->len,
                    n->nfields);
    json_t **vals = calloc(n->nfields ? n->nfields : 1, sizeof(*vals));
    if (!vals)
        return AL_ENOMEM;
    int rc = 0;
    for (uint32_t i = 0; !rc && i < h->len; i++) {
        const struct field *f = &n->fields[i < n->nfields ? i : 0];
        if (h->t == MP_MAP) {
            struct head k;
            if ((rc = read_key(r, p, &k)))
                break;
            struct path kp = at_keyn(p, (const char *)k.data, k.len);
            f = find_field(n, (const char *)k.data, k.len);
            if (!f && n->open) {
                rc = skip_value(r, &kp);
                continue;
            }
            if (!f) {
                rc = fail(r->err, &kp, AL_EDECODE, "unknown property");
                break;
            }
            if (vals[f - n->fields]) {
                rc = fail(r->err, &kp, AL_EDECODE, "duplicate property");
                break;
            }
        }
        struct path fp = at_keyn(p, f->name, f->len);
        rc = dec_value(r, f->type, &fp, &vals[f - n->fields]);
    }
    json_t *o = rc ? NULL : json_object();
    if (!rc && !o)
        rc = AL_ENOMEM;
    for (size_t i = 0; !rc && i < n->nfields; i++) {
        const struct field *f = &n->fields[i];
        if (!vals[i] && !f->type->nullable && f->type->kind != K_NULL) {
            rc = fail(r->err, p, AL_EDECODE, "missing property '%s'", f->name);
            break;
        }
        json_t *v = vals[i] ? vals[i] : json_null();
        vals[i] = NULL;
        if (json_object_setn_new_nocheck(o, f->name, f->len, v))
            rc = AL_ENOMEM;
    }
    for (size_t i = 0; i < n->nfields; i++)
        json_decref(vals[i]);
    free(vals);
    if (rc) {
        json_decref(o);
        return rc;
    }
    *out = o;
    return 0;
}

static int dec_map(struct rd *r, const struct node *n, const struct head *h,
                   const struct path *p, json_t **out)
{
    if (h->t != MP_MAP)
        return mp_wrong(r, n, h, p);
    json_t *o = json_object();
    if (!o)
        return AL_ENOMEM;
    int rc = 0;
    for (uint32_t i = 0; !rc && i < h->len; i++) {
        struct head k;
        if ((rc = read_key(r, p, &k)))
            break;
        struct path kp = at_keyn(p, (const char *)k.data, k.len);
        if (json_object_getn(o, (const char *)k.data, k.len)) {
            rc = fail(r->err, &kp, AL_EDECODE, "duplicate key");
            break;
        }
        json_t *v;
        if ((rc = dec_value(r, n->items, &kp, &v)))
            break;
        if (json_object_setn_new_nocheck(o, (const char *)k.data, k.len, v))
            rc = AL_ENOMEM;
    }
    if (rc) {
        json_decref(o);
        return rc;
    }
    *out = o;
    return 0;
}

static int dec_variants(struct rd *r, const struct node *n,
                        const struct head *h, const struct path *p,
                        json_t **out)
{
    if (h->t == MP_STR) {
        const struct variant *v =
            find_variant(n, (const char *)h->data, h->len);
        if (!v || v->payload)
            return fail(r->err, p, AL_EDECODE, "%s",
                        v ? "variant carries a value but came as a string"
                          : "unknown variant");
        *out = json_stringn_nocheck(v->name, v->len);
        return *out ? 0 : AL_ENOMEM;
    }
    if (h->t != MP_MAP || h->len != 1)
        return fail(r->err, p, AL_EDECODE,
                    "expected a variant (a string or a one-key map), got "
                    "MessagePack %s",
                    mp_names[h->t]);
    struct head k;
    int rc = read_key(r, p, &k);
    if (rc)
        return rc;
    struct path kp = at_keyn(p, (const char *)k.data, k.len);
    const struct variant *v = find_variant(n, (const char *)k.data, k.len);
    if (!v)
        return fail(r->err, &kp, AL_EDECODE, "unknown variant");
    if (!v->payload)
        return fail(r->err, &kp, AL_EDECODE,
                    "unit variant came as a one-key map");
    json_t *payload;
    if ((rc = dec_value(r, v->payload, &kp, &payload)))
        return rc;
    json_t *o = json_object();
    if (!o || json_object_setn_new_nocheck(o, v->name, v->len, payload)) {
        json_decref(o);
        return AL_ENOMEM;
    }
    *out = o;
    return 0;
}

static int dec_body(struct rd *r, const struct node *n, const struct head *h,
                    const struct path *p, json_t **out)
{
    if (h->t == MP_NIL) {
        if (!n->nullable && n->kind != K_NULL)
            return mp_wrong(r, n, h, p);
        *out = json_null();
        return 0;
    }
    switch (n->kind) {
    case K_NULL:
        return mp_wrong(r, n, h, p);
    case K_BOOL:
        if (h->t != MP_BOOL)
            return mp_wrong(r, n, h, p);
        *out = json_boolean(h->b);
        return 0;
    case K_INT:
        return dec_int(r, n, h, p, out);
    case K_NUM:
        return dec_num(r, n, h, p, out);
    case K_STR:
        return dec_str(r, n, h, p, out);
    case K_BYTES:
        return dec_bytes(r, n, h, p, out);
    case K_ARRAY:
        return dec_array(r, n, h, p, out);
    case K_STRUCT:
        return dec_struct(r, n, h, p, out);
    case K_MAP:
        return dec_map(r, n, h, p, out);
    case K_VARIANTS:
        return dec_variants(r, n, h, p, out);
    }
    return AL_EDECODE;
}

static int dec_value(struct rd *r, const struct node *n, const struct path *p,
                     json_t **out)
{
    struct head h;
    int rc = read_head(r, &h, p);
    return rc ? rc : dec_body(r, n, &h, p, out);
}

int gw_schema_msgpack_to_json(const gw_schema *s, const uint8_t *buf,
                              size_t len, json_t **out, gw_schema_error *err)
{
    struct rd r = {buf, buf + len, err};
    json_t *v = NULL;
    *out = NULL;
    int rc = dec_value(&r, s->root, NULL, &v);
    if (!rc && r.p != r.end) {
        json_decref(v);
        return fail(err, NULL, AL_EDECODE,
                    "%zu bytes after the MessagePack value",
                    (size_t)(r.end - r.p));
    }
    if (!rc)
        *out = v;
    return rc;
}

/* ------------------------------------------------------------ subset */

/* a is the writer's schema, b the reader's: does b accept everything a
 * does, with the same MessagePack form? Reasons go to msgs. */
struct cmp {
    const char *where;
    json_t *msgs;
    bool ok;
};

static void why(struct cmp *c, const struct path *p, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void why(struct cmp *c, const struct path *p, const char *fmt, ...)
{
    c->ok = false;
    if (!c->msgs)
        return;
    char ptr[GW_SCHEMA_POINTER_MAX], text[GW_SCHEMA_REASON_MAX];
    format_pointer(p, ptr, sizeof(ptr));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    char line[GW_SCHEMA_POINTER_MAX * 2 + GW_SCHEMA_REASON_MAX];
    snprintf(line, sizeof(line), "%s%s: %s", c->where, ptr, text);
    json_array_append_new(c->msgs, json_string(line));
}

static bool accepts_null(const struct node *n)
{
    return n->nullable || n->kind == K_NULL;
}

static void sub_node(struct cmp *c, const struct node *a, const struct node *b,
                     const struct path *p);

static void sub_range(struct cmp *c, const struct path *p, const char *what,
                      uint64_t alo, uint64_t ahi, uint64_t blo, uint64_t bhi)
{
    if (alo < blo || ahi > bhi)
        why(c, p,
            "writer's %s [%llu, %llu] is not within the reader's "
            "[%llu, %llu]",
            what, (unsigned long long)alo, (unsigned long long)ahi,
            (unsigned long long)blo, (unsigned long long)bhi);
}

static void sub_int(struct cmp *c, const struct node *a, const struct node *b,
                    const struct path *p)
{
    if (a->lo < b->lo || a->hi > b->hi) {
        char alo[48], ahi[48], blo[48], bhi[48];
        wide_str(a->lo, alo), wide_str(a->hi, ahi);
        wide_str(b->lo, blo), wide_str(b->hi, bhi);
        why(c, p,
            "writer's integers (%s) [%s, %s] are not within the reader's "
            "(%s) [%s, %s]",
            int_formats[a->format].name, alo, ahi, int_formats[b->format].name,
            blo, bhi);
    }
    if (format_takes_strings(a->format) && !format_takes_strings(b->format))
        why(c, p,
            "writer (%s) accepts integers as decimal strings, the reader "
            "(%s) does not",
            int_formats[a->format].name, int_formats[b->format].name);
}

static void sub_num(struct cmp *c, double alo, double ahi, const struct node *b,
                    const struct path *p)
{
    if (alo < b->nlo || ahi > b->nhi)
        why(c, p,
            "writer's numbers [%.17g, %.17g] are not within the reader's "
            "[%.17g, %.17g]",
            alo, ahi, b->nlo, b->nhi);
}

static void sub_struct(struct cmp *c, const struct node *a,
                       const struct node *b, const struct path *p)
{
    if (a->open && !b->open)
        why(c, p,
            "writer allows additional properties, the reader rejects them");
    for (size_t i = 0; i < a->nfields; i++) {
        const struct field *fa = &a->fields[i];
        const struct field *fb = find_field(b, fa->name, fa->len);
        struct path fp = at_keyn(p, fa->name, fa->len);
        if (!fb) {
            if (!b->open)
                why(c, &fp, "reader has no property '%s'", fa->name);
            continue;
        }
        if (fb->required && !fa->required)
            why(c, &fp,
                "reader requires property '%s' that the writer may omit",
                fa->name);
        sub_node(c, fa->type, fb->type, &fp);
    }
    for (size_t i = 0; i < b->nfields; i++) {
        const struct field *fb = &b->fields[i];
        if (find_field(a, fb->name, fb->len))
            continue;
        struct path fp = at_keyn(p, fb->name, fb->len);
        if (fb->required)
            why(c, &fp, "reader requires property '%s' that the writer lacks",
                fb->name);
        else if (a->open)
            why(c, &fp,
                "writer may send any value as '%s' (additional property), "
                "the reader has a schema for it",
                fb->name);
    }
}

static void sub_variants(struct cmp *c, const struct node *a,
                         const struct node *b, const struct path *p)
{
    for (size_t i = 0; i < a->nvariants; i++) {
        const struct variant *va = &a->variants[i];
        const struct variant *vb = find_variant(b, va->name, va->len);
        struct path vp = at_keyn(p, va->name, va->len);
        if (!vb)
            why(c, &vp, "reader has no variant '%s'", va->name);
        else if (!va->payload != !vb->payload)
            why(c, &vp, "variant '%s' is a unit variant on one side only",
                va->name);
        else if (va->payload)
            sub_node(c, va->payload, vb->payload, &vp);
    }
}

static void sub_node(struct cmp *c, const struct node *a, const struct node *b,
                     const struct path *p)
{
    if (accepts_null(a) && !accepts_null(b))
        why(c, p, "writer may send null, the reader does not accept it");
    if (a->kind == K_NULL)
        return;
    if (a->kind == K_INT && b->kind == K_NUM) {
        sub_num(c, (double)a->lo, (double)a->hi, b, p);
        return;
    }
    if (a->kind == K_VARIANTS && b->kind == K_STR) {
        for (size_t i = 0; i < a->nvariants; i++) {
            const struct variant *v = &a->variants[i];
            uint64_t n = utf8_count(v->name, v->len);
            struct path vp = at_keyn(p, v->name, v->len);
            if (v->payload)
                why(c, &vp,
                    "variant '%s' carries a value, the reader "
                    "expects a string",
                    v->name);
            else if (n < b->min || n > b->max)
                why(c, &vp,
                    "variant '%s' does not fit the reader's length "
                    "limits",
                    v->name);
        }
        return;
    }
    if (a->kind != b->kind) {
        char da[64], db[64];
        why(c, p, "writer sends %s, the reader expects %s",
            describe(a, da, sizeof(da)), describe(b, db, sizeof(db)));
        return;
    }
    switch (a->kind) {
    case K_INT:
        sub_int(c, a, b, p);
        break;
    case K_NUM:
        sub_num(c, a->nlo, a->nhi, b, p);
        break;
    case K_STR:
        sub_range(c, p, "string length", a->min, a->max, b->min, b->max);
        break;
    case K_ARRAY:
        sub_range(c, p, "item count", a->min, a->max, b->min, b->max);
        sub_node(c, a->items, b->items, p);
        break;
    case K_MAP:
        sub_node(c, a->items, b->items, p);
        break;
    case K_STRUCT:
        sub_struct(c, a, b, p);
        break;
    case K_VARIANTS:
        sub_variants(c, a, b, p);
        break;
    default:
        break;
    }
}

bool gw_schema_subset(const gw_schema *a, const gw_schema *b, const char *where,
                      json_t *messages)
{
    struct cmp c = {where ? where : "", messages, true};
    if (!b)
        return true;
    if (!a) {
        why(&c, NULL,
            "writer's schema is absent (any value), the reader has one");
        return false;
    }
    sub_node(&c, a->root, b->root, NULL);
    return c.ok;
}

/* ------------------------------------------------------------ canonical */

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

json_t *gw_schema_canonical(const json_t *doc)
{
    if (!json_is_object(doc))
        return json_deep_copy(doc);
    size_t n = json_object_size(doc);
    const char **keys = calloc(n ? n : 1, sizeof(*keys));
    json_t *out = json_object();
    if (!keys || !out)
        goto fail;
    size_t i = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)doc, k, v) keys[i++] = k;
    qsort(keys, n, sizeof(*keys), cmp_str);
    for (i = 0; i < n; i++) {
        v = json_object_get(doc, keys[i]);
        json_t *c = NULL;
        if (!strcmp(keys[i], "properties") && json_is_object(v)) {
            const char *pk;
            json_t *pv;
            if (!(c = json_object()))
                goto fail;
            json_object_foreach(v, pk, pv)
            {
                if (json_object_set_new(c, pk, gw_schema_canonical(pv))) {
                    json_decref(c);
                    goto fail;
                }
            }
        } else if (!strcmp(keys[i], "oneOf") && json_is_array(v)) {
            if (!(c = json_array()))
                goto fail;
            for (size_t j = 0; j < json_array_size(v); j++)
                if (json_array_append_new(
                        c, gw_schema_canonical(json_array_get(v, j)))) {
                    json_decref(c);
                    goto fail;
                }
        } else if (!strcmp(keys[i], "items") ||
                   !strcmp(keys[i], "additionalProperties")) {
            c = gw_schema_canonical(v);
        } else {
            c = json_deep_copy(v);
        }
        if (json_object_set_new(out, keys[i], c))
            goto fail;
    }
    free(keys);
    return out;
fail:
    free(keys);
    json_decref(out);
    return NULL;
}

/* ------------------------------------------------------------ loading */

/* Integer literals outside int64 in text (outside strings), rewritten as
 * "\u0000<digits>" so that jansson keeps them; the tree walk below turns
 * those strings into markers. Text that already holds a \u0000 escape is
 * refused (jansson refuses it too without JSON_ALLOW_NUL), so every NUL
 * string after loading is one of ours. */
/* JSON's integer grammar: -?(0|[1-9][0-9]*), any number of digits. */
static bool int_token(const char *s, size_t n)
{
    size_t i = s[0] == '-';
    if (i >= n || (s[i] == '0' && n - i > 1))
        return false;
    for (; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static char *rewrite_big_ints(const char *t, size_t n, size_t *outlen,
                              bool *has_nul)
{
    al_buf b = {0};
    size_t i = 0;
    *has_nul = false;
    while (i < n) {
        char ch = t[i];
        if (ch == '"') {
            size_t j = i + 1;
            while (j < n && t[j] != '"') {
                if (t[j] == '\\' && j + 1 < n) {
                    if (t[j + 1] == 'u' && j + 5 < n &&
                        !memcmp(t + j + 2, "0000", 4))
                        *has_nul = true;
                    j++;
                }
                j++;
            }
            j = j < n ? j + 1 : n;
            if (al_buf_append(&b, t + i, j - i))
                goto fail;
            i = j;
            continue;
        }
        if (ch == '-' || (ch >= '0' && ch <= '9')) {
            size_t j = i;
            bool integer = true;
            while (j < n &&
                   (t[j] == '-' || t[j] == '+' || t[j] == '.' || t[j] == 'e' ||
                    t[j] == 'E' || (t[j] >= '0' && t[j] <= '9'))) {
                if (t[j] == '.' || t[j] == 'e' || t[j] == 'E')
                    integer = false;
                j++;
            }
            wide w;
            bool fits = parse_decimal(t + i, j - i, &w) && w >= INT64_MIN &&
                        w <= INT64_MAX;
            if (integer && !fits && int_token(t + i, j - i)) {
                if (al_buf_append(&b, "\"\\u0000", 7) ||
                    al_buf_append(&b, t + i, j - i) ||
                    al_buf_append(&b, "\"", 1))
                    goto fail;
            } else if (al_buf_append(&b, t + i, j - i)) {
                goto fail;
            }
            i = j;
            continue;
        }
        if (al_buf_append(&b, t + i, 1))
            goto fail;
        i++;
    }
    *outlen = b.len;
    if (al_buf_append(&b, "", 1))
        goto fail;
    return (char *)b.data;
fail:
    al_buf_free(&b);
    return NULL;
}

static bool is_nul_string(const json_t *v)
{
    return json_is_string(v) && json_string_length(v) > 0 &&
           !json_string_value(v)[0];
}

/* "\0<digits>" -> the marker "\xff<digits>". New reference or NULL. */
static json_t *to_marker(const json_t *v)
{
    size_t len = json_string_length(v);
    char *s = malloc(len);
    if (!s)
        return NULL;
    memcpy(s, json_string_value(v), len);
    s[0] = (char)MARKER;
    json_t *m = json_stringn_nocheck(s, len);
    free(s);
    return m;
}

static int mark_big_ints(json_t *v, int depth)
{
    if (depth > 4096)
        return -1;
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            json_t *e = json_array_get(v, i);
            if (is_nul_string(e) ? json_array_set_new(v, i, to_marker(e))
                                 : mark_big_ints(e, depth + 1))
                return -1;
        }
    } else if (json_is_object(v)) {
        const char *k;
        json_t *e;
        json_object_foreach(v, k, e)
        {
            if (is_nul_string(e) ? json_object_set_new(v, k, to_marker(e))
                                 : mark_big_ints(e, depth + 1))
                return -1;
        }
    }
    return 0;
}

static void nul_error(const char *text, const char *nul, json_error_t *je)
{
    int line = 1, column = 1;
    for (const char *p = text; p < nul; p++) {
        if (*p == '\n') {
            line++;
            column = 1;
        } else {
            column++;
        }
    }
    memset(je, 0, sizeof(*je));
    je->line = line;
    je->column = column;
    je->position = (int)(nul - text);
    snprintf(je->text, sizeof(je->text), "%s",
             "a raw NUL byte (write \\u0000 inside a string)");
}

json_t *gw_json_loadb(const char *text, size_t len, size_t flags,
                      json_error_t *jerr)
{
    json_error_t local;
    json_error_t *je = jerr ? jerr : &local;
    flags &= ~(size_t)JSON_ALLOW_NUL;
    /* After a top-level number jansson takes a raw NUL byte for the end of
     * the text and accepts "1\0"; JSON allows NUL only escaped inside
     * strings. */
    const char *nul = memchr(text, 0, len);
    if (nul) {
        nul_error(text, nul, je);
        return NULL;
    }
    json_t *v = json_loadb(text, len, flags, je);
    if (v || json_error_code(je) != json_error_numeric_overflow)
        return v;
    size_t n;
    bool has_nul;
    char *re = rewrite_big_ints(text, len, &n, &has_nul);
    if (!re || has_nul) {
        /* keep the first error: it points at the real problem */
        free(re);
        return NULL;
    }
    json_error_t second;
    v = json_loadb(re, n, flags | JSON_ALLOW_NUL, &second);
    free(re);
    if (!v) {
        *je = second;
        return NULL;
    }
    if (is_nul_string(v)) {
        json_t *m = to_marker(v);
        json_decref(v);
        return m;
    }
    if (mark_big_ints(v, 0)) {
        json_decref(v);
        return NULL;
    }
    return v;
}
