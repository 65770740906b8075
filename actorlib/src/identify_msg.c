/* libp2p identify messages (see identify_msg.h). */
#include "identify_msg.h"

#include <string.h>

#include "kadmsg.h"
#include "record.h"

/* A C string of at most |max| bytes of UTF-8 (protobuf-c cuts nothing, but
 * an inner NUL makes the string end early: that can only shorten it). */
static bool text_ok(const char *s, size_t min, size_t max)
{
    size_t len = strnlen(s, max + 1);
    return len >= min && len <= max && al__utf8_valid((const uint8_t *)s, len);
}

static int check_addr(const ProtobufCBinaryData *a, const char *what,
                      al_error *err)
{
    if (a->len == 0 || a->len > AL__IDENTIFY_ADDR_MAX)
        return al_error_set(err, AL_EDECODE, "identify: %s of %zu bytes", what,
                            a->len);
    return 0;
}

int al__identify_validate(const Identify__Identify *m, al_error *err)
{
    if (!m->has_publickey || m->publickey.len == 0 ||
        m->publickey.len > AL__IDENTIFY_KEY_MAX)
        return al_error_set(err, AL_EDECODE,
                            "identify: public key missing or too long");
    if (m->n_listenaddrs > AL__IDENTIFY_ADDRS_MAX)
        return al_error_set(err, AL_EDECODE, "identify: %zu listen addresses",
                            m->n_listenaddrs);
    for (size_t i = 0; i < m->n_listenaddrs; i++) {
        int rc = check_addr(&m->listenaddrs[i], "listen address", err);
        if (rc)
            return rc;
    }
    if (m->has_observedaddr) {
        int rc = check_addr(&m->observedaddr, "observed address", err);
        if (rc)
            return rc;
    }
    if (m->n_protocols > AL__IDENTIFY_PROTOCOLS_MAX)
        return al_error_set(err, AL_EDECODE, "identify: %zu protocols",
                            m->n_protocols);
    for (size_t i = 0; i < m->n_protocols; i++)
        if (!text_ok(m->protocols[i], 1, AL__IDENTIFY_PROTOCOL_MAX))
            return al_error_set(err, AL_EDECODE, "identify: protocol #%zu", i);
    if ((m->protocolversion &&
         !text_ok(m->protocolversion, 0, AL__IDENTIFY_VERSION_MAX)) ||
        (m->agentversion &&
         !text_ok(m->agentversion, 0, AL__IDENTIFY_VERSION_MAX)))
        return al_error_set(err, AL_EDECODE, "identify: bad version string");
    return 0;
}

int al__identify_decode(const uint8_t *in, size_t len, Identify__Identify **out,
                        al_error *err)
{
    ProtobufCMessage *m = NULL;
    int n = al__pb_frame_decode(&identify__identify__descriptor, in, len,
                                AL__IDENTIFY_RECV_MAX, &m, err);
    *out = NULL;
    if (n <= 0)
        return n;
    int rc = al__identify_validate((Identify__Identify *)m, err);
    if (rc) {
        al__pb_free(m);
        return rc;
    }
    *out = (Identify__Identify *)m;
    return n;
}

int al__identify_encode(const Identify__Identify *m, al_buf *out, al_error *err)
{
    return al__pb_frame_encode(&m->base, AL__IDENTIFY_SEND_MAX, out, err);
}

void al__identify_free(Identify__Identify *m)
{
    al__pb_free(m ? &m->base : NULL);
}
