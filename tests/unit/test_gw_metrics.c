/* metrics.c: counters and the Prometheus text they render to. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"

static char *render(gw_metrics *m, const gw_metrics_snapshot *s)
{
    al_buf b = {0};
    assert_int_equal(gw_metrics_render(m, s, &b), 0);
    assert_int_equal(al_buf_append(&b, "", 1), 0);
    return (char *)b.data;
}

static void requests_and_histogram(void **state)
{
    (void)state;
    gw_metrics *m;
    assert_int_equal(gw_metrics_new(&m), 0);
    gw_metrics_request(m, GW_R_ASK, 200, 300000);     /* 0.3 ms */
    gw_metrics_request(m, GW_R_ASK, 200, 2000000);    /* 2 ms */
    gw_metrics_request(m, GW_R_ASK, 504, 5000000000); /* 5 s */
    gw_metrics_request(m, GW_R_HEALTHZ, 204, 1000);
    gw_metrics_request(m, (enum gw_route_id)999, 42, 1);
    assert_int_equal(gw_metrics_count(m, GW_R_ASK, 200), 2);
    assert_int_equal(gw_metrics_count(m, GW_R_NONE, 599), 1);
    gw_metrics_inflight(m, 3);
    gw_metrics_inflight(m, -1);
    assert_int_equal(gw_metrics_get_inflight(m), 2);
    gw_metrics_remote_error(m, AL_E_MAILBOX_FULL);
    gw_metrics_remote_error(m, AL_E_MAILBOX_FULL);
    gw_metrics_remote_error(m, AL_ETIMEDOUT);
    gw_metrics_remote_error(m, AL_EIO);
    gw_metrics_retry(m);
    gw_metrics_lookup(m);
    gw_metrics_lookup(m);
    gw_metrics_snapshot s = {.cache_hits = 7,
                             .cache_misses = 2,
                             .cache_stale = 1,
                             .peers = 4,
                             .ready = true};
    char *t = render(m, &s);
    static const char *const lines[] = {
        "actorgate_http_requests_total{route=\"ask\",status=\"200\"} 2\n",
        "actorgate_http_requests_total{route=\"ask\",status=\"504\"} 1\n",
        "actorgate_http_requests_total{route=\"healthz\",status=\"204\"} 1\n",
        "actorgate_http_request_duration_seconds_bucket{route=\"ask\","
        "le=\"0.0005\"} 1\n",
        "actorgate_http_request_duration_seconds_bucket{route=\"ask\","
        "le=\"0.0025\"} 2\n",
        "actorgate_http_request_duration_seconds_bucket{route=\"ask\","
        "le=\"2.5\"} 2\n",
        "actorgate_http_request_duration_seconds_bucket{route=\"ask\","
        "le=\"5\"} 3\n",
        "actorgate_http_request_duration_seconds_bucket{route=\"ask\","
        "le=\"+Inf\"} 3\n",
        "actorgate_http_request_duration_seconds_count{route=\"ask\"} 3\n",
        "actorgate_http_requests_in_flight 2\n",
        "actorgate_remote_errors_total{kind=\"MailboxFull\"} 2\n",
        "actorgate_remote_errors_total{kind=\"LookupTimeout\"} 1\n",
        "actorgate_remote_errors_total{kind=\"Other\"} 1\n",
        "actorgate_remote_errors_total{kind=\"ConnectionClosed\"} 0\n",
        "actorgate_remote_retries_total 1\n",
        "actorgate_name_lookups_total 2\n",
        "actorgate_name_cache_hits_total 7\n",
        "actorgate_name_cache_misses_total 3\n",
        "actorgate_swarm_peers 4\n",
        "actorgate_ready 1\n",
        "# TYPE actorgate_http_request_duration_seconds histogram\n",
    };
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
        if (!strstr(t, lines[i]))
            fail_msg("missing: %s", lines[i]);
    /* Routes never used have no series. */
    assert_null(strstr(t, "route=\"tell\""));
    free(t);
    gw_metrics_free(m);
}

static void every_line_is_well_formed(void **state)
{
    (void)state;
    gw_metrics *m;
    assert_int_equal(gw_metrics_new(&m), 0);
    for (int r = 0; r < GW_R__COUNT; r++)
        gw_metrics_request(m, (enum gw_route_id)r, 200, 1000);
    gw_metrics_snapshot s = {0};
    char *t = render(m, &s);
    for (char *l = t; *l;) {
        char *end = strchr(l, '\n');
        assert_non_null(end);
        if (*l != '#') {
            /* name{labels} value: one space before the value */
            char *sp = memchr(l, ' ', (size_t)(end - l));
            assert_non_null(sp);
            assert_true(strncmp(l, "actorgate_", 10) == 0);
            assert_null(memchr(sp + 1, ' ', (size_t)(end - sp - 1)));
        }
        l = end + 1;
    }
    free(t);
    gw_metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(requests_and_histogram),
        cmocka_unit_test(every_line_is_well_formed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
