/*
 * A string-keyed hash table with intrusive nodes, and an intrusive
 * doubly-linked list: the two pieces the name cache and the idempotency
 * table are made of.
 *
 * Keys come from HTTP requests, so the hash is SipHash-2-4 under a random
 * per-table key: a client cannot choose names that all land in one bucket.
 * Lookups allocate nothing; the bucket array grows on insert.
 *
 * Ownership: the table owns only its bucket array. Nodes, and the key bytes
 * a node points to, belong to the caller and must outlive their membership.
 */
#ifndef GW_KEYMAP_H
#define GW_KEYMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct gw_keymap_node {
    struct gw_keymap_node *next;
    uint64_t hash;
    const char *key;
    size_t key_len;
} gw_keymap_node;

typedef struct gw_keymap {
    gw_keymap_node **buckets;
    size_t mask; /* bucket count - 1 */
    size_t count;
    uint64_t k0, k1; /* SipHash key */
} gw_keymap;

int gw_keymap_init(gw_keymap *m);
void gw_keymap_destroy(gw_keymap *m);
uint64_t gw_keymap_hash(const gw_keymap *m, const char *key, size_t len);
gw_keymap_node *gw_keymap_find(const gw_keymap *m, const char *key, size_t len);
/* n->key and n->key_len must be set and the key absent. AL_ENOMEM only if
 * the table wanted to grow and could not; the node is not inserted then. */
int gw_keymap_insert(gw_keymap *m, gw_keymap_node *n);
/* n must be in the table. */
void gw_keymap_remove(gw_keymap *m, gw_keymap_node *n);

/* SipHash-2-4 of data under the 128-bit key (k0, k1). */
uint64_t gw_siphash(uint64_t k0, uint64_t k1, const void *data, size_t len);

/* ------------------------------------------------------------ list */

typedef struct gw_dlist {
    struct gw_dlist *prev, *next;
} gw_dlist;

/* An empty list is a head linked to itself. */
static inline void gw_dlist_init(gw_dlist *head)
{
    head->prev = head->next = head;
}

static inline int gw_dlist_empty(const gw_dlist *head)
{
    return head->next == head;
}

static inline void gw_dlist_push_back(gw_dlist *head, gw_dlist *n)
{
    n->prev = head->prev;
    n->next = head;
    head->prev->next = n;
    head->prev = n;
}

static inline void gw_dlist_remove(gw_dlist *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->prev = n->next = n;
}

#define gw_container_of(ptr, type, member)                                     \
    ((type *)((char *)(ptr)-offsetof(type, member)))

#endif
