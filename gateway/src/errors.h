/*
 * The gateway's HTTP errors: one body for all of them,
 *
 *   {"error": {"code": "MAILBOX_FULL", "message": "...",
 *              "request_id": "...", "details": {...}}}
 *
 * and one table that gives each code its status, whether Retry-After is
 * sent, and when it happens. gateway/README.md documents the same table;
 * `gateway --print-errors` prints it so that a test can compare the two.
 *
 * Remote-send failures (Kameo's RemoteSendError, actorlib's AL_E_* codes)
 * map onto the table through gw_err_from_status; details.kind then names
 * the variant.
 */
#ifndef GW_ERRORS_H
#define GW_ERRORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "actorlib.h"

typedef enum gw_err {
    GW_E_BAD_JSON,
    GW_E_BAD_REQUEST,
    GW_E_UNAUTHORIZED,
    GW_E_FORBIDDEN,
    GW_E_ADMIN_DISABLED,
    GW_E_NOT_FOUND,
    GW_E_ACTOR_NOT_FOUND,
    GW_E_MESSAGE_NOT_FOUND,
    GW_E_METHOD_NOT_ALLOWED,
    GW_E_ACTOR_TYPE_MISMATCH,
    GW_E_IDEMPOTENCY_CONFLICT,
    GW_E_IDEMPOTENCY_IN_FLIGHT,
    GW_E_PAYLOAD_TOO_LARGE,
    GW_E_URI_TOO_LONG,
    GW_E_UNSUPPORTED_MEDIA_TYPE,
    GW_E_SCHEMA_VIOLATION,
    GW_E_HANDLER_ERROR,
    GW_E_MESSAGE_REJECTED,
    GW_E_MAILBOX_FULL,
    GW_E_TOO_MANY_REQUESTS,
    GW_E_INTERNAL,
    GW_E_BAD_REPLY,
    GW_E_PEER_UNSUPPORTED,
    GW_E_ACTOR_UNAVAILABLE,
    GW_E_PEER_UNREACHABLE,
    GW_E_NOT_READY,
    GW_E_REPLY_TIMEOUT,
    GW_E_LOOKUP_TIMEOUT,
    GW_E__COUNT
} gw_err;

typedef struct gw_errinfo {
    gw_err id;
    const char *code; /* "MAILBOX_FULL" */
    int status;       /* HTTP status */
    bool retry_after; /* a Retry-After header goes with it */
    const char *when; /* the documented meaning */
} gw_errinfo;

/* Never NULL (an out-of-range id gives INTERNAL's row). */
const gw_errinfo *gw_err_info(gw_err e);
/* The row of a code string, or NULL. */
const gw_errinfo *gw_err_by_code(const char *code);

/* What a remote-send failure means for the request. */
typedef struct gw_remote_fail {
    gw_err err;
    /* The message certainly did not reach a handler: after evicting the
     * name and resolving it again, sending once more is safe. */
    bool retry_safe;
    /* The cached name is suspect (the actor or its node is gone). */
    bool evict;
    /* No handler ran: an Idempotency-Key may be used again (its
     * reservation is released instead of storing this answer). */
    bool not_run;
} gw_remote_fail;

/* Maps an al_status from a lookup or a remote ask/tell. Codes outside the
 * remote-send set map to INTERNAL. */
gw_remote_fail gw_err_from_status(int status);

/* The error body as compact JSON text (malloc'd, NUL-terminated, *len
 * without the NUL). message may be NULL (the table's sentence is used);
 * request_id may be NULL (left out); details (may be NULL) is stolen.
 * Returns NULL only when out of memory. */
char *gw_err_body(gw_err e, const char *message, const char *request_id,
                  json_t *details, size_t *len);
/* The same with a free-form code and status (the registry's Confluent
 * codes go in details.error_code instead; see admin.c). */
char *gw_err_body_code(const char *code, const char *message,
                       const char *request_id, json_t *details, size_t *len);

/* Seconds for Retry-After on 429 and 503. */
#define GW_RETRY_AFTER_S 1

/* The documented table, markdown, as gateway/README.md carries it. */
void gw_err_print_markdown(FILE *out);

#endif
