/* schema.c: every keyword of the subset, integer edges, the exact
 * MessagePack bytes rmp_serde's named form has, the way back (map and
 * tuple forms), JSON pointers in errors, and what the subset refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "schema.h"

/* ---------------------------------------------------------------- helpers */

static gw_schema *compile(const char *text)
{
    json_error_t je;
    json_t *doc = json_loads(text, 0, &je);
    if (!doc)
        fail_msg("bad test schema: %s: %s", text, je.text);
    gw_schema *s = NULL;
    gw_schema_error err;
    int rc = gw_schema_compile(doc, &s, &err);
    if (rc)
        fail_msg("compile %s: at '%s': %s", text, err.pointer, err.reason);
    json_decref(doc);
    return s;
}

static void append(char *buf, size_t cap, const char *s)
{
    size_t n = strlen(buf);
    snprintf(buf + n, cap - n, "%s", s);
}

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = hex; *p;) {
        if (*p == ' ') {
            p++;
            continue;
        }
        unsigned v;
        if (sscanf(p, "%2x", &v) != 1 || n == cap)
            fail_msg("bad hex in test: %s", hex);
        out[n++] = (uint8_t)v;
        p += 2;
    }
    return n;
}

static json_t *load(const char *text)
{
    json_error_t je;
    json_t *v = gw_json_loadb(text, strlen(text), JSON_DECODE_ANY, &je);
    if (!v)
        fail_msg("bad test JSON %s: %s", text, je.text);
    return v;
}

/* JSON text -> exact bytes. */
static void maps_to(const gw_schema *s, const char *json, const char *hex)
{
    uint8_t want[512];
    size_t n = unhex(hex, want, sizeof(want));
    json_t *v = load(json);
    al_buf out = {0};
    gw_schema_error err;
    int rc = gw_schema_json_to_msgpack(s, v, &out, &err);
    if (rc)
        fail_msg("%s: rejected at '%s': %s", json, err.pointer, err.reason);
    assert_int_equal(gw_schema_validate(s, v, NULL), 0);
    if (out.len != n || memcmp(out.data, want, n)) {
        char got[1024] = "";
        for (size_t i = 0; i < out.len && i < 300; i++)
            snprintf(got + strlen(got), sizeof(got) - strlen(got), "%02x ",
                     out.data[i]);
        fail_msg("%s: got %s want %s", json, got, hex);
    }
    al_buf_free(&out);
    json_decref(v);
}

/* JSON text rejected at pointer with a reason containing `why`. */
static void rejects(const gw_schema *s, const char *json, const char *pointer,
                    const char *why)
{
    json_t *v = load(json);
    al_buf out = {0};
    assert_int_equal(al_buf_append(&out, "x", 1), 0);
    gw_schema_error err;
    int rc = gw_schema_json_to_msgpack(s, v, &out, &err);
    if (rc != AL_EINVAL)
        fail_msg("%s: accepted (rc %d)", json, rc);
    assert_int_equal(out.len, 1); /* nothing left behind */
    assert_string_equal(err.pointer, pointer);
    if (!strstr(err.reason, why))
        fail_msg("%s: reason '%s' lacks '%s'", json, err.reason, why);
    assert_int_equal(gw_schema_validate(s, v, NULL), AL_EINVAL);
    al_buf_free(&out);
    json_decref(v);
}

/* Bytes -> JSON equal to `json`. */
static void reads_as(const gw_schema *s, const char *hex, const char *json)
{
    uint8_t in[512];
    size_t n = unhex(hex, in, sizeof(in));
    json_t *v = NULL;
    gw_schema_error err;
    int rc = gw_schema_msgpack_to_json(s, in, n, &v, &err);
    if (rc)
        fail_msg("%s: rejected at '%s': %s", hex, err.pointer, err.reason);
    json_t *want = load(json);
    if (!json_equal(v, want)) {
        char *got = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        fail_msg("%s: got %s want %s", hex, got, json);
    }
    json_decref(want);
    json_decref(v);
}

static void mp_rejects(const gw_schema *s, const char *hex, const char *pointer,
                       const char *why)
{
    uint8_t in[512];
    size_t n = unhex(hex, in, sizeof(in));
    json_t *v = NULL;
    gw_schema_error err;
    int rc = gw_schema_msgpack_to_json(s, in, n, &v, &err);
    if (rc != AL_EDECODE)
        fail_msg("%s: accepted (rc %d)", hex, rc);
    assert_null(v);
    assert_string_equal(err.pointer, pointer);
    if (!strstr(err.reason, why))
        fail_msg("%s: reason '%s' lacks '%s'", hex, err.reason, why);
}

/* ---------------------------------------------------------------- tests */

static const char inc_schema[] =
    "{\"type\": \"object\", \"properties\": {\"amount\": {\"type\": "
    "\"integer\", \"format\": \"uint32\"}}, \"required\": [\"amount\"]}";

static void inc_is_rmp_serde_named(void **state)
{
    (void)state;
    gw_schema *s = compile(inc_schema);
    maps_to(s, "{\"amount\": 10}", "81 a6 61 6d 6f 75 6e 74 0a");
    reads_as(s, "81 a6 61 6d 6f 75 6e 74 0a", "{\"amount\": 10}");
    reads_as(s, "91 0a", "{\"amount\": 10}"); /* tuple form */
    /* any integer encoding of a value in range */
    reads_as(s, "81 a6 61 6d 6f 75 6e 74 cf 00 00 00 00 00 00 00 0a",
             "{\"amount\": 10}");
    reads_as(s, "81 a6 61 6d 6f 75 6e 74 d3 00 00 00 00 ff ff ff ff",
             "{\"amount\": 4294967295}");
    rejects(s, "{}", "", "missing required property 'amount'");
    rejects(s, "{\"amount\": -1}", "/amount", "out of range for uint32");
    rejects(s, "{\"amount\": 10, \"amout\": 1}", "/amout", "unknown property");
    rejects(s, "{\"amount\": \"10\"}", "/amount",
            "expected integer (uint32), got string");
    rejects(s, "[10]", "", "expected object, got array");
    mp_rejects(s, "91 0a 0b", "", "bytes after");
    mp_rejects(s, "92 0a 0b", "", "has 2 items, expected 1");
    mp_rejects(s, "80", "", "missing property 'amount'");
    mp_rejects(s, "81 a6 61 6d 6f 75 6e 74 ff", "/amount",
               "-1 is out of range for uint32");
    gw_schema_free(s);
}

struct int_case {
    const char *format;
    const char *json;
    const char *hex; /* NULL: rejected */
};

static void integer_format_edges(void **state)
{
    (void)state;
    static const struct int_case cases[] = {
        {"int8", "-128", "d0 80"},
        {"int8", "127", "7f"},
        {"int8", "-32", "e0"},
        {"int8", "-33", "d0 df"},
        {"int8", "-129", NULL},
        {"int8", "128", NULL},
        {"int16", "-32768", "d1 80 00"},
        {"int16", "32767", "cd 7f ff"},
        {"int16", "-129", "d1 ff 7f"},
        {"int16", "-32769", NULL},
        {"int16", "32768", NULL},
        {"int32", "-2147483648", "d2 80 00 00 00"},
        {"int32", "2147483647", "ce 7f ff ff ff"},
        {"int32", "-2147483649", NULL},
        {"int32", "2147483648", NULL},
        {"int64", "-9223372036854775808", "d3 80 00 00 00 00 00 00 00"},
        {"int64", "9223372036854775807", "cf 7f ff ff ff ff ff ff ff"},
        {"int64", "\"-9223372036854775808\"", "d3 80 00 00 00 00 00 00 00"},
        {"int64", "-9223372036854775809", NULL},
        {"int64", "9223372036854775808", NULL},
        {"int64", "4294967296", "cf 00 00 00 01 00 00 00 00"},
        {"uint8", "0", "00"},
        {"uint8", "255", "cc ff"},
        {"uint8", "128", "cc 80"},
        {"uint8", "-1", NULL},
        {"uint8", "256", NULL},
        {"uint16", "65535", "cd ff ff"},
        {"uint16", "256", "cd 01 00"},
        {"uint16", "65536", NULL},
        {"uint32", "4294967295", "ce ff ff ff ff"},
        {"uint32", "65536", "ce 00 01 00 00"},
        {"uint32", "4294967296", NULL},
        {"uint64", "18446744073709551615", "cf ff ff ff ff ff ff ff ff"},
        {"uint64", "\"18446744073709551615\"", "cf ff ff ff ff ff ff ff ff"},
        {"uint64", "9007199254740993", "cf 00 20 00 00 00 00 00 01"},
        {"uint64", "18446744073709551616", NULL},
        {"uint64", "-1", NULL},
        {"uint64", "\"-1\"", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[128];
        snprintf(text, sizeof(text),
                 "{\"type\": \"integer\", \"format\": \"%s\"}",
                 cases[i].format);
        gw_schema *s = compile(text);
        if (cases[i].hex) {
            maps_to(s, cases[i].json, cases[i].hex);
            /* and back: the JSON number (strings come back as numbers,
             * except uint64 above INT64_MAX, which stays a string) */
            const char *back = cases[i].json;
            char unq[64];
            if (back[0] == '"' && strcmp(cases[i].format, "uint64")) {
                snprintf(unq, sizeof(unq), "%.*s", (int)strlen(back) - 2,
                         back + 1);
                back = unq;
            }
            if (!strcmp(back, "18446744073709551615"))
                back = "\"18446744073709551615\"";
            reads_as(s, cases[i].hex, back);
        } else {
            rejects(s, cases[i].json, "", "");
        }
        gw_schema_free(s);
    }
}

static void integer_json_forms(void **state)
{
    (void)state;
    gw_schema *s = compile("{\"type\": \"integer\", \"format\": \"int32\"}");
    maps_to(s, "10.0", "0a");
    rejects(s, "10.5", "", "not an integer");
    rejects(s, "\"10\"", "", "expected integer (int32), got string");
    rejects(s, "true", "", "got boolean");
    rejects(s, "1e300", "", "too large to be exact");
    gw_schema_free(s);
    s = compile("{\"type\": \"integer\"}"); /* no format: int64 */
    maps_to(s, "\"-5\"", "fb");
    rejects(s, "\"010\"", "", "not a decimal integer string");
    rejects(s, "\"1 \"", "", "not a decimal integer string");
    rejects(s, "\"\"", "", "not a decimal integer string");
    rejects(s, "123456789012345678901234567890", "", "out of range");
    mp_rejects(s, "cb 3f f8 00 00 00 00 00 00", "",
               "expected integer (int64), got MessagePack float64");
    mp_rejects(s, "cf ff ff ff ff ff ff ff ff", "", "out of range for int64");
    gw_schema_free(s);
}

static void integer_minimum_maximum(void **state)
{
    (void)state;
    gw_schema *s = compile("{\"type\": \"integer\", \"format\": \"uint8\", "
                           "\"minimum\": 1, \"maximum\": 10}");
    maps_to(s, "1", "01");
    maps_to(s, "10", "0a");
    rejects(s, "0", "", "[1, 10]");
    rejects(s, "11", "", "[1, 10]");
    mp_rejects(s, "0b", "", "[1, 10]");
    gw_schema_free(s);
    /* bounds above INT64_MAX as decimal strings */
    s = compile("{\"type\": \"integer\", \"format\": \"uint64\", "
                "\"minimum\": \"18446744073709551614\"}");
    maps_to(s, "18446744073709551615", "cf ff ff ff ff ff ff ff ff");
    rejects(s, "18446744073709551613", "", "out of range");
    gw_schema_free(s);
}

static void numbers(void **state)
{
    (void)state;
    gw_schema *d = compile("{\"type\": \"number\"}");
    maps_to(d, "1.5", "cb 3f f8 00 00 00 00 00 00");
    maps_to(d, "2", "cb 40 00 00 00 00 00 00 00");
    rejects(d, "\"1.5\"", "", "expected number (double), got string");
    reads_as(d, "ca 3f c0 00 00", "1.5");
    reads_as(d, "05", "5.0");
    reads_as(d, "d0 fb", "-5.0");
    mp_rejects(d, "cb 7f f8 00 00 00 00 00 00", "", "no JSON form");
    mp_rejects(d, "cb 7f f0 00 00 00 00 00 00", "", "no JSON form");
    gw_schema_free(d);
    gw_schema *f = compile("{\"type\": \"number\", \"format\": \"float\"}");
    maps_to(f, "1.5", "ca 3f c0 00 00");
    maps_to(f, "-2", "ca c0 00 00 00");
    rejects(f, "1e39", "", "out of range");
    reads_as(f, "cb 3f f8 00 00 00 00 00 00", "1.5");
    mp_rejects(f, "cb 47 f0 00 00 00 00 00 00", "", "out of range for float");
    gw_schema_free(f);
    gw_schema *r = compile("{\"type\": \"number\", \"minimum\": 0, "
                           "\"maximum\": 1}");
    maps_to(r, "0.5", "cb 3f e0 00 00 00 00 00 00");
    rejects(r, "1.5", "", "out of range");
    rejects(r, "-0.5", "", "out of range");
    gw_schema_free(r);
}

static void booleans_and_null(void **state)
{
    (void)state;
    gw_schema *b = compile("{\"type\": \"boolean\"}");
    maps_to(b, "true", "c3");
    maps_to(b, "false", "c2");
    rejects(b, "\"true\"", "", "expected boolean, got string");
    rejects(b, "null", "", "expected boolean, got null");
    reads_as(b, "c3", "true");
    mp_rejects(b, "01", "", "expected boolean, got MessagePack integer");
    gw_schema_free(b);
    gw_schema *n = compile("{\"type\": \"null\"}"); /* Rust's () */
    maps_to(n, "null", "c0");
    rejects(n, "0", "", "expected null, got integer");
    reads_as(n, "c0", "null");
    mp_rejects(n, "90", "", "expected null");
    gw_schema_free(n);
}

static void strings(void **state)
{
    (void)state;
    gw_schema *s = compile("{\"type\": \"string\", \"minLength\": 1, "
                           "\"maxLength\": 2}");
    maps_to(s, "\"h\\u00e9\"", "a3 68 c3 a9"); /* 2 code points, 3 bytes */
    rejects(s, "\"\"", "", "length 0 is outside [1, 2]");
    rejects(s, "\"h\\u00e9\\u00e9\"", "", "length 3 is outside [1, 2]");
    rejects(s, "5", "", "expected string, got integer");
    reads_as(s, "a3 68 c3 a9", "\"h\\u00e9\"");
    reads_as(s, "d9 02 61 62", "\"ab\""); /* str8 */
    mp_rejects(s, "a1 ff", "", "not valid UTF-8");
    mp_rejects(s, "a2 c0 80", "", "not valid UTF-8");    /* overlong */
    mp_rejects(s, "a3 ed a0 80", "", "not valid UTF-8"); /* surrogate */
    mp_rejects(s, "c4 01 61", "", "expected string, got MessagePack binary");
    gw_schema_free(s);
    gw_schema *l = compile("{\"type\": \"string\"}");
    char json[80], hex[300];
    memset(json, 0, sizeof(json));
    json[0] = '"';
    memset(json + 1, 'a', 40);
    json[41] = '"';
    snprintf(hex, sizeof(hex), "d9 28");
    for (int i = 0; i < 40; i++)
        append(hex, sizeof(hex), " 61");
    maps_to(l, json, hex); /* 40 bytes: str8, as rmp writes */
    gw_schema_free(l);
}

static void bytes(void **state)
{
    (void)state;
    gw_schema *s = compile("{\"type\": \"string\", "
                           "\"contentEncoding\": \"base64\"}");
    maps_to(s, "\"AQID\"", "c4 03 01 02 03");
    maps_to(s, "\"AQI=\"", "c4 02 01 02");
    maps_to(s, "\"AQ==\"", "c4 01 01");
    maps_to(s, "\"\"", "c4 00");
    rejects(s, "\"AQ=\"", "", "base64");
    rejects(s, "\"AR==\"", "", "base64"); /* stray bits */
    rejects(s, "\"A=Q=\"", "", "base64");
    rejects(s, "\"AQ ID\"", "", "base64");
    rejects(s, "[1, 2]", "", "expected bytes");
    reads_as(s, "c4 03 01 02 03", "\"AQID\"");
    reads_as(s, "93 01 02 03", "\"AQID\""); /* Vec<u8> as serde_bytes reads */
    mp_rejects(s, "92 01 cd 01 00", "/1", "expected a byte");
    gw_schema_free(s);
    s = compile("{\"type\": \"string\", \"format\": \"byte\"}");
    maps_to(s, "\"/w==\"", "c4 01 ff");
    gw_schema_free(s);
    /* Vec<u8> without serde_bytes: an array of integers */
    s = compile("{\"type\": \"array\", \"items\": {\"type\": \"integer\", "
                "\"format\": \"uint8\"}}");
    maps_to(s, "[1, 2, 255]", "93 01 02 cc ff");
    rejects(s, "[1, 256]", "/1", "out of range for uint8");
    gw_schema_free(s);
}

static void nullable(void **state)
{
    (void)state;
    static const char *const forms[] = {
        "{\"type\": [\"string\", \"null\"]}",
        "{\"type\": [\"null\", \"string\"]}",
        "{\"type\": \"string\", \"nullable\": true}",
    };
    for (size_t i = 0; i < 3; i++) {
        gw_schema *s = compile(forms[i]);
        maps_to(s, "null", "c0");
        maps_to(s, "\"a\"", "a1 61");
        reads_as(s, "c0", "null");
        rejects(s, "1", "", "expected string, got integer");
        gw_schema_free(s);
    }
    gw_schema *s = compile("{\"type\": \"string\", \"nullable\": false}");
    rejects(s, "null", "", "expected string, got null");
    mp_rejects(s, "c0", "", "expected string, got MessagePack nil");
    gw_schema_free(s);
}

static const char point_schema[] =
    "{\"type\": \"object\", \"properties\": {"
    "\"a\": {\"type\": \"integer\", \"format\": \"int32\"},"
    "\"b\": {\"type\": [\"string\", \"null\"]}}, \"required\": [\"a\"]}";

static void structs(void **state)
{
    (void)state;
    gw_schema *s = compile(point_schema);
    /* an absent Option is nil, fields in declaration order */
    maps_to(s, "{\"a\": 1}", "82 a1 61 01 a1 62 c0");
    maps_to(s, "{\"b\": \"x\", \"a\": 1}", "82 a1 61 01 a1 62 a1 78");
    maps_to(s, "{\"a\": 1, \"b\": null}", "82 a1 61 01 a1 62 c0");
    rejects(s, "{\"a\": 1, \"c\": 2}", "/c", "unknown property");
    rejects(s, "{\"b\": \"x\"}", "", "missing required property 'a'");
    rejects(s, "{\"a\": 1, \"b\": 2}", "/b", "expected string");
    reads_as(s, "82 a1 61 01 a1 62 a1 78", "{\"a\": 1, \"b\": \"x\"}");
    reads_as(s, "81 a1 61 01", "{\"a\": 1, \"b\": null}");
    reads_as(s, "82 a1 62 c0 a1 61 01", "{\"a\": 1, \"b\": null}");
    reads_as(s, "92 01 a1 78", "{\"a\": 1, \"b\": \"x\"}");
    mp_rejects(s, "91 01", "", "has 1 items, expected 2");
    mp_rejects(s, "82 a1 61 01 a1 61 02", "/a", "duplicate property");
    mp_rejects(s, "82 a1 61 01 a1 63 02", "/c", "unknown property");
    mp_rejects(s, "81 01 01", "", "map key is MessagePack integer");
    mp_rejects(s, "81 a1 62 c0", "", "missing property 'a'");
    gw_schema_free(s);
    /* open: unknown properties are dropped going out, skipped coming in */
    gw_schema *o = compile("{\"type\": \"object\", \"properties\": {\"a\": "
                           "{\"type\": \"integer\"}}, \"required\": [\"a\"], "
                           "\"additionalProperties\": true}");
    maps_to(o, "{\"a\": 1, \"zz\": [1, {\"q\": 2}]}", "81 a1 61 01");
    reads_as(o, "82 a2 7a 7a 92 01 81 a1 71 02 a1 61 01", "{\"a\": 1}");
    mp_rejects(o, "82 a2 7a 7a dd 00 00 00 05 a1 61 01", "/zz", "ends early");
    gw_schema_free(o);
    gw_schema *e = compile("{\"type\": \"object\"}");
    maps_to(e, "{}", "80");
    reads_as(e, "80", "{}");
    reads_as(e, "90", "{}");
    gw_schema_free(e);
}

static void maps(void **state)
{
    (void)state;
    gw_schema *s = compile("{\"type\": \"object\", \"additionalProperties\": "
                           "{\"type\": \"integer\", \"format\": \"uint8\"}}");
    maps_to(s, "{\"x\": 1, \"y\": 2}", "82 a1 78 01 a1 79 02");
    maps_to(s, "{}", "80");
    rejects(s, "{\"x\": 1, \"y\": 300}", "/y", "out of range");
    reads_as(s, "82 a1 78 01 a1 79 02", "{\"x\": 1, \"y\": 2}");
    mp_rejects(s, "82 a1 78 01 a1 78 02", "/x", "duplicate key");
    mp_rejects(s, "92 01 02", "", "expected object");
    gw_schema_free(s);
}

static void unit_enums(void **state)
{
    (void)state;
    gw_schema *s = compile("{\"enum\": [\"Red\", \"Green\"]}");
    maps_to(s, "\"Red\"", "a3 52 65 64");
    rejects(s, "\"Blue\"", "", "unknown variant");
    rejects(s, "0", "", "expected a variant");
    reads_as(s, "a5 47 72 65 65 6e", "\"Green\"");
    mp_rejects(s, "a4 42 6c 75 65", "", "unknown variant");
    gw_schema_free(s);
    s = compile("{\"type\": [\"string\", \"null\"], \"enum\": [\"On\"]}");
    maps_to(s, "null", "c0");
    maps_to(s, "\"On\"", "a2 4f 6e");
    gw_schema_free(s);
}

/* enum Shape { Circle { r: f64 }, Square(u32), Empty } */
static const char shape_schema[] =
    "{\"oneOf\": ["
    " {\"type\": \"object\", \"properties\": {\"Circle\": {\"type\": "
    "\"object\", \"properties\": {\"r\": {\"type\": \"number\"}}, "
    "\"required\": [\"r\"]}}, \"required\": [\"Circle\"]},"
    " {\"type\": \"object\", \"properties\": {\"Square\": {\"type\": "
    "\"integer\", \"format\": \"uint32\"}}, \"required\": [\"Square\"], "
    "\"additionalProperties\": false},"
    " {\"const\": \"Empty\"}]}";

static void data_enums(void **state)
{
    (void)state;
    gw_schema *s = compile(shape_schema);
    maps_to(s, "{\"Square\": 3}", "81 a6 53 71 75 61 72 65 03");
    maps_to(s, "\"Empty\"", "a5 45 6d 70 74 79");
    maps_to(s, "{\"Circle\": {\"r\": 1.5}}",
            "81 a6 43 69 72 63 6c 65 81 a1 72 cb 3f f8 00 00 00 00 00 00");
    rejects(s, "\"Square\"", "", "carries a value");
    rejects(s, "{\"Empty\": null}", "/Empty", "unit variant");
    rejects(s, "{\"Nope\": 1}", "/Nope", "unknown variant");
    rejects(s, "{}", "", "expected a variant");
    rejects(s, "{\"Square\": 1, \"Empty\": null}", "", "expected a variant");
    rejects(s, "{\"Circle\": {\"r\": \"x\"}}", "/Circle/r", "expected number");
    reads_as(s, "81 a6 53 71 75 61 72 65 03", "{\"Square\": 3}");
    reads_as(s, "a5 45 6d 70 74 79", "\"Empty\"");
    reads_as(s, "81 a6 43 69 72 63 6c 65 91 cb 3f f8 00 00 00 00 00 00",
             "{\"Circle\": {\"r\": 1.5}}");
    mp_rejects(s, "a6 53 71 75 61 72 65", "", "carries a value");
    mp_rejects(s, "81 a5 45 6d 70 74 79 c0", "/Empty", "unit variant");
    mp_rejects(s, "82 a6 53 71 75 61 72 65 03 a6 53 71 75 61 72 65 03", "",
               "one-key map");
    gw_schema_free(s);
}

static void nested_pointers(void **state)
{
    (void)state;
    gw_schema *s = compile(
        "{\"type\": \"object\", \"properties\": {\"items\": {\"type\": "
        "\"array\", \"minItems\": 1, \"maxItems\": 3, \"items\": {\"type\": "
        "\"object\", \"properties\": {\"a/b~c\": {\"type\": \"string\"}}, "
        "\"required\": [\"a/b~c\"]}}}, \"required\": [\"items\"]}");
    maps_to(s, "{\"items\": [{\"a/b~c\": \"x\"}]}",
            "81 a5 69 74 65 6d 73 91 81 a5 61 2f 62 7e 63 a1 78");
    rejects(s, "{\"items\": [{\"a/b~c\": \"x\"}, {\"a/b~c\": 5}]}",
            "/items/1/a~1b~0c", "expected string, got integer");
    rejects(s, "{\"items\": []}", "/items", "0 items");
    rejects(s,
            "{\"items\": [{\"a/b~c\": \"x\"}, {\"a/b~c\": \"x\"}, "
            "{\"a/b~c\": \"x\"}, {\"a/b~c\": \"x\"}]}",
            "/items", "4 items");
    mp_rejects(s, "81 a5 69 74 65 6d 73 92 81 a5 61 2f 62 7e 63 a1 78 80",
               "/items/1", "missing property 'a/b~c'");
    mp_rejects(s, "81 a5 69 74 65 6d 73 90", "/items", "0 items");
    gw_schema_free(s);
}

static void malformed_msgpack(void **state)
{
    (void)state;
    gw_schema *s = compile("{\"type\": \"array\", \"items\": {\"type\": "
                           "\"integer\"}}");
    mp_rejects(s, "", "", "ends early");
    mp_rejects(s, "c1", "", "marker c1");
    mp_rejects(s, "dd ff ff ff ff", "", "ends early"); /* no allocation */
    mp_rejects(s, "92 01", "", "ends early");          /* count > bytes left */
    mp_rejects(s, "91 cd 01", "/0", "ends early");
    mp_rejects(s, "91 d4 01 02", "/0", "got MessagePack extension");
    reads_as(s, "dc 00 02 01 02", "[1, 2]");
    gw_schema_free(s);
    gw_schema *o = compile("{\"type\": \"object\", \"additionalProperties\": "
                           "true}");
    /* skipping: a deep value and every marker family */
    reads_as(o, "81 a1 78 91 91 91 91 91 91 91 91 c0", "{}");
    reads_as(o, "81 a1 78 94 d4 01 02 c7 01 05 aa ca 00 00 00 00 c0", "{}");
    mp_rejects(o, "81 a1 78 de ff ff", "/x", "ends early");
    mp_rejects(o, "81 a1 78 c6 00 00 00 09 00", "/x", "ends early");
    gw_schema_free(o);
}

struct bad_schema {
    const char *schema;
    const char *pointer;
    const char *why;
};

static void refuses_outside_subset(void **state)
{
    (void)state;
    static const struct bad_schema bad[] = {
        {"[]", "", "must be a JSON object"},
        {"{\"type\": \"integer\", \"format\": \"int128\"}", "/format",
         "int8, int16"},
        {"{\"type\": \"string\", \"pattern\": \"x\"}", "/pattern",
         "unsupported keyword 'pattern'"},
        {"{\"type\": \"integer\", \"minLength\": 1}", "/minLength",
         "does not apply to integer"},
        {"{\"type\": \"object\", \"properties\": {\"a\": {\"type\": "
         "\"string\"}}}",
         "/properties/a", "mark it nullable"},
        {"{\"type\": \"object\", \"properties\": {\"a\": {\"type\": "
         "\"strin\"}}, \"required\": [\"a\"]}",
         "/properties/a/type", "unknown type 'strin'"},
        {"{\"type\": \"object\", \"required\": [\"x\"]}", "/required/0",
         "not in 'properties'"},
        {"{\"type\": \"object\", \"properties\": {\"a\": {\"type\": "
         "\"null\"}}, \"required\": [\"a\", \"a\"]}",
         "/required/1", "listed twice"},
        {"{\"type\": \"array\"}", "", "needs 'items'"},
        {"{\"type\": \"array\", \"items\": {\"type\": \"null\"}, "
         "\"minItems\": -1}",
         "/minItems", "non-negative"},
        {"{\"enum\": [1, 2]}", "/enum/0", "must be strings"},
        {"{\"enum\": []}", "/enum", "non-empty"},
        {"{\"enum\": [\"a\", \"a\"]}", "/enum/1", "appears twice"},
        {"{\"type\": \"integer\", \"enum\": [\"a\"]}", "/type",
         "unit variants"},
        {"{\"enum\": [\"a\"], \"const\": \"a\"}", "/const", "not both"},
        {"{\"oneOf\": [{\"type\": \"object\", \"properties\": {\"A\": "
         "{\"type\": \"null\"}, \"B\": {\"type\": \"null\"}}, "
         "\"required\": [\"A\"]}]}",
         "/oneOf/0", "exactly one property"},
        {"{\"oneOf\": [{\"type\": \"object\", \"properties\": {\"A\": "
         "{\"type\": \"null\"}}}]}",
         "/oneOf/0", "\"required\": [\"A\"]"},
        {"{\"oneOf\": [{\"const\": \"A\"}, {\"const\": \"A\"}]}",
         "/oneOf/1/const", "appears twice"},
        {"{\"oneOf\": [{\"type\": \"integer\"}]}", "/oneOf/0", "one property"},
        {"{\"oneOf\": []}", "/oneOf", "non-empty"},
        {"{\"type\": \"object\", \"oneOf\": [{\"const\": \"A\"}]}", "/type",
         "takes no 'type'"},
        {"{\"oneOf\": [{\"const\": \"A\", \"nullable\": true}]}", "/oneOf/0",
         "cannot be nullable"},
        {"{\"type\": \"integer\", \"minimum\": 5, \"maximum\": 1}", "/minimum",
         "empty"},
        {"{\"type\": \"integer\", \"format\": \"uint8\", \"maximum\": 300}",
         "/maximum", "outside the range of uint8"},
        {"{\"type\": \"integer\", \"minimum\": 1.5}", "/minimum",
         "must be an integer"},
        {"{\"type\": \"number\", \"format\": \"decimal\"}", "/format",
         "float or double"},
        {"{\"type\": \"number\", \"maximum\": \"1\"}", "/maximum",
         "must be a number"},
        {"{\"type\": \"object\", \"$ref\": \"#/x\"}", "/$ref",
         "unsupported keyword '$ref'"},
        {"{\"type\": [\"string\", \"integer\"]}", "/type", "[name, \"null\"]"},
        {"{\"type\": 5}", "/type", "string or array"},
        {"{\"type\": \"string\", \"format\": \"uuid\"}", "/format", "\"byte\""},
        {"{\"type\": \"string\", \"contentEncoding\": \"base32\"}",
         "/contentEncoding", "base64"},
        {"{\"type\": \"string\", \"contentEncoding\": \"base64\", "
         "\"maxLength\": 3}",
         "/maxLength", "does not apply to bytes"},
        {"{\"properties\": {}}", "", "missing 'type'"},
        {"{\"$ref\": \"#/$defs/x\"}", "/$ref", "unsupported keyword '$ref'"},
        {"{\"type\": \"integer\", \"nullable\": \"yes\"}", "/nullable",
         "boolean"},
        {"{\"type\": \"null\", \"$schema\": \"http://json-schema.org/"
         "draft-07/schema#\"}",
         "/$schema", "2020-12"},
        {"{\"type\": \"array\", \"items\": {\"type\": \"null\", "
         "\"$schema\": \"https://json-schema.org/draft/2020-12/schema\"}}",
         "/items/$schema", "only allowed at the root"},
        {"{\"type\": \"object\", \"additionalProperties\": 1}",
         "/additionalProperties", "false, true or a schema"},
        {"{\"type\": \"object\", \"additionalProperties\": {\"type\": "
         "\"null\"}, \"required\": []}",
         "/required", "does not apply to a map"},
        {"{\"type\": \"object\", \"properties\": {\"\": {\"type\": "
         "\"null\"}}, \"required\": [\"\"]}",
         "/properties/", "1 to 255 bytes"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *doc = json_loads(bad[i].schema, JSON_DECODE_ANY, NULL);
        assert_non_null(doc);
        gw_schema *s = NULL;
        gw_schema_error err;
        int rc = gw_schema_compile(doc, &s, &err);
        if (rc != AL_EINVAL)
            fail_msg("accepted: %s", bad[i].schema);
        assert_null(s);
        if (strcmp(err.pointer, bad[i].pointer) ||
            !strstr(err.reason, bad[i].why))
            fail_msg("%s: got '%s': %s", bad[i].schema, err.pointer,
                     err.reason);
        json_decref(doc);
    }
}

static void nesting_limit(void **state)
{
    (void)state;
    char deep[2048] = "";
    for (int i = 0; i < 40; i++)
        append(deep, sizeof(deep), "{\"type\": \"array\", \"items\": ");
    append(deep, sizeof(deep), "{\"type\": \"null\"}");
    for (int i = 0; i < 40; i++)
        append(deep, sizeof(deep), "}");
    json_t *doc = json_loads(deep, 0, NULL);
    assert_non_null(doc);
    gw_schema *s;
    gw_schema_error err;
    assert_int_equal(gw_schema_compile(doc, &s, &err), AL_EINVAL);
    assert_non_null(strstr(err.reason, "deeper than"));
    json_decref(doc);
}

static void annotations_and_schema_uri(void **state)
{
    (void)state;
    gw_schema *s = compile(
        "{\"$schema\": \"https://json-schema.org/draft/2020-12/schema\", "
        "\"title\": \"T\", \"description\": \"d\", \"$comment\": \"c\", "
        "\"examples\": [1], \"deprecated\": false, \"type\": \"integer\"}");
    maps_to(s, "1", "01");
    gw_schema_free(s);
}

static void big_integer_loader(void **state)
{
    (void)state;
    json_error_t je;
    /* plain text goes through json_loadb untouched */
    json_t *v = gw_json_loadb("{\"a\": 1}", 8, 0, &je);
    assert_non_null(v);
    json_decref(v);
    gw_schema *s = compile("{\"type\": \"object\", \"properties\": {\"a\": "
                           "{\"type\": \"array\", \"items\": {\"type\": "
                           "\"integer\", \"format\": \"uint64\"}}, \"b\": "
                           "{\"type\": \"string\"}}, \"required\": [\"a\", "
                           "\"b\"]}");
    maps_to(s, "{\"a\": [18446744073709551615, 1], \"b\": \"\\u00ff\"}",
            "82 a1 61 92 cf ff ff ff ff ff ff ff ff 01 a1 62 a2 c3 bf");
    /* a big number where a string is expected is an integer, not text */
    rejects(s, "{\"a\": [], \"b\": 18446744073709551615}", "/b",
            "expected string, got integer");
    gw_schema_free(s);
    /* invalid JSON stays invalid; NUL escapes are refused */
    const char *bad[] = {
        "[18446744073709551615,]",
        "[18446744073709551615, \"\\u0000\"]",
        "[18446744073709551615, 1e999999]",
        "[18446744073709551615, -]",
        "[18446744073709551615, 01]",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        v = gw_json_loadb(bad[i], strlen(bad[i]), 0, &je);
        if (v)
            fail_msg("accepted %s", bad[i]);
    }
    /* without the loader, jansson refuses the number outright */
    assert_null(json_loads("[18446744073709551615]", 0, &je));
}

static void canonical_form(void **state)
{
    (void)state;
    json_t *a = json_loads("{\"type\": \"object\", \"required\": [\"z\"], "
                           "\"properties\": {\"z\": {\"format\": \"int8\", "
                           "\"type\": \"integer\"}, \"a\": {\"type\": "
                           "\"null\"}}}",
                           0, NULL);
    json_t *b = json_loads("{\"properties\": {\"z\": {\"type\": \"integer\", "
                           "\"format\": \"int8\"}, \"a\": {\"type\": "
                           "\"null\"}}, \"type\": \"object\", \"required\": "
                           "[\"z\"]}",
                           0, NULL);
    json_t *ca = gw_schema_canonical(a), *cb = gw_schema_canonical(b);
    char *ta = json_dumps(ca, JSON_COMPACT), *tb = json_dumps(cb, JSON_COMPACT);
    assert_string_equal(ta, tb);
    /* keywords sorted; property order kept (it is the field order) */
    assert_string_equal(ta, "{\"properties\":{\"z\":{\"format\":\"int8\","
                            "\"type\":\"integer\"},\"a\":{\"type\":\"null\"}},"
                            "\"required\":[\"z\"],\"type\":\"object\"}");
    free(ta);
    free(tb);
    json_decref(ca);
    json_decref(cb);
    json_decref(a);
    json_decref(b);
}

static bool subset(const char *a, const char *b, const char *why)
{
    gw_schema *sa = compile(a), *sb = compile(b);
    json_t *msgs = json_array();
    bool ok = gw_schema_subset(sa, sb, "", msgs);
    if (why) {
        bool found = false;
        for (size_t i = 0; i < json_array_size(msgs); i++)
            found |= !!strstr(json_string_value(json_array_get(msgs, i)), why);
        if (!found)
            fail_msg("no reason with '%s' for %s vs %s", why, a, b);
    }
    assert_int_equal(ok, json_array_size(msgs) == 0);
    json_decref(msgs);
    gw_schema_free(sa);
    gw_schema_free(sb);
    return ok;
}

static void subsets(void **state)
{
    (void)state;
    const char *u8 = "{\"type\": \"integer\", \"format\": \"uint8\"}";
    const char *u32 = "{\"type\": \"integer\", \"format\": \"uint32\"}";
    const char *i64 = "{\"type\": \"integer\", \"format\": \"int64\"}";
    const char *num = "{\"type\": \"number\"}";
    const char *flt = "{\"type\": \"number\", \"format\": \"float\"}";
    assert_true(subset(u8, u32, NULL));
    assert_false(subset(u32, u8, "[0, 4294967295] are not within"));
    assert_true(subset(u32, i64, NULL));
    assert_false(subset(i64, u32, "decimal strings"));
    assert_true(subset(u32, num, NULL));
    assert_false(subset(num, u32, "writer sends number"));
    assert_true(subset(flt, num, NULL));
    assert_false(subset(num, flt, "not within"));
    assert_true(subset("{\"type\": \"string\"}",
                       "{\"type\": [\"string\", \"null\"]}", NULL));
    assert_false(subset("{\"type\": [\"string\", \"null\"]}",
                        "{\"type\": \"string\"}", "null"));
    assert_true(
        subset("{\"enum\": [\"A\"]}", "{\"enum\": [\"A\", \"B\"]}", NULL));
    assert_false(subset("{\"enum\": [\"A\", \"B\"]}", "{\"enum\": [\"A\"]}",
                        "no variant 'B'"));
    assert_true(subset("{\"enum\": [\"A\"]}", "{\"type\": \"string\"}", NULL));
    assert_true(subset("{\"type\": \"string\", \"maxLength\": 3}",
                       "{\"type\": \"string\"}", NULL));
    assert_false(subset("{\"type\": \"string\"}",
                        "{\"type\": \"string\", \"maxLength\": 3}",
                        "string length"));
    assert_false(subset("{\"type\": \"string\"}",
                        "{\"type\": \"string\", \"format\": \"byte\"}",
                        "writer sends string"));
    assert_true(subset(shape_schema, shape_schema, NULL));
    assert_false(
        subset(shape_schema, "{\"enum\": [\"Empty\"]}", "no variant 'Circle'"));
    /* structs */
    assert_true(subset(inc_schema, point_schema, NULL) == false);
    assert_true(subset(point_schema,
                       "{\"type\": \"object\", \"properties\": {"
                       "\"a\": {\"type\": \"integer\", \"format\": "
                       "\"int32\"}, \"b\": {\"type\": [\"string\", "
                       "\"null\"]}, \"c\": {\"type\": \"boolean\", "
                       "\"nullable\": true}}, \"required\": [\"a\"]}",
                       NULL));
    assert_false(subset(point_schema,
                        "{\"type\": \"object\", \"properties\": {\"a\": "
                        "{\"type\": \"integer\", \"format\": \"int32\"}}, "
                        "\"required\": [\"a\"]}",
                        "reader has no property 'b'"));
    assert_false(subset(point_schema,
                        "{\"type\": \"object\", \"properties\": {"
                        "\"a\": {\"type\": \"integer\", \"format\": "
                        "\"int32\"}, \"b\": {\"type\": [\"string\", "
                        "\"null\"]}}, \"required\": [\"a\", \"b\"]}",
                        "reader requires property 'b'"));
    assert_false(subset("{\"type\": \"object\", \"additionalProperties\": "
                        "true}",
                        "{\"type\": \"object\"}", "additional properties"));
    /* an absent schema is any value */
    gw_schema *s = compile(u8);
    assert_true(gw_schema_subset(s, NULL, "", NULL));
    assert_false(gw_schema_subset(NULL, s, "", NULL));
    gw_schema_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(inc_is_rmp_serde_named),
        cmocka_unit_test(integer_format_edges),
        cmocka_unit_test(integer_json_forms),
        cmocka_unit_test(integer_minimum_maximum),
        cmocka_unit_test(numbers),
        cmocka_unit_test(booleans_and_null),
        cmocka_unit_test(strings),
        cmocka_unit_test(bytes),
        cmocka_unit_test(nullable),
        cmocka_unit_test(structs),
        cmocka_unit_test(maps),
        cmocka_unit_test(unit_enums),
        cmocka_unit_test(data_enums),
        cmocka_unit_test(nested_pointers),
        cmocka_unit_test(malformed_msgpack),
        cmocka_unit_test(refuses_outside_subset),
        cmocka_unit_test(nesting_limit),
        cmocka_unit_test(annotations_and_schema_uri),
        cmocka_unit_test(big_integer_loader),
        cmocka_unit_test(canonical_form),
        cmocka_unit_test(subsets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
