/* The error table and the one error body. */
#include <stdlib.h>
#include <string.h>

#include "errors.h"

static const gw_errinfo table[GW_E__COUNT] = {
    {GW_E_BAD_JSON, "BAD_JSON", 400, false,
     "the body is not one valid JSON value (details: line, column, reason)"},
    {GW_E_BAD_REQUEST, "BAD_REQUEST", 400, false,
     "a malformed path segment, header (X-Timeout-Ms, "
     "X-Mailbox-Timeout-Ms, Idempotency-Key) or query parameter"},
    {GW_E_UNAUTHORIZED, "UNAUTHORIZED", 401, false,
     "/admin without `Authorization: Bearer <token>`"},
    {GW_E_FORBIDDEN, "FORBIDDEN", 403, false,
     "/admin with a token that is not the configured one"},
    {GW_E_ADMIN_DISABLED, "ADMIN_DISABLED", 403, false,
     "/admin while no admin token is configured (and no --admin-open)"},
    {GW_E_NOT_FOUND, "NOT_FOUND", 404, false, "no such route"},
    {GW_E_ACTOR_NOT_FOUND, "ACTOR_NOT_FOUND", 404, false,
     "no actor is registered under the name (lookup found no record; "
     "Kameo's UnknownActor)"},
    {GW_E_MESSAGE_NOT_FOUND, "MESSAGE_NOT_FOUND", 404, false,
     "no schema for this message name or UUID for the actor's type, the "
     "message cannot be sent this way (a tell-only message on /ask or the "
     "reverse), or the actor does not handle it (UnknownMessage)"},
    {GW_E_METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED", 405, false,
     "the route exists for other methods (see the Allow header)"},
    {GW_E_ACTOR_TYPE_MISMATCH, "ACTOR_TYPE_MISMATCH", 409, false,
     "the actor behind the name is of another type than the message's "
     "(BadActorType)"},
    {GW_E_IDEMPOTENCY_CONFLICT, "IDEMPOTENCY_CONFLICT", 409, false,
     "the Idempotency-Key was used with another method, path or body"},
    {GW_E_IDEMPOTENCY_IN_FLIGHT, "IDEMPOTENCY_IN_FLIGHT", 409, true,
     "the first request with this Idempotency-Key has not answered yet"},
    {GW_E_PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE", 413, false,
     "the body is larger than --body-limit"},
    {GW_E_URI_TOO_LONG, "URI_TOO_LONG", 414, false,
     "the path is longer than 4096 bytes, or one of its parameters longer "
     "than 1024 bytes decoded"},
    {GW_E_UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE", 415, false,
     "Content-Type is not application/json"},
    {GW_E_SCHEMA_VIOLATION, "SCHEMA_VIOLATION", 422, false,
     "the body does not fit the message's schema (details: pointer, "
     "reason)"},
    {GW_E_HANDLER_ERROR, "HANDLER_ERROR", 422, false,
     "the actor's handler returned an error (details.error: the error "
     "decoded with the message's error schema; HandlerError)"},
    {GW_E_MESSAGE_REJECTED, "MESSAGE_REJECTED", 422, false,
     "the actor could not decode the message: its code and the registered "
     "schema disagree (DeserializeMessage)"},
    {GW_E_MAILBOX_FULL, "MAILBOX_FULL", 429, true,
     "the actor's mailbox is full (MailboxFull)"},
    {GW_E_TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS", 429, true,
     "the gateway is handling --max-inflight requests already"},
    {GW_E_INTERNAL, "INTERNAL", 500, false,
     "a bug or resource exhaustion in the gateway (SerializeMessage)"},
    {GW_E_BAD_REPLY, "BAD_REPLY", 502, false,
     "the actor's reply or error could not be read or does not fit the "
     "schema (SerializeReply, SerializeHandlerError, "
     "DeserializeHandlerError, an undecodable reply)"},
    {GW_E_PEER_UNSUPPORTED, "PEER_UNSUPPORTED", 502, false,
     "the actor's node does not speak the protocol (UnsupportedProtocols)"},
    {GW_E_ACTOR_UNAVAILABLE, "ACTOR_UNAVAILABLE", 503, true,
     "the actor is not running or stopped, also after resolving the name "
     "again (ActorNotRunning, ActorStopped)"},
    {GW_E_PEER_UNREACHABLE, "PEER_UNREACHABLE", 503, true,
     "the actor's node cannot be reached or the connection closed "
     "(DialFailure, ConnectionClosed)"},
    {GW_E_NOT_READY, "NOT_READY", 503, true,
     "the gateway is starting, reaches no peer of the swarm yet, or is "
     "shutting down "
     "(SwarmNotBootstrapped)"},
    {GW_E_REPLY_TIMEOUT, "REPLY_TIMEOUT", 504, false,
     "no reply within the timeout (X-Timeout-Ms or --timeout-ms; "
     "ReplyTimeout, NetworkTimeout)"},
    {GW_E_LOOKUP_TIMEOUT, "LOOKUP_TIMEOUT", 504, false,
     "resolving the actor's name in the swarm timed out"},
};

const gw_errinfo *gw_err_info(gw_err e)
{
    if ((unsigned)e >= GW_E__COUNT)
        e = GW_E_INTERNAL;
    return &table[e];
}

const gw_errinfo *gw_err_by_code(const char *code)
{
    for (size_t i = 0; i < GW_E__COUNT; i++)
        if (code && strcmp(table[i].code, code) == 0)
            return &table[i];
    return NULL;
}

/* Every RemoteSendError variant, in Kameo's order, plus the lookup
 * outcomes and the gateway's own undecodable-reply code. */
static const struct remote_row {
    int status;
    gw_remote_fail fail;
    const char *note;
} remote_rows[] = {
    {AL_E_ACTOR_NOT_RUNNING,
     {GW_E_ACTOR_UNAVAILABLE, true, true, true},
     "evict the name, resolve again, send once more"},
    {AL_E_ACTOR_STOPPED,
     {GW_E_ACTOR_UNAVAILABLE, true, true, true},
     "evict the name, resolve again, send once more"},
    {AL_E_UNKNOWN_ACTOR,
     {GW_E_ACTOR_NOT_FOUND, true, true, true},
     "evict the name, resolve again, send once more"},
    {AL_E_UNKNOWN_MESSAGE,
     {GW_E_MESSAGE_NOT_FOUND, false, false, true},
     "the actor does not handle the message"},
    {AL_E_BAD_ACTOR_TYPE,
     {GW_E_ACTOR_TYPE_MISMATCH, true, true, true},
     "evict the name, resolve again, send once more"},
    {AL_E_MAILBOX_FULL, {GW_E_MAILBOX_FULL, false, false, true}, ""},
    {AL_E_REPLY_TIMEOUT, {GW_E_REPLY_TIMEOUT, false, false, false}, ""},
    {AL_E_HANDLER_ERROR, {GW_E_HANDLER_ERROR, false, false, false}, ""},
    {AL_E_SERIALIZE_MESSAGE, {GW_E_INTERNAL, false, false, true}, ""},
    {AL_E_DESERIALIZE_MESSAGE, {GW_E_MESSAGE_REJECTED, false, false, true}, ""},
    {AL_E_SERIALIZE_REPLY, {GW_E_BAD_REPLY, false, false, false}, ""},
    {AL_E_SERIALIZE_HANDLER_ERROR, {GW_E_BAD_REPLY, false, false, false}, ""},
    {AL_E_DESERIALIZE_HANDLER_ERROR, {GW_E_BAD_REPLY, false, false, false}, ""},
    {AL_E_SWARM_NOT_BOOTSTRAPPED, {GW_E_NOT_READY, false, false, true}, ""},
    {AL_E_DIAL_FAILURE,
     {GW_E_PEER_UNREACHABLE, true, true, true},
     "nothing was sent: evict, resolve again, send once more"},
    {AL_E_NETWORK_TIMEOUT,
     {GW_E_REPLY_TIMEOUT, false, true, false},
     "may have been delivered: evict, never sent again"},
    {AL_E_CONNECTION_CLOSED,
     {GW_E_PEER_UNREACHABLE, false, true, false},
     "may have been delivered: evict, never sent again"},
    {AL_E_UNSUPPORTED_PROTOCOLS,
     {GW_E_PEER_UNSUPPORTED, false, true, true},
     ""},
    {AL_E_BAD_REPLY,
     {GW_E_BAD_REPLY, false, false, false},
     "(not a Kameo variant)"},
    {AL_ENOTFOUND,
     {GW_E_ACTOR_NOT_FOUND, false, false, true},
     "lookup: no record"},
    {AL_ETIMEDOUT,
     {GW_E_LOOKUP_TIMEOUT, false, false, true},
     "lookup timed out"},
};

#define NREMOTE (sizeof(remote_rows) / sizeof(remote_rows[0]))

gw_remote_fail gw_err_from_status(int status)
{
    for (size_t i = 0; i < NREMOTE; i++)
        if (remote_rows[i].status == status)
            return remote_rows[i].fail;
    return (gw_remote_fail){GW_E_INTERNAL, false, false, false};
}

char *gw_err_body_code(const char *code, const char *message,
                       const char *request_id, json_t *details, size_t *len)
{
    json_t *inner = json_object();
    json_t *root = json_object();
    char *text = NULL;
    if (!inner || !root)
        goto done;
    if (json_object_set_new(inner, "code", json_string(code)) ||
        json_object_set_new(inner, "message",
                            json_string(message ? message : "")))
        goto done;
    if (request_id &&
        json_object_set_new(inner, "request_id", json_string(request_id)))
        goto done;
    if (details) {
        int rc = json_object_set(inner, "details", details);
        if (rc)
            goto done;
    }
    if (json_object_set(root, "error", inner))
        goto done;
    text = json_dumps(root, JSON_COMPACT);
    if (text && len)
        *len = strlen(text);
done:
    json_decref(details);
    json_decref(inner);
    json_decref(root);
    return text;
}

char *gw_err_body(gw_err e, const char *message, const char *request_id,
                  json_t *details, size_t *len)
{
    const gw_errinfo *info = gw_err_info(e);
    return gw_err_body_code(info->code, message ? message : info->when,
                            request_id, details, len);
}

void gw_err_print_markdown(FILE *out)
{
    fprintf(out, "| status | code | Retry-After | when |\n"
                 "|---|---|---|---|\n");
    for (size_t i = 0; i < GW_E__COUNT; i++)
        fprintf(out, "| %d | `%s` | %s | %s |\n", table[i].status,
                table[i].code, table[i].retry_after ? "yes" : "",
                table[i].when);
    fprintf(out, "\n| remote failure (`details.kind`) | status | code | "
                 "name cache |\n"
                 "|---|---|---|---|\n");
    for (size_t i = 0; i < NREMOTE; i++) {
        const struct remote_row *r = &remote_rows[i];
        const gw_errinfo *info = gw_err_info(r->fail.err);
        fprintf(out, "| %s | %d | `%s` | %s |\n", al_status_name(r->status),
                info->status, info->code,
                r->note[0] ? r->note : (r->fail.evict ? "evict" : ""));
    }
}
