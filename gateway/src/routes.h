/*
 * The gateway's routes: method + raw path -> a route id and its decoded
 * parameters, or the HTTP error that the path deserves (404, 405 with the
 * methods allowed, 400 for a malformed segment).
 *
 * The path arrives exactly as the client wrote it (the HTTP layer turns
 * libmicrohttpd's unescaping off), without the query string. Segments are
 * split at '/' first and percent-decoded after, so "%2F" inside a name is
 * a slash in the name, not a separator. A decoded segment may not contain
 * NUL or other control characters and must be valid UTF-8.
 *
 * Sans-I/O and allocation-free: parameters are copied into the route.
 */
#ifndef GW_ROUTES_H
#define GW_ROUTES_H

#include <stdbool.h>
#include <stddef.h>

#define GW_ROUTE_PARAM_MAX 1024 /* decoded bytes of one parameter */
#define GW_ACTOR_NAME_MAX  255  /* bytes of an actor name */
#define GW_PATH_MAX        4096 /* raw bytes of a path */

enum gw_route_id {
    GW_R_NONE = 0,
    GW_R_HEALTHZ,
    GW_R_READYZ,
    GW_R_METRICS,
    GW_R_OPENAPI,
    GW_R_ASK,  /* p1 = actor name, p2 = message name or UUID */
    GW_R_TELL, /* same */
    /* /admin: p1, p2 as noted */
    GW_R_ADMIN_INFO,
    GW_R_ADMIN_PEERS,
    GW_R_ADMIN_RELOAD,
    GW_R_ADMIN_ACTORS,
    GW_R_ADMIN_ACTOR,         /* p1 = name; DELETE evicts */
    GW_R_ADMIN_ACTOR_RESOLVE, /* p1 = name; POST */
    GW_R_ADMIN_SUBJECTS,
    GW_R_ADMIN_SUBJECT,                /* p1 = subject; POST lookup, DELETE */
    GW_R_ADMIN_SUBJECT_VERSIONS,       /* p1; GET list, POST register */
    GW_R_ADMIN_SUBJECT_VERSION,        /* p1, p2 = version; GET, DELETE */
    GW_R_ADMIN_SUBJECT_VERSION_SCHEMA, /* p1, p2; GET the document */
    GW_R_ADMIN_SCHEMA_TYPES,
    GW_R_ADMIN_SCHEMA_ID,          /* p1 = id */
    GW_R_ADMIN_SCHEMA_ID_VERSIONS, /* p1 = id */
    GW_R_ADMIN_SCHEMA_UUID,        /* p1 = message UUID */
    GW_R_ADMIN_COMPAT,             /* p1 = subject; POST */
    GW_R_ADMIN_COMPAT_VERSION,     /* p1, p2 = version; POST */
    GW_R_ADMIN_CONFIG,             /* GET, PUT */
    GW_R_ADMIN_CONFIG_SUBJECT,     /* p1; GET, PUT, DELETE */
    GW_R__COUNT
};

/* Method bits. */
enum {
    GW_M_GET = 1,
    GW_M_HEAD = 2,
    GW_M_POST = 4,
    GW_M_PUT = 8,
    GW_M_DELETE = 16,
    GW_M_OTHER = 32,
};

/* Why a route did not match. */
enum gw_route_fail {
    GW_RF_OK = 0,
    GW_RF_NOT_FOUND,         /* 404 NOT_FOUND */
    GW_RF_METHOD,            /* 405, allow says which */
    GW_RF_BAD_SEGMENT,       /* 400: bad escape, control char, not UTF-8 */
    GW_RF_BAD_ACTOR_NAME,    /* 400: an actor name breaking the rules */
    GW_RF_MESSAGE_NOT_FOUND, /* 404: neither a message name nor a UUID */
    GW_RF_TOO_LONG,          /* 414: path or parameter over its limit */
};

typedef struct gw_route {
    enum gw_route_id id;
    enum gw_route_fail fail;
    unsigned allow; /* GW_M_* bits the path accepts (for 405 and OPTIONS) */
    bool admin;     /* under /admin: needs the token */
    bool has_body;  /* the method and route take a JSON body */
    char p1[GW_ROUTE_PARAM_MAX + 1];
    size_t p1_len;
    char p2[GW_ROUTE_PARAM_MAX + 1];
    size_t p2_len;
} gw_route;

/* Method name -> GW_M_* bit (GW_M_OTHER for anything else). */
unsigned gw_method_bit(const char *method);

/* Matches method and path (raw, no query string; path_len bytes). Always
 * fills out->fail; out->id is set when the path matched a route, even if
 * the method did not. Returns 0 when both matched. */
int gw_route_parse(const char *method, const char *path, size_t path_len,
                   gw_route *out);

/* "GET, HEAD, POST" for the Allow header; writes into buf (64 bytes are
 * enough). */
const char *gw_allow_header(unsigned allow, char *buf, size_t cap);

/* A short stable name for metrics labels and logs ("ask", "admin"). */
const char *gw_route_label(enum gw_route_id id);

/* Percent-decodes n bytes of s into out (cap bytes, NUL-terminated).
 * '+' stays '+' (paths are not forms). Returns the decoded length, -1 for
 * a bad escape, a decoded NUL or control character or invalid UTF-8, or
 * GW_DECODE_TOO_LONG for an output longer than cap - 1. */
#define GW_DECODE_TOO_LONG (-2L)
long gw_percent_decode(const char *s, size_t n, char *out, size_t cap);

/* Actor names: 1..255 bytes of UTF-8 without control characters. */
bool gw_actor_name_valid(const char *s, size_t n);
/* Message segment: [A-Za-z_][A-Za-z0-9_]{0,127} or a UUID (8-4-4-4-12
 * hex digits, any case). */
bool gw_message_ref_valid(const char *s, size_t n);
bool gw_looks_like_uuid(const char *s, size_t n);

#endif
