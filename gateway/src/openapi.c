/* OpenAPI 3.1 for the actor routes, generated from the registry's latest
 * live versions. Each message gets its own path (its name, or its UUID
 * when two actor types share the name) with its request, reply and
 * handler-error schemas translated from the gateway's subset to plain JSON
 * Schema 2020-12. */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "errors.h"

/* ------------------------------------------------------------ schemas */

static json_t *translate(json_t *s, int depth);

/* Integer formats narrower than 64 bits as explicit bounds: a generic
 * validator knows int32 at best. */
static void format_bounds(json_t *out, const char *fmt)
{
    static const struct {
        const char *fmt;
        json_int_t min, max;
    } f[] = {{"int8", -128, 127},
             {"int16", -32768, 32767},
             {"int32", INT32_MIN, INT32_MAX},
             {"uint8", 0, 255},
             {"uint16", 0, 65535},
             {"uint32", 0, 4294967295LL},
             {"uint64", 0, 0}};
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
        if (strcmp(fmt, f[i].fmt) != 0)
            continue;
        if (!json_object_get(out, "minimum"))
            json_object_set_new(out, "minimum", json_integer(f[i].min));
        if (f[i].max && !json_object_get(out, "maximum"))
            json_object_set_new(out, "maximum", json_integer(f[i].max));
    }
}

static json_t *translate_map(json_t *props, int depth)
{
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(props, k, v)
        json_object_set_new(out, k, translate(v, depth + 1));
    return out;
}

static json_t *translate_list(json_t *list, int depth)
{
    json_t *out = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
        json_array_append_new(out, translate(v, depth + 1));
    return out;
}

static json_t *translate(json_t *s, int depth)
{
    if (!json_is_object(s) || depth > 64)
        return json_object();
    json_t *out = json_object();
    bool nullable = json_is_true(json_object_get(s, "nullable"));
    const char *k;
    json_t *v;
    json_object_foreach(s, k, v)
    {
        if (!strcmp(k, "nullable") || !strcmp(k, "$schema"))
            continue;
        if (!strcmp(k, "properties"))
            json_object_set_new(out, k, translate_map(v, depth));
        else if (!strcmp(k, "items") ||
                 (!strcmp(k, "additionalProperties") && json_is_object(v)))
            json_object_set_new(out, k, translate(v, depth + 1));
        else if (!strcmp(k, "oneOf"))
            json_object_set_new(out, k, translate_list(v, depth));
        else
            json_object_set(out, k, v);
    }
    const char *type = json_string_value(json_object_get(s, "type"));
    if (type && !strcmp(type, "object") &&
        !json_object_get(s, "additionalProperties"))
        json_object_set_new(out, "additionalProperties", json_false());
    const char *fmt = json_string_value(json_object_get(s, "format"));
    if (type && !strcmp(type, "integer") && fmt)
        format_bounds(out, fmt);
    if (!nullable)
        return out;
    return json_pack("{s:[o, {s:s}]}", "anyOf", out, "type", "null");
}

/* ------------------------------------------------------------ names */

/* A components key: [A-Za-z0-9._-] only. */
static void component_name(const char *actor, const char *msg, const char *part,
                           char *out, size_t cap)
{
    snprintf(out, cap, "%s.%s.%s", actor, msg, part);
    for (char *p = out; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == '_'))
            *p = '_';
}

static void operation_id(const char *verb, const char *actor,
                         const gw_message *m, bool by_uuid, char *out,
                         size_t cap)
{
    snprintf(out, cap, "%s_%s_%s", verb, actor, by_uuid ? m->uuid : m->name);
    for (char *p = out; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '_'))
            *p = '_';
}

static json_t *ref(const char *where, const char *name)
{
    char buf[640];
    snprintf(buf, sizeof(buf), "#/components/%s/%s", where, name);
    return json_pack("{s:s}", "$ref", buf);
}

/* ------------------------------------------------------------ document */

typedef struct build {
    json_t *paths;
    json_t *schemas;
    const gw_registry *reg;
    /* names used by more than one actor type, per kind */
    json_t *seen_ask, *seen_tell;
    bool counting;
} build;

static json_t *error_responses(void)
{
    json_t *r = json_object();
    static const int codes[] = {400, 404, 409, 413, 415,
                                429, 500, 502, 503, 504};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        char key[8];
        snprintf(key, sizeof(key), "%d", codes[i]);
        json_object_set_new(r, key, ref("responses", "Error"));
    }
    return r;
}

static json_t *parameters(void)
{
    return json_pack(
        "[o, o, o, o, o, o]", ref("parameters", "ActorName"),
        ref("parameters", "XRequestId"), ref("parameters", "Traceparent"),
        ref("parameters", "XTimeoutMs"), ref("parameters", "XMailboxTimeoutMs"),
        ref("parameters", "IdempotencyKey"));
}

static void add_operation(build *b, const gw_version_info *v, bool ask,
                          bool by_uuid)
{
    const gw_message *m = v->message;
    char req_name[512], reply_name[512], err_name[512], opid[700];
    component_name(v->actor, m->name, "request", req_name, sizeof(req_name));
    component_name(v->actor, m->name, "reply", reply_name, sizeof(reply_name));
    component_name(v->actor, m->name, "error", err_name, sizeof(err_name));
    operation_id(ask ? "ask" : "tell", v->actor, m, by_uuid, opid,
                 sizeof(opid));
    json_object_set_new(b->schemas, req_name,
                        translate(gw_schema_doc(m->request), 0));
    json_t *responses = error_responses();
    json_t *headers =
        json_pack("{s:o}", "X-Request-Id", ref("headers", "XRequestId"));
    if (ask) {
        json_object_set_new(b->schemas, reply_name,
                            translate(gw_schema_doc(m->reply), 0));
        json_object_set_new(responses, "200",
                            json_pack("{s:s, s:o, s:{s:{s:o}}}", "description",
                                      "the handler's reply", "headers", headers,
                                      "content", "application/json", "schema",
                                      ref("schemas", reply_name)));
    } else {
        json_object_set_new(responses, "202",
                            json_pack("{s:s, s:o}", "description",
                                      "the actor's node accepted the message",
                                      "headers", headers));
    }
    json_t *e422 = ref("schemas", "Error");
    if (ask && m->error) {
        json_object_set_new(b->schemas, err_name,
                            translate(gw_schema_doc(m->error), 0));
        json_decref(e422);
        e422 = json_pack("{s:[o, {s:s, s:{s:{s:s, s:{s:{s:s, s:{s:o}}}}}}]}",
                         "allOf", ref("schemas", "Error"), "type", "object",
                         "properties", "error", "type", "object", "properties",
                         "details", "type", "object", "properties", "error",
                         ref("schemas", err_name));
    }
    json_object_set_new(
        responses, "422",
        json_pack("{s:s, s:{s:{s:o}}}", "description",
                  "SCHEMA_VIOLATION (details.pointer), HANDLER_ERROR "
                  "(details.error: the handler's error) or MESSAGE_REJECTED",
                  "content", "application/json", "schema", e422));
    char summary[400];
    snprintf(summary, sizeof(summary), "%s %s of %s", ask ? "Ask" : "Tell",
             m->name, v->actor);
    const char *desc =
        json_string_value(json_object_get(m->doc, "description"));
    char path[300];
    snprintf(path, sizeof(path), "/v1/actors/{name}/%s/%s",
             ask ? "ask" : "tell", by_uuid ? m->uuid : m->name);
    json_t *op = json_pack(
        "{s:s, s:s, s:[s], s:o, s:{s:b, s:{s:{s:o}}}, s:o}", "operationId",
        opid, "summary", summary, "tags", v->actor, "parameters", parameters(),
        "requestBody", "required", 1, "content", "application/json", "schema",
        ref("schemas", req_name), "responses", responses);
    if (op && desc)
        json_object_set_new(op, "description", json_string(desc));
    if (op) {
        char note[200];
        snprintf(note, sizeof(note), "%s (message UUID %s, version %d)",
                 v->subject, m->uuid, v->version);
        json_object_set_new(op, "x-actorgate-subject", json_string(note));
    }
    json_object_set_new(b->paths, path, json_pack("{s:o}", "post", op));
}

static void count_names(const gw_version_info *v, void *ud)
{
    build *b = ud;
    const gw_message *m = v->message;
    json_t *seen[2] = {b->seen_ask, b->seen_tell};
    int kinds[2] = {GW_KIND_ASK, GW_KIND_TELL};
    for (int i = 0; i < 2; i++) {
        if (!(m->kind & kinds[i]))
            continue;
        json_t *n = json_object_get(seen[i], m->name);
        json_object_set_new(seen[i], m->name,
                            json_integer(n ? json_integer_value(n) + 1 : 1));
    }
}

static void add_message(const gw_version_info *v, void *ud)
{
    build *b = ud;
    const gw_message *m = v->message;
    if (m->kind & GW_KIND_ASK)
        add_operation(
            b, v, true,
            json_integer_value(json_object_get(b->seen_ask, m->name)) > 1);
    if (m->kind & GW_KIND_TELL)
        add_operation(
            b, v, false,
            json_integer_value(json_object_get(b->seen_tell, m->name)) > 1);
}

static json_t *error_schema(void)
{
    json_t *codes = json_array();
    for (int i = 0; i < GW_E__COUNT; i++)
        json_array_append_new(codes, json_string(gw_err_info(i)->code));
    return json_pack(
        "{s:s, s:[s], s:b, s:{s:{s:s, s:[s, s], s:b, s:{s:{s:s, s:o}, "
        "s:{s:s}, s:{s:s}, s:{s:s}}}}}",
        "type", "object", "required", "error", "additionalProperties", 0,
        "properties", "error", "type", "object", "required", "code", "message",
        "additionalProperties", 0, "properties", "code", "type", "string",
        "enum", codes, "message", "type", "string", "request_id", "type",
        "string", "details", "type", "object");
}

static json_t *components(build *b)
{
    json_object_set_new(b->schemas, "Error", error_schema());
    json_t *params = json_pack(
        "{s:{s:s, s:s, s:b, s:s, s:{s:s, s:i, s:i}},"
        " s:{s:s, s:s, s:s, s:{s:s, s:i, s:i}},"
        " s:{s:s, s:s, s:s, s:{s:s}},"
        " s:{s:s, s:s, s:s, s:{s:s, s:i}},"
        " s:{s:s, s:s, s:s, s:{s:s, s:i}},"
        " s:{s:s, s:s, s:s, s:{s:s, s:i, s:i}}}",
        "ActorName", "name", "name", "in", "path", "required", 1, "description",
        "the name the actor is registered under in the swarm", "schema", "type",
        "string", "minLength", 1, "maxLength", 255, "XRequestId", "name",
        "X-Request-Id", "in", "header", "description",
        "echoed and logged; made up when absent or not 1-128 of "
        "[A-Za-z0-9._:@/+=-]",
        "schema", "type", "string", "minLength", 1, "maxLength", 128,
        "Traceparent", "name", "traceparent", "in", "header", "description",
        "W3C trace context, passed through to the logs", "schema", "type",
        "string", "XTimeoutMs", "name", "X-Timeout-Ms", "in", "header",
        "description",
        "reply timeout in milliseconds, capped by --max-timeout-ms", "schema",
        "type", "integer", "minimum", 1, "XMailboxTimeoutMs", "name",
        "X-Mailbox-Timeout-Ms", "in", "header", "description",
        "how long to wait for room in a full mailbox; 0 fails at once with "
        "MAILBOX_FULL",
        "schema", "type", "integer", "minimum", 0, "IdempotencyKey", "name",
        "Idempotency-Key", "in", "header", "description",
        "the first answer is stored for 24 h and replayed for the same "
        "request; another request with the key gets 409",
        "schema", "type", "string", "minLength", 1, "maxLength", 255);
    json_t *responses = json_pack(
        "{s:{s:s, s:{s:o, s:o}, s:{s:{s:o}}}}", "Error", "description",
        "the one error body; see gateway/README.md for the table", "headers",
        "X-Request-Id", ref("headers", "XRequestId"), "Retry-After",
        ref("headers", "RetryAfter"), "content", "application/json", "schema",
        ref("schemas", "Error"));
    json_t *headers =
        json_pack("{s:{s:s, s:{s:s}}, s:{s:s, s:{s:s}}}", "XRequestId",
                  "description", "the request's id", "schema", "type", "string",
                  "RetryAfter", "description", "seconds; sent with 429 and 503",
                  "schema", "type", "integer");
    return json_pack("{s:O, s:o, s:o, s:o}", "schemas", b->schemas,
                     "parameters", params, "responses", responses, "headers",
                     headers);
}

static void add_public(json_t *paths)
{
    json_object_set_new(paths, "/healthz",
                        json_pack("{s:{s:s, s:s, s:{s:{s:s}}}}", "get",
                                  "operationId", "healthz", "summary",
                                  "liveness", "responses", "204", "description",
                                  "the process is alive"));
    json_object_set_new(
        paths, "/readyz",
        json_pack("{s:{s:s, s:s, s:{s:{s:s}, s:o}}}", "get", "operationId",
                  "readyz", "summary",
                  "readiness: the swarm is up and the database open",
                  "responses", "204", "description", "ready", "503",
                  ref("responses", "Error")));
    json_object_set_new(
        paths, "/metrics",
        json_pack("{s:{s:s, s:s, s:{s:{s:s, s:{s:{s:{s:s}}}}}}}", "get",
                  "operationId", "metrics", "summary",
                  "Prometheus text exposition", "responses", "200",
                  "description", "metrics", "content", "text/plain", "schema",
                  "type", "string"));
    json_object_set_new(
        paths, "/openapi.json",
        json_pack("{s:{s:s, s:s, s:{s:{s:s, s:{s:{s:{s:s}}}}}}}", "get",
                  "operationId", "openapi", "summary", "this document",
                  "responses", "200", "description", "OpenAPI 3.1", "content",
                  "application/json", "schema", "type", "object"));
}

json_t *gw_openapi_build(const gw_registry *reg, const char *version)
{
    build b = {json_object(), json_object(), reg,
               json_object(), json_object(), false};
    json_t *doc = NULL;
    if (!b.paths || !b.schemas || !b.seen_ask || !b.seen_tell)
        goto done;
    gw_registry_foreach_latest(reg, count_names, &b);
    gw_registry_foreach_latest(reg, add_message, &b);
    add_public(b.paths);
    doc = json_pack(
        "{s:s, s:{s:s, s:s, s:s}, s:O, s:o}", "openapi", "3.1.0", "info",
        "title", "actorgate", "version", version, "description",
        "HTTP to the actors of a swarm: POST /v1/actors/{name}/ask/{message} "
        "asks the actor registered under name and answers with its reply; "
        "/tell/ sends without waiting for a reply (202).",
        "paths", b.paths, "components", components(&b));
done:
    json_decref(b.paths);
    json_decref(b.schemas);
    json_decref(b.seen_ask);
    json_decref(b.seen_tell);
    return doc;
}
