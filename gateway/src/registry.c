/* The message-schema registry: subjects, versions, ids, compatibility. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"

struct version {
    int version;
    int64_t id;
    bool deleted;
    gw_message *msg;
};

struct subject {
    char *name;                 /* "<actor>::<message>" */
    char *actor;                /* own copy */
    const char *message;        /* points into name */
    char uuid[GW_UUID_LEN + 1]; /* "" until the first version */
    struct version *v;          /* ascending by version */
    size_t nv, cap;
    int latest; /* index of the latest live version, -1 none */
    int next_version;
    int level; /* -1: the global level applies */
};

struct schema_id {
    int64_t id;
    char *text;
};

/* Open addressing, linear probing, never deletes: subjects live as long as
 * the registry. Each table compares (actor, second part) of the subject. */
struct slot {
    uint64_t hash;
    struct subject *s;
};

struct table {
    struct slot *slots;
    size_t cap, n;
    bool by_uuid;
};

struct gw_registry {
    struct subject **subjects;
    size_t ns, cap;
    struct table by_name, by_uuid;
    struct schema_id *ids;
    size_t nids, capids;
    int64_t next_id;
    int level;
    gw_change_fn hook;
    void *hook_ud;
};

static const char *const level_names[] = {
    "NONE",
    "BACKWARD",
    "BACKWARD_TRANSITIVE",
    "FORWARD",
    "FORWARD_TRANSITIVE",
    "FULL",
    "FULL_TRANSITIVE",
};

const char *gw_compat_name(int level)
{
    if (level < 0 || level > GW_COMPAT_FULL_TRANSITIVE)
        return NULL;
    return level_names[level];
}

int gw_compat_parse(const char *s)
{
    for (int i = 0; s && i <= GW_COMPAT_FULL_TRANSITIVE; i++)
        if (!strcmp(s, level_names[i]))
            return i;
    return -1;
}

static int reg_fail(gw_reg_error *err, int code, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int reg_fail(gw_reg_error *err, int code, int rc, const char *fmt, ...)
{
    if (!err)
        return rc;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return rc;
}

/* ------------------------------------------------------------ tables */

static uint64_t fnv(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static uint64_t key_hash(const char *a, size_t an, const char *b, size_t bn)
{
    uint64_t h = fnv(0xcbf29ce484222325ULL, a, an);
    h = fnv(h, "", 1);
    return fnv(h, b, bn);
}

static bool slot_matches(const struct table *t, const struct slot *sl,
                         uint64_t h, const char *a, size_t an, const char *b,
                         size_t bn)
{
    if (sl->hash != h)
        return false;
    const struct subject *s = sl->s;
    const char *second = t->by_uuid ? s->uuid : s->message;
    return strlen(s->actor) == an && !memcmp(s->actor, a, an) &&
           strlen(second) == bn && !memcmp(second, b, bn);
}

static struct slot *table_find(const struct table *t, const char *a, size_t an,
                               const char *b, size_t bn)
{
    if (!t->cap)
        return NULL;
    uint64_t h = key_hash(a, an, b, bn);
    for (size_t i = h & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        struct slot *sl = &t->slots[i];
        if (!sl->s)
            return NULL;
        if (slot_matches(t, sl, h, a, an, b, bn))
            return sl;
    }
}

static void table_place(struct slot *slots, size_t cap, uint64_t h,
                        struct subject *s)
{
    size_t i = h & (cap - 1);
    while (slots[i].s)
        i = (i + 1) & (cap - 1);
    slots[i].hash = h;
    slots[i].s = s;
}

/* Points (actor, key) at s, adding the key if new. */
static int table_put(struct table *t, const char *key, struct subject *s)
{
    size_t an = strlen(s->actor), kn = strlen(key);
    struct slot *sl = table_find(t, s->actor, an, key, kn);
    if (sl) {
        sl->s = s;
        return 0;
    }
    if ((t->n + 1) * 2 > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        struct slot *ns = calloc(cap, sizeof(*ns));
        if (!ns)
            return AL_ENOMEM;
        for (size_t i = 0; i < t->cap; i++)
            if (t->slots[i].s)
                table_place(ns, cap, t->slots[i].hash, t->slots[i].s);
        free(t->slots);
        t->slots = ns;
        t->cap = cap;
    }
    table_place(t->slots, t->cap, key_hash(s->actor, an, key, kn), s);
    t->n++;
    return 0;
}

/* ------------------------------------------------------------ subjects */

/* Splits "<actor>::<message>" at the last "::". */
static bool split_subject(const char *subject, size_t *actor_len,
                          const char **message)
{
    const char *sep = NULL;
    for (const char *p = subject ? strstr(subject, "::") : NULL; p;
         p = strstr(p + 1, "::"))
        sep = p;
    if (!sep || !gw_message_name_valid(sep + 2))
        return false;
    *actor_len = (size_t)(sep - subject);
    *message = sep + 2;
    char actor[256];
    if (*actor_len == 0 || *actor_len >= sizeof(actor))
        return false;
    memcpy(actor, subject, *actor_len);
    actor[*actor_len] = '\0';
    return gw_actor_id_valid(actor);
}

static struct subject *find_subject(const gw_registry *r, const char *name)
{
    size_t an;
    const char *msg;
    if (!split_subject(name, &an, &msg))
        return NULL;
    struct slot *sl = table_find(&r->by_name, name, an, msg, strlen(msg));
    return sl ? sl->s : NULL;
}

static void subject_free(struct subject *s)
{
    for (size_t i = 0; i < s->nv; i++)
        gw_message_free(s->v[i].msg);
    free(s->v);
    free(s->name);
    free(s->actor);
    free(s);
}

/* Finds or creates the subject; new subjects are indexed by name at once
 * (an empty subject is harmless: it lists nowhere). */
static int get_subject(gw_registry *r, const char *actor, const char *message,
                       struct subject **out)
{
    size_t an = strlen(actor), mn = strlen(message);
    struct slot *sl = table_find(&r->by_name, actor, an, message, mn);
    if (sl) {
        *out = sl->s;
        return 0;
    }
    struct subject *s = calloc(1, sizeof(*s));
    if (!s)
        return AL_ENOMEM;
    s->latest = -1;
    s->next_version = 1;
    s->level = -1;
    s->name = malloc(an + mn + 3);
    s->actor = strdup(actor);
    if (!s->name || !s->actor)
        goto fail;
    memcpy(s->name, actor, an);
    memcpy(s->name + an, "::", 2);
    memcpy(s->name + an + 2, message, mn + 1);
    s->message = s->name + an + 2;
    if (r->ns == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        struct subject **ns = realloc(r->subjects, cap * sizeof(*ns));
        if (!ns)
            goto fail;
        r->subjects = ns;
        r->cap = cap;
    }
    if (table_put(&r->by_name, s->message, s))
        goto fail;
    r->subjects[r->ns++] = s;
    *out = s;
    return 0;
fail:
    subject_free(s);
    return AL_ENOMEM;
}

static int subject_arg(const gw_registry *r, const char *subject,
                       struct subject **out, gw_reg_error *err)
{
    *out = find_subject(r, subject);
    if (!*out || !(*out)->nv)
        return reg_fail(err, GW_REG_SUBJECT_NOT_FOUND, AL_ENOTFOUND,
                        "Subject '%s' not found.", subject ? subject : "");
    return 0;
}

static void update_latest(struct subject *s)
{
    s->latest = -1;
    for (size_t i = s->nv; i-- > 0;)
        if (!s->v[i].deleted) {
            s->latest = (int)i;
            return;
        }
}

static void fill_info(const struct subject *s, const struct version *v,
                      gw_version_info *out)
{
    if (!out)
        return;
    out->subject = s->name;
    out->actor = s->actor;
    out->version = v->version;
    out->id = v->id;
    out->deleted = v->deleted;
    out->message = v->msg;
}

/* "latest", "-1" or 1..INT32_MAX; 0 for latest, -1 if invalid. */
static int parse_version(const char *s)
{
    if (!s)
        return -1;
    if (!strcmp(s, "latest") || !strcmp(s, "-1"))
        return 0;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < 1 || v > INT32_MAX || s[0] == '+')
        return -1;
    return (int)v;
}

static int version_arg(const struct subject *s, const char *version,
                       bool deleted, struct version **out, gw_reg_error *err)
{
    int want = parse_version(version);
    if (want < 0)
        return reg_fail(err, GW_REG_INVALID_VERSION, AL_EINVAL,
                        "The specified version '%s' is not a valid version "
                        "id. Allowed values are between [1, 2^31-1] and the "
                        "string \"latest\"",
                        version ? version : "");
    if (want == 0 && s->latest >= 0) {
        *out = &s->v[s->latest];
        return 0;
    }
    for (size_t i = 0; want && i < s->nv; i++)
        if (s->v[i].version == want && (deleted || !s->v[i].deleted)) {
            *out = &s->v[i];
            return 0;
        }
    return reg_fail(err, GW_REG_VERSION_NOT_FOUND, AL_ENOTFOUND,
                    "Version %s not found.", version);
}

/* ------------------------------------------------------------ lifetime */

int gw_registry_new(gw_registry **out)
{
    gw_registry *r = calloc(1, sizeof(*r));
    if (!r)
        return AL_ENOMEM;
    r->by_uuid.by_uuid = true;
    r->next_id = 1;
    r->level = GW_COMPAT_BACKWARD;
    *out = r;
    return 0;
}

void gw_registry_free(gw_registry *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->ns; i++)
        subject_free(r->subjects[i]);
    free(r->subjects);
    free(r->by_name.slots);
    free(r->by_uuid.slots);
    for (size_t i = 0; i < r->nids; i++)
        free(r->ids[i].text);
    free(r->ids);
    free(r);
}

void gw_registry_on_change(gw_registry *r, gw_change_fn fn, void *ud)
{
    r->hook = fn;
    r->hook_ud = ud;
}

static int notify(gw_registry *r, const gw_change *c, gw_reg_error *err)
{
    if (r->hook && r->hook(c, r->hook_ud))
        return reg_fail(err, GW_REG_STORE_ERROR, AL_EIO,
                        "Error while storing the change");
    return 0;
}

/* ------------------------------------------------------------ hot path */

const gw_message *gw_registry_find(const gw_registry *r, const char *actor,
                                   const char *message, gw_version_info *info)
{
    if (!actor || !message)
        return NULL;
    size_t an = strlen(actor), mn = strlen(message);
    char uuid[GW_UUID_LEN + 1];
    struct slot *sl;
    if (gw_uuid_normalize(message, mn, uuid) == 0)
        sl = table_find(&r->by_uuid, actor, an, uuid, GW_UUID_LEN);
    else
        sl = table_find(&r->by_name, actor, an, message, mn);
    if (!sl || sl->s->latest < 0)
        return NULL;
    const struct version *v = &sl->s->v[sl->s->latest];
    fill_info(sl->s, v, info);
    return v->msg;
}

/* ------------------------------------------------------------ ids */

static struct schema_id *id_by_text(const gw_registry *r, const char *text)
{
    for (size_t i = 0; i < r->nids; i++)
        if (!strcmp(r->ids[i].text, text))
            return &r->ids[i];
    return NULL;
}

static struct schema_id *id_by_number(const gw_registry *r, int64_t id)
{
    for (size_t i = 0; i < r->nids; i++)
        if (r->ids[i].id == id)
            return &r->ids[i];
    return NULL;
}

static int add_id(gw_registry *r, int64_t id, const char *text)
{
    if (r->nids == r->capids) {
        size_t cap = r->capids ? r->capids * 2 : 16;
        struct schema_id *n = realloc(r->ids, cap * sizeof(*n));
        if (!n)
            return AL_ENOMEM;
        r->ids = n;
        r->capids = cap;
    }
    char *t = strdup(text);
    if (!t)
        return AL_ENOMEM;
    r->ids[r->nids++] = (struct schema_id){id, t};
    if (id >= r->next_id)
        r->next_id = id + 1;
    return 0;
}

/* ------------------------------------------------------------ compat */

/* Can a reader with `reader` handle everything written with `writer`? */
static bool readable(const gw_message *writer, const gw_message *reader,
                     const char *label, json_t *msgs)
{
    char where[64];
    bool ok = true;
    if ((writer->kind & reader->kind) != writer->kind) {
        ok = false;
        if (msgs) {
            char line[160];
            snprintf(line, sizeof(line),
                     "%s /kind: writer is sent as %s, the reader only "
                     "takes %s",
                     label, gw_kind_name(writer->kind),
                     gw_kind_name(reader->kind));
            json_array_append_new(msgs, json_string(line));
        }
    }
    snprintf(where, sizeof(where), "%s /request", label);
    ok &= gw_schema_subset(writer->request, reader->request, where, msgs);
    if ((writer->kind & GW_KIND_ASK) && (reader->kind & GW_KIND_ASK)) {
        snprintf(where, sizeof(where), "%s /reply", label);
        ok &= gw_schema_subset(writer->reply, reader->reply, where, msgs);
        snprintf(where, sizeof(where), "%s /error", label);
        ok &= gw_schema_subset(writer->error, reader->error, where, msgs);
    }
    return ok;
}

static bool compatible_with(int level, const gw_message *old,
                            const gw_message *new_msg, json_t *msgs)
{
    bool ok = true;
    bool back = level == GW_COMPAT_BACKWARD ||
                level == GW_COMPAT_BACKWARD_TRANSITIVE ||
                level == GW_COMPAT_FULL || level == GW_COMPAT_FULL_TRANSITIVE;
    bool fwd = level == GW_COMPAT_FORWARD ||
               level == GW_COMPAT_FORWARD_TRANSITIVE ||
               level == GW_COMPAT_FULL || level == GW_COMPAT_FULL_TRANSITIVE;
    if (back)
        ok &= readable(old, new_msg, "BACKWARD", msgs);
    if (fwd)
        ok &= readable(new_msg, old, "FORWARD", msgs);
    return ok;
}

static bool transitive(int level)
{
    return level == GW_COMPAT_BACKWARD_TRANSITIVE ||
           level == GW_COMPAT_FORWARD_TRANSITIVE ||
           level == GW_COMPAT_FULL_TRANSITIVE;
}

static int level_of(const gw_registry *r, const struct subject *s)
{
    return s && s->level >= 0 ? s->level : r->level;
}

/* Against the latest live version, or all of them when transitive. */
static bool compatible_subject(const gw_registry *r, const struct subject *s,
                               const gw_message *m, json_t *msgs)
{
    int level = level_of(r, s);
    if (!s || s->latest < 0 || level == GW_COMPAT_NONE)
        return true;
    if (!transitive(level))
        return compatible_with(level, s->v[s->latest].msg, m, msgs);
    bool ok = true;
    for (size_t i = 0; i < s->nv; i++)
        if (!s->v[i].deleted)
            ok &= compatible_with(level, s->v[i].msg, m, msgs);
    return ok;
}

static void join_messages(json_t *msgs, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < json_array_size(msgs) && o + 1 < cap; i++) {
        int n = snprintf(out + o, cap - o, "%s%s", i ? "; " : "",
                         json_string_value(json_array_get(msgs, i)));
        if (n < 0)
            break;
        o += (size_t)n;
    }
}

/* ------------------------------------------------------------ register */

static int compile_text(const char *text, size_t len, gw_message **m,
                        gw_reg_error *err)
{
    gw_schema_error se;
    int rc = gw_message_parse(text, len, m, &se);
    if (rc == AL_EINVAL)
        return reg_fail(err, GW_REG_INVALID_SCHEMA, rc,
                        "Invalid schema: at %s: %s",
                        se.pointer[0] ? se.pointer : "/", se.reason);
    return rc;
}

static int subject_for(const char *subject, const gw_message *m, char *actor,
                       size_t cap, gw_reg_error *err)
{
    size_t an;
    const char *msg;
    if (!split_subject(subject, &an, &msg) || an >= cap)
        return reg_fail(err, GW_REG_INVALID_SUBJECT, AL_EINVAL,
                        "Invalid subject '%s': expected "
                        "<actor remote id>::<message name>",
                        subject ? subject : "");
    if (m && strcmp(msg, m->name))
        return reg_fail(err, GW_REG_INVALID_SCHEMA, AL_EINVAL,
                        "Invalid schema: the message is named '%s' but the "
                        "subject is '%s'",
                        m->name, subject);
    memcpy(actor, subject, an);
    actor[an] = '\0';
    return 0;
}

static int append_version(struct subject *s, const struct version *v)
{
    if (s->nv == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4;
        struct version *nv = realloc(s->v, cap * sizeof(*nv));
        if (!nv)
            return AL_ENOMEM;
        s->v = nv;
        s->cap = cap;
    }
    size_t i = s->nv;
    while (i > 0 && s->v[i - 1].version > v->version) {
        s->v[i] = s->v[i - 1];
        i--;
    }
    s->v[i] = *v;
    s->nv++;
    if (v->version >= s->next_version)
        s->next_version = v->version + 1;
    update_latest(s);
    return 0;
}

/* The UUID must stay the subject's, and no other live subject of the actor
 * may hold it. */
static int check_uuid(const gw_registry *r, const struct subject *s,
                      const char *actor, const gw_message *m, gw_reg_error *err)
{
    if (s && s->uuid[0] && strcmp(s->uuid, m->uuid))
        return reg_fail(err, GW_REG_INVALID_SCHEMA, AL_EINVAL,
                        "Invalid schema: uuid %s differs from the subject's "
                        "uuid %s (a new uuid is a new message: give it a new "
                        "name)",
                        m->uuid, s->uuid);
    struct slot *sl =
        table_find(&r->by_uuid, actor, strlen(actor), m->uuid, GW_UUID_LEN);
    if (sl && sl->s != s && sl->s->latest >= 0)
        return reg_fail(err, GW_REG_INVALID_SCHEMA, AL_EINVAL,
                        "Invalid schema: uuid %s is already used by subject "
                        "'%s'",
                        m->uuid, sl->s->name);
    return 0;
}

/* Adds m (taken) as version `number` (0 = next) with `id` (0 = by text). */
static int commit_version(gw_registry *r, const char *actor, gw_message *m,
                          int number, int64_t id, bool deleted, bool hook,
                          gw_version_info *out, gw_reg_error *err)
{
    struct subject *s;
    int rc = get_subject(r, actor, m->name, &s);
    if (rc)
        goto fail;
    struct schema_id *known = id_by_text(r, m->canonical);
    if (id && known && known->id != id) {
        rc = reg_fail(err, GW_REG_INVALID_SCHEMA, AL_EINVAL,
                      "Schema id %lld holds the text of id %lld", (long long)id,
                      (long long)known->id);
        goto fail;
    }
    struct schema_id *other = id ? id_by_number(r, id) : NULL;
    if (other && strcmp(other->text, m->canonical)) {
        rc = reg_fail(err, GW_REG_INVALID_SCHEMA, AL_EINVAL,
                      "Schema id %lld already holds another schema",
                      (long long)id);
        goto fail;
    }
    struct version v = {number ? number : s->next_version,
                        id      ? id
                        : known ? known->id
                                : r->next_id,
                        deleted, m};
    for (size_t i = 0; i < s->nv; i++)
        if (s->v[i].version == v.version) {
            rc = reg_fail(err, GW_REG_INVALID_VERSION, AL_EINVAL,
                          "Version %d of '%s' exists already", v.version,
                          s->name);
            goto fail;
        }
    if (hook) {
        gw_change c = {GW_CHANGE_VERSION, s->name, v.version, v.id,
                       m->canonical,      0};
        if ((rc = notify(r, &c, err)))
            goto fail;
    }
    /* A live version takes the uuid's index entry; a restored deleted one
     * only fills it when nothing holds it. */
    size_t an = strlen(actor);
    if (!deleted || !table_find(&r->by_uuid, actor, an, m->uuid, GW_UUID_LEN))
        memcpy(s->uuid, m->uuid, sizeof(s->uuid));
    if ((!known && (rc = add_id(r, v.id, m->canonical))) ||
        (s->uuid[0] && (rc = table_put(&r->by_uuid, m->uuid, s))) ||
        (rc = append_version(s, &v)))
        goto fail;
    memcpy(s->uuid, m->uuid, sizeof(s->uuid));
    for (size_t i = 0; out && i < s->nv; i++)
        if (s->v[i].version == v.version)
            fill_info(s, &s->v[i], out);
    return 0;
fail:
    gw_message_free(m);
    if (rc == AL_ENOMEM)
        reg_fail(err, GW_REG_STORE_ERROR, rc, "Out of memory");
    return rc;
}

int gw_registry_register_message(gw_registry *r, const char *actor,
                                 gw_message *m, gw_version_info *out,
                                 gw_reg_error *err)
{
    if (!gw_actor_id_valid(actor)) {
        gw_message_free(m);
        return reg_fail(err, GW_REG_INVALID_SUBJECT, AL_EINVAL,
                        "Invalid actor remote id '%s'", actor ? actor : "");
    }
    struct slot *sl =
        table_find(&r->by_name, actor, strlen(actor), m->name, strlen(m->name));
    struct subject *s = sl ? sl->s : NULL;
    for (size_t i = 0; s && i < s->nv; i++)
        if (!s->v[i].deleted && !strcmp(s->v[i].msg->canonical, m->canonical)) {
            gw_message_free(m);
            fill_info(s, &s->v[i], out);
            return 0;
        }
    int rc = check_uuid(r, s, actor, m, err);
    if (rc) {
        gw_message_free(m);
        return rc;
    }
    json_t *msgs = json_array();
    if (!msgs) {
        gw_message_free(m);
        return AL_ENOMEM;
    }
    if (!compatible_subject(r, s, m, msgs)) {
        char why[400];
        join_messages(msgs, why, sizeof(why));
        json_decref(msgs);
        gw_message_free(m);
        return reg_fail(err, GW_REG_INCOMPATIBLE, AL_EINVAL,
                        "Schema being registered is incompatible with an "
                        "earlier schema for subject \"%s::%s\": %s",
                        actor, s->message, why);
    }
    json_decref(msgs);
    return commit_version(r, actor, m, 0, 0, false, true, out, err);
}

int gw_registry_register(gw_registry *r, const char *subject, const char *text,
                         size_t len, gw_version_info *out, gw_reg_error *err)
{
    char actor[256];
    gw_message *m;
    int rc = subject_for(subject, NULL, actor, sizeof(actor), err);
    if (rc || (rc = compile_text(text, len, &m, err)))
        return rc;
    if ((rc = subject_for(subject, m, actor, sizeof(actor), err))) {
        gw_message_free(m);
        return rc;
    }
    return gw_registry_register_message(r, actor, m, out, err);
}

/* Puts "file: /messages/N (Name): " in front of err's message. */
static void prefix_error(gw_reg_error *err, const char *file, size_t index,
                         const char *name)
{
    char full[1024];
    int n = snprintf(full, sizeof(full),
                     "%.300s: /messages/%zu (%.128s): ", file, index, name);
    size_t used = n > 0 ? (size_t)n : 0;
    size_t keep = strnlen(err->message, sizeof(err->message));
    if (keep > sizeof(full) - used - 1)
        keep = sizeof(full) - used - 1;
    memcpy(full + used, err->message, keep);
    used += keep;
    if (used > sizeof(err->message) - 1)
        used = sizeof(err->message) - 1;
    memcpy(err->message, full, used);
    err->message[used] = '\0';
}

int gw_registry_register_files(gw_registry *r, gw_schemafile **files, size_t n,
                               gw_reg_error *err)
{
    for (size_t i = 0; i < n; i++) {
        gw_schemafile *f = files[i];
        for (size_t j = 0; j < f->nmessages; j++) {
            gw_message *m = f->messages[j];
            f->messages[j] = NULL;
            char name[GW_SCHEMA_REASON_MAX];
            snprintf(name, sizeof(name), "%s", m->name);
            int rc = gw_registry_register_message(r, f->actor, m, NULL, err);
            if (rc) {
                if (err)
                    prefix_error(err, f->name, j, name);
                return rc;
            }
        }
    }
    return 0;
}

int gw_registry_check(const gw_registry *r, const char *subject,
                      const char *version, const char *text, size_t len,
                      bool *compatible, json_t *messages, gw_reg_error *err)
{
    char actor[256];
    gw_message *m;
    int rc = subject_for(subject, NULL, actor, sizeof(actor), err);
    if (rc)
        return rc;
    struct subject *s = find_subject(r, subject);
    struct version *v = NULL;
    if (version) {
        if ((rc = subject_arg(r, subject, &s, err)) ||
            (rc = version_arg(s, version, false, &v, err)))
            return rc;
    }
    if ((rc = compile_text(text, len, &m, err)))
        return rc;
    if ((rc = subject_for(subject, m, actor, sizeof(actor), err))) {
        gw_message_free(m);
        return rc;
    }
    int level = level_of(r, s);
    if (v)
        *compatible = level == GW_COMPAT_NONE ||
                      compatible_with(level, v->msg, m, messages);
    else
        *compatible = compatible_subject(r, s, m, messages);
    gw_message_free(m);
    return 0;
}

int gw_registry_lookup_schema(const gw_registry *r, const char *subject,
                              const char *text, size_t len,
                              gw_version_info *out, gw_reg_error *err)
{
    struct subject *s;
    gw_message *m;
    int rc = subject_arg(r, subject, &s, err);
    if (rc || (rc = compile_text(text, len, &m, err)))
        return rc;
    for (size_t i = s->nv; i-- > 0;)
        if (!s->v[i].deleted && !strcmp(s->v[i].msg->canonical, m->canonical)) {
            gw_message_free(m);
            fill_info(s, &s->v[i], out);
            return 0;
        }
    gw_message_free(m);
    return reg_fail(err, GW_REG_SCHEMA_NOT_FOUND, AL_ENOTFOUND,
                    "Schema not found");
}

/* ------------------------------------------------------------ reading */

static bool has_live(const struct subject *s)
{
    return s->latest >= 0;
}

json_t *gw_registry_subjects(const gw_registry *r, bool deleted)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < r->ns; i++) {
        const struct subject *s = r->subjects[i];
        if ((deleted ? s->nv > 0 : has_live(s)) &&
            json_array_append_new(a, json_string(s->name))) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

int gw_registry_versions(const gw_registry *r, const char *subject,
                         bool deleted, json_t **out, gw_reg_error *err)
{
    struct subject *s;
    int rc = subject_arg(r, subject, &s, err);
    if (rc)
        return rc;
    if (!deleted && !has_live(s))
        return reg_fail(err, GW_REG_SUBJECT_NOT_FOUND, AL_ENOTFOUND,
                        "Subject '%s' not found.", subject);
    json_t *a = json_array();
    for (size_t i = 0; a && i < s->nv; i++)
        if ((deleted || !s->v[i].deleted) &&
            json_array_append_new(a, json_integer(s->v[i].version))) {
            json_decref(a);
            a = NULL;
        }
    if (!a)
        return AL_ENOMEM;
    *out = a;
    return 0;
}

int gw_registry_get(const gw_registry *r, const char *subject,
                    const char *version, bool deleted, gw_version_info *out,
                    gw_reg_error *err)
{
    struct subject *s;
    struct version *v;
    int rc = subject_arg(r, subject, &s, err);
    if (rc || (rc = version_arg(s, version, deleted, &v, err)))
        return rc;
    fill_info(s, v, out);
    return 0;
}

int gw_registry_get_by_id(const gw_registry *r, int64_t id, const char **text,
                          gw_reg_error *err)
{
    const struct schema_id *sid = id_by_number(r, id);
    if (!sid)
        return reg_fail(err, GW_REG_SCHEMA_NOT_FOUND, AL_ENOTFOUND,
                        "Schema %lld not found", (long long)id);
    *text = sid->text;
    return 0;
}

int gw_registry_id_versions(const gw_registry *r, int64_t id, json_t **out,
                            gw_reg_error *err)
{
    if (!id_by_number(r, id))
        return reg_fail(err, GW_REG_SCHEMA_NOT_FOUND, AL_ENOTFOUND,
                        "Schema %lld not found", (long long)id);
    json_t *a = json_array();
    for (size_t i = 0; a && i < r->ns; i++) {
        const struct subject *s = r->subjects[i];
        for (size_t j = 0; a && j < s->nv; j++) {
            if (s->v[j].id != id || s->v[j].deleted)
                continue;
            json_t *o = json_pack("{s:s, s:i}", "subject", s->name, "version",
                                  s->v[j].version);
            if (json_array_append_new(a, o)) {
                json_decref(a);
                a = NULL;
            }
        }
    }
    if (!a)
        return AL_ENOMEM;
    *out = a;
    return 0;
}

json_t *gw_registry_subjects_by_uuid(const gw_registry *r, const char *uuid)
{
    char norm[GW_UUID_LEN + 1];
    if (!uuid || gw_uuid_normalize(uuid, strlen(uuid), norm))
        return NULL;
    json_t *a = json_array();
    for (size_t i = 0; a && i < r->ns; i++) {
        const struct subject *s = r->subjects[i];
        if (has_live(s) && !strcmp(s->uuid, norm) &&
            json_array_append_new(a, json_string(s->name))) {
            json_decref(a);
            a = NULL;
        }
    }
    return a;
}

json_t *gw_version_json(const gw_version_info *v)
{
    return json_pack("{s:s, s:I, s:i, s:s, s:s}", "subject", v->subject, "id",
                     (json_int_t)v->id, "version", v->version, "schemaType",
                     "JSON", "schema", v->message->canonical);
}

void gw_registry_foreach_latest(const gw_registry *r,
                                void (*fn)(const gw_version_info *v, void *ud),
                                void *ud)
{
    for (size_t i = 0; i < r->ns; i++) {
        const struct subject *s = r->subjects[i];
        if (!has_live(s))
            continue;
        gw_version_info info;
        fill_info(s, &s->v[s->latest], &info);
        fn(&info, ud);
    }
}

/* ------------------------------------------------------------ deleting */

int gw_registry_delete_version(gw_registry *r, const char *subject,
                               const char *version, int *deleted,
                               gw_reg_error *err)
{
    struct subject *s;
    struct version *v;
    int rc = subject_arg(r, subject, &s, err);
    if (rc || (rc = version_arg(s, version, true, &v, err)))
        return rc;
    if (v->deleted)
        return reg_fail(err, GW_REG_VERSION_SOFT_DELETED, AL_ENOTFOUND,
                        "Version %d of subject '%s' was soft deleted",
                        v->version, subject);
    gw_change c = {
        GW_CHANGE_DELETE_VERSION, s->name, v->version, v->id, NULL, 0};
    if ((rc = notify(r, &c, err)))
        return rc;
    v->deleted = true;
    update_latest(s);
    if (deleted)
        *deleted = v->version;
    return 0;
}

int gw_registry_delete_subject(gw_registry *r, const char *subject,
                               json_t **out, gw_reg_error *err)
{
    struct subject *s;
    int rc = subject_arg(r, subject, &s, err);
    if (rc)
        return rc;
    if (!has_live(s))
        return reg_fail(err, GW_REG_SUBJECT_SOFT_DELETED, AL_ENOTFOUND,
                        "Subject '%s' was soft deleted", subject);
    json_t *a = out ? json_array() : NULL;
    for (size_t i = 0; out && a && i < s->nv; i++)
        if (!s->v[i].deleted &&
            json_array_append_new(a, json_integer(s->v[i].version))) {
            json_decref(a);
            a = NULL;
        }
    if (out && !a)
        return AL_ENOMEM;
    gw_change c = {GW_CHANGE_DELETE_SUBJECT, s->name, 0, 0, NULL, 0};
    if ((rc = notify(r, &c, err))) {
        json_decref(a);
        return rc;
    }
    for (size_t i = 0; i < s->nv; i++)
        s->v[i].deleted = true;
    s->latest = -1;
    if (out)
        *out = a;
    return 0;
}

/* ------------------------------------------------------------ config */

int gw_registry_get_config(const gw_registry *r, const char *subject,
                           bool default_to_global, int *level,
                           gw_reg_error *err)
{
    if (!subject) {
        *level = r->level;
        return 0;
    }
    const struct subject *s = find_subject(r, subject);
    if (s && s->level >= 0) {
        *level = s->level;
        return 0;
    }
    if (default_to_global) {
        *level = r->level;
        return 0;
    }
    return reg_fail(err, GW_REG_NO_SUBJECT_CONFIG, AL_ENOTFOUND,
                    "Subject '%s' does not have subject-level compatibility "
                    "configured",
                    subject);
}

static int config_subject(gw_registry *r, const char *subject,
                          struct subject **out, gw_reg_error *err)
{
    char actor[256];
    int rc = subject_for(subject, NULL, actor, sizeof(actor), err);
    if (rc)
        return rc;
    const char *msg = subject + strlen(actor) + 2;
    return get_subject(r, actor, msg, out);
}

int gw_registry_set_config(gw_registry *r, const char *subject,
                           const char *level, gw_reg_error *err)
{
    int l = gw_compat_parse(level);
    if (l < 0)
        return reg_fail(err, GW_REG_INVALID_COMPAT, AL_EINVAL,
                        "Invalid compatibility level. Valid values are none, "
                        "backward, forward, full, backward_transitive, "
                        "forward_transitive, and full_transitive");
    struct subject *s = NULL;
    int rc = subject ? config_subject(r, subject, &s, err) : 0;
    if (rc)
        return rc;
    gw_change c = {GW_CHANGE_CONFIG, s ? s->name : NULL, 0, 0, NULL, l};
    if ((rc = notify(r, &c, err)))
        return rc;
    if (s)
        s->level = l;
    else
        r->level = l;
    return 0;
}

int gw_registry_delete_config(gw_registry *r, const char *subject, int *old,
                              gw_reg_error *err)
{
    struct subject *s = find_subject(r, subject);
    if (!s || s->level < 0)
        return reg_fail(err, GW_REG_NO_SUBJECT_CONFIG, AL_ENOTFOUND,
                        "Subject '%s' does not have subject-level "
                        "compatibility configured",
                        subject ? subject : "");
    gw_change c = {GW_CHANGE_DELETE_CONFIG, s->name, 0, 0, NULL, s->level};
    int rc = notify(r, &c, err);
    if (rc)
        return rc;
    if (old)
        *old = s->level;
    s->level = -1;
    return 0;
}

/* ------------------------------------------------------------ restore */

int gw_registry_restore_version(gw_registry *r, const char *subject,
                                int version, int64_t id, bool deleted,
                                const char *text, size_t len, gw_reg_error *err)
{
    char actor[256];
    gw_message *m;
    if (version < 1 || id < 1)
        return reg_fail(err, GW_REG_INVALID_VERSION, AL_EINVAL,
                        "Stored version %d / id %lld is not valid", version,
                        (long long)id);
    int rc = subject_for(subject, NULL, actor, sizeof(actor), err);
    if (rc || (rc = compile_text(text, len, &m, err)))
        return rc;
    if ((rc = subject_for(subject, m, actor, sizeof(actor), err))) {
        gw_message_free(m);
        return rc;
    }
    const struct subject *s = find_subject(r, subject);
    if (s && s->uuid[0] && strcmp(s->uuid, m->uuid)) {
        rc = check_uuid(r, s, actor, m, err);
        gw_message_free(m);
        return rc;
    }
    return commit_version(r, actor, m, version, id, deleted, false, NULL, err);
}

int gw_registry_restore_config(gw_registry *r, const char *subject, int level,
                               gw_reg_error *err)
{
    if (!gw_compat_name(level))
        return reg_fail(err, GW_REG_INVALID_COMPAT, AL_EINVAL,
                        "Invalid compatibility level %d", level);
    struct subject *s = NULL;
    int rc = subject ? config_subject(r, subject, &s, err) : 0;
    if (rc)
        return rc;
    if (s)
        s->level = level;
    else
        r->level = level;
    return 0;
}
