/* linkreg.c: entries from a static archive (libcounter.a) are found by
 * (actor remote id, message remote id); unknown ids are not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "actorlib.h"
#include "counter.h"
#include "linkreg.h"

/* A second actor type defined in this file, next to the archive's. */
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

static const al_actor_class local_class = {.remote_id = "tests::Local"};
static const al_message ping_msg = {
    .name = "Ping", .handle = noop, .decode = noop_decode};
AL_REMOTE_ACTOR(local_class);
/* Same message id as the counter's Inc, but another actor: no clash. */
AL_REMOTE_MESSAGE(local_class, ping_msg, COUNTER_INC_ID);

static void finds_archive_entries(void **s)
{
    (void)s;
    al_node *n = NULL;
    al_error err;
    assert_int_equal(al_node_new(&n, NULL, &err), 0);
    const al_remote_message_entry *e =
        al_registry_find(COUNTER_REMOTE_ID, COUNTER_INC_ID);
    assert_non_null(e);
    assert_ptr_equal(e->msg, &counter_inc);
    assert_ptr_equal(e->cls, &counter_class);
    assert_non_null(strstr(e->file, "counter.c"));
    e = al_registry_find(COUNTER_REMOTE_ID, COUNTER_LOG_ID);
    assert_non_null(e);
    assert_string_equal(e->msg->name, "LogMessage");
    assert_non_null(al_registry_find_actor(COUNTER_REMOTE_ID));
    assert_true(al__registry_count() >= 6);
    al_node_free(n);
}

static void same_message_id_other_actor(void **s)
{
    (void)s;
    const al_remote_message_entry *e =
        al_registry_find("tests::Local", COUNTER_INC_ID);
    assert_non_null(e);
    assert_ptr_equal(e->msg, &ping_msg);
    assert_ptr_equal(al_registry_find_actor("tests::Local")->cls, &local_class);
}

static void unknown_ids(void **s)
{
    (void)s;
    assert_null(al_registry_find(COUNTER_REMOTE_ID, "no-such-message"));
    assert_null(al_registry_find("remote::Other", COUNTER_INC_ID));
    assert_null(al_registry_find(NULL, COUNTER_INC_ID));
    assert_null(al_registry_find_actor("remote::Other"));
    /* Keys are compared whole: no prefix matches. */
    assert_null(al_registry_find("remote::MyActo", COUNTER_INC_ID));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(finds_archive_entries),
        cmocka_unit_test(same_message_id_other_actor),
        cmocka_unit_test(unknown_ids),
    };
    return cmocka_run_group_tests_name("linkreg", tests, NULL, NULL);
}
