/* identity.c: keys from seeds and spec vectors, signatures, key files
 * (PKCS#8 PEM, protobuf, base64), save/load round trips and their errors. */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "actorlib.h"
#include "identity.h"

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

/* peer-ids.md test vectors. */
#define SPEC_ED25519_PRIV                                                      \
    "080112407e0830617c4a7de83925dfb2694556b12936c477a0e1feb2e148ec9da60fee7d" \
    "1ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e"
#define SPEC_ED25519_PUB                                                       \
    "080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e"
#define SPEC_SECP256K1_PRIV                                                    \
    "0802122053DADF1D5A164D6B4ACDB15E24AA4C5B1D3461BDBD42ABEDB0A4404D56CED8FB"
#define SPEC_ECDSA_PRIV                                                        \
    "08031279307702010104203E5B1FE9712E6C314942A750BD67485DE3C1EFE85B1BFB52"   \
    "0AE8F9AE3DFA4A4CA00A06082A8648CE3D030107A14403420004DE3D300FA36AE0E8F5"   \
    "D530899D83ABAB44ABF3161F162A4BC901D8E6ECDA020E8B6D5F8DA30525E71D685151"   \
    "0C098E5C47C646A597FB4DCEC034E9F77C409E62"

static char tmpdir[256];

static int make_tmpdir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/al-identity-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
    (void)state;
    DIR *d = opendir(tmpdir);
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char p[512];
        snprintf(p, sizeof(p), "%s/%s", tmpdir, e->d_name);
        if (unlink(p) < 0)
            rmdir(p);
    }
    closedir(d);
    rmdir(tmpdir);
    return 0;
}

static void path_in_tmp(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", tmpdir, name);
}

static void write_file(const char *path, const void *data, size_t len,
                       mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    fchmod(fd, mode);
    close(fd);
}

/* Counts files whose name contains ".tmp." in tmpdir. */
static int temp_files_left(void)
{
    DIR *d = opendir(tmpdir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strstr(e->d_name, ".tmp."))
            n++;
    if (d)
        closedir(d);
    return n;
}

static void peer_text(const al_identity *id, char *buf)
{
    al_peer_id p;
    al_identity_peer_id(id, &p);
    assert_int_equal(al_peer_id_format(&p, buf, AL_PEER_ID_STRLEN), 0);
}

static void seed_gives_known_peer_id(void **state)
{
    (void)state;
    uint8_t seed[32];
    for (int i = 0; i < 32; i++)
        seed[i] = (uint8_t)i;
    al_identity *id = NULL;
    assert_int_equal(al_identity_from_seed(&id, seed, NULL), 0);
    char text[AL_PEER_ID_STRLEN];
    peer_text(id, text);
    /* js-libp2p prints this peer id for the same seed (research notes). */
    assert_string_equal(text,
                        "12D3KooWA4Xop1JaT3MHxwYMkCepYsv4iPVopMXwCz5iHYdBfeSB");
    uint8_t proto[36];
    al__identity_pubkey_proto(id, proto);
    assert_memory_equal(proto, "\x08\x01\x12\x20", 4);
    al_identity_free(id);
}

static void generate_is_random(void **state)
{
    (void)state;
    al_identity *a = NULL, *b = NULL;
    assert_int_equal(al_identity_generate(&a, NULL), 0);
    assert_int_equal(al_identity_generate(&b, NULL), 0);
    al_peer_id pa, pb;
    al_identity_peer_id(a, &pa);
    al_identity_peer_id(b, &pb);
    assert_int_equal(pa.len, 38);
    assert_false(al_peer_id_equal(&pa, &pb));
    al_identity_free(a);
    al_identity_free(b);
    al_identity_free(NULL);
}

/* RFC 8032 section 7.1, test 1 (empty message). */
static void rfc8032_signature(void **state)
{
    (void)state;
    uint8_t seed[32], pub[32], want[64], sig[64];
    unhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
          seed);
    unhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
          pub);
    unhex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
          "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
          want);
    al_identity *id = NULL;
    assert_int_equal(al_identity_from_seed(&id, seed, NULL), 0);
    uint8_t got_pub[32];
    al__identity_pubkey(id, got_pub);
    assert_memory_equal(got_pub, pub, 32);
    assert_int_equal(al__identity_sign(id, (const uint8_t *)"", 0, sig), 0);
    assert_memory_equal(sig, want, 64);
    assert_int_equal(al__ed25519_verify(pub, (const uint8_t *)"", 0, sig), 0);
    sig[10] ^= 1;
    assert_int_equal(al__ed25519_verify(pub, (const uint8_t *)"", 0, sig),
                     AL_ECRYPTO);
    al_identity_free(id);
}

static void sign_and_verify(void **state)
{
    (void)state;
    al_identity *a = NULL, *b = NULL;
    assert_int_equal(al_identity_generate(&a, NULL), 0);
    assert_int_equal(al_identity_generate(&b, NULL), 0);
    const uint8_t msg[] = "libp2p-tls-handshake:spki";
    uint8_t sig[64], pa[32], pb[32];
    al__identity_pubkey(a, pa);
    al__identity_pubkey(b, pb);
    assert_int_equal(al__identity_sign(a, msg, sizeof(msg), sig), 0);
    assert_int_equal(al__ed25519_verify(pa, msg, sizeof(msg), sig), 0);
    assert_int_equal(al__ed25519_verify(pb, msg, sizeof(msg), sig), AL_ECRYPTO);
    assert_int_equal(al__ed25519_verify(pa, msg, sizeof(msg) - 1, sig),
                     AL_ECRYPTO);
    al_identity_free(a);
    al_identity_free(b);
}

static void spec_private_key_forms(void **state)
{
    (void)state;
    uint8_t raw[128], pub[64], proto[36];
    size_t n = unhex(SPEC_ED25519_PRIV, raw);
    unhex(SPEC_ED25519_PUB, pub);
    al_identity *id = NULL;
    /* Raw protobuf, 64-byte seed || public key. */
    assert_int_equal(al__identity_from_mem(&id, raw, n, NULL), 0);
    al__identity_pubkey_proto(id, proto);
    assert_memory_equal(proto, pub, 36);
    al_identity_free(id);
    /* Base64 text of it, with line breaks, as go-ipfs configs hold it. */
    const char *b64 = "CAESQH4IMGF8Sn3oOSXfsmlFVrEpNsR3oOH+suFI7J2mD+59\n"
                      "HtHo+uLEoUS4vo/UtHvz07NLhxw8rPYBDw5C1HT84n4=\n";
    id = NULL;
    assert_int_equal(
        al__identity_from_mem(&id, (const uint8_t *)b64, strlen(b64), NULL), 0);
    al__identity_pubkey_proto(id, proto);
    assert_memory_equal(proto, pub, 36);
    al_identity_free(id);
    /* Seed only (32 bytes of Data). */
    uint8_t seedonly[36] = {0x08, 0x01, 0x12, 0x20};
    memcpy(seedonly + 4, raw + 4, 32);
    id = NULL;
    assert_int_equal(al__identity_from_mem(&id, seedonly, 36, NULL), 0);
    al__identity_pubkey_proto(id, proto);
    assert_memory_equal(proto, pub, 36);
    al_identity_free(id);
    /* Legacy 96 bytes: seed || pub || pub. */
    uint8_t legacy[100] = {0x08, 0x01, 0x12, 0x60};
    memcpy(legacy + 4, raw + 4, 64);
    memcpy(legacy + 68, raw + 36, 32);
    id = NULL;
    assert_int_equal(al__identity_from_mem(&id, legacy, 100, NULL), 0);
    al_identity_free(id);
    legacy[99] ^= 1;
    al_error err = {0};
    assert_int_equal(al__identity_from_mem(&id, legacy, 100, &err), AL_ECRYPTO);
}

static void private_key_errors(void **state)
{
    (void)state;
    uint8_t raw[256];
    al_identity *id = NULL;
    al_error err = {0};
    /* The stored public half does not match the seed. */
    size_t n = unhex(SPEC_ED25519_PRIV, raw);
    raw[n - 1] ^= 0x01;
    assert_int_equal(al__identity_from_mem(&id, raw, n, &err), AL_ECRYPTO);
    assert_non_null(strstr(err.msg, "does not match"));
    /* Other key types are refused by name. */
    n = unhex(SPEC_SECP256K1_PRIV, raw);
    assert_int_equal(al__identity_from_mem(&id, raw, n, &err), AL_ECRYPTO);
    assert_non_null(strstr(err.msg, "Secp256k1"));
    n = unhex(SPEC_ECDSA_PRIV, raw);
    assert_int_equal(al__identity_from_mem(&id, raw, n, &err), AL_ECRYPTO);
    assert_non_null(strstr(err.msg, "ECDSA"));
    /* Unknown key type. */
    const uint8_t unknown[] = {0x08, 0x05, 0x12, 0x01, 0x00};
    assert_int_equal(al__identity_from_mem(&id, unknown, sizeof(unknown), &err),
                     AL_ECRYPTO);
    assert_non_null(strstr(err.msg, "unknown key type 5"));
    /* Wrong Data length. */
    const uint8_t shortkey[] = {0x08, 0x01, 0x12, 0x03, 0x01, 0x02, 0x03};
    assert_int_equal(
        al__identity_from_mem(&id, shortkey, sizeof(shortkey), &err),
        AL_EDECODE);
    assert_non_null(strstr(err.msg, "3 bytes"));
    /* Neither PEM, protobuf nor base64. */
    assert_int_equal(
        al__identity_from_mem(&id, (const uint8_t *)"#!?", 3, &err),
        AL_EDECODE);
    assert_int_equal(
        al__identity_from_mem(&id, (const uint8_t *)" \n", 2, &err),
        AL_EDECODE);
    assert_non_null(strstr(err.msg, "empty"));
    assert_null(id);
}

static void save_load_round_trip(void **state)
{
    (void)state;
    char path[512];
    path_in_tmp(path, sizeof(path), "node.key");
    al_identity *id = NULL, *back = NULL;
    assert_int_equal(al_identity_generate(&id, NULL), 0);
    al_error err = {0};
    assert_int_equal(al_identity_save(id, path, &err), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char head[40] = {0};
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(head, sizeof(head), f));
    fclose(f);
    assert_string_equal(head, "-----BEGIN PRIVATE KEY-----\n");
    assert_int_equal(al_identity_load(&back, path, &err), 0);
    al_peer_id a, b;
    al_identity_peer_id(id, &a);
    al_identity_peer_id(back, &b);
    assert_true(al_peer_id_equal(&a, &b));
    /* Saving another key over it replaces it. */
    al_identity *other = NULL;
    assert_int_equal(al_identity_generate(&other, NULL), 0);
    assert_int_equal(al_identity_save(other, path, &err), 0);
    al_identity_free(back);
    back = NULL;
    assert_int_equal(al_identity_load(&back, path, &err), 0);
    al_identity_peer_id(back, &b);
    assert_false(al_peer_id_equal(&a, &b));
    assert_int_equal(temp_files_left(), 0);
    al_identity_free(id);
    al_identity_free(other);
    al_identity_free(back);
    unlink(path);
}

static void load_or_create(void **state)
{
    (void)state;
    char path[512];
    path_in_tmp(path, sizeof(path), "auto.key");
    unlink(path);
    al_identity *first = NULL, *second = NULL;
    al_error err = {0};
    assert_int_equal(al_identity_load_or_create(&first, path, &err), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(al_identity_load_or_create(&second, path, &err), 0);
    al_peer_id a, b;
    al_identity_peer_id(first, &a);
    al_identity_peer_id(second, &b);
    assert_true(al_peer_id_equal(&a, &b));
    assert_int_equal(temp_files_left(), 0);
    al_identity_free(first);
    al_identity_free(second);
    unlink(path);
    /* An existing file that does not parse is reported, never replaced. */
    path_in_tmp(path, sizeof(path), "broken.key");
    write_file(path, "not a key", 9, 0600);
    first = NULL;
    assert_int_equal(al_identity_load_or_create(&first, path, &err),
                     AL_EDECODE);
    assert_null(first);
    char kept[16] = {0};
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_int_equal(fread(kept, 1, sizeof(kept) - 1, f), 9);
    fclose(f);
    assert_string_equal(kept, "not a key");
    /* A directory that does not exist. */
    path_in_tmp(path, sizeof(path), "missing-dir/auto.key");
    first = NULL;
    assert_int_equal(al_identity_load_or_create(&first, path, &err), AL_EIO);
    assert_non_null(strstr(err.msg, "missing-dir"));
    assert_null(first);
}

static void file_errors(void **state)
{
    (void)state;
    char path[512];
    al_identity *id = NULL;
    al_error err = {0};
    path_in_tmp(path, sizeof(path), "absent.key");
    assert_int_equal(al_identity_load(&id, path, &err), AL_ENOTFOUND);
    assert_non_null(strstr(err.msg, "absent.key"));
    assert_non_null(strstr(err.msg, "does not exist"));
    /* A directory. */
    assert_int_equal(al_identity_load(&id, tmpdir, &err), AL_EIO);
    assert_non_null(strstr(err.msg, "not a regular file"));
    /* Empty file. */
    path_in_tmp(path, sizeof(path), "empty.key");
    write_file(path, "", 0, 0600);
    assert_int_equal(al_identity_load(&id, path, &err), AL_EDECODE);
    assert_non_null(strstr(err.msg, "empty.key"));
    /* Oversized file. */
    path_in_tmp(path, sizeof(path), "big.key");
    static char big[AL__IDENTITY_FILE_MAX + 10];
    memset(big, 'A', sizeof(big));
    write_file(path, big, sizeof(big), 0600);
    assert_int_equal(al_identity_load(&id, path, &err), AL_ELIMIT);
    /* Saving into a missing directory leaves nothing behind. */
    path_in_tmp(path, sizeof(path), "nodir/x.key");
    al_identity *g = NULL;
    assert_int_equal(al_identity_generate(&g, NULL), 0);
    assert_int_equal(al_identity_save(g, path, &err), AL_EIO);
    assert_int_equal(temp_files_left(), 0);
    al_identity_free(g);
    assert_null(id);
}

static void corrupt_pem(void **state)
{
    (void)state;
    char path[512];
    path_in_tmp(path, sizeof(path), "corrupt.key");
    al_identity *id = NULL;
    al_error err = {0};
    assert_int_equal(al_identity_generate(&id, NULL), 0);
    assert_int_equal(al_identity_save(id, path, &err), 0);
    al_identity_free(id);
    id = NULL;
    char buf[512] = {0};
    FILE *f = fopen(path, "r");
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    /* Damage the base64 body. */
    char *body = strchr(buf, '\n') + 5;
    body[0] = '*';
    body[1] = '*';
    write_file(path, buf, n, 0600);
    assert_int_equal(al_identity_load(&id, path, &err), AL_EDECODE);
    assert_non_null(strstr(err.msg, "corrupt.key"));
    assert_non_null(strstr(err.msg, "PEM"));
    /* Truncated PEM. */
    write_file(path, buf, n / 2, 0600);
    assert_int_equal(al_identity_load(&id, path, &err), AL_EDECODE);
    assert_null(id);
}

static void wrong_pem_kinds(void **state)
{
    (void)state;
    EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(ec);
    al_identity *id = NULL;
    al_error err = {0};
    char *data;
    long n;
    /* A P-256 key in PKCS#8. */
    BIO *b = BIO_new(BIO_s_mem());
    assert_true(PEM_write_bio_PrivateKey(b, ec, NULL, NULL, 0, NULL, NULL));
    n = BIO_get_mem_data(b, &data);
    assert_int_equal(
        al__identity_from_mem(&id, (uint8_t *)data, (size_t)n, &err),
        AL_ECRYPTO);
    assert_non_null(strstr(err.msg, "EC"));
    assert_non_null(strstr(err.msg, "only Ed25519"));
    BIO_free(b);
    /* A public key. */
    b = BIO_new(BIO_s_mem());
    assert_true(PEM_write_bio_PUBKEY(b, ec));
    n = BIO_get_mem_data(b, &data);
    assert_int_equal(
        al__identity_from_mem(&id, (uint8_t *)data, (size_t)n, &err),
        AL_ECRYPTO);
    assert_non_null(strstr(err.msg, "public key"));
    BIO_free(b);
    /* An encrypted PKCS#8 Ed25519 key: refused, never prompted for. */
    al_identity *ed = NULL;
    assert_int_equal(al_identity_generate(&ed, NULL), 0);
    EVP_PKEY *edk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    b = BIO_new(BIO_s_mem());
    assert_true(PEM_write_bio_PKCS8PrivateKey(b, edk, EVP_aes_256_cbc(), NULL,
                                              0, NULL, (void *)"secret"));
    n = BIO_get_mem_data(b, &data);
    assert_int_equal(
        al__identity_from_mem(&id, (uint8_t *)data, (size_t)n, &err),
        AL_ECRYPTO);
    assert_non_null(strstr(err.msg, "encrypted"));
    BIO_free(b);
    EVP_PKEY_free(edk);
    EVP_PKEY_free(ec);
    al_identity_free(ed);
    assert_null(id);
}

static int warnings;
static void count_warnings(int level, const char *msg, void *ud)
{
    (void)ud;
    if (level == AL_LOG_WARN && strstr(msg, "readable by other users"))
        warnings++;
}

static void loose_mode_warns(void **state)
{
    (void)state;
    char path[512];
    path_in_tmp(path, sizeof(path), "loose.key");
    al_identity *id = NULL, *back = NULL;
    assert_int_equal(al_identity_generate(&id, NULL), 0);
    assert_int_equal(al_identity_save(id, path, NULL), 0);
    chmod(path, 0644);
    al_log_set(count_warnings, AL_LOG_WARN, NULL);
    warnings = 0;
    assert_int_equal(al_identity_load(&back, path, NULL), 0);
    al_log_set(NULL, AL_LOG_WARN, NULL);
    assert_int_equal(warnings, 1);
    al_identity_free(id);
    al_identity_free(back);
}

static void argument_errors(void **state)
{
    (void)state;
    al_identity *id = NULL;
    uint8_t seed[32] = {0};
    assert_int_equal(al_identity_generate(NULL, NULL), AL_EINVAL);
    assert_int_equal(al_identity_from_seed(&id, NULL, NULL), AL_EINVAL);
    assert_int_equal(al_identity_from_seed(NULL, seed, NULL), AL_EINVAL);
    assert_int_equal(al_identity_load(&id, NULL, NULL), AL_EINVAL);
    assert_int_equal(al_identity_save(NULL, "/tmp/x", NULL), AL_EINVAL);
    assert_int_equal(al_identity_load_or_create(NULL, "/tmp/x", NULL),
                     AL_EINVAL);
    assert_null(id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(seed_gives_known_peer_id),
        cmocka_unit_test(generate_is_random),
        cmocka_unit_test(rfc8032_signature),
        cmocka_unit_test(sign_and_verify),
        cmocka_unit_test(spec_private_key_forms),
        cmocka_unit_test(private_key_errors),
        cmocka_unit_test(save_load_round_trip),
        cmocka_unit_test(load_or_create),
        cmocka_unit_test(file_errors),
        cmocka_unit_test(corrupt_pem),
        cmocka_unit_test(wrong_pem_kinds),
        cmocka_unit_test(loose_mode_warns),
        cmocka_unit_test(argument_errors),
    };
    return cmocka_run_group_tests_name("identity", tests, make_tmpdir,
                                       remove_tmpdir);
}
