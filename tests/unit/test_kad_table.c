/* kad_table.c: SHA-256 keys (FIPS 180-2 vectors), XOR distance and bucket
 * indexes, bucket placement, the full-bucket and pending-entry rules,
 * failure removal, closest-peer selection against a brute-force sort, and
 * address sets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "actorlib.h"
#include "kad_table.h"
#include "kad_testutil.h"

static void key_from_hex(const char *hex, al__kad_key *k)
{
    for (int i = 0; i < AL__KAD_KEY_LEN; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        k->b[i] = (uint8_t)v;
    }
}

/* FIPS 180-2 appendix B.1 and the empty message. */
static void sha256_vectors(void **state)
{
    (void)state;
    al__kad_key k, want;
    al__kad_key_hash((const uint8_t *)"abc", 3, &k);
    key_from_hex("ba7816bf8f01cfea414140de5dae2223"
                 "b00361a396177a9cb410ff61f20015ad",
                 &want);
    assert_memory_equal(k.b, want.b, AL__KAD_KEY_LEN);
    al__kad_key_hash((const uint8_t *)"", 0, &k);
    key_from_hex("e3b0c44298fc1c149afbf4c8996fb924"
                 "27ae41e4649b934ca495991b7852b855",
                 &want);
    assert_memory_equal(k.b, want.b, AL__KAD_KEY_LEN);

    /* A peer's key is the hash of its multihash bytes. */
    al_peer_id p = {.len = 3, .bytes = {'a', 'b', 'c'}};
    al__kad_key_peer(&p, &k);
    key_from_hex("ba7816bf8f01cfea414140de5dae2223"
                 "b00361a396177a9cb410ff61f20015ad",
                 &want);
    assert_memory_equal(k.b, want.b, AL__KAD_KEY_LEN);
}

static void distance_and_buckets(void **state)
{
    (void)state;
    al__kad_key abc, empty;
    al__kad_key_hash((const uint8_t *)"abc", 3, &abc);
    al__kad_key_hash((const uint8_t *)"", 0, &empty);
    /* ba ^ e3 = 59 = 0101 1001: the highest set bit is bit 254. */
    assert_int_equal(al__kad_bucket_index(&abc, &empty), 254);
    assert_int_equal(al__kad_bucket_index(&empty, &abc), 254);
    assert_int_equal(al__kad_bucket_index(&abc, &abc), -1);

    al__kad_key a = {{0}}, b = {{0}}, t = {{0}};
    b.b[31] = 1;
    assert_int_equal(al__kad_bucket_index(&a, &b), 0);
    b.b[31] = 0x80;
    assert_int_equal(al__kad_bucket_index(&a, &b), 7);
    b.b[30] = 1;
    assert_int_equal(al__kad_bucket_index(&a, &b), 8);
    memset(b.b, 0, sizeof(b.b));
    b.b[0] = 0x80;
    assert_int_equal(al__kad_bucket_index(&a, &b), 255);

    /* Distance is XOR, compared as a big-endian number. */
    t.b[0] = 0xf0;
    a.b[0] = 0xf1; /* distance 01 00.. */
    b.b[0] = 0x70; /* distance 80 00.. */
    assert_true(al__kad_distance_cmp(&t, &a, &b) < 0);
    assert_true(al__kad_distance_cmp(&t, &b, &a) > 0);
    assert_int_equal(al__kad_distance_cmp(&t, &a, &a), 0);
    b = a;
    b.b[31] = 1; /* a tie in every byte but the last */
    assert_true(al__kad_distance_cmp(&t, &a, &b) < 0);
}

static void placement(void **state)
{
    (void)state;
    kt_seed(1);
    al_peer_id local = kt_peer();
    al__kad_table *t = malloc(sizeof(*t));
    al__kad_table_init(t, &local);
    uint8_t addr[11];
    size_t alen = kt_addr(1, addr);
    size_t inserted = 0;
    for (int i = 0; i < 200; i++) {
        al_peer_id p = kt_peer();
        al__kad_key k;
        al__kad_key_peer(&p, &k);
        int idx = al__kad_bucket_index(&t->local_key, &k);
        int rc = al__kad_table_add(t, &p, addr, alen, 0);
        assert_true(rc == AL__KAD_INSERTED || rc == AL__KAD_FULL);
        if (rc == AL__KAD_INSERTED) {
            inserted++;
            al__kad_bucket *b = &t->buckets[idx];
            bool there = false;
            for (size_t j = 0; j < b->n; j++)
                there |= al_peer_id_equal(&b->e[j]->peer, &p);
            assert_true(there);
            al__kad_entry *e = al__kad_table_find(t, &p);
            assert_non_null(e);
            assert_false(e->connected);
            assert_int_equal(e->addrs.n, 1);
        }
    }
    assert_int_equal(t->size, inserted);
    /* Random ids: half land in bucket 255, which fills up. */
    assert_int_equal(t->buckets[255].n, AL__KAD_K);
    assert_true(inserted < 200);
    /* Our own id never goes in. */
    assert_int_equal(al__kad_table_add(t, &local, addr, alen, 0),
                     AL__KAD_IGNORED);
    assert_int_equal(al__kad_table_seen(t, &local, NULL, 0), AL__KAD_IGNORED);
    assert_null(al__kad_table_find(t, &local));
    al__kad_table_free(t);
    free(t);
}

/* Peers that all land in bucket 255 of local. */
static size_t far_peers(const al__kad_table *t, al_peer_id *out, size_t n)
{
    size_t got = 0;
    while (got < n) {
        al_peer_id p = kt_peer();
        al__kad_key k;
        al__kad_key_peer(&p, &k);
        if (al__kad_bucket_index(&t->local_key, &k) == 255)
            out[got++] = p;
    }
    return got;
}

static al__kad_table *full_bucket(al_peer_id *peers, size_t n, bool connected)
{
    kt_seed(7);
    al_peer_id local = kt_peer();
    al__kad_table *t = malloc(sizeof(*t));
    al__kad_table_init(t, &local);
    far_peers(t, peers, n);
    al__kad_addrs a = {0};
    uint8_t addr[11];
    al__kad_addrs_add(&a, addr, kt_addr(2, addr));
    for (size_t i = 0; i < AL__KAD_K; i++) {
        int rc = connected ? al__kad_table_seen(t, &peers[i], &a, 1000 + i)
                           : al__kad_table_add(t, &peers[i], a.data[0],
                                               a.len[0], 1000 + i);
        assert_int_equal(rc, AL__KAD_INSERTED);
    }
    al__kad_addrs_free(&a);
    return t;
}

static void full_bucket_of_connected(void **state)
{
    (void)state;
    al_peer_id peers[AL__KAD_K + 2];
    al__kad_table *t = full_bucket(peers, AL__KAD_K + 2, true);
    al__kad_addrs a = {0};
    uint8_t addr[11];
    al__kad_addrs_add(&a, addr, kt_addr(3, addr));
    /* Full of live peers: newcomers are turned away, by add and by seen. */
    assert_int_equal(
        al__kad_table_add(t, &peers[AL__KAD_K], a.data[0], a.len[0], 5000),
        AL__KAD_FULL);
    assert_int_equal(al__kad_table_seen(t, &peers[AL__KAD_K], &a, 5000),
                     AL__KAD_FULL);
    assert_null(t->buckets[255].pending);
    /* Seeing an entry moves it to the most recently seen end. */
    assert_true(al_peer_id_equal(&t->buckets[255].e[0]->peer, &peers[0]));
    assert_int_equal(al__kad_table_seen(t, &peers[0], NULL, 6000),
                     AL__KAD_UPDATED);
    assert_true(
        al_peer_id_equal(&t->buckets[255].e[AL__KAD_K - 1]->peer, &peers[0]));
    assert_true(al_peer_id_equal(&t->buckets[255].e[0]->peer, &peers[1]));
    al__kad_addrs_free(&a);
    al__kad_table_free(t);
    free(t);
}

static void pending_replaces_disconnected(void **state)
{
    (void)state;
    al_peer_id peers[AL__KAD_K + 2];
    al__kad_table *t = full_bucket(peers, AL__KAD_K + 2, true);
    al__kad_bucket *b = &t->buckets[255];
    al__kad_addrs a = {0};
    uint8_t addr[11];
    al__kad_addrs_add(&a, addr, kt_addr(4, addr));
    al__kad_table_set_connected(t, &peers[5], false);
    assert_int_equal(al__kad_table_seen(t, &peers[AL__KAD_K], &a, 10000),
                     AL__KAD_PENDING);
    assert_non_null(b->pending);
    assert_int_equal(al__kad_table_next_deadline(t),
                     10000 + AL__KAD_PENDING_MS);
    /* One pending entry per bucket. */
    assert_int_equal(al__kad_table_seen(t, &peers[AL__KAD_K + 1], &a, 10001),
                     AL__KAD_FULL);
    /* Not yet: nothing moves. */
    al__kad_table_tick(t, 10000 + AL__KAD_PENDING_MS - 1);
    assert_non_null(b->pending);
    assert_int_equal(t->size, AL__KAD_K);
    /* The pending entry is findable while it waits. */
    assert_non_null(al__kad_table_find(t, &peers[AL__KAD_K]));
    al__kad_table_tick(t, 10000 + AL__KAD_PENDING_MS);
    assert_null(b->pending);
    assert_int_equal(b->n, AL__KAD_K);
    assert_null(al__kad_table_find(t, &peers[5]));
    al__kad_entry *e = al__kad_table_find(t, &peers[AL__KAD_K]);
    assert_non_null(e);
    assert_true(e->connected);
    assert_true(
        al_peer_id_equal(&b->e[AL__KAD_K - 1]->peer, &peers[AL__KAD_K]));
    assert_int_equal(al__kad_table_next_deadline(t), UINT64_MAX);
    al__kad_addrs_free(&a);
    al__kad_table_free(t);
    free(t);
}

static void pending_dropped_when_all_return(void **state)
{
    (void)state;
    al_peer_id peers[AL__KAD_K + 1];
    al__kad_table *t = full_bucket(peers, AL__KAD_K + 1, true);
    al__kad_addrs a = {0};
    uint8_t addr[11];
    al__kad_addrs_add(&a, addr, kt_addr(4, addr));
    al__kad_table_set_connected(t, &peers[3], false);
    assert_int_equal(al__kad_table_seen(t, &peers[AL__KAD_K], &a, 0),
                     AL__KAD_PENDING);
    /* The disconnected peer comes back before the pending one's turn. */
    al__kad_table_set_connected(t, &peers[3], true);
    al__kad_table_tick(t, AL__KAD_PENDING_MS);
    assert_null(t->buckets[255].pending);
    assert_null(al__kad_table_find(t, &peers[AL__KAD_K]));
    assert_non_null(al__kad_table_find(t, &peers[3]));
    assert_int_equal(t->size, AL__KAD_K);
    al__kad_addrs_free(&a);
    al__kad_table_free(t);
    free(t);
}

static void failures_remove(void **state)
{
    (void)state;
    al_peer_id peers[AL__KAD_K + 1];
    al__kad_table *t = full_bucket(peers, AL__KAD_K + 1, true);
    al__kad_addrs a = {0};
    uint8_t addr[11];
    al__kad_addrs_add(&a, addr, kt_addr(9, addr));
    for (unsigned i = 1; i < AL__KAD_MAX_FAILURES; i++)
        assert_false(al__kad_table_failed(t, &peers[2], false, 0));
    /* A success in between starts the count again. */
    assert_int_equal(al__kad_table_seen(t, &peers[2], NULL, 1),
                     AL__KAD_UPDATED);
    assert_int_equal(al__kad_table_find(t, &peers[2])->failures, 0);
    for (unsigned i = 1; i < AL__KAD_MAX_FAILURES; i++)
        assert_false(al__kad_table_failed(t, &peers[2], false, 2));
    /* A failed peer counts as disconnected: a newcomer may wait for it. */
    assert_int_equal(al__kad_table_seen(t, &peers[AL__KAD_K], &a, 3),
                     AL__KAD_PENDING);
    assert_true(al__kad_table_failed(t, &peers[2], false, 4));
    assert_null(al__kad_table_find(t, &peers[2]));
    /* Its slot went to the pending entry at once. */
    assert_null(t->buckets[255].pending);
    assert_non_null(al__kad_table_find(t, &peers[AL__KAD_K]));
    assert_int_equal(t->size, AL__KAD_K);
    /* Fatal (the peer does not speak kad): gone at the first failure. */
    assert_true(al__kad_table_failed(t, &peers[7], true, 5));
    assert_int_equal(t->size, AL__KAD_K - 1);
    assert_false(al__kad_table_failed(t, &peers[7], true, 5));
    assert_false(al__kad_table_remove(t, &peers[7], 5));
    al__kad_addrs_free(&a);
    al__kad_table_free(t);
    free(t);
}

static void seen_needs_address(void **state)
{
    (void)state;
    kt_seed(11);
    al_peer_id local = kt_peer(), p = kt_peer();
    al__kad_table t;
    al__kad_table_init(&t, &local);
    assert_int_equal(al__kad_table_seen(&t, &p, NULL, 0), AL__KAD_IGNORED);
    al__kad_addrs none = {0};
    assert_int_equal(al__kad_table_seen(&t, &p, &none, 0), AL__KAD_IGNORED);
    assert_int_equal(t.size, 0);
    assert_int_equal(al__kad_table_add(&t, &p, NULL, 0, 0), AL__KAD_IGNORED);
    uint8_t addr[11], addr2[11];
    kt_addr(1, addr);
    kt_addr(2, addr2);
    assert_int_equal(al__kad_table_add(&t, &p, addr, 11, 0), AL__KAD_INSERTED);
    /* Known: more addresses merge in, newest first. */
    assert_int_equal(al__kad_table_add(&t, &p, addr2, 11, 0), AL__KAD_UPDATED);
    al__kad_entry *e = al__kad_table_find(&t, &p);
    assert_int_equal(e->addrs.n, 2);
    assert_memory_equal(e->addrs.data[0], addr2, 11);
    assert_int_equal(al__kad_table_seen(&t, &p, NULL, 5), AL__KAD_UPDATED);
    assert_true(e->connected);
    assert_int_equal(e->last_seen, 5);
    al__kad_table_set_connected(&t, &p, false);
    assert_false(e->connected);
    al__kad_table_free(&t);
}

static al__kad_key sort_target;
static int cmp_peers(const void *a, const void *b)
{
    al__kad_key ka, kb;
    al__kad_key_peer(a, &ka);
    al__kad_key_peer(b, &kb);
    return al__kad_distance_cmp(&sort_target, &ka, &kb);
}

static void closest_matches_sort(void **state)
{
    (void)state;
    kt_seed(42);
    al_peer_id local = kt_peer();
    al__kad_table *t = malloc(sizeof(*t));
    al__kad_table_init(t, &local);
    enum { N = 300 };
    al_peer_id *in = calloc(N, sizeof(*in));
    size_t n = 0;
    uint8_t addr[11];
    kt_addr(1, addr);
    for (int i = 0; i < N; i++) {
        al_peer_id p = kt_peer();
        if (al__kad_table_add(t, &p, addr, 11, 0) == AL__KAD_INSERTED)
            in[n++] = p;
    }
    assert_int_equal(t->size, n);
    for (int round = 0; round < 20; round++) {
        uint8_t key[8];
        uint64_t r = kt_rand();
        memcpy(key, &r, 8);
        al__kad_key_hash(key, 8, &sort_target);
        qsort(in, n, sizeof(*in), cmp_peers);
        al__kad_entry *out[AL__KAD_K];
        size_t got =
            al__kad_table_closest(t, &sort_target, NULL, out, AL__KAD_K);
        assert_int_equal(got, AL__KAD_K);
        for (size_t i = 0; i < got; i++)
            assert_true(al_peer_id_equal(&out[i]->peer, &in[i]));
        /* Leaving out the closest shifts the list by one. */
        got = al__kad_table_closest(t, &sort_target, &in[0], out, AL__KAD_K);
        for (size_t i = 0; i < got; i++)
            assert_true(al_peer_id_equal(&out[i]->peer, &in[i + 1]));
        /* Fewer wanted than known. */
        got = al__kad_table_closest(t, &sort_target, NULL, out, 3);
        assert_int_equal(got, 3);
        assert_true(al_peer_id_equal(&out[2]->peer, &in[2]));
    }
    al__kad_entry *none[1];
    assert_int_equal(al__kad_table_closest(t, &sort_target, NULL, none, 0), 0);

    /* count_closer: entries nearer to a key than we are. */
    size_t want = 0;
    for (size_t i = 0; i < n; i++) {
        al__kad_key k;
        al__kad_key_peer(&in[i], &k);
        if (al__kad_distance_cmp(&sort_target, &k, &t->local_key) < 0)
            want++;
    }
    assert_int_equal(al__kad_table_count_closer(t, &sort_target), want);
    /* Towards our own key nobody is closer. */
    assert_int_equal(al__kad_table_count_closer(t, &t->local_key), 0);
    free(in);
    al__kad_table_free(t);
    free(t);
}

static void address_sets(void **state)
{
    (void)state;
    al__kad_addrs a = {0}, b = {0};
    uint8_t addr[8][11];
    for (unsigned i = 0; i < 8; i++)
        kt_addr(i, addr[i]);
    assert_int_equal(al__kad_addrs_add(&a, addr[0], 0), AL_EINVAL);
    assert_int_equal(al__kad_addrs_add(&a, NULL, 11), AL_EINVAL);
    uint8_t big[AL__KAD_ADDR_LEN + 1] = {0};
    assert_int_equal(al__kad_addrs_add(&a, big, sizeof(big)), AL_EINVAL);
    assert_int_equal(al__kad_addrs_add(&a, big, AL__KAD_ADDR_LEN), 1);
    al__kad_addrs_free(&a);
    for (unsigned i = 0; i < AL__KAD_ENTRY_ADDRS; i++)
        assert_int_equal(al__kad_addrs_add(&a, addr[i], 11), 1);
    /* Known: moves to the front, nothing added. */
    assert_int_equal(al__kad_addrs_add(&a, addr[1], 11), 0);
    assert_memory_equal(a.data[0], addr[1], 11);
    assert_int_equal(a.n, AL__KAD_ENTRY_ADDRS);
    /* Full: the oldest (addr[0]) goes. */
    assert_int_equal(al__kad_addrs_add(&a, addr[7], 11), 1);
    assert_int_equal(a.n, AL__KAD_ENTRY_ADDRS);
    for (size_t i = 0; i < a.n; i++)
        assert_memory_not_equal(a.data[i], addr[0], 11);
    assert_int_equal(al__kad_addrs_copy(&b, &a), 0);
    assert_int_equal(b.n, a.n);
    for (size_t i = 0; i < a.n; i++)
        assert_memory_equal(a.data[i], b.data[i], 11);
    al__kad_addrs_free(&b);
    /* merge keeps the source's order in front. */
    al__kad_addrs_add(&b, addr[6], 11);
    al__kad_addrs_add(&b, addr[5], 11);
    al__kad_addrs c = {0};
    al__kad_addrs_add(&c, addr[0], 11);
    al__kad_addrs_merge(&c, &b);
    assert_int_equal(c.n, 3);
    assert_memory_equal(c.data[0], addr[5], 11);
    assert_memory_equal(c.data[1], addr[6], 11);
    assert_memory_equal(c.data[2], addr[0], 11);
    al__kad_addrs_merge(&c, NULL);
    assert_int_equal(c.n, 3);
    al__kad_addrs_free(&a);
    al__kad_addrs_free(&b);
    al__kad_addrs_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sha256_vectors),
        cmocka_unit_test(distance_and_buckets),
        cmocka_unit_test(placement),
        cmocka_unit_test(full_bucket_of_connected),
        cmocka_unit_test(pending_replaces_disconnected),
        cmocka_unit_test(pending_dropped_when_all_return),
        cmocka_unit_test(failures_remove),
        cmocka_unit_test(seen_needs_address),
        cmocka_unit_test(closest_matches_sort),
        cmocka_unit_test(address_sets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
