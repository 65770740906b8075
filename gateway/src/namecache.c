/* The actor name cache: see namecache.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keymap.h"
#include "namecache.h"

#define DEFAULT_TTL_MS        300000
#define DEFAULT_NEG_TTL_MS    5000
#define DEFAULT_MAX_ENTRIES   65536
#define DEFAULT_STALE_KEEP_MS 86400000

struct entry {
    gw_keymap_node node; /* key: name */
    gw_dlist order;      /* in positives or negatives, oldest first */
    gw_dlist dirty;      /* in dirty while hits != hits_persisted */
    gw_namecache_entry pub;
    uint64_t hits_persisted;
    char *remote_id; /* owned; pub.remote_id points here */
    char name[];
};

struct gw_namecache {
    gw_keymap map;
    gw_dlist positives, negatives, dirty;
    int64_t ttl_ms, negative_ttl_ms, stale_keep_ms;
    size_t max_entries;
    gw_store *store;
    gw_store_clock_fn clock;
    void *clock_ud;
    gw_namecache_stats stats;
};

static int64_t now_ms(const gw_namecache *nc)
{
    return nc->clock ? nc->clock(nc->clock_ud) : gw_store_now_ms();
}

static struct entry *from_order(gw_dlist *l)
{
    return gw_container_of(l, struct entry, order);
}

static struct entry *from_dirty(gw_dlist *l)
{
    return gw_container_of(l, struct entry, dirty);
}

/* Length of s if it is non-empty and at most max bytes, else 0. */
static size_t bounded_len(const char *s, size_t max)
{
    if (!s)
        return 0;
    size_t n = strnlen(s, max + 1);
    return n > max ? 0 : n;
}

static void note_store(gw_namecache *nc, int rc)
{
    if (rc)
        nc->stats.store_errors++;
}

int gw_namecache_new(gw_namecache **out, const gw_namecache_opts *opts,
                     al_error *err)
{
    static const gw_namecache_opts defaults = {0};
    const gw_namecache_opts *o = opts ? opts : &defaults;
    *out = NULL;
    gw_namecache *nc = calloc(1, sizeof(*nc));
    if (!nc)
        return al_error_set(err, AL_ENOMEM, "name cache: out of memory");
    int rc = gw_keymap_init(&nc->map);
    if (rc) {
        free(nc);
        return al_error_set(err, rc, "name cache: cannot set up its table");
    }
    gw_dlist_init(&nc->positives);
    gw_dlist_init(&nc->negatives);
    gw_dlist_init(&nc->dirty);
    nc->ttl_ms = o->ttl_ms ? o->ttl_ms : DEFAULT_TTL_MS;
    nc->negative_ttl_ms = o->negative_ttl_ms == 0  ? DEFAULT_NEG_TTL_MS
                          : o->negative_ttl_ms < 0 ? -1
                                                   : o->negative_ttl_ms;
    nc->stale_keep_ms =
        o->stale_keep_ms > 0 ? o->stale_keep_ms : DEFAULT_STALE_KEEP_MS;
    nc->max_entries = o->max_entries ? o->max_entries : DEFAULT_MAX_ENTRIES;
    nc->store = o->store;
    nc->clock = o->clock;
    nc->clock_ud = o->clock_ud;
    *out = nc;
    return 0;
}

static void free_entry(struct entry *e)
{
    free(e->remote_id);
    free(e);
}

/* Unlinks e from everything and frees it; deletes its row when asked and
 * the entry has one (negative entries never do). */
static void drop(gw_namecache *nc, struct entry *e, bool delete_row)
{
    gw_keymap_remove(&nc->map, &e->node);
    gw_dlist_remove(&e->order);
    gw_dlist_remove(&e->dirty);
    if (delete_row && e->pub.found && nc->store)
        note_store(nc, gw_store_delete_name(nc->store, e->name, NULL, NULL));
    free_entry(e);
}

void gw_namecache_free(gw_namecache *nc)
{
    if (!nc)
        return;
    gw_dlist *lists[] = {&nc->positives, &nc->negatives};
    for (int i = 0; i < 2; i++)
        while (!gw_dlist_empty(lists[i]))
            drop(nc, from_order(lists[i]->next), false);
    gw_keymap_destroy(&nc->map);
    free(nc);
}

static struct entry *find(gw_namecache *nc, const char *name, size_t len)
{
    gw_keymap_node *n = gw_keymap_find(&nc->map, name, len);
    return n ? gw_container_of(n, struct entry, node) : NULL;
}

/* Makes room for one more entry: the oldest negative entry goes first, as
 * they are cheap to learn again, then the oldest positive one. */
static void make_room(gw_namecache *nc)
{
    while (nc->map.count >= nc->max_entries) {
        gw_dlist *victims =
            gw_dlist_empty(&nc->negatives) ? &nc->positives : &nc->negatives;
        if (gw_dlist_empty(victims))
            return;
        struct entry *e = from_order(victims->next);
        al_log(AL_LOG_DEBUG, "name cache: full, dropping \"%s\"", e->name);
        nc->stats.bound_evictions++;
        drop(nc, e, true);
    }
}

static struct entry *new_entry(gw_namecache *nc, const char *name, size_t len)
{
    make_room(nc);
    struct entry *e = calloc(1, sizeof(*e) + len + 1);
    if (!e)
        return NULL;
    memcpy(e->name, name, len);
    e->node.key = e->name;
    e->node.key_len = len;
    e->pub.name = e->name;
    gw_dlist_init(&e->order);
    gw_dlist_init(&e->dirty);
    if (gw_keymap_insert(&nc->map, &e->node) != 0) {
        free(e);
        return NULL;
    }
    return e;
}

static void mark_clean(struct entry *e)
{
    gw_dlist_remove(&e->dirty);
    e->hits_persisted = e->pub.hits;
}

static int persist(gw_namecache *nc, const struct entry *e)
{
    if (!nc->store)
        return 0;
    gw_store_name_row row = {
        .name = e->name,
        .peer_id = e->pub.peer_id,
        .actor = e->pub.actor,
        .remote_id = e->remote_id,
        .resolved_at_ms = e->pub.resolved_at_ms,
        .expires_at_ms = e->pub.expires_at_ms,
        .hits = e->pub.hits,
    };
    int rc = gw_store_put_name(nc->store, &row, NULL, NULL);
    note_store(nc, rc);
    return rc;
}

/* Fills a positive entry; the caller has checked the strings. */
static int fill_positive(struct entry *e, const char *peer_id,
                         const al_actor_id *actor, const char *remote_id,
                         int64_t resolved, int64_t expires)
{
    if (!e->remote_id || strcmp(e->remote_id, remote_id) != 0) {
        char *r = strdup(remote_id);
        if (!r)
            return AL_ENOMEM;
        free(e->remote_id);
        e->remote_id = r;
    }
    e->pub.found = true;
    e->pub.remote_id = e->remote_id;
    snprintf(e->pub.peer_id, sizeof(e->pub.peer_id), "%s", peer_id);
    e->pub.actor = *actor;
    e->pub.resolved_at_ms = resolved;
    e->pub.expires_at_ms = expires;
    return 0;
}

int gw_namecache_put(gw_namecache *nc, const char *name, const char *peer_id,
                     const al_actor_id *actor, const char *remote_id)
{
    size_t len = bounded_len(name, GW_NAMECACHE_NAME_MAX);
    if (!len || !bounded_len(peer_id, AL_PEER_ID_STRLEN - 1) || !actor ||
        actor->peer.len == 0 || actor->peer.len > AL_PEER_ID_MAX ||
        !bounded_len(remote_id, GW_NAMECACHE_REMOTE_ID_MAX))
        return AL_EINVAL;
    struct entry *e = find(nc, name, len);
    bool fresh = !e;
    if (fresh && !(e = new_entry(nc, name, len)))
        return AL_ENOMEM;
    if (!e->pub.found)
        e->pub.hits = 0; /* hits of "not found" are not this actor's */
    int64_t now = now_ms(nc);
    int rc = fill_positive(e, peer_id, actor, remote_id, now, now + nc->ttl_ms);
    if (rc) {
        if (fresh)
            drop(nc, e, false);
        return rc;
    }
    /* Re-resolution moves the entry to the young end of its list. */
    gw_dlist_remove(&e->order);
    gw_dlist_push_back(&nc->positives, &e->order);
    mark_clean(e);
    nc->stats.puts++;
    persist(nc, e);
    return 0;
}

int gw_namecache_put_negative(gw_namecache *nc, const char *name)
{
    size_t len = bounded_len(name, GW_NAMECACHE_NAME_MAX);
    if (!len)
        return AL_EINVAL;
    struct entry *e = find(nc, name, len);
    if (nc->negative_ttl_ms < 0) {
        if (e)
            drop(nc, e, true);
        return 0;
    }
    if (e && e->pub.found) {
        /* The name was unregistered: its row goes, its entry turns. */
        if (nc->store)
            note_store(nc,
                       gw_store_delete_name(nc->store, e->name, NULL, NULL));
        free(e->remote_id);
        e->remote_id = NULL;
        memset(&e->pub.actor, 0, sizeof(e->pub.actor));
        e->pub.found = false;
        e->pub.remote_id = NULL;
        e->pub.peer_id[0] = '\0';
        mark_clean(e);
    }
    if (!e && !(e = new_entry(nc, name, len)))
        return AL_ENOMEM;
    int64_t now = now_ms(nc);
    e->pub.resolved_at_ms = now;
    e->pub.expires_at_ms = now + nc->negative_ttl_ms;
    gw_dlist_remove(&e->order);
    gw_dlist_push_back(&nc->negatives, &e->order);
    nc->stats.puts++;
    return 0;
}

int gw_namecache_lookup(gw_namecache *nc, const char *name,
                        const gw_namecache_entry **entry)
{
    *entry = NULL;
    size_t len = bounded_len(name, GW_NAMECACHE_NAME_MAX);
    struct entry *e = len ? find(nc, name, len) : NULL;
    if (!e) {
        nc->stats.misses++;
        return GW_NC_MISS;
    }
    if (now_ms(nc) < e->pub.expires_at_ms) {
        e->pub.hits++;
        *entry = &e->pub;
        if (!e->pub.found) {
            nc->stats.negative_hits++;
            return GW_NC_NEGATIVE;
        }
        if (gw_dlist_empty(&e->dirty))
            gw_dlist_push_back(&nc->dirty, &e->dirty);
        nc->stats.hits++;
        return GW_NC_HIT;
    }
    if (!e->pub.found) {
        drop(nc, e, false);
        nc->stats.misses++;
        return GW_NC_MISS;
    }
    nc->stats.stale++;
    *entry = &e->pub;
    return GW_NC_STALE;
}

int gw_namecache_evict(gw_namecache *nc, const char *name)
{
    size_t len = bounded_len(name, GW_NAMECACHE_NAME_MAX);
    struct entry *e = len ? find(nc, name, len) : NULL;
    if (!e)
        return AL_ENOTFOUND;
    nc->stats.evictions++;
    drop(nc, e, true);
    return 0;
}

size_t gw_namecache_evict_peer(gw_namecache *nc, const al_peer_id *peer)
{
    size_t n = 0;
    gw_dlist *l = nc->positives.next;
    while (l != &nc->positives) {
        struct entry *e = from_order(l);
        l = l->next;
        if (e->pub.actor.peer.len == peer->len &&
            memcmp(e->pub.actor.peer.bytes, peer->bytes, peer->len) == 0) {
            drop(nc, e, true);
            n++;
        }
    }
    nc->stats.evictions += n;
    return n;
}

size_t gw_namecache_evict_all(gw_namecache *nc)
{
    size_t n = nc->map.count;
    gw_dlist *lists[] = {&nc->positives, &nc->negatives};
    for (int i = 0; i < 2; i++)
        while (!gw_dlist_empty(lists[i]))
            drop(nc, from_order(lists[i]->next), false);
    if (nc->store)
        note_store(nc, gw_store_delete_name(nc->store, NULL, NULL, NULL));
    nc->stats.evictions += n;
    return n;
}

size_t gw_namecache_sweep(gw_namecache *nc)
{
    int64_t now = now_ms(nc);
    size_t n = 0;
    /* Scans everything: entries loaded from an earlier run may carry
     * another TTL, so list order is not expiry order. */
    gw_dlist *l = nc->negatives.next;
    while (l != &nc->negatives) {
        struct entry *e = from_order(l);
        l = l->next;
        if (now >= e->pub.expires_at_ms) {
            drop(nc, e, false);
            n++;
        }
    }
    l = nc->positives.next;
    while (l != &nc->positives) {
        struct entry *e = from_order(l);
        l = l->next;
        if (now - e->pub.expires_at_ms >= nc->stale_keep_ms) {
            drop(nc, e, true);
            n++;
        }
    }
    nc->stats.swept += n;
    return n;
}

size_t gw_namecache_flush_hits(gw_namecache *nc)
{
    size_t n = 0;
    while (!gw_dlist_empty(&nc->dirty)) {
        struct entry *e = from_dirty(nc->dirty.next);
        if (nc->store && e->pub.hits != e->hits_persisted) {
            note_store(nc, gw_store_set_name_hits(nc->store, e->name,
                                                  e->pub.hits, NULL, NULL));
            n++;
        }
        mark_clean(e);
    }
    return n;
}

int gw_namecache_list(gw_namecache *nc, gw_namecache_visit_fn fn, void *ud)
{
    gw_dlist *lists[] = {&nc->positives, &nc->negatives};
    for (int i = 0; i < 2; i++)
        for (gw_dlist *l = lists[i]->next; l != lists[i]; l = l->next) {
            int rc = fn(&from_order(l)->pub, ud);
            if (rc)
                return rc;
        }
    return 0;
}

size_t gw_namecache_count(const gw_namecache *nc)
{
    return nc->map.count;
}

void gw_namecache_get_stats(const gw_namecache *nc, gw_namecache_stats *out)
{
    *out = nc->stats;
    out->entries = nc->map.count;
}

/* ------------------------------------------------------------ loading */

struct load_ctx {
    gw_namecache *nc;
    int64_t now;
    size_t loaded, dropped;
};

static int load_row(const gw_store_name_row *r, void *ud)
{
    struct load_ctx *c = ud;
    gw_namecache *nc = c->nc;
    size_t len = bounded_len(r->name, GW_NAMECACHE_NAME_MAX);
    if (c->now - r->expires_at_ms >= nc->stale_keep_ms || !len ||
        !bounded_len(r->peer_id, AL_PEER_ID_STRLEN - 1) ||
        !bounded_len(r->remote_id, GW_NAMECACHE_REMOTE_ID_MAX)) {
        if (nc->store && r->name[0])
            note_store(nc,
                       gw_store_delete_name(nc->store, r->name, NULL, NULL));
        c->dropped++;
        return 0;
    }
    if (find(nc, r->name, len))
        return 0;
    struct entry *e = new_entry(nc, r->name, len);
    if (!e)
        return AL_ENOMEM;
    if (fill_positive(e, r->peer_id, &r->actor, r->remote_id, r->resolved_at_ms,
                      r->expires_at_ms) != 0) {
        drop(nc, e, false);
        return AL_ENOMEM;
    }
    e->pub.hits = e->hits_persisted = r->hits;
    gw_dlist_push_back(&nc->positives, &e->order);
    c->loaded++;
    return 0;
}

int gw_namecache_load(gw_namecache *nc, al_error *err)
{
    if (!nc->store)
        return al_error_set(err, AL_ESTATE, "name cache: no store to load");
    struct load_ctx c = {nc, now_ms(nc), 0, 0};
    int rc = gw_store_load_names(nc->store, load_row, &c, err);
    if (rc == 0)
        al_log(AL_LOG_INFO,
               "name cache: loaded %zu entries, dropped %zu long expired",
               c.loaded, c.dropped);
    return rc;
}
