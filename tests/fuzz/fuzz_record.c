/* Kameo registration records: the layout is canonical, so a value that
 * decodes must encode back to the same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "actorlib.h"
#include "record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    al__record r;
    int rc = al__record_decode(data, size, &r, NULL);
    if (rc != 0) {
        if (r.remote_id)
            abort();
        return 0;
    }
    if (strlen(r.remote_id) != r.remote_id_len)
        abort();
    if (r.remote_id_len > 0) {
        al_buf out = {0};
        if (al__record_encode(&r.id, r.remote_id, r.remote_id_len, &out,
                              NULL) != 0 ||
            out.len != size || memcmp(out.data, data, size))
            abort();
        al_buf_free(&out);
    }
    al__record_free(&r);
    return 0;
}
