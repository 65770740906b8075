/* The libp2p certificate checks on arbitrary DER: the SignedKey parser
 * alone (whatever it accepts re-encodes to the same bytes) and the whole
 * certificate verifier (never crashes; accepts only what proves an Ed25519
 * peer id). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "actorlib.h"
#include "peerid.h"
#include "tlscert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_signed_key(const uint8_t *data, size_t size)
{
    al__signed_key sk;
    if (al__signed_key_parse(data, size, &sk, NULL) != 0)
        return;
    static uint8_t out[2 * AL__SIGNED_KEY_MAX + 16];
    int n = al__signed_key_encode(sk.pubkey, sk.pubkey_len, sk.sig, sk.sig_len,
                                  out, sizeof(out));
    if (n != (int)size || memcmp(out, data, size) != 0)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_signed_key(data, size);
    al_peer_id peer, again;
    al_error err;
    int rc = al__tlscert_verify(data, size, NULL, &peer, &err);
    if (rc == 0) {
        uint8_t pub[32];
        /* Only Ed25519 host keys are ever accepted. */
        if (peer.len != 38 || al__peer_id_ed25519_pubkey(&peer, pub, NULL))
            __builtin_trap();
        if (al__tlscert_verify(data, size, &peer, &again, &err) != 0 ||
            !al_peer_id_equal(&peer, &again))
            __builtin_trap();
    }
    return 0;
}
