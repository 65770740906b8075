/* libp2p TLS certificates: generation (OpenSSL) and verification. */
#include "tlscert.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "identity.h"
#include "peerid.h"

#define PREFIX_LEN (sizeof(AL__TLS_SIGN_PREFIX) - 1)
/* A SubjectPublicKeyInfo longer than this (RSA-8192 is about 1.1 KiB) is
 * not one we want to sign or check. */
#define SPKI_MAX 2048

/* DER of 1.3.6.1.4.1.53594.1.1 without tag and length. */
static const uint8_t libp2p_oid[] = {0x2b, 0x06, 0x01, 0x04, 0x01,
                                     0x83, 0xa2, 0x5a, 0x01, 0x01};

static int ossl_fail(al_error *err, int code, const char *what)
{
    unsigned long e = ERR_peek_last_error();
    char detail[128] = "";
    if (e)
        ERR_error_string_n(e, detail, sizeof(detail));
    ERR_clear_error();
    if (detail[0])
        return al_error_set(err, code, "%s (%s)", what, detail);
    return al_error_set(err, code, "%s", what);
}

/* ------------------------------------------------------------ SignedKey */

/* Reads one DER tag-length header at *pos; the content must fit in len. */
static int der_header(const uint8_t *d, size_t len, size_t *pos, uint8_t tag,
                      size_t *clen)
{
    size_t p = *pos;
    if (len - p < 2 || d[p] != tag)
        return -1;
    p++;
    size_t l = d[p++];
    if (l == 0x81) {
        if (len - p < 1 || d[p] < 0x80)
            return -1; /* not minimal */
        l = d[p++];
    } else if (l == 0x82) {
        if (len - p < 2 || d[p] == 0 || (d[p] << 8 | d[p + 1]) < 0x100)
            return -1; /* not minimal */
        l = (size_t)(d[p] << 8 | d[p + 1]);
        p += 2;
    } else if (l >= 0x80) {
        return -1; /* indefinite, or longer than we ever accept */
    }
    if (l > len - p)
        return -1;
    *pos = p;
    *clen = l;
    return 0;
}

int al__signed_key_parse(const uint8_t *der, size_t len, al__signed_key *out,
                         al_error *err)
{
    if (!der || !out)
        return al_error_set(err, AL_EINVAL, "invalid argument");
    size_t pos = 0, seq, a, b;
    if (der_header(der, len, &pos, 0x30, &seq) < 0 || pos + seq != len)
        return al_error_set(err, AL_EDECODE,
                            "libp2p extension: SignedKey is not one DER "
                            "SEQUENCE");
    if (der_header(der, len, &pos, 0x04, &a) < 0)
        return al_error_set(err, AL_EDECODE,
                            "libp2p extension: bad publicKey OCTET STRING");
    out->pubkey = der + pos;
    out->pubkey_len = a;
    pos += a;
    if (der_header(der, len, &pos, 0x04, &b) < 0)
        return al_error_set(err, AL_EDECODE,
                            "libp2p extension: bad signature OCTET STRING");
    out->sig = der + pos;
    out->sig_len = b;
    pos += b;
    if (pos != len)
        return al_error_set(err, AL_EDECODE,
                            "libp2p extension: unexpected bytes after the "
                            "signature");
    if (a == 0 || b == 0 || a > AL__SIGNED_KEY_MAX || b > AL__SIGNED_KEY_MAX)
        return al_error_set(err, AL_EDECODE,
                            "libp2p extension: field of %zu/%zu bytes (1 to "
                            "%d allowed)",
                            a, b, AL__SIGNED_KEY_MAX);
    return 0;
}

static size_t der_len_size(size_t l)
{
    return l < 0x80 ? 1 : l < 0x100 ? 2 : 3;
}

static size_t der_put_header(uint8_t *o, uint8_t tag, size_t l)
{
    o[0] = tag;
    if (l < 0x80) {
        o[1] = (uint8_t)l;
        return 2;
    }
    if (l < 0x100) {
        o[1] = 0x81;
        o[2] = (uint8_t)l;
        return 3;
    }
    o[1] = 0x82;
    o[2] = (uint8_t)(l >> 8);
    o[3] = (uint8_t)l;
    return 4;
}

int al__signed_key_encode(const uint8_t *pubkey, size_t pubkey_len,
                          const uint8_t *sig, size_t sig_len, uint8_t *out,
                          size_t cap)
{
    if (pubkey_len > AL__SIGNED_KEY_MAX || sig_len > AL__SIGNED_KEY_MAX)
        return AL_EINVAL;
    size_t inner = 1 + der_len_size(pubkey_len) + pubkey_len + 1 +
                   der_len_size(sig_len) + sig_len;
    if (inner > 0xffff)
        return AL_EINVAL;
    size_t total = 1 + der_len_size(inner) + inner;
    if (total > cap)
        return AL_ELIMIT;
    size_t p = der_put_header(out, 0x30, inner);
    p += der_put_header(out + p, 0x04, pubkey_len);
    memcpy(out + p, pubkey, pubkey_len);
    p += pubkey_len;
    p += der_put_header(out + p, 0x04, sig_len);
    memcpy(out + p, sig, sig_len);
    p += sig_len;
    return (int)p;
}

/* ------------------------------------------------------------ generation */

/* "libp2p-tls-handshake:" || SPKI DER of the certificate's key. */
static int handshake_message(X509 *x, uint8_t *msg, size_t cap, size_t *len)
{
    unsigned char *spki = NULL;
    int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki);
    if (n <= 0 || (size_t)n > SPKI_MAX || PREFIX_LEN + (size_t)n > cap) {
        OPENSSL_free(spki);
        ERR_clear_error();
        return -1;
    }
    memcpy(msg, AL__TLS_SIGN_PREFIX, PREFIX_LEN);
    memcpy(msg + PREFIX_LEN, spki, (size_t)n);
    *len = PREFIX_LEN + (size_t)n;
    OPENSSL_free(spki);
    return 0;
}

static int add_libp2p_ext(X509 *x, const al_identity *host, al_error *err)
{
    uint8_t msg[PREFIX_LEN + SPKI_MAX];
    size_t mlen;
    if (handshake_message(x, msg, sizeof(msg), &mlen) < 0)
        return al_error_set(err, AL_ECRYPTO,
                            "cannot encode the certificate key");
    uint8_t sig[AL__ED25519_SIG_LEN];
    if (al__identity_sign(host, msg, mlen, sig) < 0)
        return al_error_set(err, AL_ECRYPTO,
                            "cannot sign the certificate key with the host "
                            "key");
    uint8_t proto[AL__ED25519_PUBKEY_PROTO_LEN];
    al__identity_pubkey_proto(host, proto);
    uint8_t der[160];
    int dlen = al__signed_key_encode(proto, sizeof(proto), sig, sizeof(sig),
                                     der, sizeof(der));
    if (dlen < 0)
        return al_error_set(err, AL_ECRYPTO, "cannot encode SignedKey");
    ASN1_OBJECT *obj = OBJ_txt2obj(AL__LIBP2P_EXT_OID, 1);
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    X509_EXTENSION *ext = NULL;
    int ok = obj && os && ASN1_OCTET_STRING_set(os, der, dlen) &&
             (ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 1, os)) &&
             X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(obj);
    if (!ok)
        return ossl_fail(err, AL_ECRYPTO, "cannot add the libp2p extension");
    return 0;
}

static int fill_fields(X509 *x, EVP_PKEY *ck, al_error *err)
{
    uint64_t serial = 0;
    if (RAND_bytes((unsigned char *)&serial, sizeof(serial)) != 1)
        return ossl_fail(err, AL_ECRYPTO, "no randomness for the serial");
    serial = (serial & INT64_MAX) | 1; /* positive, non-zero */
    X509_NAME *name = X509_get_subject_name(x);
    int ok =
        X509_set_version(x, X509_VERSION_3) &&
        ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial) &&
        X509_gmtime_adj(X509_getm_notBefore(x), -3600) &&
        ASN1_TIME_set_string_X509(X509_getm_notAfter(x), "99991231235959Z") &&
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   (const unsigned char *)"libp2p", -1, -1,
                                   0) &&
        X509_set_issuer_name(x, name) && X509_set_pubkey(x, ck);
    if (!ok)
        return ossl_fail(err, AL_ECRYPTO, "cannot fill the certificate");
    return 0;
}

/* Copies a memory BIO's contents into a NUL-terminated malloc'd string. */
static char *bio_to_string(BIO *bio, size_t *len)
{
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    if (n <= 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (!s)
        return NULL;
    memcpy(s, data, (size_t)n);
    s[n] = '\0';
    *len = (size_t)n;
    return s;
}

static int export_cert(X509 *x, EVP_PKEY *ck, al__tlscert *out, al_error *err)
{
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);
    if (n <= 0)
        return ossl_fail(err, AL_ECRYPTO, "cannot encode the certificate");
    out->cert_der = malloc((size_t)n);
    if (out->cert_der) {
        memcpy(out->cert_der, der, (size_t)n);
        out->cert_der_len = (size_t)n;
    }
    OPENSSL_free(der);
    BIO *cb = BIO_new(BIO_s_mem());
    BIO *kb = BIO_new(BIO_s_secmem());
    if (cb && kb && PEM_write_bio_X509(cb, x) &&
        PEM_write_bio_PrivateKey(kb, ck, NULL, NULL, 0, NULL, NULL)) {
        out->cert_pem = bio_to_string(cb, &out->cert_pem_len);
        out->key_pem = bio_to_string(kb, &out->key_pem_len);
    }
    BIO_free(cb);
    BIO_free(kb);
    ERR_clear_error();
    if (!out->cert_der || !out->cert_pem || !out->key_pem)
        return al_error_set(err, AL_ENOMEM, "cannot export the certificate");
    return 0;
}

int al__tlscert_generate(const al_identity *host, al__tlscert *out,
                         al_error *err)
{
    if (!host || !out)
        return al_error_set(err, AL_EINVAL, "invalid argument");
    memset(out, 0, sizeof(*out));
    int rc = 0;
    X509 *x = NULL;
    EVP_PKEY *ck = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (!ck) {
        rc = ossl_fail(err, AL_ECRYPTO, "P-256 key generation failed");
        goto fail;
    }
    x = X509_new();
    if (!x) {
        rc = al_error_set(err, AL_ENOMEM, "out of memory");
        goto fail;
    }
    if ((rc = fill_fields(x, ck, err)) < 0 ||
        (rc = add_libp2p_ext(x, host, err)) < 0)
        goto fail;
    if (X509_sign(x, ck, EVP_sha256()) <= 0) {
        rc = ossl_fail(err, AL_ECRYPTO, "cannot sign the certificate");
        goto fail;
    }
    rc = export_cert(x, ck, out, err);
fail:
    X509_free(x);
    EVP_PKEY_free(ck);
    if (rc < 0)
        al__tlscert_free(out);
    return rc;
}

void al__tlscert_free(al__tlscert *c)
{
    if (!c)
        return;
    free(c->cert_der);
    free(c->cert_pem);
    if (c->key_pem)
        OPENSSL_cleanse(c->key_pem, c->key_pem_len);
    free(c->key_pem);
    memset(c, 0, sizeof(*c));
}

int al__tlscert_set_credentials(const al__tlscert *c,
                                gnutls_certificate_credentials_t cred,
                                al_error *err)
{
    if (!c || !cred || !c->cert_pem || !c->key_pem)
        return al_error_set(err, AL_EINVAL, "invalid argument");
    gnutls_datum_t cert = {(unsigned char *)c->cert_pem,
                           (unsigned int)c->cert_pem_len};
    gnutls_datum_t key = {(unsigned char *)c->key_pem,
                          (unsigned int)c->key_pem_len};
    int rc = gnutls_certificate_set_x509_key_mem(cred, &cert, &key,
                                                 GNUTLS_X509_FMT_PEM);
    if (rc < 0)
        return al_error_set(err, AL_ECRYPTO,
                            "GnuTLS refused the certificate: %s",
                            gnutls_strerror(rc));
    return 0;
}

/* ------------------------------------------------------------ verify */

static bool is_libp2p_ext(X509_EXTENSION *ext)
{
    const ASN1_OBJECT *obj = X509_EXTENSION_get_object(ext);
    return OBJ_length(obj) == sizeof(libp2p_oid) &&
           memcmp(OBJ_get0_data(obj), libp2p_oid, sizeof(libp2p_oid)) == 0;
}

/* RFC 5280: valid from notBefore through notAfter, both inclusive. */
static int check_validity(X509 *x, time_t now, al_error *err)
{
    int nb = ASN1_TIME_cmp_time_t(X509_get0_notBefore(x), now);
    int na = ASN1_TIME_cmp_time_t(X509_get0_notAfter(x), now);
    if (nb == -2 || na == -2)
        return ossl_fail(err, AL_ECRYPTO,
                         "certificate has an unreadable validity time");
    if (nb > 0)
        return al_error_set(err, AL_ECRYPTO, "certificate is not yet valid");
    if (na < 0)
        return al_error_set(err, AL_ECRYPTO, "certificate has expired");
    return 0;
}

/* Finds the one libp2p extension; refuses other critical extensions. */
static int find_libp2p_ext(X509 *x, const ASN1_OCTET_STRING **value,
                           al_error *err)
{
    *value = NULL;
    int n = X509_get_ext_count(x);
    for (int i = 0; i < n; i++) {
        X509_EXTENSION *ext = X509_get_ext(x, i);
        if (is_libp2p_ext(ext)) {
            if (*value)
                return al_error_set(err, AL_ECRYPTO,
                                    "certificate has two libp2p extensions");
            *value = X509_EXTENSION_get_data(ext);
        } else if (X509_EXTENSION_get_critical(ext)) {
            char oid[80];
            OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(ext), 1);
            return al_error_set(err, AL_ECRYPTO,
                                "certificate has an unsupported critical "
                                "extension %s",
                                oid);
        }
    }
    if (!*value)
        return al_error_set(err, AL_ECRYPTO,
                            "certificate lacks the libp2p public key "
                            "extension");
    return 0;
}

/* Checks the SignedKey against the certificate key; gives the peer id. */
static int check_signed_key(X509 *x, const ASN1_OCTET_STRING *value,
                            al_peer_id *peer, al_error *err)
{
    al__signed_key sk;
    int rc = al__signed_key_parse(ASN1_STRING_get0_data(value),
                                  (size_t)ASN1_STRING_length(value), &sk, err);
    if (rc < 0)
        return rc;
    al__key_proto kp;
    rc = al__key_proto_parse(sk.pubkey, sk.pubkey_len, "host public key", &kp,
                             err);
    if (rc < 0)
        return rc;
    if (kp.type != AL__KEY_ED25519)
        return al_error_set(err, AL_ECRYPTO,
                            "unsupported host key type %s (only Ed25519 host "
                            "keys are accepted)",
                            al__key_type_name(kp.type));
    if (kp.len != AL__ED25519_PUB_LEN)
        return al_error_set(err, AL_EDECODE,
                            "Ed25519 host key of %zu bytes, not 32", kp.len);
    if (sk.sig_len != AL__ED25519_SIG_LEN)
        return al_error_set(err, AL_ECRYPTO,
                            "Ed25519 host key signature of %zu bytes, not 64",
                            sk.sig_len);
    uint8_t msg[PREFIX_LEN + SPKI_MAX];
    size_t mlen;
    if (handshake_message(x, msg, sizeof(msg), &mlen) < 0)
        return al_error_set(err, AL_ECRYPTO,
                            "certificate key cannot be encoded");
    if (al__ed25519_verify(kp.data, msg, mlen, sk.sig) < 0)
        return al_error_set(err, AL_ECRYPTO,
                            "host key signature over the certificate key is "
                            "invalid");
    al__peer_id_from_ed25519(kp.data, peer);
    return 0;
}

static int verify_x509(X509 *x, time_t now, al_peer_id *peer, al_error *err)
{
    const ASN1_BIT_STRING *iuid = NULL, *suid = NULL;
    X509_get0_uids(x, &iuid, &suid);
    if (iuid || suid)
        return al_error_set(err, AL_ECRYPTO,
                            "certificate carries issuer/subject unique ids");
    int rc = check_validity(x, now, err);
    if (rc < 0)
        return rc;
    EVP_PKEY *ck = X509_get0_pubkey(x);
    if (!ck || X509_verify(x, ck) != 1)
        return ossl_fail(err, AL_ECRYPTO,
                         "certificate self-signature is invalid");
    const ASN1_OCTET_STRING *value;
    rc = find_libp2p_ext(x, &value, err);
    if (rc < 0)
        return rc;
    return check_signed_key(x, value, peer, err);
}

int al__tlscert_verify_at(const uint8_t *der, size_t len, time_t now,
                          const al_peer_id *expected, al_peer_id *out_peer,
                          al_error *err)
{
    if (!der || len == 0)
        return al_error_set(err, AL_EDECODE, "empty certificate");
    if (len > AL__TLSCERT_MAX_DER)
        return al_error_set(err, AL_EDECODE,
                            "certificate too long (%zu bytes, at most %d)", len,
                            AL__TLSCERT_MAX_DER);
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (!x)
        return ossl_fail(err, AL_EDECODE, "certificate is not valid DER X.509");
    int rc;
    al_peer_id peer;
    if (p != der + len)
        rc = al_error_set(err, AL_EDECODE,
                          "%zu unexpected bytes after the certificate",
                          (size_t)(der + len - p));
    else
        rc = verify_x509(x, now, &peer, err);
    X509_free(x);
    ERR_clear_error();
    if (rc < 0)
        return rc;
    if (out_peer)
        *out_peer = peer;
    if (expected && !al_peer_id_equal(expected, &peer)) {
        char want[AL_PEER_ID_STRLEN] = "?", got[AL_PEER_ID_STRLEN] = "?";
        al_peer_id_format(expected, want, sizeof(want));
        al_peer_id_format(&peer, got, sizeof(got));
        return al_error_set(err, AL_EPEERID,
                            "peer id mismatch: expected %s, the certificate "
                            "proves %s",
                            want, got);
    }
    return 0;
}

int al__tlscert_verify(const uint8_t *der, size_t len,
                       const al_peer_id *expected, al_peer_id *out_peer,
                       al_error *err)
{
    return al__tlscert_verify_at(der, len, time(NULL), expected, out_peer, err);
}
