/* Identify messages: what decodes is valid and packs the same after a
 * second round (when it is small enough for us to send). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "actorlib.h"
#include "identify_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Identify__Identify *a = NULL, *b = NULL;
    int n = al__identify_decode(data, size, &a, NULL);
    if (n <= 0) {
        if (a)
            abort();
        return 0;
    }
    if ((size_t)n > size || al__identify_validate(a, NULL) != 0)
        abort();
    al_buf e1 = {0}, e2 = {0};
    int rc = al__identify_encode(a, &e1, NULL);
    if (rc == AL_ELIMIT)
        goto out;
    if (rc != 0)
        abort();
    if (al__identify_decode(e1.data, e1.len, &b, NULL) != (int)e1.len)
        abort();
    if (al__identify_encode(b, &e2, NULL) != 0 || e1.len != e2.len ||
        memcmp(e1.data, e2.data, e1.len))
        abort();
out:
    al__identify_free(a);
    al__identify_free(b);
    al_buf_free(&e1);
    al_buf_free(&e2);
    return 0;
}
