/* Schema files and message documents: parse, check, compile, and point at
 * the line of whatever is wrong. */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schemafile.h"

#define MAX_FILE_BYTES (4u << 20)
#define MAX_NAME_LEN   128

/* ------------------------------------------------------------ names */

int gw_uuid_normalize(const char *in, size_t len, char out[GW_UUID_LEN + 1])
{
    if (!in || len != GW_UUID_LEN)
        return AL_EINVAL;
    for (size_t i = 0; i < GW_UUID_LEN; i++) {
        char c = in[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return AL_EINVAL;
        } else if (c >= 'A' && c <= 'F') {
            c = (char)(c - 'A' + 'a');
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return AL_EINVAL;
        }
        out[i] = c;
    }
    out[GW_UUID_LEN] = '\0';
    return 0;
}

bool gw_message_name_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > MAX_NAME_LEN || (name[0] >= '0' && name[0] <= '9'))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return true;
}

bool gw_actor_id_valid(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > 255)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)id[i] <= 0x20 || (unsigned char)id[i] >= 0x7f)
            return false;
    return true;
}

const char *gw_kind_name(int kind)
{
    return kind == GW_KIND_ASK ? "ask" : kind == GW_KIND_TELL ? "tell" : "both";
}

/* ------------------------------------------------------------ messages */

static int msg_fail(gw_schema_error *err, const char *pointer, const char *fmt,
                    ...) __attribute__((format(printf, 3, 4)));

static int msg_fail(gw_schema_error *err, const char *pointer, const char *fmt,
                    ...)
{
    if (!err)
        return AL_EINVAL;
    snprintf(err->pointer, sizeof(err->pointer), "%s", pointer);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->reason, sizeof(err->reason), fmt, ap);
    va_end(ap);
    return AL_EINVAL;
}

/* Compiles doc[key] into *out, prefixing the error pointer with /key. */
static int compile_part(json_t *doc, const char *key, gw_schema **out,
                        gw_schema_error *err)
{
    json_t *s = json_object_get(doc, key);
    if (!s)
        return 0;
    gw_schema_error inner;
    int rc = gw_schema_compile(s, out, &inner);
    if (rc == AL_EINVAL && err) {
        size_t kl = strlen(key);
        err->pointer[0] = '/';
        memcpy(err->pointer + 1, key, kl);
        snprintf(err->pointer + 1 + kl, sizeof(err->pointer) - 1 - kl, "%s",
                 inner.pointer);
        memcpy(err->reason, inner.reason, sizeof(err->reason));
    }
    return rc;
}

void gw_message_free(gw_message *m)
{
    if (!m)
        return;
    free(m->name);
    gw_schema_free(m->request);
    gw_schema_free(m->reply);
    gw_schema_free(m->error);
    json_decref(m->doc);
    free(m->canonical);
    free(m);
}

static int read_kind(json_t *doc, int *kind, gw_schema_error *err)
{
    const char *k = json_string_value(json_object_get(doc, "kind"));
    if (!k)
        return msg_fail(err, "/kind",
                        "'kind' must be \"ask\", \"tell\" or \"both\"");
    if (!strcmp(k, "ask"))
        *kind = GW_KIND_ASK;
    else if (!strcmp(k, "tell"))
        *kind = GW_KIND_TELL;
    else if (!strcmp(k, "both"))
        *kind = GW_KIND_BOTH;
    else
        return msg_fail(err, "/kind",
                        "'kind' must be \"ask\", \"tell\" or \"both\"");
    return 0;
}

static int check_message_keys(json_t *doc, gw_schema_error *err)
{
    static const char *const keys[] = {"name",        "uuid",  "kind",
                                       "request",     "reply", "error",
                                       "description", NULL};
    const char *k;
    json_t *v;
    json_object_foreach(doc, k, v)
    {
        bool ok = false;
        for (const char *const *p = keys; *p; p++)
            ok = ok || !strcmp(*p, k);
        if (!ok) {
            char ptr[GW_SCHEMA_POINTER_MAX];
            snprintf(ptr, sizeof(ptr), "/%s", k);
            return msg_fail(err, ptr, "unknown message key '%s'", k);
        }
    }
    json_t *d = json_object_get(doc, "description");
    if (d && !json_is_string(d))
        return msg_fail(err, "/description", "'description' is a string");
    return 0;
}

static char *canonical_text(const json_t *doc)
{
    json_t *c = json_object();
    const char *k;
    json_t *v;
    char *text = NULL;
    if (!c)
        return NULL;
    json_t *sorted = gw_schema_canonical(doc); /* sorts the top keys too */
    if (!sorted)
        goto out;
    json_object_foreach(sorted, k, v)
    {
        bool part =
            !strcmp(k, "request") || !strcmp(k, "reply") || !strcmp(k, "error");
        json_t *cv = part ? gw_schema_canonical(json_object_get(doc, k))
                          : json_incref(v);
        if (json_object_set_new(c, k, cv))
            goto out;
    }
    text = json_dumps(c, JSON_COMPACT);
out:
    json_decref(sorted);
    json_decref(c);
    return text;
}

int gw_message_compile(json_t *doc, gw_message **out, gw_schema_error *err)
{
    *out = NULL;
    if (!json_is_object(doc))
        return msg_fail(err, "", "a message must be a JSON object");
    int rc = check_message_keys(doc, err);
    if (rc)
        return rc;
    gw_message *m = calloc(1, sizeof(*m));
    if (!m)
        return AL_ENOMEM;
    const char *name = json_string_value(json_object_get(doc, "name"));
    json_t *uuid = json_object_get(doc, "uuid");
    if (!gw_message_name_valid(name)) {
        rc = msg_fail(err, "/name",
                      "'name' must match [A-Za-z_][A-Za-z0-9_]* (at most "
                      "%d bytes)",
                      MAX_NAME_LEN);
        goto fail;
    }
    if (!json_is_string(uuid) ||
        gw_uuid_normalize(json_string_value(uuid), json_string_length(uuid),
                          m->uuid)) {
        rc = msg_fail(err, "/uuid",
                      "'uuid' must be a UUID: 8-4-4-4-12 hex digits");
        goto fail;
    }
    if ((rc = read_kind(doc, &m->kind, err)))
        goto fail;
    if (!json_object_get(doc, "request")) {
        rc = msg_fail(err, "", "missing 'request' schema");
        goto fail;
    }
    if (m->kind == GW_KIND_TELL && json_object_get(doc, "reply")) {
        rc = msg_fail(err, "/reply", "a tell has no reply");
        goto fail;
    }
    if (m->kind == GW_KIND_TELL && json_object_get(doc, "error")) {
        rc = msg_fail(err, "/error",
                      "a tell has no handler error that could come back");
        goto fail;
    }
    if (m->kind != GW_KIND_TELL && !json_object_get(doc, "reply")) {
        rc = msg_fail(err, "",
                      "missing 'reply' schema (use {\"type\": \"null\"} for "
                      "a reply of ())");
        goto fail;
    }
    if ((rc = compile_part(doc, "request", &m->request, err)) ||
        (rc = compile_part(doc, "reply", &m->reply, err)) ||
        (rc = compile_part(doc, "error", &m->error, err)))
        goto fail;
    if (!(m->name = strdup(name)) ||
        json_object_set_new(doc, "uuid", json_string(m->uuid))) {
        rc = AL_ENOMEM;
        goto fail;
    }
    m->doc = json_incref(doc);
    if (!(m->canonical = canonical_text(doc))) {
        rc = AL_ENOMEM;
        goto fail;
    }
    *out = m;
    return 0;
fail:
    gw_message_free(m);
    return rc;
}

int gw_message_parse(const char *text, size_t len, gw_message **out,
                     gw_schema_error *err)
{
    json_error_t je;
    *out = NULL;
    json_t *doc = gw_json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!doc)
        return msg_fail(err, "", "line %d column %d: %s", je.line, je.column,
                        je.text);
    int rc = gw_message_compile(doc, out, err);
    json_decref(doc);
    return rc;
}

/* ------------------------------------------------------------ locating */

static size_t skip_ws(const char *t, size_t n, size_t i)
{
    while (i < n &&
           (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r'))
        i++;
    return i;
}

static size_t skip_string(const char *t, size_t n, size_t i)
{
    for (i++; i < n && t[i] != '"'; i++)
        if (t[i] == '\\')
            i++;
    return i < n ? i + 1 : n;
}

/* Skips one value without recursion: strings are opaque, brackets count. */
static size_t skip_json(const char *t, size_t n, size_t i)
{
    size_t depth = 0;
    do {
        i = skip_ws(t, n, i);
        if (i >= n)
            return n;
        if (t[i] == '"') {
            i = skip_string(t, n, i);
        } else if (t[i] == '{' || t[i] == '[') {
            depth++, i++;
        } else if (t[i] == '}' || t[i] == ']') {
            depth--, i++;
        } else {
            while (i < n && !strchr(",:]} \t\r\n", t[i]))
                i++;
        }
        i = skip_ws(t, n, i);
        if (depth && i < n && (t[i] == ',' || t[i] == ':'))
            i++;
    } while (depth && i < n);
    return i;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80)
        return o[0] = (char)cp, 1;
    if (cp < 0x800)
        return o[0] = (char)(0xc0 | cp >> 6), o[1] = (char)(0x80 | (cp & 63)),
               2;
    if (cp < 0x10000)
        return o[0] = (char)(0xe0 | cp >> 12),
               o[1] = (char)(0x80 | ((cp >> 6) & 63)),
               o[2] = (char)(0x80 | (cp & 63)), 3;
    return o[0] = (char)(0xf0 | cp >> 18),
           o[1] = (char)(0x80 | ((cp >> 12) & 63)),
           o[2] = (char)(0x80 | ((cp >> 6) & 63)),
           o[3] = (char)(0x80 | (cp & 63)), 4;
}

/* Decodes the JSON string at t[i] (at its quote) into out; false when it
 * does not fit. */
static bool decode_key(const char *t, size_t n, size_t i, char *out, size_t cap,
                       size_t *outlen)
{
    size_t o = 0;
    for (i++; i < n && t[i] != '"'; i++) {
        if (o + 4 >= cap)
            return false;
        if (t[i] != '\\') {
            out[o++] = t[i];
            continue;
        }
        if (++i >= n)
            return false;
        static const char esc[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
        const char *e = strchr(esc, t[i]);
        if (t[i] != 'u') {
            if (!e || (e - esc) % 2)
                return false;
            out[o++] = e[1];
            continue;
        }
        unsigned cp = 0;
        for (int k = 1; k <= 4; k++) {
            int h = i + (size_t)k < n ? hexval(t[i + (size_t)k]) : -1;
            if (h < 0)
                return false;
            cp = cp << 4 | (unsigned)h;
        }
        i += 4;
        if (cp >= 0xd800 && cp <= 0xdbff && i + 6 < n && t[i + 1] == '\\' &&
            t[i + 2] == 'u') {
            unsigned lo = 0;
            for (int k = 3; k <= 6; k++) {
                int h = hexval(t[i + (size_t)k]);
                if (h < 0)
                    return false;
                lo = lo << 4 | (unsigned)h;
            }
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            i += 6;
        }
        o += put_utf8(out + o, cp);
    }
    *outlen = o;
    return true;
}

/* Next segment of a JSON pointer, unescaped into seg. */
static const char *next_segment(const char *p, char *seg, size_t cap,
                                size_t *len)
{
    size_t o = 0;
    p++; /* the '/' */
    while (*p && *p != '/') {
        char c = *p++;
        if (c == '~' && (*p == '0' || *p == '1'))
            c = *p++ == '0' ? '~' : '/';
        if (o + 1 < cap)
            seg[o++] = c;
    }
    *len = o;
    return p;
}

static size_t find_member(const char *t, size_t n, size_t i, const char *seg,
                          size_t seglen)
{
    i = skip_ws(t, n, i + 1); /* past '{' */
    while (i < n && t[i] == '"') {
        char key[512];
        size_t klen = 0;
        bool fits = decode_key(t, n, i, key, sizeof(key), &klen);
        i = skip_ws(t, n, skip_string(t, n, i));
        if (i >= n || t[i] != ':')
            return n;
        i = skip_ws(t, n, i + 1);
        if (fits && klen == seglen && !memcmp(key, seg, seglen))
            return i;
        i = skip_ws(t, n, skip_json(t, n, i));
        if (i < n && t[i] == ',')
            i = skip_ws(t, n, i + 1);
    }
    return n;
}

static size_t find_element(const char *t, size_t n, size_t i, size_t index)
{
    i = skip_ws(t, n, i + 1); /* past '[' */
    for (size_t k = 0; i < n && t[i] != ']'; k++) {
        if (k == index)
            return i;
        i = skip_ws(t, n, skip_json(t, n, i));
        if (i < n && t[i] == ',')
            i = skip_ws(t, n, i + 1);
    }
    return n;
}

void gw_json_locate(const char *text, size_t len, const char *pointer,
                    int *line, int *column)
{
    size_t at = skip_ws(text, len, 0);
    const char *p = pointer ? pointer : "";
    while (*p == '/' && at < len) {
        char seg[512];
        size_t seglen;
        p = next_segment(p, seg, sizeof(seg), &seglen);
        size_t next = len;
        if (text[at] == '{') {
            next = find_member(text, len, at, seg, seglen);
        } else if (text[at] == '[') {
            char *end;
            seg[seglen] = '\0';
            unsigned long idx = strtoul(seg, &end, 10);
            if (seglen && !*end)
                next = find_element(text, len, at, idx);
        }
        if (next >= len)
            break;
        at = next;
    }
    int l = 1, c = 1;
    for (size_t i = 0; i < at && i < len; i++) {
        if (text[i] == '\n')
            l++, c = 1;
        else if (((unsigned char)text[i] & 0xc0) != 0x80)
            c++;
    }
    *line = l;
    *column = c;
}

/* ------------------------------------------------------------ files */

void gw_file_error_format(const gw_file_error *e, char *buf, size_t cap)
{
    if (e->line)
        snprintf(buf, cap, "%s:%d:%d: at %s: %s", e->file, e->line, e->column,
                 e->pointer[0] ? e->pointer : "/", e->reason);
    else
        snprintf(buf, cap, "%s: %s", e->file, e->reason);
}

static int file_fail(gw_file_error *err, const char *name, const char *text,
                     size_t len, const char *pointer, int code, const char *fmt,
                     ...) __attribute__((format(printf, 7, 8)));

static int file_fail(gw_file_error *err, const char *name, const char *text,
                     size_t len, const char *pointer, int code, const char *fmt,
                     ...)
{
    if (!err)
        return code;
    memset(err, 0, sizeof(*err));
    snprintf(err->file, sizeof(err->file), "%s", name);
    if (pointer) {
        snprintf(err->pointer, sizeof(err->pointer), "%s", pointer);
        if (text)
            gw_json_locate(text, len, pointer, &err->line, &err->column);
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->reason, sizeof(err->reason), fmt, ap);
    va_end(ap);
    return code;
}

void gw_schemafile_free(gw_schemafile *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->nmessages; i++)
        gw_message_free(f->messages[i]);
    free(f->messages);
    free(f->actor);
    free(f->name);
    free(f);
}

static int check_file_keys(json_t *root, const char *name, const char *text,
                           size_t len, gw_file_error *err)
{
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v)
    {
        if (strcmp(k, "actor") && strcmp(k, "messages") &&
            strcmp(k, "description")) {
            char ptr[GW_SCHEMA_POINTER_MAX];
            snprintf(ptr, sizeof(ptr), "/%s", k);
            return file_fail(err, name, text, len, ptr, AL_EINVAL,
                             "unknown key '%s' (expected actor, messages, "
                             "description)",
                             k);
        }
    }
    return 0;
}

static int parse_messages(gw_schemafile *f, json_t *msgs, const char *text,
                          size_t len, gw_file_error *err)
{
    size_t n = json_array_size(msgs);
    if (!(f->messages = calloc(n ? n : 1, sizeof(*f->messages))))
        return AL_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        gw_schema_error se;
        char ptr[GW_SCHEMA_POINTER_MAX * 2];
        gw_message *m;
        int rc = gw_message_compile(json_array_get(msgs, i), &m, &se);
        if (rc == AL_EINVAL) {
            snprintf(ptr, sizeof(ptr), "/messages/%zu%s", i, se.pointer);
            return file_fail(err, f->name, text, len, ptr, rc, "%s", se.reason);
        }
        if (rc)
            return rc;
        f->messages[f->nmessages++] = m;
        for (size_t j = 0; j + 1 < f->nmessages; j++) {
            const gw_message *o = f->messages[j];
            bool same_name = !strcmp(o->name, m->name);
            if (same_name || !strcmp(o->uuid, m->uuid)) {
                snprintf(ptr, sizeof(ptr), "/messages/%zu/%s", i,
                         same_name ? "name" : "uuid");
                return file_fail(err, f->name, text, len, ptr, AL_EDUPLICATE,
                                 "%s '%s' is also used by /messages/%zu",
                                 same_name ? "name" : "uuid",
                                 same_name ? m->name : m->uuid, j);
            }
        }
    }
    return 0;
}

int gw_schemafile_parse(const char *name, const char *text, size_t len,
                        gw_schemafile **out, gw_file_error *err)
{
    *out = NULL;
    json_error_t je;
    json_t *root = gw_json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        int rc = file_fail(err, name, NULL, 0, NULL, AL_EINVAL, "%s", je.text);
        if (err)
            err->line = je.line, err->column = je.column;
        return rc;
    }
    int rc = AL_ENOMEM;
    gw_schemafile *f = calloc(1, sizeof(*f));
    if (!f || !(f->name = strdup(name)))
        goto fail;
    if (!json_is_object(root)) {
        rc = file_fail(err, name, text, len, "", AL_EINVAL,
                       "a schema file is a JSON object");
        goto fail;
    }
    if ((rc = check_file_keys(root, name, text, len, err)))
        goto fail;
    const char *actor = json_string_value(json_object_get(root, "actor"));
    json_t *msgs = json_object_get(root, "messages");
    if (!gw_actor_id_valid(actor)) {
        rc = file_fail(err, name, text, len, "/actor", AL_EINVAL,
                       "'actor' must be the actor's remote id (1 to 255 "
                       "printable characters, no spaces)");
        goto fail;
    }
    if (!json_is_array(msgs)) {
        rc = file_fail(err, name, text, len, "/messages", AL_EINVAL,
                       "'messages' must be an array");
        goto fail;
    }
    if (!(f->actor = strdup(actor))) {
        rc = AL_ENOMEM;
        goto fail;
    }
    if ((rc = parse_messages(f, msgs, text, len, err)))
        goto fail;
    json_decref(root);
    *out = f;
    return 0;
fail:
    if (rc == AL_ENOMEM)
        file_fail(err, name, NULL, 0, NULL, rc, "out of memory");
    gw_schemafile_free(f);
    json_decref(root);
    return rc;
}

int gw_schemafile_load(const char *path, gw_schemafile **out,
                       gw_file_error *err)
{
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return file_fail(err, path, NULL, 0, NULL, AL_EIO, "cannot open: %m");
    char *text = malloc(MAX_FILE_BYTES + 1);
    size_t n = text ? fread(text, 1, MAX_FILE_BYTES + 1, fp) : 0;
    int rc;
    if (!text)
        rc = file_fail(err, path, NULL, 0, NULL, AL_ENOMEM, "out of memory");
    else if (ferror(fp))
        rc = file_fail(err, path, NULL, 0, NULL, AL_EIO, "read error");
    else if (n > MAX_FILE_BYTES)
        rc = file_fail(err, path, NULL, 0, NULL, AL_ELIMIT,
                       "larger than %u bytes", MAX_FILE_BYTES);
    else
        rc = gw_schemafile_parse(path, text, n, out, err);
    free(text);
    fclose(fp);
    return rc;
}

void gw_schemafile_free_all(gw_schemafile **files, size_t n)
{
    for (size_t i = 0; files && i < n; i++)
        gw_schemafile_free(files[i]);
    free(files);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_json_name(const char *s)
{
    size_t n = strlen(s);
    return n > 5 && s[0] != '.' && !strcmp(s + n - 5, ".json");
}

static int list_dir(const char *dir, char ***names, size_t *n,
                    gw_file_error *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return file_fail(err, dir, NULL, 0, NULL, AL_EIO, "cannot open: %m");
    struct dirent *e;
    size_t cap = 0;
    int rc = 0;
    *names = NULL;
    *n = 0;
    while (!rc && (e = readdir(d))) {
        if (!is_json_name(e->d_name))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            char **nn = realloc(*names, cap * sizeof(*nn));
            if (!nn) {
                rc = AL_ENOMEM;
                break;
            }
            *names = nn;
        }
        if (!((*names)[*n] = strdup(e->d_name)))
            rc = AL_ENOMEM;
        else
            (*n)++;
    }
    closedir(d);
    if (!rc)
        qsort(*names, *n, sizeof(**names), cmp_names);
    return rc;
}

/* The same (actor, name) or (actor, uuid) in two files. */
static int check_across(gw_schemafile **files, size_t nf, gw_file_error *err)
{
    gw_schemafile *f = files[nf - 1];
    for (size_t i = 0; i + 1 < nf; i++) {
        gw_schemafile *o = files[i];
        if (strcmp(o->actor, f->actor))
            continue;
        for (size_t a = 0; a < f->nmessages; a++)
            for (size_t b = 0; b < o->nmessages; b++) {
                const gw_message *ma = f->messages[a], *mb = o->messages[b];
                bool same_name = !strcmp(ma->name, mb->name);
                if (!same_name && strcmp(ma->uuid, mb->uuid))
                    continue;
                char ptr[64];
                snprintf(ptr, sizeof(ptr), "/messages/%zu", a);
                return file_fail(err, f->name, NULL, 0, ptr, AL_EDUPLICATE,
                                 "%s %s of actor %s is also in %s",
                                 same_name ? "message" : "uuid",
                                 same_name ? ma->name : ma->uuid, f->actor,
                                 o->name);
            }
    }
    return 0;
}

int gw_schemafile_load_dir(const char *dir, gw_schemafile ***out, size_t *n,
                           gw_file_error *err)
{
    char **names = NULL;
    size_t nn = 0;
    *out = NULL;
    *n = 0;
    int rc = list_dir(dir, &names, &nn, err);
    gw_schemafile **files = NULL;
    size_t nf = 0;
    if (!rc && !(files = calloc(nn ? nn : 1, sizeof(*files))))
        rc = AL_ENOMEM;
    for (size_t i = 0; !rc && i < nn; i++) {
        size_t plen = strlen(dir) + strlen(names[i]) + 2;
        char *path = malloc(plen);
        if (!path) {
            rc = AL_ENOMEM;
            break;
        }
        snprintf(path, plen, "%s/%s", dir, names[i]);
        rc = gw_schemafile_load(path, &files[nf], err);
        free(path);
        if (!rc)
            rc = check_across(files, ++nf, err);
    }
    for (size_t i = 0; i < nn; i++)
        free(names[i]);
    free(names);
    if (rc) {
        if (rc == AL_ENOMEM)
            file_fail(err, dir, NULL, 0, NULL, rc, "out of memory");
        gw_schemafile_free_all(files, nf);
        return rc;
    }
    *out = files;
    *n = nf;
    return 0;
}
