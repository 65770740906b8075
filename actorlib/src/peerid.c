/* Peer ids: multihash validation, text forms, key protobufs. */
#include "peerid.h"

#include <string.h>

#include <openssl/evp.h>

#include "base58.h"
#include "varint.h"

#define MH_IDENTITY  0x00
#define MH_SHA2_256  0x12
#define SHA256_LEN   32
#define CID_V1       1
#define LIBP2P_KEY   0x72
#define CID_TEXT_MAX 200

static const char *const key_type_names[] = {"RSA", "Ed25519", "Secp256k1",
                                             "ECDSA"};

const char *al__key_type_name(int type)
{
    if (type < 0 || type > AL__KEY_ECDSA)
        return "unknown";
    return key_type_names[type];
}

/* Reads one varint at *pos; AL_EDECODE when truncated or not minimal. */
static int read_varint(const uint8_t *buf, size_t len, size_t *pos, uint64_t *v)
{
    int n = al__uvarint_decode(buf + *pos, len - *pos, v);
    if (n <= 0)
        return AL_EDECODE;
    *pos += (size_t)n;
    return 0;
}

int al__key_proto_parse(const uint8_t *buf, size_t len, const char *what,
                        al__key_proto *out, al_error *err)
{
    if (len > AL__KEY_PROTO_MAX)
        return al_error_set(err, AL_ELIMIT, "%s protobuf too long (%zu bytes)",
                            what, len);
    size_t pos = 0;
    uint64_t tag, type, dlen;
    if (read_varint(buf, len, &pos, &tag) < 0 || tag != 0x08)
        return al_error_set(err, AL_EDECODE,
                            "%s protobuf: expected field 1 (Type) first", what);
    if (read_varint(buf, len, &pos, &type) < 0)
        return al_error_set(err, AL_EDECODE, "%s protobuf: bad key type varint",
                            what);
    if (type > AL__KEY_ECDSA)
        return al_error_set(err, AL_ECRYPTO,
                            "%s protobuf: unknown key type %llu", what,
                            (unsigned long long)type);
    if (read_varint(buf, len, &pos, &tag) < 0 || tag != 0x12)
        return al_error_set(err, AL_EDECODE,
                            "%s protobuf: expected field 2 (Data) after Type",
                            what);
    if (read_varint(buf, len, &pos, &dlen) < 0 || dlen > len - pos)
        return al_error_set(err, AL_EDECODE,
                            "%s protobuf: Data length exceeds the message",
                            what);
    if (pos + dlen != len)
        return al_error_set(err, AL_EDECODE,
                            "%s protobuf: %zu unexpected bytes after Data",
                            what, len - pos - (size_t)dlen);
    out->type = (enum al__key_type)type;
    out->data = buf + pos;
    out->len = (size_t)dlen;
    return 0;
}

void al__ed25519_pubkey_proto(const uint8_t pub[AL__ED25519_PUB_LEN],
                              uint8_t out[AL__ED25519_PUBKEY_PROTO_LEN])
{
    out[0] = 0x08;
    out[1] = AL__KEY_ED25519;
    out[2] = 0x12;
    out[3] = AL__ED25519_PUB_LEN;
    memcpy(out + 4, pub, AL__ED25519_PUB_LEN);
}

int al__peer_id_from_pubkey_proto(const uint8_t *proto, size_t len,
                                  al_peer_id *out)
{
    if (!proto || len == 0 || !out)
        return AL_EINVAL;
    if (len > AL__KEY_PROTO_MAX)
        return AL_ELIMIT;
    if (len <= AL__PEER_ID_INLINE_MAX) {
        out->bytes[0] = MH_IDENTITY;
        out->bytes[1] = (uint8_t)len;
        memcpy(out->bytes + 2, proto, len);
        out->len = (uint8_t)(len + 2);
        return 0;
    }
    unsigned int dlen = 0;
    if (!EVP_Digest(proto, len, out->bytes + 2, &dlen, EVP_sha256(), NULL) ||
        dlen != SHA256_LEN)
        return AL_ECRYPTO;
    out->bytes[0] = MH_SHA2_256;
    out->bytes[1] = SHA256_LEN;
    out->len = 2 + SHA256_LEN;
    return 0;
}

void al__peer_id_from_ed25519(const uint8_t pub[AL__ED25519_PUB_LEN],
                              al_peer_id *out)
{
    uint8_t proto[AL__ED25519_PUBKEY_PROTO_LEN];
    al__ed25519_pubkey_proto(pub, proto);
    /* Cannot fail: 36 bytes is within the inline limit. */
    (void)al__peer_id_from_pubkey_proto(proto, sizeof(proto), out);
}

int al__peer_id_ed25519_pubkey(const al_peer_id *id,
                               uint8_t pub[AL__ED25519_PUB_LEN], al_error *err)
{
    if (!id || id->len < 2 || id->len > AL_PEER_ID_MAX)
        return al_error_set(err, AL_EINVAL, "invalid peer id");
    if (id->bytes[0] != MH_IDENTITY)
        return al_error_set(err, AL_ECRYPTO,
                            "peer id hashes its public key; the key cannot be "
                            "recovered from it");
    if (id->bytes[1] != id->len - 2)
        return al_error_set(err, AL_EDECODE,
                            "peer id multihash length mismatch");
    al__key_proto kp;
    int rc = al__key_proto_parse(id->bytes + 2, id->len - 2u, "public key", &kp,
                                 err);
    if (rc < 0)
        return rc;
    if (kp.type != AL__KEY_ED25519)
        return al_error_set(err, AL_ECRYPTO,
                            "peer id holds a %s key, not an Ed25519 key",
                            al__key_type_name(kp.type));
    if (kp.len != AL__ED25519_PUB_LEN)
        return al_error_set(err, AL_EDECODE,
                            "peer id holds an Ed25519 key of %zu bytes, not 32",
                            kp.len);
    memcpy(pub, kp.data, AL__ED25519_PUB_LEN);
    return 0;
}

int al__peer_id_from_bytes_err(al_peer_id *out, const uint8_t *b, size_t len,
                               al_error *err)
{
    if (!out || (!b && len))
        return al_error_set(err, AL_EINVAL, "invalid argument");
    if (len > AL_PEER_ID_MAX)
        return al_error_set(err, AL_EDECODE,
                            "peer id too long (%zu bytes, at most %d)", len,
                            AL_PEER_ID_MAX);
    size_t pos = 0;
    uint64_t code, dlen;
    if (len == 0 || read_varint(b, len, &pos, &code) < 0 ||
        read_varint(b, len, &pos, &dlen) < 0)
        return al_error_set(err, AL_EDECODE, "peer id: truncated multihash");
    if (code != MH_IDENTITY && code != MH_SHA2_256)
        return al_error_set(err, AL_EDECODE,
                            "peer id: multihash code 0x%llx is neither "
                            "identity nor sha2-256",
                            (unsigned long long)code);
    if (dlen != len - pos)
        return al_error_set(err, AL_EDECODE,
                            "peer id: multihash says %llu digest bytes, %zu "
                            "present",
                            (unsigned long long)dlen, len - pos);
    if (code == MH_SHA2_256 && dlen != SHA256_LEN)
        return al_error_set(err, AL_EDECODE,
                            "peer id: sha2-256 digest of %llu bytes, not 32",
                            (unsigned long long)dlen);
    if (code == MH_IDENTITY && (dlen == 0 || dlen > AL__PEER_ID_INLINE_MAX))
        return al_error_set(err, AL_EDECODE,
                            "peer id: identity multihash of %llu bytes (1 to "
                            "42 allowed)",
                            (unsigned long long)dlen);
    memcpy(out->bytes, b, len);
    out->len = (uint8_t)len;
    return 0;
}

/* RFC 4648 base32, lower case, no padding: multibase 'b'. Returns bytes
 * written or a negative code. Leftover bits must be fewer than 8 and zero,
 * so that each byte string has exactly one text. */
static int base32_decode(const char *t, size_t n, uint8_t *out, size_t cap)
{
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        unsigned v;
        if (c >= 'a' && c <= 'z')
            v = (unsigned)(c - 'a');
        else if (c >= '2' && c <= '7')
            v = (unsigned)(c - '2' + 26);
        else
            return AL_EDECODE;
        acc = (acc << 5) | v;
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            if (k == cap)
                return AL_ELIMIT;
            out[k++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (bits >= 5 || acc != 0)
        return AL_EDECODE;
    return (int)k;
}

/* A CIDv1 `01 72 <multihash>` in multibase text. */
static int parse_cid(al_peer_id *out, const char *text, size_t len,
                     al_error *err)
{
    uint8_t raw[AL_PEER_ID_MAX + 8];
    int n;
    if (len > CID_TEXT_MAX)
        return al_error_set(err, AL_EDECODE, "peer id CID text too long");
    if (text[0] == 'b')
        n = base32_decode(text + 1, len - 1, raw, sizeof(raw));
    else
        n = al__base58_decode(text + 1, len - 1, raw, sizeof(raw));
    if (n < 0)
        return al_error_set(err, AL_EDECODE,
                            "peer id: bad multibase text after '%c'", text[0]);
    size_t pos = 0;
    uint64_t version, codec;
    if (read_varint(raw, (size_t)n, &pos, &version) < 0 ||
        read_varint(raw, (size_t)n, &pos, &codec) < 0 || version != CID_V1)
        return al_error_set(err, AL_EDECODE, "peer id: not a CIDv1");
    if (codec != LIBP2P_KEY)
        return al_error_set(
            err, AL_EDECODE,
            "peer id: CID codec 0x%llx is not libp2p-key (0x72)",
            (unsigned long long)codec);
    return al__peer_id_from_bytes_err(out, raw + pos, (size_t)n - pos, err);
}

int al__peer_id_parse_n(al_peer_id *out, const char *text, size_t len,
                        al_error *err)
{
    if (!out || !text)
        return al_error_set(err, AL_EINVAL, "invalid argument");
    if (len == 0)
        return al_error_set(err, AL_EDECODE, "empty peer id");
    /* A bare base58 multihash starts with '1' (identity) or "Qm" (sha2-256);
     * 'b' and 'z' can only be multibase prefixes. */
    if (text[0] == 'b' || text[0] == 'z')
        return parse_cid(out, text, len, err);
    uint8_t raw[AL_PEER_ID_MAX + 1];
    int n = al__base58_decode(text, len, raw, sizeof(raw));
    if (n == AL_ELIMIT)
        return al_error_set(err, AL_EDECODE, "peer id text too long");
    if (n < 0)
        return al_error_set(err, AL_EDECODE,
                            "peer id is not valid base58btc text");
    return al__peer_id_from_bytes_err(out, raw, (size_t)n, err);
}

int al_peer_id_parse(al_peer_id *out, const char *text)
{
    if (!text)
        return AL_EINVAL;
    return al__peer_id_parse_n(out, text, strlen(text), NULL);
}

int al_peer_id_from_bytes(al_peer_id *out, const uint8_t *b, size_t len)
{
    return al__peer_id_from_bytes_err(out, b, len, NULL);
}

int al_peer_id_format(const al_peer_id *id, char *buf, size_t cap)
{
    if (!id || !buf || id->len == 0 || id->len > AL_PEER_ID_MAX)
        return AL_EINVAL;
    int n = al__base58_encode(id->bytes, id->len, buf, cap);
    return n < 0 ? n : 0;
}

bool al_peer_id_equal(const al_peer_id *a, const al_peer_id *b)
{
    return a->len == b->len && a->len <= AL_PEER_ID_MAX &&
           memcmp(a->bytes, b->bytes, a->len) == 0;
}
