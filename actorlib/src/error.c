/* Error codes: names, sentences and the al_error filler. */
#include <stdarg.h>
#include <stdio.h>

#include "actorlib.h"

struct code_text {
    int code;
    const char *name;
    const char *text;
};

/* Remote-send names are Kameo's RemoteSendError variant names: the gateway
 * and the /kameo/1 codec rely on them being exactly these strings. */
static const struct code_text codes[] = {
    {AL_OK, "OK", "success"},
    {AL_ENOMEM, "ENOMEM", "out of memory"},
    {AL_EINVAL, "EINVAL", "invalid argument"},
    {AL_ESTATE, "ESTATE", "not valid in the current state"},
    {AL_EIO, "EIO", "input/output error"},
    {AL_ENOTFOUND, "ENOTFOUND", "not found"},
    {AL_ETIMEDOUT, "ETIMEDOUT", "timed out"},
    {AL_ECANCELED, "ECANCELED", "canceled"},
    {AL_EPROTO, "EPROTO", "protocol violation by peer"},
    {AL_ECRYPTO, "ECRYPTO", "cryptographic failure"},
    {AL_EDUPLICATE, "EDUPLICATE", "duplicate registration"},
    {AL_ELIMIT, "ELIMIT", "limit reached"},
    {AL_EDECODE, "EDECODE", "malformed input"},
    {AL_EPEERID, "EPEERID", "peer id mismatch"},
    {AL_E_ACTOR_NOT_RUNNING, "ActorNotRunning", "actor not running"},
    {AL_E_ACTOR_STOPPED, "ActorStopped", "actor stopped"},
    {AL_E_UNKNOWN_ACTOR, "UnknownActor", "unknown actor"},
    {AL_E_UNKNOWN_MESSAGE, "UnknownMessage", "unknown message"},
    {AL_E_BAD_ACTOR_TYPE, "BadActorType", "bad actor type"},
    {AL_E_MAILBOX_FULL, "MailboxFull", "mailbox full"},
    {AL_E_REPLY_TIMEOUT, "ReplyTimeout", "timed out waiting for reply"},
    {AL_E_HANDLER_ERROR, "HandlerError", "handler returned an error"},
    {AL_E_SERIALIZE_MESSAGE, "SerializeMessage", "failed to serialize message"},
    {AL_E_DESERIALIZE_MESSAGE, "DeserializeMessage",
     "failed to deserialize message"},
    {AL_E_SERIALIZE_REPLY, "SerializeReply", "failed to serialize reply"},
    {AL_E_SERIALIZE_HANDLER_ERROR, "SerializeHandlerError",
     "failed to serialize handler error"},
    {AL_E_DESERIALIZE_HANDLER_ERROR, "DeserializeHandlerError",
     "failed to deserialize handler error"},
    {AL_E_SWARM_NOT_BOOTSTRAPPED, "SwarmNotBootstrapped",
     "swarm not bootstrapped"},
    {AL_E_DIAL_FAILURE, "DialFailure", "failed to dial peer"},
    {AL_E_NETWORK_TIMEOUT, "NetworkTimeout", "network timeout"},
    {AL_E_CONNECTION_CLOSED, "ConnectionClosed", "connection closed"},
    {AL_E_UNSUPPORTED_PROTOCOLS, "UnsupportedProtocols",
     "peer does not support the protocol"},
    {AL_E_BAD_REPLY, "BadReply", "peer sent an undecodable reply"},
};

static const struct code_text *find(int code)
{
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        if (codes[i].code == code)
            return &codes[i];
    return NULL;
}

const char *al_strerror(int code)
{
    const struct code_text *c = find(code);
    return c ? c->text : "unknown error";
}

const char *al_status_name(int code)
{
    const struct code_text *c = find(code);
    return c ? c->name : "EUNKNOWN";
}

int al_error_set(al_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
    }
    return code;
}
