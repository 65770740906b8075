/*
 * The gateway's logs: one JSON object per line on stdout, for each request
 * and each event (peer connected, schema loaded, ...). Every line has
 * "ts" (RFC 3339, UTC, microseconds), "level" and "event".
 *
 *   gw_logline l;
 *   if (gw_log_begin(&l, GW_LOG_INFO, "peer_connected")) {
 *       gw_log_str(&l, "peer", text);
 *       gw_log_end(&l);
 *   }
 *
 * Strings are escaped as JSON; bytes that are not UTF-8 become U+FFFD, so
 * a hostile request path cannot break the line structure.
 *
 * Batching: while the loop runs, lines collect in a buffer that the loop
 * flushes once per iteration (gw_log_flush from a uv_prepare_t) or when it
 * passes 64 KiB, so a busy gateway does not pay one write per request.
 * Outside the loop every line is written at once.
 *
 * Threads: the sink is guarded by a mutex, so other threads (the store's
 * writer logs through al_log) may log too.
 */
#ifndef GW_LOG_H
#define GW_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "actorlib.h"

enum gw_log_level {
    GW_LOG_ERROR = 0,
    GW_LOG_WARN = 1,
    GW_LOG_INFO = 2,
    GW_LOG_DEBUG = 3,
};

/* "error", "warn", "info", "debug" -> level, or -1. */
int gw_log_level_parse(const char *s);
const char *gw_log_level_name(int level);

/* Sets the output (borrowed; NULL = stdout) and the most verbose level
 * written. The default is stdout at GW_LOG_INFO. */
void gw_log_open(FILE *out, int max_level);
bool gw_log_enabled(int level);
void gw_log_set_batching(bool on);
/* Writes what is buffered. Turning batching off flushes too. */
void gw_log_flush(void);
/* Sends actorlib's al_log lines here as events "actorlib". */
void gw_log_capture_actorlib(void);

/* One line being built. Owns its buffer until gw_log_end (or
 * gw_log_cancel). */
typedef struct gw_logline {
    al_buf buf;
    bool on;
    bool failed;
} gw_logline;

/* false when the level is filtered out: then the other calls do nothing
 * and gw_log_end need not be called. */
bool gw_log_begin(gw_logline *l, int level, const char *event);
/* val NULL: the key is left out. */
void gw_log_str(gw_logline *l, const char *key, const char *val);
void gw_log_strn(gw_logline *l, const char *key, const char *val, size_t n);
void gw_log_int(gw_logline *l, const char *key, int64_t v);
void gw_log_uint(gw_logline *l, const char *key, uint64_t v);
void gw_log_bool(gw_logline *l, const char *key, bool v);
/* Appends already encoded JSON (e.g. jansson's output) as the value. */
void gw_log_raw(gw_logline *l, const char *key, const char *json, size_t n);
void gw_log_end(gw_logline *l);
void gw_log_cancel(gw_logline *l);

/* A line with just a "message", formatted printf-style. */
void gw_log_event(int level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Milliseconds since the Unix epoch as RFC 3339 UTC with milliseconds
 * ("2025-01-02T03:04:05.678Z"). */
void gw_format_time_ms(int64_t ms, char *buf, size_t cap);

/* Length of the valid UTF-8 sequence at s (n > 0 bytes left), or 0 when
 * it is not one (overlong, surrogate, beyond U+10FFFF, truncated). */
size_t gw_utf8_seq(const unsigned char *s, size_t n);

/* JSON string escaping (with the quotes) onto b, as the lines do. */
int gw_json_escape(al_buf *b, const char *s, size_t n);

#endif
