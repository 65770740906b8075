/* /kameo/1 CBOR: the first byte picks request or response. What decodes
 * must encode, and decode again to the same value and the same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "actorlib.h"
#include "kameo_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void request(const uint8_t *in, size_t len)
{
    al__kw_request a, b;
    if (al__kw_request_decode(in, len, &a, NULL) != 0)
        return;
    al_buf e1 = {0}, e2 = {0};
    if (al__kw_request_encode(&a, &e1, NULL) != 0)
        abort();
    if (al__kw_request_decode(e1.data, e1.len, &b, NULL) != 0)
        abort();
    if (!al__kw_request_equal(&a, &b))
        abort();
    if (al__kw_request_encode(&b, &e2, NULL) != 0 || e1.len != e2.len ||
        memcmp(e1.data, e2.data, e1.len))
        abort();
    al__kw_request_free(&a);
    al__kw_request_free(&b);
    al_buf_free(&e1);
    al_buf_free(&e2);
}

static void response(const uint8_t *in, size_t len)
{
    al__kw_response a, b;
    if (al__kw_response_decode(in, len, &a, NULL) != 0)
        return;
    al_buf e1 = {0}, e2 = {0};
    if (al__kw_response_encode(&a, &e1, NULL) != 0)
        abort();
    if (al__kw_response_decode(e1.data, e1.len, &b, NULL) != 0)
        abort();
    if (!al__kw_response_equal(&a, &b))
        abort();
    if (al__kw_response_encode(&b, &e2, NULL) != 0 || e1.len != e2.len ||
        memcmp(e1.data, e2.data, e1.len))
        abort();
    al__kw_response_free(&a);
    al__kw_response_free(&b);
    al_buf_free(&e1);
    al_buf_free(&e2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1)
        response(data + 1, size - 1);
    else
        request(data + 1, size - 1);
    return 0;
}
