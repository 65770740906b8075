/* log.c: one JSON object per line, escaping, levels, batching. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "log.h"

static char *text;
static size_t size;
static FILE *mem;

static int open_mem(void **state)
{
    (void)state;
    text = NULL;
    size = 0;
    mem = open_memstream(&text, &size);
    gw_log_open(mem, GW_LOG_INFO);
    return mem ? 0 : -1;
}

static int close_mem(void **state)
{
    (void)state;
    gw_log_set_batching(false);
    gw_log_open(NULL, GW_LOG_INFO);
    fclose(mem);
    free(text);
    return 0;
}

/* The n-th line (0-based) parsed as JSON. */
static json_t *line(int n)
{
    fflush(mem);
    const char *p = text;
    for (int i = 0; i < n && p; i++) {
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    if (!p || !*p)
        return NULL;
    const char *end = strchr(p, '\n');
    json_error_t je;
    return json_loadb(p, (size_t)(end - p), JSON_ALLOW_NUL, &je);
}

static void one_object_per_line(void **state)
{
    (void)state;
    gw_logline l;
    assert_true(gw_log_begin(&l, GW_LOG_INFO, "request"));
    gw_log_str(&l, "request_id", "abc");
    gw_log_int(&l, "status", 422);
    gw_log_uint(&l, "duration_us", 17);
    gw_log_bool(&l, "retried", true);
    gw_log_str(&l, "missing", NULL);
    gw_log_raw(&l, "list", "[1,2]", 5);
    gw_log_end(&l);
    gw_log_event(GW_LOG_WARN, "peer_connected", "peer %s", "X");
    json_t *a = line(0), *b = line(1);
    assert_non_null(a);
    assert_non_null(b);
    assert_null(line(2));
    assert_string_equal(json_string_value(json_object_get(a, "event")),
                        "request");
    assert_string_equal(json_string_value(json_object_get(a, "level")), "info");
    const char *ts = json_string_value(json_object_get(a, "ts"));
    assert_non_null(ts);
    assert_int_equal(strlen(ts), 27); /* 2025-01-02T03:04:05.123456Z */
    assert_int_equal(ts[26], 'Z');
    assert_int_equal(json_integer_value(json_object_get(a, "status")), 422);
    assert_true(json_is_true(json_object_get(a, "retried")));
    assert_null(json_object_get(a, "missing"));
    assert_int_equal(json_array_size(json_object_get(a, "list")), 2);
    assert_string_equal(json_string_value(json_object_get(b, "message")),
                        "peer X");
    assert_string_equal(json_string_value(json_object_get(b, "level")), "warn");
    json_decref(a);
    json_decref(b);
}

static void hostile_strings(void **state)
{
    (void)state;
    gw_logline l;
    static const char path[] = "/a\"b\\c\n\r\t\x01\x7f\xff\xc3\xa9}";
    assert_true(gw_log_begin(&l, GW_LOG_ERROR, "request"));
    gw_log_strn(&l, "path", path, sizeof(path) - 1);
    gw_log_strn(&l, "nul", "a\0b", 3);
    gw_log_end(&l);
    json_t *a = line(0);
    assert_non_null(a);
    assert_string_equal(json_string_value(json_object_get(a, "path")),
                        "/a\"b\\c\n\r\t\x01\x7f\xef\xbf\xbd\xc3\xa9}");
    assert_int_equal(json_string_length(json_object_get(a, "nul")), 3);
    json_decref(a);
    /* Exactly one newline: the line's end. */
    fflush(mem);
    assert_int_equal(strchr(text, '\n') - text + 1, (long)strlen(text));
}

static void levels_filter(void **state)
{
    (void)state;
    gw_logline l;
    assert_false(gw_log_begin(&l, GW_LOG_DEBUG, "chatter"));
    gw_log_str(&l, "x", "y"); /* a no-op on a filtered line */
    gw_log_event(GW_LOG_DEBUG, "chatter", "nothing");
    fflush(mem);
    assert_int_equal(size, 0);
    assert_true(gw_log_enabled(GW_LOG_ERROR));
    assert_false(gw_log_enabled(GW_LOG_DEBUG));
    assert_string_equal(gw_log_level_name(GW_LOG_WARN), "warn");
}

static void batching(void **state)
{
    (void)state;
    gw_log_set_batching(true);
    gw_log_event(GW_LOG_INFO, "one", "1");
    gw_log_event(GW_LOG_INFO, "two", "2");
    fflush(mem);
    assert_int_equal(size, 0); /* held until the loop's flush */
    gw_log_flush();
    fflush(mem);
    json_t *b = line(1);
    assert_non_null(b);
    assert_string_equal(json_string_value(json_object_get(b, "event")), "two");
    json_decref(b);
    gw_log_event(GW_LOG_INFO, "three", "3");
    gw_log_set_batching(false); /* flushes */
    json_t *c = line(2);
    assert_non_null(c);
    json_decref(c);
}

static void times(void **state)
{
    (void)state;
    char buf[40];
    gw_format_time_ms(0, buf, sizeof(buf));
    assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
    gw_format_time_ms(1700000000123, buf, sizeof(buf));
    assert_string_equal(buf, "2023-11-14T22:13:20.123Z");
    gw_format_time_ms(-1, buf, sizeof(buf));
    assert_string_equal(buf, "1969-12-31T23:59:59.999Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(one_object_per_line, open_mem,
                                        close_mem),
        cmocka_unit_test_setup_teardown(hostile_strings, open_mem, close_mem),
        cmocka_unit_test_setup_teardown(levels_filter, open_mem, close_mem),
        cmocka_unit_test_setup_teardown(batching, open_mem, close_mem),
        cmocka_unit_test(times),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
