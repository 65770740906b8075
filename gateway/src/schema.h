/*
 * Message schemas: a compiled subset of JSON Schema 2020-12 that validates
 * JSON and maps it exactly to and from MessagePack as Rust's
 * rmp_serde::to_vec_named writes it (structs as maps keyed by field name,
 * unit enum variants as strings, other variants as one-key maps, None as
 * nil). The subset and the mapping are specified in schemas/README.md; the
 * rules are enforced when a schema is compiled, so a typo in a keyword
 * fails loading instead of silently accepting everything.
 *
 * Sans-I/O: JSON in (jansson), bytes out, and back. No function here keeps
 * a pointer to its input after it returns, except that a compiled schema
 * holds a reference to the JSON document it was compiled from.
 */
#ifndef GW_SCHEMA_H
#define GW_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "actorlib.h"

#define GW_SCHEMA_POINTER_MAX 256
#define GW_SCHEMA_REASON_MAX  256

/* Where and why a document did not fit a schema (or a schema did not fit
 * the subset). pointer is an RFC 6901 JSON pointer ("" = the whole value,
 * "/items/3/name"); a pointer longer than the buffer ends in "...". For
 * MessagePack input the pointer names the position in the JSON the bytes
 * would have become. */
typedef struct gw_schema_error {
    char pointer[GW_SCHEMA_POINTER_MAX];
    char reason[GW_SCHEMA_REASON_MAX];
} gw_schema_error;

/* A compiled schema: immutable, opaque. Safe to share between readers. */
typedef struct gw_schema gw_schema;

/* Compiles doc (a JSON Schema object in the subset). On success *out is
 * owned by the caller (gw_schema_free) and holds a reference to doc.
 * Returns 0, AL_EINVAL with err filled (pointer relative to doc) when doc is
 * outside the subset, or AL_ENOMEM. */
int gw_schema_compile(json_t *doc, gw_schema **out, gw_schema_error *err);
void gw_schema_free(gw_schema *s);
/* The document the schema was compiled from (borrowed). */
json_t *gw_schema_doc(const gw_schema *s);

/* Checks value against s. Returns 0, AL_EINVAL (err says where and why) or
 * AL_ENOMEM. value is borrowed. */
int gw_schema_validate(const gw_schema *s, const json_t *value,
                       gw_schema_error *err);

/* Validates value and appends its MessagePack form to out (one pass). On
 * AL_EINVAL out->len is back where it was; out may have grown. */
int gw_schema_json_to_msgpack(const gw_schema *s, const json_t *value,
                              al_buf *out, gw_schema_error *err);

/* Reads exactly one MessagePack value from buf (trailing bytes are an error)
 * and builds its JSON form. *out is a new reference owned by the caller.
 * Returns 0, AL_EDECODE when the bytes are malformed or do not fit the
 * schema (err says where and why), or AL_ENOMEM. Unsigned values above
 * INT64_MAX come out as JSON strings of decimal digits (see README). */
int gw_schema_msgpack_to_json(const gw_schema *s, const uint8_t *buf,
                              size_t len, json_t **out, gw_schema_error *err);

/* Is every value that `a` accepts also accepted by `b`, with the same
 * MessagePack form? Appends one human sentence per reason it is not to
 * messages (a JSON array, may be NULL), each starting with the JSON pointer
 * of the schema position, prefixed by `where`. a or b may be NULL, meaning
 * "absent: any value". Returns true when a is a subset of b. */
bool gw_schema_subset(const gw_schema *a, const gw_schema *b, const char *where,
                      json_t *messages);

/* A canonical copy of a schema document of the subset: keywords sorted,
 * `properties` and `enum` kept in their order (it is part of the mapping),
 * nested schemas canonical. New reference, NULL on ENOMEM. Callers dump it
 * with JSON_COMPACT (no JSON_SORT_KEYS). */
json_t *gw_schema_canonical(const json_t *doc);

/* Parses JSON text like json_loadb, but keeps integers that do not fit in
 * int64 exactly instead of failing with "too big integer": such a number
 * becomes a marker that gw_schema_* read as that integer (and reject, with
 * a reason, where no integer is expected). The marker is a json string that
 * is not valid UTF-8, so it can never collide with a real string; do not
 * dump documents that hold one (json_dumps fails on it). Text that has no
 * such number is parsed by json_loadb unchanged. flags as json_loadb's;
 * JSON_ALLOW_NUL is not supported. Returns the new value or NULL with
 * *jerr filled. */
json_t *gw_json_loadb(const char *text, size_t len, size_t flags,
                      json_error_t *jerr);

#endif /* GW_SCHEMA_H */
