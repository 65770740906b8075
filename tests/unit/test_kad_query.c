/* kad_query.c: the closest-peers iterator on its own: alpha requests in
 * flight, closest first, progress and stalling, termination once the k
 * closest answered or nobody is left, failures, the candidate bound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "actorlib.h"
#include "kad_query.h"
#include "kad_testutil.h"

static al__kad_key target;

static int cmp_peers(const void *a, const void *b)
{
    al__kad_key ka, kb;
    al__kad_key_peer(a, &ka);
    al__kad_key_peer(b, &kb);
    return al__kad_distance_cmp(&target, &ka, &kb);
}

/* n random peers sorted by distance to a random target. */
static void setup_peers(al_peer_id *p, size_t n, uint64_t seed)
{
    kt_seed(seed);
    uint64_t r = kt_rand();
    al__kad_key_hash((const uint8_t *)&r, sizeof(r), &target);
    for (size_t i = 0; i < n; i++)
        p[i] = kt_peer();
    qsort(p, n, sizeof(*p), cmp_peers);
}

static al_peer_id next_send(al__kad_iter *it)
{
    al__kad_qpeer *q = NULL;
    assert_int_equal(al__kad_iter_next(it, &q), AL__KI_SEND);
    assert_non_null(q);
    assert_int_equal(q->state, AL__KQ_WAITING);
    return q->peer;
}

static void expect(al__kad_iter *it, int want)
{
    al__kad_qpeer *q = (al__kad_qpeer *)1;
    assert_int_equal(al__kad_iter_next(it, &q), want);
    assert_null(q);
}

static void empty_finishes(void **state)
{
    (void)state;
    al__kad_iter it;
    al__kad_key t = {{0}};
    assert_int_equal(al__kad_iter_init(&it, &t, 0, 0), 0);
    assert_int_equal(it.k, AL__KAD_K);
    assert_int_equal(it.alpha, AL__KAD_ALPHA);
    expect(&it, AL__KI_FINISHED);
    assert_true(al__kad_iter_finished(&it));
    al__kad_qpeer *res[4];
    assert_int_equal(al__kad_iter_result(&it, res, 4), 0);
    al__kad_iter_free(&it);
}

static void alpha_closest_first(void **state)
{
    (void)state;
    al_peer_id p[10];
    setup_peers(p, 10, 3);
    al__kad_iter it;
    assert_int_equal(al__kad_iter_init(&it, &target, 20, 3), 0);
    /* Seeds in any order come out closest first. */
    for (int i = 9; i >= 0; i--)
        assert_true(al__kad_iter_add(&it, &p[i], NULL));
    assert_false(al__kad_iter_add(&it, &p[4], NULL));
    assert_int_equal(it.n, 10);
    for (int i = 0; i < 3; i++) {
        al_peer_id sent = next_send(&it);
        assert_true(al_peer_id_equal(&sent, &p[i]));
    }
    expect(&it, AL__KI_WAIT);
    assert_int_equal(it.num_waiting, 3);
    /* A failure frees a slot: the next closest goes out. */
    assert_true(al__kad_iter_on_failure(&it, &p[1]));
    assert_false(al__kad_iter_on_failure(&it, &p[1]));
    al_peer_id got = next_send(&it);
    assert_true(al_peer_id_equal(&got, &p[3]));
    expect(&it, AL__KI_WAIT);
    /* Answers from peers not asked are ignored. */
    assert_false(al__kad_iter_on_success(&it, &p[8], NULL, 0));
    al_peer_id stranger = kt_peer();
    assert_false(al__kad_iter_on_success(&it, &stranger, NULL, 0));
    al__kad_iter_free(&it);
}

static void finishes_when_k_closest_answered(void **state)
{
    (void)state;
    al_peer_id p[6];
    setup_peers(p, 6, 5);
    al__kad_iter it;
    assert_int_equal(al__kad_iter_init(&it, &target, 3, 3), 0);
    for (int i = 0; i < 6; i++)
        al__kad_iter_add(&it, &p[i], NULL);
    for (int i = 0; i < 3; i++) {
        al_peer_id got = next_send(&it);
        assert_true(al_peer_id_equal(&got, &p[i]));
    }
    /* Answered in reverse order, naming nobody new. While a closer peer
     * is out the lookup goes on (here it would ask p[3]); once the three
     * closest are in, it is over although p[3..5] were never asked. */
    for (int i = 2; i >= 0; i--)
        assert_true(al__kad_iter_on_success(&it, &p[i], NULL, 0));
    expect(&it, AL__KI_FINISHED);
    al__kad_qpeer *res[8];
    assert_int_equal(al__kad_iter_result(&it, res, 8), 3);
    for (int i = 0; i < 3; i++)
        assert_true(al_peer_id_equal(&res[i]->peer, &p[i]));
    assert_int_equal(al__kad_iter_succeeded(&it), 3);
    /* Done: further events change nothing. */
    assert_false(al__kad_iter_add(&it, &p[5], NULL));
    expect(&it, AL__KI_FINISHED);
    al__kad_iter_free(&it);
}

static void closer_peers_go_first(void **state)
{
    (void)state;
    al_peer_id p[12];
    setup_peers(p, 12, 9);
    al__kad_iter it;
    assert_int_equal(al__kad_iter_init(&it, &target, 4, 2), 0);
    /* We only know the far end. */
    for (int i = 8; i < 12; i++)
        al__kad_iter_add(&it, &p[i], NULL);
    al_peer_id a = next_send(&it), b = next_send(&it);
    assert_true(al_peer_id_equal(&a, &p[8]));
    assert_true(al_peer_id_equal(&b, &p[9]));
    expect(&it, AL__KI_WAIT);
    uint8_t addr[11];
    al__kad_addrs addrs = {0};
    al__kad_addrs_add(&addrs, addr, kt_addr(5, addr));
    al__kad_found f[3] = {{p[2], &addrs}, {p[0], NULL}, {p[9], NULL}};
    assert_true(al__kad_iter_on_success(&it, &p[8], f, 3));
    assert_int_equal(it.no_progress, 0);
    /* p[0] is now the closest candidate and goes out next, with the
     * address it came with. */
    al_peer_id c = next_send(&it);
    assert_true(al_peer_id_equal(&c, &p[0]));
    al__kad_qpeer *q = al__kad_iter_find(&it, &p[2]);
    assert_non_null(q);
    assert_int_equal(q->addrs.n, 1);
    assert_int_equal(q->state, AL__KQ_NEW);
    al__kad_addrs_free(&addrs);
    al__kad_iter_free(&it);
}

static void stalls_then_widens(void **state)
{
    (void)state;
    al_peer_id p[30];
    setup_peers(p, 30, 13);
    al__kad_iter it;
    assert_int_equal(al__kad_iter_init(&it, &target, 5, 2), 0);
    for (int i = 0; i < 30; i++)
        al__kad_iter_add(&it, &p[i], NULL);
    al_peer_id a = next_send(&it), b = next_send(&it);
    expect(&it, AL__KI_WAIT);
    /* Two answers without progress (alpha = 2): stalled. */
    al__kad_iter_on_success(&it, &a, NULL, 0);
    assert_int_equal(it.state, AL__KI_ITERATING);
    al__kad_iter_on_success(&it, &b, NULL, 0);
    assert_int_equal(it.state, AL__KI_STALLED);
    /* Stalled: up to k (5) in flight at once. */
    for (int i = 0; i < 3; i++)
        next_send(&it);
    assert_int_equal(it.num_waiting, 3);
    /* The three out are p[2..4]; with p[0..1] answered the k = 5 closest
     * are not all in yet. */
    al__kad_qpeer *q = NULL;
    int r = al__kad_iter_next(&it, &q);
    assert_int_equal(r, AL__KI_SEND);
    assert_int_equal(it.num_waiting, 4);
    al__kad_iter_free(&it);
}

static void ends_with_fewer_than_k(void **state)
{
    (void)state;
    al_peer_id p[4];
    setup_peers(p, 4, 17);
    al__kad_iter it;
    assert_int_equal(al__kad_iter_init(&it, &target, 20, 3), 0);
    for (int i = 0; i < 4; i++)
        al__kad_iter_add(&it, &p[i], NULL);
    al_peer_id s[4];
    for (int i = 0; i < 3; i++)
        s[i] = next_send(&it);
    al__kad_iter_on_failure(&it, &s[0]);
    s[3] = next_send(&it);
    al__kad_iter_on_success(&it, &s[1], NULL, 0);
    al__kad_iter_on_failure(&it, &s[2]);
    expect(&it, AL__KI_WAIT);
    al__kad_iter_on_success(&it, &s[3], NULL, 0);
    /* Nobody left to ask, nobody in flight: finished with two answers. */
    expect(&it, AL__KI_FINISHED);
    al__kad_qpeer *res[4];
    assert_int_equal(al__kad_iter_result(&it, res, 4), 2);
    al__kad_iter_free(&it);
}

static void candidates_bounded(void **state)
{
    (void)state;
    enum { N = AL__KAD_QUERY_PEERS + 72 };
    al_peer_id *p = calloc(N, sizeof(*p));
    setup_peers(p, N, 23);
    al__kad_iter it;
    assert_int_equal(al__kad_iter_init(&it, &target, 20, 3), 0);
    /* The farthest first, so that the closer ones must push them out. */
    al__kad_iter_add(&it, &p[N - 1], NULL);
    al_peer_id far = next_send(&it);
    for (size_t i = N - 1; i-- > 0;)
        al__kad_iter_add(&it, &p[i], NULL);
    assert_int_equal(it.n, AL__KAD_QUERY_PEERS);
    /* The closest ones are kept, plus the farthest: it is in flight. */
    for (size_t i = 0; i < AL__KAD_QUERY_PEERS - 1; i++)
        assert_true(al_peer_id_equal(&it.peers[i].peer, &p[i]));
    assert_true(
        al_peer_id_equal(&it.peers[AL__KAD_QUERY_PEERS - 1].peer, &far));
    /* Full of closer peers: a farther newcomer is refused. */
    assert_false(al__kad_iter_add(&it, &p[N - 2], NULL));
    assert_true(al__kad_iter_on_success(&it, &far, NULL, 0));
    free(p);
    al__kad_iter_free(&it);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_finishes),
        cmocka_unit_test(alpha_closest_first),
        cmocka_unit_test(finishes_when_k_closest_answered),
        cmocka_unit_test(closer_peers_go_first),
        cmocka_unit_test(stalls_then_widens),
        cmocka_unit_test(ends_with_fewer_than_k),
        cmocka_unit_test(candidates_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
