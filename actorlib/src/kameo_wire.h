/*
 * The /kameo/1 envelope: Kameo 0.14's SwarmRequest and SwarmResponse in
 * CBOR, exactly as cbor4ii writes serde's data model (DESIGN §5.4,
 * kameo.md A4-A7). Sans-I/O: one request or response value in a buffer.
 *
 * Encoding rules (what a Rust peer sends and expects):
 *   - an enum is externally tagged: a unit variant is its name as a text
 *     string; any other variant is a one-entry map {"Name": value};
 *   - a struct is a definite map with text keys in declaration order;
 *   - integers take the shortest form, lengths are definite;
 *   - Vec<u8> (payload, Ok bytes, HandlerError) is an ARRAY of uints;
 *   - ActorID is a byte string of u64 LE sequence || peer id bytes;
 *   - Option::None is null; Duration is {"secs": u64, "nanos": u32};
 *   - () is the empty array 80 (cbor4ii), e.g. Tell OK is
 *     a1 64 "Tell" a1 62 "Ok" 80.
 *
 * Decoding accepts what cbor4ii's serde deserializer accepts for these
 * types: keys in any order, unknown struct keys skipped (serde derive
 * ignores them, except inside Duration, which refuses them), missing
 * Option fields as None, indefinite-length strings, arrays and maps (but
 * not for the enum wrapper, which cbor4ii requires to be exactly a1, nor
 * for ActorID, which Kameo borrows), non-shortest integers up to the
 * type's width, null or undefined for None. It is more lenient in two
 * places (a byte string where Vec<u8> is expected; null as well as 80 for
 * ()) and stricter in one: bytes after the value are an error (cbor4ii's
 * from_slice ignores them; no Rust peer sends any).
 *
 * Memory: what decoding copies out (strings, byte vectors, nested LinkDied
 * stop reasons) goes into the caller's scratch area when one is given (a
 * typical Ask or its response then decodes without any allocation), the
 * rest into heap blocks the decoded struct owns. In all it is at most about
 * twice the input size (an N-element array needs at least N input bytes)
 * plus one small node per nested LinkDied stop reason.
 */
#ifndef AL_KAMEO_WIRE_H
#define AL_KAMEO_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actorlib.h"

/* libp2p request_response's cbor codec limits. */
#define AL__KW_REQUEST_MAX  (1024 * 1024)
#define AL__KW_RESPONSE_MAX (10 * 1024 * 1024)
/* Nested LinkDied reasons accepted (cbor4ii's depth limit allows ~125). */
#define AL__KW_STOP_DEPTH_MAX 100
/* An ActorID on the wire: sequence + optional peer id. */
#define AL__KW_ACTOR_ID_MAX (8 + AL_PEER_ID_MAX)

/* Byte and text fields. After decoding, data points into the scratch area
 * or into a heap block of the enclosing struct (text is NUL-terminated, len
 * excludes the NUL and the text may hold NULs of its own). For encoding,
 * the caller points data at memory it keeps. len == 0 allows data == NULL. */
typedef struct al__kw_bytes {
    uint8_t *data;
    size_t len;
} al__kw_bytes;

typedef struct al__kw_str {
    char *data;
    size_t len;
} al__kw_str;

/* A caller's area for decoding without allocation: an Ask with short
 * remote ids and a payload of a few dozen bytes fits, and so does its
 * response. */
#define AL__KW_SCRATCH 256
typedef union al__kw_scratch {
    max_align_t align;
    uint8_t bytes[AL__KW_SCRATCH];
} al__kw_scratch;

struct al__kw_blk;

/* Option<Duration>; nanos < 1e9. */
typedef struct al__kw_duration {
    bool some;
    uint64_t secs;
    uint32_t nanos;
} al__kw_duration;

enum al__kw_kind {
    AL__KW_ASK,
    AL__KW_TELL,
    AL__KW_LINK,
    AL__KW_UNLINK,
    AL__KW_SIGNAL_LINK_DIED,
    AL__KW_OUTBOUND_FAILURE, /* responses only; Kameo makes it locally */
};

/* Kameo 0.14's ActorStopReason. */
enum al__kw_stop_kind {
    AL__KW_STOP_NORMAL,
    AL__KW_STOP_KILLED,
    AL__KW_STOP_PANICKED,  /* panic: the PanicError's text */
    AL__KW_STOP_LINK_DIED, /* link_id, and inner: why that actor died */
    AL__KW_STOP_PEER_DISCONNECTED,
};

typedef struct al__kw_stop_reason {
    enum al__kw_stop_kind kind;
    al__kw_str panic;
    al_actor_id link_id;
    struct al__kw_stop_reason *inner; /* decoded: like the strings */
} al__kw_stop_reason;

/* Ask and Tell. reply_timeout is not sent with Tell. */
typedef struct al__kw_send {
    al_actor_id actor_id;
    al__kw_str actor_remote_id;
    al__kw_str message_remote_id;
    al__kw_bytes payload; /* MessagePack of the message */
    al__kw_duration mailbox_timeout;
    al__kw_duration reply_timeout;
    bool immediate;
} al__kw_send;

/* Link and Unlink. actor_id is the target (on the receiving node),
 * sibbling_id the actor on the sending node. sibbling_remote_id is not sent
 * with Unlink. ("sibbling" is Kameo's spelling, and it is on the wire.) */
typedef struct al__kw_link {
    al_actor_id actor_id;
    al__kw_str actor_remote_id;
    al_actor_id sibbling_id;
    al__kw_str sibbling_remote_id;
} al__kw_link;

typedef struct al__kw_link_died {
    al_actor_id dead_actor_id;
    al_actor_id notified_actor_id;
    al__kw_str notified_actor_remote_id;
    al__kw_stop_reason stop_reason;
} al__kw_link_died;

typedef struct al__kw_request {
    enum al__kw_kind kind; /* not AL__KW_OUTBOUND_FAILURE */
    union {
        al__kw_send send;           /* ASK, TELL */
        al__kw_link link;           /* LINK, UNLINK */
        al__kw_link_died link_died; /* SIGNAL_LINK_DIED */
    } u;
    struct al__kw_blk *blks; /* decoded: heap blocks owned */
} al__kw_request;

/* A response: Ok (status 0) or a RemoteSendError variant, as the AL_E_*
 * code that mirrors it (AL_E_ACTOR_NOT_RUNNING .. AL_E_UNSUPPORTED_PROTOCOLS).
 *   data:              Ask's Ok bytes (MessagePack reply) or HandlerError's
 *                      bytes (only Ask and Tell carry HandlerError: the other
 *                      kinds' error type is Infallible);
 *   actor_remote_id:   UnknownActor, UnknownMessage;
 *   message_remote_id: UnknownMessage;
 *   detail:            the String of SerializeMessage, DeserializeMessage,
 *                      SerializeReply, SerializeHandlerError,
 *                      DeserializeHandlerError.
 * OUTBOUND_FAILURE carries an error only. */
typedef struct al__kw_response {
    enum al__kw_kind kind;
    int status;
    al__kw_bytes data;
    al__kw_str actor_remote_id;
    al__kw_str message_remote_id;
    al__kw_str detail;
    struct al__kw_blk *blks; /* decoded: heap blocks owned */
} al__kw_response;

/* Append the CBOR of r to out. AL_EINVAL (with err) for a value a Rust peer
 * could not read: text that is not UTF-8, a peer id over 64 bytes, nanos
 * >= 1e9, a status that is no RemoteSendError variant or not allowed for
 * the kind, stop reasons nested too deep. On failure out->len is as it
 * was. */
int al__kw_request_encode(const al__kw_request *r, al_buf *out, al_error *err);
int al__kw_response_encode(const al__kw_response *r, al_buf *out,
                           al_error *err);

/* Decode one value filling *r, which the caller then owns (free it with the
 * matching free function, also after a failure: it is then empty). Nothing
 * in *r points into in. Returns 0, AL_EDECODE (err says what and where),
 * AL_ELIMIT for input over AL__KW_REQUEST_MAX / AL__KW_RESPONSE_MAX, or
 * AL_ENOMEM. */
int al__kw_request_decode(const uint8_t *in, size_t len, al__kw_request *r,
                          al_error *err);
int al__kw_response_decode(const uint8_t *in, size_t len, al__kw_response *r,
                           al_error *err);
/* The same, filling scratch (borrowed: it must outlive every use of *r)
 * before any heap block; scratch NULL is the plain decode. */
int al__kw_request_decode_in(const uint8_t *in, size_t len, al__kw_request *r,
                             al__kw_scratch *scratch, al_error *err);
int al__kw_response_decode_in(const uint8_t *in, size_t len, al__kw_response *r,
                              al__kw_scratch *scratch, al_error *err);

/* Free what a decode allocated and zero the struct (harmless on a struct
 * filled by hand for encoding). */
void al__kw_request_free(al__kw_request *r);
void al__kw_response_free(al__kw_response *r);

/* Deep equality (the fields the kind uses). */
bool al__kw_request_equal(const al__kw_request *a, const al__kw_request *b);
bool al__kw_response_equal(const al__kw_response *a, const al__kw_response *b);

/* Kameo's variant name for an AL_E_* status ("MailboxFull"), NULL for any
 * other code; and back (0 when the name is no variant). */
const char *al__kw_error_name(int status);
int al__kw_error_from_name(const char *name, size_t len);

/* Option<Duration> from milliseconds; negative (AL_NO_TIMEOUT) is None. */
al__kw_duration al__kw_duration_from_ms(int64_t ms);
/* Milliseconds (rounded up, saturating at INT64_MAX); None is
 * AL_NO_TIMEOUT. */
int64_t al__kw_duration_to_ms(al__kw_duration d);

#endif
