/* Kademlia messages and length-prefixed protobuf framing (see kadmsg.h). */
#include "kadmsg.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "varint.h"

/* Structs protobuf-c may allocate per input byte, and a floor for the
 * fixed part. An empty repeated sub-message costs two input bytes and
 * about a hundred bytes of structs and pointers. */
#define BUDGET_PER_BYTE 64
#define BUDGET_FLOOR    4096

struct budget {
    size_t left;
};

static void *budget_alloc(void *ud, size_t size)
{
    struct budget *b = ud;
    if (!b || size > b->left)
        return NULL;
    b->left -= size;
    return malloc(size);
}

static void plain_free(void *ud, void *p)
{
    (void)ud;
    free(p);
}

/* Freeing needs no budget. */
static ProtobufCAllocator free_only = {budget_alloc, plain_free, NULL};

/* protobuf-c takes a tag of field number 0 when its varint is not minimal
 * (81 00), keeps it as an unknown field and packs it back in the short
 * form, which it then refuses. Field 0 is invalid protobuf: refuse it
 * anywhere in the tree. */
static bool has_field_zero(const ProtobufCMessage *m)
{
    for (unsigned i = 0; i < m->n_unknown_fields; i++)
        if (m->unknown_fields[i].tag == 0)
            return true;
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        const char *base = (const char *)m;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + f->quantifier_offset);
            ProtobufCMessage *const *sub =
                *(ProtobufCMessage *const *const *)(base + f->offset);
            for (size_t k = 0; k < n; k++)
                if (has_field_zero(sub[k]))
                    return true;
        } else {
            const ProtobufCMessage *sub =
                *(const ProtobufCMessage *const *)(base + f->offset);
            if (sub && has_field_zero(sub))
                return true;
        }
    }
    return false;
}

int al__pb_frame_decode(const ProtobufCMessageDescriptor *desc,
                        const uint8_t *in, size_t len, size_t max,
                        ProtobufCMessage **out, al_error *err)
{
    *out = NULL;
    if (max > AL__PB_FRAME_MAX)
        return al_error_set(err, AL_EINVAL, "frame limit %zu too large", max);
    uint64_t body = 0;
    int n = al__uvarint_decode(in, len, &body);
    if (n < 0)
        return al_error_set(err, AL_EDECODE, "%s: bad length prefix",
                            desc->short_name);
    if (n == 0)
        return 0;
    if (body > max)
        return al_error_set(err, AL_ELIMIT, "%s of %llu bytes exceeds %zu",
                            desc->short_name, (unsigned long long)body, max);
    if (len - (size_t)n < body)
        return 0;
    struct budget b = {BUDGET_FLOOR + BUDGET_PER_BYTE * (size_t)body};
    ProtobufCAllocator a = {budget_alloc, plain_free, &b};
    *out = protobuf_c_message_unpack(desc, &a, (size_t)body, in + n);
    if (*out && has_field_zero(*out)) {
        al__pb_free(*out);
        *out = NULL;
    }
    if (!*out)
        return al_error_set(err, AL_EDECODE, "%s: malformed protobuf",
                            desc->short_name);
    return n + (int)body;
}

int al__pb_frame_encode(const ProtobufCMessage *m, size_t max, al_buf *out,
                        al_error *err)
{
    size_t size = protobuf_c_message_get_packed_size(m);
    if (size > max)
        return al_error_set(err, AL_ELIMIT, "%s of %zu bytes exceeds %zu",
                            m->descriptor->short_name, size, max);
    uint8_t pre[AL__UVARINT_MAX];
    size_t n = al__uvarint_encode(size, pre);
    if (al_buf_reserve(out, n + size))
        return al_error_set(err, AL_ENOMEM, "out of memory");
    al_buf_append(out, pre, n);
    protobuf_c_message_pack(m, out->data + out->len);
    out->len += size;
    return 0;
}

void al__pb_free(ProtobufCMessage *m)
{
    if (m)
        protobuf_c_message_free_unpacked(m, &free_only);
}

/* ------------------------------------------------------------ kad */

static int check_peer(const Kad__Message__Peer *p, const char *list, size_t i,
                      al_error *err)
{
    if (p->id.len == 0 || p->id.len > AL_PEER_ID_MAX)
        return al_error_set(err, AL_EDECODE,
                            "kad: %s[%zu]: peer id of %zu "
                            "bytes",
                            list, i, p->id.len);
    if (p->n_addrs > AL__KAD_ADDRS_MAX)
        return al_error_set(err, AL_EDECODE, "kad: %s[%zu]: %zu addresses",
                            list, i, p->n_addrs);
    for (size_t k = 0; k < p->n_addrs; k++)
        if (p->addrs[k].len == 0 || p->addrs[k].len > AL__KAD_ADDR_MAX)
            return al_error_set(err, AL_EDECODE,
                                "kad: %s[%zu]: address of %zu bytes", list, i,
                                p->addrs[k].len);
    return 0;
}

static int check_peers(Kad__Message__Peer *const *peers, size_t n,
                       const char *list, al_error *err)
{
    if (n > AL__KAD_PEERS_MAX)
        return al_error_set(err, AL_EDECODE, "kad: %zu %s", n, list);
    for (size_t i = 0; i < n; i++) {
        int rc = check_peer(peers[i], list, i, err);
        if (rc)
            return rc;
    }
    return 0;
}

static int check_record(const Kad__Record *r, al_error *err)
{
    if (r->key.len > AL__KAD_KEY_MAX)
        return al_error_set(err, AL_EDECODE, "kad: record key of %zu bytes",
                            r->key.len);
    if (r->value.len > AL__KAD_VALUE_MAX)
        return al_error_set(err, AL_EDECODE, "kad: record value of %zu bytes",
                            r->value.len);
    if (r->publisher.len > AL_PEER_ID_MAX)
        return al_error_set(err, AL_EDECODE, "kad: publisher of %zu bytes",
                            r->publisher.len);
    if (r->timereceived &&
        strnlen(r->timereceived, AL__KAD_TIME_MAX + 1) > AL__KAD_TIME_MAX)
        return al_error_set(err, AL_EDECODE, "kad: timeReceived too long");
    return 0;
}

int al__kadmsg_validate(const Kad__Message *m, al_error *err)
{
    if ((int)m->type < KAD__MESSAGE__MESSAGE_TYPE__PUT_VALUE ||
        (int)m->type > KAD__MESSAGE__MESSAGE_TYPE__PING)
        return al_error_set(err, AL_EDECODE, "kad: unknown message type %d",
                            (int)m->type);
    if (m->key.len > AL__KAD_KEY_MAX)
        return al_error_set(err, AL_EDECODE, "kad: key of %zu bytes",
                            m->key.len);
    int rc = m->record ? check_record(m->record, err) : 0;
    if (rc == 0)
        rc = check_peers(m->closerpeers, m->n_closerpeers, "closerPeers", err);
    if (rc == 0)
        rc = check_peers(m->providerpeers, m->n_providerpeers, "providerPeers",
                         err);
    return rc;
}

int al__kadmsg_decode(const uint8_t *in, size_t len, size_t max,
                      Kad__Message **out, al_error *err)
{
    ProtobufCMessage *m = NULL;
    int n =
        al__pb_frame_decode(&kad__message__descriptor, in, len, max, &m, err);
    *out = NULL;
    if (n <= 0)
        return n;
    int rc = al__kadmsg_validate((Kad__Message *)m, err);
    if (rc) {
        al__pb_free(m);
        return rc;
    }
    *out = (Kad__Message *)m;
    return n;
}

int al__kadmsg_encode(const Kad__Message *m, size_t max, al_buf *out,
                      al_error *err)
{
    return al__pb_frame_encode(&m->base, max, out, err);
}

void al__kadmsg_free(Kad__Message *m)
{
    al__pb_free(m ? &m->base : NULL);
}
