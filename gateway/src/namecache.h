/*
 * The actor name cache: name -> (peer id, actor id, actor remote id),
 * as a swarm lookup found it, with a time to live.
 *
 * The request path asks gw_namecache_lookup first; on a miss (or a stale
 * entry) it runs al_remote_lookup itself and reports the answer with
 * gw_namecache_put / gw_namecache_put_negative. The cache knows nothing of
 * the swarm. A send that fails because the actor or its peer is gone calls
 * gw_namecache_evict and resolves again.
 *
 * Persistence: every put and evict is mirrored to the store's writer
 * (never waited for); hit counters are written in batches by
 * gw_namecache_flush_hits, which the caller runs from a timer and at
 * shutdown. gw_namecache_load refills the cache at start, so entries and
 * their hit counts survive a restart. Negative entries live in memory only:
 * they last seconds and a restart is a fine time to ask again.
 *
 * Expired entries: a positive entry past expires_at is kept, visible in the
 * admin list and returned by lookup as GW_NC_STALE, until it is resolved
 * again, evicted, pushed out by the size bound, or has been expired for
 * stale_keep_ms (then gw_namecache_sweep drops it, from the database too).
 * Keeping it lets a restarted gateway show what it knew, keeps hit counts
 * across re-resolution, and gives the caller a last known address should a
 * fresh lookup fail (whether to use it is the caller's choice). Expired
 * negative entries are simply dropped.
 *
 * Threads: one thread (the loop's). Ownership: the cache owns its entries;
 * entry pointers it hands out are valid until the next call that changes
 * the cache (put, put_negative, evict*, sweep, load, free).
 */
#ifndef GW_NAMECACHE_H
#define GW_NAMECACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actorlib.h"
#include "store.h"

#define GW_NAMECACHE_NAME_MAX      512 /* bytes of an actor name */
#define GW_NAMECACHE_REMOTE_ID_MAX 256 /* bytes of an actor remote id */

typedef struct gw_namecache gw_namecache;

typedef struct gw_namecache_opts {
    uint32_t ttl_ms;         /* positive entries, 0 = 300 000 (5 min) */
    int32_t negative_ttl_ms; /* 0 = 5 000; < 0 turns negative caching off */
    uint32_t max_entries;    /* 0 = 65 536 */
    int64_t stale_keep_ms;   /* 0 = 86 400 000 (24 h) */
    gw_store *store;         /* NULL: memory only */
    gw_store_clock_fn clock; /* NULL: gw_store_now_ms */
    void *clock_ud;
} gw_namecache_opts;

typedef struct gw_namecache_entry {
    const char *name;
    bool found; /* false: a negative entry, the name is not registered */
    char peer_id[AL_PEER_ID_STRLEN]; /* base58 text; "" when !found */
    al_actor_id actor;
    const char *remote_id; /* NULL when !found */
    int64_t resolved_at_ms;
    int64_t expires_at_ms;
    uint64_t hits;
} gw_namecache_entry;

enum gw_namecache_result {
    GW_NC_MISS = 0,     /* unknown: look it up */
    GW_NC_HIT = 1,      /* fresh: send to entry->actor */
    GW_NC_NEGATIVE = 2, /* recently not found: answer 404 */
    GW_NC_STALE = 3,    /* expired: look it up; entry is the last known */
};

/* opts may be NULL (all defaults, no store). *out is the caller's:
 * gw_namecache_free. */
int gw_namecache_new(gw_namecache **out, const gw_namecache_opts *opts,
                     al_error *err);
/* Frees the cache; does not touch the store (flush hits first). */
void gw_namecache_free(gw_namecache *nc);

/* Loads the store's rows (call once, before serving). Rows expired for
 * longer than stale_keep_ms are dropped and deleted from the store; beyond
 * max_entries the oldest are. */
int gw_namecache_load(gw_namecache *nc, al_error *err);

/* The hot path: no allocation, O(1). Returns a gw_namecache_result; *entry
 * is set for HIT, NEGATIVE and STALE, else NULL. Counts a hit for HIT and
 * NEGATIVE. */
int gw_namecache_lookup(gw_namecache *nc, const char *name,
                        const gw_namecache_entry **entry);

/* Records a successful lookup, resolved now, expiring after ttl_ms. An
 * entry already there keeps its hit count. AL_EINVAL for empty or
 * oversized strings; AL_ENOMEM. */
int gw_namecache_put(gw_namecache *nc, const char *name, const char *peer_id,
                     const al_actor_id *actor, const char *remote_id);
/* Records that the name is not registered. Replaces a positive entry (and
 * deletes its row). A no-op when negative caching is off. */
int gw_namecache_put_negative(gw_namecache *nc, const char *name);

/* 0, or AL_ENOTFOUND when the name is not cached. */
int gw_namecache_evict(gw_namecache *nc, const char *name);
/* Evicts every entry pointing at actors of that peer (it disconnected).
 * Returns how many. */
size_t gw_namecache_evict_peer(gw_namecache *nc, const al_peer_id *peer);
/* Returns how many entries were dropped. */
size_t gw_namecache_evict_all(gw_namecache *nc);

/* Drops expired negative entries and positive ones stale for longer than
 * stale_keep_ms. Returns how many. Run it from a timer. */
size_t gw_namecache_sweep(gw_namecache *nc);

/* Queues one hit-count update per entry hit since its last write. Returns
 * how many were queued. Run it from a timer (seconds) and at shutdown,
 * before the store closes. */
size_t gw_namecache_flush_hits(gw_namecache *nc);

/* Calls fn for every entry, positive entries first, each group oldest
 * resolution first, until fn returns non-zero (returned). The cache must not
 * be changed from fn. */
typedef int (*gw_namecache_visit_fn)(const gw_namecache_entry *e, void *ud);
int gw_namecache_list(gw_namecache *nc, gw_namecache_visit_fn fn, void *ud);

size_t gw_namecache_count(const gw_namecache *nc);

typedef struct gw_namecache_stats {
    uint64_t hits, negative_hits, stale, misses;
    uint64_t puts, evictions, bound_evictions, swept;
    uint64_t store_errors; /* writes the store refused (it logged them) */
    size_t entries;
} gw_namecache_stats;

void gw_namecache_get_stats(const gw_namecache *nc, gw_namecache_stats *out);

#endif
