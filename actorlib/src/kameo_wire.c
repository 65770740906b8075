/* The /kameo/1 CBOR envelope (see kameo_wire.h). A small bounded CBOR
 * reader and writer; the shapes of Kameo's structs are tables of fields so
 * that encoding and decoding cannot drift apart. */
#include "kameo_wire.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"

#define NANOS_PER_SEC 1000000000u
/* cbor4ii's slice reader allows 256 nested items. */
#define SKIP_DEPTH_MAX 256

enum major {
    M_UINT = 0,
    M_NEGINT = 1,
    M_BYTES = 2,
    M_TEXT = 3,
    M_ARRAY = 4,
    M_MAP = 5,
    M_TAG = 6,
    M_SIMPLE = 7,
};

#define CBOR_FALSE     0xf4
#define CBOR_TRUE      0xf5
#define CBOR_NULL      0xf6
#define CBOR_UNDEFINED 0xf7
#define CBOR_BREAK     0xff
#define CBOR_MAP1      0xa1
#define CBOR_EMPTY_ARR 0x80

/* Widest additional information cbor4ii accepts for u8, u32 and u64: it
 * takes non-shortest forms, but not wider than the type. */
#define AI_U8  24
#define AI_U32 26
#define AI_U64 27

/* ------------------------------------------------------------ the shapes */

enum ftype {
    F_ACTOR_ID,     /* al_actor_id */
    F_STR,          /* al__kw_str */
    F_BYTES,        /* al__kw_bytes, a Vec<u8> */
    F_OPT_DURATION, /* al__kw_duration */
    F_BOOL,         /* bool */
    F_STOP,         /* al__kw_stop_reason, embedded */
    F_STOP_BOX,     /* al__kw_stop_reason *, Box<ActorStopReason> */
};

/* Names are ASCII literals: their length is known when compiling, and
 * they need no UTF-8 check on either side. */
struct field {
    const char *name;
    uint8_t len;
    enum ftype type;
    size_t offset;
};

#define FIELD(type_, member_, ftype_)                                          \
    {                                                                          \
#member_, sizeof(#member_) - 1, ftype_, offsetof(type_, member_)       \
    }
#define NAME(s)  s, sizeof(s) - 1
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

struct name {
    const char *s;
    uint8_t len;
};

/* Field order is declaration order in Kameo 0.14: the encoder writes it. */
static const struct field ask_fields[] = {
    FIELD(al__kw_send, actor_id, F_ACTOR_ID),
    FIELD(al__kw_send, actor_remote_id, F_STR),
    FIELD(al__kw_send, message_remote_id, F_STR),
    FIELD(al__kw_send, payload, F_BYTES),
    FIELD(al__kw_send, mailbox_timeout, F_OPT_DURATION),
    FIELD(al__kw_send, reply_timeout, F_OPT_DURATION),
    FIELD(al__kw_send, immediate, F_BOOL),
};

static const struct field tell_fields[] = {
    FIELD(al__kw_send, actor_id, F_ACTOR_ID),
    FIELD(al__kw_send, actor_remote_id, F_STR),
    FIELD(al__kw_send, message_remote_id, F_STR),
    FIELD(al__kw_send, payload, F_BYTES),
    FIELD(al__kw_send, mailbox_timeout, F_OPT_DURATION),
    FIELD(al__kw_send, immediate, F_BOOL),
};

static const struct field link_fields[] = {
    FIELD(al__kw_link, actor_id, F_ACTOR_ID),
    FIELD(al__kw_link, actor_remote_id, F_STR),
    FIELD(al__kw_link, sibbling_id, F_ACTOR_ID),
    FIELD(al__kw_link, sibbling_remote_id, F_STR),
};

static const struct field unlink_fields[] = {
    FIELD(al__kw_link, actor_id, F_ACTOR_ID),
    FIELD(al__kw_link, actor_remote_id, F_STR),
    FIELD(al__kw_link, sibbling_id, F_ACTOR_ID),
};

static const struct field link_died_fields[] = {
    FIELD(al__kw_link_died, dead_actor_id, F_ACTOR_ID),
    FIELD(al__kw_link_died, notified_actor_id, F_ACTOR_ID),
    FIELD(al__kw_link_died, notified_actor_remote_id, F_STR),
    FIELD(al__kw_link_died, stop_reason, F_STOP),
};

/* ActorStopReason::LinkDied { id, reason }. */
static const struct field stop_link_died_fields[] = {
    {NAME("id"), F_ACTOR_ID, offsetof(al__kw_stop_reason, link_id)},
    {NAME("reason"), F_STOP_BOX, offsetof(al__kw_stop_reason, inner)},
};

static const struct field unknown_actor_fields[] = {
    FIELD(al__kw_response, actor_remote_id, F_STR),
};

static const struct field unknown_message_fields[] = {
    FIELD(al__kw_response, actor_remote_id, F_STR),
    FIELD(al__kw_response, message_remote_id, F_STR),
};

struct variant {
    struct name name;
    const struct field *fields; /* struct variants */
    size_t nfields;
};

/* SwarmRequest's variants, indexed by enum al__kw_kind. */
static const struct variant request_variants[] = {
    {{NAME("Ask")}, ask_fields, COUNT(ask_fields)},
    {{NAME("Tell")}, tell_fields, COUNT(tell_fields)},
    {{NAME("Link")}, link_fields, COUNT(link_fields)},
    {{NAME("Unlink")}, unlink_fields, COUNT(unlink_fields)},
    {{NAME("SignalLinkDied")}, link_died_fields, COUNT(link_died_fields)},
};

/* SwarmResponse's variants, indexed by enum al__kw_kind. */
static const struct name response_names[] = {
    {NAME("Ask")},    {NAME("Tell")},           {NAME("Link")},
    {NAME("Unlink")}, {NAME("SignalLinkDied")}, {NAME("OutboundFailure")},
};

/* ActorStopReason's variants, indexed by enum al__kw_stop_kind. */
static const struct name stop_names[] = {
    {NAME("Normal")},   {NAME("Killed")},           {NAME("Panicked")},
    {NAME("LinkDied")}, {NAME("PeerDisconnected")},
};

static const struct name result_names[] = {{NAME("Ok")}, {NAME("Err")}};

enum eshape { E_UNIT, E_UNKNOWN_ACTOR, E_UNKNOWN_MESSAGE, E_BYTES, E_TEXT };

static const struct error_variant {
    struct name name;
    int status;
    enum eshape shape;
} error_variants[] = {
    {{NAME("ActorNotRunning")}, AL_E_ACTOR_NOT_RUNNING, E_UNIT},
    {{NAME("ActorStopped")}, AL_E_ACTOR_STOPPED, E_UNIT},
    {{NAME("UnknownActor")}, AL_E_UNKNOWN_ACTOR, E_UNKNOWN_ACTOR},
    {{NAME("UnknownMessage")}, AL_E_UNKNOWN_MESSAGE, E_UNKNOWN_MESSAGE},
    {{NAME("BadActorType")}, AL_E_BAD_ACTOR_TYPE, E_UNIT},
    {{NAME("MailboxFull")}, AL_E_MAILBOX_FULL, E_UNIT},
    {{NAME("ReplyTimeout")}, AL_E_REPLY_TIMEOUT, E_UNIT},
    {{NAME("HandlerError")}, AL_E_HANDLER_ERROR, E_BYTES},
    {{NAME("SerializeMessage")}, AL_E_SERIALIZE_MESSAGE, E_TEXT},
    {{NAME("DeserializeMessage")}, AL_E_DESERIALIZE_MESSAGE, E_TEXT},
    {{NAME("SerializeReply")}, AL_E_SERIALIZE_REPLY, E_TEXT},
    {{NAME("SerializeHandlerError")}, AL_E_SERIALIZE_HANDLER_ERROR, E_TEXT},
    {{NAME("DeserializeHandlerError")}, AL_E_DESERIALIZE_HANDLER_ERROR, E_TEXT},
    {{NAME("SwarmNotBootstrapped")}, AL_E_SWARM_NOT_BOOTSTRAPPED, E_UNIT},
    {{NAME("DialFailure")}, AL_E_DIAL_FAILURE, E_UNIT},
    {{NAME("NetworkTimeout")}, AL_E_NETWORK_TIMEOUT, E_UNIT},
    {{NAME("ConnectionClosed")}, AL_E_CONNECTION_CLOSED, E_UNIT},
    {{NAME("UnsupportedProtocols")}, AL_E_UNSUPPORTED_PROTOCOLS, E_UNIT},
};

static bool name_is(const struct name *n, const char *p, size_t len)
{
    return n->len == len && memcmp(n->s, p, len) == 0;
}

static const struct error_variant *error_by_status(int status)
{
    for (size_t i = 0; i < COUNT(error_variants); i++)
        if (error_variants[i].status == status)
            return &error_variants[i];
    return NULL;
}

static const struct error_variant *error_by_name(const char *name, size_t len)
{
    for (size_t i = 0; i < COUNT(error_variants); i++)
        if (name_is(&error_variants[i].name, name, len))
            return &error_variants[i];
    return NULL;
}

const char *al__kw_error_name(int status)
{
    const struct error_variant *e = error_by_status(status);
    return e ? e->name.s : NULL;
}

int al__kw_error_from_name(const char *name, size_t len)
{
    const struct error_variant *e = error_by_name(name, len);
    return e ? e->status : 0;
}

/* Only Ask and Tell carry RemoteSendError<Vec<u8>>; the other responses
 * use RemoteSendError<Infallible>, whose HandlerError cannot exist. */
static bool has_handler_error(enum al__kw_kind kind)
{
    return kind == AL__KW_ASK || kind == AL__KW_TELL;
}

/* ------------------------------------------------------------ durations */

al__kw_duration al__kw_duration_from_ms(int64_t ms)
{
    al__kw_duration d = {0};
    if (ms < 0)
        return d;
    d.some = true;
    d.secs = (uint64_t)ms / 1000;
    d.nanos = (uint32_t)((uint64_t)ms % 1000) * 1000000u;
    return d;
}

int64_t al__kw_duration_to_ms(al__kw_duration d)
{
    if (!d.some)
        return AL_NO_TIMEOUT;
    uint64_t ms_frac = (d.nanos + 999999u) / 1000000u;
    if (d.secs > (uint64_t)(INT64_MAX - 1000) / 1000)
        return INT64_MAX;
    return (int64_t)(d.secs * 1000 + ms_frac);
}

/* ------------------------------------------------------------ memory */

/* A heap block of decoded data, filled from the front. */
struct al__kw_blk {
    struct al__kw_blk *next;
    size_t used, cap;
    max_align_t data[];
};

#define BLK_MIN 4096

/* Where a decode puts what it copies out: the caller's scratch area, then
 * heap blocks owned by the decoded struct (*blks). */
struct mem {
    uint8_t *scratch;
    size_t used, cap;
    struct al__kw_blk **blks;
};

/* n bytes aligned to align (a power of two); NULL when out of memory.
 * Nothing moves once handed out. */
static void *mem_alloc(struct mem *m, size_t n, size_t align)
{
    size_t off = (m->used + align - 1) & ~(align - 1);
    if (m->scratch && off <= m->cap && n <= m->cap - off) {
        m->used = off + n;
        return m->scratch + off;
    }
    struct al__kw_blk *b = *m->blks;
    if (b) {
        off = (b->used + align - 1) & ~(align - 1);
        if (off <= b->cap && n <= b->cap - off) {
            b->used = off + n;
            return (uint8_t *)b->data + off;
        }
    }
    size_t cap = n > BLK_MIN ? n : BLK_MIN;
    b = malloc(sizeof(*b) + cap);
    if (!b)
        return NULL;
    b->cap = cap;
    b->used = n;
    b->next = *m->blks;
    *m->blks = b;
    return b->data;
}

static void blks_free(struct al__kw_blk **blks)
{
    while (*blks) {
        struct al__kw_blk *b = *blks;
        *blks = b->next;
        free(b);
    }
}

void al__kw_request_free(al__kw_request *r)
{
    blks_free(&r->blks);
    memset(r, 0, sizeof(*r));
}

void al__kw_response_free(al__kw_response *r)
{
    blks_free(&r->blks);
    memset(r, 0, sizeof(*r));
}

/* ------------------------------------------------------------ reading */

struct rd {
    const uint8_t *start;
    const uint8_t *p;
    const uint8_t *end;
    struct mem *mem;
    al_error *err;
};

__attribute__((format(printf, 2, 3))) static int bad(struct rd *r,
                                                     const char *fmt, ...)
{
    if (r->err) {
        char what[AL_ERROR_MSG];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        al_error_set(r->err, AL_EDECODE, "kameo cbor, byte %zu: %s",
                     (size_t)(r->p - r->start), what);
    }
    return AL_EDECODE;
}

static int nomem(struct rd *r)
{
    return al_error_set(r->err, AL_ENOMEM, "out of memory");
}

static size_t remaining(const struct rd *r)
{
    return (size_t)(r->end - r->p);
}

static int peek(const struct rd *r)
{
    return r->p < r->end ? *r->p : -1;
}

struct item {
    uint8_t major;
    uint8_t ai;
    bool indef;
    uint64_t val;
};

/* Reads an item's initial byte and argument. Indefinite lengths are
 * allowed where CBOR allows them (and the break code, major 7 / 31). */
static int read_head(struct rd *r, struct item *it)
{
    if (r->p >= r->end)
        return bad(r, "truncated");
    uint8_t b = *r->p++;
    it->major = b >> 5;
    it->ai = b & 31;
    it->indef = false;
    it->val = it->ai;
    if (it->ai < 24)
        return 0;
    if (it->ai <= 27) {
        size_t n = (size_t)1 << (it->ai - 24);
        if (remaining(r) < n)
            return bad(r, "truncated");
        it->val = 0;
        for (size_t i = 0; i < n; i++)
            it->val = it->val << 8 | *r->p++;
        return 0;
    }
    if (it->ai == 31 && it->major >= M_BYTES && it->major != M_TAG) {
        it->indef = true;
        return 0;
    }
    return bad(r, "invalid initial byte 0x%02x", b);
}

static int read_uint(struct rd *r, int max_ai, uint64_t *v, const char *what)
{
    struct item it;
    int rc = read_head(r, &it);
    if (rc)
        return rc;
    if (it.major != M_UINT || it.ai > max_ai)
        return bad(r, "%s: expected an unsigned integer of at most %d bytes",
                   what, 1 << (max_ai - 24));
    *v = it.val;
    return 0;
}

static int read_bool(struct rd *r, bool *v, const char *what)
{
    int c = peek(r);
    if (c != CBOR_FALSE && c != CBOR_TRUE)
        return bad(r, "%s: expected a bool", what);
    r->p++;
    *v = c == CBOR_TRUE;
    return 0;
}

/* Rust's () as cbor4ii writes it (80); serde_cbor's null is taken too. */
static int read_unit(struct rd *r, const char *what)
{
    int c = peek(r);
    if (c != CBOR_EMPTY_ARR && c != CBOR_NULL)
        return bad(r, "%s: expected () (an empty array)", what);
    r->p++;
    return 0;
}

/* A text string seen in place (definite) or gathered from chunks (own,
 * malloc). Not yet checked for UTF-8: see text_check. */
struct text {
    const char *p;
    size_t len;
    char *own;
};

static void text_release(struct text *t)
{
    if (t->own)
        free(t->own);
    t->own = NULL;
    t->p = NULL;
    t->len = 0;
}

/* Gathers the definite chunks of an indefinite string of |major| into b. */
static int read_chunks(struct rd *r, int major, al_buf *b, const char *what)
{
    for (;;) {
        if (peek(r) == CBOR_BREAK) {
            r->p++;
            return 0;
        }
        struct item c;
        int rc = read_head(r, &c);
        if (rc)
            return rc;
        if (c.major != major || c.indef)
            return bad(r, "%s: bad chunk in an indefinite string", what);
        if (c.val > remaining(r))
            return bad(r, "%s: truncated", what);
        if (al_buf_append(b, r->p, (size_t)c.val))
            return nomem(r);
        r->p += c.val;
    }
}

/* Reads a text string without checking its UTF-8: keys and variant names
 * are compared with ASCII names first, and only a text that matches none
 * needs the check (text_check) to tell a bad string from an unknown one. */
static int read_text_raw(struct rd *r, struct text *t, const char *what)
{
    memset(t, 0, sizeof(*t));
    struct item it;
    int rc = read_head(r, &it);
    if (rc)
        return rc;
    if (it.major != M_TEXT)
        return bad(r, "%s: expected a text string", what);
    if (!it.indef) {
        if (it.val > remaining(r))
            return bad(r, "%s: truncated", what);
        t->p = (const char *)r->p;
        t->len = (size_t)it.val;
        r->p += it.val;
        return 0;
    }
    al_buf b = {0};
    rc = read_chunks(r, M_TEXT, &b, what);
    if (rc == 0 && al_buf_append(&b, "", 1))
        rc = nomem(r);
    if (rc) {
        al_buf_free(&b);
        return rc;
    }
    t->own = (char *)b.data;
    t->p = t->own;
    t->len = b.len - 1;
    return 0;
}

static int text_check(struct rd *r, struct text *t, const char *what)
{
    if (al__utf8_valid((const uint8_t *)t->p, t->len))
        return 0;
    text_release(t);
    return bad(r, "%s: text is not UTF-8", what);
}

/* A variant or key that matched no name: a bad string, or unknown. */
static int text_unknown(struct rd *r, struct text *t, const char *what,
                        const char *why)
{
    int rc = text_check(r, t, what);
    if (rc == 0) {
        text_release(t);
        rc = bad(r, "%s: %s", what, why);
    }
    return rc;
}

/* A text field: checked, copied into the store with a NUL. */
static int read_string(struct rd *r, al__kw_str *out, const char *what)
{
    struct text t;
    int rc = read_text_raw(r, &t, what);
    if (rc == 0)
        rc = text_check(r, &t, what);
    if (rc)
        return rc;
    char *s = mem_alloc(r->mem, t.len + 1, 1);
    if (!s) {
        text_release(&t);
        return nomem(r);
    }
    if (t.len)
        memcpy(s, t.p, t.len);
    s[t.len] = '\0';
    out->data = s;
    out->len = t.len;
    text_release(&t);
    return 0;
}

/* A copy of b[0..len) in the store. */
static int keep_bytes(struct rd *r, al__kw_bytes *out, const uint8_t *b,
                      size_t len)
{
    out->data = NULL;
    out->len = len;
    if (len == 0)
        return 0;
    out->data = mem_alloc(r->mem, len, 1);
    if (!out->data)
        return nomem(r);
    memcpy(out->data, b, len);
    return 0;
}

/* The elements of a definite array of u8 (0..23 or 18 xx) into dst. */
static int read_u8_elements(struct rd *r, uint8_t *dst, uint64_t n,
                            const char *what)
{
    const uint8_t *p = r->p, *end = r->end;
    for (uint64_t i = 0; i < n; i++) {
        if (p < end && *p < 24) {
            dst[i] = *p++;
        } else if (end - p >= 2 && *p == 0x18) {
            dst[i] = p[1];
            p += 2;
        } else {
            /* Let the general reader name the problem. */
            r->p = p;
            uint64_t v;
            int rc = read_uint(r, AI_U8, &v, what);
            if (rc)
                return rc;
            return bad(r, "%s: internal: element not read", what);
        }
    }
    r->p = p;
    return 0;
}

/* Vec<u8>: an array of u8 (0..23 or 18 xx). A byte string is taken too. */
static int read_byte_vec(struct rd *r, al__kw_bytes *out, const char *what)
{
    struct item it;
    int rc = read_head(r, &it);
    if (rc)
        return rc;
    if (it.major == M_ARRAY && !it.indef) {
        /* Each element takes at least one input byte: this bounds the
         * allocation by the input. */
        if (it.val > remaining(r))
            return bad(r, "%s: array longer than the input", what);
        out->len = (size_t)it.val;
        out->data = NULL;
        if (it.val == 0)
            return 0;
        out->data = mem_alloc(r->mem, (size_t)it.val, 1);
        if (!out->data)
            return nomem(r);
        return read_u8_elements(r, out->data, it.val, what);
    }
    if (it.major == M_BYTES && !it.indef) {
        if (it.val > remaining(r))
            return bad(r, "%s: truncated", what);
        rc = keep_bytes(r, out, r->p, (size_t)it.val);
        r->p += it.val;
        return rc;
    }
    if (it.major != M_BYTES && it.major != M_ARRAY)
        return bad(r, "%s: expected an array of bytes", what);
    /* Indefinite forms: gathered first, then kept. */
    al_buf b = {0};
    if (it.major == M_BYTES) {
        rc = read_chunks(r, M_BYTES, &b, what);
    } else {
        for (;;) {
            if (peek(r) == CBOR_BREAK) {
                r->p++;
                break;
            }
            uint64_t v = 0;
            rc = read_uint(r, AI_U8, &v, what);
            if (rc)
                break;
            uint8_t byte = (uint8_t)v;
            if (al_buf_append(&b, &byte, 1)) {
                rc = nomem(r);
                break;
            }
        }
    }
    if (rc == 0)
        rc = keep_bytes(r, out, b.data, b.len);
    al_buf_free(&b);
    return rc;
}

/* Kameo deserializes ActorID as a borrowed &[u8]: a definite byte string
 * of u64 LE sequence and peer id bytes. */
static int read_actor_id(struct rd *r, al_actor_id *id, const char *what)
{
    struct item it;
    int rc = read_head(r, &it);
    if (rc)
        return rc;
    if (it.major != M_BYTES || it.indef)
        return bad(r, "%s: expected a definite byte string", what);
    if (it.val < 8 || it.val > AL__KW_ACTOR_ID_MAX)
        return bad(r, "%s: actor id of %llu bytes", what,
                   (unsigned long long)it.val);
    if (it.val > remaining(r))
        return bad(r, "%s: truncated", what);
    uint64_t seq = 0;
    for (int i = 0; i < 8; i++)
        seq |= (uint64_t)r->p[i] << (8 * i);
    id->seq = seq;
    id->peer.len = (uint8_t)(it.val - 8);
    memcpy(id->peer.bytes, r->p + 8, id->peer.len);
    r->p += it.val;
    return 0;
}

/* Skips one value of an unknown field, as cbor4ii's IgnoredAny does: any
 * well-formed item except simple values other than false, true, null,
 * undefined and floats. */
static int skip_any(struct rd *r, unsigned depth)
{
    if (depth > SKIP_DEPTH_MAX)
        return bad(r, "nested too deep");
    struct item it;
    int rc = read_head(r, &it);
    if (rc)
        return rc;
    switch (it.major) {
    case M_UINT:
    case M_NEGINT:
        return 0;
    case M_BYTES:
    case M_TEXT:
        if (it.indef) {
            for (;;) {
                if (peek(r) == CBOR_BREAK) {
                    r->p++;
                    return 0;
                }
                struct item c;
                rc = read_head(r, &c);
                if (rc)
                    return rc;
                if (c.major != it.major || c.indef)
                    return bad(r, "bad chunk in an indefinite string");
                if (c.val > remaining(r))
                    return bad(r, "truncated");
                r->p += c.val;
            }
        }
        if (it.val > remaining(r))
            return bad(r, "truncated");
        r->p += it.val;
        return 0;
    case M_ARRAY:
    case M_MAP: {
        int per = it.major == M_MAP ? 2 : 1;
        for (uint64_t i = 0; it.indef || i < it.val; i++) {
            if (it.indef && peek(r) == CBOR_BREAK) {
                r->p++;
                return 0;
            }
            for (int k = 0; k < per; k++)
                if ((rc = skip_any(r, depth + 1)))
                    return rc;
        }
        return 0;
    }
    case M_TAG:
        return skip_any(r, depth + 1);
    default:
        if ((it.ai >= 20 && it.ai <= 23) || (it.ai >= 25 && it.ai <= 27))
            return 0;
        return bad(r, "unsupported simple value");
    }
}

struct map_it {
    bool indef;
    uint64_t left;
};

static int map_begin(struct rd *r, struct map_it *m, const char *what)
{
    struct item it;
    int rc = read_head(r, &it);
    if (rc)
        return rc;
    if (it.major != M_MAP)
        return bad(r, "%s: expected a map", what);
    m->indef = it.indef;
    m->left = it.val;
    return 0;
}

/* 1 when another entry follows, 0 at the end of the map (consumed). */
static int map_more(struct rd *r, struct map_it *m)
{
    if (m->indef) {
        if (peek(r) == CBOR_BREAK) {
            r->p++;
            return 0;
        }
        return 1;
    }
    if (m->left == 0)
        return 0;
    m->left--;
    return 1;
}

/* 1 with the next key in *key (unchecked, see read_text_raw), 0 at the
 * end of the map, < 0 on error. */
static int map_next(struct rd *r, struct map_it *m, struct text *key,
                    const char *what)
{
    if (!map_more(r, m))
        return 0;
    int rc = read_text_raw(r, key, what);
    return rc ? rc : 1;
}

/* True, and the key consumed, when the next item is f's name as a short
 * definite text string (how every encoder writes keys). */
static bool key_is(struct rd *r, const struct field *f)
{
    if (f->len >= 24 || remaining(r) <= f->len ||
        r->p[0] != (uint8_t)(M_TEXT << 5 | f->len) ||
        memcmp(r->p + 1, f->name, f->len) != 0)
        return false;
    r->p += 1 + f->len;
    return true;
}

/* An externally tagged enum: a text string names a unit variant; the map
 * form must be exactly a1 (cbor4ii's check) followed by the name. The name
 * is unchecked (see read_text_raw). */
static int enum_begin(struct rd *r, struct text *name, bool *has_value,
                      const char *what)
{
    int c = peek(r);
    if (c == CBOR_MAP1) {
        r->p++;
        *has_value = true;
    } else if (c >= 0 && c >> 5 == M_TEXT) {
        *has_value = false;
    } else {
        return bad(r, "%s: expected an enum (text or one-entry map)", what);
    }
    return read_text_raw(r, name, what);
}

static int find_name(const struct text *t, const struct name *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (name_is(&names[i], t->p, t->len))
            return (int)i;
    return -1;
}

static int variant_value_check(struct rd *r, const struct text *name,
                               bool has_value, bool wants_value,
                               const char *what)
{
    if (has_value == wants_value)
        return 0;
    return bad(r,
               wants_value ? "%s: variant %.*s needs a value"
                           : "%s: unit variant %.*s given a value",
               what, (int)(name->len > 64 ? 64 : name->len), name->p);
}

/* The enum's variant among names: its index, or < 0 (an error) after
 * releasing name. */
static int variant_of(struct rd *r, struct text *name, bool has_value,
                      const struct name *names, size_t n,
                      bool (*wants_value)(int), const char *what,
                      const char *unknown)
{
    int i = find_name(name, names, n);
    if (i < 0)
        return text_unknown(r, name, what, unknown);
    int rc = variant_value_check(r, name, has_value, wants_value(i), what);
    text_release(name);
    return rc ? rc : i;
}

static int read_opt_duration(struct rd *r, al__kw_duration *d, const char *what)
{
    memset(d, 0, sizeof(*d));
    int c = peek(r);
    if (c == CBOR_NULL || c == CBOR_UNDEFINED) {
        r->p++;
        return 0;
    }
    struct map_it m = {false, 0};
    int rc = map_begin(r, &m, what);
    if (rc)
        return rc;
    bool have_secs = false, have_nanos = false;
    uint64_t secs = 0, nanos = 0;
    struct text k;
    while ((rc = map_next(r, &m, &k, what)) == 1) {
        /* serde's Duration refuses unknown and duplicate fields. */
        if (k.len == 4 && memcmp(k.p, "secs", 4) == 0 && !have_secs) {
            have_secs = true;
            rc = read_uint(r, AI_U64, &secs, "secs");
        } else if (k.len == 5 && memcmp(k.p, "nanos", 5) == 0 && !have_nanos) {
            have_nanos = true;
            rc = read_uint(r, AI_U32, &nanos, "nanos");
        } else {
            rc = text_unknown(r, &k, what,
                              "unknown or duplicate Duration field");
        }
        text_release(&k);
        if (rc)
            return rc;
    }
    if (rc < 0)
        return rc;
    if (!have_secs || !have_nanos)
        return bad(r, "%s: missing field `%s`", what,
                   have_secs ? "nanos" : "secs");
    /* Duration::new carries whole seconds out of nanos; serde checks that
     * this cannot overflow. */
    uint64_t carry = nanos / NANOS_PER_SEC;
    if (secs > UINT64_MAX - carry)
        return bad(r, "%s: overflow deserializing Duration", what);
    d->some = true;
    d->secs = secs + carry;
    d->nanos = (uint32_t)(nanos % NANOS_PER_SEC);
    return 0;
}

static int read_stop_reason(struct rd *r, al__kw_stop_reason *s,
                            unsigned depth);

static int read_field(struct rd *r, const struct field *f, void *base,
                      unsigned depth)
{
    void *p = (char *)base + f->offset;
    switch (f->type) {
    case F_ACTOR_ID:
        return read_actor_id(r, p, f->name);
    case F_STR:
        return read_string(r, p, f->name);
    case F_BYTES:
        return read_byte_vec(r, p, f->name);
    case F_OPT_DURATION:
        return read_opt_duration(r, p, f->name);
    case F_BOOL:
        return read_bool(r, p, f->name);
    case F_STOP:
        return read_stop_reason(r, p, depth);
    case F_STOP_BOX: {
        al__kw_stop_reason **box = p;
        *box = mem_alloc(r->mem, sizeof(**box), _Alignof(al__kw_stop_reason));
        if (!*box)
            return nomem(r);
        memset(*box, 0, sizeof(**box));
        return read_stop_reason(r, *box, depth + 1);
    }
    }
    return bad(r, "internal: unknown field type");
}

/* The field a key names, or n. Peers write fields in declaration order, so
 * the one after the previous match is tried first. */
static size_t field_index(const struct field *f, size_t n, size_t hint,
                          const struct text *k)
{
    if (hint < n && f[hint].len == k->len &&
        memcmp(f[hint].name, k->p, k->len) == 0)
        return hint;
    for (size_t i = 0; i < n; i++)
        if (f[i].len == k->len && memcmp(f[i].name, k->p, k->len) == 0)
            return i;
    return n;
}

/* A struct as serde derive reads it: a map, keys in any order, unknown
 * keys skipped, duplicates refused, missing Options are None. */
static int read_struct(struct rd *r, const struct field *f, size_t n,
                       void *base, const char *what, unsigned depth)
{
    struct map_it m = {false, 0};
    int rc = map_begin(r, &m, what);
    if (rc)
        return rc;
    uint32_t seen = 0;
    size_t hint = 0;
    while (map_more(r, &m)) {
        size_t i = hint;
        if (hint >= n || !key_is(r, &f[hint])) {
            struct text k;
            rc = read_text_raw(r, &k, what);
            if (rc)
                return rc;
            i = field_index(f, n, hint, &k);
            if (i == n) {
                rc = text_check(r, &k, what);
                text_release(&k);
                if (rc == 0)
                    rc = skip_any(r, 1);
                if (rc)
                    return rc;
                continue;
            }
            text_release(&k);
        }
        if (seen & (1u << i))
            return bad(r, "%s: duplicate field `%s`", what, f[i].name);
        seen |= 1u << i;
        hint = i + 1;
        rc = read_field(r, &f[i], base, depth);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < n; i++)
        if (!(seen & (1u << i)) && f[i].type != F_OPT_DURATION)
            return bad(r, "%s: missing field `%s`", what, f[i].name);
    return 0;
}

static bool stop_wants_value(int kind)
{
    return kind == AL__KW_STOP_PANICKED || kind == AL__KW_STOP_LINK_DIED;
}

static bool always_value(int i)
{
    (void)i;
    return true;
}

static int read_stop_reason(struct rd *r, al__kw_stop_reason *s, unsigned depth)
{
    if (depth >= AL__KW_STOP_DEPTH_MAX)
        return bad(r, "stop reasons nested deeper than %d",
                   AL__KW_STOP_DEPTH_MAX);
    struct text name;
    bool has_value;
    int rc = enum_begin(r, &name, &has_value, "stop_reason");
    if (rc)
        return rc;
    int kind = variant_of(r, &name, has_value, stop_names, COUNT(stop_names),
                          stop_wants_value, "stop_reason", "unknown variant");
    if (kind < 0)
        return kind;
    s->kind = (enum al__kw_stop_kind)kind;
    if (kind == AL__KW_STOP_PANICKED)
        return read_string(r, &s->panic, "Panicked");
    if (kind == AL__KW_STOP_LINK_DIED)
        return read_struct(r, stop_link_died_fields,
                           COUNT(stop_link_died_fields), s, "LinkDied", depth);
    return 0;
}

static int finish(struct rd *r)
{
    if (r->p != r->end)
        return bad(r, "%zu bytes after the value", remaining(r));
    return 0;
}

int al__kw_request_decode_in(const uint8_t *in, size_t len, al__kw_request *req,
                             al__kw_scratch *scratch, al_error *err)
{
    memset(req, 0, sizeof(*req));
    if (len > AL__KW_REQUEST_MAX)
        return al_error_set(err, AL_ELIMIT, "kameo request of %zu bytes", len);
    struct mem mem = {scratch ? scratch->bytes : NULL, 0,
                      scratch ? sizeof(scratch->bytes) : 0, &req->blks};
    struct rd r = {in, in, in + len, &mem, err};
    struct text name;
    bool has_value;
    int rc = enum_begin(&r, &name, &has_value, "request");
    if (rc)
        return rc;
    int kind = -1;
    for (size_t i = 0; i < COUNT(request_variants) && kind < 0; i++)
        if (name_is(&request_variants[i].name, name.p, name.len))
            kind = (int)i;
    if (kind < 0)
        return text_unknown(&r, &name, "request", "unknown variant");
    rc = variant_value_check(&r, &name, has_value, true, "request");
    text_release(&name);
    if (rc)
        return rc;
    req->kind = (enum al__kw_kind)kind;
    const struct variant *v = &request_variants[kind];
    rc = read_struct(&r, v->fields, v->nfields, &req->u, v->name.s, 0);
    if (rc == 0)
        rc = finish(&r);
    if (rc)
        al__kw_request_free(req);
    return rc;
}

static int read_remote_send_error(struct rd *r, al__kw_response *resp)
{
    struct text name;
    bool has_value;
    int rc = enum_begin(r, &name, &has_value, "error");
    if (rc)
        return rc;
    const struct error_variant *e = error_by_name(name.p, name.len);
    if (!e)
        return text_unknown(r, &name, "error",
                            "unknown RemoteSendError variant");
    rc = variant_value_check(r, &name, has_value, e->shape != E_UNIT, "error");
    text_release(&name);
    if (rc)
        return rc;
    resp->status = e->status;
    switch (e->shape) {
    case E_UNIT:
        return 0;
    case E_UNKNOWN_ACTOR:
        return read_struct(r, unknown_actor_fields, COUNT(unknown_actor_fields),
                           resp, e->name.s, 0);
    case E_UNKNOWN_MESSAGE:
        return read_struct(r, unknown_message_fields,
                           COUNT(unknown_message_fields), resp, e->name.s, 0);
    case E_BYTES:
        if (!has_handler_error(resp->kind))
            return bad(r, "HandlerError in a response whose error type is "
                          "Infallible");
        return read_byte_vec(r, &resp->data, e->name.s);
    case E_TEXT:
        return read_string(r, &resp->detail, e->name.s);
    }
    return bad(r, "internal: unknown error shape");
}

static int read_result(struct rd *r, al__kw_response *resp)
{
    struct text name;
    bool has_value;
    int rc = enum_begin(r, &name, &has_value, "result");
    if (rc)
        return rc;
    int which =
        variant_of(r, &name, has_value, result_names, COUNT(result_names),
                   always_value, "result", "expected Ok or Err");
    if (which < 0)
        return which;
    if (which == 1)
        return read_remote_send_error(r, resp);
    resp->status = 0;
    if (resp->kind == AL__KW_ASK)
        return read_byte_vec(r, &resp->data, "Ok");
    return read_unit(r, "Ok");
}

int al__kw_response_decode_in(const uint8_t *in, size_t len,
                              al__kw_response *resp, al__kw_scratch *scratch,
                              al_error *err)
{
    memset(resp, 0, sizeof(*resp));
    if (len > AL__KW_RESPONSE_MAX)
        return al_error_set(err, AL_ELIMIT, "kameo response of %zu bytes", len);
    struct mem mem = {scratch ? scratch->bytes : NULL, 0,
                      scratch ? sizeof(scratch->bytes) : 0, &resp->blks};
    struct rd r = {in, in, in + len, &mem, err};
    struct text name;
    bool has_value;
    int rc = enum_begin(&r, &name, &has_value, "response");
    if (rc)
        return rc;
    int kind =
        variant_of(&r, &name, has_value, response_names, COUNT(response_names),
                   always_value, "response", "unknown variant");
    if (kind < 0)
        return kind;
    resp->kind = (enum al__kw_kind)kind;
    if (kind == AL__KW_OUTBOUND_FAILURE)
        rc = read_remote_send_error(&r, resp);
    else
        rc = read_result(&r, resp);
    if (rc == 0)
        rc = finish(&r);
    if (rc)
        al__kw_response_free(resp);
    return rc;
}

int al__kw_request_decode(const uint8_t *in, size_t len, al__kw_request *r,
                          al_error *err)
{
    return al__kw_request_decode_in(in, len, r, NULL, err);
}

int al__kw_response_decode(const uint8_t *in, size_t len, al__kw_response *r,
                           al_error *err)
{
    return al__kw_response_decode_in(in, len, r, NULL, err);
}

/* ------------------------------------------------------------ writing */

/* Writes go straight into out's memory: room() makes sure of the space
 * (the encoders reserve a close estimate first, so it rarely grows). */
struct wr {
    al_buf *b;
    int rc;
    al_error *err;
};

__attribute__((format(printf, 2, 3))) static void invalid(struct wr *w,
                                                          const char *fmt, ...)
{
    if (w->rc)
        return;
    w->rc = AL_EINVAL;
    if (w->err) {
        char what[AL_ERROR_MSG];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        al_error_set(w->err, AL_EINVAL, "kameo cbor: %s", what);
    }
}

/* Where the next n bytes go, or NULL (after an error). */
static uint8_t *room(struct wr *w, size_t n)
{
    if (w->rc)
        return NULL;
    if (n > w->b->cap - w->b->len && al_buf_reserve(w->b, n)) {
        w->rc = al_error_set(w->err, AL_ENOMEM, "out of memory");
        return NULL;
    }
    return w->b->data + w->b->len;
}

static void advance(struct wr *w, uint8_t *to)
{
    w->b->len = (size_t)(to - w->b->data);
}

/* Initial byte and argument in the shortest form, at p; returns the end. */
static uint8_t *head_at(uint8_t *p, uint8_t major, uint64_t v)
{
    if (v < 24) {
        *p++ = (uint8_t)(major << 5 | v);
        return p;
    }
    int bytes = v <= 0xff ? 1 : v <= 0xffff ? 2 : v <= 0xffffffff ? 4 : 8;
    int ai = bytes == 1 ? 24 : bytes == 2 ? 25 : bytes == 4 ? 26 : 27;
    *p++ = (uint8_t)(major << 5 | ai);
    for (int i = 0; i < bytes; i++)
        *p++ = (uint8_t)(v >> (8 * (bytes - 1 - i)));
    return p;
}

static void put_head(struct wr *w, uint8_t major, uint64_t v)
{
    uint8_t *p = room(w, 9);
    if (p)
        advance(w, head_at(p, major, v));
}

static void put_byte(struct wr *w, uint8_t b)
{
    uint8_t *p = room(w, 1);
    if (p) {
        *p++ = b;
        advance(w, p);
    }
}

/* A text string known to be UTF-8. */
static void put_text_raw(struct wr *w, const char *s, size_t len)
{
    uint8_t *p = room(w, 9 + len);
    if (!p)
        return;
    p = head_at(p, M_TEXT, len);
    if (len)
        memcpy(p, s, len);
    advance(w, p + len);
}

static void put_text(struct wr *w, const char *s, size_t len)
{
    if (len && !s) {
        invalid(w, "text without data");
        return;
    }
    if (!al__utf8_valid((const uint8_t *)s, len)) {
        invalid(w, "text is not UTF-8");
        return;
    }
    put_text_raw(w, s, len);
}

static void put_name(struct wr *w, const struct name *n)
{
    put_text_raw(w, n->s, n->len);
}

/* A one-entry map opening an externally tagged variant. */
static void put_variant(struct wr *w, const struct name *n)
{
    put_byte(w, CBOR_MAP1);
    put_name(w, n);
}

/* Vec<u8> without serde_bytes: an array of small uints. */
static void put_byte_vec(struct wr *w, const al__kw_bytes *b)
{
    if (b->len && !b->data) {
        invalid(w, "bytes without data");
        return;
    }
    if (b->len > (SIZE_MAX - 9) / 2) {
        w->rc = al_error_set(w->err, AL_ENOMEM, "out of memory");
        return;
    }
    uint8_t *p = room(w, 9 + 2 * b->len);
    if (!p)
        return;
    p = head_at(p, M_ARRAY, b->len);
    for (size_t i = 0; i < b->len; i++) {
        uint8_t v = b->data[i];
        if (v >= 24)
            *p++ = 0x18;
        *p++ = v;
    }
    advance(w, p);
}

static void put_actor_id(struct wr *w, const al_actor_id *id)
{
    if (id->peer.len > AL_PEER_ID_MAX) {
        invalid(w, "peer id of %u bytes", (unsigned)id->peer.len);
        return;
    }
    uint8_t *p = room(w, 9 + AL__KW_ACTOR_ID_MAX);
    if (!p)
        return;
    p = head_at(p, M_BYTES, 8u + id->peer.len);
    for (int i = 0; i < 8; i++)
        *p++ = (uint8_t)(id->seq >> (8 * i));
    memcpy(p, id->peer.bytes, id->peer.len);
    advance(w, p + id->peer.len);
}

static void put_opt_duration(struct wr *w, const al__kw_duration *d)
{
    if (!d->some) {
        put_byte(w, CBOR_NULL);
        return;
    }
    if (d->nanos >= NANOS_PER_SEC) {
        invalid(w, "duration with %u nanoseconds", d->nanos);
        return;
    }
    static const struct name secs = {NAME("secs")}, nanos = {NAME("nanos")};
    put_head(w, M_MAP, 2);
    put_name(w, &secs);
    put_head(w, M_UINT, d->secs);
    put_name(w, &nanos);
    put_head(w, M_UINT, d->nanos);
}

static void put_stop_reason(struct wr *w, const al__kw_stop_reason *s,
                            unsigned depth);

static void put_struct(struct wr *w, const struct field *f, size_t n,
                       const void *base, unsigned depth)
{
    put_head(w, M_MAP, n);
    for (size_t i = 0; i < n && w->rc == 0; i++) {
        const void *p = (const char *)base + f[i].offset;
        put_text_raw(w, f[i].name, f[i].len);
        switch (f[i].type) {
        case F_ACTOR_ID:
            put_actor_id(w, p);
            break;
        case F_STR: {
            const al__kw_str *s = p;
            put_text(w, s->data, s->len);
            break;
        }
        case F_BYTES:
            put_byte_vec(w, p);
            break;
        case F_OPT_DURATION:
            put_opt_duration(w, p);
            break;
        case F_BOOL:
            put_byte(w, *(const bool *)p ? CBOR_TRUE : CBOR_FALSE);
            break;
        case F_STOP:
            put_stop_reason(w, p, depth);
            break;
        case F_STOP_BOX: {
            const al__kw_stop_reason *const *box = p;
            if (!*box)
                invalid(w, "LinkDied without a reason");
            else
                put_stop_reason(w, *box, depth + 1);
            break;
        }
        }
    }
}

static void put_stop_reason(struct wr *w, const al__kw_stop_reason *s,
                            unsigned depth)
{
    if (depth >= AL__KW_STOP_DEPTH_MAX) {
        invalid(w, "stop reasons nested deeper than %d", AL__KW_STOP_DEPTH_MAX);
        return;
    }
    if ((unsigned)s->kind >= COUNT(stop_names)) {
        invalid(w, "unknown stop reason %d", (int)s->kind);
        return;
    }
    const struct name *name = &stop_names[s->kind];
    switch (s->kind) {
    case AL__KW_STOP_PANICKED:
        put_variant(w, name);
        put_text(w, s->panic.data, s->panic.len);
        break;
    case AL__KW_STOP_LINK_DIED:
        put_variant(w, name);
        put_struct(w, stop_link_died_fields, COUNT(stop_link_died_fields), s,
                   depth);
        break;
    default:
        put_name(w, name);
        break;
    }
}

static int wr_finish(struct wr *w, size_t start)
{
    if (w->rc)
        w->b->len = start;
    return w->rc;
}

/* Room for the fixed parts of any envelope but a deep LinkDied chain. */
#define ENVELOPE_SLACK 384

/* Reserves about what the request takes: the variable parts are its
 * strings and the payload (up to two bytes per payload byte). */
static void reserve_request(struct wr *w, const al__kw_request *req)
{
    size_t n = ENVELOPE_SLACK;
    if (req->kind == AL__KW_ASK || req->kind == AL__KW_TELL) {
        const al__kw_send *s = &req->u.send;
        if (s->payload.len > (SIZE_MAX - n) / 4)
            return; /* room() reports it */
        n += s->actor_remote_id.len + s->message_remote_id.len +
             2 * s->payload.len;
    }
    room(w, n);
}

int al__kw_request_encode(const al__kw_request *req, al_buf *out, al_error *err)
{
    struct wr w = {out, 0, err};
    size_t start = out->len;
    if ((unsigned)req->kind >= COUNT(request_variants))
        return al_error_set(err, AL_EINVAL, "kameo request kind %d",
                            (int)req->kind);
    const struct variant *v = &request_variants[req->kind];
    reserve_request(&w, req);
    put_variant(&w, &v->name);
    put_struct(&w, v->fields, v->nfields, &req->u, 0);
    return wr_finish(&w, start);
}

static void put_remote_send_error(struct wr *w, const al__kw_response *resp)
{
    const struct error_variant *e = error_by_status(resp->status);
    if (!e) {
        invalid(w, "status %d is no RemoteSendError variant", resp->status);
        return;
    }
    if (e->shape == E_UNIT) {
        put_name(w, &e->name);
        return;
    }
    put_variant(w, &e->name);
    switch (e->shape) {
    case E_UNKNOWN_ACTOR:
        put_struct(w, unknown_actor_fields, COUNT(unknown_actor_fields), resp,
                   0);
        break;
    case E_UNKNOWN_MESSAGE:
        put_struct(w, unknown_message_fields, COUNT(unknown_message_fields),
                   resp, 0);
        break;
    case E_BYTES:
        if (!has_handler_error(resp->kind))
            invalid(w, "HandlerError in a response that cannot carry one");
        else
            put_byte_vec(w, &resp->data);
        break;
    case E_TEXT:
        put_text(w, resp->detail.data, resp->detail.len);
        break;
    default:
        break;
    }
}

int al__kw_response_encode(const al__kw_response *resp, al_buf *out,
                           al_error *err)
{
    struct wr w = {out, 0, err};
    size_t start = out->len;
    if ((unsigned)resp->kind >= COUNT(response_names))
        return al_error_set(err, AL_EINVAL, "kameo response kind %d",
                            (int)resp->kind);
    if (resp->data.len <= (SIZE_MAX - ENVELOPE_SLACK) / 4)
        room(&w, ENVELOPE_SLACK + 2 * resp->data.len + resp->detail.len +
                     resp->actor_remote_id.len + resp->message_remote_id.len);
    put_variant(&w, &response_names[resp->kind]);
    if (resp->kind == AL__KW_OUTBOUND_FAILURE) {
        if (resp->status == 0)
            invalid(&w, "OutboundFailure without an error");
        put_remote_send_error(&w, resp);
    } else if (resp->status == 0) {
        put_variant(&w, &result_names[0]);
        if (resp->kind == AL__KW_ASK)
            put_byte_vec(&w, &resp->data);
        else
            put_byte(&w, CBOR_EMPTY_ARR);
    } else {
        put_variant(&w, &result_names[1]);
        put_remote_send_error(&w, resp);
    }
    return wr_finish(&w, start);
}

/* ------------------------------------------------------------ equality */

static bool str_eq(const al__kw_str *a, const al__kw_str *b)
{
    return a->len == b->len &&
           (a->len == 0 || !memcmp(a->data, b->data, a->len));
}

static bool bytes_eq(const al__kw_bytes *a, const al__kw_bytes *b)
{
    return a->len == b->len &&
           (a->len == 0 || !memcmp(a->data, b->data, a->len));
}

static bool actor_id_eq(const al_actor_id *a, const al_actor_id *b)
{
    return a->seq == b->seq && a->peer.len == b->peer.len &&
           !memcmp(a->peer.bytes, b->peer.bytes, a->peer.len);
}

static bool duration_eq(const al__kw_duration *a, const al__kw_duration *b)
{
    return a->some == b->some &&
           (!a->some || (a->secs == b->secs && a->nanos == b->nanos));
}

static bool stop_eq(const al__kw_stop_reason *a, const al__kw_stop_reason *b)
{
    while (a && b) {
        if (a->kind != b->kind)
            return false;
        if (a->kind == AL__KW_STOP_PANICKED)
            return str_eq(&a->panic, &b->panic);
        if (a->kind != AL__KW_STOP_LINK_DIED)
            return true;
        if (!actor_id_eq(&a->link_id, &b->link_id))
            return false;
        a = a->inner;
        b = b->inner;
    }
    return a == b;
}

static bool fields_eq(const struct field *f, size_t n, const void *a,
                      const void *b)
{
    for (size_t i = 0; i < n; i++) {
        const void *pa = (const char *)a + f[i].offset;
        const void *pb = (const char *)b + f[i].offset;
        bool eq = true;
        switch (f[i].type) {
        case F_ACTOR_ID:
            eq = actor_id_eq(pa, pb);
            break;
        case F_STR:
            eq = str_eq(pa, pb);
            break;
        case F_BYTES:
            eq = bytes_eq(pa, pb);
            break;
        case F_OPT_DURATION:
            eq = duration_eq(pa, pb);
            break;
        case F_BOOL:
            eq = *(const bool *)pa == *(const bool *)pb;
            break;
        case F_STOP:
            eq = stop_eq(pa, pb);
            break;
        case F_STOP_BOX:
            eq = stop_eq(*(al__kw_stop_reason *const *)pa,
                         *(al__kw_stop_reason *const *)pb);
            break;
        }
        if (!eq)
            return false;
    }
    return true;
}

bool al__kw_request_equal(const al__kw_request *a, const al__kw_request *b)
{
    if (a->kind != b->kind || (unsigned)a->kind >= COUNT(request_variants))
        return false;
    const struct variant *v = &request_variants[a->kind];
    return fields_eq(v->fields, v->nfields, &a->u, &b->u);
}

bool al__kw_response_equal(const al__kw_response *a, const al__kw_response *b)
{
    if (a->kind != b->kind || a->status != b->status)
        return false;
    if (a->status == 0)
        return a->kind != AL__KW_ASK || bytes_eq(&a->data, &b->data);
    const struct error_variant *e = error_by_status(a->status);
    if (!e)
        return false;
    switch (e->shape) {
    case E_UNKNOWN_ACTOR:
        return str_eq(&a->actor_remote_id, &b->actor_remote_id);
    case E_UNKNOWN_MESSAGE:
        return str_eq(&a->actor_remote_id, &b->actor_remote_id) &&
               str_eq(&a->message_remote_id, &b->message_remote_id);
    case E_BYTES:
        return bytes_eq(&a->data, &b->data);
    case E_TEXT:
        return str_eq(&a->detail, &b->detail);
    default:
        return true;
    }
}
