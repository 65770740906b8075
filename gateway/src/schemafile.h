/*
 * Schema files (schemas/NAME.json) and the message documents inside them.
 *
 * A file names one actor type by its remote id and lists its messages:
 *
 *   {"actor": "remote::MyActor",
 *    "messages": [{"name": "Inc", "uuid": "3b9128f1-...", "kind": "ask",
 *                  "request": {schema}, "reply": {schema},
 *                  "error": {schema}}]}
 *
 * A message document (one element of "messages") is also what the registry
 * stores as one version of a subject. The format is specified in
 * schemas/README.md. Errors name the file, a line and column, the JSON
 * pointer of the offending value and the reason.
 */
#ifndef GW_SCHEMAFILE_H
#define GW_SCHEMAFILE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "schema.h"

#define GW_UUID_LEN 36

enum gw_msg_kind {
    GW_KIND_ASK = 1,
    GW_KIND_TELL = 2,
    GW_KIND_BOTH = 3, /* GW_KIND_ASK | GW_KIND_TELL */
};

/* A compiled message document. Immutable once built; owns everything it
 * points to. */
typedef struct gw_message {
    char *name;                 /* the name used in URLs, e.g. "Inc" */
    char uuid[GW_UUID_LEN + 1]; /* Kameo message remote id, lower case */
    int kind;                   /* GW_KIND_* */
    gw_schema *request;
    gw_schema *reply; /* NULL for tells */
    gw_schema *error; /* NULL: handler errors have no schema */
    json_t *doc;      /* the document (uuid normalized) */
    char *canonical;  /* canonical compact text of doc, NUL-terminated */
} gw_message;

/* Compiles a message document. doc is borrowed; its "uuid" is rewritten in
 * lower case and *out keeps a reference to it. On error err->pointer is
 * relative to doc. Returns 0, AL_EINVAL or AL_ENOMEM. The caller owns *out:
 * gw_message_free. */
int gw_message_compile(json_t *doc, gw_message **out, gw_schema_error *err);
/* Parses and compiles a message document given as text (the registry's
 * admin API). */
int gw_message_parse(const char *text, size_t len, gw_message **out,
                     gw_schema_error *err);
void gw_message_free(gw_message *m);
const char *gw_kind_name(int kind); /* "ask", "tell", "both" */

/* Canonical 8-4-4-4-12 hex, any case in, lower case out (37 bytes with the
 * NUL). Returns 0 or AL_EINVAL. */
int gw_uuid_normalize(const char *in, size_t len, char out[GW_UUID_LEN + 1]);
/* Message names: [A-Za-z_][A-Za-z0-9_]*, at most 128 bytes. */
bool gw_message_name_valid(const char *name);
/* Actor remote ids: 1..255 printable ASCII bytes, no space. */
bool gw_actor_id_valid(const char *id);

typedef struct gw_file_error {
    char file[256];
    int line;   /* 1-based; 0 = unknown */
    int column; /* 1-based; 0 = unknown */
    char pointer[GW_SCHEMA_POINTER_MAX];
    char reason[GW_SCHEMA_REASON_MAX];
} gw_file_error;

/* "file:line:column: at /pointer: reason" */
void gw_file_error_format(const gw_file_error *e, char *buf, size_t cap);

typedef struct gw_schemafile {
    char *name; /* as given (path or label) */
    char *actor;
    gw_message **messages;
    size_t nmessages;
} gw_schemafile;

/* Parses one file's text; name labels errors. The caller owns *out. */
int gw_schemafile_parse(const char *name, const char *text, size_t len,
                        gw_schemafile **out, gw_file_error *err);
/* Reads and parses path (at most 4 MiB). */
int gw_schemafile_load(const char *path, gw_schemafile **out,
                       gw_file_error *err);
void gw_schemafile_free(gw_schemafile *f);

/* Loads every *.json file of dir in name order. The same (actor, name) or
 * (actor, uuid) in two places is an error naming both. On success *out is
 * an array of *n files, freed with gw_schemafile_free_all. */
int gw_schemafile_load_dir(const char *dir, gw_schemafile ***out, size_t *n,
                           gw_file_error *err);
void gw_schemafile_free_all(gw_schemafile **files, size_t n);

/* Where the value at pointer starts in JSON text (the deepest existing
 * ancestor when the pointer goes further than the text): 1-based line and
 * column. text must be valid JSON. */
void gw_json_locate(const char *text, size_t len, const char *pointer,
                    int *line, int *column);

#endif /* GW_SCHEMAFILE_H */
