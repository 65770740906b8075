/* namecache.c: TTLs on an injected clock, hits, eviction, bounds, and the
 * round trip through a real database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sqlite3.h>

#include "namecache.h"
#include "tmpdir.h"

static int64_t fake_now;

static int64_t fake_clock(void *ud)
{
    (void)ud;
    return fake_now;
}

static al_actor_id actor(uint64_t seq, uint8_t peer_byte)
{
    al_actor_id a = {.seq = seq};
    a.peer.len = 38;
    memset(a.peer.bytes, peer_byte, 38);
    return a;
}

static gw_namecache *cache(uint32_t ttl, int32_t neg_ttl, uint32_t max,
                           gw_store *store)
{
    gw_namecache_opts o = {.ttl_ms = ttl,
                           .negative_ttl_ms = neg_ttl,
                           .max_entries = max,
                           .stale_keep_ms = 10000,
                           .store = store,
                           .clock = fake_clock};
    gw_namecache *nc = NULL;
    al_error err = {0};
    assert_int_equal(gw_namecache_new(&nc, &o, &err), 0);
    return nc;
}

static void hit_after_put(void **state)
{
    (void)state;
    fake_now = 1000;
    gw_namecache *nc = cache(0, 0, 0, NULL);
    const gw_namecache_entry *e = (void *)1;
    assert_int_equal(gw_namecache_lookup(nc, "counter", &e), GW_NC_MISS);
    assert_null(e);
    al_actor_id a = actor(42, 0x11);
    assert_int_equal(
        gw_namecache_put(nc, "counter", "12D3KooWA", &a, "remote::Counter"), 0);
    assert_int_equal(gw_namecache_lookup(nc, "counter", &e), GW_NC_HIT);
    assert_string_equal(e->name, "counter");
    assert_true(e->found);
    assert_string_equal(e->peer_id, "12D3KooWA");
    assert_true(e->actor.seq == 42);
    assert_memory_equal(e->actor.peer.bytes, a.peer.bytes, 38);
    assert_string_equal(e->remote_id, "remote::Counter");
    assert_int_equal(e->resolved_at_ms, 1000);
    assert_int_equal(e->expires_at_ms, 1000 + 300000); /* default TTL */
    assert_int_equal(e->hits, 1);
    assert_int_equal(gw_namecache_lookup(nc, "counter", &e), GW_NC_HIT);
    assert_int_equal(e->hits, 2);
    assert_int_equal(gw_namecache_lookup(nc, "count", &e), GW_NC_MISS);
    gw_namecache_stats st;
    gw_namecache_get_stats(nc, &st);
    assert_int_equal(st.hits, 2);
    assert_int_equal(st.misses, 2);
    assert_int_equal(st.entries, 1);
    gw_namecache_free(nc);
}

static void ttl_expiry_and_re_resolution(void **state)
{
    (void)state;
    fake_now = 0;
    gw_namecache *nc = cache(1000, 0, 0, NULL);
    al_actor_id a = actor(1, 1), b = actor(2, 2);
    assert_int_equal(gw_namecache_put(nc, "n", "P1", &a, "r::A"), 0);
    const gw_namecache_entry *e = NULL;
    fake_now = 999;
    assert_int_equal(gw_namecache_lookup(nc, "n", &e), GW_NC_HIT);
    fake_now = 1000;
    assert_int_equal(gw_namecache_lookup(nc, "n", &e), GW_NC_STALE);
    assert_non_null(e); /* the last known address, for the caller */
    assert_true(e->actor.seq == 1);
    assert_int_equal(e->hits, 1); /* a stale answer is not a hit */
    /* Resolved again (the actor moved): fresh, hits kept. */
    fake_now = 1500;
    assert_int_equal(gw_namecache_put(nc, "n", "P2", &b, "r::A"), 0);
    assert_int_equal(gw_namecache_lookup(nc, "n", &e), GW_NC_HIT);
    assert_true(e->actor.seq == 2);
    assert_string_equal(e->peer_id, "P2");
    assert_int_equal(e->expires_at_ms, 2500);
    assert_int_equal(e->hits, 2);
    assert_int_equal(gw_namecache_count(nc), 1);
    gw_namecache_free(nc);
}

static void negative_caching(void **state)
{
    (void)state;
    fake_now = 0;
    gw_namecache *nc = cache(1000, 0, 0, NULL);
    const gw_namecache_entry *e = NULL;
    assert_int_equal(gw_namecache_put_negative(nc, "ghost"), 0);
    assert_int_equal(gw_namecache_lookup(nc, "ghost", &e), GW_NC_NEGATIVE);
    assert_false(e->found);
    assert_null(e->remote_id);
    assert_string_equal(e->peer_id, "");
    assert_int_equal(e->expires_at_ms, 5000); /* default negative TTL */
    fake_now = 5000;
    assert_int_equal(gw_namecache_lookup(nc, "ghost", &e), GW_NC_MISS);
    assert_null(e);
    assert_int_equal(gw_namecache_count(nc), 0);

    /* A positive entry turns negative when the name is unregistered, and
     * back. */
    al_actor_id a = actor(7, 7);
    assert_int_equal(gw_namecache_put(nc, "x", "P", &a, "r::X"), 0);
    assert_int_equal(gw_namecache_put_negative(nc, "x"), 0);
    assert_int_equal(gw_namecache_lookup(nc, "x", &e), GW_NC_NEGATIVE);
    assert_int_equal(gw_namecache_put(nc, "x", "P", &a, "r::X"), 0);
    assert_int_equal(gw_namecache_lookup(nc, "x", &e), GW_NC_HIT);
    assert_string_equal(e->remote_id, "r::X");
    assert_int_equal(e->hits, 1);
    gw_namecache_free(nc);

    /* Off: nothing is remembered, and a positive entry goes. */
    nc = cache(1000, -1, 0, NULL);
    assert_int_equal(gw_namecache_put(nc, "x", "P", &a, "r::X"), 0);
    assert_int_equal(gw_namecache_put_negative(nc, "x"), 0);
    assert_int_equal(gw_namecache_put_negative(nc, "y"), 0);
    assert_int_equal(gw_namecache_lookup(nc, "x", &e), GW_NC_MISS);
    assert_int_equal(gw_namecache_count(nc), 0);
    gw_namecache_free(nc);
}

static void eviction(void **state)
{
    (void)state;
    fake_now = 0;
    gw_namecache *nc = cache(0, 0, 0, NULL);
    al_actor_id p1 = actor(1, 0xa1), p2 = actor(2, 0xa2);
    assert_int_equal(gw_namecache_put(nc, "a", "PA", &p1, "r"), 0);
    assert_int_equal(gw_namecache_put(nc, "b", "PA", &p1, "r"), 0);
    assert_int_equal(gw_namecache_put(nc, "c", "PB", &p2, "r"), 0);
    assert_int_equal(gw_namecache_put_negative(nc, "d"), 0);
    assert_int_equal(gw_namecache_evict(nc, "a"), 0);
    assert_int_equal(gw_namecache_evict(nc, "a"), AL_ENOTFOUND);
    assert_int_equal(gw_namecache_evict(nc, ""), AL_ENOTFOUND);
    const gw_namecache_entry *e = NULL;
    assert_int_equal(gw_namecache_lookup(nc, "a", &e), GW_NC_MISS);
    /* The peer of b went away. */
    assert_int_equal(gw_namecache_evict_peer(nc, &p1.peer), 1);
    assert_int_equal(gw_namecache_lookup(nc, "b", &e), GW_NC_MISS);
    assert_int_equal(gw_namecache_lookup(nc, "c", &e), GW_NC_HIT);
    assert_int_equal(gw_namecache_evict_all(nc), 2);
    assert_int_equal(gw_namecache_count(nc), 0);
    gw_namecache_stats st;
    gw_namecache_get_stats(nc, &st);
    assert_int_equal(st.evictions, 4);
    gw_namecache_free(nc);
}

static void size_bound_drops_negatives_first(void **state)
{
    (void)state;
    fake_now = 0;
    gw_namecache *nc = cache(0, 0, 3, NULL);
    al_actor_id a = actor(1, 1);
    const gw_namecache_entry *e = NULL;
    assert_int_equal(gw_namecache_put(nc, "p1", "P", &a, "r"), 0);
    assert_int_equal(gw_namecache_put_negative(nc, "n1"), 0);
    assert_int_equal(gw_namecache_put(nc, "p2", "P", &a, "r"), 0);
    assert_int_equal(gw_namecache_put(nc, "p3", "P", &a, "r"), 0);
    assert_int_equal(gw_namecache_count(nc), 3);
    assert_int_equal(gw_namecache_lookup(nc, "n1", &e), GW_NC_MISS);
    /* Re-resolving p1 makes it the youngest; p2 is the oldest now. */
    assert_int_equal(gw_namecache_put(nc, "p1", "P", &a, "r"), 0);
    assert_int_equal(gw_namecache_put(nc, "p4", "P", &a, "r"), 0);
    assert_int_equal(gw_namecache_lookup(nc, "p2", &e), GW_NC_MISS);
    assert_int_equal(gw_namecache_lookup(nc, "p1", &e), GW_NC_HIT);
    assert_int_equal(gw_namecache_lookup(nc, "p3", &e), GW_NC_HIT);
    assert_int_equal(gw_namecache_lookup(nc, "p4", &e), GW_NC_HIT);
    gw_namecache_stats st;
    gw_namecache_get_stats(nc, &st);
    assert_int_equal(st.bound_evictions, 2);
    gw_namecache_free(nc);
}

static void sweep_drops_old_entries(void **state)
{
    (void)state;
    fake_now = 0;
    gw_namecache *nc = cache(1000, 0, 0, NULL); /* stale_keep 10 s */
    al_actor_id a = actor(1, 1);
    assert_int_equal(gw_namecache_put(nc, "old", "P", &a, "r"), 0);
    assert_int_equal(gw_namecache_put_negative(nc, "neg"), 0);
    fake_now = 6000;
    assert_int_equal(gw_namecache_put(nc, "new", "P", &a, "r"), 0);
    assert_int_equal(gw_namecache_sweep(nc), 1); /* neg */
    fake_now = 10999;
    assert_int_equal(gw_namecache_sweep(nc), 0);
    fake_now = 11000; /* old expired at 1000, 10 s ago */
    assert_int_equal(gw_namecache_sweep(nc), 1);
    const gw_namecache_entry *e = NULL;
    assert_int_equal(gw_namecache_lookup(nc, "old", &e), GW_NC_MISS);
    assert_int_equal(gw_namecache_lookup(nc, "new", &e), GW_NC_STALE);
    gw_namecache_free(nc);
}

struct listing {
    int n;
    char names[8][16];
    int stop_at;
};

static int visit(const gw_namecache_entry *e, void *ud)
{
    struct listing *l = ud;
    snprintf(l->names[l->n], sizeof(l->names[0]), "%s%s", e->name,
             e->found ? "" : "?");
    l->n++;
    return l->n == l->stop_at ? 99 : 0;
}

static void listing(void **state)
{
    (void)state;
    fake_now = 0;
    gw_namecache *nc = cache(0, 0, 0, NULL);
    al_actor_id a = actor(1, 1);
    assert_int_equal(gw_namecache_put_negative(nc, "z"), 0);
    assert_int_equal(gw_namecache_put(nc, "b", "P", &a, "r"), 0);
    assert_int_equal(gw_namecache_put(nc, "a", "P", &a, "r"), 0);
    struct listing l = {0};
    assert_int_equal(gw_namecache_list(nc, visit, &l), 0);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.names[0], "b");
    assert_string_equal(l.names[1], "a");
    assert_string_equal(l.names[2], "z?");
    struct listing stop = {.stop_at = 2};
    assert_int_equal(gw_namecache_list(nc, visit, &stop), 99);
    assert_int_equal(stop.n, 2);
    gw_namecache_free(nc);
}

static void bad_arguments(void **state)
{
    (void)state;
    gw_namecache *nc = cache(0, 0, 0, NULL);
    al_actor_id a = actor(1, 1);
    char long_name[GW_NAMECACHE_NAME_MAX + 2];
    memset(long_name, 'n', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    char long_remote[GW_NAMECACHE_REMOTE_ID_MAX + 2];
    memset(long_remote, 'r', sizeof(long_remote) - 1);
    long_remote[sizeof(long_remote) - 1] = '\0';
    assert_int_equal(gw_namecache_put(nc, "", "P", &a, "r"), AL_EINVAL);
    assert_int_equal(gw_namecache_put(nc, long_name, "P", &a, "r"), AL_EINVAL);
    assert_int_equal(gw_namecache_put(nc, "n", "P", &a, long_remote),
                     AL_EINVAL);
    assert_int_equal(gw_namecache_put(nc, "n", "", &a, "r"), AL_EINVAL);
    assert_int_equal(gw_namecache_put(nc, "n", "P", NULL, "r"), AL_EINVAL);
    al_actor_id no_peer = {.seq = 1};
    assert_int_equal(gw_namecache_put(nc, "n", "P", &no_peer, "r"), AL_EINVAL);
    assert_int_equal(gw_namecache_put_negative(nc, long_name), AL_EINVAL);
    const gw_namecache_entry *e = NULL;
    assert_int_equal(gw_namecache_lookup(nc, long_name, &e), GW_NC_MISS);
    assert_int_equal(gw_namecache_lookup(nc, NULL, &e), GW_NC_MISS);
    long_name[GW_NAMECACHE_NAME_MAX] = '\0'; /* exactly the maximum */
    assert_int_equal(gw_namecache_put(nc, long_name, "P", &a, "r"), 0);
    assert_int_equal(gw_namecache_lookup(nc, long_name, &e), GW_NC_HIT);
    al_error err = {0};
    assert_int_equal(gw_namecache_load(nc, &err), AL_ESTATE);
    gw_namecache_free(nc);
}

/* Many names: the table grows and every one stays reachable. */
static void many_names(void **state)
{
    (void)state;
    fake_now = 0;
    gw_namecache *nc = cache(0, 0, 0, NULL);
    al_actor_id a = actor(1, 1);
    char name[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof(name), "actor-%d", i);
        a.seq = (uint64_t)i;
        assert_int_equal(gw_namecache_put(nc, name, "P", &a, "r"), 0);
    }
    for (int i = 0; i < 5000; i += 7) {
        snprintf(name, sizeof(name), "actor-%d", i);
        const gw_namecache_entry *e = NULL;
        assert_int_equal(gw_namecache_lookup(nc, name, &e), GW_NC_HIT);
        assert_true(e->actor.seq == (uint64_t)i);
    }
    assert_int_equal(gw_namecache_count(nc), 5000);
    gw_namecache_free(nc);
}

/* ------------------------------------------------------------ with a db */

struct dbfix {
    char dir[256];
    char path[300];
};

static gw_store *open_store(struct dbfix *f)
{
    gw_store_opts o = {.path = f->path};
    gw_store *s = NULL;
    al_error err = {0};
    if (gw_store_open(&s, &o, &err) != 0)
        fail_msg("open: %s", err.msg);
    return s;
}

static int64_t count_rows(struct dbfix *f, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static void survives_restart(void **state)
{
    (void)state;
    struct dbfix f;
    assert_int_equal(tmpdir_make(f.dir, sizeof(f.dir)), 0);
    snprintf(f.path, sizeof(f.path), "%s/gw.db", f.dir);

    fake_now = 1000000;
    gw_store *s = open_store(&f);
    gw_namecache *nc = cache(60000, 0, 0, s);
    al_actor_id a = actor(0xfedcba9876543210ULL, 0x42), b = actor(5, 5);
    assert_int_equal(gw_namecache_put(nc, "alpha", "PA", &a, "r::A"), 0);
    assert_int_equal(gw_namecache_put(nc, "beta", "PB", &b, "r::B"), 0);
    assert_int_equal(gw_namecache_put(nc, "gamma", "PB", &b, "r::B"), 0);
    assert_int_equal(gw_namecache_put_negative(nc, "nobody"), 0);
    const gw_namecache_entry *e = NULL;
    for (int i = 0; i < 3; i++)
        assert_int_equal(gw_namecache_lookup(nc, "alpha", &e), GW_NC_HIT);
    assert_int_equal(gw_namecache_evict(nc, "beta"), 0);
    /* Hits are written in batches: one update per entry, not per hit. */
    assert_int_equal(gw_namecache_flush_hits(nc), 1);
    assert_int_equal(gw_namecache_flush_hits(nc), 0);
    assert_int_equal(gw_namecache_lookup(nc, "gamma", &e), GW_NC_HIT);
    assert_int_equal(gw_namecache_flush_hits(nc), 1);
    gw_namecache_free(nc);
    assert_int_equal(gw_store_close(s), 0);
    assert_int_equal(count_rows(&f, "SELECT count(*) FROM name_cache"), 2);

    /* Restart, later: alpha and gamma come back as they were, now stale. */
    fake_now = 1000000 + 65000;
    s = open_store(&f);
    nc = cache(60000, 0, 0, s);
    al_error err = {0};
    assert_int_equal(gw_namecache_load(nc, &err), 0);
    assert_int_equal(gw_namecache_count(nc), 2);
    assert_int_equal(gw_namecache_lookup(nc, "alpha", &e), GW_NC_STALE);
    assert_string_equal(e->peer_id, "PA");
    assert_true(e->actor.seq == 0xfedcba9876543210ULL);
    assert_memory_equal(e->actor.peer.bytes, a.peer.bytes, 38);
    assert_string_equal(e->remote_id, "r::A");
    assert_int_equal(e->resolved_at_ms, 1000000);
    assert_int_equal(e->expires_at_ms, 1060000);
    assert_int_equal(e->hits, 3);
    assert_int_equal(gw_namecache_lookup(nc, "gamma", &e), GW_NC_STALE);
    assert_int_equal(e->hits, 1);
    assert_int_equal(gw_namecache_lookup(nc, "beta", &e), GW_NC_MISS);
    assert_int_equal(gw_namecache_lookup(nc, "nobody", &e), GW_NC_MISS);
    /* Re-resolved after the restart: the new row keeps the old hits. */
    assert_int_equal(gw_namecache_put(nc, "alpha", "PA", &a, "r::A"), 0);
    assert_int_equal(gw_namecache_evict_all(nc), 2);
    gw_namecache_free(nc);
    assert_int_equal(gw_store_close(s), 0);
    assert_int_equal(count_rows(&f, "SELECT count(*) FROM name_cache"), 0);
    tmpdir_remove(f.dir);
}

static void long_expired_rows_are_dropped_at_load(void **state)
{
    (void)state;
    struct dbfix f;
    assert_int_equal(tmpdir_make(f.dir, sizeof(f.dir)), 0);
    snprintf(f.path, sizeof(f.path), "%s/gw.db", f.dir);
    fake_now = 0;
    gw_store *s = open_store(&f);
    gw_namecache *nc = cache(1000, 0, 0, s);
    al_actor_id a = actor(1, 1);
    assert_int_equal(gw_namecache_put(nc, "old", "P", &a, "r"), 0);
    fake_now = 5000;
    assert_int_equal(gw_namecache_put(nc, "young", "P", &a, "r"), 0);
    gw_namecache_free(nc);
    assert_int_equal(gw_store_close(s), 0);

    /* old expired at 1000: 10 s later it is gone; young (6000) is not. */
    fake_now = 11000;
    s = open_store(&f);
    nc = cache(1000, 0, 0, s);
    al_error err = {0};
    assert_int_equal(gw_namecache_load(nc, &err), 0);
    assert_int_equal(gw_namecache_count(nc), 1);
    const gw_namecache_entry *e = NULL;
    assert_int_equal(gw_namecache_lookup(nc, "young", &e), GW_NC_STALE);
    gw_namecache_free(nc);
    assert_int_equal(gw_store_close(s), 0);
    assert_int_equal(
        count_rows(&f, "SELECT count(*) FROM name_cache WHERE name = 'old'"),
        0);

    /* A smaller bound at the next start keeps the newest rows. */
    s = open_store(&f);
    nc = cache(1000, 0, 0, s);
    assert_int_equal(gw_namecache_put(nc, "newest", "P", &a, "r"), 0);
    gw_namecache_free(nc);
    assert_int_equal(gw_store_flush_sync(s), 0);
    nc = cache(1000, 0, 1, s);
    assert_int_equal(gw_namecache_load(nc, &err), 0);
    assert_int_equal(gw_namecache_count(nc), 1);
    assert_int_equal(gw_namecache_lookup(nc, "newest", &e), GW_NC_HIT);
    gw_namecache_free(nc);
    assert_int_equal(gw_store_close(s), 0);
    assert_int_equal(count_rows(&f, "SELECT count(*) FROM name_cache"), 1);
    tmpdir_remove(f.dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hit_after_put),
        cmocka_unit_test(ttl_expiry_and_re_resolution),
        cmocka_unit_test(negative_caching),
        cmocka_unit_test(eviction),
        cmocka_unit_test(size_bound_drops_negatives_first),
        cmocka_unit_test(sweep_drops_old_entries),
        cmocka_unit_test(listing),
        cmocka_unit_test(bad_arguments),
        cmocka_unit_test(many_names),
        cmocka_unit_test(survives_restart),
        cmocka_unit_test(long_expired_rows_are_dropped_at_load),
    };
    return cmocka_run_group_tests_name("namecache", tests, NULL, NULL);
}
