/* Multiaddr text and binary codecs; QUIC address conversions. */
#include "multiaddr.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "peerid.h"
#include "varint.h"

enum value_kind { V_NONE, V_IP4, V_IP6, V_PORT, V_DNS, V_P2P };

struct proto {
    uint32_t code;
    const char *name;
    enum value_kind kind;
};

static const struct proto protos[] = {
    {AL__MA_IP4, "ip4", V_IP4},          {AL__MA_TCP, "tcp", V_PORT},
    {AL__MA_IP6, "ip6", V_IP6},          {AL__MA_DNS, "dns", V_DNS},
    {AL__MA_DNS4, "dns4", V_DNS},        {AL__MA_DNS6, "dns6", V_DNS},
    {AL__MA_UDP, "udp", V_PORT},         {AL__MA_P2P, "p2p", V_P2P},
    {AL__MA_QUIC_V1, "quic-v1", V_NONE},
};
#define NPROTOS (sizeof(protos) / sizeof(protos[0]))

/* Codes of protocols we know but do not speak, for clearer errors. */
#define MA_QUIC_DRAFT29 0x01cc

static const struct proto *by_code(uint64_t code)
{
    for (size_t i = 0; i < NPROTOS; i++)
        if (protos[i].code == code)
            return &protos[i];
    return NULL;
}

static const struct proto *by_name(const char *name, size_t len)
{
    if (len == 4 && memcmp(name, "ipfs", 4) == 0)
        return by_code(AL__MA_P2P);
    for (size_t i = 0; i < NPROTOS; i++)
        if (strlen(protos[i].name) == len &&
            memcmp(protos[i].name, name, len) == 0)
            return &protos[i];
    return NULL;
}

static const char *name_of(uint32_t code)
{
    const struct proto *p = by_code(code);
    return p ? p->name : "?";
}

static bool valid_host(const char *s, size_t n)
{
    if (n == 0 || n > AL__MADDR_HOST_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
        if (!ok)
            return false;
    }
    return true;
}

/* ------------------------------------------------------------ text */

static int parse_port(const char *s, size_t n, uint16_t *port)
{
    if (n == 0 || n > 5)
        return -1;
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > 65535)
        return -1;
    *port = (uint16_t)v;
    return 0;
}

static int parse_value(al__maddr_comp *c, const struct proto *p, const char *s,
                       size_t n, al_error *err)
{
    char tmp[INET6_ADDRSTRLEN];
    switch (p->kind) {
    case V_IP4:
    case V_IP6:
        if (n >= sizeof(tmp))
            return al_error_set(err, AL_EDECODE, "bad IP address in /%s",
                                p->name);
        memcpy(tmp, s, n);
        tmp[n] = '\0';
        if (inet_pton(p->kind == V_IP4 ? AF_INET : AF_INET6, tmp,
                      p->kind == V_IP4 ? (void *)c->v.ip4 : (void *)c->v.ip6) !=
            1)
            return al_error_set(err, AL_EDECODE, "bad IP address '%s' in /%s",
                                tmp, p->name);
        return 0;
    case V_PORT:
        if (parse_port(s, n, &c->v.port) < 0)
            return al_error_set(err, AL_EDECODE,
                                "bad port '%.*s' in /%s (0 to 65535)",
                                (int)(n > 16 ? 16 : n), s, p->name);
        return 0;
    case V_DNS:
        if (!valid_host(s, n))
            return al_error_set(err, AL_EDECODE, "bad DNS name in /%s",
                                p->name);
        memcpy(c->v.host, s, n);
        c->v.host[n] = '\0';
        return 0;
    case V_P2P: {
        al_error inner = {0};
        if (al__peer_id_parse_n(&c->v.peer, s, n, &inner) < 0)
            return al_error_set(err, AL_EDECODE, "/p2p: %s", inner.msg);
        return 0;
    }
    case V_NONE:
        break;
    }
    return 0;
}

int al__maddr_parse_n(al__maddr *out, const char *text, size_t len,
                      al_error *err)
{
    if (!out || (!text && len))
        return al_error_set(err, AL_EINVAL, "invalid argument");
    out->n = 0;
    if (len > AL__MADDR_MAX_TEXT)
        return al_error_set(err, AL_ELIMIT,
                            "multiaddr too long (%zu characters, at most %d)",
                            len, AL__MADDR_MAX_TEXT);
    if (len == 0 || (len == 1 && text[0] == '/'))
        return al_error_set(err, AL_EDECODE, "empty multiaddr");
    if (memchr(text, '\0', len))
        return al_error_set(err, AL_EDECODE, "multiaddr contains a NUL byte");
    if (text[0] != '/')
        return al_error_set(err, AL_EDECODE, "multiaddr must start with '/'");
    size_t pos = 1;
    while (pos < len) {
        const char *name = text + pos;
        const char *slash = memchr(name, '/', len - pos);
        size_t nlen = slash ? (size_t)(slash - name) : len - pos;
        if (nlen == 0)
            return al_error_set(err, AL_EDECODE,
                                "empty protocol name at offset %zu", pos);
        const struct proto *p = by_name(name, nlen);
        if (!p && nlen == 4 && memcmp(name, "quic", 4) == 0)
            return al_error_set(err, AL_EDECODE,
                                "/quic (QUIC draft-29) is not supported; use "
                                "/quic-v1");
        if (!p)
            return al_error_set(err, AL_EDECODE, "unknown protocol '/%.*s'",
                                (int)(nlen > 32 ? 32 : nlen), name);
        if (out->n == AL__MADDR_MAX_COMPONENTS)
            return al_error_set(err, AL_ELIMIT,
                                "multiaddr has more than %d components",
                                AL__MADDR_MAX_COMPONENTS);
        al__maddr_comp *c = &out->c[out->n];
        memset(c, 0, sizeof(*c));
        c->code = p->code;
        pos += nlen;
        if (p->kind != V_NONE) {
            const char *val = NULL;
            size_t vlen = 0;
            if (pos < len) {
                val = text + pos + 1;
                const char *end = memchr(val, '/', len - pos - 1);
                vlen = end ? (size_t)(end - val) : len - pos - 1;
            }
            if (vlen == 0)
                return al_error_set(err, AL_EDECODE, "missing value for /%s",
                                    p->name);
            int rc = parse_value(c, p, val, vlen, err);
            if (rc < 0)
                return rc;
            pos += 1 + vlen;
        }
        out->n++;
        if (pos < len)
            pos++; /* the '/' before the next component, or a trailing one */
    }
    return 0;
}

int al__maddr_parse(al__maddr *out, const char *text, al_error *err)
{
    if (!text)
        return al_error_set(err, AL_EINVAL, "multiaddr is NULL");
    return al__maddr_parse_n(out, text, strnlen(text, AL__MADDR_MAX_TEXT + 1),
                             err);
}

struct writer {
    char *buf;
    size_t cap;
    size_t len;
    bool full;
};

static void put(struct writer *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void put(struct writer *w, const char *fmt, ...)
{
    if (w->full)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(w->buf + w->len, w->cap - w->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= w->cap - w->len)
        w->full = true;
    else
        w->len += (size_t)n;
}

int al__maddr_format(const al__maddr *m, char *buf, size_t cap)
{
    if (!m || !buf || cap == 0 || m->n == 0 || m->n > AL__MADDR_MAX_COMPONENTS)
        return AL_EINVAL;
    struct writer w = {buf, cap, 0, false};
    buf[0] = '\0';
    for (size_t i = 0; i < m->n; i++) {
        const al__maddr_comp *c = &m->c[i];
        const struct proto *p = by_code(c->code);
        if (!p)
            return AL_EINVAL;
        put(&w, "/%s", p->name);
        char ip[INET6_ADDRSTRLEN];
        char peer[AL_PEER_ID_STRLEN];
        switch (p->kind) {
        case V_IP4:
        case V_IP6:
            if (!inet_ntop(p->kind == V_IP4 ? AF_INET : AF_INET6,
                           p->kind == V_IP4 ? (const void *)c->v.ip4
                                            : (const void *)c->v.ip6,
                           ip, sizeof(ip)))
                return AL_EINVAL;
            put(&w, "/%s", ip);
            break;
        case V_PORT:
            put(&w, "/%u", (unsigned)c->v.port);
            break;
        case V_DNS:
            if (!valid_host(c->v.host, strnlen(c->v.host, sizeof(c->v.host))))
                return AL_EINVAL;
            put(&w, "/%s", c->v.host);
            break;
        case V_P2P:
            if (al_peer_id_format(&c->v.peer, peer, sizeof(peer)) < 0)
                return AL_EINVAL;
            put(&w, "/%s", peer);
            break;
        case V_NONE:
            break;
        }
    }
    if (w.full)
        return AL_ELIMIT;
    return (int)w.len;
}

/* ------------------------------------------------------------ binary */

int al__maddr_decode(al__maddr *out, const uint8_t *buf, size_t len,
                     al_error *err)
{
    if (!out || (!buf && len))
        return al_error_set(err, AL_EINVAL, "invalid argument");
    out->n = 0;
    if (len == 0)
        return al_error_set(err, AL_EDECODE, "empty multiaddr");
    if (len > AL__MADDR_MAX_BYTES)
        return al_error_set(err, AL_ELIMIT,
                            "binary multiaddr too long (%zu bytes, at most %d)",
                            len, AL__MADDR_MAX_BYTES);
    size_t pos = 0;
    while (pos < len) {
        uint64_t code, vlen;
        int k = al__uvarint_decode(buf + pos, len - pos, &code);
        if (k <= 0)
            return al_error_set(err, AL_EDECODE,
                                "bad protocol code varint at byte %zu", pos);
        const struct proto *p = by_code(code);
        if (!p && code == MA_QUIC_DRAFT29)
            return al_error_set(err, AL_EDECODE,
                                "/quic (QUIC draft-29) is not supported; use "
                                "/quic-v1");
        if (!p)
            return al_error_set(err, AL_EDECODE,
                                "unknown protocol code 0x%llx at byte %zu",
                                (unsigned long long)code, pos);
        if (out->n == AL__MADDR_MAX_COMPONENTS)
            return al_error_set(err, AL_ELIMIT,
                                "multiaddr has more than %d components",
                                AL__MADDR_MAX_COMPONENTS);
        pos += (size_t)k;
        al__maddr_comp *c = &out->c[out->n];
        memset(c, 0, sizeof(*c));
        c->code = p->code;
        size_t fixed = p->kind == V_IP4 ? 4 : p->kind == V_IP6 ? 16 : 2;
        switch (p->kind) {
        case V_IP4:
        case V_IP6:
        case V_PORT:
            if (len - pos < fixed)
                return al_error_set(err, AL_EDECODE, "truncated value for /%s",
                                    p->name);
            if (p->kind == V_PORT)
                c->v.port = (uint16_t)(buf[pos] << 8 | buf[pos + 1]);
            else
                memcpy(p->kind == V_IP4 ? c->v.ip4 : c->v.ip6, buf + pos,
                       fixed);
            pos += fixed;
            break;
        case V_DNS:
        case V_P2P:
            k = al__uvarint_decode(buf + pos, len - pos, &vlen);
            if (k <= 0 || vlen > len - pos - (size_t)k)
                return al_error_set(err, AL_EDECODE,
                                    "bad or truncated length for /%s", p->name);
            pos += (size_t)k;
            if (p->kind == V_DNS) {
                if (!valid_host((const char *)buf + pos, (size_t)vlen))
                    return al_error_set(err, AL_EDECODE, "bad DNS name in /%s",
                                        p->name);
                memcpy(c->v.host, buf + pos, (size_t)vlen);
                c->v.host[vlen] = '\0';
            } else {
                al_error inner = {0};
                if (al__peer_id_from_bytes_err(&c->v.peer, buf + pos,
                                               (size_t)vlen, &inner) < 0)
                    return al_error_set(err, AL_EDECODE, "/p2p: %s", inner.msg);
            }
            pos += (size_t)vlen;
            break;
        case V_NONE:
            break;
        }
        out->n++;
    }
    return 0;
}

struct bwriter {
    uint8_t *buf;
    size_t cap;
    size_t len;
    bool full;
};

static void bput(struct bwriter *w, const void *p, size_t n)
{
    if (w->full || n > w->cap - w->len) {
        w->full = true;
        return;
    }
    memcpy(w->buf + w->len, p, n);
    w->len += n;
}

static void bput_varint(struct bwriter *w, uint64_t v)
{
    uint8_t tmp[AL__UVARINT_MAX];
    bput(w, tmp, al__uvarint_encode(v, tmp));
}

int al__maddr_encode(const al__maddr *m, uint8_t *buf, size_t cap)
{
    if (!m || (!buf && cap) || m->n == 0 || m->n > AL__MADDR_MAX_COMPONENTS)
        return AL_EINVAL;
    struct bwriter w = {buf, cap, 0, false};
    for (size_t i = 0; i < m->n; i++) {
        const al__maddr_comp *c = &m->c[i];
        const struct proto *p = by_code(c->code);
        if (!p)
            return AL_EINVAL;
        bput_varint(&w, c->code);
        uint8_t port[2] = {(uint8_t)(c->v.port >> 8), (uint8_t)c->v.port};
        size_t hl;
        switch (p->kind) {
        case V_IP4:
            bput(&w, c->v.ip4, 4);
            break;
        case V_IP6:
            bput(&w, c->v.ip6, 16);
            break;
        case V_PORT:
            bput(&w, port, 2);
            break;
        case V_DNS:
            hl = strnlen(c->v.host, sizeof(c->v.host));
            if (!valid_host(c->v.host, hl))
                return AL_EINVAL;
            bput_varint(&w, hl);
            bput(&w, c->v.host, hl);
            break;
        case V_P2P:
            if (c->v.peer.len == 0 || c->v.peer.len > AL_PEER_ID_MAX)
                return AL_EINVAL;
            bput_varint(&w, c->v.peer.len);
            bput(&w, c->v.peer.bytes, c->v.peer.len);
            break;
        case V_NONE:
            break;
        }
    }
    if (w.full)
        return AL_ELIMIT;
    return (int)w.len;
}

/* ------------------------------------------------------------ utilities */

static bool comp_equal(const al__maddr_comp *a, const al__maddr_comp *b)
{
    if (a->code != b->code)
        return false;
    const struct proto *p = by_code(a->code);
    switch (p ? p->kind : V_NONE) {
    case V_IP4:
        return memcmp(a->v.ip4, b->v.ip4, 4) == 0;
    case V_IP6:
        return memcmp(a->v.ip6, b->v.ip6, 16) == 0;
    case V_PORT:
        return a->v.port == b->v.port;
    case V_DNS:
        return strncmp(a->v.host, b->v.host, sizeof(a->v.host)) == 0;
    case V_P2P:
        return al_peer_id_equal(&a->v.peer, &b->v.peer);
    case V_NONE:
        break;
    }
    return true;
}

bool al__maddr_equal(const al__maddr *a, const al__maddr *b)
{
    if (a->n != b->n || a->n > AL__MADDR_MAX_COMPONENTS)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (!comp_equal(&a->c[i], &b->c[i]))
            return false;
    return true;
}

const al_peer_id *al__maddr_peer(const al__maddr *m)
{
    for (size_t i = m->n; i > 0; i--)
        if (m->c[i - 1].code == AL__MA_P2P)
            return &m->c[i - 1].v.peer;
    return NULL;
}

int al__maddr_push_p2p(al__maddr *m, const al_peer_id *peer)
{
    if (m->n >= AL__MADDR_MAX_COMPONENTS)
        return AL_ELIMIT;
    al__maddr_comp *c = &m->c[m->n++];
    memset(c, 0, sizeof(*c));
    c->code = AL__MA_P2P;
    c->v.peer = *peer;
    return 0;
}

static bool is_host(uint32_t code)
{
    return code == AL__MA_IP4 || code == AL__MA_IP6 || code == AL__MA_DNS ||
           code == AL__MA_DNS4 || code == AL__MA_DNS6;
}

/* Checks host/udp/quic-v1[/p2p] and says precisely what is wrong. */
static int check_quic_shape(const al__maddr *m, al_error *err)
{
    if (m->n == 0)
        return al_error_set(err, AL_EINVAL, "empty multiaddr");
    if (!is_host(m->c[0].code))
        return al_error_set(err, AL_EINVAL,
                            "a QUIC address starts with /ip4, /ip6, /dns, "
                            "/dns4 or /dns6, not /%s",
                            name_of(m->c[0].code));
    if (m->n < 2)
        return al_error_set(err, AL_EINVAL,
                            "missing /udp/PORT/quic-v1 after /%s",
                            name_of(m->c[0].code));
    if (m->c[1].code == AL__MA_TCP)
        return al_error_set(err, AL_EINVAL,
                            "TCP is not supported: use /udp/PORT/quic-v1");
    if (m->c[1].code != AL__MA_UDP)
        return al_error_set(err, AL_EINVAL, "expected /udp/PORT, found /%s",
                            name_of(m->c[1].code));
    if (m->n < 3)
        return al_error_set(err, AL_EINVAL, "missing /quic-v1 after /udp/%u",
                            (unsigned)m->c[1].v.port);
    if (m->c[2].code != AL__MA_QUIC_V1)
        return al_error_set(err, AL_EINVAL,
                            "expected /quic-v1 after /udp/%u, found /%s",
                            (unsigned)m->c[1].v.port, name_of(m->c[2].code));
    if (m->n > 3 && m->c[3].code != AL__MA_P2P)
        return al_error_set(err, AL_EINVAL, "unexpected /%s after /quic-v1",
                            name_of(m->c[3].code));
    if (m->n > 4)
        return al_error_set(err, AL_EINVAL, "unexpected /%s after /p2p",
                            name_of(m->c[4].code));
    return 0;
}

static void set_port(struct sockaddr_storage *ss, uint16_t port)
{
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = htons(port);
    else if (ss->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

int al__maddr_to_quic(const al__maddr *m, al__quic_addr *out, al_error *err)
{
    if (!m || !out)
        return al_error_set(err, AL_EINVAL, "invalid argument");
    int rc = check_quic_shape(m, err);
    if (rc < 0)
        return rc;
    memset(out, 0, sizeof(*out));
    const al__maddr_comp *h = &m->c[0];
    out->port = m->c[1].v.port;
    if (m->n == 4) {
        out->has_peer = true;
        out->peer = m->c[3].v.peer;
    }
    if (h->code == AL__MA_IP4) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&out->addr;
        sin->sin_family = AF_INET;
        memcpy(&sin->sin_addr, h->v.ip4, 4);
        out->family = AF_INET;
        out->addrlen = sizeof(*sin);
        inet_ntop(AF_INET, h->v.ip4, out->host, sizeof(out->host));
    } else if (h->code == AL__MA_IP6) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->addr;
        sin6->sin6_family = AF_INET6;
        memcpy(&sin6->sin6_addr, h->v.ip6, 16);
        out->family = AF_INET6;
        out->addrlen = sizeof(*sin6);
        inet_ntop(AF_INET6, h->v.ip6, out->host, sizeof(out->host));
    } else {
        out->is_dns = true;
        out->family = h->code == AL__MA_DNS4   ? AF_INET
                      : h->code == AL__MA_DNS6 ? AF_INET6
                                               : AF_UNSPEC;
        memcpy(out->host, h->v.host, sizeof(out->host));
    }
    set_port(&out->addr, out->port);
    return 0;
}

int al__maddr_to_quic_dial(const al__maddr *m, al__quic_addr *out,
                           al_error *err)
{
    int rc = al__maddr_to_quic(m, out, err);
    if (rc < 0)
        return rc;
    if (out->port == 0)
        return al_error_set(err, AL_EINVAL, "cannot dial port 0");
    static const uint8_t zero[16] = {0};
    const al__maddr_comp *h = &m->c[0];
    if ((h->code == AL__MA_IP4 && memcmp(h->v.ip4, zero, 4) == 0) ||
        (h->code == AL__MA_IP6 && memcmp(h->v.ip6, zero, 16) == 0))
        return al_error_set(err, AL_EINVAL,
                            "cannot dial the unspecified address %s",
                            out->host);
    return 0;
}

int al__maddr_resolve(al__quic_addr *q, al_error *err)
{
    if (!q)
        return al_error_set(err, AL_EINVAL, "invalid argument");
    if (!q->is_dns)
        return 0;
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = q->family;
    hints.ai_socktype = SOCK_DGRAM;
    int rc = getaddrinfo(q->host, NULL, &hints, &res);
    if (rc != 0 || !res)
        return al_error_set(err, AL_ENOTFOUND, "cannot resolve %s: %s", q->host,
                            gai_strerror(rc));
    if (res->ai_addrlen > sizeof(q->addr)) {
        freeaddrinfo(res);
        return al_error_set(err, AL_EIO, "unexpected address size for %s",
                            q->host);
    }
    memset(&q->addr, 0, sizeof(q->addr));
    memcpy(&q->addr, res->ai_addr, res->ai_addrlen);
    q->addrlen = (socklen_t)res->ai_addrlen;
    freeaddrinfo(res);
    set_port(&q->addr, q->port);
    return 0;
}

int al__maddr_from_sockaddr(al__maddr *out, const struct sockaddr *sa,
                            const al_peer_id *peer, al_error *err)
{
    if (!out || !sa)
        return al_error_set(err, AL_EINVAL, "invalid argument");
    memset(out, 0, sizeof(*out));
    al__maddr_comp *h = &out->c[0];
    uint16_t port;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
        h->code = AL__MA_IP4;
        memcpy(h->v.ip4, &sin->sin_addr, 4);
        port = ntohs(sin->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
        if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
            h->code = AL__MA_IP4;
            memcpy(h->v.ip4, sin6->sin6_addr.s6_addr + 12, 4);
        } else {
            h->code = AL__MA_IP6;
            memcpy(h->v.ip6, &sin6->sin6_addr, 16);
        }
        port = ntohs(sin6->sin6_port);
    } else {
        return al_error_set(err, AL_EINVAL,
                            "address family %d has no multiaddr form",
                            (int)sa->sa_family);
    }
    out->c[1].code = AL__MA_UDP;
    out->c[1].v.port = port;
    out->c[2].code = AL__MA_QUIC_V1;
    out->n = 3;
    if (peer) {
        if (peer->len == 0 || peer->len > AL_PEER_ID_MAX)
            return al_error_set(err, AL_EINVAL, "invalid peer id");
        al__maddr_push_p2p(out, peer);
    }
    return 0;
}

int al__maddr_sockaddr_text(const struct sockaddr *sa, const al_peer_id *peer,
                            char *buf, size_t cap, al_error *err)
{
    al__maddr m;
    int rc = al__maddr_from_sockaddr(&m, sa, peer, err);
    if (rc < 0)
        return rc;
    rc = al__maddr_format(&m, buf, cap);
    if (rc < 0)
        return al_error_set(err, rc, "multiaddr does not fit in %zu bytes",
                            cap);
    return rc;
}

int al__maddr_sockaddr_bytes(const struct sockaddr *sa, const al_peer_id *peer,
                             uint8_t *buf, size_t cap, al_error *err)
{
    al__maddr m;
    int rc = al__maddr_from_sockaddr(&m, sa, peer, err);
    if (rc < 0)
        return rc;
    rc = al__maddr_encode(&m, buf, cap);
    if (rc < 0)
        return al_error_set(err, rc, "multiaddr does not fit in %zu bytes",
                            cap);
    return rc;
}
