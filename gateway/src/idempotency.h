/*
 * Idempotency-Key: the first request with a key runs; a retry with the
 * same key and the same request gets the stored answer again, for 24 hours;
 * the same key with a different request is a conflict.
 *
 * Flow on the request path (loop thread):
 *
 *   gw_idem_fingerprint(method, path, body, len, fp);
 *   switch (gw_idem_check(idem, key, fp, &resp)) {
 *   case GW_IDEM_MISS:      run the request; then gw_idem_complete(...) with
 *                           the answer to keep, or gw_idem_abort(...) when
 *                           the request never reached an actor and may
 *                           simply be retried (bad JSON, peer unreachable
 *                           before sending);
 *   case GW_IDEM_REPLAY:    answer resp->status, headers, body as stored;
 *   case GW_IDEM_CONFLICT:  409: the key was used for another request
 *                           (another method, path or body);
 *   case GW_IDEM_IN_FLIGHT: 409 with Retry-After: the first request with
 *                           this key has not answered yet. Waiting for it
 *                           would tie a connection to another one's fate;
 *                           the client retries and then gets the replay.
 *   }
 *
 * A key is reserved (in memory only) from the MISS until complete/abort.
 * Completed answers are mirrored to the store's writer and reloaded at
 * start, so replays survive a restart. A reservation does not survive a
 * crash: after one, a retry runs again, since whether the first attempt
 * reached the actor is unknown and refusing the key for 24 hours would
 * help nobody.
 *
 * Memory is bounded by max_entries and max_bytes: past either, the oldest
 * completed answers are dropped (from the store too). Reservations are
 * never dropped for room; if only reservations are left, check answers
 * AL_ELIMIT (the caller answers 503).
 *
 * Threads: one thread (the loop's). Ownership: the table owns the stored
 * answers; response pointers it hands out are valid until the next call
 * that changes the table (check, complete, abort, sweep, load, free).
 */
#ifndef GW_IDEMPOTENCY_H
#define GW_IDEMPOTENCY_H

#include <stddef.h>
#include <stdint.h>

#include "actorlib.h"
#include "store.h"

#define GW_IDEM_KEY_MAX 255 /* bytes; printable ASCII (0x20-0x7e) */
#define GW_IDEM_FP_LEN  GW_STORE_HASH_LEN

typedef struct gw_idem gw_idem;

typedef struct gw_idem_opts {
    int64_t ttl_ms;            /* 0 = 24 h */
    uint32_t max_entries;      /* 0 = 10 000 */
    size_t max_bytes;          /* all stored answers, 0 = 64 MiB */
    size_t max_response_bytes; /* headers + body of one, 0 = 1 MiB */
    gw_store *store;           /* NULL: memory only */
    gw_store_clock_fn clock;   /* NULL: gw_store_now_ms */
    void *clock_ud;
} gw_idem_opts;

typedef struct gw_idem_response {
    int status;
    const char *headers; /* as given to complete; NUL-terminated too */
    size_t headers_len;
    const uint8_t *body; /* may be NULL when body_len is 0 */
    size_t body_len;
    int64_t created_at_ms;
    int64_t expires_at_ms;
} gw_idem_response;

enum gw_idem_result {
    GW_IDEM_MISS = 0,
    GW_IDEM_REPLAY = 1,
    GW_IDEM_CONFLICT = 2,
    GW_IDEM_IN_FLIGHT = 3,
};

/* SHA-256 over method, NUL, path, NUL, body: what makes two requests "the
 * same". path should include the query string. body may be NULL if len is
 * 0. AL_ECRYPTO if OpenSSL fails. */
int gw_idem_fingerprint(const char *method, const char *path, const void *body,
                        size_t len, uint8_t out[GW_IDEM_FP_LEN]);

/* opts may be NULL. *out is the caller's: gw_idem_free. */
int gw_idem_new(gw_idem **out, const gw_idem_opts *opts, al_error *err);
/* Frees the table; does not touch the store. */
void gw_idem_free(gw_idem *idem);
/* Loads the unexpired answers from the store (once, before serving) and
 * queues a purge of the expired ones. */
int gw_idem_load(gw_idem *idem, al_error *err);

/* Returns a gw_idem_result (MISS reserves the key), or AL_EINVAL for a key
 * that is empty, too long or not printable ASCII, AL_ELIMIT when no room
 * can be made, AL_ENOMEM. *replay is set for REPLAY only. */
int gw_idem_check(gw_idem *idem, const char *key,
                  const uint8_t fp[GW_IDEM_FP_LEN],
                  const gw_idem_response **replay);
/* Stores the answer to the reserved key (copied) and persists it. headers
 * is opaque text without NUL bytes (the HTTP layer's choice, e.g. lines of
 * "Name: value\r\n"); may be NULL when headers_len is 0. AL_ENOTFOUND when
 * the key is not reserved (it expired meanwhile), AL_ESTATE if it is
 * already completed, AL_EINVAL for a status outside 100..599, AL_ELIMIT
 * when the answer is larger than max_response_bytes: the key is released
 * then (logged), as for abort. */
int gw_idem_complete(gw_idem *idem, const char *key, int status,
                     const char *headers, size_t headers_len, const void *body,
                     size_t body_len);
/* Releases a reservation without storing anything. AL_ENOTFOUND if the key
 * is not reserved, AL_ESTATE if it is completed. */
int gw_idem_abort(gw_idem *idem, const char *key);

/* Drops expired answers and reservations; queues a purge of expired rows
 * when it dropped any. Returns how many. Run it from a timer. */
size_t gw_idem_sweep(gw_idem *idem);

typedef struct gw_idem_stats {
    uint64_t misses, replays, conflicts, in_flight;
    uint64_t completed, aborted, too_large, expired, bound_evictions;
    uint64_t store_errors;
    size_t entries, reserved, bytes;
} gw_idem_stats;

void gw_idem_get_stats(const gw_idem *idem, gw_idem_stats *out);

#endif
