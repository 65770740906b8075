/*
 * multistream-select 1.0, sans-I/O: bytes in, bytes out, no sockets.
 *
 * Every libp2p stream starts with it. A message is
 * uvarint(len) || text || '\n', where len counts the newline. Both sides
 * send the header "/multistream/1.0.0"; the initiator then proposes a
 * protocol, and the responder echoes it (selected) or answers "na".
 *
 * The initiator writes its header and first proposal at once, without
 * waiting for the peer's header (js-libp2p's responder stays silent until it
 * has read ours). Input may arrive in any fragmentation and may run on into
 * application data: al__mss_feed stops at the end of the negotiation and
 * says how many bytes it consumed; the rest belongs to the protocol.
 *
 * The state lives in the caller's struct (no allocation); protocol strings
 * given to the initiator are borrowed and must outlive the negotiation.
 */
#ifndef AL_MSS_H
#define AL_MSS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actorlib.h"

#define AL__MSS_HEADER "/multistream/1.0.0"
/* Longest protocol name, without the newline (js-libp2p's bound). */
#define AL__MSS_PROTO_MAX 1024
/* Proposals a responder answers with "na" before it gives up. */
#define AL__MSS_MAX_REJECTS 16

enum al__mss_role { AL__MSS_INITIATOR, AL__MSS_RESPONDER };

/* Results of al__mss_feed besides negative al_status codes. */
enum al__mss_result { AL__MSS_PENDING = 0, AL__MSS_SELECTED = 1 };

/* Why a negotiation failed (al__mss_failure). */
enum al__mss_fail {
    AL__MSS_FAIL_NONE = 0,
    AL__MSS_FAIL_VARINT,      /* bad length prefix: AL_EDECODE */
    AL__MSS_FAIL_NEWLINE,     /* message does not end in '\n': AL_EDECODE */
    AL__MSS_FAIL_HEADER,      /* first message is not the header: AL_EPROTO */
    AL__MSS_FAIL_TOO_LONG,    /* message longer than the bound: AL_ELIMIT */
    AL__MSS_FAIL_TOO_MANY,    /* too many rejected proposals: AL_ELIMIT */
    AL__MSS_FAIL_UNEXPECTED,  /* initiator got neither echo nor na: AL_EPROTO */
    AL__MSS_FAIL_UNSUPPORTED, /* every proposal refused:
                                 AL_E_UNSUPPORTED_PROTOCOLS */
};

/* Responder's question: is this protocol served? proto is NUL-terminated
 * and len bytes long (it may hold other NULs; compare with len). */
typedef bool (*al__mss_supported_fn)(const char *proto, size_t len, void *ud);

typedef struct al__mss {
    enum al__mss_role role;
    int state;
    enum al__mss_fail fail;
    int fail_code;
    /* Initiator: the proposals in order of preference (borrowed). */
    const char *const *protocols;
    size_t nprotocols;
    size_t current;
    /* Responder: the protocol table. */
    al__mss_supported_fn supported;
    void *ud;
    unsigned rejects;
    /* The message being read: length prefix and body, possibly partial. */
    size_t have;
    size_t prefix; /* bytes of the length prefix */
    size_t need;   /* total bytes of the message once the prefix is read */
    uint8_t msg[2 + AL__MSS_PROTO_MAX + 1];
    /* The selected protocol, NUL-terminated. */
    size_t selected_len;
    char selected[AL__MSS_PROTO_MAX + 1];
} al__mss;

/* al__mss_init_initiator starts a negotiation on a stream we opened and
 * appends our header and the first proposal to |out|. |protocols| are tried
 * in order on "na"; each must be 1..AL__MSS_PROTO_MAX bytes without '\n'.
 * Returns 0, AL_EINVAL for a bad list, or AL_ENOMEM. */
int al__mss_init_initiator(al__mss *m, const char *const *protocols, size_t n,
                           al_buf *out, al_error *err);

/* al__mss_init_responder prepares the answering side of a stream the peer
 * opened. Nothing is sent until the peer's header arrives. */
void al__mss_init_responder(al__mss *m, al__mss_supported_fn supported,
                            void *ud);

/* al__mss_feed consumes bytes from the peer and appends any answer to
 * |out|. *consumed gets the number of bytes of in[0..len) that belonged to
 * the negotiation. Returns
 *   AL__MSS_PENDING   all of |in| consumed, more is needed;
 *   AL__MSS_SELECTED  done; in[*consumed..len) is application data (after
 *                     that, further calls consume nothing and return
 *                     AL__MSS_SELECTED again);
 *   < 0               failed (see enum al__mss_fail for the codes); the
 *                     stream should be reset. Further calls return the same
 *                     code. */
int al__mss_feed(al__mss *m, const uint8_t *in, size_t len, size_t *consumed,
                 al_buf *out, al_error *err);

/* The selected protocol (NUL-terminated, borrowed from m) or NULL while not
 * selected; *len (may be NULL) gets its length. */
const char *al__mss_selected(const al__mss *m, size_t *len);
/* Initiator: the index in the proposal list of the selected protocol. */
size_t al__mss_selected_index(const al__mss *m);
enum al__mss_fail al__mss_failure(const al__mss *m);

/* Appends one multistream message (uvarint length, text, '\n') to out. */
int al__mss_write_message(al_buf *out, const char *text, size_t len);

#endif
