/* kad_store.c: put/get/replace, bounds (value size, record count), expiry
 * with an injected clock, removal, and own records under replication. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "actorlib.h"
#include "kad_store.h"

#define K(s) (const uint8_t *)(s), sizeof(s) - 1

static al__kad_record_in rec(const char *key, const char *value,
                             uint64_t expires)
{
    al__kad_record_in in = {
        .key = (const uint8_t *)key,
        .klen = strlen(key),
        .value = (const uint8_t *)value,
        .vlen = strlen(value),
        .expires = expires,
        .wall = 1700000000000ull,
    };
    return in;
}

static void put_get_replace(void **state)
{
    (void)state;
    al__kad_store s;
    al__kad_store_init(&s, 0, 0);
    assert_int_equal(s.max_records, AL__KAD_STORE_RECORDS);
    assert_int_equal(s.max_value, AL__KAD_STORE_VALUE);
    al__kad_record_in in = rec("my_actor", "v1", 0);
    al_peer_id pub = {.len = 2, .bytes = {0x12, 0x00}};
    in.publisher = &pub;
    assert_int_equal(al__kad_store_put(&s, &in, 10), 0);
    assert_int_equal(s.count, 1);
    al__kad_record *r = al__kad_store_get(&s, K("my_actor"), 11);
    assert_non_null(r);
    assert_int_equal(r->vlen, 2);
    assert_memory_equal(r->value, "v1", 2);
    assert_int_equal(r->received, 10);
    assert_int_equal(r->received_wall, 1700000000000ull);
    assert_true(al_peer_id_equal(&r->publisher, &pub));
    assert_null(al__kad_store_get(&s, K("my_actor2"), 11));
    assert_null(al__kad_store_get(&s, K("my_acto"), 11));
    assert_null(al__kad_store_get(&s, NULL, 0, 11));

    /* Same key: replaced, one record. An empty value (a tombstone) is a
     * value like any other. */
    in = rec("my_actor", "", 0);
    assert_int_equal(al__kad_store_put(&s, &in, 20), 0);
    assert_int_equal(s.count, 1);
    r = al__kad_store_get(&s, K("my_actor"), 21);
    assert_non_null(r);
    assert_int_equal(r->vlen, 0);
    assert_int_equal(r->publisher.len, 0);

    /* Arbitrary key bytes, no namespace. */
    const uint8_t odd[] = {0x00, 0xff, '/', 0x00};
    al__kad_record_in bin = {
        .key = odd, .klen = sizeof(odd), .value = odd, .vlen = 1};
    assert_int_equal(al__kad_store_put(&s, &bin, 0), 0);
    r = al__kad_store_get(&s, odd, sizeof(odd), 0);
    assert_non_null(r);
    assert_int_equal(r->value[0], 0);
    assert_null(al__kad_store_get(&s, odd, 3, 0));

    assert_true(al__kad_store_remove(&s, K("my_actor")));
    assert_false(al__kad_store_remove(&s, K("my_actor")));
    assert_false(al__kad_store_remove(&s, NULL, 0));
    assert_int_equal(s.count, 1);
    al__kad_store_free(&s);
    assert_int_equal(s.count, 0);
}

static void bounds(void **state)
{
    (void)state;
    al__kad_store s;
    al__kad_store_init(&s, 3, 16);
    al__kad_record_in in = rec("", "x", 0);
    assert_int_equal(al__kad_store_put(&s, &in, 0), AL_EINVAL);
    /* Values must be shorter than max_value (rust's >= check). */
    in = rec("k", "0123456789abcdef", 0);
    assert_int_equal(al__kad_store_put(&s, &in, 0), AL_ELIMIT);
    in = rec("k", "0123456789abcde", 0);
    assert_int_equal(al__kad_store_put(&s, &in, 0), 0);
    in = rec("k2", "v", 0);
    assert_int_equal(al__kad_store_put(&s, &in, 0), 0);
    in = rec("k3", "v", 0);
    assert_int_equal(al__kad_store_put(&s, &in, 0), 0);
    in = rec("k4", "v", 0);
    assert_int_equal(al__kad_store_put(&s, &in, 0), AL_ELIMIT);
    assert_int_equal(s.count, 3);
    /* A full store still takes new values for known keys. */
    in = rec("k2", "w", 0);
    assert_int_equal(al__kad_store_put(&s, &in, 0), 0);
    assert_memory_equal(al__kad_store_get(&s, K("k2"), 0)->value, "w", 1);
    al__kad_store_free(&s);
}

static void expiry(void **state)
{
    (void)state;
    al__kad_store s;
    al__kad_store_init(&s, 2, 0);
    al__kad_record_in a = rec("a", "1", 1000), b = rec("b", "2", 5000);
    assert_int_equal(al__kad_store_put(&s, &a, 0), 0);
    assert_int_equal(al__kad_store_put(&s, &b, 0), 0);
    assert_non_null(al__kad_store_get(&s, K("a"), 999));
    /* Expired at its deadline: get drops it. */
    assert_null(al__kad_store_get(&s, K("a"), 1000));
    assert_int_equal(s.count, 1);
    assert_int_equal(al__kad_store_put(&s, &a, 1000), 0);
    assert_int_equal(al__kad_store_expire(&s, 4999), 1);
    assert_int_equal(s.count, 1);
    assert_int_equal(al__kad_store_expire(&s, 4999), 0);
    /* Full store: dead records make room for a new one. */
    assert_int_equal(al__kad_store_put(&s, &a, 0), 0);
    assert_int_equal(s.count, 2);
    al__kad_record_in c = rec("c", "3", 0);
    assert_int_equal(al__kad_store_put(&s, &c, 1), AL_ELIMIT);
    assert_int_equal(al__kad_store_put(&s, &c, 6000), 0);
    assert_int_equal(s.count, 1);
    /* expires 0: never. */
    assert_non_null(al__kad_store_get(&s, K("c"), UINT64_MAX - 1));
    al__kad_store_free(&s);
}

static size_t visits;
static void count(al__kad_record *r, void *ud)
{
    (void)r;
    (void)ud;
    visits++;
}

static void own_records(void **state)
{
    (void)state;
    al__kad_store s;
    al__kad_store_init(&s, 0, 0);
    al__kad_record_in own = rec("name", "value", 0);
    own.own = true;
    assert_int_equal(al__kad_store_put(&s, &own, 100), 0);
    al__kad_record *r = al__kad_store_get(&s, K("name"), 100);
    assert_true(r->own);
    assert_int_equal(r->published, 100);
    /* A peer sends the same value back: still ours. */
    al__kad_record_in echo = rec("name", "value", 50);
    assert_int_equal(al__kad_store_put(&s, &echo, 200), 0);
    r = al__kad_store_get(&s, K("name"), 200);
    assert_true(r->own);
    assert_int_equal(r->expires, 0);
    assert_int_equal(r->received, 100);
    /* Another value: the latest put wins, as in rust's MemoryStore. */
    al__kad_record_in other = rec("name", "other", 0);
    assert_int_equal(al__kad_store_put(&s, &other, 300), 0);
    r = al__kad_store_get(&s, K("name"), 300);
    assert_false(r->own);
    assert_memory_equal(r->value, "other", 5);
    visits = 0;
    al__kad_store_each(&s, count, NULL);
    assert_int_equal(visits, 1);
    al__kad_store_free(&s);
}

static void many_records(void **state)
{
    (void)state;
    al__kad_store s;
    al__kad_store_init(&s, 0, 0);
    char key[24];
    for (int i = 0; i < AL__KAD_STORE_RECORDS; i++) {
        snprintf(key, sizeof(key), "actor-%d", i);
        al__kad_record_in in = rec(key, key, (uint64_t)i + 1);
        assert_int_equal(al__kad_store_put(&s, &in, 0), 0);
    }
    assert_int_equal(s.count, AL__KAD_STORE_RECORDS);
    al__kad_record_in extra = rec("extra", "x", 0);
    assert_int_equal(al__kad_store_put(&s, &extra, 0), AL_ELIMIT);
    for (int i = 0; i < AL__KAD_STORE_RECORDS; i += 97) {
        snprintf(key, sizeof(key), "actor-%d", i);
        al__kad_record *r =
            al__kad_store_get(&s, (const uint8_t *)key, strlen(key), 0);
        assert_non_null(r);
        assert_memory_equal(r->value, key, strlen(key));
    }
    visits = 0;
    al__kad_store_each(&s, count, NULL);
    assert_int_equal(visits, AL__KAD_STORE_RECORDS);
    /* Half have expired by 512. */
    assert_int_equal(al__kad_store_expire(&s, 512), 512);
    assert_int_equal(s.count, AL__KAD_STORE_RECORDS - 512);
    al__kad_store_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(put_get_replace), cmocka_unit_test(bounds),
        cmocka_unit_test(expiry),          cmocka_unit_test(own_records),
        cmocka_unit_test(many_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
