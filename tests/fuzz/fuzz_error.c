/* Smallest harness: keeps the fuzz build path exercised even before the
 * protocol parsers have their own. Formats arbitrary codes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "actorlib.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int code = 0;
    memcpy(&code, data, size < sizeof(code) ? size : sizeof(code));
    al_buf b = {0};
    if (al_buf_append(&b, al_strerror(code), strlen(al_strerror(code))) == 0)
        al_buf_free(&b);
    return 0;
}
