/* linkreg.c: two entries with the same (actor, message) key stop node
 * startup, and the error names both places. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "actorlib.h"

static void noop(void *state, al_ctx *ctx, void *msg)
{
    (void)state;
    (void)ctx;
    (void)msg;
}

static int noop_decode(const uint8_t *b, size_t n, void *m, al_error *e)
{
    (void)b;
    (void)n;
    (void)m;
    (void)e;
    return 0;
}

static const al_actor_class dup_class = {.remote_id = "tests::Dup"};
static const al_message first = {
    .name = "A", .handle = noop, .decode = noop_decode};
static const al_message second = {
    .name = "B", .handle = noop, .decode = noop_decode};
enum { FIRST_LINE = __LINE__ };
AL_REMOTE_MESSAGE(dup_class, first, "11111111-1111-1111-1111-111111111111");
enum { SECOND_LINE = __LINE__ };
AL_REMOTE_MESSAGE(dup_class, second, "11111111-1111-1111-1111-111111111111");

static void duplicate_stops_startup(void **s)
{
    (void)s;
    al_node *n = NULL;
    al_error err = {0};
    assert_int_equal(al_node_new(&n, NULL, &err), AL_EDUPLICATE);
    assert_null(n);
    char a[64], b[64];
    snprintf(a, sizeof(a), "test_linkreg_dup.c:%d", FIRST_LINE + 1);
    snprintf(b, sizeof(b), "test_linkreg_dup.c:%d", SECOND_LINE + 1);
    assert_non_null(strstr(err.msg, a));
    assert_non_null(strstr(err.msg, b));
    assert_non_null(strstr(err.msg, "tests::Dup"));
    /* It keeps failing the same way; nothing half-built is used. */
    assert_int_equal(al_node_new(&n, NULL, &err), AL_EDUPLICATE);
    assert_null(
        al_registry_find("tests::Dup", "11111111-1111-1111-1111-111111111111"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(duplicate_stops_startup),
    };
    return cmocka_run_group_tests_name("linkreg_dup", tests, NULL, NULL);
}
