/* keymap.c: SipHash-2-4 against the reference vectors, and the table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actorlib.h"
#include "keymap.h"

/* From the SipHash paper's reference implementation (vectors.h): key
 * 00 01 .. 0f, message 00 01 .. (len - 1). */
static void siphash_vectors(void **state)
{
    (void)state;
    uint8_t msg[64];
    for (int i = 0; i < 64; i++)
        msg[i] = (uint8_t)i;
    const uint64_t k0 = 0x0706050403020100ULL, k1 = 0x0f0e0d0c0b0a0908ULL;
    assert_true(gw_siphash(k0, k1, msg, 0) == 0x726fdb47dd0e0e31ULL);
    assert_true(gw_siphash(k0, k1, msg, 1) == 0x74f839c593dc67fdULL);
    assert_true(gw_siphash(k0, k1, msg, 8) == 0x93f5f5799a932462ULL);
    assert_true(gw_siphash(k0, k1, msg, 15) == 0xa129ca6149be45e5ULL);
    assert_true(gw_siphash(k0, k1, msg, 63) == 0x958a324ceb064572ULL);
}

struct item {
    gw_keymap_node node;
    char key[16];
};

static void insert_find_remove(void **state)
{
    (void)state;
    gw_keymap m;
    assert_int_equal(gw_keymap_init(&m), 0);
    enum { N = 3000 };
    struct item *items = calloc(N, sizeof(*items));
    assert_non_null(items);
    for (int i = 0; i < N; i++) {
        snprintf(items[i].key, sizeof(items[i].key), "k%d", i);
        items[i].node.key = items[i].key;
        items[i].node.key_len = strlen(items[i].key);
        assert_null(gw_keymap_find(&m, items[i].key, strlen(items[i].key)));
        assert_int_equal(gw_keymap_insert(&m, &items[i].node), 0);
    }
    assert_int_equal(m.count, N);
    assert_true(m.mask + 1 >= N);
    for (int i = 0; i < N; i++)
        assert_ptr_equal(gw_keymap_find(&m, items[i].key, strlen(items[i].key)),
                         &items[i].node);
    /* Keys are compared by length too: "k1" is not a prefix match. */
    assert_null(gw_keymap_find(&m, "k1", 1));
    for (int i = 0; i < N; i += 2)
        gw_keymap_remove(&m, &items[i].node);
    assert_int_equal(m.count, N / 2);
    for (int i = 0; i < N; i++) {
        gw_keymap_node *n =
            gw_keymap_find(&m, items[i].key, strlen(items[i].key));
        if (i % 2)
            assert_ptr_equal(n, &items[i].node);
        else
            assert_null(n);
    }
    gw_keymap_destroy(&m);
    free(items);
}

/* Two tables hash the same key differently: the key is random. */
static void seeds_differ(void **state)
{
    (void)state;
    gw_keymap a, b;
    assert_int_equal(gw_keymap_init(&a), 0);
    assert_int_equal(gw_keymap_init(&b), 0);
    assert_true(gw_keymap_hash(&a, "name", 4) != gw_keymap_hash(&b, "name", 4));
    gw_keymap_destroy(&a);
    gw_keymap_destroy(&b);
}

static void list_ops(void **state)
{
    (void)state;
    gw_dlist head, x, y;
    gw_dlist_init(&head);
    assert_true(gw_dlist_empty(&head));
    gw_dlist_push_back(&head, &x);
    gw_dlist_push_back(&head, &y);
    assert_ptr_equal(head.next, &x);
    assert_ptr_equal(head.prev, &y);
    gw_dlist_remove(&x);
    assert_ptr_equal(head.next, &y);
    /* A removed node is linked to itself, so removing it again is safe. */
    assert_ptr_equal(x.next, &x);
    gw_dlist_remove(&x);
    gw_dlist_remove(&y);
    assert_true(gw_dlist_empty(&head));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(siphash_vectors),
        cmocka_unit_test(insert_find_remove),
        cmocka_unit_test(seeds_differ),
        cmocka_unit_test(list_ops),
    };
    return cmocka_run_group_tests_name("keymap", tests, NULL, NULL);
}
