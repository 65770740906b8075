/* Route parsing: method + raw path from a client.
 *
 * The first byte picks the method (GET, HEAD, POST, PUT, DELETE, other);
 * the rest is the path. Invariants: a match has decoded parameters that
 * are NUL-free valid UTF-8 no longer than their raw segment, actor names
 * pass gw_actor_name_valid, message references gw_message_ref_valid; a
 * method failure names allowed methods that exclude the one used. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "routes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_param(const char *p, size_t n, size_t raw)
{
    if (strlen(p) != n || n > raw || n > GW_ROUTE_PARAM_MAX)
        abort();
    for (size_t i = 0; i < n;) {
        size_t len = gw_utf8_seq((const unsigned char *)p + i, n - i);
        if (!len || (unsigned char)p[i] < 0x20)
            abort();
        i += len;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const methods[] = {"GET", "HEAD",   "POST",
                                          "PUT", "DELETE", "BREW"};
    static gw_route rt;
    if (size < 1)
        return 0;
    const char *method = methods[data[0] % 6];
    const char *path = (const char *)data + 1;
    size_t len = size - 1;
    int rc = gw_route_parse(method, path, len, &rt);
    if (rc == 0) {
        if (rt.fail != GW_RF_OK || rt.id == GW_R_NONE)
            abort();
        check_param(rt.p1, rt.p1_len, len);
        check_param(rt.p2, rt.p2_len, len);
        if ((rt.id == GW_R_ASK || rt.id == GW_R_TELL) &&
            (!gw_actor_name_valid(rt.p1, rt.p1_len) ||
             !gw_message_ref_valid(rt.p2, rt.p2_len)))
            abort();
        if (!(rt.allow & gw_method_bit(method)))
            abort();
    } else if (rt.fail == GW_RF_OK) {
        abort();
    } else if (rt.fail == GW_RF_METHOD) {
        char allow[64];
        if (!rt.allow || (rt.allow & gw_method_bit(method)) ||
            !gw_allow_header(rt.allow, allow, sizeof(allow))[0])
            abort();
    }
    char out[256];
    long n = gw_percent_decode(path, len, out, sizeof(out));
    if (n >= 0 && ((size_t)n > len || strlen(out) != (size_t)n))
        abort();
    return 0;
}
