/* The in-memory Kademlia record store (see kad_store.h). */
#include "kad_store.h"

#include <stdlib.h>
#include <string.h>

void al__kad_store_init(al__kad_store *s, size_t max_records, size_t max_value)
{
    memset(s, 0, sizeof(*s));
    s->max_records = max_records ? max_records : AL__KAD_STORE_RECORDS;
    s->max_value = max_value ? max_value : AL__KAD_STORE_VALUE;
}

static void record_free(al__kad_record *r)
{
    free(r->key);
    free(r->value);
    free(r);
}

void al__kad_store_free(al__kad_store *s)
{
    for (size_t i = 0; i < AL__KAD_STORE_SLOTS; i++) {
        al__kad_record *r = s->slot[i];
        while (r) {
            al__kad_record *next = r->next;
            record_free(r);
            r = next;
        }
        s->slot[i] = NULL;
    }
    s->count = 0;
}

/* The link that points at the record with this key, or at the chain's
 * terminating NULL. */
static al__kad_record **find(al__kad_store *s, const al__kad_key *hash,
                             const uint8_t *key, size_t klen)
{
    al__kad_record **p = &s->slot[hash->b[0]];
    while (*p && ((*p)->klen != klen || memcmp((*p)->key, key, klen)))
        p = &(*p)->next;
    return p;
}

static bool expired(const al__kad_record *r, uint64_t now)
{
    return r->expires != 0 && r->expires <= now;
}

int al__kad_store_put(al__kad_store *s, const al__kad_record_in *in,
                      uint64_t now)
{
    if (!in->key || in->klen == 0)
        return AL_EINVAL;
    if (in->vlen >= s->max_value)
        return AL_ELIMIT;
    al__kad_key hash;
    al__kad_key_hash(in->key, in->klen, &hash);
    al__kad_record **p = find(s, &hash, in->key, in->klen);
    al__kad_record *old = *p;
    if (old && old->own && !in->own && !expired(old, now) &&
        old->vlen == in->vlen &&
        (in->vlen == 0 || !memcmp(old->value, in->value, in->vlen)))
        return 0;
    if (!old && s->count >= s->max_records) {
        /* Room may be taken by records that are already dead. */
        if (al__kad_store_expire(s, now) == 0)
            return AL_ELIMIT;
        p = find(s, &hash, in->key, in->klen);
    }
    uint8_t *value = malloc(in->vlen ? in->vlen : 1);
    if (!value)
        return AL_ENOMEM;
    if (in->vlen)
        memcpy(value, in->value, in->vlen);
    al__kad_record *r = old;
    if (!r) {
        r = calloc(1, sizeof(*r));
        uint8_t *key = malloc(in->klen);
        if (!r || !key) {
            free(r);
            free(key);
            free(value);
            return AL_ENOMEM;
        }
        memcpy(key, in->key, in->klen);
        r->key = key;
        r->klen = in->klen;
        r->hash = hash;
        *p = r;
        s->count++;
    } else {
        free(r->value);
    }
    r->value = value;
    r->vlen = in->vlen;
    if (in->publisher)
        r->publisher = *in->publisher;
    else
        r->publisher.len = 0;
    r->expires = in->expires;
    r->received = now;
    r->received_wall = in->wall;
    r->own = in->own;
    if (in->own)
        r->published = now;
    return 0;
}

al__kad_record *al__kad_store_get(al__kad_store *s, const uint8_t *key,
                                  size_t klen, uint64_t now)
{
    if (!key || klen == 0)
        return NULL;
    al__kad_key hash;
    al__kad_key_hash(key, klen, &hash);
    al__kad_record **p = find(s, &hash, key, klen);
    al__kad_record *r = *p;
    if (r && expired(r, now)) {
        *p = r->next;
        record_free(r);
        s->count--;
        return NULL;
    }
    return r;
}

bool al__kad_store_remove(al__kad_store *s, const uint8_t *key, size_t klen)
{
    if (!key || klen == 0)
        return false;
    al__kad_key hash;
    al__kad_key_hash(key, klen, &hash);
    al__kad_record **p = find(s, &hash, key, klen);
    al__kad_record *r = *p;
    if (!r)
        return false;
    *p = r->next;
    record_free(r);
    s->count--;
    return true;
}

size_t al__kad_store_expire(al__kad_store *s, uint64_t now)
{
    size_t n = 0;
    for (size_t i = 0; i < AL__KAD_STORE_SLOTS; i++) {
        al__kad_record **p = &s->slot[i];
        while (*p) {
            al__kad_record *r = *p;
            if (expired(r, now)) {
                *p = r->next;
                record_free(r);
                s->count--;
                n++;
            } else {
                p = &r->next;
            }
        }
    }
    return n;
}

void al__kad_store_each(al__kad_store *s,
                        void (*fn)(al__kad_record *r, void *ud), void *ud)
{
    for (size_t i = 0; i < AL__KAD_STORE_SLOTS; i++)
        for (al__kad_record *r = s->slot[i]; r; r = r->next)
            fn(r, ud);
}
