/* Multiaddrs (multiformats/multiaddr): the parsed form, text and binary
 * codecs, and the conversions the QUIC transport needs.
 *
 * Supported protocols (name, code, value):
 *   /ip4/A.B.C.D     0x04    4 bytes
 *   /ip6/ADDR        0x29    16 bytes (no zone; /ip6zone is not supported)
 *   /tcp/PORT        0x06    2 bytes big endian (parsed, never dialed)
 *   /udp/PORT        0x0111  2 bytes big endian
 *   /quic-v1         0x01cd  no value (RFC 9000 QUIC v1)
 *   /p2p/PEERID      0x01a5  varint length + multihash ("/ipfs/" is read as
 *                            an alias and always written back as "/p2p/")
 *   /dns/NAME        0x35    varint length + name (also /dns4 0x36, /dns6
 *                            0x37: resolve to IPv4 only / IPv6 only)
 * DNS names are 1..255 characters of [A-Za-z0-9.-_]; this keeps every name
 * printable in text form and free of '/'.
 *
 * The parsed form (al__maddr) is a plain value that lives on the stack or
 * inside another struct: no allocation anywhere in this module. Every
 * function that reads text or bytes treats them as untrusted. */
#ifndef AL_MULTIADDR_H
#define AL_MULTIADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "actorlib.h"

#define AL__MADDR_MAX_COMPONENTS 16
#define AL__MADDR_MAX_TEXT       1024 /* characters, without the NUL */
#define AL__MADDR_MAX_BYTES      1024
#define AL__MADDR_HOST_MAX       255

enum al__maddr_code {
    AL__MA_IP4 = 0x04,
    AL__MA_TCP = 0x06,
    AL__MA_IP6 = 0x29,
    AL__MA_DNS = 0x35,
    AL__MA_DNS4 = 0x36,
    AL__MA_DNS6 = 0x37,
    AL__MA_UDP = 0x0111,
    AL__MA_P2P = 0x01a5,
    AL__MA_QUIC_V1 = 0x01cd,
};

/* One protocol and its value; which union member is set follows code. */
typedef struct al__maddr_comp {
    uint32_t code;
    union {
        uint8_t ip4[4];
        uint8_t ip6[16];
        uint16_t port;                     /* tcp, udp (host order) */
        char host[AL__MADDR_HOST_MAX + 1]; /* dns, dns4, dns6: NUL-ended */
        al_peer_id peer;                   /* p2p */
    } v;
} al__maddr_comp;

typedef struct al__maddr {
    size_t n; /* at least 1 after a successful parse */
    al__maddr_comp c[AL__MADDR_MAX_COMPONENTS];
} al__maddr;

/* Parses text ("/ip4/127.0.0.1/udp/4001/quic-v1/p2p/12D3KooW..."). One
 * trailing '/' is allowed. AL_EDECODE with a sentence in err for anything
 * else: unknown protocol, bad IP, port > 65535, missing value, empty
 * component, bad peer id; AL_ELIMIT beyond AL__MADDR_MAX_TEXT characters or
 * AL__MADDR_MAX_COMPONENTS components. */
int al__maddr_parse(al__maddr *out, const char *text, al_error *err);
/* As al__maddr_parse on text[0..len) (need not be NUL-terminated; an
 * embedded NUL is an error). */
int al__maddr_parse_n(al__maddr *out, const char *text, size_t len,
                      al_error *err);

/* Parses the binary form (varint code, then the value). Strict: minimal
 * varints, exact value sizes, nothing left over, so that encoding the result
 * gives back the same bytes. Errors as al__maddr_parse. */
int al__maddr_decode(al__maddr *out, const uint8_t *buf, size_t len,
                     al_error *err);

/* Writes canonical text and a NUL into buf[0..cap). Returns the text length
 * or AL_ELIMIT when cap is too small (AL__MADDR_MAX_TEXT + 1 always
 * suffices for a parsed multiaddr), AL_EINVAL for an invalid al__maddr. */
int al__maddr_format(const al__maddr *m, char *buf, size_t cap);

/* Writes the binary form into buf[0..cap). Returns its length, AL_ELIMIT
 * when cap is too small (AL__MADDR_MAX_BYTES always suffices), AL_EINVAL for
 * an invalid al__maddr. */
int al__maddr_encode(const al__maddr *m, uint8_t *buf, size_t cap);

/* Component-wise equality. */
bool al__maddr_equal(const al__maddr *a, const al__maddr *b);

/* The peer id of the last /p2p component, or NULL. Borrowed from m. */
const al_peer_id *al__maddr_peer(const al__maddr *m);

/* Appends /p2p/<peer>. AL_ELIMIT when m is full. */
int al__maddr_push_p2p(al__maddr *m, const al_peer_id *peer);

/* ------------------------------------------------------------ QUIC */

/* Where a /ip4|ip6|dns|dns4|dns6/HOST/udp/PORT/quic-v1[/p2p/ID] multiaddr
 * points. For /ip4 and /ip6, addr is ready; for /dns*, call
 * al__maddr_resolve (blocking) or resolve host with family as hints with
 * uv_getaddrinfo on the loop, then set the port. */
typedef struct al__quic_addr {
    bool is_dns;
    int family;                        /* AF_INET, AF_INET6 or AF_UNSPEC */
    char host[AL__MADDR_HOST_MAX + 1]; /* DNS name, or the IP as text */
    uint16_t port;                     /* host order; may be 0 */
    struct sockaddr_storage addr;      /* valid when addrlen != 0 */
    socklen_t addrlen;
    bool has_peer;
    al_peer_id peer; /* the /p2p/ part, when has_peer */
} al__quic_addr;

/* Checks that m is a QUIC v1 address (shape above) and fills out. Any other
 * shape (TCP, /quic draft-29, a missing /udp or /quic-v1, protocols after
 * /p2p) fails with AL_EINVAL and a sentence saying what is wrong. Port 0 and
 * unspecified addresses are allowed: this is also how listen addresses are
 * read. */
int al__maddr_to_quic(const al__maddr *m, al__quic_addr *out, al_error *err);

/* As al__maddr_to_quic, for dialing: port 0 and the unspecified addresses
 * (0.0.0.0, ::) are refused with AL_EINVAL. */
int al__maddr_to_quic_dial(const al__maddr *m, al__quic_addr *out,
                           al_error *err);

/* Fills q->addr for a DNS address with getaddrinfo (blocking: never call it
 * on the loop thread; there use uv_getaddrinfo with q->host and q->family).
 * No-op for IP addresses. AL_ENOTFOUND when the name does not resolve. */
int al__maddr_resolve(al__quic_addr *q, al_error *err);

/* Builds /ip4|ip6/ADDR/udp/PORT/quic-v1[/p2p/PEER] from a socket address
 * (AF_INET or AF_INET6; an IPv4-mapped IPv6 address becomes /ip4). peer may
 * be NULL. AL_EINVAL for another family. */
int al__maddr_from_sockaddr(al__maddr *out, const struct sockaddr *sa,
                            const al_peer_id *peer, al_error *err);

/* al__maddr_from_sockaddr + al__maddr_format: the text form, e.g. for
 * al_swarm_listen_addrs. Returns the length or a negative code. */
int al__maddr_sockaddr_text(const struct sockaddr *sa, const al_peer_id *peer,
                            char *buf, size_t cap, al_error *err);

/* al__maddr_from_sockaddr + al__maddr_encode: the binary form, e.g. for
 * identify's listenAddrs / observedAddr. Returns the length or a negative
 * code. */
int al__maddr_sockaddr_bytes(const struct sockaddr *sa, const al_peer_id *peer,
                             uint8_t *buf, size_t cap, al_error *err);

#endif
