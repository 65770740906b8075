/* The schema mapping both ways, and the schema compiler.
 *
 * The first byte picks what the rest is:
 *   0, 1  JSON text for the counter's Inc request / a richer schema
 *   2, 3  MessagePack for the same two schemas
 *   4     a schema document
 * Invariants: whatever JSON -> MessagePack writes reads back, and writing
 * that again gives the same bytes; whatever MessagePack is accepted maps to
 * JSON that maps back to bytes that read as the same JSON; a schema that
 * compiles is a subset of itself and its canonical form compiles. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char inc_text[] =
    "{\"type\": \"object\", \"properties\": {\"amount\": {\"type\": "
    "\"integer\", \"format\": \"uint32\"}}, \"required\": [\"amount\"]}";

static const char rich_text[] =
    "{\"type\": \"object\", \"properties\": {"
    "\"i8\": {\"type\": \"integer\", \"format\": \"int8\"},"
    "\"u64\": {\"type\": \"integer\", \"format\": \"uint64\"},"
    "\"i64\": {\"type\": [\"integer\", \"null\"], \"minimum\": -5},"
    "\"f\": {\"type\": \"number\", \"format\": \"float\", \"nullable\": true},"
    "\"d\": {\"type\": \"number\", \"nullable\": true},"
    "\"s\": {\"type\": \"string\", \"maxLength\": 8, \"nullable\": true},"
    "\"b\": {\"type\": \"string\", \"contentEncoding\": \"base64\", "
    "\"nullable\": true},"
    "\"ok\": {\"type\": \"boolean\", \"nullable\": true},"
    "\"unit\": {\"type\": \"null\"},"
    "\"list\": {\"type\": \"array\", \"maxItems\": 4, \"items\": {\"type\": "
    "\"integer\", \"format\": \"uint8\"}, \"nullable\": true},"
    "\"map\": {\"type\": \"object\", \"additionalProperties\": {\"enum\": "
    "[\"A\", \"B\"]}, \"nullable\": true},"
    "\"any\": {\"type\": \"object\", \"additionalProperties\": true, "
    "\"properties\": {\"x\": {\"type\": \"integer\", \"nullable\": true}}, "
    "\"nullable\": true},"
    "\"shape\": {\"nullable\": true, \"oneOf\": ["
    " {\"type\": \"object\", \"properties\": {\"Circle\": {\"type\": "
    "\"object\", \"properties\": {\"r\": {\"type\": \"number\"}}, "
    "\"required\": [\"r\"]}}, \"required\": [\"Circle\"]},"
    " {\"type\": \"object\", \"properties\": {\"Square\": {\"type\": "
    "\"integer\", \"format\": \"uint32\"}}, \"required\": [\"Square\"]},"
    " {\"enum\": [\"Empty\", \"Full\"]}]}"
    "}, \"required\": [\"i8\", \"u64\"]}";

static gw_schema *schemas[2];

static gw_schema *compile_text(const char *text)
{
    json_t *doc = json_loads(text, 0, NULL);
    gw_schema *s = NULL;
    if (!doc || gw_schema_compile(doc, &s, NULL))
        abort();
    json_decref(doc);
    return s;
}

static void setup(void)
{
    if (!schemas[0]) {
        schemas[0] = compile_text(inc_text);
        schemas[1] = compile_text(rich_text);
    }
}

static void check_bytes_stable(const gw_schema *s, const uint8_t *mp,
                               size_t len, const json_t *expect)
{
    json_t *j = NULL;
    if (gw_schema_msgpack_to_json(s, mp, len, &j, NULL))
        abort(); /* what we wrote must read back */
    if (expect && !json_equal(j, expect))
        abort();
    al_buf again = {0};
    if (gw_schema_json_to_msgpack(s, j, &again, NULL))
        abort();
    if (again.len != len || memcmp(again.data, mp, len))
        abort();
    al_buf_free(&again);
    json_decref(j);
}

static void from_json(const gw_schema *s, const uint8_t *data, size_t size)
{
    json_t *v = gw_json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    if (!v)
        return;
    al_buf mp = {0};
    int valid = gw_schema_validate(s, v, NULL);
    int rc = gw_schema_json_to_msgpack(s, v, &mp, NULL);
    if ((valid == 0) != (rc == 0))
        abort();
    if (rc == 0)
        check_bytes_stable(s, mp.data, mp.len, NULL);
    else if (mp.len)
        abort();
    al_buf_free(&mp);
    json_decref(v);
}

static void from_msgpack(const gw_schema *s, const uint8_t *data, size_t size)
{
    json_t *j = NULL;
    if (gw_schema_msgpack_to_json(s, data, size, &j, NULL))
        return;
    al_buf mp = {0};
    if (gw_schema_json_to_msgpack(s, j, &mp, NULL))
        abort(); /* what we read must map back */
    check_bytes_stable(s, mp.data, mp.len, j);
    al_buf_free(&mp);
    json_decref(j);
}

static void compile_doc(const uint8_t *data, size_t size)
{
    json_t *doc = gw_json_loadb((const char *)data, size, 0, NULL);
    if (!doc)
        return;
    gw_schema *s = NULL;
    gw_schema_error err;
    if (gw_schema_compile(doc, &s, &err) == 0) {
        if (!gw_schema_subset(s, s, "", NULL))
            abort();
        json_t *c = gw_schema_canonical(doc);
        gw_schema *cs = NULL;
        if (!c || gw_schema_compile(c, &cs, NULL) ||
            !gw_schema_subset(s, cs, "", NULL) ||
            !gw_schema_subset(cs, s, "", NULL))
            abort();
        gw_schema_free(cs);
        json_decref(c);
        gw_schema_free(s);
    }
    json_decref(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    if (size < 1)
        return 0;
    uint8_t mode = data[0] % 5;
    data++, size--;
    if (mode <= 1)
        from_json(schemas[mode], data, size);
    else if (mode <= 3)
        from_msgpack(schemas[mode - 2], data, size);
    else
        compile_doc(data, size);
    return 0;
}
