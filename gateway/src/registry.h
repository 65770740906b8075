/*
 * The in-memory message-schema registry, shaped like Confluent's Schema
 * Registry.
 *
 * A subject is one message of one actor type, named
 * "<actor remote id>::<message name>" (e.g. "remote::MyActor::Inc"; split at
 * the last "::"). Its versions (1, 2, ... never reused) are message
 * documents (see schemafile.h); a version also has a global schema id,
 * shared by every version whose canonical text is the same. A subject's
 * UUID is fixed by its first version. Registering checks compatibility
 * against the live (not soft-deleted) versions under the subject's level,
 * else the global one (BACKWARD by default).
 *
 * Compatibility: "writer ⊆ reader" means every value the writer's schema
 * accepts, the reader's accepts too, with the same MessagePack form
 * (gw_schema_subset). BACKWARD: old ⊆ new for request, reply and error, and
 * the old kind's ask/tell ⊆ the new one's: the new schema reads what was
 * written for the old. FORWARD: new ⊆ old. FULL: both. *_TRANSITIVE: against
 * every live version, not just the latest. NONE: no check.
 *
 * Single-threaded: call everything from one thread (the loop). Messages
 * returned by lookups stay valid until gw_registry_free (versions are only
 * ever soft-deleted), so a request may keep one across a suspended reply.
 *
 * Persistence: every change goes through the change hook before it is
 * committed; a hook failure cancels the change (error 50001). At start a
 * store replays what it saved with gw_registry_restore_* (no compatibility
 * check, no hook).
 */
#ifndef GW_REGISTRY_H
#define GW_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "schemafile.h"

enum gw_compat {
    GW_COMPAT_NONE,
    GW_COMPAT_BACKWARD,
    GW_COMPAT_BACKWARD_TRANSITIVE,
    GW_COMPAT_FORWARD,
    GW_COMPAT_FORWARD_TRANSITIVE,
    GW_COMPAT_FULL,
    GW_COMPAT_FULL_TRANSITIVE,
};

/* "BACKWARD", ...; NULL for an invalid level. */
const char *gw_compat_name(int level);
/* The level named by s (as Confluent spells it), or -1. */
int gw_compat_parse(const char *s);

/* Confluent's error_code values. HTTP status = code / 100. */
enum gw_reg_code {
    GW_REG_SUBJECT_NOT_FOUND = 40401,
    GW_REG_VERSION_NOT_FOUND = 40402,
    GW_REG_SCHEMA_NOT_FOUND = 40403,
    GW_REG_SUBJECT_SOFT_DELETED = 40404,
    GW_REG_VERSION_SOFT_DELETED = 40406,
    GW_REG_NO_SUBJECT_CONFIG = 40408,
    GW_REG_INCOMPATIBLE = 40901,
    GW_REG_INVALID_SCHEMA = 42201,
    GW_REG_INVALID_VERSION = 42202,
    GW_REG_INVALID_COMPAT = 42203,
    GW_REG_INVALID_SUBJECT = 42208,
    GW_REG_STORE_ERROR = 50001,
};

typedef struct gw_reg_error {
    int code; /* enum gw_reg_code */
    char message[512];
} gw_reg_error;

typedef struct gw_registry gw_registry;

/* One version as the registry holds it. All pointers borrowed from the
 * registry, valid until gw_registry_free. */
typedef struct gw_version_info {
    const char *subject;
    const char *actor;
    int version;
    int64_t id;
    bool deleted;
    const gw_message *message;
} gw_version_info;

int gw_registry_new(gw_registry **out);
void gw_registry_free(gw_registry *r);

/* ---- hot path: no allocation, hash lookups ---- */

/* The latest live version of (actor remote id, message name or UUID in any
 * case). NULL when there is none. info may be NULL. */
const gw_message *gw_registry_find(const gw_registry *r, const char *actor,
                                   const char *message, gw_version_info *info);

/* ---- registering; every function below returns 0 or a negative
 * al_status with err (may be NULL) holding the Confluent code ---- */

/* POST /subjects/{subject}/versions: text is a message document whose name
 * must be the subject's message part. Identical to a live version (same
 * canonical text): that version, nothing changes. *out (may be NULL) gets
 * the version. Errors: 42208, 42201, 40901 (err->message lists why), 50001. */
int gw_registry_register(gw_registry *r, const char *subject, const char *text,
                         size_t len, gw_version_info *out, gw_reg_error *err);
/* The same for a compiled message of actor (takes m, even on error). */
int gw_registry_register_message(gw_registry *r, const char *actor,
                                 gw_message *m, gw_version_info *out,
                                 gw_reg_error *err);
/* Registers every message of the files (schemas/ at start, SIGHUP). Moves
 * the messages out of the files. Stops at the first error, which names the
 * file and the message. */
int gw_registry_register_files(gw_registry *r, gw_schemafile **files, size_t n,
                               gw_reg_error *err);

/* POST /compatibility/subjects/{subject}/versions[/{version}]: version NULL
 * checks against what registering would (the subject's level: latest, or
 * every live version when transitive; a subject with no live version is
 * compatible); else against that one version ("latest", "-1" or a number)
 * in the level's direction. *compatible gets the answer, messages (a JSON
 * array, may be NULL) the reasons. Errors: 40401, 40402, 42201, 42202. */
int gw_registry_check(const gw_registry *r, const char *subject,
                      const char *version, const char *text, size_t len,
                      bool *compatible, json_t *messages, gw_reg_error *err);

/* POST /subjects/{subject}: is this document a live version of subject?
 * Errors: 40401, 40403, 42201. */
int gw_registry_lookup_schema(const gw_registry *r, const char *subject,
                              const char *text, size_t len,
                              gw_version_info *out, gw_reg_error *err);

/* ---- reading ---- */

/* GET /subjects: subjects with a live version (with deleted: with any). New
 * reference (NULL on ENOMEM). */
json_t *gw_registry_subjects(const gw_registry *r, bool deleted);
/* GET /subjects/{subject}/versions. *out: new array. Error 40401. */
int gw_registry_versions(const gw_registry *r, const char *subject,
                         bool deleted, json_t **out, gw_reg_error *err);
/* GET /subjects/{subject}/versions/{version}: "latest", "-1" or a number.
 * Errors: 40401, 40402, 42202. */
int gw_registry_get(const gw_registry *r, const char *subject,
                    const char *version, bool deleted, gw_version_info *out,
                    gw_reg_error *err);
/* GET /schemas/ids/{id}: the canonical text (borrowed). Error 40403. */
int gw_registry_get_by_id(const gw_registry *r, int64_t id, const char **text,
                          gw_reg_error *err);
/* GET /schemas/ids/{id}/versions: [{"subject", "version"}], new reference.
 * Error 40403. */
int gw_registry_id_versions(const gw_registry *r, int64_t id, json_t **out,
                            gw_reg_error *err);
/* Subjects whose messages have this UUID (any case), as a new array of
 * strings; empty when none. NULL on ENOMEM or a malformed UUID. */
json_t *gw_registry_subjects_by_uuid(const gw_registry *r, const char *uuid);
/* {"subject", "id", "version", "schemaType": "JSON", "schema": text}. */
json_t *gw_version_json(const gw_version_info *v);
/* Calls fn for the latest live version of every subject, in the order the
 * subjects were created (OpenAPI generation). */
void gw_registry_foreach_latest(const gw_registry *r,
                                void (*fn)(const gw_version_info *v, void *ud),
                                void *ud);

/* ---- deleting (soft) ---- */

/* DELETE /subjects/{subject}/versions/{version}. *deleted gets the version.
 * Errors: 40401, 40402, 40406 (already deleted), 42202, 50001. */
int gw_registry_delete_version(gw_registry *r, const char *subject,
                               const char *version, int *deleted,
                               gw_reg_error *err);
/* DELETE /subjects/{subject}: every live version. *out (may be NULL): new
 * array of the versions deleted. Errors: 40401, 40404, 50001. */
int gw_registry_delete_subject(gw_registry *r, const char *subject,
                               json_t **out, gw_reg_error *err);

/* ---- configuration ---- */

/* GET /config (subject NULL) and /config/{subject}. Without a subject level
 * and with default_to_global false: 40408. */
int gw_registry_get_config(const gw_registry *r, const char *subject,
                           bool default_to_global, int *level,
                           gw_reg_error *err);
/* PUT /config[/{subject}] {"compatibility": level}. Errors: 42203, 42208,
 * 50001. */
int gw_registry_set_config(gw_registry *r, const char *subject,
                           const char *level, gw_reg_error *err);
/* DELETE /config/{subject}: back to the global level; *old gets the level
 * removed. Errors: 40408, 50001. */
int gw_registry_delete_config(gw_registry *r, const char *subject, int *old,
                              gw_reg_error *err);

/* ---- persistence ---- */

enum gw_change_kind {
    GW_CHANGE_VERSION,        /* subject, version, id, text, deleted=false */
    GW_CHANGE_DELETE_VERSION, /* subject, version */
    GW_CHANGE_DELETE_SUBJECT, /* subject: all its versions are deleted */
    GW_CHANGE_CONFIG,         /* subject (NULL = global), level */
    GW_CHANGE_DELETE_CONFIG,  /* subject */
};

typedef struct gw_change {
    int kind;
    const char *subject;
    int version;
    int64_t id;
    const char *text; /* canonical message document */
    int level;
} gw_change;

/* fn returns 0 to let the change happen, anything else to cancel it. All
 * pointers in the change are borrowed for the call. */
typedef int (*gw_change_fn)(const gw_change *c, void *ud);
void gw_registry_on_change(gw_registry *r, gw_change_fn fn, void *ud);

/* Replays a stored version as it was (no compatibility check, no hook).
 * Versions may come in any order. Errors: 42208, 42201, 42202. */
int gw_registry_restore_version(gw_registry *r, const char *subject,
                                int version, int64_t id, bool deleted,
                                const char *text, size_t len,
                                gw_reg_error *err);
/* Replays a stored level (subject NULL = global). */
int gw_registry_restore_config(gw_registry *r, const char *subject, int level,
                               gw_reg_error *err);

#endif /* GW_REGISTRY_H */
