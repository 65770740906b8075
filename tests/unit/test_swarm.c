/* swarm.c, ping.c, identify.c: two or more nodes on threads over
 * 127.0.0.1 with port 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "swarm_harness.h"

static bool identified_both(void *arg)
{
    tnode **t = arg;
    return tn_get(t[0], &t[0]->identified) >= 1 &&
           tn_get(t[1], &t[1]->identified) >= 1;
}

static void connect_ping_identify(void **state)
{
    (void)state;
    tnode a, b;
    assert_int_equal(tn_start(&a, NULL, "/ip4/127.0.0.1/udp/0/quic-v1"), 0);
    assert_int_equal(tn_start(&b, NULL, NULL), 0);
    assert_non_null(strstr(a.addr, "/p2p/12D3KooW"));
    dial_args d;
    assert_int_equal(tn_dial(&b, a.addr, &d), 0);
    assert_true(al_peer_id_equal(&d.peer, &a.id));
    for (int i = 0; i < 3; i++) {
        uint64_t rtt = 0;
        assert_int_equal(tn_ping(&b, &a.id, &rtt), 0);
        assert_true(rtt > 0);
    }
    tnode *both[2] = {&a, &b};
    assert_true(wait_until(identified_both, both, DEADLINE_MS));
    assert_string_equal(a.last_agent, "actorlib/" AL_VERSION);
    peers_args p;
    assert_int_equal(tn_peers(&b, &p), 1);
    assert_true(al_peer_id_equal(&p.info[0].id, &a.id));
    assert_true(p.info[0].outbound);
    assert_true(p.info[0].rtt_us > 0);
    assert_string_equal(p.info[0].agent, "actorlib/" AL_VERSION);
    assert_int_equal(tn_get(&a, &a.connected), 1);
    assert_int_equal(tn_get(&b, &b.connected), 1);
    tn_stop(&b);
    tn_stop(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(connect_ping_identify),
    };
    return cmocka_run_group_tests_name("swarm", tests, NULL, NULL);
}
