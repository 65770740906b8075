/*
 * Migrations compiled into the binary. Each entry's sql is the text of
 * migrations/NNNN_name.sql byte for byte (test_migrations compares them).
 * To add a migration: write the .sql file, then append an entry whose string
 * is the file turned into C, e.g. with
 *   awk '{gsub(/\\/,"\\\\");gsub(/"/,"\\\"");printf "\"%s\\n\"\n",$0}' FILE
 * Never edit a released migration: databases that applied it never run it
 * again, so a change would reach only new databases.
 */
#include <stdio.h>
#include <string.h>

#include "migrations.h"

static const char m0001_init[] =
    "-- 0001_init: the gateway's tables.\n"
    "-- Times are milliseconds since the Unix epoch (UTC), as INTEGER.\n"
    "-- gateway/src/migrations.c carries this text byte for byte (the\n"
    "-- binary needs no files at run time); test_migrations checks it.\n"
    "\n"
    "-- Applied migrations, one row each, written in the migration's own\n"
    "-- transaction.\n"
    "CREATE TABLE schema_migrations (\n"
    "    version    INTEGER PRIMARY KEY,\n"
    "    name       TEXT    NOT NULL,\n"
    "    applied_at INTEGER NOT NULL\n"
    ");\n"
    "\n"
    "-- Message schemas, Confluent-style: a subject is a stream of\n"
    "-- versions (1, 2, ...); schema_id is the registry's global id. A soft\n"
    "-- delete keeps the row with deleted = 1; a permanent one removes it.\n"
    "CREATE TABLE schema_versions (\n"
    "    subject         TEXT    NOT NULL CHECK (length(subject) > 0),\n"
    "    version         INTEGER NOT NULL CHECK (version >= 1),\n"
    "    schema_id       INTEGER NOT NULL,\n"
    "    message_uuid    TEXT    NOT NULL,\n"
    "    actor_remote_id TEXT    NOT NULL,\n"
    "    message_name    TEXT    NOT NULL,\n"
    "    schema_json     TEXT    NOT NULL,\n"
    "    deleted         INTEGER NOT NULL DEFAULT 0\n"
    "                    CHECK (deleted IN (0, 1)),\n"
    "    created_at      INTEGER NOT NULL,\n"
    "    PRIMARY KEY (subject, version)\n"
    ");\n"
    "CREATE INDEX schema_versions_by_id ON schema_versions (schema_id);\n"
    "CREATE INDEX schema_versions_by_uuid ON schema_versions (message_uuid);\n"
    "\n"
    "-- Compatibility levels. The empty subject holds the global level\n"
    "-- (Confluent subjects are never empty). No row: the registry's\n"
    "-- built-in default applies.\n"
    "CREATE TABLE config (\n"
    "    subject       TEXT NOT NULL PRIMARY KEY,\n"
    "    compatibility TEXT NOT NULL CHECK (compatibility IN (\n"
    "        'BACKWARD', 'BACKWARD_TRANSITIVE',\n"
    "        'FORWARD', 'FORWARD_TRANSITIVE',\n"
    "        'FULL', 'FULL_TRANSITIVE', 'NONE'))\n"
    ");\n"
    "\n"
    "-- Resolved actor names. actor_id is Kameo's wire form of an ActorID:\n"
    "-- u64 little-endian sequence, then the peer id multihash bytes;\n"
    "-- actor_seq and peer_id (base58) repeat parts of it for readers of\n"
    "-- the table. Negative (not found) results are cached in memory only.\n"
    "CREATE TABLE name_cache (\n"
    "    name        TEXT    NOT NULL PRIMARY KEY,\n"
    "    peer_id     TEXT    NOT NULL,\n"
    "    actor_seq   INTEGER NOT NULL,\n"
    "    actor_id    BLOB    NOT NULL CHECK (length(actor_id) > 8),\n"
    "    remote_id   TEXT    NOT NULL,\n"
    "    resolved_at INTEGER NOT NULL,\n"
    "    expires_at  INTEGER NOT NULL,\n"
    "    hits        INTEGER NOT NULL DEFAULT 0 CHECK (hits >= 0)\n"
    ");\n"
    "\n"
    "-- Stored answers for Idempotency-Key. request_hash is SHA-256 over\n"
    "-- method, path and body; the same key with another hash conflicts.\n"
    "CREATE TABLE idempotency (\n"
    "    key          TEXT    NOT NULL PRIMARY KEY,\n"
    "    request_hash BLOB    NOT NULL CHECK (length(request_hash) = 32),\n"
    "    status       INTEGER NOT NULL CHECK (status BETWEEN 100 AND 599),\n"
    "    headers      TEXT    NOT NULL DEFAULT '',\n"
    "    body         BLOB    NOT NULL,\n"
    "    created_at   INTEGER NOT NULL,\n"
    "    expires_at   INTEGER NOT NULL\n"
    ");\n"
    "CREATE INDEX idempotency_by_expiry ON idempotency (expires_at);\n";

const gw_migration gw_migrations[] = {
    {1, "init", m0001_init},
};

const size_t gw_migrations_count =
    sizeof(gw_migrations) / sizeof(gw_migrations[0]);

/* ------------------------------------------------------------ the runner */

static int sql_fail(sqlite3 *db, al_error *err, const char *what)
{
    return al_error_set(err, AL_EIO, "sqlite: %s: %s", what,
                        sqlite3_errmsg(db));
}

static int exec(sqlite3 *db, const char *sql, al_error *err)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return sql_fail(db, err, sql);
    return 0;
}

static int query_int(sqlite3 *db, const char *sql, int64_t *out, al_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return sql_fail(db, err, sql);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return sql_fail(db, err, sql);
    return 0;
}

static int check_list(const gw_migration *list, size_t n, al_error *err)
{
    for (size_t i = 0; i < n; i++)
        if (list[i].version != (int)i + 1 || !list[i].name || !list[i].sql)
            return al_error_set(err, AL_EINVAL,
                                "migration list entry %zu is not version %zu",
                                i, i + 1);
    return 0;
}

/* Reads what the database has applied and checks that this binary can work
 * with it: *current gets the highest version. Runs inside the caller's
 * transaction, so that what it saw still holds when the caller writes. */
static int read_state(sqlite3 *db, const gw_migration *list, size_t n,
                      int *current, al_error *err)
{
    int64_t app_id = 0, has_table = 0, other_tables = 0;
    int rc = query_int(db, "PRAGMA application_id", &app_id, err);
    if (rc)
        return rc;
    if (app_id != 0 && app_id != GW_MIGRATIONS_APP_ID)
        return al_error_set(err, AL_ESTATE,
                            "not a gateway database (application_id "
                            "0x%08llx)",
                            (unsigned long long)app_id);
    rc = query_int(db,
                   "SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                   "AND name = 'schema_migrations'",
                   &has_table, err);
    if (rc)
        return rc;
    if (!has_table) {
        rc = query_int(db,
                       "SELECT count(*) FROM sqlite_master WHERE type = "
                       "'table' AND name NOT LIKE 'sqlite_%'",
                       &other_tables, err);
        if (rc)
            return rc;
        if (other_tables)
            return al_error_set(err, AL_ESTATE,
                                "the database has tables but no "
                                "schema_migrations: not a gateway database");
        *current = 0;
        return 0;
    }

    sqlite3_stmt *st = NULL;
    const char *sql = "SELECT version, name FROM schema_migrations "
                      "ORDER BY version";
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return sql_fail(db, err, sql);
    int64_t expect = 1;
    rc = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t v = sqlite3_column_int64(st, 0);
        const char *name = (const char *)sqlite3_column_text(st, 1);
        if (v > (int64_t)n) {
            rc = al_error_set(err, AL_ESTATE,
                              "the database is at migration %lld (%s), newer "
                              "than this gateway, which knows migrations up "
                              "to %zu: run a newer gateway",
                              (long long)v, name ? name : "?", n);
            goto out;
        }
        if (v != expect) {
            rc = al_error_set(err, AL_ESTATE,
                              "schema_migrations skips from %lld to %lld",
                              (long long)expect - 1, (long long)v);
            goto out;
        }
        if (!name || strcmp(name, list[v - 1].name) != 0) {
            rc = al_error_set(err, AL_ESTATE,
                              "the database's migration %lld is \"%s\" but "
                              "this gateway's is \"%s\"",
                              (long long)v, name ? name : "", list[v - 1].name);
            goto out;
        }
        expect++;
    }
    if (rc != SQLITE_DONE) {
        rc = sql_fail(db, err, sql);
        goto out;
    }
    rc = 0;
    *current = (int)(expect - 1);
out:
    sqlite3_finalize(st);
    return rc;
}

static int record(sqlite3 *db, const gw_migration *m, int64_t now_ms,
                  al_error *err)
{
    sqlite3_stmt *st = NULL;
    const char *sql = "INSERT INTO schema_migrations (version, name, "
                      "applied_at) VALUES (?, ?, ?)";
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return sql_fail(db, err, sql);
    sqlite3_bind_int(st, 1, m->version);
    sqlite3_bind_text(st, 2, m->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, now_ms);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : sql_fail(db, err, sql);
    sqlite3_finalize(st);
    return rc;
}

static int apply_one(sqlite3 *db, const gw_migration *m, int64_t now_ms,
                     al_error *err)
{
    char *msg = NULL;
    if (sqlite3_exec(db, m->sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc = al_error_set(err, AL_EIO, "migration %04d_%s failed: %s",
                              m->version, m->name, msg ? msg : "?");
        sqlite3_free(msg);
        return rc;
    }
    int rc = record(db, m, now_ms, err);
    if (rc == 0 && m->version == 1) {
        char sql[64];
        snprintf(sql, sizeof(sql), "PRAGMA application_id = %d",
                 GW_MIGRATIONS_APP_ID);
        rc = exec(db, sql, err);
    }
    return rc;
}

int gw_migrations_apply(sqlite3 *db, const gw_migration *list, size_t n,
                        int64_t now_ms, int *applied, al_error *err)
{
    if (applied)
        *applied = 0;
    int rc = check_list(list, n, err);
    if (rc)
        return rc;
    /* One migration per round, re-reading the state under the write lock
     * each time: another process may have moved the database meanwhile. */
    for (;;) {
        rc = exec(db, "BEGIN IMMEDIATE", err);
        if (rc)
            return rc;
        int current = 0;
        rc = read_state(db, list, n, &current, err);
        if (rc || current == (int)n)
            break;
        rc = apply_one(db, &list[current], now_ms, err);
        if (rc)
            break;
        rc = exec(db, "COMMIT", err);
        if (rc)
            break;
        if (applied)
            (*applied)++;
        al_log(AL_LOG_INFO, "store: applied migration %04d_%s",
               list[current].version, list[current].name);
    }
    /* Reached with the transaction open: on success nothing was written
     * in it, on failure everything in it is undone. */
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int gw_migrations_current(sqlite3 *db, al_error *err)
{
    int64_t has_table = 0, v = 0;
    int rc = query_int(db,
                       "SELECT count(*) FROM sqlite_master WHERE type = "
                       "'table' AND name = 'schema_migrations'",
                       &has_table, err);
    if (rc || !has_table)
        return rc;
    rc = query_int(db,
                   "SELECT coalesce(max(version), 0) FROM "
                   "schema_migrations",
                   &v, err);
    if (rc)
        return rc;
    return v > 1000000 ? AL_ESTATE : (int)v;
}
