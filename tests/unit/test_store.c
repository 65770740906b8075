/* store.c against real database files in a temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "store.h"
#include "tmpdir.h"

struct fixture {
    char dir[256];
    char path[300];
    struct log_catch log;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f || tmpdir_make(f->dir, sizeof(f->dir)) != 0)
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/gateway.db", f->dir);
    al_log_set(log_catch_fn, AL_LOG_WARN, &f->log);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    al_log_set(NULL, AL_LOG_WARN, NULL);
    tmpdir_remove(f->dir);
    free(f);
    return 0;
}

static gw_store *open_ok(struct fixture *f, uv_loop_t *loop)
{
    gw_store_opts o = {.path = f->path, .loop = loop};
    gw_store *s = NULL;
    al_error err = {0};
    int rc = gw_store_open(&s, &o, &err);
    if (rc)
        fail_msg("open: %s", err.msg);
    return s;
}

/* A second, independent connection, as an operator's sqlite3 shell. */
static sqlite3 *raw(struct fixture *f)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    return db;
}

static void raw_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg ? msg : "?");
}

static int64_t raw_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void fresh_database(void **state)
{
    struct fixture *f = *state;
    gw_store *s = open_ok(f, NULL);
    assert_string_equal(gw_store_path(s), f->path);
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    sqlite3 *db = raw(f);
    sqlite3_stmt *q = NULL;
    assert_int_equal(
        sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(q, 0), "wal");
    sqlite3_finalize(q);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM schema_migrations "
                                 "WHERE version = 1 AND name = 'init'"),
                     1);
    sqlite3_close(db);
    assert_int_equal(gw_store_close(s), 0);
}

static void reopen_is_a_no_op(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(gw_store_close(open_ok(f, NULL)), 0);
    sqlite3 *db = raw(f);
    int64_t applied_at = raw_int(db, "SELECT applied_at FROM "
                                     "schema_migrations WHERE version = 1");
    raw_exec(db, "UPDATE schema_migrations SET applied_at = 42");
    sqlite3_close(db);
    assert_int_equal(gw_store_close(open_ok(f, NULL)), 0);
    db = raw(f);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM schema_migrations"), 1);
    assert_int_equal(raw_int(db, "SELECT applied_at FROM schema_migrations"),
                     42);
    assert_true(applied_at > 1600000000000LL);
    sqlite3_close(db);
}

static void newer_database_refuses_to_open(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(gw_store_close(open_ok(f, NULL)), 0);
    sqlite3 *db = raw(f);
    raw_exec(db, "INSERT INTO schema_migrations VALUES (2, 'future', 0)");
    sqlite3_close(db);
    gw_store_opts o = {.path = f->path};
    gw_store *s = (gw_store *)1;
    al_error err = {0};
    assert_int_equal(gw_store_open(&s, &o, &err), AL_ESTATE);
    assert_null(s);
    assert_non_null(strstr(err.msg, f->path));
    assert_non_null(strstr(err.msg, "migration 2 (future)"));
    assert_non_null(strstr(err.msg, "up to 1"));
}

static void corrupt_file_is_a_clear_error(void **state)
{
    struct fixture *f = *state;
    FILE *fp = fopen(f->path, "wb");
    assert_non_null(fp);
    for (int i = 0; i < 4096; i++)
        fputc((i * 7919) & 0xff, fp);
    fclose(fp);
    gw_store_opts o = {.path = f->path};
    gw_store *s = NULL;
    al_error err = {0};
    assert_int_equal(gw_store_open(&s, &o, &err), AL_EIO);
    assert_null(s);
    assert_non_null(strstr(err.msg, f->path));
    assert_non_null(strstr(err.msg, "not a database"));
}

static void unusable_paths_are_clear_errors(void **state)
{
    struct fixture *f = *state;
    char path[400];
    snprintf(path, sizeof(path), "%s/missing/gateway.db", f->dir);
    gw_store_opts o = {.path = path};
    gw_store *s = NULL;
    al_error err = {0};
    assert_int_equal(gw_store_open(&s, &o, &err), AL_EIO);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "No such file or directory"));

    o.path = ":memory:";
    assert_int_equal(gw_store_open(&s, &o, &err), AL_EINVAL);
    o.path = NULL;
    assert_int_equal(gw_store_open(&s, &o, &err), AL_EINVAL);
    assert_int_equal(gw_store_open(&s, NULL, &err), AL_EINVAL);
}

/* ------------------------------------------------------------ rows */

struct seen {
    int schemas, configs, names, idems;
    gw_store_schema_row schema;
    char subject[64], uuid[64], json[256];
    char config_subject[64], level[32];
    bool global_seen;
    char global_level[32];
    gw_store_name_row name;
    char name_name[64], peer_text[128], remote[64];
    gw_store_idem_row idem;
    char key[64], headers[64];
    uint8_t body[64];
    int stop_with;
};

static int on_schema(const gw_store_schema_row *r, void *ud)
{
    struct seen *s = ud;
    s->schemas++;
    s->schema = *r;
    snprintf(s->subject, sizeof(s->subject), "%s", r->subject);
    snprintf(s->uuid, sizeof(s->uuid), "%s", r->message_uuid);
    snprintf(s->json, sizeof(s->json), "%s", r->schema_json);
    return s->stop_with;
}

static int on_config(const gw_store_config_row *r, void *ud)
{
    struct seen *s = ud;
    s->configs++;
    if (!r->subject) {
        s->global_seen = true;
        snprintf(s->global_level, sizeof(s->global_level), "%s",
                 r->compatibility);
    } else {
        snprintf(s->config_subject, sizeof(s->config_subject), "%s",
                 r->subject);
        snprintf(s->level, sizeof(s->level), "%s", r->compatibility);
    }
    return 0;
}

static int on_name(const gw_store_name_row *r, void *ud)
{
    struct seen *s = ud;
    s->names++;
    s->name = *r;
    snprintf(s->name_name, sizeof(s->name_name), "%s", r->name);
    snprintf(s->peer_text, sizeof(s->peer_text), "%s", r->peer_id);
    snprintf(s->remote, sizeof(s->remote), "%s", r->remote_id);
    return 0;
}

static int on_idem(const gw_store_idem_row *r, void *ud)
{
    struct seen *s = ud;
    s->idems++;
    s->idem = *r;
    snprintf(s->key, sizeof(s->key), "%s", r->key);
    snprintf(s->headers, sizeof(s->headers), "%s", r->headers);
    assert_true(r->body_len <= sizeof(s->body));
    if (r->body_len)
        memcpy(s->body, r->body, r->body_len);
    return 0;
}

static void load_all(gw_store *st, struct seen *s, int64_t now)
{
    al_error err = {0};
    assert_int_equal(gw_store_load_schemas(st, on_schema, s, &err), 0);
    assert_int_equal(gw_store_load_config(st, on_config, s, &err), 0);
    assert_int_equal(gw_store_load_names(st, on_name, s, &err), 0);
    assert_int_equal(gw_store_load_idem(st, now, on_idem, s, &err), 0);
}

static const gw_store_schema_row schema_v1 = {
    .subject = "remote::Counter/Inc",
    .version = 1,
    .schema_id = 7,
    .message_uuid = "3b9128f1-0593-44a0-b83a-f4188baa05bf",
    .actor_remote_id = "remote::Counter",
    .message_name = "Inc",
    .schema_json = "{\"type\":\"object\"}",
    .deleted = false,
    .created_at_ms = 1700000000000LL,
};

static gw_store_name_row sample_name(void)
{
    gw_store_name_row r = {
        .name = "counter",
        .peer_id = "12D3KooWExample",
        .remote_id = "remote::Counter",
        .resolved_at_ms = 1000,
        .expires_at_ms = 301000,
        .hits = 17,
    };
    r.actor.seq = 0x0102030405060708ULL;
    r.actor.peer.len = 38;
    for (int i = 0; i < 38; i++)
        r.actor.peer.bytes[i] = (uint8_t)(i + 1);
    return r;
}

static const uint8_t idem_body[] = {'{', '}', 0, 0xff, 'x'};

static gw_store_idem_row sample_idem(void)
{
    gw_store_idem_row r = {
        .key = "key-1",
        .status = 200,
        .headers = "Content-Type: application/json\r\n",
        .body = idem_body,
        .body_len = sizeof(idem_body),
        .created_at_ms = 5000,
        .expires_at_ms = 5000 + 86400000LL,
    };
    r.headers_len = strlen(r.headers);
    memset(r.request_hash, 0xab, sizeof(r.request_hash));
    return r;
}

static void write_samples(gw_store *s)
{
    assert_int_equal(gw_store_put_schema(s, &schema_v1, NULL, NULL), 0);
    gw_store_config_row global = {NULL, "FULL"};
    gw_store_config_row subject = {"remote::Counter/Inc", "NONE"};
    assert_int_equal(gw_store_put_config(s, &global, NULL, NULL), 0);
    assert_int_equal(gw_store_put_config(s, &subject, NULL, NULL), 0);
    gw_store_name_row n = sample_name();
    assert_int_equal(gw_store_put_name(s, &n, NULL, NULL), 0);
    gw_store_idem_row i = sample_idem();
    assert_int_equal(gw_store_put_idem(s, &i, NULL, NULL), 0);
}

static void check_samples(const struct seen *s)
{
    assert_int_equal(s->schemas, 1);
    assert_string_equal(s->subject, schema_v1.subject);
    assert_int_equal(s->schema.version, 1);
    assert_int_equal(s->schema.schema_id, 7);
    assert_string_equal(s->uuid, schema_v1.message_uuid);
    assert_string_equal(s->json, schema_v1.schema_json);
    assert_int_equal(s->schema.created_at_ms, schema_v1.created_at_ms);
    assert_false(s->schema.deleted);

    assert_int_equal(s->configs, 2);
    assert_true(s->global_seen);
    assert_string_equal(s->global_level, "FULL");
    assert_string_equal(s->config_subject, "remote::Counter/Inc");
    assert_string_equal(s->level, "NONE");

    gw_store_name_row n = sample_name();
    assert_int_equal(s->names, 1);
    assert_string_equal(s->name_name, "counter");
    assert_string_equal(s->peer_text, n.peer_id);
    assert_string_equal(s->remote, n.remote_id);
    assert_true(s->name.actor.seq == n.actor.seq);
    assert_int_equal(s->name.actor.peer.len, 38);
    assert_memory_equal(s->name.actor.peer.bytes, n.actor.peer.bytes, 38);
    assert_int_equal(s->name.resolved_at_ms, 1000);
    assert_int_equal(s->name.expires_at_ms, 301000);
    assert_int_equal(s->name.hits, 17);

    gw_store_idem_row i = sample_idem();
    assert_int_equal(s->idems, 1);
    assert_string_equal(s->key, "key-1");
    assert_int_equal(s->idem.status, 200);
    assert_string_equal(s->headers, i.headers);
    assert_int_equal(s->idem.headers_len, i.headers_len);
    assert_int_equal(s->idem.body_len, sizeof(idem_body));
    assert_memory_equal(s->body, idem_body, sizeof(idem_body));
    assert_memory_equal(s->idem.request_hash, i.request_hash, 32);
    assert_int_equal(s->idem.created_at_ms, 5000);
}

static void writes_visible_after_flush(void **state)
{
    struct fixture *f = *state;
    gw_store *s = open_ok(f, NULL);
    write_samples(s);
    assert_int_equal(gw_store_flush_sync(s), 0);
    struct seen seen = {0};
    load_all(s, &seen, 6000);
    check_samples(&seen);
    gw_store_stats st;
    gw_store_get_stats(s, &st);
    assert_int_equal(st.queued, 5);
    assert_int_equal(st.committed, 5);
    assert_int_equal(st.failed, 0);
    assert_int_equal(st.queue_len, 0);
    assert_true(st.transactions >= 1 && st.transactions <= 5);
    assert_int_equal(gw_store_close(s), 0);
}

static void rows_survive_reopen(void **state)
{
    struct fixture *f = *state;
    gw_store *s = open_ok(f, NULL);
    write_samples(s);
    /* No flush: close must drain the queue. */
    assert_int_equal(gw_store_close(s), 0);
    /* TRUNCATE checkpoint at close: everything is in the main file. */
    char wal[400];
    snprintf(wal, sizeof(wal), "%s-wal", f->path);
    struct stat st;
    assert_true(stat(wal, &st) != 0 || st.st_size == 0);

    s = open_ok(f, NULL);
    struct seen seen = {0};
    load_all(s, &seen, 6000);
    check_samples(&seen);
    /* Expired idempotency rows are not loaded. */
    struct seen later = {0};
    al_error err = {0};
    assert_int_equal(
        gw_store_load_idem(s, 5000 + 86400000LL, on_idem, &later, &err), 0);
    assert_int_equal(later.idems, 0);
    assert_int_equal(gw_store_close(s), 0);
}

static void updates_and_deletes(void **state)
{
    struct fixture *f = *state;
    gw_store *s = open_ok(f, NULL);
    write_samples(s);
    gw_store_schema_row v2 = schema_v1;
    v2.version = 2;
    v2.schema_id = 8;
    assert_int_equal(gw_store_put_schema(s, &v2, NULL, NULL), 0);
    assert_int_equal(
        gw_store_set_schema_deleted(s, schema_v1.subject, 2, true, NULL, NULL),
        0);
    assert_int_equal(
        gw_store_delete_schema(s, schema_v1.subject, 1, NULL, NULL), 0);
    assert_int_equal(gw_store_delete_config(s, NULL, NULL, NULL), 0);
    assert_int_equal(gw_store_set_name_hits(s, "counter", 99, NULL, NULL), 0);
    assert_int_equal(gw_store_purge_idem(s, 5000 + 86400000LL, NULL, NULL), 0);
    assert_int_equal(gw_store_flush_sync(s), 0);

    struct seen seen = {0};
    load_all(s, &seen, 0);
    assert_int_equal(seen.schemas, 1);
    assert_int_equal(seen.schema.version, 2);
    assert_true(seen.schema.deleted);
    assert_int_equal(seen.configs, 1);
    assert_false(seen.global_seen);
    assert_int_equal(seen.name.hits, 99);
    assert_int_equal(seen.idems, 0);

    assert_int_equal(
        gw_store_delete_schema(s, schema_v1.subject, -1, NULL, NULL), 0);
    assert_int_equal(gw_store_delete_name(s, "counter", NULL, NULL), 0);
    assert_int_equal(
        gw_store_delete_config(s, "remote::Counter/Inc", NULL, NULL), 0);
    assert_int_equal(gw_store_flush_sync(s), 0);
    struct seen none = {0};
    load_all(s, &none, 0);
    assert_int_equal(none.schemas + none.configs + none.names + none.idems, 0);

    /* delete_name(NULL) empties the table. */
    gw_store_name_row n = sample_name();
    assert_int_equal(gw_store_put_name(s, &n, NULL, NULL), 0);
    n.name = "other";
    assert_int_equal(gw_store_put_name(s, &n, NULL, NULL), 0);
    assert_int_equal(gw_store_delete_name(s, NULL, NULL, NULL), 0);
    assert_int_equal(gw_store_flush_sync(s), 0);
    struct seen gone = {0};
    load_all(s, &gone, 0);
    assert_int_equal(gone.names, 0);
    assert_int_equal(gw_store_close(s), 0);
}

static void never_called(int status, void *ud)
{
    (void)ud;
    fail_msg("done callback ran with status %d", status);
}

static void bad_rows_are_refused_at_once(void **state)
{
    struct fixture *f = *state;
    gw_store *s = open_ok(f, NULL);
    gw_store_config_row bad_level = {NULL, "SIDEWAYS"};
    assert_int_equal(gw_store_put_config(s, &bad_level, NULL, NULL), AL_EINVAL);
    gw_store_config_row empty_subject = {"", "FULL"};
    assert_int_equal(gw_store_put_config(s, &empty_subject, NULL, NULL),
                     AL_EINVAL);
    gw_store_schema_row v0 = schema_v1;
    v0.version = 0;
    assert_int_equal(gw_store_put_schema(s, &v0, NULL, NULL), AL_EINVAL);
    gw_store_name_row n = sample_name();
    n.actor.peer.len = 0;
    assert_int_equal(gw_store_put_name(s, &n, NULL, NULL), AL_EINVAL);
    gw_store_idem_row i = sample_idem();
    i.status = 600;
    assert_int_equal(gw_store_put_idem(s, &i, NULL, NULL), AL_EINVAL);
    /* A done callback needs a loop to run on. */
    assert_int_equal(gw_store_put_schema(s, &schema_v1, never_called, NULL),
                     AL_EINVAL);
    assert_int_equal(gw_store_flush(s, NULL, NULL), AL_EINVAL);
    gw_store_stats st;
    gw_store_get_stats(s, &st);
    assert_int_equal(st.queued, 0);
    assert_true(gw_store_compatibility_valid("BACKWARD_TRANSITIVE"));
    assert_false(gw_store_compatibility_valid("backward"));
    assert_int_equal(gw_store_close(s), 0);
}

/* ------------------------------------------------------------ async */

struct done_log {
    int calls;
    int status[8];
    int order[8];
};

struct done_arg {
    struct done_log *log;
    int tag;
};

static void on_done(int status, void *ud)
{
    struct done_arg *a = ud;
    struct done_log *l = a->log;
    if (l->calls < 8) {
        l->status[l->calls] = status;
        l->order[l->calls] = a->tag;
    }
    l->calls++;
}

static void on_deadline(uv_timer_t *t)
{
    *(bool *)t->data = true;
}

/* Runs the loop until *calls reaches want or 10 s pass. */
static void run_until(uv_loop_t *loop, const int *calls, int want)
{
    bool late = false;
    uv_timer_t t;
    uv_timer_init(loop, &t);
    t.data = &late;
    uv_timer_start(&t, on_deadline, 10000, 0);
    while (*calls < want && !late)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    assert_int_equal(*calls, want);
}

static void done_callbacks_run_on_the_loop(void **state)
{
    struct fixture *f = *state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    gw_store *s = open_ok(f, &loop);
    struct done_log log = {0};
    struct done_arg a1 = {&log, 1}, a2 = {&log, 2}, a3 = {&log, 3};
    assert_int_equal(gw_store_put_schema(s, &schema_v1, on_done, &a1), 0);
    gw_store_name_row n = sample_name();
    assert_int_equal(gw_store_put_name(s, &n, on_done, &a2), 0);
    assert_int_equal(gw_store_flush(s, on_done, &a3), 0);
    /* Never from inside the call. */
    assert_int_equal(log.calls, 0);
    run_until(&loop, &log.calls, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(log.status[i], 0);
        assert_int_equal(log.order[i], i + 1);
    }
    /* What is still pending at close runs inside close. */
    struct done_arg a4 = {&log, 4};
    assert_int_equal(gw_store_put_schema(s, &schema_v1, on_done, &a4), 0);
    assert_int_equal(gw_store_close(s), 0);
    assert_int_equal(log.calls, 4);
    assert_int_equal(log.status[3], 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* A row SQLite refuses (here: a trigger) fails alone and is logged by
 * name; the rest of its batch is kept. */
static void failed_write_is_logged_and_others_kept(void **state)
{
    struct fixture *f = *state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    gw_store *s = open_ok(f, &loop);
    sqlite3 *db = raw(f);
    raw_exec(db, "CREATE TRIGGER no_boom BEFORE INSERT ON config WHEN "
                 "NEW.subject = 'boom' BEGIN SELECT RAISE(ABORT, 'no boom'); "
                 "END");
    /* Hold the write lock so that the three writes meet in one batch. */
    raw_exec(db, "BEGIN IMMEDIATE");
    struct done_log log = {0};
    struct done_arg a1 = {&log, 1}, a2 = {&log, 2}, a3 = {&log, 3},
                    a4 = {&log, 4};
    gw_store_config_row a = {"a", "FULL"}, boom = {"boom", "FULL"},
                        b = {"b", "NONE"};
    assert_int_equal(gw_store_put_config(s, &a, on_done, &a1), 0);
    assert_int_equal(gw_store_put_config(s, &boom, on_done, &a2), 0);
    assert_int_equal(gw_store_put_config(s, &b, on_done, &a3), 0);
    assert_int_equal(gw_store_flush(s, on_done, &a4), 0);
    raw_exec(db, "COMMIT");
    run_until(&loop, &log.calls, 4);
    assert_int_equal(log.status[0], 0);
    assert_int_equal(log.status[1], AL_EIO);
    assert_int_equal(log.status[2], 0);
    assert_int_equal(log.status[3], AL_EIO); /* the flush saw a failure */
    assert_non_null(strstr(f->log.text, "put config \"boom\""));
    assert_non_null(strstr(f->log.text, "no boom"));
    assert_int_equal(raw_int(db, "SELECT count(*) FROM config"), 2);
    gw_store_stats st;
    gw_store_get_stats(s, &st);
    assert_int_equal(st.failed, 1);
    assert_int_equal(st.committed, 2);
    /* The next flush starts clean. */
    assert_int_equal(gw_store_flush_sync(s), 0);
    sqlite3_close(db);
    /* The close reports that a write failed during the store's life. */
    assert_int_equal(gw_store_close(s), AL_EIO);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* With the writer held up, the bounded queue refuses (and logs) instead of
 * growing; the writes it took commit in one transaction afterwards. */
static void full_queue_refuses_and_batches(void **state)
{
    struct fixture *f = *state;
    gw_store_opts o = {
        .path = f->path, .queue_max = 8, .busy_timeout_ms = 20000};
    gw_store *s = NULL;
    al_error err = {0};
    assert_int_equal(gw_store_open(&s, &o, &err), 0);
    sqlite3 *db = raw(f);
    raw_exec(db, "BEGIN IMMEDIATE");
    int accepted = 0, rc = 0;
    char name[32];
    for (int i = 0; i < 100 && rc == 0; i++) {
        gw_store_name_row n = sample_name();
        snprintf(name, sizeof(name), "actor-%d", i);
        n.name = name;
        rc = gw_store_put_name(s, &n, NULL, NULL);
        if (rc == 0)
            accepted++;
    }
    assert_int_equal(rc, AL_ELIMIT);
    /* At most one batch left the queue before the writer blocked. */
    assert_true(accepted >= 8 && accepted <= 16);
    assert_non_null(strstr(f->log.text, "write queue full"));
    assert_non_null(strstr(f->log.text, name));
    raw_exec(db, "COMMIT");
    assert_int_equal(gw_store_flush_sync(s), 0);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM name_cache"), accepted);
    gw_store_stats st;
    gw_store_get_stats(s, &st);
    assert_int_equal(st.rejected, 1);
    assert_int_equal(st.committed, (uint64_t)accepted);
    assert_true(st.transactions <= 2);
    sqlite3_close(db);
    assert_int_equal(gw_store_close(s), 0);
}

/* A database locked past the busy timeout fails the writes, each logged by
 * name, and the store carries on once the lock is gone. */
static void locked_database_fails_writes_loudly(void **state)
{
    struct fixture *f = *state;
    gw_store_opts o = {.path = f->path, .busy_timeout_ms = 50};
    gw_store *s = NULL;
    al_error err = {0};
    assert_int_equal(gw_store_open(&s, &o, &err), 0);
    sqlite3 *db = raw(f);
    raw_exec(db, "BEGIN IMMEDIATE");
    gw_store_config_row a = {"first", "FULL"}, b = {"second", "NONE"},
                        c = {"third", "FORWARD"};
    assert_int_equal(gw_store_put_config(s, &a, NULL, NULL), 0);
    assert_int_equal(gw_store_put_config(s, &b, NULL, NULL), 0);
    assert_int_equal(gw_store_put_config(s, &c, NULL, NULL), 0);
    assert_int_equal(gw_store_flush_sync(s), AL_EIO);
    raw_exec(db, "COMMIT");
    gw_store_stats st;
    gw_store_get_stats(s, &st);
    assert_int_equal(st.failed, 3);
    assert_int_equal(st.committed, 0);
    assert_non_null(strstr(f->log.text, "\"first\" was not written"));
    assert_non_null(strstr(f->log.text, "\"second\" was not written"));
    assert_non_null(strstr(f->log.text, "\"third\" was not written"));
    assert_int_equal(gw_store_put_config(s, &a, NULL, NULL), 0);
    assert_int_equal(gw_store_flush_sync(s), 0);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM config"), 1);
    sqlite3_close(db);
    assert_int_equal(gw_store_close(s), AL_EIO);
}

/* queue_max_bytes bounds the copied bytes: a row larger than the whole
 * budget can never be queued, and says so. */
static void byte_budget_is_enforced(void **state)
{
    struct fixture *f = *state;
    gw_store_opts o = {.path = f->path, .queue_max_bytes = 4096};
    gw_store *s = NULL;
    al_error err = {0};
    assert_int_equal(gw_store_open(&s, &o, &err), 0);
    char *json = malloc(5000);
    assert_non_null(json);
    memset(json, ' ', 4999);
    json[0] = '{';
    json[4998] = '}';
    json[4999] = '\0';
    gw_store_schema_row big = schema_v1;
    big.schema_json = json;
    assert_int_equal(gw_store_put_schema(s, &big, NULL, NULL), AL_ELIMIT);
    assert_int_equal(gw_store_put_schema(s, &schema_v1, NULL, NULL), 0);
    assert_int_equal(gw_store_flush_sync(s), 0);
    gw_store_stats st;
    gw_store_get_stats(s, &st);
    assert_int_equal(st.rejected, 1);
    assert_int_equal(st.committed, 1);
    assert_int_equal(st.queue_bytes, 0);
    assert_non_null(strstr(f->log.text, "put schema \"remote::Counter/Inc\""));
    free(json);
    assert_int_equal(gw_store_close(s), 0);
}

/* The file is input too: rows with wrong types or lengths are skipped with
 * a warning, the others load. */
static void malformed_rows_are_skipped(void **state)
{
    struct fixture *f = *state;
    gw_store *s = open_ok(f, NULL);
    write_samples(s);
    assert_int_equal(gw_store_flush_sync(s), 0);
    sqlite3 *db = raw(f);
    raw_exec(db, "PRAGMA ignore_check_constraints = 1");
    raw_exec(db, "INSERT INTO name_cache VALUES ('short', 'p', 1, x'0102', "
                 "'r', 0, 0, 0)");
    raw_exec(db, "INSERT INTO name_cache VALUES ('seq', 'p', 2, "
                 "x'0100000000000000aa', 'r', 0, 0, 0)");
    raw_exec(db, "INSERT INTO name_cache VALUES ('typed', 'p', 'one', "
                 "x'0100000000000000aa', 'r', 0, 0, 0)");
    raw_exec(db, "INSERT INTO idempotency VALUES ('k2', x'00', 200, '', "
                 "x'', 0, 99999999999999)");
    raw_exec(db, "INSERT INTO idempotency VALUES ('k3', zeroblob(32), 700, "
                 "'', x'', 0, 99999999999999)");
    raw_exec(db, "INSERT INTO schema_versions VALUES ('s', 'x', 1, 'u', 'a', "
                 "'m', '{}', 0, 0)");
    raw_exec(db, "INSERT INTO config VALUES ('x', 'SIDEWAYS')");
    sqlite3_close(db);
    struct seen seen = {0};
    load_all(s, &seen, 6000);
    check_samples(&seen);
    assert_non_null(strstr(f->log.text, "skipped 3 malformed rows of "
                                        "name_cache"));
    assert_non_null(strstr(f->log.text, "skipped 2 malformed rows of "
                                        "idempotency"));
    assert_non_null(strstr(f->log.text, "skipped 1 malformed row of "
                                        "schema_versions"));
    assert_non_null(strstr(f->log.text, "skipped 1 malformed row of config"));
    assert_int_equal(gw_store_close(s), 0);
}

static void a_callback_can_stop_a_load(void **state)
{
    struct fixture *f = *state;
    gw_store *s = open_ok(f, NULL);
    write_samples(s);
    assert_int_equal(gw_store_flush_sync(s), 0);
    struct seen seen = {.stop_with = AL_ECANCELED};
    al_error err = {0};
    assert_int_equal(gw_store_load_schemas(s, on_schema, &seen, &err),
                     AL_ECANCELED);
    assert_non_null(strstr(err.msg, "schema_versions"));
    assert_int_equal(gw_store_load_schemas(s, NULL, NULL, &err), AL_EINVAL);
    assert_int_equal(gw_store_close(s), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(fresh_database, setup, teardown),
        cmocka_unit_test_setup_teardown(reopen_is_a_no_op, setup, teardown),
        cmocka_unit_test_setup_teardown(newer_database_refuses_to_open, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(corrupt_file_is_a_clear_error, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(unusable_paths_are_clear_errors, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(writes_visible_after_flush, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(rows_survive_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(updates_and_deletes, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_rows_are_refused_at_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(done_callbacks_run_on_the_loop, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(failed_write_is_logged_and_others_kept,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(full_queue_refuses_and_batches, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(locked_database_fails_writes_loudly,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(byte_budget_is_enforced, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(malformed_rows_are_skipped, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_callback_can_stop_a_load, setup,
                                        teardown),
    };
    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
