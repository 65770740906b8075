/* String-keyed intrusive hash table with a SipHash-2-4 keyed hash. */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "actorlib.h"
#include "keymap.h"

#define INITIAL_BUCKETS 16

static uint64_t rotl(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

static uint64_t load_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

#define SIPROUND                                                               \
    do {                                                                       \
        v0 += v1;                                                              \
        v1 = rotl(v1, 13);                                                     \
        v1 ^= v0;                                                              \
        v0 = rotl(v0, 32);                                                     \
        v2 += v3;                                                              \
        v3 = rotl(v3, 16);                                                     \
        v3 ^= v2;                                                              \
        v0 += v3;                                                              \
        v3 = rotl(v3, 21);                                                     \
        v3 ^= v0;                                                              \
        v2 += v1;                                                              \
        v1 = rotl(v1, 17);                                                     \
        v1 ^= v2;                                                              \
        v2 = rotl(v2, 32);                                                     \
    } while (0)

uint64_t gw_siphash(uint64_t k0, uint64_t k1, const void *data, size_t len)
{
    const uint8_t *in = data;
    uint64_t v0 = 0x736f6d6570736575ULL ^ k0;
    uint64_t v1 = 0x646f72616e646f6dULL ^ k1;
    uint64_t v2 = 0x6c7967656e657261ULL ^ k0;
    uint64_t v3 = 0x7465646279746573ULL ^ k1;
    size_t whole = len & ~(size_t)7;
    for (size_t i = 0; i < whole; i += 8) {
        uint64_t m = load_le64(in + i);
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    uint64_t b = (uint64_t)len << 56;
    for (size_t i = 0; i < (len & 7); i++)
        b |= (uint64_t)in[whole + i] << (8 * i);
    v3 ^= b;
    SIPROUND;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

int gw_keymap_init(gw_keymap *m)
{
    memset(m, 0, sizeof(*m));
    uint64_t k[2];
    if (getrandom(k, sizeof(k), 0) != (ssize_t)sizeof(k))
        return AL_EIO;
    m->k0 = k[0];
    m->k1 = k[1];
    m->buckets = calloc(INITIAL_BUCKETS, sizeof(*m->buckets));
    if (!m->buckets)
        return AL_ENOMEM;
    m->mask = INITIAL_BUCKETS - 1;
    return 0;
}

void gw_keymap_destroy(gw_keymap *m)
{
    free(m->buckets);
    m->buckets = NULL;
    m->count = 0;
}

uint64_t gw_keymap_hash(const gw_keymap *m, const char *key, size_t len)
{
    return gw_siphash(m->k0, m->k1, key, len);
}

gw_keymap_node *gw_keymap_find(const gw_keymap *m, const char *key, size_t len)
{
    uint64_t h = gw_keymap_hash(m, key, len);
    for (gw_keymap_node *n = m->buckets[h & m->mask]; n; n = n->next)
        if (n->hash == h && n->key_len == len && memcmp(n->key, key, len) == 0)
            return n;
    return NULL;
}

/* Doubles the bucket array once the table holds one node per bucket. */
static int grow(gw_keymap *m)
{
    size_t n = (m->mask + 1) * 2;
    gw_keymap_node **b = calloc(n, sizeof(*b));
    if (!b)
        return AL_ENOMEM;
    for (size_t i = 0; i <= m->mask; i++) {
        gw_keymap_node *e = m->buckets[i];
        while (e) {
            gw_keymap_node *next = e->next;
            e->next = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
            e = next;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->mask = n - 1;
    return 0;
}

int gw_keymap_insert(gw_keymap *m, gw_keymap_node *n)
{
    if (m->count > m->mask) {
        int rc = grow(m);
        if (rc)
            return rc;
    }
    n->hash = gw_keymap_hash(m, n->key, n->key_len);
    gw_keymap_node **slot = &m->buckets[n->hash & m->mask];
    n->next = *slot;
    *slot = n;
    m->count++;
    return 0;
}

void gw_keymap_remove(gw_keymap *m, gw_keymap_node *n)
{
    gw_keymap_node **p = &m->buckets[n->hash & m->mask];
    while (*p && *p != n)
        p = &(*p)->next;
    if (*p) {
        *p = n->next;
        n->next = NULL;
        m->count--;
    }
}
