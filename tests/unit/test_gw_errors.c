/* errors.c: the table, the remote-send mapping, the one error body. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "errors.h"

static void table_is_complete(void **state)
{
    (void)state;
    for (int i = 0; i < GW_E__COUNT; i++) {
        const gw_errinfo *e = gw_err_info((gw_err)i);
        assert_int_equal(e->id, i);
        assert_true(e->status >= 400 && e->status <= 599);
        assert_non_null(e->code);
        assert_true(strlen(e->when) > 10);
        assert_ptr_equal(gw_err_by_code(e->code), e);
        /* Retry-After goes with 429 and 503 (and the in-flight 409). */
        if (e->status == 429 || e->status == 503)
            assert_true(e->retry_after);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(gw_err_info((gw_err)j)->code, e->code);
    }
    assert_ptr_equal(gw_err_info((gw_err)999), gw_err_info(GW_E_INTERNAL));
    assert_null(gw_err_by_code("NOPE"));
    assert_null(gw_err_by_code(NULL));
}

static void issue_statuses(void **state)
{
    (void)state;
    /* The statuses the issue names. */
    assert_int_equal(gw_err_info(GW_E_BAD_JSON)->status, 400);
    assert_int_equal(gw_err_info(GW_E_ACTOR_NOT_FOUND)->status, 404);
    assert_int_equal(gw_err_info(GW_E_MESSAGE_NOT_FOUND)->status, 404);
    assert_int_equal(gw_err_info(GW_E_METHOD_NOT_ALLOWED)->status, 405);
    assert_int_equal(gw_err_info(GW_E_PAYLOAD_TOO_LARGE)->status, 413);
    assert_int_equal(gw_err_info(GW_E_UNSUPPORTED_MEDIA_TYPE)->status, 415);
    assert_int_equal(gw_err_info(GW_E_SCHEMA_VIOLATION)->status, 422);
    assert_int_equal(gw_err_info(GW_E_HANDLER_ERROR)->status, 422);
    assert_int_equal(gw_err_info(GW_E_MAILBOX_FULL)->status, 429);
    assert_true(gw_err_info(GW_E_MAILBOX_FULL)->retry_after);
    assert_int_equal(gw_err_info(GW_E_BAD_REPLY)->status, 502);
    assert_int_equal(gw_err_info(GW_E_PEER_UNREACHABLE)->status, 503);
    assert_int_equal(gw_err_info(GW_E_NOT_READY)->status, 503);
    assert_int_equal(gw_err_info(GW_E_REPLY_TIMEOUT)->status, 504);
    assert_int_equal(gw_err_info(GW_E_UNAUTHORIZED)->status, 401);
    assert_int_equal(gw_err_info(GW_E_FORBIDDEN)->status, 403);
}

static void every_variant_has_a_row(void **state)
{
    (void)state;
    for (int s = AL_E_ACTOR_NOT_RUNNING; s >= AL_E_BAD_REPLY; s--) {
        gw_remote_fail f = gw_err_from_status(s);
        /* Only the gateway's own encoding failure is its own fault. */
        if (s != AL_E_SERIALIZE_MESSAGE)
            assert_int_not_equal(f.err, GW_E_INTERNAL);
        /* Retrying is only safe when nothing ran. */
        if (f.retry_safe)
            assert_true(f.not_run);
    }
    gw_remote_fail f = gw_err_from_status(AL_E_DIAL_FAILURE);
    assert_true(f.retry_safe && f.evict && f.not_run);
    f = gw_err_from_status(AL_E_CONNECTION_CLOSED);
    assert_false(f.retry_safe);
    assert_true(f.evict);
    assert_false(f.not_run);
    assert_int_equal(f.err, GW_E_PEER_UNREACHABLE);
    f = gw_err_from_status(AL_E_NETWORK_TIMEOUT);
    assert_false(f.retry_safe);
    assert_int_equal(f.err, GW_E_REPLY_TIMEOUT);
    f = gw_err_from_status(AL_E_MAILBOX_FULL);
    assert_int_equal(f.err, GW_E_MAILBOX_FULL);
    assert_false(f.retry_safe);
    assert_true(f.not_run);
    f = gw_err_from_status(AL_E_UNKNOWN_ACTOR);
    assert_true(f.retry_safe);
    assert_int_equal(f.err, GW_E_ACTOR_NOT_FOUND);
    f = gw_err_from_status(AL_E_HANDLER_ERROR);
    assert_int_equal(f.err, GW_E_HANDLER_ERROR);
    assert_false(f.not_run);
    assert_int_equal(gw_err_from_status(AL_ENOTFOUND).err,
                     GW_E_ACTOR_NOT_FOUND);
    assert_int_equal(gw_err_from_status(AL_ETIMEDOUT).err, GW_E_LOOKUP_TIMEOUT);
    assert_int_equal(gw_err_from_status(AL_EIO).err, GW_E_INTERNAL);
}

static void body_shape(void **state)
{
    (void)state;
    size_t len = 0;
    json_t *details = json_pack("{s:s}", "pointer", "/amount");
    char *body = gw_err_body(GW_E_SCHEMA_VIOLATION, "at /amount: too big",
                             "rid-1", details, &len);
    assert_non_null(body);
    assert_int_equal(strlen(body), len);
    json_error_t je;
    json_t *v = json_loads(body, 0, &je);
    assert_non_null(v);
    json_t *e = json_object_get(v, "error");
    assert_int_equal(json_object_size(v), 1);
    assert_string_equal(json_string_value(json_object_get(e, "code")),
                        "SCHEMA_VIOLATION");
    assert_string_equal(json_string_value(json_object_get(e, "message")),
                        "at /amount: too big");
    assert_string_equal(json_string_value(json_object_get(e, "request_id")),
                        "rid-1");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(e, "details"), "pointer")),
                        "/amount");
    json_decref(v);
    free(body);
    /* Without details or request id, with the table's sentence. */
    body = gw_err_body(GW_E_NOT_FOUND, NULL, NULL, NULL, NULL);
    v = json_loads(body, 0, &je);
    e = json_object_get(v, "error");
    assert_null(json_object_get(e, "details"));
    assert_null(json_object_get(e, "request_id"));
    assert_string_equal(json_string_value(json_object_get(e, "message")),
                        gw_err_info(GW_E_NOT_FOUND)->when);
    json_decref(v);
    free(body);
    /* A hostile message stays one JSON string. */
    body = gw_err_body_code("40401", "a\"b\n}", "r", NULL, &len);
    v = json_loads(body, 0, &je);
    assert_non_null(v);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(v, "error"), "message")),
                        "a\"b\n}");
    json_decref(v);
    free(body);
}

static void markdown_lists_every_code(void **state)
{
    (void)state;
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    assert_non_null(f);
    gw_err_print_markdown(f);
    fclose(f);
    for (int i = 0; i < GW_E__COUNT; i++) {
        char cell[64];
        snprintf(cell, sizeof(cell), "| `%s` |", gw_err_info((gw_err)i)->code);
        assert_non_null(strstr(text, cell));
    }
    for (int s = AL_E_ACTOR_NOT_RUNNING; s >= AL_E_UNSUPPORTED_PROTOCOLS; s--) {
        char cell[64];
        snprintf(cell, sizeof(cell), "| %s |", al_status_name(s));
        assert_non_null(strstr(text, cell));
    }
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table_is_complete),
        cmocka_unit_test(issue_statuses),
        cmocka_unit_test(every_variant_has_a_row),
        cmocka_unit_test(body_shape),
        cmocka_unit_test(markdown_lists_every_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
