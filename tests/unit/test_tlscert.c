/* tlscert.c: the libp2p TLS spec's certificate vectors, our own
 * certificates, certificates built to break one rule each, the SignedKey
 * parser, and a real TLS 1.3 handshake through GnuTLS with the verify
 * hook the QUIC transport will use. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "actorlib.h"
#include "identity.h"
#include "peerid.h"
#include "tlscert.h"

/* libp2p/specs tls/tls.md, "Test vectors" 1 to 4. */
static const char tls_vector1[] =
    "308201ae30820156a0030201020204499602d2300a06082a8648ce3d040302302031"
    "123010060355040a13096c69627032702e696f310a30080603550405130131302017"
    "0d3735303130313133303030305a180f34303936303130313133303030305a302031"
    "123010060355040a13096c69627032702e696f310a30080603550405130131305930"
    "1306072a8648ce3d020106082a8648ce3d030107034200040c901d423c831ca85e27"
    "c73c263ba132721bb9d7a84c4f0380b2a6756fd601331c8870234dec878504c17414"
    "4fa4b14b66a651691606d8173e55bd37e381569ea37c307a3078060a2b0601040183"
    "a25a0101046a3068042408011220a77f1d92fedb59dddaea5a1c4abd1ac2fbde7d7b"
    "879ed364501809923d7c11b90440d90d2769db992d5e6195dbb08e706b6651e024fd"
    "a6cfb8846694a435519941cac215a8207792e42849cccc6cd8136c6e4bde92a58c5e"
    "08cfd4206eb5fe0bf909300a06082a8648ce3d0403020346003043021f50f6b6c527"
    "11a881778718238f650c9fb48943ae6ee6d28427dc6071ae55e702203625f116a7a4"
    "54db9c56986c82a25682f7248ea1cb764d322ea983ed36a31b77";
static const char tls_vector2[] =
    "308201f63082019da0030201020204499602d2300a06082a8648ce3d040302302031"
    "123010060355040a13096c69627032702e696f310a30080603550405130131302017"
    "0d3735303130313133303030305a180f34303936303130313133303030305a302031"
    "123010060355040a13096c69627032702e696f310a30080603550405130131305930"
    "1306072a8648ce3d020106082a8648ce3d030107034200040c901d423c831ca85e27"
    "c73c263ba132721bb9d7a84c4f0380b2a6756fd601331c8870234dec878504c17414"
    "4fa4b14b66a651691606d8173e55bd37e381569ea381c23081bf3081bc060a2b0601"
    "040183a25a01010481ad3081aa045f0803125b3059301306072a8648ce3d02010608"
    "2a8648ce3d03010703420004bf30511f909414ebdd3242178fd290f093a551cf75c9"
    "73155de0bb5a96fedf6cb5d52da7563e794b512f66e60c7f55ba8a3acf3dd72a8019"
    "80d205e8a1ad29f2044730450220064ea8124774caf8f50e57f436aa62350ce65241"
    "8c019df5d98a3ac666c9386a022100aa59d704a931b5f72fb9222cb6cc51f954d04a"
    "4e2e5450f8805fe8918f71eaae300a06082a8648ce3d040302034700304402207993"
    "95b0b6c1e940a7e4484705f610ab51ed376f19ff9d7c16757cfbf61b8d4302206205"
    "c03fbb0f95205c779be86581d3e31c01871ad5d1f3435bcf375cb0e5088a";
static const char tls_vector3[] =
    "308201ba3082015fa0030201020204499602d2300a06082a8648ce3d040302302031"
    "123010060355040a13096c69627032702e696f310a30080603550405130131302017"
    "0d3735303130313133303030305a180f34303936303130313133303030305a302031"
    "123010060355040a13096c69627032702e696f310a30080603550405130131305930"
    "1306072a8648ce3d020106082a8648ce3d030107034200040c901d423c831ca85e27"
    "c73c263ba132721bb9d7a84c4f0380b2a6756fd601331c8870234dec878504c17414"
    "4fa4b14b66a651691606d8173e55bd37e381569ea38184308181307f060a2b060104"
    "0183a25a01010471306f0425080212210206dc6968726765b820f050263ececf7f71"
    "e4955892776c0970542efd689d2382044630440220145e15a991961f0d08cd15425b"
    "b95ec93f6ffa03c5a385eedc34ecf464c7a8ab022026b3109b8a3f40ef833169777e"
    "b2aa337cfb6282f188de0666d1bcec2a4690dd300a06082a8648ce3d040302034900"
    "3046022100e1a217eeef9ec9204b3f774a08b70849646b6a1e6b8b27f93dc00ed585"
    "45d9fe022100b00dafa549d0f03547878338c7b15e7502888f6d45db387e5ae6b5d4"
    "6899cef0";
static const char tls_vector4[] =
    "308201f73082019da0030201020204499602d2300a06082a8648ce3d040302302031"
    "123010060355040a13096c69627032702e696f310a30080603550405130131302017"
    "0d3735303130313133303030305a180f34303936303130313133303030305a302031"
    "123010060355040a13096c69627032702e696f310a30080603550405130131305930"
    "1306072a8648ce3d020106082a8648ce3d030107034200040c901d423c831ca85e27"
    "c73c263ba132721bb9d7a84c4f0380b2a6756fd601331c8870234dec878504c17414"
    "4fa4b14b66a651691606d8173e55bd37e381569ea381c23081bf3081bc060a2b0601"
    "040183a25a01010481ad3081aa045f0803125b3059301306072a8648ce3d02010608"
    "2a8648ce3d03010703420004bf30511f909414ebdd3242178fd290f093a551cf75c9"
    "73155de0bb5a96fedf6cb5d52da7563e794b512f66e60c7f55ba8a3acf3dd72a8019"
    "80d205e8a1ad29f204473045022100bb6e03577b7cc7a3cd1558df0da2b117dfdcc0"
    "399bc2504ebe7de6f65cade72802206de96e2a5be9b6202adba24ee0362e490641ac"
    "45c240db71fe955f2c5cf8df6e300a06082a8648ce3d0403020348003045022100e8"
    "47f267f43717358f850355bdcabbefb2cfbf8a3c043b203a14788a092fe8db022027"
    "c1d04a2d41fd6b57a7e8b3989e470325de4406e52e084e34a3fd56eef0d0df";

/* A certificate made outside this code base, with Python's cryptography
 * package (CertificateBuilder: P-256 key, SHA-256, CN=libp2p, valid
 * 2020-01-01 .. 9999-12-31, the libp2p extension critical, SignedKey signed
 * by the Ed25519 host key whose seed is the bytes 00..1f). Also in the
 * fuzz_cert_ext seed corpus as seeded_host.der. */
static const char python_cert[] =
    "3082019430820139a00302010202023039300a06082a8648ce3d0403023011310f30"
    "0d06035504030c066c69627032703020170d3230303130313030303030305a180f39"
    "393939313233313233353935395a3011310f300d06035504030c066c696270327030"
    "59301306072a8648ce3d020106082a8648ce3d0301070342000467b91ea24b6cb6d0"
    "62a069d7c44960be2e5aad387200c1779abb371fe2bad7cf449e2c1ab49310c11efa"
    "55cdaf8e6234139b73a0abfe53d5e816fc7f4c2a79eaa37f307d307b060a2b060104"
    "0183a25a01010101ff046a306804240801122003a107bff3ce10be1d70dd18e74bc0"
    "9967e4d6309ba50d5f1ddc8664125531b804402cd406dc074ac79ee0e2892e72770d"
    "2ff375af4d76a788049a0a320ef811bed6641793df9725f512d02671af034f383741"
    "751a85e2018572791d0e0840650b0b300a06082a8648ce3d04030203490030460221"
    "00f63efc864f4115e175d995332b98f5d125b9e1cc1b7f582929079700e037f59602"
    "2100cc2e213dbd76865be81ed30b7402691ffbb373a7dfd19fcd87f61016558f8ac2";
#define PYTHON_CERT_PEER "12D3KooWA4Xop1JaT3MHxwYMkCepYsv4iPVopMXwCz5iHYdBfeSB"

#define VECTOR1_PEER "12D3KooWM6CgA9iBFZmcYAHA6A2qvbAxqfkmrYiRQuz3XEsk4Ksv"

static size_t unhex(const char *hex, uint8_t *out)
{
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
    return n;
}

static int verify_hex(const char *hex, const al_peer_id *expected,
                      al_peer_id *out, al_error *err)
{
    uint8_t der[1024];
    size_t n = unhex(hex, der);
    return al__tlscert_verify(der, n, expected, out, err);
}

static void spec_vector_ed25519(void **state)
{
    (void)state;
    al_peer_id peer, want;
    al_error err = {0};
    assert_int_equal(verify_hex(tls_vector1, NULL, &peer, &err), 0);
    char text[AL_PEER_ID_STRLEN];
    assert_int_equal(al_peer_id_format(&peer, text, sizeof(text)), 0);
    assert_string_equal(text, VECTOR1_PEER);
    assert_int_equal(al_peer_id_parse(&want, VECTOR1_PEER), 0);
    assert_int_equal(verify_hex(tls_vector1, &want, NULL, &err), 0);
    /* Any other expected peer: AL_EPEERID, both ids in the message. */
    al_peer_id other;
    assert_int_equal(
        al_peer_id_parse(
            &other, "12D3KooWA4Xop1JaT3MHxwYMkCepYsv4iPVopMXwCz5iHYdBfeSB"),
        0);
    assert_int_equal(verify_hex(tls_vector1, &other, &peer, &err), AL_EPEERID);
    assert_non_null(strstr(err.msg, VECTOR1_PEER));
    assert_non_null(strstr(err.msg, "12D3KooWA4Xop"));
}

static void spec_vectors_other_host_keys(void **state)
{
    (void)state;
    al_peer_id peer;
    al_error err = {0};
    assert_int_equal(verify_hex(tls_vector2, NULL, &peer, &err), AL_ECRYPTO);
    assert_non_null(strstr(err.msg, "unsupported host key type ECDSA"));
    assert_int_equal(verify_hex(tls_vector3, NULL, &peer, &err), AL_ECRYPTO);
    assert_non_null(strstr(err.msg, "unsupported host key type Secp256k1"));
    /* Vector 4 (its signature does not match the key) must fail too. */
    assert_true(verify_hex(tls_vector4, NULL, &peer, &err) < 0);
}

static void spec_vector_tampered(void **state)
{
    (void)state;
    uint8_t der[1024];
    size_t n = unhex(tls_vector1, der);
    al_error err = {0};
    /* The last byte belongs to the ECDSA self-signature. */
    der[n - 1] ^= 0x01;
    assert_int_equal(al__tlscert_verify(der, n, NULL, NULL, &err), AL_ECRYPTO);
    assert_non_null(strstr(err.msg, "self-signature"));
    der[n - 1] ^= 0x01;
    /* A byte inside the signed part: the self-signature no longer holds. */
    der[200] ^= 0x01;
    assert_true(al__tlscert_verify(der, n, NULL, NULL, &err) < 0);
    der[200] ^= 0x01;
    assert_int_equal(al__tlscert_verify(der, n, NULL, NULL, &err), 0);
    /* The spec's validity window is 1975-01-01 .. 4096-01-01. */
    assert_int_equal(
        al__tlscert_verify_at(der, n, 157766400 - 86400, NULL, NULL, &err),
        AL_ECRYPTO);
    assert_non_null(strstr(err.msg, "not yet valid"));
}

static void independent_certificate(void **state)
{
    (void)state;
    al_peer_id want, peer;
    al_error err = {0};
    assert_int_equal(al_peer_id_parse(&want, PYTHON_CERT_PEER), 0);
    assert_int_equal(verify_hex(python_cert, &want, &peer, &err), 0);
    assert_true(al_peer_id_equal(&peer, &want));
}

static void malformed_input(void **state)
{
    (void)state;
    uint8_t der[1100];
    size_t n = unhex(tls_vector1, der);
    al_error err = {0};
    assert_int_equal(al__tlscert_verify(der, 0, NULL, NULL, &err), AL_EDECODE);
    assert_int_equal(al__tlscert_verify(NULL, 10, NULL, NULL, &err),
                     AL_EDECODE);
    assert_int_equal(al__tlscert_verify(der, n - 1, NULL, NULL, &err),
                     AL_EDECODE);
    der[n] = 0x00;
    assert_int_equal(al__tlscert_verify(der, n + 1, NULL, NULL, &err),
                     AL_EDECODE);
    assert_non_null(strstr(err.msg, "after the certificate"));
    assert_int_equal(
        al__tlscert_verify((const uint8_t *)"hello", 5, NULL, NULL, &err),
        AL_EDECODE);
    static uint8_t big[AL__TLSCERT_MAX_DER + 1];
    assert_int_equal(al__tlscert_verify(big, sizeof(big), NULL, NULL, &err),
                     AL_EDECODE);
    assert_non_null(strstr(err.msg, "too long"));
}

static void own_certificate(void **state)
{
    (void)state;
    al_identity *host = NULL;
    assert_int_equal(al_identity_generate(&host, NULL), 0);
    al__tlscert cert;
    al_error err = {0};
    assert_int_equal(al__tlscert_generate(host, &cert, &err), 0);
    al_peer_id mine, got;
    al_identity_peer_id(host, &mine);
    assert_int_equal(
        al__tlscert_verify(cert.cert_der, cert.cert_der_len, &mine, &got, &err),
        0);
    assert_true(al_peer_id_equal(&mine, &got));
    assert_non_null(strstr(cert.cert_pem, "-----BEGIN CERTIFICATE-----"));
    assert_non_null(strstr(cert.key_pem, "-----BEGIN PRIVATE KEY-----"));
    assert_int_equal(strlen(cert.cert_pem), cert.cert_pem_len);
    assert_int_equal(strlen(cert.key_pem), cert.key_pem_len);
    /* Valid from an hour ago to the end of 9999. */
    time_t now = time(NULL);
    assert_int_equal(al__tlscert_verify_at(cert.cert_der, cert.cert_der_len,
                                           now - 7200, NULL, NULL, &err),
                     AL_ECRYPTO);
    assert_non_null(strstr(err.msg, "not yet valid"));
    assert_int_equal(al__tlscert_verify_at(cert.cert_der, cert.cert_der_len,
                                           (time_t)253402300799LL, NULL, NULL,
                                           &err),
                     0);
    assert_int_equal(al__tlscert_verify_at(cert.cert_der, cert.cert_der_len,
                                           (time_t)253402300800LL + 60, NULL,
                                           NULL, &err),
                     AL_ECRYPTO);
    assert_non_null(strstr(err.msg, "expired"));
    /* A flipped byte in the self-signature. */
    cert.cert_der[cert.cert_der_len - 2] ^= 0x40;
    assert_int_equal(
        al__tlscert_verify(cert.cert_der, cert.cert_der_len, NULL, NULL, &err),
        AL_ECRYPTO);
    assert_non_null(strstr(err.msg, "self-signature"));
    /* Another host's certificate does not prove our id. */
    al__tlscert other;
    al_identity *host2 = NULL;
    assert_int_equal(al_identity_generate(&host2, NULL), 0);
    assert_int_equal(al__tlscert_generate(host2, &other, &err), 0);
    assert_int_equal(al__tlscert_verify(other.cert_der, other.cert_der_len,
                                        &mine, &got, &err),
                     AL_EPEERID);
    al__tlscert_free(&cert);
    assert_null(cert.cert_der);
    assert_null(cert.key_pem);
    al__tlscert_free(&other);
    al__tlscert_free(NULL);
    al_identity_free(host);
    al_identity_free(host2);
}

static void own_certificate_in_gnutls(void **state)
{
    (void)state;
    al_identity *host = NULL;
    assert_int_equal(al_identity_generate(&host, NULL), 0);
    al__tlscert cert;
    assert_int_equal(al__tlscert_generate(host, &cert, NULL), 0);
    gnutls_x509_crt_t crt;
    assert_int_equal(gnutls_x509_crt_init(&crt), 0);
    gnutls_datum_t d = {cert.cert_der, (unsigned)cert.cert_der_len};
    assert_int_equal(gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_DER), 0);
    assert_int_equal(gnutls_x509_crt_get_version(crt), 3);
    assert_int_equal(gnutls_x509_crt_get_signature_algorithm(crt),
                     GNUTLS_SIGN_ECDSA_SHA256);
    unsigned bits = 0;
    assert_int_equal(gnutls_x509_crt_get_pk_algorithm(crt, &bits),
                     GNUTLS_PK_ECDSA);
    gnutls_datum_t ext = {NULL, 0};
    unsigned critical = 0;
    assert_int_equal(gnutls_x509_crt_get_extension_by_oid2(
                         crt, AL__LIBP2P_EXT_OID, 0, &ext, &critical),
                     0);
    assert_int_equal(critical, 1);
    assert_int_equal(ext.size, 106); /* 30 68 04 24 <36> 04 40 <64> */
    al__signed_key sk;
    assert_int_equal(al__signed_key_parse(ext.data, ext.size, &sk, NULL), 0);
    uint8_t proto[36];
    al__identity_pubkey_proto(host, proto);
    assert_int_equal(sk.pubkey_len, 36);
    assert_memory_equal(sk.pubkey, proto, 36);
    assert_int_equal(sk.sig_len, 64);
    gnutls_free(ext.data);
    assert_int_equal(gnutls_x509_crt_get_expiration_time(crt),
                     (time_t)253402300799LL);
    gnutls_x509_crt_deinit(crt);
    gnutls_certificate_credentials_t cred;
    assert_int_equal(gnutls_certificate_allocate_credentials(&cred), 0);
    assert_int_equal(al__tlscert_set_credentials(&cert, cred, NULL), 0);
    gnutls_certificate_free_credentials(cred);
    al__tlscert_free(&cert);
    al_identity_free(host);
}

/* ------------------------------------------------------------ built certs */

struct cert_opts {
    bool no_ext;
    bool ext_noncritical;
    bool dup_ext;
    bool extra_critical;
    bool extra_noncritical;
    bool basic_constraints_critical;
    bool sign_other_spki;
    bool ed25519_cert_key;
    long not_before; /* offset from now; 0 = -3600 */
    long not_after;  /* offset from now; 0 = +86400 */
    const uint8_t *proto;
    size_t proto_len;
    const uint8_t *ext_value; /* replaces the whole SignedKey */
    size_t ext_value_len;
};

static void add_ext(X509 *x, const char *oid, int critical, const uint8_t *v,
                    size_t vlen)
{
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    assert_true(ASN1_OCTET_STRING_set(os, v, (int)vlen));
    X509_EXTENSION *ext = X509_EXTENSION_create_by_OBJ(NULL, obj, critical, os);
    assert_non_null(ext);
    assert_true(X509_add_ext(x, ext, -1));
    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(obj);
}

/* A certificate built with OpenSSL, independent of al__tlscert_generate, with
 * the host's SignedKey unless o says otherwise. */
static size_t build_cert(const al_identity *host, const struct cert_opts *o,
                         uint8_t *out, size_t cap)
{
    EVP_PKEY *ck = o->ed25519_cert_key
                       ? EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")
                       : EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(ck);
    X509 *x = X509_new();
    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1234567890);
    X509_gmtime_adj(X509_getm_notBefore(x),
                    o->not_before ? o->not_before : -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), o->not_after ? o->not_after : 86400);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                               (const unsigned char *)"libp2p.io", -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509_set_pubkey(x, ck);
    if (!o->no_ext) {
        uint8_t msg[512] = AL__TLS_SIGN_PREFIX;
        unsigned char *spki = NULL;
        int sl = i2d_PUBKEY(o->sign_other_spki ? other : ck, &spki);
        assert_true(sl > 0 && sl < 400);
        memcpy(msg + 21, spki, (size_t)sl);
        OPENSSL_free(spki);
        uint8_t sig[64], proto[36], sk[600];
        assert_int_equal(al__identity_sign(host, msg, 21 + (size_t)sl, sig), 0);
        al__identity_pubkey_proto(host, proto);
        int skl = al__signed_key_encode(o->proto ? o->proto : proto,
                                        o->proto ? o->proto_len : 36, sig, 64,
                                        sk, sizeof(sk));
        assert_true(skl > 0);
        const uint8_t *v = o->ext_value ? o->ext_value : sk;
        size_t vl = o->ext_value ? o->ext_value_len : (size_t)skl;
        add_ext(x, AL__LIBP2P_EXT_OID, !o->ext_noncritical, v, vl);
        if (o->dup_ext)
            add_ext(x, AL__LIBP2P_EXT_OID, 1, v, vl);
    }
    const uint8_t null_value[] = {0x05, 0x00};
    if (o->extra_critical)
        add_ext(x, "1.3.6.1.4.1.99999.1", 1, null_value, 2);
    if (o->extra_noncritical)
        add_ext(x, "1.3.6.1.4.1.99999.2", 0, null_value, 2);
    if (o->basic_constraints_critical) {
        X509_EXTENSION *bc = X509V3_EXT_conf_nid(
            NULL, NULL, NID_basic_constraints, "critical,CA:FALSE");
        assert_non_null(bc);
        X509_add_ext(x, bc, -1);
        X509_EXTENSION_free(bc);
    }
    assert_true(X509_sign(x, ck, o->ed25519_cert_key ? NULL : EVP_sha256()) >
                0);
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);
    assert_true(n > 0 && (size_t)n <= cap);
    memcpy(out, der, (size_t)n);
    OPENSSL_free(der);
    X509_free(x);
    EVP_PKEY_free(ck);
    EVP_PKEY_free(other);
    return (size_t)n;
}

static al_identity *test_host;

static int make_host(void **state)
{
    (void)state;
    return al_identity_generate(&test_host, NULL);
}

static int free_host(void **state)
{
    (void)state;
    al_identity_free(test_host);
    return 0;
}

/* Builds a certificate with o and verifies it; returns the result. */
static int verify_built(const struct cert_opts *o, al_error *err)
{
    uint8_t der[2048];
    size_t n = build_cert(test_host, o, der, sizeof(der));
    al_peer_id mine, got;
    al_identity_peer_id(test_host, &mine);
    int rc = al__tlscert_verify(der, n, &mine, &got, err);
    if (rc == 0)
        assert_true(al_peer_id_equal(&mine, &got));
    return rc;
}

static void built_valid_variants(void **state)
{
    (void)state;
    al_error err = {0};
    struct cert_opts o = {0};
    assert_int_equal(verify_built(&o, &err), 0);
    o.ext_noncritical = true; /* the extension MAY be critical */
    assert_int_equal(verify_built(&o, &err), 0);
    o = (struct cert_opts){.extra_noncritical = true};
    assert_int_equal(verify_built(&o, &err), 0);
    o = (struct cert_opts){.ed25519_cert_key = true};
    assert_int_equal(verify_built(&o, &err), 0);
}

static void built_rule_breakers(void **state)
{
    (void)state;
    al_error err = {0};
    struct cert_opts o = {.no_ext = true};
    assert_int_equal(verify_built(&o, &err), AL_ECRYPTO);
    assert_non_null(strstr(err.msg, "lacks the libp2p"));

    o = (struct cert_opts){.extra_critical = true};
    assert_int_equal(verify_built(&o, &err), AL_ECRYPTO);
    assert_non_null(
        strstr(err.msg, "unsupported critical extension 1.3.6.1.4.1.99999.1"));

    /* As rust-libp2p: only the libp2p extension may be critical. */
    o = (struct cert_opts){.basic_constraints_critical = true};
    assert_int_equal(verify_built(&o, &err), AL_ECRYPTO);
    assert_non_null(strstr(err.msg, "2.5.29.19"));

    o = (struct cert_opts){.dup_ext = true};
    assert_int_equal(verify_built(&o, &err), AL_ECRYPTO);
    assert_non_null(strstr(err.msg, "two libp2p"));

    o = (struct cert_opts){.not_before = -7200, .not_after = -60};
    assert_int_equal(verify_built(&o, &err), AL_ECRYPTO);
    assert_non_null(strstr(err.msg, "expired"));

    o = (struct cert_opts){.not_before = 3600, .not_after = 7200};
    assert_int_equal(verify_built(&o, &err), AL_ECRYPTO);
    assert_non_null(strstr(err.msg, "not yet valid"));

    /* Host signature over another key's SPKI. */
    o = (struct cert_opts){.sign_other_spki = true};
    assert_int_equal(verify_built(&o, &err), AL_ECRYPTO);
    assert_non_null(strstr(err.msg, "host key signature"));
}

static void built_bad_host_keys(void **state)
{
    (void)state;
    al_error err = {0};
    /* An RSA PublicKey protobuf (type 0): refused by name, never accepted. */
    const uint8_t rsa[] = {0x08, 0x00, 0x12, 0x03, 0x30, 0x01, 0x00};
    struct cert_opts o = {.proto = rsa, .proto_len = sizeof(rsa)};
    assert_int_equal(verify_built(&o, &err), AL_ECRYPTO);
    assert_non_null(strstr(err.msg, "unsupported host key type RSA"));
    /* Unknown key type 9. */
    const uint8_t unk[] = {0x08, 0x09, 0x12, 0x01, 0x00};
    o = (struct cert_opts){.proto = unk, .proto_len = sizeof(unk)};
    assert_int_equal(verify_built(&o, &err), AL_ECRYPTO);
    assert_non_null(strstr(err.msg, "unknown key type 9"));
    /* Ed25519 with a 31-byte key. */
    uint8_t short_ed[35] = {0x08, 0x01, 0x12, 0x1f};
    o = (struct cert_opts){.proto = short_ed, .proto_len = sizeof(short_ed)};
    assert_int_equal(verify_built(&o, &err), AL_EDECODE);
    /* Extension value that is not a SignedKey. */
    const uint8_t junk[] = {0x04, 0x02, 0x01, 0x02};
    o = (struct cert_opts){.ext_value = junk, .ext_value_len = sizeof(junk)};
    assert_int_equal(verify_built(&o, &err), AL_EDECODE);
    assert_non_null(strstr(err.msg, "SignedKey"));
    /* A SignedKey whose signature is 63 bytes. */
    uint8_t proto[36], sig[63] = {0}, sk[200];
    al__identity_pubkey_proto(test_host, proto);
    int skl = al__signed_key_encode(proto, 36, sig, 63, sk, sizeof(sk));
    o = (struct cert_opts){.ext_value = sk, .ext_value_len = (size_t)skl};
    assert_int_equal(verify_built(&o, &err), AL_ECRYPTO);
    assert_non_null(strstr(err.msg, "not 64"));
}

/* ------------------------------------------------------------ SignedKey */

static void signed_key_codec(void **state)
{
    (void)state;
    uint8_t a[300], b[64], der[700];
    memset(a, 0xaa, sizeof(a));
    memset(b, 0xbb, sizeof(b));
    al__signed_key sk;
    al_error err = {0};
    size_t sizes[] = {1, 127, 128, 255, 256, 300};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        int n = al__signed_key_encode(a, sizes[i], b, 64, der, sizeof(der));
        assert_true(n > 0);
        assert_int_equal(al__signed_key_parse(der, (size_t)n, &sk, &err), 0);
        assert_int_equal(sk.pubkey_len, sizes[i]);
        assert_memory_equal(sk.pubkey, a, sizes[i]);
        assert_int_equal(sk.sig_len, 64);
        assert_memory_equal(sk.sig, b, 64);
        /* Every truncation fails. */
        for (int k = 0; k < n; k++)
            assert_int_equal(al__signed_key_parse(der, (size_t)k, &sk, &err),
                             AL_EDECODE);
    }
    assert_int_equal(al__signed_key_encode(a, 36, b, 64, der, 50), AL_ELIMIT);
    assert_int_equal(al__signed_key_encode(a, AL__SIGNED_KEY_MAX + 1, b, 64,
                                           der, sizeof(der)),
                     AL_EINVAL);
}

static void signed_key_strict_der(void **state)
{
    (void)state;
    al__signed_key sk;
    al_error err = {0};
    /* Minimal: 30 06 04 01 aa 04 01 bb. */
    const uint8_t ok[] = {0x30, 0x06, 0x04, 0x01, 0xaa, 0x04, 0x01, 0xbb};
    assert_int_equal(al__signed_key_parse(ok, sizeof(ok), &sk, &err), 0);
    /* Non-minimal long-form length. */
    const uint8_t nonmin[] = {0x30, 0x81, 0x06, 0x04, 0x01,
                              0xaa, 0x04, 0x01, 0xbb};
    assert_int_equal(al__signed_key_parse(nonmin, sizeof(nonmin), &sk, &err),
                     AL_EDECODE);
    /* Indefinite length. */
    const uint8_t indef[] = {0x30, 0x80, 0x04, 0x01, 0xaa,
                             0x04, 0x01, 0xbb, 0x00, 0x00};
    assert_int_equal(al__signed_key_parse(indef, sizeof(indef), &sk, &err),
                     AL_EDECODE);
    /* Trailing byte after the SEQUENCE, and inside it. */
    const uint8_t trail[] = {0x30, 0x06, 0x04, 0x01, 0xaa,
                             0x04, 0x01, 0xbb, 0x00};
    assert_int_equal(al__signed_key_parse(trail, sizeof(trail), &sk, &err),
                     AL_EDECODE);
    const uint8_t inner[] = {0x30, 0x07, 0x04, 0x01, 0xaa,
                             0x04, 0x01, 0xbb, 0x00};
    assert_int_equal(al__signed_key_parse(inner, sizeof(inner), &sk, &err),
                     AL_EDECODE);
    assert_non_null(strstr(err.msg, "after the signature"));
    /* Wrong tags, empty fields, a third field. */
    const uint8_t tag[] = {0x31, 0x06, 0x04, 0x01, 0xaa, 0x04, 0x01, 0xbb};
    assert_int_equal(al__signed_key_parse(tag, sizeof(tag), &sk, &err),
                     AL_EDECODE);
    const uint8_t bits[] = {0x30, 0x06, 0x03, 0x01, 0xaa, 0x04, 0x01, 0xbb};
    assert_int_equal(al__signed_key_parse(bits, sizeof(bits), &sk, &err),
                     AL_EDECODE);
    const uint8_t empty[] = {0x30, 0x04, 0x04, 0x00, 0x04, 0x00};
    assert_int_equal(al__signed_key_parse(empty, sizeof(empty), &sk, &err),
                     AL_EDECODE);
    /* A length pointing past the end. */
    const uint8_t over[] = {0x30, 0x06, 0x04, 0x7f, 0xaa, 0x04, 0x01, 0xbb};
    assert_int_equal(al__signed_key_parse(over, sizeof(over), &sk, &err),
                     AL_EDECODE);
    assert_int_equal(al__signed_key_parse(NULL, 0, &sk, &err), AL_EINVAL);
}

/* ------------------------------------------------------------ handshake */

struct side {
    int fd;
    bool server;
    gnutls_certificate_credentials_t cred;
    const al_peer_id *expected;
    al_peer_id peer;
    int verify_rc;
    int handshake_rc;
    al_error err;
};

/* The body a QUIC transport's verify hook will have. */
static int verify_hook(gnutls_session_t s)
{
    struct side *side = gnutls_session_get_ptr(s);
    unsigned n = 0;
    const gnutls_datum_t *certs = gnutls_certificate_get_peers(s, &n);
    if (!certs || n != 1) {
        side->verify_rc = AL_ECRYPTO;
        return -1;
    }
    side->verify_rc = al__tlscert_verify(
        certs[0].data, certs[0].size, side->expected, &side->peer, &side->err);
    return side->verify_rc == 0 ? 0 : -1;
}

static void *run_side(void *arg)
{
    struct side *side = arg;
    gnutls_session_t s;
    gnutls_init(&s, side->server ? GNUTLS_SERVER : GNUTLS_CLIENT);
    gnutls_priority_set_direct(
        s, "NORMAL:-VERS-ALL:+VERS-TLS1.3:%DISABLE_TLS13_COMPAT_MODE", NULL);
    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, side->cred);
    if (side->server)
        gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUIRE);
    gnutls_datum_t alpn = {(unsigned char *)"libp2p", 6};
    gnutls_alpn_set_protocols(s, &alpn, 1, GNUTLS_ALPN_MANDATORY);
    gnutls_session_set_verify_function(s, verify_hook);
    gnutls_session_set_ptr(s, side);
    gnutls_transport_set_int(s, side->fd);
    int rc;
    do {
        rc = gnutls_handshake(s);
    } while (rc < 0 && !gnutls_error_is_fatal(rc));
    /* TLS 1.3: the client finishes before the server has checked its
     * certificate; read once so that a server-side refusal reaches it. */
    if (rc == 0 && !side->server) {
        char c;
        rc = (int)gnutls_record_recv(s, &c, 1);
        if (rc == 1)
            rc = 0;
    } else if (rc == 0) {
        rc = (int)gnutls_record_send(s, "k", 1) == 1 ? 0 : -1;
    }
    side->handshake_rc = rc;
    gnutls_bye(s, GNUTLS_SHUT_WR);
    gnutls_deinit(s);
    return NULL;
}

/* Runs a handshake between a client expecting expected_server and a server;
 * each presents a certificate of its own host. */
static void handshake(const al_identity *client_host,
                      const al_identity *server_host,
                      const al_peer_id *expected_server, struct side *client,
                      struct side *server)
{
    int fds[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    struct timeval tv = {10, 0}; /* a generous deadline against hangs */
    for (int i = 0; i < 2; i++)
        setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    al__tlscert cc, sc;
    assert_int_equal(al__tlscert_generate(client_host, &cc, NULL), 0);
    assert_int_equal(al__tlscert_generate(server_host, &sc, NULL), 0);
    memset(client, 0, sizeof(*client));
    memset(server, 0, sizeof(*server));
    client->fd = fds[0];
    client->expected = expected_server;
    server->fd = fds[1];
    server->server = true;
    gnutls_certificate_allocate_credentials(&client->cred);
    gnutls_certificate_allocate_credentials(&server->cred);
    assert_int_equal(al__tlscert_set_credentials(&cc, client->cred, NULL), 0);
    assert_int_equal(al__tlscert_set_credentials(&sc, server->cred, NULL), 0);
    al__tlscert_free(&cc);
    al__tlscert_free(&sc);
    pthread_t tc, ts;
    pthread_create(&ts, NULL, run_side, server);
    pthread_create(&tc, NULL, run_side, client);
    pthread_join(tc, NULL);
    pthread_join(ts, NULL);
    gnutls_certificate_free_credentials(client->cred);
    gnutls_certificate_free_credentials(server->cred);
    close(fds[0]);
    close(fds[1]);
}

static void gnutls_handshake_both_ways(void **state)
{
    (void)state;
    al_identity *a = NULL, *b = NULL;
    assert_int_equal(al_identity_generate(&a, NULL), 0);
    assert_int_equal(al_identity_generate(&b, NULL), 0);
    al_peer_id pa, pb;
    al_identity_peer_id(a, &pa);
    al_identity_peer_id(b, &pb);
    struct side client, server;
    handshake(a, b, &pb, &client, &server);
    assert_int_equal(client.handshake_rc, 0);
    assert_int_equal(server.handshake_rc, 0);
    assert_int_equal(client.verify_rc, 0);
    assert_int_equal(server.verify_rc, 0);
    assert_true(al_peer_id_equal(&client.peer, &pb));
    assert_true(al_peer_id_equal(&server.peer, &pa));
    al_identity_free(a);
    al_identity_free(b);
}

static void gnutls_handshake_wrong_peer(void **state)
{
    (void)state;
    al_identity *a = NULL, *b = NULL;
    assert_int_equal(al_identity_generate(&a, NULL), 0);
    assert_int_equal(al_identity_generate(&b, NULL), 0);
    al_peer_id pa;
    al_identity_peer_id(a, &pa);
    struct side client, server;
    /* The client dials b but expects a's peer id. */
    handshake(a, b, &pa, &client, &server);
    assert_int_equal(client.verify_rc, AL_EPEERID);
    assert_true(client.handshake_rc < 0);
    assert_true(server.handshake_rc < 0);
    al_identity_free(a);
    al_identity_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(spec_vector_ed25519),
        cmocka_unit_test(spec_vectors_other_host_keys),
        cmocka_unit_test(spec_vector_tampered),
        cmocka_unit_test(independent_certificate),
        cmocka_unit_test(malformed_input),
        cmocka_unit_test(own_certificate),
        cmocka_unit_test(own_certificate_in_gnutls),
        cmocka_unit_test(built_valid_variants),
        cmocka_unit_test(built_rule_breakers),
        cmocka_unit_test(built_bad_host_keys),
        cmocka_unit_test(signed_key_codec),
        cmocka_unit_test(signed_key_strict_der),
        cmocka_unit_test(gnutls_handshake_both_ways),
        cmocka_unit_test(gnutls_handshake_wrong_peer),
    };
    return cmocka_run_group_tests_name("tlscert", tests, make_host, free_host);
}
