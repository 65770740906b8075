/* Path matching against a fixed table of patterns. */
#include <string.h>

#include "log.h"
#include "routes.h"

#define MAX_SEGS 8

/* Pattern segments: a literal, or one of the parameter markers. */
#define P_ACTOR   "{a}" /* actor name, checked by gw_actor_name_valid */
#define P_MESSAGE "{m}" /* message name or UUID */
#define P_ANY     "{p}" /* any decoded segment */

typedef struct pattern {
    enum gw_route_id id;
    unsigned methods;
    unsigned body_methods; /* methods that carry a JSON body */
    const char *segs[MAX_SEGS];
} pattern;

#define GH (GW_M_GET | GW_M_HEAD)

static const pattern patterns[] = {
    {GW_R_HEALTHZ, GH, 0, {"healthz"}},
    {GW_R_READYZ, GH, 0, {"readyz"}},
    {GW_R_METRICS, GH, 0, {"metrics"}},
    {GW_R_OPENAPI, GH, 0, {"openapi.json"}},
    {GW_R_ASK,
     GW_M_POST,
     GW_M_POST,
     {"v1", "actors", P_ACTOR, "ask", P_MESSAGE}},
    {GW_R_TELL,
     GW_M_POST,
     GW_M_POST,
     {"v1", "actors", P_ACTOR, "tell", P_MESSAGE}},
    {GW_R_ADMIN_INFO, GH, 0, {"admin", "info"}},
    {GW_R_ADMIN_PEERS, GH, 0, {"admin", "peers"}},
    {GW_R_ADMIN_RELOAD, GW_M_POST, 0, {"admin", "reload"}},
    {GW_R_ADMIN_ACTORS, GH, 0, {"admin", "actors"}},
    {GW_R_ADMIN_ACTOR, GH | GW_M_DELETE, 0, {"admin", "actors", P_ACTOR}},
    {GW_R_ADMIN_ACTOR_RESOLVE,
     GW_M_POST,
     0,
     {"admin", "actors", P_ACTOR, "resolve"}},
    {GW_R_ADMIN_SUBJECTS, GH, 0, {"admin", "subjects"}},
    {GW_R_ADMIN_SUBJECT,
     GW_M_POST | GW_M_DELETE,
     GW_M_POST,
     {"admin", "subjects", P_ANY}},
    {GW_R_ADMIN_SUBJECT_VERSIONS,
     GH | GW_M_POST,
     GW_M_POST,
     {"admin", "subjects", P_ANY, "versions"}},
    {GW_R_ADMIN_SUBJECT_VERSION,
     GH | GW_M_DELETE,
     0,
     {"admin", "subjects", P_ANY, "versions", P_ANY}},
    {GW_R_ADMIN_SUBJECT_VERSION_SCHEMA,
     GH,
     0,
     {"admin", "subjects", P_ANY, "versions", P_ANY, "schema"}},
    {GW_R_ADMIN_SCHEMA_TYPES, GH, 0, {"admin", "schemas", "types"}},
    {GW_R_ADMIN_SCHEMA_ID, GH, 0, {"admin", "schemas", "ids", P_ANY}},
    {GW_R_ADMIN_SCHEMA_ID_VERSIONS,
     GH,
     0,
     {"admin", "schemas", "ids", P_ANY, "versions"}},
    {GW_R_ADMIN_SCHEMA_UUID, GH, 0, {"admin", "schemas", "uuids", P_ANY}},
    {GW_R_ADMIN_COMPAT,
     GW_M_POST,
     GW_M_POST,
     {"admin", "compatibility", "subjects", P_ANY, "versions"}},
    {GW_R_ADMIN_COMPAT_VERSION,
     GW_M_POST,
     GW_M_POST,
     {"admin", "compatibility", "subjects", P_ANY, "versions", P_ANY}},
    {GW_R_ADMIN_CONFIG, GH | GW_M_PUT, GW_M_PUT, {"admin", "config"}},
    {GW_R_ADMIN_CONFIG_SUBJECT,
     GH | GW_M_PUT | GW_M_DELETE,
     GW_M_PUT,
     {"admin", "config", P_ANY}},
};

#define NPATTERNS (sizeof(patterns) / sizeof(patterns[0]))

static const char *const labels[GW_R__COUNT] = {
    [GW_R_NONE] = "none",
    [GW_R_HEALTHZ] = "healthz",
    [GW_R_READYZ] = "readyz",
    [GW_R_METRICS] = "metrics",
    [GW_R_OPENAPI] = "openapi",
    [GW_R_ASK] = "ask",
    [GW_R_TELL] = "tell",
    [GW_R_ADMIN_INFO] = "admin_info",
    [GW_R_ADMIN_PEERS] = "admin_peers",
    [GW_R_ADMIN_RELOAD] = "admin_reload",
    [GW_R_ADMIN_ACTORS] = "admin_actors",
    [GW_R_ADMIN_ACTOR] = "admin_actor",
    [GW_R_ADMIN_ACTOR_RESOLVE] = "admin_actor_resolve",
    [GW_R_ADMIN_SUBJECTS] = "admin_subjects",
    [GW_R_ADMIN_SUBJECT] = "admin_subject",
    [GW_R_ADMIN_SUBJECT_VERSIONS] = "admin_subject_versions",
    [GW_R_ADMIN_SUBJECT_VERSION] = "admin_subject_version",
    [GW_R_ADMIN_SUBJECT_VERSION_SCHEMA] = "admin_subject_version_schema",
    [GW_R_ADMIN_SCHEMA_TYPES] = "admin_schema_types",
    [GW_R_ADMIN_SCHEMA_ID] = "admin_schema_id",
    [GW_R_ADMIN_SCHEMA_ID_VERSIONS] = "admin_schema_id_versions",
    [GW_R_ADMIN_SCHEMA_UUID] = "admin_schema_uuid",
    [GW_R_ADMIN_COMPAT] = "admin_compatibility",
    [GW_R_ADMIN_COMPAT_VERSION] = "admin_compatibility_version",
    [GW_R_ADMIN_CONFIG] = "admin_config",
    [GW_R_ADMIN_CONFIG_SUBJECT] = "admin_config_subject",
};

const char *gw_route_label(enum gw_route_id id)
{
    return (unsigned)id < GW_R__COUNT && labels[id] ? labels[id] : "none";
}

unsigned gw_method_bit(const char *m)
{
    if (!m)
        return GW_M_OTHER;
    if (strcmp(m, "GET") == 0)
        return GW_M_GET;
    if (strcmp(m, "HEAD") == 0)
        return GW_M_HEAD;
    if (strcmp(m, "POST") == 0)
        return GW_M_POST;
    if (strcmp(m, "PUT") == 0)
        return GW_M_PUT;
    if (strcmp(m, "DELETE") == 0)
        return GW_M_DELETE;
    return GW_M_OTHER;
}

const char *gw_allow_header(unsigned allow, char *buf, size_t cap)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {{GW_M_GET, "GET"},
                 {GW_M_HEAD, "HEAD"},
                 {GW_M_POST, "POST"},
                 {GW_M_PUT, "PUT"},
                 {GW_M_DELETE, "DELETE"}};
    size_t len = 0;
    if (cap)
        buf[0] = 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (!(allow & names[i].bit))
            continue;
        int n = snprintf(buf + len, cap - len, "%s%s", len ? ", " : "",
                         names[i].name);
        if (n < 0 || (size_t)n >= cap - len)
            break;
        len += (size_t)n;
    }
    return buf;
}

/* ------------------------------------------------------------ segments */

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

long gw_percent_decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    if (cap == 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= n)
                return -1;
            int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = hi * 16 + lo;
            i += 2;
        }
        if (c < 0x20 || c == 0x7f)
            return -1;
        if (o + 1 >= cap)
            return GW_DECODE_TOO_LONG;
        out[o++] = (char)c;
    }
    out[o] = 0;
    for (size_t i = 0; i < o;) {
        size_t len = gw_utf8_seq((const unsigned char *)out + i, o - i);
        if (!len)
            return -1;
        i += len;
    }
    return (long)o;
}

bool gw_actor_name_valid(const char *s, size_t n)
{
    if (n == 0 || n > GW_ACTOR_NAME_MAX)
        return false;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return false;
        size_t len = gw_utf8_seq((const unsigned char *)s + i, n - i);
        if (!len)
            return false;
        i += len;
    }
    return true;
}

bool gw_looks_like_uuid(const char *s, size_t n)
{
    if (n != 36)
        return false;
    for (size_t i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return false;
        } else if (hexval(s[i]) < 0) {
            return false;
        }
    }
    return true;
}

static bool is_ident_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

bool gw_message_ref_valid(const char *s, size_t n)
{
    if (gw_looks_like_uuid(s, n))
        return true;
    if (n == 0 || n > 128 || !is_ident_start(s[0]))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!is_ident_start(s[i]) && !(s[i] >= '0' && s[i] <= '9'))
            return false;
    return true;
}

/* ------------------------------------------------------------ matching */

typedef struct seg {
    const char *s;
    size_t n;
} seg;

static int split(const char *path, size_t len, seg *segs, size_t *nsegs)
{
    if (len == 0 || path[0] != '/')
        return -1;
    size_t n = 0;
    size_t i = 1;
    while (i <= len) {
        size_t j = i;
        while (j < len && path[j] != '/')
            j++;
        if (j == i)
            return -1; /* empty segment: "//" or a trailing '/' */
        if (n == MAX_SEGS)
            return -1;
        segs[n].s = path + i;
        segs[n].n = j - i;
        n++;
        i = j + 1;
    }
    *nsegs = n;
    return 0;
}

static size_t pattern_len(const pattern *p)
{
    size_t n = 0;
    while (n < MAX_SEGS && p->segs[n])
        n++;
    return n;
}

static bool literals_match(const pattern *p, const seg *segs, size_t n)
{
    if (pattern_len(p) != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        const char *lit = p->segs[i];
        if (lit[0] == '{')
            continue;
        if (strlen(lit) != segs[i].n || memcmp(lit, segs[i].s, segs[i].n))
            return false;
    }
    return true;
}

static enum gw_route_fail take_params(const pattern *p, const seg *segs,
                                      size_t n, gw_route *out)
{
    int k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *lit = p->segs[i];
        if (lit[0] != '{')
            continue;
        char *dst = k == 0 ? out->p1 : out->p2;
        size_t *dlen = k == 0 ? &out->p1_len : &out->p2_len;
        long len = gw_percent_decode(segs[i].s, segs[i].n, dst,
                                     GW_ROUTE_PARAM_MAX + 1);
        if (len == GW_DECODE_TOO_LONG)
            return GW_RF_TOO_LONG;
        if (len < 0)
            return GW_RF_BAD_SEGMENT;
        *dlen = (size_t)len;
        if (strcmp(lit, P_ACTOR) == 0 && !gw_actor_name_valid(dst, *dlen))
            return GW_RF_BAD_ACTOR_NAME;
        if (strcmp(lit, P_MESSAGE) == 0 && !gw_message_ref_valid(dst, *dlen))
            return GW_RF_MESSAGE_NOT_FOUND;
        k++;
    }
    return GW_RF_OK;
}

int gw_route_parse(const char *method, const char *path, size_t path_len,
                   gw_route *out)
{
    out->id = GW_R_NONE;
    out->fail = GW_RF_NOT_FOUND;
    out->allow = 0;
    out->admin = false;
    out->has_body = false;
    out->p1[0] = out->p2[0] = 0;
    out->p1_len = out->p2_len = 0;
    seg segs[MAX_SEGS];
    size_t n;
    if (path && path_len > GW_PATH_MAX) {
        out->fail = GW_RF_TOO_LONG;
        return -1;
    }
    if (!path || split(path, path_len, segs, &n))
        return -1;
    for (size_t i = 0; i < NPATTERNS; i++) {
        const pattern *p = &patterns[i];
        if (!literals_match(p, segs, n))
            continue;
        unsigned m = gw_method_bit(method);
        out->id = p->id;
        out->allow = p->methods;
        out->admin = strcmp(p->segs[0], "admin") == 0;
        if (!(p->methods & m)) {
            out->fail = GW_RF_METHOD;
            return -1;
        }
        out->has_body = (p->body_methods & m) != 0;
        out->fail = take_params(p, segs, n, out);
        return out->fail == GW_RF_OK ? 0 : -1;
    }
    return -1;
}
