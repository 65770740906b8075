/* migrations.c: the embedded SQL equals the migrations/NNNN_name.sql files
 * the runner applies, records, refuses and rolls back as promised. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actorlib.h"
#include "migrations.h"

/* The repository's migrations/ folder: tests run from the repository root
 * (make unit); failing that, found from this file's path. */
static const char *migrations_dir(void)
{
    static char dir[4096];
    DIR *d = opendir("migrations");
    if (d) {
        closedir(d);
        return "migrations";
    }
    const char *f = __FILE__;
    const char *cut = strstr(f, "tests/unit/");
    if (!cut)
        return NULL;
    snprintf(dir, sizeof(dir), "%.*smigrations", (int)(cut - f), f);
    return dir;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 4096;
            char *p = realloc(buf, cap + 1);
            if (!p) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = p;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

static void embedded_sql_equals_files(void **state)
{
    (void)state;
    const char *dir = migrations_dir();
    assert_non_null(dir);
    assert_true(gw_migrations_count >= 1);
    for (size_t i = 0; i < gw_migrations_count; i++) {
        const gw_migration *m = &gw_migrations[i];
        assert_int_equal(m->version, (int)i + 1);
        char path[4200];
        snprintf(path, sizeof(path), "%s/%04d_%s.sql", dir, m->version,
                 m->name);
        size_t len = 0;
        char *text = read_file(path, &len);
        if (!text)
            fail_msg("cannot read %s", path);
        if (len != strlen(m->sql) || memcmp(text, m->sql, len) != 0)
            fail_msg("%s differs from its copy in gateway/src/migrations.c",
                     path);
        free(text);
    }
}

/* A .sql file that the binary does not carry would never be applied. */
static void every_file_is_embedded(void **state)
{
    (void)state;
    const char *dir = migrations_dir();
    assert_non_null(dir);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    size_t files = 0;
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n < 4 || strcmp(de->d_name + n - 4, ".sql") != 0)
            continue;
        files++;
        int v = 0, used = 0;
        if (sscanf(de->d_name, "%4d_%n", &v, &used) != 1 || used != 5)
            fail_msg("%s is not named NNNN_name.sql", de->d_name);
        if (v < 1 || (size_t)v > gw_migrations_count)
            fail_msg("%s is not in gateway/src/migrations.c", de->d_name);
        const char *name = gw_migrations[v - 1].name;
        if (n - 4 - 5 != strlen(name) ||
            strncmp(de->d_name + 5, name, strlen(name)) != 0)
            fail_msg("%s: migration %d is called \"%s\" in the binary",
                     de->d_name, v, name);
    }
    closedir(d);
    assert_int_equal(files, gw_migrations_count);
}

static sqlite3 *mem_db(void)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    return db;
}

static int64_t query_i64(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void fresh_database_gets_everything(void **state)
{
    (void)state;
    sqlite3 *db = mem_db();
    al_error err = {0};
    int applied = -1;
    assert_int_equal(gw_migrations_current(db, &err), 0);
    assert_int_equal(gw_migrations_apply(db, gw_migrations, gw_migrations_count,
                                         1234, &applied, &err),
                     0);
    assert_int_equal(applied, (int)gw_migrations_count);
    assert_int_equal(gw_migrations_current(db, &err), (int)gw_migrations_count);
    assert_int_equal(query_i64(db, "SELECT applied_at FROM schema_migrations "
                                   "WHERE version = 1"),
                     1234);
    assert_int_equal(query_i64(db, "PRAGMA application_id"),
                     GW_MIGRATIONS_APP_ID);
    const char *tables[] = {"schema_versions", "config", "name_cache",
                            "idempotency", "schema_migrations"};
    for (size_t i = 0; i < 5; i++) {
        char sql[200];
        snprintf(sql, sizeof(sql),
                 "SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                 "AND name = '%s'",
                 tables[i]);
        assert_int_equal(query_i64(db, sql), 1);
    }
    /* A second run finds nothing to do. */
    assert_int_equal(gw_migrations_apply(db, gw_migrations, gw_migrations_count,
                                         99, &applied, &err),
                     0);
    assert_int_equal(applied, 0);
    assert_int_equal(query_i64(db, "SELECT count(*) FROM schema_migrations"),
                     (int64_t)gw_migrations_count);
    sqlite3_close(db);
}

/* The first migration creates the bookkeeping table, as 0001_init does. */
#define BOOKKEEPING                                                            \
    "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT "  \
    "NOT NULL, applied_at INTEGER NOT NULL);\n"

static const gw_migration three[] = {
    {1, "one", BOOKKEEPING "CREATE TABLE a (x INTEGER);"},
    {2, "two",
     "ALTER TABLE a ADD COLUMN y TEXT;\n"
     "CREATE TABLE b (z INTEGER);"},
    {3, "three", "INSERT INTO b VALUES (3);"},
};

static void applies_in_order_and_resumes(void **state)
{
    (void)state;
    sqlite3 *db = mem_db();
    al_error err = {0};
    int applied = 0;
    assert_int_equal(gw_migrations_apply(db, three, 1, 1, &applied, &err), 0);
    assert_int_equal(applied, 1);
    /* A newer binary picks up where the database stands. */
    assert_int_equal(gw_migrations_apply(db, three, 3, 2, &applied, &err), 0);
    assert_int_equal(applied, 2);
    assert_int_equal(query_i64(db, "SELECT z FROM b"), 3);
    assert_int_equal(query_i64(db, "SELECT group_concat(version) = '1,2,3' "
                                   "FROM (SELECT version FROM "
                                   "schema_migrations ORDER BY version)"),
                     1);
    sqlite3_close(db);
}

static void failing_migration_leaves_nothing(void **state)
{
    (void)state;
    static const gw_migration broken[] = {
        {1, "one", BOOKKEEPING "CREATE TABLE a (x INTEGER);"},
        {2, "broken", "CREATE TABLE half (x);\nCREATE TABLE oops (;"},
    };
    sqlite3 *db = mem_db();
    al_error err = {0};
    int applied = 0;
    assert_int_equal(gw_migrations_apply(db, broken, 2, 1, &applied, &err),
                     AL_EIO);
    assert_int_equal(applied, 1);
    assert_non_null(strstr(err.msg, "0002_broken"));
    assert_int_equal(gw_migrations_current(db, &err), 1);
    assert_int_equal(query_i64(db, "SELECT count(*) FROM sqlite_master "
                                   "WHERE name = 'half'"),
                     0);
    sqlite3_close(db);
}

static void newer_database_is_refused(void **state)
{
    (void)state;
    sqlite3 *db = mem_db();
    al_error err = {0};
    assert_int_equal(gw_migrations_apply(db, three, 3, 1, NULL, &err), 0);
    assert_int_equal(gw_migrations_apply(db, three, 2, 1, NULL, &err),
                     AL_ESTATE);
    assert_non_null(strstr(err.msg, "migration 3 (three)"));
    assert_non_null(strstr(err.msg, "up to 2"));
    sqlite3_close(db);
}

static void renamed_migration_is_refused(void **state)
{
    (void)state;
    static const gw_migration other[] = {
        {1, "uno", BOOKKEEPING "CREATE TABLE a (x INTEGER);"},
    };
    sqlite3 *db = mem_db();
    al_error err = {0};
    assert_int_equal(gw_migrations_apply(db, three, 1, 1, NULL, &err), 0);
    assert_int_equal(gw_migrations_apply(db, other, 1, 1, NULL, &err),
                     AL_ESTATE);
    assert_non_null(strstr(err.msg, "\"one\""));
    assert_non_null(strstr(err.msg, "\"uno\""));
    sqlite3_close(db);
}

static void foreign_database_is_refused(void **state)
{
    (void)state;
    al_error err = {0};
    sqlite3 *db = mem_db();
    assert_int_equal(
        sqlite3_exec(db, "CREATE TABLE users (id);", NULL, NULL, NULL),
        SQLITE_OK);
    assert_int_equal(gw_migrations_apply(db, gw_migrations, gw_migrations_count,
                                         1, NULL, &err),
                     AL_ESTATE);
    assert_non_null(strstr(err.msg, "not a gateway database"));
    sqlite3_close(db);

    db = mem_db();
    assert_int_equal(
        sqlite3_exec(db, "PRAGMA application_id = 7;", NULL, NULL, NULL),
        SQLITE_OK);
    assert_int_equal(gw_migrations_apply(db, gw_migrations, gw_migrations_count,
                                         1, NULL, &err),
                     AL_ESTATE);
    assert_non_null(strstr(err.msg, "application_id"));
    sqlite3_close(db);
}

static void misnumbered_list_is_a_bug(void **state)
{
    (void)state;
    static const gw_migration gap[] = {
        {1, "one", BOOKKEEPING},
        {3, "three", "SELECT 1;"},
    };
    sqlite3 *db = mem_db();
    al_error err = {0};
    assert_int_equal(gw_migrations_apply(db, gap, 2, 1, NULL, &err), AL_EINVAL);
    assert_int_equal(gw_migrations_current(db, &err), 0);
    sqlite3_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(embedded_sql_equals_files),
        cmocka_unit_test(every_file_is_embedded),
        cmocka_unit_test(fresh_database_gets_everything),
        cmocka_unit_test(applies_in_order_and_resumes),
        cmocka_unit_test(failing_migration_leaves_nothing),
        cmocka_unit_test(newer_database_is_refused),
        cmocka_unit_test(renamed_migration_is_refused),
        cmocka_unit_test(foreign_database_is_refused),
        cmocka_unit_test(misnumbered_list_is_a_bug),
    };
    return cmocka_run_group_tests_name("migrations", tests, NULL, NULL);
}
