/* MessagePack from a peer without a schema (handler errors), into JSON.
 *
 * Invariants: a value that decodes is valid JSON that jansson can write,
 * and decoding never reads past the input (ASan) nor allocates more than
 * the input justifies (counts are checked against the bytes left). */
#include <stdint.h>
#include <stdlib.h>

#include "mpjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *v = NULL;
    al_error e;
    int rc = gw_mpjson_decode(data, size, &v, &e);
    if (rc == 0) {
        char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!text)
            abort();
        free(text);
        json_decref(v);
    } else if (v || (rc != AL_EDECODE && rc != AL_ENOMEM)) {
        abort();
    }
    return 0;
}
