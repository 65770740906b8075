/* registry.c: versions, idempotency, every compatibility level with passing
 * and failing changes, soft deletes, configuration, the change hook,
 * restoring, and the hot-path lookup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "registry.h"

#define INC_UUID "3b9128f1-0593-44a0-b83a-f4188baa05bf"
#define SUBJ     "remote::MyActor::Inc"

static const char amount_u32[] =
    "{\"type\": \"object\", \"properties\": {\"amount\": {\"type\": "
    "\"integer\", \"format\": \"uint32\"}}, \"required\": [\"amount\"]}";
static const char amount_u8[] =
    "{\"type\": \"object\", \"properties\": {\"amount\": {\"type\": "
    "\"integer\", \"format\": \"uint8\"}}, \"required\": [\"amount\"]}";
static const char amount_i64[] =
    "{\"type\": \"object\", \"properties\": {\"amount\": {\"type\": "
    "\"integer\", \"format\": \"int64\"}}, \"required\": [\"amount\"]}";
/* + an optional field */
static const char amount_note[] =
    "{\"type\": \"object\", \"properties\": {\"amount\": {\"type\": "
    "\"integer\", \"format\": \"uint32\"}, \"note\": {\"type\": "
    "[\"string\", \"null\"]}}, \"required\": [\"amount\"]}";
/* + a required field */
static const char amount_step[] =
    "{\"type\": \"object\", \"properties\": {\"amount\": {\"type\": "
    "\"integer\", \"format\": \"uint32\"}, \"step\": {\"type\": "
    "\"integer\"}}, \"required\": [\"amount\", \"step\"]}";

static const char i64_reply[] =
    "{\"type\": \"integer\", \"format\": \"int64\"}";

/* A message document for Inc. */
static const char *inc(const char *kind, const char *request, const char *reply)
{
    static char buf[32][2048];
    static int next;
    char *b = buf[next++ % 32];
    if (reply)
        snprintf(b, sizeof(buf[0]),
                 "{\"name\": \"Inc\", \"uuid\": \"" INC_UUID "\", \"kind\": "
                 "\"%s\", \"request\": %s, \"reply\": %s}",
                 kind, request, reply);
    else
        snprintf(b, sizeof(buf[0]),
                 "{\"name\": \"Inc\", \"uuid\": \"" INC_UUID "\", \"kind\": "
                 "\"%s\", \"request\": %s}",
                 kind, request);
    return b;
}

static int reg(gw_registry *r, const char *text, gw_version_info *v,
               gw_reg_error *err)
{
    return gw_registry_register(r, SUBJ, text, strlen(text), v, err);
}

static gw_registry *fresh(void)
{
    gw_registry *r;
    assert_int_equal(gw_registry_new(&r), 0);
    return r;
}

static void versions_and_idempotency(void **state)
{
    (void)state;
    gw_registry *r = fresh();
    gw_version_info v;
    gw_reg_error err;
    assert_int_equal(reg(r, inc("ask", amount_u32, i64_reply), &v, &err), 0);
    assert_int_equal(v.version, 1);
    assert_int_equal(v.id, 1);
    assert_string_equal(v.subject, SUBJ);
    assert_string_equal(v.actor, "remote::MyActor");
    /* the same document, keys reordered: same version, same id */
    const char *again =
        "{\"kind\": \"ask\", \"reply\": {\"format\": \"int64\", \"type\": "
        "\"integer\"}, \"request\": {\"required\": [\"amount\"], \"type\": "
        "\"object\", \"properties\": {\"amount\": {\"format\": \"uint32\", "
        "\"type\": \"integer\"}}}, \"name\": \"Inc\", "
        "\"uuid\": \"3B9128F1-0593-44A0-B83A-F4188BAA05BF\"}";
    assert_int_equal(reg(r, again, &v, &err), 0);
    assert_int_equal(v.version, 1);
    assert_int_equal(v.id, 1);
    assert_int_equal(reg(r, inc("ask", amount_note, i64_reply), &v, &err), 0);
    assert_int_equal(v.version, 2);
    assert_int_equal(v.id, 2);
    json_t *vs;
    assert_int_equal(gw_registry_versions(r, SUBJ, false, &vs, &err), 0);
    assert_int_equal(json_array_size(vs), 2);
    assert_int_equal(json_integer_value(json_array_get(vs, 1)), 2);
    json_decref(vs);
    json_t *subjects = gw_registry_subjects(r, false);
    assert_int_equal(json_array_size(subjects), 1);
    assert_string_equal(json_string_value(json_array_get(subjects, 0)), SUBJ);
    json_decref(subjects);
    /* get by version, latest, -1 */
    assert_int_equal(gw_registry_get(r, SUBJ, "1", false, &v, &err), 0);
    assert_int_equal(v.version, 1);
    assert_int_equal(gw_registry_get(r, SUBJ, "latest", false, &v, &err), 0);
    assert_int_equal(v.version, 2);
    assert_int_equal(gw_registry_get(r, SUBJ, "-1", false, &v, &err), 0);
    assert_int_equal(v.version, 2);
    json_t *j = gw_version_json(&v);
    assert_string_equal(json_string_value(json_object_get(j, "schemaType")),
                        "JSON");
    assert_int_equal(json_integer_value(json_object_get(j, "id")), 2);
    assert_string_equal(json_string_value(json_object_get(j, "schema")),
                        v.message->canonical);
    json_decref(j);
    assert_int_equal(gw_registry_get(r, SUBJ, "3", false, &v, &err),
                     AL_ENOTFOUND);
    assert_int_equal(err.code, GW_REG_VERSION_NOT_FOUND);
    assert_int_equal(gw_registry_get(r, SUBJ, "0", false, &v, &err), AL_EINVAL);
    assert_int_equal(err.code, GW_REG_INVALID_VERSION);
    assert_int_equal(gw_registry_get(r, SUBJ, "x1", false, &v, &err),
                     AL_EINVAL);
    assert_int_equal(err.code, GW_REG_INVALID_VERSION);
    assert_int_equal(
        gw_registry_get(r, "remote::MyActor::Dec", "1", false, &v, &err),
        AL_ENOTFOUND);
    assert_int_equal(err.code, GW_REG_SUBJECT_NOT_FOUND);
    /* POST /subjects/{s}: lookup */
    const char *d1 = inc("ask", amount_u32, i64_reply);
    assert_int_equal(
        gw_registry_lookup_schema(r, SUBJ, d1, strlen(d1), &v, &err), 0);
    assert_int_equal(v.version, 1);
    const char *d3 = inc("ask", amount_i64, i64_reply);
    assert_int_equal(
        gw_registry_lookup_schema(r, SUBJ, d3, strlen(d3), &v, &err),
        AL_ENOTFOUND);
    assert_int_equal(err.code, GW_REG_SCHEMA_NOT_FOUND);
    /* ids */
    const char *text;
    assert_int_equal(gw_registry_get_by_id(r, 1, &text, &err), 0);
    assert_non_null(strstr(text, "\"uint32\""));
    assert_int_equal(gw_registry_get_by_id(r, 9, &text, &err), AL_ENOTFOUND);
    assert_int_equal(err.code, GW_REG_SCHEMA_NOT_FOUND);
    gw_registry_free(r);
}

static void hot_path_lookup(void **state)
{
    (void)state;
    gw_registry *r = fresh();
    assert_int_equal(reg(r, inc("ask", amount_u32, i64_reply), NULL, NULL), 0);
    gw_version_info v;
    const gw_message *m = gw_registry_find(r, "remote::MyActor", "Inc", &v);
    assert_non_null(m);
    assert_string_equal(m->uuid, INC_UUID);
    assert_int_equal(v.version, 1);
    assert_ptr_equal(gw_registry_find(r, "remote::MyActor", INC_UUID, NULL), m);
    assert_ptr_equal(gw_registry_find(r, "remote::MyActor",
                                      "3B9128F1-0593-44A0-B83A-F4188BAA05BF",
                                      NULL),
                     m);
    assert_null(gw_registry_find(r, "remote::MyActor", "Dec", NULL));
    assert_null(gw_registry_find(r, "remote::Other", "Inc", NULL));
    assert_null(gw_registry_find(r, "remote::Other", INC_UUID, NULL));
    assert_null(gw_registry_find(r, "remote::MyActo", "rInc", NULL));
    assert_null(gw_registry_find(r, NULL, "Inc", NULL));
    /* many subjects: the tables grow and every one is still found */
    for (int i = 0; i < 300; i++) {
        char subject[64], doc[512];
        snprintf(subject, sizeof(subject), "a%d::M%d", i % 7, i);
        snprintf(doc, sizeof(doc),
                 "{\"name\": \"M%d\", \"uuid\": "
                 "\"00000000-0000-4000-8000-%012d\", \"kind\": \"tell\", "
                 "\"request\": {\"type\": \"null\"}}",
                 i, i);
        gw_reg_error err;
        if (gw_registry_register(r, subject, doc, strlen(doc), NULL, &err))
            fail_msg("%s: %s", subject, err.message);
    }
    for (int i = 0; i < 300; i++) {
        char actor[16], name[16], uuid[40];
        snprintf(actor, sizeof(actor), "a%d", i % 7);
        snprintf(name, sizeof(name), "M%d", i);
        snprintf(uuid, sizeof(uuid), "00000000-0000-4000-8000-%012d", i);
        const gw_message *a = gw_registry_find(r, actor, name, NULL);
        assert_non_null(a);
        assert_ptr_equal(gw_registry_find(r, actor, uuid, NULL), a);
        assert_string_equal(a->name, name);
    }
    assert_ptr_equal(gw_registry_find(r, "remote::MyActor", "Inc", NULL), m);
    gw_registry_free(r);
}

/* Registers `from` then checks `to` at `level` without registering, then
 * registers it; returns whether it was compatible, and checks that the
 * check and the registration agree. */
static bool change(const char *level, const char *from, const char *to,
                   const char *why)
{
    gw_registry *r = fresh();
    gw_reg_error err;
    assert_int_equal(gw_registry_set_config(r, SUBJ, level, &err), 0);
    assert_int_equal(reg(r, from, NULL, &err), 0);
    bool ok;
    json_t *msgs = json_array();
    assert_int_equal(
        gw_registry_check(r, SUBJ, NULL, to, strlen(to), &ok, msgs, &err), 0);
    assert_int_equal(ok, json_array_size(msgs) == 0);
    if (why) {
        bool found = false;
        for (size_t i = 0; i < json_array_size(msgs); i++)
            found |= !!strstr(json_string_value(json_array_get(msgs, i)), why);
        if (!found)
            fail_msg("%s: no message with '%s'", level, why);
    }
    json_decref(msgs);
    gw_version_info v;
    int rc = reg(r, to, &v, &err);
    if (ok) {
        assert_int_equal(rc, 0);
        assert_int_equal(v.version, 2);
    } else {
        assert_int_equal(rc, AL_EINVAL);
        assert_int_equal(err.code, GW_REG_INCOMPATIBLE);
        assert_non_null(strstr(err.message, "incompatible"));
        if (why)
            assert_non_null(strstr(err.message, why));
        assert_int_equal(gw_registry_get(r, SUBJ, "latest", false, &v, &err),
                         0);
        assert_int_equal(v.version, 1);
    }
    gw_registry_free(r);
    return ok;
}

static void backward(void **state)
{
    (void)state;
    const char *v1 = inc("ask", amount_u32, i64_reply);
    assert_true(
        change("BACKWARD", v1, inc("ask", amount_note, i64_reply), NULL));
    assert_false(change("BACKWARD", v1, inc("ask", amount_step, i64_reply),
                        "BACKWARD /request/step: reader requires property"));
    assert_false(change("BACKWARD", v1, inc("ask", amount_u8, i64_reply),
                        "BACKWARD /request/amount: writer's integers"));
    assert_true(
        change("BACKWARD", v1, inc("ask", amount_i64, i64_reply), NULL));
    assert_true(
        change("BACKWARD", v1, inc("both", amount_u32, i64_reply), NULL));
    assert_false(change("BACKWARD", inc("both", amount_u32, i64_reply),
                        inc("ask", amount_u32, i64_reply), "/kind"));
    /* the reply: the gateway reads old actors' replies with the new one */
    assert_false(change("BACKWARD", v1,
                        inc("ask", amount_u32,
                            "{\"type\": \"integer\", \"format\": "
                            "\"int32\"}"),
                        "BACKWARD /reply"));
    /* a description changes nothing that matters */
    char described[2048];
    snprintf(described, sizeof(described), "%.*s, \"description\": \"d\"}",
             (int)strlen(v1) - 1, v1);
    assert_true(change("BACKWARD", v1, described, NULL));
}

static void forward(void **state)
{
    (void)state;
    const char *v1 = inc("ask", amount_note, i64_reply);
    /* old readers reject the new data: narrowing passes, widening fails */
    assert_true(change("FORWARD", inc("ask", amount_u32, i64_reply),
                       inc("ask", amount_u8, i64_reply), NULL));
    assert_false(change("FORWARD", inc("ask", amount_u32, i64_reply),
                        inc("ask", amount_i64, i64_reply),
                        "FORWARD /request/amount"));
    /* removing an optional field: old readers still accept new data */
    assert_true(change("FORWARD", v1, inc("ask", amount_u32, i64_reply), NULL));
    /* adding a field: old closed readers reject it */
    assert_false(change("FORWARD", inc("ask", amount_u32, i64_reply), v1,
                        "FORWARD /request/note: reader has no property"));
}

static void full_and_none(void **state)
{
    (void)state;
    const char *v1 = inc("ask", amount_u32, i64_reply);
    assert_false(
        change("FULL", v1, inc("ask", amount_i64, i64_reply), "FORWARD"));
    assert_false(
        change("FULL", v1, inc("ask", amount_u8, i64_reply), "BACKWARD"));
    assert_false(change("FULL", v1, inc("ask", amount_note, i64_reply),
                        "FORWARD /request/note"));
    assert_true(change("FULL", v1,
                       inc("ask", amount_u32,
                           "{\"type\": "
                           "\"integer\"}"),
                       NULL));
    assert_true(change("NONE", v1, inc("tell", amount_step, NULL), NULL));
}

static void transitive(void **state)
{
    (void)state;
    /* v1 u8 -> v2 u32 (optional note) -> v3 drops note: BACKWARD against
     * the latest passes, BACKWARD_TRANSITIVE also checks v1 */
    for (int t = 0; t < 2; t++) {
        gw_registry *r = fresh();
        gw_reg_error err;
        assert_int_equal(
            gw_registry_set_config(r, NULL,
                                   t ? "FORWARD_TRANSITIVE" : "FORWARD", &err),
            0);
        assert_int_equal(reg(r, inc("ask", amount_i64, i64_reply), NULL, &err),
                         0);
        assert_int_equal(reg(r, inc("ask", amount_u32, i64_reply), NULL, &err),
                         0);
        /* v3 narrows further: fine against both */
        assert_int_equal(reg(r, inc("ask", amount_u8, i64_reply), NULL, &err),
                         0);
        /* v4 widens back to uint32: FORWARD vs v3 fails either way */
        assert_int_equal(reg(r, inc("ask", amount_u32, i64_reply), NULL, &err),
                         0); /* identical to v2: idempotent, no check */
        gw_registry_free(r);
    }
    gw_registry *r = fresh();
    gw_reg_error err;
    assert_int_equal(
        gw_registry_set_config(r, SUBJ, "BACKWARD_TRANSITIVE", &err), 0);
    assert_int_equal(reg(r, inc("ask", amount_u8, i64_reply), NULL, &err), 0);
    assert_int_equal(reg(r, inc("ask", amount_note, i64_reply), NULL, &err), 0);
    /* drops the optional note: v2 data has it, closed v3 rejects */
    assert_int_equal(reg(r, inc("ask", amount_u32, i64_reply), NULL, &err),
                     AL_EINVAL);
    assert_int_equal(err.code, GW_REG_INCOMPATIBLE);
    /* against v1 alone it would pass */
    bool ok;
    const char *t = inc("ask", amount_u32, i64_reply);
    assert_int_equal(
        gw_registry_check(r, SUBJ, "1", t, strlen(t), &ok, NULL, &err), 0);
    assert_true(ok);
    assert_int_equal(
        gw_registry_check(r, SUBJ, "latest", t, strlen(t), &ok, NULL, &err), 0);
    assert_false(ok);
    gw_registry_free(r);
}

static void check_errors(void **state)
{
    (void)state;
    gw_registry *r = fresh();
    gw_reg_error err;
    bool ok = false;
    const char *t = inc("ask", amount_u32, i64_reply);
    /* no subject yet: compatible when not naming a version */
    assert_int_equal(
        gw_registry_check(r, SUBJ, NULL, t, strlen(t), &ok, NULL, &err), 0);
    assert_true(ok);
    assert_int_equal(
        gw_registry_check(r, SUBJ, "latest", t, strlen(t), &ok, NULL, &err),
        AL_ENOTFOUND);
    assert_int_equal(err.code, GW_REG_SUBJECT_NOT_FOUND);
    assert_int_equal(reg(r, t, NULL, &err), 0);
    assert_int_equal(
        gw_registry_check(r, SUBJ, "7", t, strlen(t), &ok, NULL, &err),
        AL_ENOTFOUND);
    assert_int_equal(err.code, GW_REG_VERSION_NOT_FOUND);
    assert_int_equal(
        gw_registry_check(r, SUBJ, "seven", t, strlen(t), &ok, NULL, &err),
        AL_EINVAL);
    assert_int_equal(err.code, GW_REG_INVALID_VERSION);
    assert_int_equal(gw_registry_check(r, SUBJ, NULL, "{", 1, &ok, NULL, &err),
                     AL_EINVAL);
    assert_int_equal(err.code, GW_REG_INVALID_SCHEMA);
    gw_registry_free(r);
}

static void invalid_inputs(void **state)
{
    (void)state;
    gw_registry *r = fresh();
    gw_reg_error err;
    const char *t = inc("ask", amount_u32, i64_reply);
    static const char *const subjects[] = {"Inc", "remote::MyActor::", "::Inc",
                                           "my actor::Inc",
                                           "remote::MyActor::In-c"};
    for (size_t i = 0; i < sizeof(subjects) / sizeof(subjects[0]); i++) {
        assert_int_equal(
            gw_registry_register(r, subjects[i], t, strlen(t), NULL, &err),
            AL_EINVAL);
        assert_int_equal(err.code, GW_REG_INVALID_SUBJECT);
    }
    assert_int_equal(gw_registry_register(r, "remote::MyActor::Dec", t,
                                          strlen(t), NULL, &err),
                     AL_EINVAL);
    assert_int_equal(err.code, GW_REG_INVALID_SCHEMA);
    assert_non_null(strstr(err.message, "named 'Inc'"));
    const char *bad = inc("ask",
                          "{\"type\": \"integer\", \"format\": "
                          "\"int7\"}",
                          i64_reply);
    assert_int_equal(reg(r, bad, NULL, &err), AL_EINVAL);
    assert_int_equal(err.code, GW_REG_INVALID_SCHEMA);
    assert_non_null(strstr(err.message, "/request/format"));
    json_t *s = gw_registry_subjects(r, true);
    assert_int_equal(json_array_size(s), 0);
    json_decref(s);
    /* uuids: fixed per subject, unique among an actor's live subjects */
    assert_int_equal(reg(r, t, NULL, &err), 0);
    char other[1024];
    snprintf(other, sizeof(other),
             "{\"name\": \"Inc\", \"uuid\": "
             "\"20185b42-8645-47d2-8d65-2d1c68d26823\", \"kind\": \"ask\", "
             "\"request\": %s, \"reply\": %s}",
             amount_u32, i64_reply);
    assert_int_equal(reg(r, other, NULL, &err), AL_EINVAL);
    assert_int_equal(err.code, GW_REG_INVALID_SCHEMA);
    assert_non_null(strstr(err.message, "differs"));
    snprintf(other, sizeof(other),
             "{\"name\": \"Inc2\", \"uuid\": \"" INC_UUID "\", \"kind\": "
             "\"ask\", \"request\": %s, \"reply\": %s}",
             amount_u32, i64_reply);
    assert_int_equal(gw_registry_register(r, "remote::MyActor::Inc2", other,
                                          strlen(other), NULL, &err),
                     AL_EINVAL);
    assert_non_null(strstr(err.message, "already used by subject"));
    /* another actor may use the same uuid */
    assert_int_equal(gw_registry_register(r, "remote::Other::Inc2", other,
                                          strlen(other), NULL, &err),
                     0);
    gw_registry_free(r);
}

static void soft_delete(void **state)
{
    (void)state;
    gw_registry *r = fresh();
    gw_reg_error err;
    gw_version_info v;
    assert_int_equal(reg(r, inc("ask", amount_u32, i64_reply), NULL, &err), 0);
    assert_int_equal(reg(r, inc("ask", amount_note, i64_reply), NULL, &err), 0);
    int deleted;
    assert_int_equal(
        gw_registry_delete_version(r, SUBJ, "latest", &deleted, &err), 0);
    assert_int_equal(deleted, 2);
    /* the hot path falls back to version 1 */
    assert_non_null(gw_registry_find(r, "remote::MyActor", "Inc", &v));
    assert_int_equal(v.version, 1);
    assert_int_equal(gw_registry_get(r, SUBJ, "2", false, &v, &err),
                     AL_ENOTFOUND);
    assert_int_equal(gw_registry_get(r, SUBJ, "2", true, &v, &err), 0);
    assert_true(v.deleted);
    assert_int_equal(gw_registry_delete_version(r, SUBJ, "2", NULL, &err),
                     AL_ENOTFOUND);
    assert_int_equal(err.code, GW_REG_VERSION_SOFT_DELETED);
    json_t *vs;
    assert_int_equal(gw_registry_versions(r, SUBJ, false, &vs, &err), 0);
    assert_int_equal(json_array_size(vs), 1);
    json_decref(vs);
    assert_int_equal(gw_registry_versions(r, SUBJ, true, &vs, &err), 0);
    assert_int_equal(json_array_size(vs), 2);
    json_decref(vs);
    /* the subject */
    json_t *gone;
    assert_int_equal(gw_registry_delete_subject(r, SUBJ, &gone, &err), 0);
    assert_int_equal(json_array_size(gone), 1);
    assert_int_equal(json_integer_value(json_array_get(gone, 0)), 1);
    json_decref(gone);
    assert_null(gw_registry_find(r, "remote::MyActor", "Inc", NULL));
    assert_null(gw_registry_find(r, "remote::MyActor", INC_UUID, NULL));
    assert_int_equal(gw_registry_delete_subject(r, SUBJ, NULL, &err),
                     AL_ENOTFOUND);
    assert_int_equal(err.code, GW_REG_SUBJECT_SOFT_DELETED);
    assert_int_equal(gw_registry_versions(r, SUBJ, false, &vs, &err),
                     AL_ENOTFOUND);
    assert_int_equal(err.code, GW_REG_SUBJECT_NOT_FOUND);
    json_t *s = gw_registry_subjects(r, false);
    assert_int_equal(json_array_size(s), 0);
    json_decref(s);
    s = gw_registry_subjects(r, true);
    assert_int_equal(json_array_size(s), 1);
    json_decref(s);
    assert_int_equal(gw_registry_delete_subject(r, "a::B", NULL, &err),
                     AL_ENOTFOUND);
    assert_int_equal(err.code, GW_REG_SUBJECT_NOT_FOUND);
    /* registering again: no compatibility left to check, numbers go on,
     * the id of a known text is reused */
    assert_int_equal(reg(r, inc("tell", amount_step, NULL), &v, &err), 0);
    assert_int_equal(v.version, 3);
    assert_int_equal(v.id, 3);
    assert_int_equal(reg(r, inc("ask", amount_u32, i64_reply), &v, &err),
                     AL_EINVAL); /* BACKWARD vs v3 (tell) */
    assert_int_equal(gw_registry_set_config(r, SUBJ, "NONE", &err), 0);
    assert_int_equal(reg(r, inc("ask", amount_u32, i64_reply), &v, &err), 0);
    assert_int_equal(v.version, 4);
    assert_int_equal(v.id, 1);
    json_t *ids;
    assert_int_equal(gw_registry_id_versions(r, 1, &ids, &err), 0);
    assert_int_equal(json_array_size(ids), 1);
    assert_int_equal(
        json_integer_value(json_object_get(json_array_get(ids, 0), "version")),
        4);
    json_decref(ids);
    gw_registry_free(r);
}

static void config(void **state)
{
    (void)state;
    gw_registry *r = fresh();
    gw_reg_error err;
    int level;
    assert_int_equal(gw_registry_get_config(r, NULL, false, &level, &err), 0);
    assert_int_equal(level, GW_COMPAT_BACKWARD);
    assert_string_equal(gw_compat_name(level), "BACKWARD");
    assert_int_equal(gw_registry_set_config(r, NULL, "backward", &err),
                     AL_EINVAL);
    assert_int_equal(err.code, GW_REG_INVALID_COMPAT);
    assert_int_equal(gw_registry_set_config(r, NULL, "FULL", &err), 0);
    assert_int_equal(gw_registry_get_config(r, NULL, false, &level, &err), 0);
    assert_int_equal(level, GW_COMPAT_FULL);
    assert_int_equal(gw_registry_get_config(r, SUBJ, false, &level, &err),
                     AL_ENOTFOUND);
    assert_int_equal(err.code, GW_REG_NO_SUBJECT_CONFIG);
    assert_int_equal(gw_registry_get_config(r, SUBJ, true, &level, &err), 0);
    assert_int_equal(level, GW_COMPAT_FULL);
    assert_int_equal(gw_registry_set_config(r, SUBJ, "NONE", &err), 0);
    assert_int_equal(gw_registry_get_config(r, SUBJ, false, &level, &err), 0);
    assert_int_equal(level, GW_COMPAT_NONE);
    /* a configured subject with no versions lists nowhere */
    json_t *s = gw_registry_subjects(r, true);
    assert_int_equal(json_array_size(s), 0);
    json_decref(s);
    int old;
    assert_int_equal(gw_registry_delete_config(r, SUBJ, &old, &err), 0);
    assert_int_equal(old, GW_COMPAT_NONE);
    assert_int_equal(gw_registry_delete_config(r, SUBJ, &old, &err),
                     AL_ENOTFOUND);
    assert_int_equal(err.code, GW_REG_NO_SUBJECT_CONFIG);
    assert_int_equal(gw_registry_set_config(r, "bad", "FULL", &err), AL_EINVAL);
    assert_int_equal(err.code, GW_REG_INVALID_SUBJECT);
    for (int l = GW_COMPAT_NONE; l <= GW_COMPAT_FULL_TRANSITIVE; l++)
        assert_int_equal(gw_compat_parse(gw_compat_name(l)), l);
    assert_int_equal(gw_compat_parse("SIDEWAYS"), -1);
    assert_null(gw_compat_name(99));
    gw_registry_free(r);
}

struct log {
    char lines[16][160];
    int n;
    int fail_at; /* 1-based call that fails, 0 none */
};

static int hook(const gw_change *c, void *ud)
{
    struct log *l = ud;
    if (l->n < 16)
        snprintf(l->lines[l->n], sizeof(l->lines[0]), "%d %s %d %lld %s %d",
                 c->kind, c->subject ? c->subject : "-", c->version,
                 (long long)c->id, c->text ? "text" : "-", c->level);
    l->n++;
    return l->fail_at == l->n ? -1 : 0;
}

static void change_hook(void **state)
{
    (void)state;
    gw_registry *r = fresh();
    struct log l = {.fail_at = 0};
    gw_registry_on_change(r, hook, &l);
    gw_reg_error err;
    assert_int_equal(reg(r, inc("ask", amount_u32, i64_reply), NULL, &err), 0);
    assert_int_equal(reg(r, inc("ask", amount_u32, i64_reply), NULL, &err), 0);
    assert_int_equal(l.n, 1); /* idempotent: no change */
    assert_string_equal(l.lines[0], "0 " SUBJ " 1 1 text 0");
    assert_int_equal(gw_registry_set_config(r, NULL, "FULL", &err), 0);
    assert_string_equal(l.lines[1], "3 - 0 0 - 5");
    assert_int_equal(gw_registry_set_config(r, SUBJ, "NONE", &err), 0);
    assert_string_equal(l.lines[2], "3 " SUBJ " 0 0 - 0");
    assert_int_equal(gw_registry_delete_config(r, SUBJ, NULL, &err), 0);
    assert_string_equal(l.lines[3], "4 " SUBJ " 0 0 - 0");
    assert_int_equal(gw_registry_set_config(r, NULL, "NONE", &err), 0);
    /* a failing store cancels the change */
    l.fail_at = l.n + 1;
    gw_version_info v;
    assert_int_equal(reg(r, inc("ask", amount_note, i64_reply), &v, &err),
                     AL_EIO);
    assert_int_equal(err.code, GW_REG_STORE_ERROR);
    assert_int_equal(gw_registry_get(r, SUBJ, "latest", false, &v, &err), 0);
    assert_int_equal(v.version, 1);
    l.fail_at = 0;
    assert_int_equal(reg(r, inc("ask", amount_note, i64_reply), &v, &err), 0);
    assert_int_equal(v.version, 2);
    assert_int_equal(v.id, 2); /* the cancelled one took no id */
    l.fail_at = l.n + 1;
    assert_int_equal(gw_registry_delete_version(r, SUBJ, "2", NULL, &err),
                     AL_EIO);
    assert_non_null(gw_registry_find(r, "remote::MyActor", "Inc", &v));
    assert_int_equal(v.version, 2);
    l.fail_at = l.n + 1;
    assert_int_equal(gw_registry_delete_subject(r, SUBJ, NULL, &err), AL_EIO);
    assert_non_null(gw_registry_find(r, "remote::MyActor", "Inc", NULL));
    l.fail_at = l.n + 1;
    assert_int_equal(gw_registry_set_config(r, NULL, "FULL", &err), AL_EIO);
    int level;
    assert_int_equal(gw_registry_get_config(r, NULL, false, &level, &err), 0);
    assert_int_equal(level, GW_COMPAT_NONE);
    l.fail_at = 0;
    assert_int_equal(gw_registry_delete_version(r, SUBJ, "2", NULL, &err), 0);
    assert_string_equal(l.lines[l.n - 1], "1 " SUBJ " 2 2 - 0");
    assert_int_equal(gw_registry_delete_subject(r, SUBJ, NULL, &err), 0);
    assert_string_equal(l.lines[l.n - 1], "2 " SUBJ " 0 0 - 0");
    gw_registry_free(r);
}

static void restore(void **state)
{
    (void)state;
    gw_registry *r = fresh();
    struct log l = {.fail_at = 1}; /* restoring never calls the hook */
    gw_registry_on_change(r, hook, &l);
    gw_reg_error err;
    const char *v1 = inc("ask", amount_u32, i64_reply);
    const char *v2 = inc("tell", amount_step, NULL); /* incompatible: fine */
    const char *v3 = inc("ask", amount_note, i64_reply);
    assert_int_equal(
        gw_registry_restore_version(r, SUBJ, 3, 7, false, v3, strlen(v3), &err),
        0);
    assert_int_equal(
        gw_registry_restore_version(r, SUBJ, 1, 5, false, v1, strlen(v1), &err),
        0);
    assert_int_equal(
        gw_registry_restore_version(r, SUBJ, 2, 6, true, v2, strlen(v2), &err),
        0);
    assert_int_equal(gw_registry_restore_config(r, NULL, GW_COMPAT_NONE, &err),
                     0);
    assert_int_equal(gw_registry_restore_config(r, SUBJ, GW_COMPAT_FULL, &err),
                     0);
    assert_int_equal(l.n, 0);
    gw_version_info v;
    assert_non_null(gw_registry_find(r, "remote::MyActor", "Inc", &v));
    assert_int_equal(v.version, 3);
    assert_int_equal(v.id, 7);
    json_t *vs;
    assert_int_equal(gw_registry_versions(r, SUBJ, true, &vs, &err), 0);
    assert_int_equal(json_integer_value(json_array_get(vs, 0)), 1);
    assert_int_equal(json_integer_value(json_array_get(vs, 2)), 3);
    json_decref(vs);
    int level;
    assert_int_equal(gw_registry_get_config(r, SUBJ, false, &level, &err), 0);
    assert_int_equal(level, GW_COMPAT_FULL);
    /* conflicts in what is replayed */
    assert_int_equal(
        gw_registry_restore_version(r, SUBJ, 3, 8, false, v1, strlen(v1), &err),
        AL_EINVAL);
    assert_int_equal(
        gw_registry_restore_version(r, SUBJ, 4, 9, false, v1, strlen(v1), &err),
        AL_EINVAL); /* v1's text has id 5 */
    assert_int_equal(
        gw_registry_restore_version(r, SUBJ, 0, 9, false, v1, strlen(v1), &err),
        AL_EINVAL);
    assert_int_equal(gw_registry_restore_config(r, NULL, 42, &err), AL_EINVAL);
    assert_int_equal(err.code, GW_REG_INVALID_COMPAT);
    /* new registrations continue after the restored numbers */
    l.fail_at = 0;
    assert_int_equal(gw_registry_set_config(r, SUBJ, "NONE", &err), 0);
    const char *v4 = inc("ask", amount_i64, i64_reply);
    assert_int_equal(reg(r, v4, &v, &err), 0);
    assert_int_equal(v.version, 4);
    assert_int_equal(v.id, 8);
    gw_registry_free(r);
}

static void count_latest(const gw_version_info *v, void *ud)
{
    assert_false(v->deleted);
    (*(int *)ud)++;
}

static void files_and_ids(void **state)
{
    (void)state;
    gw_registry *r = fresh();
    gw_schemafile *f;
    gw_file_error ferr;
    gw_reg_error err;
    assert_int_equal(gw_schemafile_load("schemas/counter.json", &f, &ferr), 0);
    assert_int_equal(gw_registry_register_files(r, &f, 1, &err), 0);
    gw_schemafile_free(f);
    const gw_message *inc_m =
        gw_registry_find(r, "remote::MyActor", "Inc", NULL);
    assert_non_null(inc_m);
    assert_non_null(gw_registry_find(
        r, "remote::MyActor", "20185b42-8645-47d2-8d65-2d1c68d26823", NULL));
    const gw_message *log =
        gw_registry_find(r, "remote::MyActor", "LogMessage", NULL);
    assert_non_null(log);
    assert_int_equal(log->kind, GW_KIND_TELL);
    json_t *s = gw_registry_subjects(r, false);
    assert_int_equal(json_array_size(s), 5);
    json_decref(s);
    /* loading the same files again changes nothing */
    assert_int_equal(gw_schemafile_load("schemas/counter.json", &f, &ferr), 0);
    assert_int_equal(gw_registry_register_files(r, &f, 1, &err), 0);
    gw_schemafile_free(f);
    assert_ptr_equal(gw_registry_find(r, "remote::MyActor", "Inc", NULL),
                     inc_m);
    /* a file that breaks compatibility names itself and the message */
    static const char text[] =
        "{\"actor\": \"remote::MyActor\", \"messages\": [{\"name\": \"Inc\", "
        "\"uuid\": \"" INC_UUID "\", \"kind\": \"ask\", \"request\": "
        "{\"type\": \"null\"}, \"reply\": {\"type\": \"integer\"}}]}";
    assert_int_equal(
        gw_schemafile_parse("next.json", text, strlen(text), &f, &ferr), 0);
    assert_int_equal(gw_registry_register_files(r, &f, 1, &err), AL_EINVAL);
    assert_int_equal(err.code, GW_REG_INCOMPATIBLE);
    assert_non_null(strstr(err.message, "next.json: /messages/0 (Inc): "));
    gw_schemafile_free(f);
    /* one text under two actors shares its id */
    json_t *uuids =
        gw_registry_subjects_by_uuid(r, "3B9128F1-0593-44A0-B83A-F4188BAA05BF");
    assert_int_equal(json_array_size(uuids), 1);
    json_decref(uuids);
    gw_version_info a, b;
    const char *d = inc_m->canonical;
    assert_int_equal(
        gw_registry_register(r, "remote::Twin::Inc", d, strlen(d), &b, &err),
        0);
    assert_non_null(gw_registry_find(r, "remote::MyActor", "Inc", &a));
    assert_int_equal(a.id, b.id);
    json_t *ids;
    assert_int_equal(gw_registry_id_versions(r, a.id, &ids, &err), 0);
    assert_int_equal(json_array_size(ids), 2);
    json_decref(ids);
    uuids = gw_registry_subjects_by_uuid(r, INC_UUID);
    assert_int_equal(json_array_size(uuids), 2);
    json_decref(uuids);
    assert_null(gw_registry_subjects_by_uuid(r, "nope"));
    int seen = 0;
    gw_registry_foreach_latest(r, count_latest, &seen);
    assert_int_equal(seen, 6); /* five counter messages and the twin */
    gw_registry_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(versions_and_idempotency),
        cmocka_unit_test(hot_path_lookup),
        cmocka_unit_test(backward),
        cmocka_unit_test(forward),
        cmocka_unit_test(full_and_none),
        cmocka_unit_test(transitive),
        cmocka_unit_test(check_errors),
        cmocka_unit_test(invalid_inputs),
        cmocka_unit_test(soft_delete),
        cmocka_unit_test(config),
        cmocka_unit_test(change_hook),
        cmocka_unit_test(restore),
        cmocka_unit_test(files_and_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
