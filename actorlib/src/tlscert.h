/* libp2p TLS certificates (libp2p/specs tls/tls.md).
 *
 * Each side of a libp2p QUIC connection presents one self-signed X.509
 * certificate. Its key is an ephemeral ECDSA P-256 key (signature
 * ecdsa-with-SHA256) unrelated to the host identity; the host identity
 * enters through the libp2p Public Key Extension (OID 1.3.6.1.4.1.53594.1.1,
 * marked critical), whose value is the DER
 *
 *   SignedKey ::= SEQUENCE { publicKey OCTET STRING, signature OCTET STRING }
 *
 * publicKey = the host's PublicKey protobuf (08 01 12 20 <Ed25519 key>),
 * signature = Ed25519 signature by the host key over
 *             "libp2p-tls-handshake:" || DER SubjectPublicKeyInfo of the
 *             certificate's key.
 *
 * How the QUIC transport uses this module:
 *   - once per node (or per connection): al__tlscert_generate(host, &cert),
 *     then al__tlscert_set_credentials(&cert, cred) on the GnuTLS
 *     certificate credentials of both roles; keep cert until the
 *     credentials are freed or just free it (GnuTLS copies what it loads).
 *   - in the GnuTLS verify hook (gnutls_session_set_verify_function): require
 *     exactly one peer certificate (gnutls_certificate_get_peers), pass its
 *     DER to al__tlscert_verify with the expected peer id (the dialed /p2p/
 *     part, or NULL on the server side) and return non-zero from the hook on
 *     any negative result. Do not call gnutls_certificate_verify_peers*:
 *     there is no CA, and the critical libp2p extension is unknown to GnuTLS.
 *     GnuTLS itself checks the handshake's CertificateVerify against the
 *     certificate key before the hook runs.
 *
 * Every function here is thread-safe and keeps no global state. */
#ifndef AL_TLSCERT_H
#define AL_TLSCERT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <gnutls/gnutls.h>

#include "actorlib.h"

#define AL__LIBP2P_EXT_OID  "1.3.6.1.4.1.53594.1.1"
#define AL__TLS_SIGN_PREFIX "libp2p-tls-handshake:"
/* Peer certificates longer than this are refused unparsed. */
#define AL__TLSCERT_MAX_DER 16384
/* Bounds on the SignedKey fields a peer may send. */
#define AL__SIGNED_KEY_MAX 8192

/* A generated certificate and its private key. Owns every buffer; release
 * with al__tlscert_free (which wipes the key). */
typedef struct al__tlscert {
    uint8_t *cert_der; /* the certificate, DER */
    size_t cert_der_len;
    char *cert_pem; /* the same, PEM "CERTIFICATE", NUL-terminated */
    size_t cert_pem_len;
    char *key_pem; /* its ECDSA P-256 key, PKCS#8 PEM, NUL-terminated */
    size_t key_pem_len;
} al__tlscert;

/* Makes a fresh P-256 key and a self-signed certificate for host (borrowed):
 * serial random, subject = issuer = CN=libp2p, valid from one hour ago to
 * 9999-12-31 23:59:59 UTC, the libp2p extension critical, signed
 * ecdsa-with-SHA256. *out is zeroed first and owned by the caller on
 * success; on failure it holds nothing. */
int al__tlscert_generate(const al_identity *host, al__tlscert *out,
                         al_error *err);

/* Frees and wipes what al__tlscert_generate filled; leaves *c zeroed. */
void al__tlscert_free(al__tlscert *c);

/* Loads cert and key into GnuTLS credentials
 * (gnutls_certificate_set_x509_key_mem, PEM). GnuTLS keeps its own copy. */
int al__tlscert_set_credentials(const al__tlscert *c,
                                gnutls_certificate_credentials_t cred,
                                al_error *err);

/* Verifies a peer's certificate (DER, len bytes) the way libp2p requires,
 * at the current time:
 *   - one well-formed DER certificate, nothing after it, at most
 *     AL__TLSCERT_MAX_DER bytes; no issuer/subject unique ids;
 *   - notBefore <= now <= notAfter;
 *   - its self-signature is valid (OpenSSL X509_verify with its own key);
 *   - exactly one libp2p extension (critical or not) and no other critical
 *     extension;
 *   - the SignedKey parses (strict DER), its PublicKey protobuf parses and
 *     is an Ed25519 key: RSA, Secp256k1 and ECDSA host keys are refused
 *     with "unsupported host key type";
 *   - the host key's signature over prefix || certificate SPKI is valid.
 * Then the peer id is derived from the host key into *out_peer (may be
 * NULL) and, when expected is not NULL, compared with it.
 *
 * Returns 0 when the certificate proves the peer id; AL_EPEERID when it is
 * valid but proves another peer (*out_peer then says which); AL_EDECODE for
 * malformed bytes; AL_ECRYPTO for every other failure (err says which). Any
 * negative result means the handshake must be aborted. */
int al__tlscert_verify(const uint8_t *der, size_t len,
                       const al_peer_id *expected, al_peer_id *out_peer,
                       al_error *err);

/* As al__tlscert_verify, with "now" given (seconds since the epoch). */
int al__tlscert_verify_at(const uint8_t *der, size_t len, time_t now,
                          const al_peer_id *expected, al_peer_id *out_peer,
                          al_error *err);

/* The two fields of a SignedKey, borrowed from the parsed buffer. */
typedef struct al__signed_key {
    const uint8_t *pubkey; /* PublicKey protobuf */
    size_t pubkey_len;
    const uint8_t *sig;
    size_t sig_len;
} al__signed_key;

/* Parses SignedKey DER strictly: definite minimal lengths, two OCTET
 * STRINGs of 1..AL__SIGNED_KEY_MAX bytes, nothing after. AL_EDECODE with a
 * sentence otherwise. */
int al__signed_key_parse(const uint8_t *der, size_t len, al__signed_key *out,
                         al_error *err);

/* Writes SignedKey DER into out[0..cap); returns its length, AL_ELIMIT when
 * it does not fit, AL_EINVAL for fields longer than AL__SIGNED_KEY_MAX. */
int al__signed_key_encode(const uint8_t *pubkey, size_t pubkey_len,
                          const uint8_t *sig, size_t sig_len, uint8_t *out,
                          size_t cap);

#endif
