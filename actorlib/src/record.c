/* Kameo's actor registration record (see record.h). */
#include "record.h"

#include <stdlib.h>
#include <string.h>

/* Bytes in a UTF-8 sequence led by b, 0 for a byte that cannot lead. The
 * ranges of the second byte are checked by the caller. */
static size_t utf8_seq_len(uint8_t b)
{
    if (b < 0x80)
        return 1;
    if (b >= 0xc2 && b <= 0xdf)
        return 2;
    if (b >= 0xe0 && b <= 0xef)
        return 3;
    if (b >= 0xf0 && b <= 0xf4)
        return 4;
    return 0;
}

bool al__utf8_valid(const uint8_t *b, size_t len)
{
    size_t i = 0;
    while (i < len) {
        /* Names and ids are mostly ASCII: eight bytes at a time. */
        while (len - i >= 8) {
            uint64_t w;
            memcpy(&w, b + i, 8);
            if (w & 0x8080808080808080ULL)
                break;
            i += 8;
        }
        if (i == len)
            break;
        size_t n = utf8_seq_len(b[i]);
        if (n == 0 || n > len - i)
            return false;
        /* The second byte's range excludes overlongs (e0, f0), surrogates
         * (ed) and code points past U+10FFFF (f4). */
        uint8_t lo = 0x80, hi = 0xbf;
        if (b[i] == 0xe0)
            lo = 0xa0;
        else if (b[i] == 0xed)
            hi = 0x9f;
        else if (b[i] == 0xf0)
            lo = 0x90;
        else if (b[i] == 0xf4)
            hi = 0x8f;
        for (size_t k = 1; k < n; k++) {
            uint8_t c = b[i + k];
            if (k == 1 ? (c < lo || c > hi) : (c < 0x80 || c > 0xbf))
                return false;
        }
        i += n;
    }
    return true;
}

/* Kameo reads any UTF-8 here, even an empty string (which then matches no
 * actor type); a NUL is refused because the id becomes a C string. */
static bool remote_id_ok(const uint8_t *s, size_t len)
{
    return len <= AL__RECORD_REMOTE_ID_MAX && !memchr(s, 0, len) &&
           al__utf8_valid(s, len);
}

int al__record_encode(const al_actor_id *id, const char *remote_id,
                      size_t remote_id_len, al_buf *out, al_error *err)
{
    if (id->peer.len == 0 || id->peer.len > AL_PEER_ID_MAX)
        return al_error_set(err, AL_EINVAL, "peer id of %u bytes",
                            (unsigned)id->peer.len);
    if (!remote_id || remote_id_len == 0 ||
        !remote_id_ok((const uint8_t *)remote_id, remote_id_len))
        return al_error_set(err, AL_EINVAL, "bad actor remote id");
    uint8_t head[1 + 8];
    head[0] = id->peer.len;
    for (int i = 0; i < 8; i++)
        head[1 + i] = (uint8_t)(id->seq >> (8 * i));
    int rc = al_buf_reserve(out, sizeof(head) + id->peer.len + remote_id_len);
    if (rc)
        return al_error_set(err, rc, "out of memory");
    al_buf_append(out, head, sizeof(head));
    al_buf_append(out, id->peer.bytes, id->peer.len);
    al_buf_append(out, remote_id, remote_id_len);
    return 0;
}

int al__record_decode(const uint8_t *value, size_t len, al__record *out,
                      al_error *err)
{
    memset(out, 0, sizeof(*out));
    if (len == 0)
        return al_error_set(err, AL_ENOTFOUND, "record is a tombstone");
    size_t peer_len = value[0];
    if (peer_len == 0 || peer_len > AL_PEER_ID_MAX)
        return al_error_set(err, AL_EDECODE, "record: peer id of %zu bytes",
                            peer_len);
    if (len < 1 + 8 + peer_len)
        return al_error_set(err, AL_EDECODE, "record: truncated (%zu bytes)",
                            len);
    const uint8_t *rid = value + 1 + 8 + peer_len;
    size_t rid_len = len - (1 + 8 + peer_len);
    if (!remote_id_ok(rid, rid_len))
        return al_error_set(
            err, AL_EDECODE,
            "record: remote id too long, not UTF-8 or with NUL");
    char *s = malloc(rid_len + 1);
    if (!s)
        return al_error_set(err, AL_ENOMEM, "out of memory");
    memcpy(s, rid, rid_len);
    s[rid_len] = '\0';
    for (int i = 0; i < 8; i++)
        out->id.seq |= (uint64_t)value[1 + i] << (8 * i);
    out->id.peer.len = (uint8_t)peer_len;
    memcpy(out->id.peer.bytes, value + 1 + 8, peer_len);
    out->remote_id = s;
    out->remote_id_len = rid_len;
    return 0;
}

void al__record_free(al__record *r)
{
    free(r->remote_id);
    r->remote_id = NULL;
    r->remote_id_len = 0;
}
