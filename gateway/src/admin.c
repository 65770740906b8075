/* /admin: gateway state, the name cache, and the schema registry in
 * Confluent's shape. The caller has checked the bearer token. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app.h"
#include "log.h"
#include "routes.h"

/* ------------------------------------------------------------ helpers */

/* A registry failure: Confluent's error code as the code, its status. */
static void reg_error(gw_call *c, const gw_reg_error *re, int rc)
{
    int code = re->code;
    if (code < 40000 || code > 59999) {
        gw_call_error(c, rc == AL_ENOMEM ? GW_E_INTERNAL : GW_E_BAD_REQUEST,
                      re->message[0] ? re->message : al_strerror(rc), NULL);
        return;
    }
    char text[16];
    snprintf(text, sizeof(text), "%d", code);
    gw_call_error_code(c, code / 100, text, re->message,
                       json_pack("{s:i}", "error_code", code));
}

/* A query flag as Confluent writes them: ?deleted=true. */
static bool query_flag(gw_call *c, const char *name)
{
    const char *v = gw_req_query(c->req, name);
    return v && (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

/* The request body's "schema" as document text: a JSON string (as
 * Confluent sends it) or the document itself as an object. Answers 400 /
 * 422 itself and returns NULL on failure. Caller frees. */
static char *schema_text(gw_call *c, size_t *len)
{
    json_t *body = gw_call_parse_body(c, 0);
    if (!body)
        return NULL;
    char *text = NULL;
    json_t *type = json_object_get(body, "schemaType");
    json_t *schema = json_object_get(body, "schema");
    if (type && (!json_is_string(type) ||
                 strcmp(json_string_value(type), "JSON") != 0)) {
        gw_reg_error re = {42201, "schemaType must be \"JSON\""};
        reg_error(c, &re, AL_EINVAL);
    } else if (json_is_string(schema)) {
        *len = json_string_length(schema);
        text = malloc(*len + 1);
        if (text)
            memcpy(text, json_string_value(schema), *len + 1);
    } else if (json_is_object(schema)) {
        text = json_dumps(schema, JSON_COMPACT);
        if (text)
            *len = strlen(text);
    } else {
        gw_reg_error re = {42201,
                           "the body needs \"schema\": the message document "
                           "(a JSON string or object)"};
        reg_error(c, &re, AL_EINVAL);
    }
    json_decref(body);
    return text;
}

/* ------------------------------------------------------------ gateway */

static void admin_info(gw_call *c)
{
    gw_app *app = c->app;
    json_t *o = app->net->ops->info(app->net);
    if (!o)
        o = json_object();
    char started[40];
    gw_format_time_ms(app->started_ms, started, sizeof(started));
    char http[96];
    snprintf(http, sizeof(http),
             strchr(app->cfg.http_host, ':') ? "[%s]:%u" : "%s:%u",
             app->cfg.http_host, (unsigned)gw_http_port(app->http));
    json_t *subjects = gw_registry_subjects(app->reg, false);
    gw_idem_stats is;
    gw_idem_get_stats(app->idem, &is);
    json_object_set_new(o, "version", json_string(ACTORGATE_VERSION));
    json_object_set_new(o, "actorlib_version", json_string(AL_VERSION));
    json_object_set_new(o, "http", json_string(http));
    json_object_set_new(o, "started_at", json_string(started));
    /* Whole seconds: a binary fraction would print as 5.3589999999999999. */
    json_object_set_new(
        o, "uptime_s",
        json_integer(
            (json_int_t)((uv_hrtime() - app->started_hr) / 1000000000u)));
    json_object_set_new(o, "database", json_string(app->cfg.db_path));
    json_object_set_new(o, "schemas_dir", json_string(app->cfg.schemas_dir));
    json_object_set_new(
        o, "counts",
        json_pack("{s:I, s:I, s:I, s:I, s:I}", "subjects",
                  (json_int_t)json_array_size(subjects), "names",
                  (json_int_t)gw_namecache_count(app->nc), "idempotency_keys",
                  (json_int_t)is.entries, "peers",
                  (json_int_t)app->net->ops->num_peers(app->net),
                  "requests_in_flight", (json_int_t)app->inflight));
    json_decref(subjects);
    gw_call_json(c, 200, o);
}

static void admin_reload(gw_call *c)
{
    char msg[600];
    size_t n;
    int rc = gw_app_reload_schemas(c->app, msg, sizeof(msg), &n);
    gw_log_event(rc ? GW_LOG_ERROR : GW_LOG_INFO,
                 rc ? "schemas_reload_failed" : "schemas_reloaded", "%s", msg);
    if (rc) {
        gw_call_error_code(c, 422, "42201", msg,
                           json_pack("{s:i}", "error_code", 42201));
        return;
    }
    gw_call_json(
        c, 200,
        json_pack("{s:I, s:s}", "messages", (json_int_t)n, "message", msg));
}

/* ------------------------------------------------------------ names */

static int collect_name(const gw_namecache_entry *e, void *ud)
{
    json_t *o = gw_app_name_json(e);
    return o ? json_array_append_new(ud, o) : -1;
}

static void admin_actors(gw_call *c)
{
    json_t *arr = json_array();
    if (!arr || gw_namecache_list(c->app->nc, collect_name, arr)) {
        json_decref(arr);
        gw_call_error(c, GW_E_INTERNAL, "out of memory", NULL);
        return;
    }
    gw_call_json(c, 200, arr);
}

static int find_name(const gw_namecache_entry *e, void *ud)
{
    json_t **slot = ud;
    const char *want = json_string_value(*slot);
    if (strcmp(e->name, want) != 0)
        return 0;
    json_decref(*slot);
    *slot = gw_app_name_json(e);
    return 1;
}

static void admin_actor(gw_call *c)
{
    gw_app *app = c->app;
    if (gw_method_bit(c->req->method) == GW_M_DELETE) {
        if (gw_namecache_evict(app->nc, c->route.p1)) {
            gw_call_error(c, GW_E_ACTOR_NOT_FOUND, "the name is not cached",
                          NULL);
            return;
        }
        gw_log_event(GW_LOG_INFO, "name_evicted", "%s", c->route.p1);
        gw_call_respond(c, 204, NULL, 0, NULL, 0);
        return;
    }
    json_t *slot = json_string(c->route.p1);
    if (!slot) {
        gw_call_error(c, GW_E_INTERNAL, "out of memory", NULL);
        return;
    }
    if (gw_namecache_list(app->nc, find_name, &slot) == 1) {
        gw_call_json(c, 200, slot);
        return;
    }
    json_decref(slot);
    gw_call_error(c, GW_E_ACTOR_NOT_FOUND, "the name is not cached", NULL);
}

static void on_resolved(int status, const gw_namecache_entry *e, void *ud)
{
    gw_call *c = ud;
    if (gw_call_live(c)) {
        if (status == 0 && e) {
            gw_call_json(c, 200, gw_app_name_json(e));
        } else if (status == AL_ENOTFOUND) {
            gw_call_error(c, GW_E_ACTOR_NOT_FOUND,
                          "no actor is registered under this name", NULL);
        } else {
            gw_remote_fail f = gw_err_from_status(status);
            c->remote_kind = al_status_name(status);
            gw_call_error(c, f.err, NULL,
                          json_pack("{s:s}", "kind", c->remote_kind));
        }
    }
    gw_call_unref(c);
}

static void admin_resolve(gw_call *c)
{
    gw_call_ref(c);
    int rc = gw_app_resolve(c->app, c->route.p1, on_resolved, c);
    if (rc) {
        gw_call_unref(c);
        gw_call_error(c, GW_E_INTERNAL, al_strerror(rc), NULL);
        return;
    }
    gw_call_suspend(c);
}

/* ------------------------------------------------------------ registry */

static void admin_subjects(gw_call *c)
{
    json_t *a = gw_registry_subjects(c->app->reg, query_flag(c, "deleted"));
    if (!a) {
        gw_call_error(c, GW_E_INTERNAL, "out of memory", NULL);
        return;
    }
    gw_call_json(c, 200, a);
}

static void admin_subject(gw_call *c)
{
    gw_reg_error re = {0};
    int rc;
    if (gw_method_bit(c->req->method) == GW_M_DELETE) {
        json_t *deleted = NULL;
        rc =
            gw_registry_delete_subject(c->app->reg, c->route.p1, &deleted, &re);
        if (rc)
            reg_error(c, &re, rc);
        else
            gw_call_json(c, 200, deleted);
        return;
    }
    size_t len = 0;
    char *text = schema_text(c, &len);
    if (!text)
        return;
    gw_version_info v;
    rc =
        gw_registry_lookup_schema(c->app->reg, c->route.p1, text, len, &v, &re);
    free(text);
    if (rc)
        reg_error(c, &re, rc);
    else
        gw_call_json(c, 200, gw_version_json(&v));
}

static void admin_versions(gw_call *c)
{
    gw_reg_error re = {0};
    int rc;
    if (gw_method_bit(c->req->method) == GW_M_POST) {
        size_t len = 0;
        char *text = schema_text(c, &len);
        if (!text)
            return;
        gw_version_info v;
        rc = gw_registry_register(c->app->reg, c->route.p1, text, len, &v, &re);
        free(text);
        if (rc)
            reg_error(c, &re, rc);
        else
            gw_call_json(c, 200,
                         json_pack("{s:I, s:i, s:s}", "id", (json_int_t)v.id,
                                   "version", v.version, "subject", v.subject));
        return;
    }
    json_t *list = NULL;
    rc = gw_registry_versions(c->app->reg, c->route.p1,
                              query_flag(c, "deleted"), &list, &re);
    if (rc)
        reg_error(c, &re, rc);
    else
        gw_call_json(c, 200, list);
}

static void admin_version(gw_call *c, bool doc_only)
{
    gw_reg_error re = {0};
    int rc;
    if (gw_method_bit(c->req->method) == GW_M_DELETE) {
        int deleted = 0;
        rc = gw_registry_delete_version(c->app->reg, c->route.p1, c->route.p2,
                                        &deleted, &re);
        if (rc)
            reg_error(c, &re, rc);
        else
            gw_call_json(c, 200, json_integer(deleted));
        return;
    }
    gw_version_info v;
    rc = gw_registry_get(c->app->reg, c->route.p1, c->route.p2,
                         query_flag(c, "deleted"), &v, &re);
    if (rc) {
        reg_error(c, &re, rc);
        return;
    }
    if (doc_only) {
        char *text = strdup(v.message->canonical);
        if (!text) {
            gw_call_error(c, GW_E_INTERNAL, "out of memory", NULL);
            return;
        }
        gw_call_respond(c, 200, text, strlen(text), NULL, 0);
        return;
    }
    gw_call_json(c, 200, gw_version_json(&v));
}

/* Schema ids are positive integers. */
static bool parse_id(gw_call *c, int64_t *id)
{
    uint32_t v;
    if (gw_parse_u32(c->route.p1, 1, INT32_MAX, &v)) {
        gw_reg_error re = {40403, "Schema not found"};
        reg_error(c, &re, AL_ENOTFOUND);
        return false;
    }
    *id = v;
    return true;
}

static void admin_schema_id(gw_call *c, bool versions)
{
    int64_t id;
    gw_reg_error re = {0};
    if (!parse_id(c, &id))
        return;
    if (versions) {
        json_t *list = NULL;
        int rc = gw_registry_id_versions(c->app->reg, id, &list, &re);
        if (rc)
            reg_error(c, &re, rc);
        else
            gw_call_json(c, 200, list);
        return;
    }
    const char *text;
    int rc = gw_registry_get_by_id(c->app->reg, id, &text, &re);
    if (rc)
        reg_error(c, &re, rc);
    else
        gw_call_json(
            c, 200,
            json_pack("{s:s, s:s}", "schema", text, "schemaType", "JSON"));
}

static void admin_schema_uuid(gw_call *c)
{
    gw_app *app = c->app;
    json_t *subjects = gw_registry_subjects_by_uuid(app->reg, c->route.p1);
    if (!subjects || json_array_size(subjects) == 0) {
        json_decref(subjects);
        gw_reg_error re = {40403, "no live message has this UUID"};
        reg_error(c, &re, AL_ENOTFOUND);
        return;
    }
    json_t *versions = json_array();
    size_t i;
    json_t *s;
    json_array_foreach(subjects, i, s)
    {
        gw_version_info v;
        gw_reg_error re;
        if (gw_registry_get(app->reg, json_string_value(s), "latest", false, &v,
                            &re) == 0)
            json_array_append_new(versions, gw_version_json(&v));
    }
    gw_call_json(c, 200,
                 json_pack("{s:s, s:o, s:o}", "uuid", c->route.p1, "subjects",
                           subjects, "versions", versions));
}

static void admin_compat(gw_call *c, bool with_version)
{
    size_t len = 0;
    char *text = schema_text(c, &len);
    if (!text)
        return;
    bool ok = false;
    json_t *messages = json_array();
    gw_reg_error re = {0};
    int rc = gw_registry_check(c->app->reg, c->route.p1,
                               with_version ? c->route.p2 : NULL, text, len,
                               &ok, messages, &re);
    free(text);
    if (rc) {
        json_decref(messages);
        reg_error(c, &re, rc);
        return;
    }
    gw_call_json(
        c, 200,
        json_pack("{s:b, s:o}", "is_compatible", ok, "messages", messages));
}

static void admin_config(gw_call *c, const char *subject)
{
    gw_app *app = c->app;
    gw_reg_error re = {0};
    unsigned m = gw_method_bit(c->req->method);
    int rc, level;
    if (m == GW_M_PUT) {
        json_t *body = gw_call_parse_body(c, 0);
        if (!body)
            return;
        const char *lv =
            json_string_value(json_object_get(body, "compatibility"));
        if (!lv) {
            json_decref(body);
            gw_reg_error bad = {42203,
                                "the body needs \"compatibility\": BACKWARD, "
                                "FORWARD, FULL, NONE or a _TRANSITIVE form"};
            reg_error(c, &bad, AL_EINVAL);
            return;
        }
        rc = gw_registry_set_config(app->reg, subject, lv, &re);
        if (rc)
            reg_error(c, &re, rc);
        else
            gw_call_json(c, 200, json_pack("{s:s}", "compatibility", lv));
        json_decref(body);
        return;
    }
    if (m == GW_M_DELETE) {
        rc = gw_registry_delete_config(app->reg, subject, &level, &re);
        if (rc)
            reg_error(c, &re, rc);
        else
            gw_call_json(c, 200,
                         json_pack("{s:s}", "compatibilityLevel",
                                   gw_compat_name(level)));
        return;
    }
    rc = gw_registry_get_config(app->reg, subject,
                                !subject || query_flag(c, "defaultToGlobal"),
                                &level, &re);
    if (rc)
        reg_error(c, &re, rc);
    else
        gw_call_json(
            c, 200,
            json_pack("{s:s}", "compatibilityLevel", gw_compat_name(level)));
}

/* ------------------------------------------------------------ dispatch */

void gw_admin_handle(gw_call *c)
{
    switch (c->route.id) {
    case GW_R_ADMIN_INFO:
        admin_info(c);
        break;
    case GW_R_ADMIN_PEERS:
        gw_call_json(c, 200, c->app->net->ops->peers(c->app->net));
        break;
    case GW_R_ADMIN_RELOAD:
        admin_reload(c);
        break;
    case GW_R_ADMIN_ACTORS:
        admin_actors(c);
        break;
    case GW_R_ADMIN_ACTOR:
        admin_actor(c);
        break;
    case GW_R_ADMIN_ACTOR_RESOLVE:
        admin_resolve(c);
        break;
    case GW_R_ADMIN_SUBJECTS:
        admin_subjects(c);
        break;
    case GW_R_ADMIN_SUBJECT:
        admin_subject(c);
        break;
    case GW_R_ADMIN_SUBJECT_VERSIONS:
        admin_versions(c);
        break;
    case GW_R_ADMIN_SUBJECT_VERSION:
        admin_version(c, false);
        break;
    case GW_R_ADMIN_SUBJECT_VERSION_SCHEMA:
        admin_version(c, true);
        break;
    case GW_R_ADMIN_SCHEMA_TYPES:
        gw_call_json(c, 200, json_pack("[s]", "JSON"));
        break;
    case GW_R_ADMIN_SCHEMA_ID:
        admin_schema_id(c, false);
        break;
    case GW_R_ADMIN_SCHEMA_ID_VERSIONS:
        admin_schema_id(c, true);
        break;
    case GW_R_ADMIN_SCHEMA_UUID:
        admin_schema_uuid(c);
        break;
    case GW_R_ADMIN_COMPAT:
        admin_compat(c, false);
        break;
    case GW_R_ADMIN_COMPAT_VERSION:
        admin_compat(c, true);
        break;
    case GW_R_ADMIN_CONFIG:
        admin_config(c, NULL);
        break;
    case GW_R_ADMIN_CONFIG_SUBJECT:
        admin_config(c, c->route.p1);
        break;
    default:
        gw_call_error(c, GW_E_NOT_FOUND, NULL, NULL);
        break;
    }
}
