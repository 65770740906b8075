/* Ed25519 host identity: generation, key files, signatures. */
#include "identity.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

struct al_identity {
    EVP_PKEY *pkey;
    uint8_t pub[AL__ED25519_PUB_LEN];
    al_peer_id peer;
};

/* OpenSSL keeps a per-thread error queue; leaving entries behind would
 * confuse the next caller that inspects it (GnuTLS-free code paths, other
 * modules). */
static int crypto_fail(al_error *err, int code, const char *what)
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

/* Wraps an Ed25519 EVP_PKEY (taken, even on error). */
static int wrap_pkey(al_identity **out, EVP_PKEY *pkey, al_error *err)
{
    al_identity *id = calloc(1, sizeof(*id));
    if (!id) {
        EVP_PKEY_free(pkey);
        return al_error_set(err, AL_ENOMEM, "out of memory");
    }
    id->pkey = pkey;
    size_t plen = sizeof(id->pub);
    if (!EVP_PKEY_get_raw_public_key(pkey, id->pub, &plen) ||
        plen != sizeof(id->pub)) {
        al_identity_free(id);
        return crypto_fail(err, AL_ECRYPTO,
                           "cannot read the Ed25519 public key");
    }
    al__peer_id_from_ed25519(id->pub, &id->peer);
    *out = id;
    return 0;
}

int al_identity_generate(al_identity **out, al_error *err)
{
    if (!out)
        return al_error_set(err, AL_EINVAL, "out is NULL");
    EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    if (!pkey)
        return crypto_fail(err, AL_ECRYPTO, "Ed25519 key generation failed");
    return wrap_pkey(out, pkey, err);
}

int al_identity_from_seed(al_identity **out, const uint8_t seed[32],
                          al_error *err)
{
    if (!out || !seed)
        return al_error_set(err, AL_EINVAL, "out or seed is NULL");
    EVP_PKEY *pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed,
                                                  AL__ED25519_SEED_LEN);
    if (!pkey)
        return crypto_fail(err, AL_ECRYPTO, "invalid Ed25519 seed");
    return wrap_pkey(out, pkey, err);
}

void al_identity_peer_id(const al_identity *id, al_peer_id *out)
{
    *out = id->peer;
}

void al_identity_free(al_identity *id)
{
    if (!id)
        return;
    EVP_PKEY_free(id->pkey);
    free(id);
}

void al__identity_pubkey(const al_identity *id,
                         uint8_t out[AL__ED25519_PUB_LEN])
{
    memcpy(out, id->pub, AL__ED25519_PUB_LEN);
}

void al__identity_pubkey_proto(const al_identity *id,
                               uint8_t out[AL__ED25519_PUBKEY_PROTO_LEN])
{
    al__ed25519_pubkey_proto(id->pub, out);
}

int al__identity_sign(const al_identity *id, const uint8_t *msg, size_t len,
                      uint8_t sig[AL__ED25519_SIG_LEN])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t slen = AL__ED25519_SIG_LEN;
    int ok = ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, id->pkey) == 1 &&
             EVP_DigestSign(ctx, sig, &slen, msg, len) == 1 &&
             slen == AL__ED25519_SIG_LEN;
    EVP_MD_CTX_free(ctx);
    if (!ok) {
        ERR_clear_error();
        return AL_ECRYPTO;
    }
    return 0;
}

int al__ed25519_verify(const uint8_t pub[AL__ED25519_PUB_LEN],
                       const uint8_t *msg, size_t len,
                       const uint8_t sig[AL__ED25519_SIG_LEN])
{
    EVP_PKEY *pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub,
                                                 AL__ED25519_PUB_LEN);
    EVP_MD_CTX *ctx = pkey ? EVP_MD_CTX_new() : NULL;
    int ok = ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) == 1 &&
             EVP_DigestVerify(ctx, sig, AL__ED25519_SIG_LEN, msg, len) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    ERR_clear_error();
    return ok ? 0 : AL_ECRYPTO;
}

/* ------------------------------------------------------------ key formats */

int al__identity_from_privkey_proto(al_identity **out, const uint8_t *buf,
                                    size_t len, al_error *err)
{
    al__key_proto kp;
    int rc = al__key_proto_parse(buf, len, "private key", &kp, err);
    if (rc < 0)
        return rc;
    if (kp.type != AL__KEY_ED25519)
        return al_error_set(err, AL_ECRYPTO,
                            "private key is a %s key; only Ed25519 identities "
                            "are supported",
                            al__key_type_name(kp.type));
    if (kp.len != 32 && kp.len != 64 && kp.len != 96)
        return al_error_set(err, AL_EDECODE,
                            "Ed25519 private key Data is %zu bytes (expected "
                            "32 or 64)",
                            kp.len);
    if (kp.len == 96 && memcmp(kp.data + 32, kp.data + 64, 32) != 0)
        return al_error_set(err, AL_ECRYPTO,
                            "legacy 96-byte Ed25519 private key holds two "
                            "different public keys");
    al_identity *id = NULL;
    rc = al_identity_from_seed(&id, kp.data, err);
    if (rc < 0)
        return rc;
    if (kp.len > 32 && CRYPTO_memcmp(id->pub, kp.data + 32, 32) != 0) {
        al_identity_free(id);
        return al_error_set(err, AL_ECRYPTO,
                            "Ed25519 private key: the stored public key does "
                            "not match the seed");
    }
    *out = id;
    return 0;
}

static int is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int b64_value(uint8_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Standard base64 with optional padding; whitespace anywhere is skipped.
 * Returns bytes written or AL_EDECODE. */
static int base64_decode(const uint8_t *in, size_t len, uint8_t *out,
                         size_t cap)
{
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t k = 0, pad = 0;
    for (size_t i = 0; i < len; i++) {
        if (is_space(in[i]))
            continue;
        if (in[i] == '=') {
            pad++;
            continue;
        }
        int v = b64_value(in[i]);
        if (v < 0 || pad)
            return AL_EDECODE;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (k == cap)
                return AL_EDECODE;
            out[k++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (bits >= 6 || acc != 0 || pad > 2)
        return AL_EDECODE;
    return (int)k;
}

/* Key files are read unattended: OpenSSL's default would prompt on the
 * terminal for the pass phrase of an encrypted traditional PEM. */
static int no_passphrase(char *buf, int size, int rwflag, void *ud)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)ud;
    return -1;
}

/* PEM text: PKCS#8 "PRIVATE KEY" (or a traditional form OpenSSL reads),
 * which must hold an Ed25519 key. */
static int from_pem(al_identity **out, const uint8_t *buf, size_t len,
                    al_error *err)
{
    static const char encrypted[] = "-----BEGIN ENCRYPTED PRIVATE KEY-----";
    static const char pubkey[] = "-----BEGIN PUBLIC KEY-----";
    if (memmem(buf, len, encrypted, sizeof(encrypted) - 1))
        return al_error_set(err, AL_ECRYPTO,
                            "encrypted private keys are not supported");
    BIO *bio = BIO_new_mem_buf(buf, (int)len);
    if (!bio)
        return al_error_set(err, AL_ENOMEM, "out of memory");
    EVP_PKEY *pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    BIO_free(bio);
    if (!pkey) {
        if (memmem(buf, len, pubkey, sizeof(pubkey) - 1))
            return al_error_set(err, AL_ECRYPTO,
                                "PEM holds a public key, not a private key");
        return crypto_fail(err, AL_EDECODE,
                           "no private key found in the PEM text (corrupt or "
                           "not a PKCS#8 key)");
    }
    if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
        const char *name = EVP_PKEY_get0_type_name(pkey);
        int rc = al_error_set(err, AL_ECRYPTO,
                              "PEM holds a %s key; only Ed25519 identities "
                              "are supported",
                              name ? name : "non-Ed25519");
        EVP_PKEY_free(pkey);
        return rc;
    }
    return wrap_pkey(out, pkey, err);
}

int al__identity_from_mem(al_identity **out, const uint8_t *buf, size_t len,
                          al_error *err)
{
    static const char begin[] = "-----BEGIN ";
    if (!out || (!buf && len))
        return al_error_set(err, AL_EINVAL, "invalid argument");
    if (len > AL__IDENTITY_FILE_MAX)
        return al_error_set(err, AL_ELIMIT, "key data too long (%zu bytes)",
                            len);
    size_t i = 0;
    while (i < len && is_space(buf[i]))
        i++;
    if (i == len)
        return al_error_set(err, AL_EDECODE, "key data is empty");
    if (len - i >= sizeof(begin) - 1 &&
        memcmp(buf + i, begin, sizeof(begin) - 1) == 0)
        return from_pem(out, buf + i, len - i, err);
    /* A protobuf PrivateKey starts with field 1's tag, 0x08, which is not a
     * base64 character. */
    if (buf[0] == 0x08)
        return al__identity_from_privkey_proto(out, buf, len, err);
    uint8_t raw[AL__KEY_PROTO_MAX];
    int n = base64_decode(buf, len, raw, sizeof(raw));
    if (n < 0)
        return al_error_set(err, AL_EDECODE,
                            "key data is neither PEM, a protobuf PrivateKey "
                            "nor base64 of one");
    int rc = al__identity_from_privkey_proto(out, raw, (size_t)n, err);
    OPENSSL_cleanse(raw, sizeof(raw));
    return rc;
}

/* ------------------------------------------------------------ files */

int al_identity_load(al_identity **out, const char *path, al_error *err)
{
    if (!out || !path)
        return al_error_set(err, AL_EINVAL, "out or path is NULL");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT)
            return al_error_set(err, AL_ENOTFOUND,
                                "identity file %s does not exist", path);
        return al_error_set(err, AL_EIO, "cannot open identity file %s: %s",
                            path, strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return al_error_set(err, AL_EIO,
                            "identity file %s is not a regular file", path);
    }
    if (st.st_size > AL__IDENTITY_FILE_MAX) {
        close(fd);
        return al_error_set(err, AL_ELIMIT,
                            "identity file %s is too large (%lld bytes)", path,
                            (long long)st.st_size);
    }
    if (st.st_mode & 077)
        al_log(AL_LOG_WARN,
               "identity file %s is readable by other users (mode %03o)", path,
               (unsigned)(st.st_mode & 0777));
    uint8_t *buf = malloc(AL__IDENTITY_FILE_MAX + 1);
    if (!buf) {
        close(fd);
        return al_error_set(err, AL_ENOMEM, "out of memory");
    }
    size_t len = 0;
    int rc = 0;
    /* Read until EOF rather than trusting st_size: the file may change. */
    while (len <= AL__IDENTITY_FILE_MAX) {
        ssize_t n = read(fd, buf + len, AL__IDENTITY_FILE_MAX + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = al_error_set(err, AL_EIO, "cannot read identity file %s: %s",
                              path, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    if (rc == 0 && len > AL__IDENTITY_FILE_MAX)
        rc =
            al_error_set(err, AL_ELIMIT, "identity file %s is too large", path);
    if (rc == 0) {
        al_error inner = {0};
        rc = al__identity_from_mem(out, buf, len, &inner);
        if (rc < 0)
            al_error_set(err, rc, "identity file %s: %s", path, inner.msg);
    }
    OPENSSL_cleanse(buf, AL__IDENTITY_FILE_MAX + 1);
    free(buf);
    return rc;
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Makes a rename or link durable; best effort. */
static void sync_parent_dir(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash) {
        dir[0] = '.';
        dir[1] = '\0';
    } else {
        size_t n = (size_t)(slash - path);
        if (n == 0)
            n = 1;
        if (n >= sizeof(dir))
            return;
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

/* Writes the PEM to a fresh temporary file next to path (mode 0600) and
 * fsyncs it. tmp receives its name. */
static int write_temp(const al_identity *id, const char *path, char *tmp,
                      size_t tmpcap, al_error *err)
{
    int n = snprintf(tmp, tmpcap, "%s.tmp.XXXXXX", path);
    if (n < 0 || (size_t)n >= tmpcap)
        return al_error_set(err, AL_EINVAL, "identity path too long");
    BIO *bio = BIO_new(BIO_s_secmem());
    if (!bio)
        return al_error_set(err, AL_ENOMEM, "out of memory");
    if (!PEM_write_bio_PrivateKey(bio, id->pkey, NULL, NULL, 0, NULL, NULL)) {
        BIO_free(bio);
        return crypto_fail(err, AL_ECRYPTO, "cannot encode the key as PKCS#8");
    }
    char *pem = NULL;
    long pemlen = BIO_get_mem_data(bio, &pem);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        BIO_free(bio);
        return al_error_set(err, AL_EIO, "cannot create %s: %s", tmp,
                            strerror(e));
    }
    int rc = 0;
    if (fchmod(fd, 0600) < 0 || write_all(fd, pem, (size_t)pemlen) < 0 ||
        fsync(fd) < 0)
        rc = al_error_set(err, AL_EIO, "cannot write %s: %s", tmp,
                          strerror(errno));
    if (close(fd) < 0 && rc == 0)
        rc = al_error_set(err, AL_EIO, "cannot write %s: %s", tmp,
                          strerror(errno));
    BIO_free(bio);
    if (rc < 0)
        unlink(tmp);
    return rc;
}

int al_identity_save(const al_identity *id, const char *path, al_error *err)
{
    if (!id || !path)
        return al_error_set(err, AL_EINVAL, "identity or path is NULL");
    char tmp[PATH_MAX];
    int rc = write_temp(id, path, tmp, sizeof(tmp), err);
    if (rc < 0)
        return rc;
    if (rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        return al_error_set(err, AL_EIO, "cannot save identity to %s: %s", path,
                            strerror(e));
    }
    sync_parent_dir(path);
    return 0;
}

/* Creates path only if it does not exist (link fails with EEXIST), so that
 * two processes starting together end up with the same key. Returns 1 when
 * another file won the race. */
static int create_exclusive(const al_identity *id, const char *path,
                            al_error *err)
{
    char tmp[PATH_MAX];
    int rc = write_temp(id, path, tmp, sizeof(tmp), err);
    if (rc < 0)
        return rc;
    int lrc = link(tmp, path);
    int e = errno;
    if (lrc < 0 && (e == EPERM || e == EOPNOTSUPP || e == ENOSYS)) {
        /* No hard links here (some FUSE and FAT mounts): fall back to a
         * plain atomic rename, exclusive only against readers. */
        lrc = rename(tmp, path);
        e = errno;
    }
    unlink(tmp);
    if (lrc < 0 && e == EEXIST)
        return 1;
    if (lrc < 0)
        return al_error_set(err, AL_EIO, "cannot create identity file %s: %s",
                            path, strerror(e));
    sync_parent_dir(path);
    return 0;
}

int al_identity_load_or_create(al_identity **out, const char *path,
                               al_error *err)
{
    if (!out || !path)
        return al_error_set(err, AL_EINVAL, "out or path is NULL");
    int rc = al_identity_load(out, path, err);
    if (rc != AL_ENOTFOUND)
        return rc;
    al_identity *id = NULL;
    rc = al_identity_generate(&id, err);
    if (rc < 0)
        return rc;
    rc = create_exclusive(id, path, err);
    if (rc == 1) {
        al_identity_free(id);
        return al_identity_load(out, path, err);
    }
    if (rc < 0) {
        al_identity_free(id);
        return rc;
    }
    *out = id;
    return 0;
}
