/* openapi.c: paths and schemas generated from the registry. (That the
 * document is valid OpenAPI 3.1 is checked by a real validator in
 * tests/integration/gateway_openapi.sh.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "app.h"
#include "registry.h"
#include "schemafile.h"

static gw_registry *counter_registry(void)
{
    gw_registry *r;
    assert_int_equal(gw_registry_new(&r), 0);
    gw_schemafile *f;
    gw_file_error ferr;
    assert_int_equal(gw_schemafile_load("schemas/counter.json", &f, &ferr), 0);
    gw_reg_error rerr;
    assert_int_equal(gw_registry_register_files(r, &f, 1, &rerr), 0);
    gw_schemafile_free(f);
    return r;
}

static void register_doc(gw_registry *r, const char *subject, const char *doc)
{
    gw_reg_error re;
    if (gw_registry_register(r, subject, doc, strlen(doc), NULL, &re))
        fail_msg("%s: %d %s", subject, re.code, re.message);
}

static json_t *path_op(json_t *doc, const char *path)
{
    return json_object_get(json_object_get(json_object_get(doc, "paths"), path),
                           "post");
}

static void counter_paths(void **state)
{
    (void)state;
    gw_registry *r = counter_registry();
    json_t *doc = gw_openapi_build(r, "9.9.9");
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "openapi")),
                        "3.1.0");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(doc, "info"), "version")),
                        "9.9.9");
    json_t *inc = path_op(doc, "/v1/actors/{name}/ask/Inc");
    assert_non_null(inc);
    assert_non_null(json_object_get(json_object_get(inc, "responses"), "200"));
    assert_non_null(json_object_get(json_object_get(inc, "responses"), "503"));
    json_t *log = path_op(doc, "/v1/actors/{name}/tell/LogMessage");
    assert_non_null(log);
    assert_non_null(json_object_get(json_object_get(log, "responses"), "202"));
    assert_null(path_op(doc, "/v1/actors/{name}/ask/LogMessage"));
    assert_null(path_op(doc, "/v1/actors/{name}/tell/Inc"));
    json_t *schemas =
        json_object_get(json_object_get(doc, "components"), "schemas");
    json_t *req = json_object_get(schemas, "remote__MyActor.Inc.request");
    assert_non_null(req);
    /* The subset's default made explicit, uint32 as bounds. */
    assert_true(json_is_false(json_object_get(req, "additionalProperties")));
    json_t *amount =
        json_object_get(json_object_get(req, "properties"), "amount");
    assert_int_equal(json_integer_value(json_object_get(amount, "maximum")),
                     4294967295LL);
    assert_int_equal(json_integer_value(json_object_get(amount, "minimum")), 0);
    assert_non_null(json_object_get(schemas, "remote__MyActor.TryDec.error"));
    assert_non_null(json_object_get(schemas, "Error"));
    /* Every $ref points at something that exists. */
    char *text = json_dumps(doc, JSON_COMPACT);
    for (char *p = strstr(text, "\"$ref\":\""); p;
         p = strstr(p + 1, "\"$ref\":\"")) {
        char target[600];
        const char *start = p + 8;
        const char *end = strchr(start, '"');
        snprintf(target, sizeof(target), "%.*s", (int)(end - start), start);
        assert_true(strncmp(target, "#/components/", 13) == 0);
        char *kind = target + 13;
        char *slash = strchr(kind, '/');
        *slash = 0;
        json_t *group =
            json_object_get(json_object_get(doc, "components"), kind);
        if (!json_object_get(group, slash + 1))
            fail_msg("dangling $ref %s/%s", kind, slash + 1);
    }
    free(text);
    json_decref(doc);
    gw_registry_free(r);
}

static void nullable_and_collisions(void **state)
{
    (void)state;
    gw_registry *r = counter_registry();
    /* Another actor type with a message also called Inc, and a nullable
     * field. */
    register_doc(r, "test::Other::Inc",
                 "{\"name\":\"Inc\",\"uuid\":\"11111111-2222-3333-4444-"
                 "555555555555\",\"kind\":\"ask\",\"request\":{\"type\":"
                 "\"object\",\"properties\":{\"note\":{\"type\":\"string\","
                 "\"nullable\":true}}},\"reply\":{\"type\":\"null\"}}");
    json_t *doc = gw_openapi_build(r, "1");
    assert_non_null(doc);
    /* The shared name gives way to the UUIDs. */
    assert_null(path_op(doc, "/v1/actors/{name}/ask/Inc"));
    assert_non_null(path_op(
        doc, "/v1/actors/{name}/ask/11111111-2222-3333-4444-555555555555"));
    assert_non_null(path_op(
        doc, "/v1/actors/{name}/ask/3b9128f1-0593-44a0-b83a-f4188baa05bf"));
    assert_non_null(path_op(doc, "/v1/actors/{name}/ask/Dec"));
    json_t *note = json_object_get(
        json_object_get(
            json_object_get(
                json_object_get(json_object_get(doc, "components"), "schemas"),
                "test__Other.Inc.request"),
            "properties"),
        "note");
    json_t *any = json_object_get(note, "anyOf");
    assert_int_equal(json_array_size(any), 2);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(any, 1), "type")),
        "null");
    assert_null(json_object_get(json_array_get(any, 0), "nullable"));
    json_decref(doc);
    gw_registry_free(r);
}

static void empty_registry(void **state)
{
    (void)state;
    gw_registry *r;
    assert_int_equal(gw_registry_new(&r), 0);
    json_t *doc = gw_openapi_build(r, "1");
    assert_non_null(doc);
    /* Only the public endpoints. */
    assert_int_equal(json_object_size(json_object_get(doc, "paths")), 4);
    json_decref(doc);
    gw_registry_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counter_paths),
        cmocka_unit_test(nullable_and_collisions),
        cmocka_unit_test(empty_registry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
