/* Key protobufs, peer ids and key files on arbitrary input. The hand
 * parser of PublicKey/PrivateKey is checked against protobuf-c's generated
 * decoder: whatever the strict parser accepts, protobuf-c must read the same
 * way, and it must be the one canonical encoding. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "actorlib.h"
#include "identity.h"
#include "keys.pb-c.h"
#include "peerid.h"
#include "varint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_key_proto(const uint8_t *data, size_t size)
{
    al__key_proto kp;
    if (al__key_proto_parse(data, size, "public key", &kp, NULL) != 0)
        return;
    AlKeys__PublicKey *pk = al_keys__public_key__unpack(NULL, size, data);
    if (!pk || (int)pk->type != (int)kp.type || pk->data.len != kp.len ||
        (kp.len && memcmp(pk->data.data, kp.data, kp.len) != 0))
        __builtin_trap();
    al_keys__public_key__free_unpacked(pk, NULL);
    /* Canonical: 08 <type> 12 <len> <data> and nothing else. */
    uint8_t head[2 + 2 * AL__UVARINT_MAX];
    size_t h = 0;
    head[h++] = 0x08;
    h += al__uvarint_encode(kp.type, head + h);
    head[h++] = 0x12;
    h += al__uvarint_encode(kp.len, head + h);
    if (h + kp.len != size || memcmp(head, data, h) != 0)
        __builtin_trap();
    al_peer_id id, back;
    if (size > 0 && al__peer_id_from_pubkey_proto(data, size, &id) == 0) {
        if (al_peer_id_from_bytes(&back, id.bytes, id.len) != 0)
            __builtin_trap();
        uint8_t pub[32];
        if (kp.type == AL__KEY_ED25519 && kp.len == 32 &&
            (al__peer_id_ed25519_pubkey(&id, pub, NULL) != 0 ||
             memcmp(pub, kp.data, 32) != 0))
            __builtin_trap();
    }
}

static void check_peer_id(const uint8_t *data, size_t size)
{
    al_peer_id id, back;
    char text[AL_PEER_ID_STRLEN];
    if (al_peer_id_from_bytes(&id, data, size) == 0) {
        if (al_peer_id_format(&id, text, sizeof(text)) != 0 ||
            al_peer_id_parse(&back, text) != 0 || !al_peer_id_equal(&id, &back))
            __builtin_trap();
    }
    if (al__peer_id_parse_n(&id, (const char *)data, size, NULL) == 0) {
        if (al_peer_id_format(&id, text, sizeof(text)) != 0 ||
            al_peer_id_parse(&back, text) != 0 || !al_peer_id_equal(&id, &back))
            __builtin_trap();
    }
}

static void check_key_file(const uint8_t *data, size_t size)
{
    al_identity *id = NULL;
    if (al__identity_from_mem(&id, data, size, NULL) != 0)
        return;
    uint8_t pub[32], sig[64];
    al__identity_pubkey(id, pub);
    if (al__identity_sign(id, data, size, sig) != 0 ||
        al__ed25519_verify(pub, data, size, sig) != 0)
        __builtin_trap();
    al_identity_free(id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_key_proto(data, size);
    check_peer_id(data, size);
    check_key_file(data, size);
    return 0;
}
