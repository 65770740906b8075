/* routes.c: matching, methods, percent-decoding, name rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "routes.h"

static gw_route rt;

static int parse(const char *method, const char *path)
{
    return gw_route_parse(method, path, strlen(path), &rt);
}

static void public_routes(void **state)
{
    (void)state;
    assert_int_equal(parse("GET", "/healthz"), 0);
    assert_int_equal(rt.id, GW_R_HEALTHZ);
    assert_false(rt.admin);
    assert_false(rt.has_body);
    assert_int_equal(parse("HEAD", "/readyz"), 0);
    assert_int_equal(rt.id, GW_R_READYZ);
    assert_int_equal(parse("GET", "/metrics"), 0);
    assert_int_equal(rt.id, GW_R_METRICS);
    assert_int_equal(parse("GET", "/openapi.json"), 0);
    assert_int_equal(rt.id, GW_R_OPENAPI);
    assert_string_equal(gw_route_label(GW_R_OPENAPI), "openapi");
}

static void ask_and_tell(void **state)
{
    (void)state;
    assert_int_equal(parse("POST", "/v1/actors/my_actor/ask/Inc"), 0);
    assert_int_equal(rt.id, GW_R_ASK);
    assert_true(rt.has_body);
    assert_string_equal(rt.p1, "my_actor");
    assert_int_equal(rt.p1_len, 8);
    assert_string_equal(rt.p2, "Inc");
    assert_int_equal(
        parse("POST", "/v1/actors/a/tell/3B9128F1-0593-44a0-b83a-f4188baa05bf"),
        0);
    assert_int_equal(rt.id, GW_R_TELL);
    assert_string_equal(rt.p2, "3B9128F1-0593-44a0-b83a-f4188baa05bf");
}

static void method_not_allowed(void **state)
{
    (void)state;
    char allow[64];
    assert_int_not_equal(parse("GET", "/v1/actors/a/ask/Inc"), 0);
    assert_int_equal(rt.fail, GW_RF_METHOD);
    assert_int_equal(rt.id, GW_R_ASK);
    assert_string_equal(gw_allow_header(rt.allow, allow, sizeof(allow)),
                        "POST");
    assert_int_not_equal(parse("POST", "/healthz"), 0);
    assert_int_equal(rt.fail, GW_RF_METHOD);
    assert_string_equal(gw_allow_header(rt.allow, allow, sizeof(allow)),
                        "GET, HEAD");
    assert_int_not_equal(parse("PATCH", "/admin/config"), 0);
    assert_int_equal(rt.fail, GW_RF_METHOD);
    assert_string_equal(gw_allow_header(rt.allow, allow, sizeof(allow)),
                        "GET, HEAD, PUT");
    assert_int_equal(gw_method_bit("BREW"), GW_M_OTHER);
    assert_int_equal(gw_method_bit(NULL), GW_M_OTHER);
}

static void not_found(void **state)
{
    (void)state;
    static const char *const paths[] = {
        "",
        "healthz",
        "/",
        "/healthz/",
        "//healthz",
        "/v1/actors/a/ask",
        "/v1/actors/a/ask/Inc/more",
        "/v1/actors//ask/Inc",
        "/v1/actors/a/call/Inc",
        "/%68ealthz", /* literals are compared as sent */
        "/a/b/c/d/e/f/g/h/i",
        "/admin",
    };
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        assert_int_not_equal(parse("POST", paths[i]), 0);
        assert_int_equal(rt.fail, GW_RF_NOT_FOUND);
    }
}

static void percent_decoding(void **state)
{
    (void)state;
    /* %2F inside a segment is a slash in the name, not a separator. */
    assert_int_equal(parse("POST", "/v1/actors/a%2Fb%20c/ask/Inc"), 0);
    assert_string_equal(rt.p1, "a/b c");
    assert_int_equal(parse("POST", "/v1/actors/caf%C3%A9/ask/Inc"), 0);
    assert_string_equal(rt.p1, "caf\xc3\xa9");
    assert_int_equal(parse("POST", "/v1/actors/a+b/ask/Inc"), 0);
    assert_string_equal(rt.p1, "a+b");
    static const char *const bad[] = {
        "/v1/actors/a%2/ask/Inc",       "/v1/actors/a%/ask/Inc",
        "/v1/actors/a%zz/ask/Inc",      "/v1/actors/a%00b/ask/Inc",
        "/v1/actors/a%0Ab/ask/Inc",     "/v1/actors/%C3/ask/Inc",
        "/v1/actors/%ED%A0%80/ask/Inc", /* a UTF-16 surrogate */
        "/v1/actors/%C0%AF/ask/Inc",    /* overlong */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_not_equal(parse("POST", bad[i]), 0);
        assert_int_equal(rt.fail, GW_RF_BAD_SEGMENT);
    }
    char out[8];
    assert_int_equal(gw_percent_decode("abc", 3, out, sizeof(out)), 3);
    assert_int_equal(gw_percent_decode("abcdefgh", 8, out, sizeof(out)),
                     GW_DECODE_TOO_LONG);
    assert_int_equal(gw_percent_decode("%41", 3, out, sizeof(out)), 1);
    assert_string_equal(out, "A");
    assert_int_equal(gw_percent_decode("", 0, out, 0), -1);
}

static void actor_names(void **state)
{
    (void)state;
    char name[300];
    memset(name, 'n', sizeof(name));
    assert_true(gw_actor_name_valid(name, 255));
    assert_false(gw_actor_name_valid(name, 256));
    assert_false(gw_actor_name_valid(name, 0));
    assert_false(gw_actor_name_valid("a\x7f", 2));
    assert_false(gw_actor_name_valid("\xff", 1));
    char path[400];
    snprintf(path, sizeof(path), "/v1/actors/%.256s/ask/Inc", name);
    assert_int_not_equal(parse("POST", path), 0);
    assert_int_equal(rt.fail, GW_RF_BAD_ACTOR_NAME);
    /* The same rule for the admin name cache routes. */
    assert_int_not_equal(parse("DELETE", "/admin/actors/%7F"), 0);
    assert_int_equal(rt.fail, GW_RF_BAD_SEGMENT);
}

static void message_refs(void **state)
{
    (void)state;
    assert_true(gw_message_ref_valid("Inc", 3));
    assert_true(gw_message_ref_valid("_x9", 3));
    assert_false(gw_message_ref_valid("9x", 2));
    assert_false(gw_message_ref_valid("a-b", 3));
    assert_false(gw_message_ref_valid("", 0));
    assert_true(
        gw_message_ref_valid("3b9128f1-0593-44a0-b83a-f4188baa05bf", 36));
    assert_false(
        gw_message_ref_valid("3b9128f1-0593-44a0-b83a-f4188baa05bg", 36));
    assert_false(
        gw_looks_like_uuid("3b9128f1x0593-44a0-b83a-f4188baa05bf", 36));
    char longname[200];
    memset(longname, 'a', sizeof(longname));
    assert_true(gw_message_ref_valid(longname, 128));
    assert_false(gw_message_ref_valid(longname, 129));
    assert_int_not_equal(parse("POST", "/v1/actors/a/ask/not-a-name"), 0);
    assert_int_equal(rt.fail, GW_RF_MESSAGE_NOT_FOUND);
}

static void admin_routes(void **state)
{
    (void)state;
    static const struct {
        const char *method, *path;
        enum gw_route_id id;
        const char *p1, *p2;
        bool body;
    } cases[] = {
        {"GET", "/admin/info", GW_R_ADMIN_INFO, "", "", false},
        {"GET", "/admin/peers", GW_R_ADMIN_PEERS, "", "", false},
        {"POST", "/admin/reload", GW_R_ADMIN_RELOAD, "", "", false},
        {"GET", "/admin/actors", GW_R_ADMIN_ACTORS, "", "", false},
        {"DELETE", "/admin/actors/my_actor", GW_R_ADMIN_ACTOR, "my_actor", "",
         false},
        {"POST", "/admin/actors/x/resolve", GW_R_ADMIN_ACTOR_RESOLVE, "x", "",
         false},
        {"GET", "/admin/subjects", GW_R_ADMIN_SUBJECTS, "", "", false},
        {"POST", "/admin/subjects/remote::MyActor::Inc", GW_R_ADMIN_SUBJECT,
         "remote::MyActor::Inc", "", true},
        {"DELETE", "/admin/subjects/s", GW_R_ADMIN_SUBJECT, "s", "", false},
        {"POST", "/admin/subjects/s/versions", GW_R_ADMIN_SUBJECT_VERSIONS, "s",
         "", true},
        {"GET", "/admin/subjects/s/versions", GW_R_ADMIN_SUBJECT_VERSIONS, "s",
         "", false},
        {"GET", "/admin/subjects/s/versions/latest", GW_R_ADMIN_SUBJECT_VERSION,
         "s", "latest", false},
        {"GET", "/admin/subjects/s/versions/2/schema",
         GW_R_ADMIN_SUBJECT_VERSION_SCHEMA, "s", "2", false},
        {"GET", "/admin/schemas/types", GW_R_ADMIN_SCHEMA_TYPES, "", "", false},
        {"GET", "/admin/schemas/ids/7", GW_R_ADMIN_SCHEMA_ID, "7", "", false},
        {"GET", "/admin/schemas/ids/7/versions", GW_R_ADMIN_SCHEMA_ID_VERSIONS,
         "7", "", false},
        {"GET", "/admin/schemas/uuids/u", GW_R_ADMIN_SCHEMA_UUID, "u", "",
         false},
        {"POST", "/admin/compatibility/subjects/s/versions", GW_R_ADMIN_COMPAT,
         "s", "", true},
        {"POST", "/admin/compatibility/subjects/s/versions/latest",
         GW_R_ADMIN_COMPAT_VERSION, "s", "latest", true},
        {"PUT", "/admin/config", GW_R_ADMIN_CONFIG, "", "", true},
        {"GET", "/admin/config", GW_R_ADMIN_CONFIG, "", "", false},
        {"DELETE", "/admin/config/s", GW_R_ADMIN_CONFIG_SUBJECT, "s", "",
         false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(parse(cases[i].method, cases[i].path), 0);
        assert_int_equal(rt.id, cases[i].id);
        assert_true(rt.admin);
        assert_string_equal(rt.p1, cases[i].p1);
        assert_string_equal(rt.p2, cases[i].p2);
        assert_int_equal(rt.has_body, cases[i].body);
        assert_string_not_equal(gw_route_label(rt.id), "none");
    }
}

static void long_paths(void **state)
{
    (void)state;
    static char path[GW_PATH_MAX + 64];
    memset(path, 'a', sizeof(path));
    path[0] = '/';
    assert_int_not_equal(gw_route_parse("GET", path, sizeof(path), &rt), 0);
    assert_int_equal(rt.fail, GW_RF_TOO_LONG);
    /* A parameter decoding to more than GW_ROUTE_PARAM_MAX bytes. */
    static char big[GW_ROUTE_PARAM_MAX + 100];
    memcpy(big, "/admin/subjects/", 16);
    memset(big + 16, 'b', GW_ROUTE_PARAM_MAX + 10);
    assert_int_not_equal(
        gw_route_parse("DELETE", big, 16 + GW_ROUTE_PARAM_MAX + 10, &rt), 0);
    assert_int_equal(rt.fail, GW_RF_TOO_LONG);
    assert_int_equal(
        gw_route_parse("DELETE", big, 16 + GW_ROUTE_PARAM_MAX, &rt), 0);
    assert_int_equal(rt.p1_len, GW_ROUTE_PARAM_MAX);
    /* An actor name of 256 bytes fits a parameter, not the name rules. */
    static char name[300];
    memcpy(name, "/v1/actors/", 11);
    memset(name + 11, 'n', 256);
    memcpy(name + 11 + 256, "/ask/Inc", 8);
    assert_int_not_equal(gw_route_parse("POST", name, 11 + 256 + 8, &rt), 0);
    assert_int_equal(rt.fail, GW_RF_BAD_ACTOR_NAME);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(public_routes),      cmocka_unit_test(ask_and_tell),
        cmocka_unit_test(method_not_allowed), cmocka_unit_test(not_found),
        cmocka_unit_test(percent_decoding),   cmocka_unit_test(actor_names),
        cmocka_unit_test(message_refs),       cmocka_unit_test(admin_routes),
        cmocka_unit_test(long_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
