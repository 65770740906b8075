/*
 * MessagePack -> JSON without a schema, for values the gateway has no
 * schema for (a handler error whose message declares no error schema).
 * Maps become objects (keys must be strings; integer keys are written in
 * decimal), bin becomes a base64 string, ext is refused, floats that are
 * not finite are refused. Integers above INT64_MAX become decimal strings,
 * as the schema mapping writes them.
 *
 * Bytes from a peer: every count is checked against the bytes left, depth
 * is bounded, and the output is at most a constant factor of the input.
 */
#ifndef GW_MPJSON_H
#define GW_MPJSON_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "actorlib.h"

#define GW_MPJSON_DEPTH 32

/* Reads exactly one value (trailing bytes are an error). *out is a new
 * reference. Returns 0, AL_EDECODE (err says why), or AL_ENOMEM. */
int gw_mpjson_decode(const uint8_t *buf, size_t len, json_t **out,
                     al_error *err);

/* Standard base64 with padding; returns a malloc'd NUL-terminated string
 * or NULL. */
char *gw_base64(const uint8_t *data, size_t len);

#endif
