/* idempotency.c: miss, replay, conflict, in flight, expiry, bounds, and
 * answers that survive a restart through a real database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sqlite3.h>

#include "idempotency.h"
#include "tmpdir.h"

static int64_t fake_now;

static int64_t fake_clock(void *ud)
{
    (void)ud;
    return fake_now;
}

static gw_idem *table(int64_t ttl, uint32_t max_entries, size_t max_bytes,
                      size_t max_resp, gw_store *store)
{
    gw_idem_opts o = {.ttl_ms = ttl,
                      .max_entries = max_entries,
                      .max_bytes = max_bytes,
                      .max_response_bytes = max_resp,
                      .store = store,
                      .clock = fake_clock};
    gw_idem *t = NULL;
    al_error err = {0};
    assert_int_equal(gw_idem_new(&t, &o, &err), 0);
    return t;
}

static void fp_of(const char *body, uint8_t fp[GW_IDEM_FP_LEN])
{
    assert_int_equal(gw_idem_fingerprint("POST", "/v1/actors/c/ask/inc", body,
                                         strlen(body), fp),
                     0);
}

static void unhex(const char *hex, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

/* Expected digests from Python's hashlib over the same bytes:
 * sha256(b'POST\0/v1/actors/counter/ask/inc\0{"amount":10}'),
 * sha256(b'GET\0/\0'). */
static void fingerprint_vectors(void **state)
{
    (void)state;
    uint8_t fp[GW_IDEM_FP_LEN], want[GW_IDEM_FP_LEN];
    const char *body = "{\"amount\":10}";
    assert_int_equal(gw_idem_fingerprint("POST", "/v1/actors/counter/ask/inc",
                                         body, strlen(body), fp),
                     0);
    unhex("cdeaa1703a88ad12215a040e8b5320d2f0c548dd112c2ba93f50e01cbfc216ab",
          want, sizeof(want));
    assert_memory_equal(fp, want, sizeof(want));
    assert_int_equal(gw_idem_fingerprint("GET", "/", NULL, 0, fp), 0);
    unhex("19fb856f52074c83ad846d55cca99520ef8e16fc483079093cc491a6ddc3dae2",
          want, sizeof(want));
    assert_memory_equal(fp, want, sizeof(want));
    /* The separators matter: moving a byte between parts changes it. */
    uint8_t a[GW_IDEM_FP_LEN], b[GW_IDEM_FP_LEN];
    assert_int_equal(gw_idem_fingerprint("POST", "/ab", "c", 1, a), 0);
    assert_int_equal(gw_idem_fingerprint("POST", "/a", "bc", 2, b), 0);
    assert_memory_not_equal(a, b, sizeof(a));
    assert_int_equal(gw_idem_fingerprint(NULL, "/", NULL, 0, a), AL_EINVAL);
    assert_int_equal(gw_idem_fingerprint("GET", "/", NULL, 3, a), AL_EINVAL);
}

static void miss_in_flight_replay(void **state)
{
    (void)state;
    fake_now = 1000;
    gw_idem *t = table(0, 0, 0, 0, NULL);
    uint8_t fp[GW_IDEM_FP_LEN];
    fp_of("{\"amount\":1}", fp);
    const gw_idem_response *r = (void *)1;
    assert_int_equal(gw_idem_check(t, "k1", fp, &r), GW_IDEM_MISS);
    assert_null(r);
    /* The same request again while the first still runs. */
    assert_int_equal(gw_idem_check(t, "k1", fp, &r), GW_IDEM_IN_FLIGHT);
    assert_null(r);
    const char *hdr = "Content-Type: application/json\r\n";
    const uint8_t body[] = {'4', '2', 0, 0xff};
    fake_now = 1500;
    assert_int_equal(
        gw_idem_complete(t, "k1", 200, hdr, strlen(hdr), body, sizeof(body)),
        0);
    assert_int_equal(gw_idem_check(t, "k1", fp, &r), GW_IDEM_REPLAY);
    assert_non_null(r);
    assert_int_equal(r->status, 200);
    assert_int_equal(r->headers_len, strlen(hdr));
    assert_string_equal(r->headers, hdr);
    assert_int_equal(r->body_len, sizeof(body));
    assert_memory_equal(r->body, body, sizeof(body));
    assert_int_equal(r->created_at_ms, 1000);
    assert_int_equal(r->expires_at_ms, 1500 + 86400000LL); /* 24 h */
    /* An empty answer is an answer too. */
    assert_int_equal(gw_idem_check(t, "k2", fp, &r), GW_IDEM_MISS);
    assert_int_equal(gw_idem_complete(t, "k2", 202, NULL, 0, NULL, 0), 0);
    assert_int_equal(gw_idem_check(t, "k2", fp, &r), GW_IDEM_REPLAY);
    assert_int_equal(r->status, 202);
    assert_int_equal(r->body_len, 0);
    assert_string_equal(r->headers, "");
    gw_idem_stats st;
    gw_idem_get_stats(t, &st);
    assert_int_equal(st.misses, 2);
    assert_int_equal(st.in_flight, 1);
    assert_int_equal(st.replays, 2);
    assert_int_equal(st.completed, 2);
    assert_int_equal(st.entries, 2);
    assert_int_equal(st.reserved, 0);
    gw_idem_free(t);
}

static void conflict_on_another_request(void **state)
{
    (void)state;
    fake_now = 0;
    gw_idem *t = table(0, 0, 0, 0, NULL);
    uint8_t fp1[GW_IDEM_FP_LEN], fp2[GW_IDEM_FP_LEN], fp3[GW_IDEM_FP_LEN];
    fp_of("{\"amount\":1}", fp1);
    fp_of("{\"amount\":2}", fp2);
    assert_int_equal(gw_idem_fingerprint("POST", "/v1/actors/c/tell/inc",
                                         "{\"amount\":1}", 12, fp3),
                     0);
    const gw_idem_response *r = NULL;
    assert_int_equal(gw_idem_check(t, "k", fp1, &r), GW_IDEM_MISS);
    assert_int_equal(gw_idem_check(t, "k", fp2, &r), GW_IDEM_CONFLICT);
    assert_int_equal(gw_idem_complete(t, "k", 200, NULL, 0, "1", 1), 0);
    assert_int_equal(gw_idem_check(t, "k", fp2, &r), GW_IDEM_CONFLICT);
    assert_null(r);
    assert_int_equal(gw_idem_check(t, "k", fp3, &r), GW_IDEM_CONFLICT);
    assert_int_equal(gw_idem_check(t, "k", fp1, &r), GW_IDEM_REPLAY);
    gw_idem_stats st;
    gw_idem_get_stats(t, &st);
    assert_int_equal(st.conflicts, 3);
    gw_idem_free(t);
}

static void abort_releases_the_key(void **state)
{
    (void)state;
    fake_now = 0;
    gw_idem *t = table(0, 0, 0, 0, NULL);
    uint8_t fp[GW_IDEM_FP_LEN];
    fp_of("x", fp);
    const gw_idem_response *r = NULL;
    assert_int_equal(gw_idem_check(t, "k", fp, &r), GW_IDEM_MISS);
    assert_int_equal(gw_idem_abort(t, "k"), 0);
    assert_int_equal(gw_idem_abort(t, "k"), AL_ENOTFOUND);
    assert_int_equal(gw_idem_check(t, "k", fp, &r), GW_IDEM_MISS);
    assert_int_equal(gw_idem_complete(t, "k", 200, NULL, 0, NULL, 0), 0);
    assert_int_equal(gw_idem_abort(t, "k"), AL_ESTATE);
    assert_int_equal(gw_idem_complete(t, "k", 200, NULL, 0, NULL, 0),
                     AL_ESTATE);
    assert_int_equal(gw_idem_complete(t, "other", 200, NULL, 0, NULL, 0),
                     AL_ENOTFOUND);
    gw_idem_free(t);
}

static void bad_arguments(void **state)
{
    (void)state;
    gw_idem *t = table(0, 0, 0, 0, NULL);
    uint8_t fp[GW_IDEM_FP_LEN] = {0};
    const gw_idem_response *r = NULL;
    char long_key[GW_IDEM_KEY_MAX + 2];
    memset(long_key, 'k', sizeof(long_key) - 1);
    long_key[sizeof(long_key) - 1] = '\0';
    assert_int_equal(gw_idem_check(t, "", fp, &r), AL_EINVAL);
    assert_int_equal(gw_idem_check(t, NULL, fp, &r), AL_EINVAL);
    assert_int_equal(gw_idem_check(t, long_key, fp, &r), AL_EINVAL);
    assert_int_equal(gw_idem_check(t, "a\nb", fp, &r), AL_EINVAL);
    assert_int_equal(gw_idem_check(t, "caf\xc3\xa9", fp, &r), AL_EINVAL);
    long_key[GW_IDEM_KEY_MAX] = '\0';
    assert_int_equal(gw_idem_check(t, long_key, fp, &r), GW_IDEM_MISS);
    assert_int_equal(gw_idem_check(t, "with space", fp, &r), GW_IDEM_MISS);
    assert_int_equal(gw_idem_complete(t, "with space", 99, NULL, 0, NULL, 0),
                     AL_EINVAL);
    assert_int_equal(gw_idem_complete(t, "with space", 200, "a\0b", 3, NULL, 0),
                     AL_EINVAL);
    assert_int_equal(gw_idem_complete(t, "with space", 200, NULL, 1, NULL, 0),
                     AL_EINVAL);
    /* Still reserved after the refusals. */
    assert_int_equal(gw_idem_check(t, "with space", fp, &r), GW_IDEM_IN_FLIGHT);
    al_error err = {0};
    assert_int_equal(gw_idem_load(t, &err), AL_ESTATE);
    gw_idem_free(t);
}

static void answers_expire(void **state)
{
    (void)state;
    fake_now = 0;
    gw_idem *t = table(1000, 0, 0, 0, NULL);
    uint8_t fp[GW_IDEM_FP_LEN];
    fp_of("x", fp);
    const gw_idem_response *r = NULL;
    assert_int_equal(gw_idem_check(t, "a", fp, &r), GW_IDEM_MISS);
    assert_int_equal(gw_idem_complete(t, "a", 200, NULL, 0, "A", 1), 0);
    assert_int_equal(gw_idem_check(t, "b", fp, &r), GW_IDEM_MISS);
    fake_now = 999;
    assert_int_equal(gw_idem_check(t, "a", fp, &r), GW_IDEM_REPLAY);
    fake_now = 1000;
    /* After the TTL the key is new again. */
    assert_int_equal(gw_idem_check(t, "a", fp, &r), GW_IDEM_MISS);
    /* The reservation of b expired too: the sweep takes it. */
    assert_int_equal(gw_idem_sweep(t), 1);
    assert_int_equal(gw_idem_complete(t, "b", 200, NULL, 0, NULL, 0),
                     AL_ENOTFOUND);
    fake_now = 2000;
    assert_int_equal(gw_idem_sweep(t), 1); /* the new reservation of a */
    gw_idem_stats st;
    gw_idem_get_stats(t, &st);
    assert_int_equal(st.entries, 0);
    assert_int_equal(st.reserved, 0);
    assert_int_equal(st.bytes, 0);
    assert_int_equal(st.expired, 3);
    gw_idem_free(t);
}

static void bounded_by_count(void **state)
{
    (void)state;
    fake_now = 0;
    gw_idem *t = table(0, 3, 0, 0, NULL);
    uint8_t fp[GW_IDEM_FP_LEN];
    fp_of("x", fp);
    const gw_idem_response *r = NULL;
    const char *keys[] = {"k1", "k2", "k3"};
    for (int i = 0; i < 3; i++) {
        fake_now += 10;
        assert_int_equal(gw_idem_check(t, keys[i], fp, &r), GW_IDEM_MISS);
        assert_int_equal(gw_idem_complete(t, keys[i], 200, NULL, 0, NULL, 0),
                         0);
    }
    /* k4 pushes out the oldest answer, k1. */
    assert_int_equal(gw_idem_check(t, "k4", fp, &r), GW_IDEM_MISS);
    assert_int_equal(gw_idem_check(t, "k2", fp, &r), GW_IDEM_REPLAY);
    /* Each new reservation pushes out the oldest answer left. */
    assert_int_equal(gw_idem_check(t, "k1", fp, &r), GW_IDEM_MISS); /* k2 */
    assert_int_equal(gw_idem_check(t, "k2", fp, &r), GW_IDEM_MISS); /* k3 */
    /* Only reservations left: no room is made from them. */
    assert_int_equal(gw_idem_check(t, "k5", fp, &r), AL_ELIMIT);
    assert_int_equal(gw_idem_abort(t, "k4"), 0);
    assert_int_equal(gw_idem_check(t, "k5", fp, &r), GW_IDEM_MISS);
    gw_idem_stats st;
    gw_idem_get_stats(t, &st);
    assert_int_equal(st.entries, 3);
    assert_int_equal(st.reserved, 3);
    assert_int_equal(st.bound_evictions, 3);
    gw_idem_free(t);
}

static void bounded_by_bytes(void **state)
{
    (void)state;
    fake_now = 0;
    /* Room for about two 3000-byte answers and their bookkeeping. */
    gw_idem *t = table(0, 0, 7000, 4000, NULL);
    uint8_t fp[GW_IDEM_FP_LEN];
    fp_of("x", fp);
    static uint8_t big[4001];
    memset(big, 'b', sizeof(big));
    const gw_idem_response *r = NULL;
    const char *keys[] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(gw_idem_check(t, keys[i], fp, &r), GW_IDEM_MISS);
        assert_int_equal(gw_idem_complete(t, keys[i], 200, NULL, 0, big, 3000),
                         0);
        gw_idem_stats st;
        gw_idem_get_stats(t, &st);
        assert_true(st.bytes <= 7000);
    }
    assert_int_equal(gw_idem_check(t, "a", fp, &r), GW_IDEM_MISS);
    assert_int_equal(gw_idem_abort(t, "a"), 0);
    assert_int_equal(gw_idem_check(t, "c", fp, &r), GW_IDEM_REPLAY);
    /* One answer larger than max_response_bytes is not kept. */
    assert_int_equal(gw_idem_check(t, "huge", fp, &r), GW_IDEM_MISS);
    assert_int_equal(gw_idem_complete(t, "huge", 200, "h", 1, big, 4000),
                     AL_ELIMIT);
    assert_int_equal(gw_idem_check(t, "huge", fp, &r), GW_IDEM_MISS);
    gw_idem_stats st;
    gw_idem_get_stats(t, &st);
    assert_int_equal(st.too_large, 1);
    gw_idem_free(t);
}

/* ------------------------------------------------------------ with a db */

static int64_t count_rows(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static gw_store *open_store(const char *path)
{
    gw_store_opts o = {.path = path};
    gw_store *s = NULL;
    al_error err = {0};
    if (gw_store_open(&s, &o, &err) != 0)
        fail_msg("open: %s", err.msg);
    return s;
}

static void survives_restart(void **state)
{
    (void)state;
    char dir[256], path[300];
    assert_int_equal(tmpdir_make(dir, sizeof(dir)), 0);
    snprintf(path, sizeof(path), "%s/gw.db", dir);
    uint8_t fp[GW_IDEM_FP_LEN], other[GW_IDEM_FP_LEN];
    fp_of("{\"amount\":1}", fp);
    fp_of("{\"amount\":2}", other);
    const uint8_t body[] = {'{', '}', 0, 1, 2, 0xff};
    const char *hdr = "Content-Type: application/json\r\nX-Request-Id: 7\r\n";
    const gw_idem_response *r = NULL;

    fake_now = 100000;
    gw_store *s = open_store(path);
    gw_idem *t = table(60000, 0, 0, 0, s);
    assert_int_equal(gw_idem_check(t, "done", fp, &r), GW_IDEM_MISS);
    assert_int_equal(
        gw_idem_complete(t, "done", 422, hdr, strlen(hdr), body, sizeof(body)),
        0);
    assert_int_equal(gw_idem_check(t, "short", fp, &r), GW_IDEM_MISS);
    assert_int_equal(gw_idem_check(t, "running", fp, &r), GW_IDEM_MISS);
    fake_now = 100000 - 50000; /* so that "short" expires before "done" */
    assert_int_equal(gw_idem_complete(t, "short", 200, NULL, 0, NULL, 0), 0);
    gw_idem_free(t);
    assert_int_equal(gw_store_close(s), 0);
    /* Reservations are not written. */
    assert_int_equal(count_rows(path, "SELECT count(*) FROM idempotency"), 2);

    fake_now = 100000 + 30000; /* short expired at 110000, done lives */
    s = open_store(path);
    t = table(60000, 0, 0, 0, s);
    al_error err = {0};
    assert_int_equal(gw_idem_load(t, &err), 0);
    assert_int_equal(gw_idem_check(t, "done", fp, &r), GW_IDEM_REPLAY);
    assert_int_equal(r->status, 422);
    assert_string_equal(r->headers, hdr);
    assert_int_equal(r->body_len, sizeof(body));
    assert_memory_equal(r->body, body, sizeof(body));
    assert_int_equal(r->created_at_ms, 100000);
    assert_int_equal(r->expires_at_ms, 160000);
    assert_int_equal(gw_idem_check(t, "done", other, &r), GW_IDEM_CONFLICT);
    assert_int_equal(gw_idem_check(t, "running", fp, &r), GW_IDEM_MISS);
    assert_int_equal(gw_idem_check(t, "short", fp, &r), GW_IDEM_MISS);
    gw_idem_free(t);
    assert_int_equal(gw_store_close(s), 0);
    /* The load purged the expired row. */
    assert_int_equal(count_rows(path, "SELECT count(*) FROM idempotency"), 1);

    /* Answers dropped for room leave the database too; the sweep purges. */
    fake_now = 200000;
    s = open_store(path);
    t = table(60000, 1, 0, 0, s);
    assert_int_equal(gw_idem_load(t, &err), 0); /* "done" expired: 160000 */
    assert_int_equal(gw_idem_check(t, "n1", fp, &r), GW_IDEM_MISS);
    assert_int_equal(gw_idem_complete(t, "n1", 200, NULL, 0, NULL, 0), 0);
    assert_int_equal(gw_idem_check(t, "n2", fp, &r), GW_IDEM_MISS);
    assert_int_equal(gw_idem_complete(t, "n2", 200, NULL, 0, NULL, 0), 0);
    assert_int_equal(gw_store_flush_sync(s), 0);
    assert_int_equal(count_rows(path, "SELECT count(*) FROM idempotency "
                                      "WHERE key = 'n1'"),
                     0);
    fake_now = 300000;
    assert_int_equal(gw_idem_sweep(t), 1);
    gw_idem_free(t);
    assert_int_equal(gw_store_close(s), 0);
    assert_int_equal(count_rows(path, "SELECT count(*) FROM idempotency"), 0);
    tmpdir_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fingerprint_vectors),
        cmocka_unit_test(miss_in_flight_replay),
        cmocka_unit_test(conflict_on_another_request),
        cmocka_unit_test(abort_releases_the_key),
        cmocka_unit_test(bad_arguments),
        cmocka_unit_test(answers_expire),
        cmocka_unit_test(bounded_by_count),
        cmocka_unit_test(bounded_by_bytes),
        cmocka_unit_test(survives_restart),
    };
    return cmocka_run_group_tests_name("idempotency", tests, NULL, NULL);
}
