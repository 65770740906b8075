/* error.c and buf.c: names, sentences, bounded formatting, growth. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "actorlib.h"

static void names_match_kameo(void **state)
{
    (void)state;
    assert_string_equal(al_status_name(AL_E_MAILBOX_FULL), "MailboxFull");
    assert_string_equal(al_status_name(AL_E_ACTOR_NOT_RUNNING),
                        "ActorNotRunning");
    assert_string_equal(al_status_name(AL_E_UNSUPPORTED_PROTOCOLS),
                        "UnsupportedProtocols");
    assert_string_equal(al_status_name(12345), "EUNKNOWN");
    assert_string_equal(al_strerror(12345), "unknown error");
    assert_string_equal(al_strerror(AL_OK), "success");
}

static void error_set_truncates(void **state)
{
    (void)state;
    al_error err;
    char big[600];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    assert_int_equal(al_error_set(&err, AL_EINVAL, "%s", big), AL_EINVAL);
    assert_int_equal(err.code, AL_EINVAL);
    assert_int_equal(strlen(err.msg), AL_ERROR_MSG - 1);
    assert_int_equal(al_error_set(NULL, AL_EIO, "x"), AL_EIO);
}

static void buf_grows_and_resets(void **state)
{
    (void)state;
    al_buf b = {0};
    for (int i = 0; i < 1000; i++)
        assert_int_equal(al_buf_append(&b, &i, sizeof(i)), 0);
    assert_int_equal(b.len, 1000 * sizeof(int));
    assert_true(b.cap >= b.len);
    int v;
    memcpy(&v, b.data + 999 * sizeof(int), sizeof(v));
    assert_int_equal(v, 999);
    assert_int_equal(al_buf_append(&b, NULL, 0), 0);
    assert_int_equal(al_buf_reserve(&b, SIZE_MAX), AL_ENOMEM);
    al_buf_reset(&b);
    assert_int_equal(b.len, 0);
    al_buf_free(&b);
    assert_null(b.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names_match_kameo),
        cmocka_unit_test(error_set_truncates),
        cmocka_unit_test(buf_grows_and_resets),
    };
    return cmocka_run_group_tests_name("error", tests, NULL, NULL);
}
