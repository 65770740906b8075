/* Growable byte buffers. */
#include <stdlib.h>
#include <string.h>

#include "actorlib.h"

int al_buf_reserve(al_buf *b, size_t extra)
{
    if (extra <= b->cap - b->len)
        return 0;
    if (extra > SIZE_MAX / 2 - b->len)
        return AL_ENOMEM;
    size_t want = b->len + extra;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < want)
        cap *= 2;
    uint8_t *p = realloc(b->data, cap);
    if (!p)
        return AL_ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int al_buf_append(al_buf *b, const void *data, size_t len)
{
    if (len == 0)
        return 0;
    int rc = al_buf_reserve(b, len);
    if (rc)
        return rc;
    memcpy(b->data + b->len, data, len);
    b->len += len;
    return 0;
}

void al_buf_reset(al_buf *b)
{
    b->len = 0;
}

void al_buf_free(al_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
