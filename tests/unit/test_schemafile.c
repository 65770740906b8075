/* schemafile.c: the shipped counter schema, message documents, and bad
 * files (tests/data/schema/bad/) reported with file, line, pointer and
 * reason. Run from the repository root (make unit does). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "schemafile.h"

static void counter_file(void **state)
{
    (void)state;
    gw_schemafile *f;
    gw_file_error err;
    int rc = gw_schemafile_load("schemas/counter.json", &f, &err);
    if (rc)
        fail_msg("%s:%d: %s", err.file, err.line, err.reason);
    assert_string_equal(f->actor, "remote::MyActor");
    assert_int_equal(f->nmessages, 5);
    const gw_message *inc = f->messages[0];
    assert_string_equal(inc->name, "Inc");
    assert_string_equal(inc->uuid, "3b9128f1-0593-44a0-b83a-f4188baa05bf");
    assert_int_equal(inc->kind, GW_KIND_ASK);
    assert_non_null(inc->reply);
    assert_null(inc->error);
    assert_string_equal(f->messages[1]->uuid,
                        "20185b42-8645-47d2-8d65-2d1c68d26823");
    const gw_message *log = f->messages[2];
    assert_string_equal(log->name, "LogMessage");
    assert_int_equal(log->kind, GW_KIND_TELL);
    assert_null(log->reply);

    /* the seed's worked example, through the file's schema */
    json_t *req = json_loads("{\"amount\": 10}", 0, NULL);
    al_buf out = {0};
    assert_int_equal(gw_schema_json_to_msgpack(inc->request, req, &out, NULL),
                     0);
    const uint8_t want[] = {0x81, 0xa6, 'a', 'm', 'o', 'u', 'n', 't', 0x0a};
    assert_int_equal(out.len, sizeof(want));
    assert_memory_equal(out.data, want, sizeof(want));
    /* the reply: i64 */
    json_t *reply;
    const uint8_t r[] = {0xd0, 0x85}; /* -123 */
    assert_int_equal(gw_schema_msgpack_to_json(inc->reply, r, 2, &reply, NULL),
                     0);
    assert_int_equal(json_integer_value(reply), -123);
    json_decref(reply);
    json_decref(req);
    al_buf_free(&out);
    gw_schemafile_free(f);
}

static void good_file_normalizes_uuid(void **state)
{
    (void)state;
    gw_schemafile *f;
    gw_file_error err;
    int rc = gw_schemafile_load("tests/data/schema/good/shapes.json", &f, &err);
    if (rc)
        fail_msg("%s:%d: %s %s", err.file, err.line, err.pointer, err.reason);
    const gw_message *m = f->messages[0];
    assert_string_equal(m->uuid, "5f2d52f6-7a55-4b8a-9a43-0e2c7b1d9a11");
    assert_int_equal(m->kind, GW_KIND_BOTH);
    assert_non_null(m->error);
    assert_non_null(strstr(
        m->canonical, "\"uuid\":\"5f2d52f6-7a55-4b8a-9a43-0e2c7b1d9a11\""));
    json_t *req =
        json_loads("{\"shape\": {\"Square\": 2}, \"tags\": [\"a\"]}", 0, NULL);
    al_buf out = {0};
    assert_int_equal(gw_schema_json_to_msgpack(m->request, req, &out, NULL), 0);
    /* {"shape": {"Square": 2}, "tags": ["a"], "blob": nil} */
    const uint8_t want[] = {0x83, 0xa5, 's', 'h', 'a', 'p',  'e',  0x81,
                            0xa6, 'S',  'q', 'u', 'a', 'r',  'e',  0x02,
                            0xa4, 't',  'a', 'g', 's', 0x91, 0xa1, 'a',
                            0xa4, 'b',  'l', 'o', 'b', 0xc0};
    assert_int_equal(out.len, sizeof(want));
    assert_memory_equal(out.data, want, sizeof(want));
    al_buf_free(&out);
    json_decref(req);
    gw_schemafile_free(f);
}

struct bad_file {
    const char *file;
    int rc;
    int line;
    const char *pointer;
    const char *why;
};

static void bad_files(void **state)
{
    (void)state;
    static const struct bad_file bad[] = {
        {"syntax.json", AL_EINVAL, 4, "", "'}' expected"},
        {"keyword.json", AL_EINVAL, 11,
         "/messages/0/request/properties/text/pattern",
         "unsupported keyword 'pattern'"},
        {"uuid.json", AL_EINVAL, 6, "/messages/0/uuid", "8-4-4-4-12"},
        {"dup_uuid.json", AL_EDUPLICATE, 7, "/messages/1/uuid",
         "also used by /messages/0"},
        {"dup_name.json", AL_EDUPLICATE, 6, "/messages/1/name",
         "also used by /messages/0"},
        {"tell_reply.json", AL_EINVAL, 6, "/messages/0/reply",
         "a tell has no reply"},
        {"top_key.json", AL_EINVAL, 3, "/mesages", "unknown key 'mesages'"},
        {"optional.json", AL_EINVAL, 11,
         "/messages/0/request/properties/amount", "mark it nullable"},
        {"kind.json", AL_EINVAL, 5, "/messages/0/kind", "\"ask\", \"tell\""},
        {"dup_key.json", AL_EINVAL, 3, "", "duplicate object key"},
        {"actor.json", AL_EINVAL, 2, "/actor", "remote id"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char path[256];
        snprintf(path, sizeof(path), "tests/data/schema/bad/%s", bad[i].file);
        gw_schemafile *f = NULL;
        gw_file_error err;
        int rc = gw_schemafile_load(path, &f, &err);
        char line[1024];
        gw_file_error_format(&err, line, sizeof(line));
        if (rc != bad[i].rc || err.line != bad[i].line ||
            strcmp(err.pointer, bad[i].pointer) ||
            !strstr(err.reason, bad[i].why))
            fail_msg("%s: rc %d, %s", bad[i].file, rc, line);
        assert_null(f);
        assert_string_equal(err.file, path);
        assert_true(!strncmp(line, path, strlen(path)));
    }
}

static void missing_file(void **state)
{
    (void)state;
    gw_schemafile *f;
    gw_file_error err;
    assert_int_equal(
        gw_schemafile_load("tests/data/schema/nope.json", &f, &err), AL_EIO);
    assert_non_null(strstr(err.reason, "cannot open"));
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void directory(void **state)
{
    (void)state;
    char dir[] = "/tmp/gw-schemas-XXXXXX";
    assert_non_null(mkdtemp(dir));
    write_file(dir, "b.json",
               "{\"actor\": \"a::B\", \"messages\": [{\"name\": \"X\", "
               "\"uuid\": \"20185b42-8645-47d2-8d65-2d1c68d26823\", "
               "\"kind\": \"tell\", \"request\": {\"type\": \"null\"}}]}");
    write_file(dir, "a.json",
               "{\"actor\": \"a::A\", \"messages\": [{\"name\": \"X\", "
               "\"uuid\": \"20185b42-8645-47d2-8d65-2d1c68d26823\", "
               "\"kind\": \"tell\", \"request\": {\"type\": \"null\"}}]}");
    write_file(dir, "notes.txt", "not a schema");
    gw_schemafile **files;
    size_t n;
    gw_file_error err;
    int rc = gw_schemafile_load_dir(dir, &files, &n, &err);
    if (rc)
        fail_msg("%s: %s", err.file, err.reason);
    assert_int_equal(n, 2);
    assert_string_equal(files[0]->actor, "a::A"); /* name order */
    assert_string_equal(files[1]->actor, "a::B");
    gw_schemafile_free_all(files, n);

    /* the same uuid for the same actor in another file */
    write_file(dir, "c.json",
               "{\"actor\": \"a::A\", \"messages\": [{\"name\": \"Y\", "
               "\"uuid\": \"20185B42-8645-47d2-8d65-2d1c68d26823\", "
               "\"kind\": \"tell\", \"request\": {\"type\": \"null\"}}]}");
    assert_int_equal(gw_schemafile_load_dir(dir, &files, &n, &err),
                     AL_EDUPLICATE);
    assert_non_null(strstr(err.file, "c.json"));
    assert_non_null(strstr(err.reason, "a.json"));
    assert_string_equal(err.pointer, "/messages/0");

    /* a broken file stops the load and is named */
    write_file(dir, "c.json", "{\"actor\": \"a::C\",\n \"messages\": [}\n");
    assert_int_equal(gw_schemafile_load_dir(dir, &files, &n, &err), AL_EINVAL);
    assert_non_null(strstr(err.file, "c.json"));
    assert_int_equal(err.line, 2);

    const char *names[] = {"a.json", "b.json", "c.json", "notes.txt"};
    for (size_t i = 0; i < 4; i++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
    assert_int_equal(gw_schemafile_load_dir(dir, &files, &n, &err), AL_EIO);
}

static void message_documents(void **state)
{
    (void)state;
    static const char good[] =
        "{\"name\": \"Inc\", \"uuid\": \"3b9128f1-0593-44a0-b83a-"
        "f4188baa05bf\", \"kind\": \"ask\", \"request\": {\"type\": "
        "\"null\"}, \"reply\": {\"type\": \"integer\"}}";
    gw_message *m;
    gw_schema_error err;
    assert_int_equal(gw_message_parse(good, strlen(good), &m, &err), 0);
    assert_string_equal(m->canonical,
                        "{\"kind\":\"ask\",\"name\":\"Inc\",\"reply\":{"
                        "\"type\":\"integer\"},\"request\":{\"type\":"
                        "\"null\"},\"uuid\":\"3b9128f1-0593-44a0-b83a-"
                        "f4188baa05bf\"}");
    gw_message_free(m);
    static const struct {
        const char *text, *pointer, *why;
    } bad[] = {
        {"{\"name\": \"Inc\"", "", "line 1"},
        {"[]", "", "JSON object"},
        {"{\"name\": \"1nc\"}", "/name", "[A-Za-z_]"},
        {"{\"name\": \"Inc\", \"uuid\": 5}", "/uuid", "UUID"},
        {"{\"name\": \"Inc\", \"uuid\": \"3b9128f1x0593-44a0-b83a-"
         "f4188baa05bf\"}",
         "/uuid", "UUID"},
        {"{\"name\": \"Inc\", \"uuid\": \"3b9128f1-0593-44a0-b83a-"
         "f4188baa05bf\", \"kind\": \"ask\", \"request\": {\"type\": "
         "\"null\"}}",
         "", "missing 'reply'"},
        {"{\"name\": \"Inc\", \"uuid\": \"3b9128f1-0593-44a0-b83a-"
         "f4188baa05bf\", \"kind\": \"ask\", \"reply\": {\"type\": "
         "\"null\"}}",
         "", "missing 'request'"},
        {"{\"name\": \"Inc\", \"uuid\": \"3b9128f1-0593-44a0-b83a-"
         "f4188baa05bf\", \"kind\": \"ask\", \"request\": {\"type\": "
         "\"null\"}, \"reply\": {\"type\": \"nul\"}}",
         "/reply/type", "unknown type"},
        {"{\"name\": \"Inc\", \"uuid\": \"3b9128f1-0593-44a0-b83a-"
         "f4188baa05bf\", \"kind\": \"tell\", \"request\": {\"type\": "
         "\"null\"}, \"error\": {\"type\": \"null\"}}",
         "/error", "no handler error"},
        {"{\"name\": \"Inc\", \"version\": 2}", "/version",
         "unknown message key"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = gw_message_parse(bad[i].text, strlen(bad[i].text), &m, &err);
        if (rc != AL_EINVAL || strcmp(err.pointer, bad[i].pointer) ||
            !strstr(err.reason, bad[i].why))
            fail_msg("%s: rc %d at '%s': %s", bad[i].text, rc, err.pointer,
                     err.reason);
        assert_null(m);
    }
}

static void names_and_uuids(void **state)
{
    (void)state;
    char u[GW_UUID_LEN + 1];
    assert_int_equal(
        gw_uuid_normalize("3B9128F1-0593-44A0-B83A-F4188BAA05BF", 36, u), 0);
    assert_string_equal(u, "3b9128f1-0593-44a0-b83a-f4188baa05bf");
    assert_int_equal(
        gw_uuid_normalize("3b9128f10593-44a0-b83a-f4188baa05bf0", 36, u),
        AL_EINVAL);
    assert_int_equal(
        gw_uuid_normalize("3b9128f1-0593-44a0-b83a-f4188baa05bg", 36, u),
        AL_EINVAL);
    assert_int_equal(gw_uuid_normalize("3b9128f1", 8, u), AL_EINVAL);
    assert_true(gw_message_name_valid("Inc"));
    assert_true(gw_message_name_valid("_x1"));
    assert_false(gw_message_name_valid(""));
    assert_false(gw_message_name_valid("a::b"));
    assert_false(gw_message_name_valid("9a"));
    assert_true(gw_actor_id_valid("remote::MyActor"));
    assert_false(gw_actor_id_valid("my actor"));
    assert_false(gw_actor_id_valid(""));
}

static void locate(void **state)
{
    (void)state;
    static const char text[] = "{\n"
                               "  \"a\": [1, {\"b\\/c\": 2},\n"
                               "        {\"d~e\": {\"\\u00e9\": true}}],\n"
                               "  \"f\": \"x\"\n"
                               "}\n";
    int line, col;
    gw_json_locate(text, strlen(text), "", &line, &col);
    assert_int_equal(line, 1);
    assert_int_equal(col, 1);
    gw_json_locate(text, strlen(text), "/f", &line, &col);
    assert_int_equal(line, 4);
    assert_int_equal(col, 8);
    gw_json_locate(text, strlen(text), "/a/1/b~1c", &line, &col);
    assert_int_equal(line, 2);
    assert_int_equal(col, 21);
    gw_json_locate(text, strlen(text), "/a/2/d~0e/\xc3\xa9", &line, &col);
    assert_int_equal(line, 3);
    assert_int_equal(col, 28);
    /* deeper than the text: the deepest ancestor that exists */
    gw_json_locate(text, strlen(text), "/a/2/zz/q", &line, &col);
    assert_int_equal(line, 3);
    assert_int_equal(col, 9);
    gw_json_locate(text, strlen(text), "/a/9", &line, &col);
    assert_int_equal(line, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counter_file),
        cmocka_unit_test(good_file_normalizes_uuid),
        cmocka_unit_test(bad_files),
        cmocka_unit_test(missing_file),
        cmocka_unit_test(directory),
        cmocka_unit_test(message_documents),
        cmocka_unit_test(names_and_uuids),
        cmocka_unit_test(locate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
