/*
 * The SQLite migrations the gateway applies at start, and their runner.
 *
 * The SQL lives in migrations/NNNN_name.sql, where people read and review
 * it, and is compiled into the binary as C strings (migrations.c), so that
 * the gateway needs no files at run time: the same binary works from the
 * build tree, after `make install` and inside a container image.
 * tests/unit/test_migrations.c fails when the two drift apart by one byte.
 */
#ifndef GW_MIGRATIONS_H
#define GW_MIGRATIONS_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "actorlib.h"

/* SQLite's application_id of a gateway database: "AGTW". Set by the first
 * migration; a database carrying another id is refused. */
#define GW_MIGRATIONS_APP_ID 0x41475457

typedef struct gw_migration {
    int version;      /* 1, 2, ... : the NNNN of the file */
    const char *name; /* the file's name part: 0001_init.sql -> "init" */
    const char *sql;  /* the file's text, byte for byte */
} gw_migration;

/* The migrations this binary knows, in order: gw_migrations[i].version is
 * i + 1. The first creates the bookkeeping table schema_migrations
 * (version, name, applied_at); none may contain BEGIN, COMMIT or ROLLBACK:
 * the runner owns the transaction. */
extern const gw_migration gw_migrations[];
extern const size_t gw_migrations_count;

/* Brings db up to list[n - 1].version. Each migration runs in its own
 * transaction (BEGIN IMMEDIATE, so that two processes starting at once
 * apply it once) together with its schema_migrations row; a failing
 * migration leaves nothing behind. Fails with AL_ESTATE, naming both
 * versions, when the database has a migration newer than the list (written
 * by a newer gateway), when an applied migration's name differs from the
 * list's, or when the file is some other application's database; AL_EIO
 * for SQLite errors. *applied (may be NULL) gets how many ran. now_ms goes
 * to applied_at. The list must be numbered 1..n (AL_EINVAL otherwise). */
int gw_migrations_apply(sqlite3 *db, const gw_migration *list, size_t n,
                        int64_t now_ms, int *applied, al_error *err);

/* The highest applied version (0 for a fresh database), or a negative
 * al_status. */
int gw_migrations_current(sqlite3 *db, al_error *err);

#endif
