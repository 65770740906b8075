/* Kademlia messages: decode with the default packet limit; what decodes
 * is valid, re-encodes within the limit, and packs the same after a second
 * round. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "actorlib.h"
#include "kadmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Kad__Message *a = NULL, *b = NULL;
    int n = al__kadmsg_decode(data, size, AL__KAD_MAX_PACKET, &a, NULL);
    if (n <= 0) {
        if (a)
            abort();
        return 0;
    }
    if ((size_t)n > size || al__kadmsg_validate(a, NULL) != 0)
        abort();
    al_buf e1 = {0}, e2 = {0};
    if (al__kadmsg_encode(a, AL__KAD_MAX_PACKET, &e1, NULL) != 0)
        abort();
    if (al__kadmsg_decode(e1.data, e1.len, AL__KAD_MAX_PACKET, &b, NULL) !=
        (int)e1.len)
        abort();
    if (al__kadmsg_encode(b, AL__KAD_MAX_PACKET, &e2, NULL) != 0 ||
        e1.len != e2.len || memcmp(e1.data, e2.data, e1.len))
        abort();
    al__kadmsg_free(a);
    al__kadmsg_free(b);
    al_buf_free(&e1);
    al_buf_free(&e2);
    return 0;
}
