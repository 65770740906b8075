/* multistream-select 1.0 state machine (see mss.h). */
#include "mss.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "varint.h"

enum state {
    ST_HEADER,   /* waiting for the peer's header */
    ST_PROTOCOL, /* initiator: echo or na; responder: a proposal */
    ST_DONE,
    ST_FAILED,
};

#define HEADER_LEN (sizeof(AL__MSS_HEADER) - 1)
#define NA         "na"
#define LS         "ls"
/* Longest message: the protocol plus its newline. Its length prefix then
 * takes at most two varint bytes. */
#define MSG_MAX (AL__MSS_PROTO_MAX + 1)

int al__mss_write_message(al_buf *out, const char *text, size_t len)
{
    int rc = al_buf_reserve(out, AL__UVARINT_MAX + len + 1);
    if (rc)
        return rc;
    uint8_t *p = out->data + out->len;
    p += al__uvarint_encode(len + 1, p);
    memcpy(p, text, len);
    p[len] = '\n';
    out->len = (size_t)(p + len + 1 - out->data);
    return 0;
}

__attribute__((format(printf, 5, 6))) static int fail(al__mss *m,
                                                      enum al__mss_fail why,
                                                      int code, al_error *err,
                                                      const char *fmt, ...)
{
    m->state = ST_FAILED;
    m->fail = why;
    m->fail_code = code;
    if (err) {
        char what[AL_ERROR_MSG];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        al_error_set(err, code, "multistream-select: %s", what);
    }
    return code;
}

static bool valid_protocol(const char *p)
{
    if (!p)
        return false;
    size_t len = strnlen(p, AL__MSS_PROTO_MAX + 1);
    return len > 0 && len <= AL__MSS_PROTO_MAX && !memchr(p, '\n', len);
}

static int propose(al__mss *m, al_buf *out)
{
    const char *p = m->protocols[m->current];
    return al__mss_write_message(out, p, strlen(p));
}

/* Clears the state but not the two message buffers (2 KiB that every
 * stream would otherwise zero): they are written before they are read. */
static void reset(al__mss *m)
{
    memset(m, 0, offsetof(al__mss, msg));
    m->selected_len = 0;
    m->selected[0] = '\0';
}

int al__mss_init_initiator(al__mss *m, const char *const *protocols, size_t n,
                           al_buf *out, al_error *err)
{
    reset(m);
    m->role = AL__MSS_INITIATOR;
    m->state = ST_HEADER;
    if (n == 0 || !protocols)
        return al_error_set(err, AL_EINVAL, "no protocol to propose");
    for (size_t i = 0; i < n; i++)
        if (!valid_protocol(protocols[i]))
            return al_error_set(err, AL_EINVAL, "bad protocol name #%zu", i);
    m->protocols = protocols;
    m->nprotocols = n;
    int rc = al__mss_write_message(out, AL__MSS_HEADER, HEADER_LEN);
    if (rc == 0)
        rc = propose(m, out);
    return rc ? al_error_set(err, rc, "out of memory") : 0;
}

void al__mss_init_responder(al__mss *m, al__mss_supported_fn supported,
                            void *ud)
{
    reset(m);
    m->role = AL__MSS_RESPONDER;
    m->state = ST_HEADER;
    m->supported = supported;
    m->ud = ud;
}

static bool line_is(const char *line, size_t len, const char *text, size_t tlen)
{
    return len == tlen && memcmp(line, text, len) == 0;
}

#define LINE_IS(line, len, lit) line_is(line, len, lit, sizeof(lit) - 1)

static void select_protocol(al__mss *m, const char *line, size_t len)
{
    memcpy(m->selected, line, len);
    m->selected[len] = '\0';
    m->selected_len = len;
    m->state = ST_DONE;
}

static int initiator_line(al__mss *m, const char *line, size_t len, al_buf *out,
                          al_error *err)
{
    const char *want = m->protocols[m->current];
    if (line_is(line, len, want, strlen(want))) {
        select_protocol(m, line, len);
        return AL__MSS_SELECTED;
    }
    if (!LINE_IS(line, len, NA))
        return fail(m, AL__MSS_FAIL_UNEXPECTED, AL_EPROTO, err,
                    "peer answered neither our proposal nor na");
    if (++m->current == m->nprotocols)
        return fail(m, AL__MSS_FAIL_UNSUPPORTED, AL_E_UNSUPPORTED_PROTOCOLS,
                    err, "peer supports none of our protocols");
    int rc = propose(m, out);
    return rc ? fail(m, AL__MSS_FAIL_NONE, rc, err, "out of memory")
              : AL__MSS_PENDING;
}

static int responder_line(al__mss *m, const char *line, size_t len, al_buf *out,
                          al_error *err)
{
    /* "ls" is optional in the spec; refusing it keeps the table private. */
    bool ok = len > 0 && !LINE_IS(line, len, LS) && m->supported &&
              m->supported(line, len, m->ud);
    if (ok) {
        int rc = al__mss_write_message(out, line, len);
        if (rc)
            return fail(m, AL__MSS_FAIL_NONE, rc, err, "out of memory");
        select_protocol(m, line, len);
        return AL__MSS_SELECTED;
    }
    if (++m->rejects > AL__MSS_MAX_REJECTS)
        return fail(m, AL__MSS_FAIL_TOO_MANY, AL_ELIMIT, err,
                    "too many unsupported proposals");
    int rc = al__mss_write_message(out, NA, sizeof(NA) - 1);
    return rc ? fail(m, AL__MSS_FAIL_NONE, rc, err, "out of memory")
              : AL__MSS_PENDING;
}

/* A whole message sits in m->msg[prefix..need). */
static int handle_message(al__mss *m, size_t prefix, al_buf *out, al_error *err)
{
    char *line = (char *)m->msg + prefix;
    size_t len = m->need - prefix;
    if (line[len - 1] != '\n')
        return fail(m, AL__MSS_FAIL_NEWLINE, AL_EDECODE, err,
                    "message does not end with a newline");
    len--;
    line[len] = '\0';
    if (m->state == ST_HEADER) {
        if (!LINE_IS(line, len, AL__MSS_HEADER))
            return fail(m, AL__MSS_FAIL_HEADER, AL_EPROTO, err,
                        "peer did not send the multistream 1.0.0 header");
        m->state = ST_PROTOCOL;
        if (m->role == AL__MSS_INITIATOR)
            return AL__MSS_PENDING;
        int rc = al__mss_write_message(out, AL__MSS_HEADER, HEADER_LEN);
        return rc ? fail(m, AL__MSS_FAIL_NONE, rc, err, "out of memory")
                  : AL__MSS_PENDING;
    }
    if (m->role == AL__MSS_INITIATOR)
        return initiator_line(m, line, len, out, err);
    return responder_line(m, line, len, out, err);
}

/* Reads the length prefix from the bytes gathered so far. Returns 1 once
 * m->need is known, 0 when another byte is needed, < 0 on failure. */
static int read_prefix(al__mss *m, al_error *err)
{
    uint64_t v = 0;
    int n = al__uvarint_decode(m->msg, m->have, &v);
    if (n < 0)
        return fail(m, AL__MSS_FAIL_VARINT, AL_EDECODE, err,
                    "malformed length prefix");
    if (n == 0) {
        /* Two bytes with continuation bits already mean >= 2^14. */
        if (m->have >= 2)
            return fail(m, AL__MSS_FAIL_TOO_LONG, AL_ELIMIT, err,
                        "message too long");
        return 0;
    }
    if (v == 0)
        return fail(m, AL__MSS_FAIL_NEWLINE, AL_EDECODE, err, "empty message");
    if (v > MSG_MAX)
        return fail(m, AL__MSS_FAIL_TOO_LONG, AL_ELIMIT, err,
                    "message of %llu bytes exceeds %d", (unsigned long long)v,
                    MSG_MAX);
    m->prefix = (size_t)n;
    m->need = (size_t)n + (size_t)v;
    return 1;
}

int al__mss_feed(al__mss *m, const uint8_t *in, size_t len, size_t *consumed,
                 al_buf *out, al_error *err)
{
    size_t pos = 0;
    int rc = AL__MSS_PENDING;
    *consumed = 0;
    if (m->state == ST_DONE)
        return AL__MSS_SELECTED;
    if (m->state == ST_FAILED)
        return al_error_set(err, m->fail_code, "multistream-select failed");
    while (pos < len && rc == AL__MSS_PENDING) {
        if (m->need == 0 && m->have == 0 && in[pos] > 0 && in[pos] < 0x80) {
            /* A one-byte length prefix, the usual case. */
            m->msg[0] = in[pos++];
            m->have = m->prefix = 1;
            m->need = 1 + (size_t)m->msg[0];
        } else if (m->need == 0) {
            m->msg[m->have++] = in[pos++];
            rc = read_prefix(m, err);
            if (rc <= 0)
                continue;
            rc = AL__MSS_PENDING;
        } else {
            size_t take = m->need - m->have;
            if (take > len - pos)
                take = len - pos;
            memcpy(m->msg + m->have, in + pos, take);
            m->have += take;
            pos += take;
        }
        if (m->need != 0 && m->have == m->need) {
            rc = handle_message(m, m->prefix, out, err);
            m->have = m->need = 0;
        }
    }
    *consumed = pos;
    return rc;
}

const char *al__mss_selected(const al__mss *m, size_t *len)
{
    if (m->state != ST_DONE)
        return NULL;
    if (len)
        *len = m->selected_len;
    return m->selected;
}

size_t al__mss_selected_index(const al__mss *m)
{
    return m->current;
}

enum al__mss_fail al__mss_failure(const al__mss *m)
{
    return m->fail;
}
