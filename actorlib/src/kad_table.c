/* Kademlia keys and the k-bucket routing table (see kad_table.h). */
#include "kad_table.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

void al__kad_key_hash(const uint8_t *data, size_t len, al__kad_key *out)
{
    unsigned int n = 0;
    /* SHA-256 of a memory buffer cannot fail short of a broken libcrypto;
     * a zero key then is as good as any. */
    if (!EVP_Digest(data, len, out->b, &n, EVP_sha256(), NULL) ||
        n != AL__KAD_KEY_LEN)
        memset(out->b, 0, sizeof(out->b));
}

void al__kad_key_peer(const al_peer_id *peer, al__kad_key *out)
{
    al__kad_key_hash(peer->bytes, peer->len, out);
}

int al__kad_distance_cmp(const al__kad_key *target, const al__kad_key *a,
                         const al__kad_key *b)
{
    for (size_t i = 0; i < AL__KAD_KEY_LEN; i++) {
        uint8_t da = a->b[i] ^ target->b[i], db = b->b[i] ^ target->b[i];
        if (da != db)
            return da < db ? -1 : 1;
    }
    return 0;
}

int al__kad_bucket_index(const al__kad_key *a, const al__kad_key *b)
{
    for (size_t i = 0; i < AL__KAD_KEY_LEN; i++) {
        uint8_t d = a->b[i] ^ b->b[i];
        if (d) {
            int bit = 7;
            while (!(d & 0x80)) {
                d <<= 1;
                bit--;
            }
            return (int)(AL__KAD_KEY_LEN - 1 - i) * 8 + bit;
        }
    }
    return -1;
}

/* ------------------------------------------------------------ addresses */

int al__kad_addrs_add(al__kad_addrs *a, const uint8_t *maddr, size_t len)
{
    if (!maddr || len == 0 || len > AL__KAD_ADDR_LEN)
        return AL_EINVAL;
    for (size_t i = 0; i < a->n; i++) {
        if (a->len[i] != len || memcmp(a->data[i], maddr, len))
            continue;
        uint8_t *d = a->data[i];
        memmove(&a->data[1], &a->data[0], i * sizeof(a->data[0]));
        memmove(&a->len[1], &a->len[0], i * sizeof(a->len[0]));
        a->data[0] = d;
        a->len[0] = (uint16_t)len;
        return 0;
    }
    uint8_t *copy = malloc(len);
    if (!copy)
        return AL_ENOMEM;
    memcpy(copy, maddr, len);
    if (a->n == AL__KAD_ENTRY_ADDRS)
        free(a->data[--a->n]);
    memmove(&a->data[1], &a->data[0], a->n * sizeof(a->data[0]));
    memmove(&a->len[1], &a->len[0], a->n * sizeof(a->len[0]));
    a->data[0] = copy;
    a->len[0] = (uint16_t)len;
    a->n++;
    return 1;
}

void al__kad_addrs_merge(al__kad_addrs *dst, const al__kad_addrs *src)
{
    if (!src)
        return;
    for (size_t i = src->n; i-- > 0;)
        al__kad_addrs_add(dst, src->data[i], src->len[i]);
}

int al__kad_addrs_copy(al__kad_addrs *dst, const al__kad_addrs *src)
{
    memset(dst, 0, sizeof(*dst));
    for (size_t i = src->n; i-- > 0;)
        if (al__kad_addrs_add(dst, src->data[i], src->len[i]) < 0) {
            al__kad_addrs_free(dst);
            return AL_ENOMEM;
        }
    return 0;
}

void al__kad_addrs_free(al__kad_addrs *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->data[i]);
    a->n = 0;
}

/* ------------------------------------------------------------ table */

static void entry_free(al__kad_entry *e)
{
    if (!e)
        return;
    al__kad_addrs_free(&e->addrs);
    free(e);
}

static al__kad_entry *entry_new(const al_peer_id *peer, const al__kad_key *key)
{
    al__kad_entry *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->peer = *peer;
    e->key = *key;
    return e;
}

void al__kad_table_init(al__kad_table *t, const al_peer_id *local)
{
    memset(t, 0, sizeof(*t));
    t->local = *local;
    al__kad_key_peer(local, &t->local_key);
}

void al__kad_table_free(al__kad_table *t)
{
    for (size_t i = 0; i < AL__KAD_BUCKETS; i++) {
        al__kad_bucket *b = &t->buckets[i];
        for (size_t k = 0; k < b->n; k++)
            entry_free(b->e[k]);
        entry_free(b->pending);
        b->n = 0;
        b->pending = NULL;
    }
    t->size = 0;
}

static al__kad_bucket *bucket_of(al__kad_table *t, const al__kad_key *key)
{
    int i = al__kad_bucket_index(&t->local_key, key);
    return i < 0 ? NULL : &t->buckets[i];
}

static ptrdiff_t position(const al__kad_bucket *b, const al_peer_id *peer)
{
    for (size_t i = 0; i < b->n; i++)
        if (al_peer_id_equal(&b->e[i]->peer, peer))
            return (ptrdiff_t)i;
    return -1;
}

static al__kad_entry *take(al__kad_bucket *b, size_t i)
{
    al__kad_entry *e = b->e[i];
    memmove(&b->e[i], &b->e[i + 1], (b->n - i - 1) * sizeof(b->e[0]));
    b->n--;
    return e;
}

static void append(al__kad_bucket *b, al__kad_entry *e)
{
    b->e[b->n++] = e;
}

static ptrdiff_t first_disconnected(const al__kad_bucket *b)
{
    for (size_t i = 0; i < b->n; i++)
        if (!b->e[i]->connected)
            return (ptrdiff_t)i;
    return -1;
}

/* A slot freed up (or the wait is over): the pending entry moves in. */
static void promote_pending(al__kad_table *t, al__kad_bucket *b)
{
    if (!b->pending || b->n >= AL__KAD_K)
        return;
    append(b, b->pending);
    b->pending = NULL;
    t->size++;
}

static void bucket_tick(al__kad_table *t, al__kad_bucket *b, uint64_t now)
{
    if (!b->pending || now < b->pending_at)
        return;
    if (b->n == AL__KAD_K) {
        ptrdiff_t i = first_disconnected(b);
        if (i < 0) {
            /* Everyone came back: the old entries keep their slots. */
            entry_free(b->pending);
            b->pending = NULL;
            return;
        }
        entry_free(take(b, (size_t)i));
        t->size--;
    }
    promote_pending(t, b);
}

int al__kad_table_add(al__kad_table *t, const al_peer_id *peer,
                      const uint8_t *maddr, size_t len, uint64_t now)
{
    al__kad_key key;
    al__kad_key_peer(peer, &key);
    al__kad_bucket *b = bucket_of(t, &key);
    if (!b || !maddr || len == 0)
        return AL__KAD_IGNORED;
    bucket_tick(t, b, now);
    ptrdiff_t i = position(b, peer);
    if (i >= 0) {
        int rc = al__kad_addrs_add(&b->e[i]->addrs, maddr, len);
        return rc == AL_ENOMEM ? rc : AL__KAD_UPDATED;
    }
    if (b->pending && al_peer_id_equal(&b->pending->peer, peer)) {
        int rc = al__kad_addrs_add(&b->pending->addrs, maddr, len);
        return rc == AL_ENOMEM ? rc : AL__KAD_PENDING;
    }
    if (b->n == AL__KAD_K)
        return AL__KAD_FULL;
    al__kad_entry *e = entry_new(peer, &key);
    if (!e)
        return AL_ENOMEM;
    int rc = al__kad_addrs_add(&e->addrs, maddr, len);
    if (rc < 0) {
        entry_free(e);
        return rc == AL_ENOMEM ? rc : AL__KAD_IGNORED;
    }
    /* Not seen yet: it goes first, the first candidate for eviction. */
    memmove(&b->e[1], &b->e[0], b->n * sizeof(b->e[0]));
    b->e[0] = e;
    b->n++;
    t->size++;
    return AL__KAD_INSERTED;
}

int al__kad_table_seen(al__kad_table *t, const al_peer_id *peer,
                       const al__kad_addrs *addrs, uint64_t now)
{
    al__kad_key key;
    al__kad_key_peer(peer, &key);
    al__kad_bucket *b = bucket_of(t, &key);
    if (!b)
        return AL__KAD_IGNORED;
    bucket_tick(t, b, now);
    ptrdiff_t i = position(b, peer);
    if (i >= 0) {
        al__kad_entry *e = take(b, (size_t)i);
        append(b, e);
        al__kad_addrs_merge(&e->addrs, addrs);
        e->connected = true;
        e->failures = 0;
        e->last_seen = now;
        return AL__KAD_UPDATED;
    }
    if (b->pending && al_peer_id_equal(&b->pending->peer, peer)) {
        al__kad_addrs_merge(&b->pending->addrs, addrs);
        b->pending->connected = true;
        b->pending->last_seen = now;
        return AL__KAD_PENDING;
    }
    if (!addrs || addrs->n == 0)
        return AL__KAD_IGNORED;
    if (b->n == AL__KAD_K && (b->pending || first_disconnected(b) < 0))
        return AL__KAD_FULL;
    al__kad_entry *e = entry_new(peer, &key);
    if (!e || al__kad_addrs_copy(&e->addrs, addrs)) {
        free(e);
        return AL_ENOMEM;
    }
    e->connected = true;
    e->last_seen = now;
    if (b->n < AL__KAD_K) {
        append(b, e);
        t->size++;
        return AL__KAD_INSERTED;
    }
    b->pending = e;
    b->pending_at = now + AL__KAD_PENDING_MS;
    return AL__KAD_PENDING;
}

void al__kad_table_set_connected(al__kad_table *t, const al_peer_id *peer,
                                 bool connected)
{
    al__kad_key key;
    al__kad_key_peer(peer, &key);
    al__kad_bucket *b = bucket_of(t, &key);
    if (!b)
        return;
    ptrdiff_t i = position(b, peer);
    if (i >= 0)
        b->e[i]->connected = connected;
    else if (b->pending && al_peer_id_equal(&b->pending->peer, peer))
        b->pending->connected = connected;
}

bool al__kad_table_remove(al__kad_table *t, const al_peer_id *peer,
                          uint64_t now)
{
    al__kad_key key;
    al__kad_key_peer(peer, &key);
    al__kad_bucket *b = bucket_of(t, &key);
    if (!b)
        return false;
    if (b->pending && al_peer_id_equal(&b->pending->peer, peer)) {
        entry_free(b->pending);
        b->pending = NULL;
        return true;
    }
    ptrdiff_t i = position(b, peer);
    if (i < 0)
        return false;
    entry_free(take(b, (size_t)i));
    t->size--;
    (void)now;
    promote_pending(t, b);
    return true;
}

bool al__kad_table_failed(al__kad_table *t, const al_peer_id *peer, bool fatal,
                          uint64_t now)
{
    al__kad_entry *e = al__kad_table_find(t, peer);
    if (!e)
        return false;
    e->failures++;
    e->connected = false;
    if (fatal || e->failures >= AL__KAD_MAX_FAILURES)
        return al__kad_table_remove(t, peer, now);
    return false;
}

void al__kad_table_tick(al__kad_table *t, uint64_t now)
{
    for (size_t i = 0; i < AL__KAD_BUCKETS; i++)
        bucket_tick(t, &t->buckets[i], now);
}

uint64_t al__kad_table_next_deadline(const al__kad_table *t)
{
    uint64_t d = UINT64_MAX;
    for (size_t i = 0; i < AL__KAD_BUCKETS; i++)
        if (t->buckets[i].pending && t->buckets[i].pending_at < d)
            d = t->buckets[i].pending_at;
    return d;
}

al__kad_entry *al__kad_table_find(al__kad_table *t, const al_peer_id *peer)
{
    al__kad_key key;
    al__kad_key_peer(peer, &key);
    al__kad_bucket *b = bucket_of(t, &key);
    if (!b)
        return NULL;
    ptrdiff_t i = position(b, peer);
    if (i >= 0)
        return b->e[i];
    if (b->pending && al_peer_id_equal(&b->pending->peer, peer))
        return b->pending;
    return NULL;
}

size_t al__kad_table_closest(al__kad_table *t, const al__kad_key *target,
                             const al_peer_id *exclude, al__kad_entry **out,
                             size_t cap)
{
    /* The table holds at most 256 * 20 entries and cap is about k: an
     * insertion into a sorted prefix is plenty. */
    size_t n = 0;
    if (cap == 0)
        return 0;
    for (size_t i = 0; i < AL__KAD_BUCKETS; i++) {
        al__kad_bucket *b = &t->buckets[i];
        for (size_t k = 0; k < b->n; k++) {
            al__kad_entry *e = b->e[k];
            if (exclude && al_peer_id_equal(&e->peer, exclude))
                continue;
            if (n == cap &&
                al__kad_distance_cmp(target, &e->key, &out[n - 1]->key) >= 0)
                continue;
            size_t pos = n < cap ? n : cap - 1;
            while (pos > 0 && al__kad_distance_cmp(target, &e->key,
                                                   &out[pos - 1]->key) < 0) {
                out[pos] = out[pos - 1];
                pos--;
            }
            out[pos] = e;
            if (n < cap)
                n++;
        }
    }
    return n;
}

size_t al__kad_table_count_closer(const al__kad_table *t,
                                  const al__kad_key *target)
{
    size_t n = 0;
    for (size_t i = 0; i < AL__KAD_BUCKETS; i++) {
        const al__kad_bucket *b = &t->buckets[i];
        for (size_t k = 0; k < b->n; k++)
            if (al__kad_distance_cmp(target, &b->e[k]->key, &t->local_key) < 0)
                n++;
    }
    return n;
}
