/*
 * SQLite persistence: synchronous loads at start, asynchronous batched
 * writes on a writer thread. See store.h for the contract.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "migrations.h"
#include "store.h"

#define DEFAULT_BUSY_MS     5000
#define DEFAULT_QUEUE_MAX   65536
#define DEFAULT_QUEUE_BYTES ((size_t)64 << 20)
#define DEFAULT_BATCH_MAX   1024

/* ------------------------------------------------------------ operations */

enum op_kind {
    OP_PUT_SCHEMA,
    OP_SET_SCHEMA_DELETED,
    OP_DELETE_SCHEMA,
    OP_DELETE_SUBJECT,
    OP_PUT_CONFIG,
    OP_DELETE_CONFIG,
    OP_PUT_NAME,
    OP_SET_NAME_HITS,
    OP_DELETE_NAME,
    OP_DELETE_ALL_NAMES,
    OP_PUT_IDEM,
    OP_DELETE_IDEM,
    OP_PURGE_IDEM,
    OP_BARRIER,
    OP__COUNT
};

/* The statement of each kind; its ? are bound from op.params in order. */
static const char *const op_sql[OP__COUNT] = {
    [OP_PUT_SCHEMA] = "INSERT OR REPLACE INTO schema_versions (subject, "
                      "version, schema_id, message_uuid, actor_remote_id, "
                      "message_name, schema_json, deleted, created_at) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    [OP_SET_SCHEMA_DELETED] = "UPDATE schema_versions SET deleted = ? "
                              "WHERE subject = ? AND version = ?",
    [OP_DELETE_SCHEMA] = "DELETE FROM schema_versions WHERE subject = ? "
                         "AND version = ?",
    [OP_DELETE_SUBJECT] = "DELETE FROM schema_versions WHERE subject = ?",
    [OP_PUT_CONFIG] = "INSERT OR REPLACE INTO config (subject, "
                      "compatibility) VALUES (?, ?)",
    [OP_DELETE_CONFIG] = "DELETE FROM config WHERE subject = ?",
    [OP_PUT_NAME] = "INSERT OR REPLACE INTO name_cache (name, peer_id, "
                    "actor_seq, actor_id, remote_id, resolved_at, "
                    "expires_at, hits) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    [OP_SET_NAME_HITS] = "UPDATE name_cache SET hits = ? WHERE name = ?",
    [OP_DELETE_NAME] = "DELETE FROM name_cache WHERE name = ?",
    [OP_DELETE_ALL_NAMES] = "DELETE FROM name_cache",
    [OP_PUT_IDEM] = "INSERT OR REPLACE INTO idempotency (key, request_hash, "
                    "status, headers, body, created_at, expires_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
    [OP_DELETE_IDEM] = "DELETE FROM idempotency WHERE key = ?",
    [OP_PURGE_IDEM] = "DELETE FROM idempotency WHERE expires_at <= ?",
    [OP_BARRIER] = NULL,
};

static const char *const op_name[OP__COUNT] = {
    [OP_PUT_SCHEMA] = "put schema",
    [OP_SET_SCHEMA_DELETED] = "mark schema deleted",
    [OP_DELETE_SCHEMA] = "delete schema",
    [OP_DELETE_SUBJECT] = "delete subject",
    [OP_PUT_CONFIG] = "put config",
    [OP_DELETE_CONFIG] = "delete config",
    [OP_PUT_NAME] = "put name",
    [OP_SET_NAME_HITS] = "set name hits",
    [OP_DELETE_NAME] = "delete name",
    [OP_DELETE_ALL_NAMES] = "delete all names",
    [OP_PUT_IDEM] = "put idempotency key",
    [OP_DELETE_IDEM] = "delete idempotency key",
    [OP_PURGE_IDEM] = "purge idempotency keys",
    [OP_BARRIER] = "flush",
};

enum param_type { P_INT, P_TEXT, P_BLOB };

struct param {
    enum param_type type;
    int64_t i;
    const void *p; /* P_TEXT, P_BLOB: into the op's tail once queued */
    size_t n;
};

#define MAX_PARAMS 9

/* A blocked gw_store_flush_sync waits on one of these, on its stack. */
struct sync_wait {
    bool done;
    int status;
};

/* One queued write, with copies of its text and blobs in tail. */
struct op {
    struct op *next;
    enum op_kind kind;
    gw_store_done_fn done;
    void *ud;
    struct sync_wait *wait;
    int status;
    size_t bytes;
    int nparams;
    struct param params[MAX_PARAMS];
    char tail[];
};

struct op_list {
    struct op *head, *tail;
};

static void list_push(struct op_list *l, struct op *o)
{
    o->next = NULL;
    if (l->tail)
        l->tail->next = o;
    else
        l->head = o;
    l->tail = o;
}

/* ------------------------------------------------------------ the store */

/* Allocated apart from the store because libuv releases a handle only in
 * its close callback, which may run after the store is gone. */
struct async_box {
    uv_async_t handle;
    gw_store *store;
};

struct gw_store {
    char *path;
    sqlite3 *db;  /* loop thread: migrations and loads */
    sqlite3 *wdb; /* writer thread */
    sqlite3_stmt *stmt[OP__COUNT];
    uint32_t batch_max;
    uint32_t queue_max;
    size_t queue_max_bytes;

    uv_thread_t writer;
    bool writer_started;
    struct async_box *async;

    /* Under mu: */
    uv_mutex_t mu;
    uv_cond_t work_cv; /* the writer waits for work */
    uv_cond_t done_cv; /* gw_store_flush_sync waits for its barrier */
    struct op_list queue;
    struct op_list completed; /* for the loop thread */
    bool closing;
    gw_store_stats stats;

    /* Writer thread only: */
    uint64_t failures_since_barrier;
    int close_status;
};

int64_t gw_store_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *gw_store_path(const gw_store *s)
{
    return s->path;
}

bool gw_store_compatibility_valid(const char *level)
{
    static const char *const levels[] = {
        "BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE",
        "FULL",     "FULL_TRANSITIVE",     "NONE"};
    if (!level)
        return false;
    for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
        if (strcmp(level, levels[i]) == 0)
            return true;
    return false;
}

/* ------------------------------------------------------------ opening */

static int db_fail(gw_store *s, sqlite3 *db, al_error *err, const char *what)
{
    return al_error_set(err, AL_EIO, "%s: %s: %s", s->path, what,
                        db ? sqlite3_errmsg(db) : "out of memory");
}

static int set_pragmas(gw_store *s, sqlite3 *db, const gw_store_opts *o,
                       al_error *err)
{
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, o->busy_timeout_ms ? (int)o->busy_timeout_ms
                                                : DEFAULT_BUSY_MS);
    const char *sync = o->synchronous_normal ? "PRAGMA synchronous = NORMAL"
                                             : "PRAGMA synchronous = FULL";
    if (sqlite3_exec(db, sync, NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(s, db, err, sync);
    if (sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL) !=
        SQLITE_OK)
        return db_fail(s, db, err, "PRAGMA foreign_keys");
    return 0;
}

/* WAL lets the loop thread's loads and the writer's commits proceed without
 * blocking each other. It is a property of the file, so one connection
 * setting it is enough; the answer must be checked, as SQLite quietly keeps
 * another mode where WAL is impossible. */
static int set_wal(gw_store *s, al_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL) !=
        SQLITE_OK)
        return db_fail(s, s->db, err, "PRAGMA journal_mode");
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        rc = db_fail(s, s->db, err, "PRAGMA journal_mode");
        sqlite3_finalize(st);
        return rc;
    }
    const char *mode = (const char *)sqlite3_column_text(st, 0);
    rc = 0;
    if (!mode || strcmp(mode, "wal") != 0)
        rc = al_error_set(err, AL_EIO, "%s: cannot use WAL (journal mode %s)",
                          s->path, mode ? mode : "?");
    sqlite3_finalize(st);
    return rc;
}

static int open_conn(gw_store *s, sqlite3 **db, al_error *err)
{
    /* One connection per thread, each used by its thread alone: SQLite's
     * multi-thread mode, no per-call mutex. */
    int flags =
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(s->path, db, flags, NULL) != SQLITE_OK)
        return db_fail(s, *db, err, "open");
    return 0;
}

/* Creates the file with mode 0600 before SQLite does (SQLite would use
 * 0644): idempotency rows hold response bodies. Also gives a plain
 * errno-based message for a missing directory or a read-only file. */
static int precreate(const char *path, al_error *err)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return al_error_set(err, AL_EIO, "%s: cannot open for writing: %s",
                            path, strerror(errno));
    close(fd);
    return 0;
}

static void writer_main(void *arg);
static void async_cb(uv_async_t *h);

static void async_closed(uv_handle_t *h)
{
    free(h->data);
}

static void free_store(gw_store *s)
{
    for (int k = 0; k < OP__COUNT; k++)
        sqlite3_finalize(s->stmt[k]);
    sqlite3_close(s->wdb);
    sqlite3_close(s->db);
    uv_cond_destroy(&s->done_cv);
    uv_cond_destroy(&s->work_cv);
    uv_mutex_destroy(&s->mu);
    free(s->path);
    free(s);
}

int gw_store_open(gw_store **out, const gw_store_opts *opts, al_error *err)
{
    *out = NULL;
    if (!opts || !opts->path || !opts->path[0] ||
        strcmp(opts->path, ":memory:") == 0)
        return al_error_set(err, AL_EINVAL,
                            "store: a database file path is required");
    gw_store *s = calloc(1, sizeof(*s));
    if (!s)
        return al_error_set(err, AL_ENOMEM, "store: out of memory");
    s->path = strdup(opts->path);
    if (!s->path) {
        free(s);
        return al_error_set(err, AL_ENOMEM, "store: out of memory");
    }
    if (uv_mutex_init(&s->mu) != 0) {
        free(s->path);
        free(s);
        return al_error_set(err, AL_ENOMEM, "store: mutex");
    }
    uv_cond_init(&s->work_cv);
    uv_cond_init(&s->done_cv);
    s->batch_max = opts->batch_max ? opts->batch_max : DEFAULT_BATCH_MAX;
    s->queue_max = opts->queue_max ? opts->queue_max : DEFAULT_QUEUE_MAX;
    s->queue_max_bytes =
        opts->queue_max_bytes ? opts->queue_max_bytes : DEFAULT_QUEUE_BYTES;

    int applied = 0;
    int rc = precreate(s->path, err);
    if (rc == 0)
        rc = open_conn(s, &s->db, err);
    if (rc == 0)
        rc = set_pragmas(s, s->db, opts, err);
    if (rc == 0)
        rc = set_wal(s, err);
    if (rc == 0) {
        rc = gw_migrations_apply(s->db, gw_migrations, gw_migrations_count,
                                 gw_store_now_ms(), &applied, err);
        if (rc && err) {
            /* Prefix the path: the runner does not know it. */
            char msg[AL_ERROR_MSG];
            snprintf(msg, sizeof(msg), "%s", err->msg);
            al_error_set(err, rc, "%s: %s", s->path, msg);
        }
    }
    if (rc == 0)
        rc = open_conn(s, &s->wdb, err);
    if (rc == 0)
        rc = set_pragmas(s, s->wdb, opts, err);
    if (rc)
        goto fail;

    if (opts->loop) {
        s->async = calloc(1, sizeof(*s->async));
        if (!s->async) {
            rc = al_error_set(err, AL_ENOMEM, "store: out of memory");
            goto fail;
        }
        s->async->store = s;
        s->async->handle.data = s->async;
        if (uv_async_init(opts->loop, &s->async->handle, async_cb) != 0) {
            free(s->async);
            s->async = NULL;
            rc = al_error_set(err, AL_EIO, "store: uv_async_init failed");
            goto fail;
        }
        /* The store alone must not keep the loop running: what is pending
         * at close runs inside gw_store_close. */
        uv_unref((uv_handle_t *)&s->async->handle);
    }
    if (uv_thread_create(&s->writer, writer_main, s) != 0) {
        rc = al_error_set(err, AL_EIO, "store: cannot start writer thread");
        goto fail;
    }
    s->writer_started = true;
    al_log(AL_LOG_INFO,
           "store: opened %s (WAL, synchronous=%s, %d migration%s applied)",
           s->path, opts->synchronous_normal ? "NORMAL" : "FULL", applied,
           applied == 1 ? "" : "s");
    *out = s;
    return 0;

fail:
    if (s->async) {
        s->async->store = NULL;
        uv_close((uv_handle_t *)&s->async->handle, async_closed);
    }
    free_store(s);
    return rc;
}

/* ------------------------------------------------------------ writer */

static sqlite3_stmt *stmt_for(gw_store *s, enum op_kind k)
{
    if (!s->stmt[k] &&
        sqlite3_prepare_v3(s->wdb, op_sql[k], -1, SQLITE_PREPARE_PERSISTENT,
                           &s->stmt[k], NULL) != SQLITE_OK)
        return NULL;
    return s->stmt[k];
}

static int run_op(gw_store *s, struct op *o)
{
    sqlite3_stmt *st = stmt_for(s, o->kind);
    if (!st)
        return AL_EIO;
    int rc = SQLITE_OK;
    for (int i = 0; i < o->nparams && rc == SQLITE_OK; i++) {
        const struct param *p = &o->params[i];
        switch (p->type) {
        case P_INT:
            rc = sqlite3_bind_int64(st, i + 1, p->i);
            break;
        case P_TEXT:
            rc = sqlite3_bind_text(st, i + 1, p->p, (int)p->n, SQLITE_STATIC);
            break;
        case P_BLOB:
            /* A NULL pointer would bind SQL NULL, not an empty blob. */
            rc = sqlite3_bind_blob(st, i + 1, p->n ? p->p : "", (int)p->n,
                                   SQLITE_STATIC);
            break;
        }
    }
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : AL_EIO;
}

/* The op's first text parameter names the row in logs. */
static const char *op_key(const struct op *o)
{
    for (int i = 0; i < o->nparams; i++)
        if (o->params[i].type == P_TEXT)
            return o->params[i].p;
    return "";
}

static void log_failure(gw_store *s, struct op *o)
{
    al_log(AL_LOG_ERROR, "store: %s \"%s\" was not written to %s: %s",
           op_name[o->kind], op_key(o), s->path, sqlite3_errmsg(s->wdb));
}

static bool exec_w(gw_store *s, const char *sql)
{
    return sqlite3_exec(s->wdb, sql, NULL, NULL, NULL) == SQLITE_OK;
}

/* Runs ops each in its own transaction: the way to find out which write
 * of a failed batch is at fault, and to keep the others. */
static void run_singly(gw_store *s, struct op *ops)
{
    bool can_begin = true;
    for (struct op *o = ops; o; o = o->next) {
        if (o->kind == OP_BARRIER)
            continue;
        /* When no transaction can start (the file is locked past the busy
         * timeout, the disk is gone), waiting that long once per write
         * would only stall the queue: the rest of the batch fails now. */
        if (!can_begin || !exec_w(s, "BEGIN IMMEDIATE")) {
            can_begin = false;
            o->status = AL_EIO;
            log_failure(s, o);
            continue;
        }
        o->status = run_op(s, o);
        if (o->status == 0 && !exec_w(s, "COMMIT"))
            o->status = AL_EIO;
        if (o->status) {
            log_failure(s, o);
            exec_w(s, "ROLLBACK");
        }
    }
}

static void run_batch(gw_store *s, struct op *ops)
{
    bool any = false;
    for (struct op *o = ops; o; o = o->next)
        any |= o->kind != OP_BARRIER;
    if (!any)
        return;
    bool ok = exec_w(s, "BEGIN IMMEDIATE");
    for (struct op *o = ops; ok && o; o = o->next)
        if (o->kind != OP_BARRIER && run_op(s, o) != 0)
            ok = false;
    if (ok && exec_w(s, "COMMIT")) {
        for (struct op *o = ops; o; o = o->next)
            o->status = 0;
        uv_mutex_lock(&s->mu);
        s->stats.transactions++;
        uv_mutex_unlock(&s->mu);
        return;
    }
    al_log(AL_LOG_WARN,
           "store: batch commit to %s failed (%s); retrying "
           "each write alone",
           s->path, sqlite3_errmsg(s->wdb));
    exec_w(s, "ROLLBACK");
    run_singly(s, ops);
}

/* Hands each op to whoever waits for it, or frees it. */
static void finish_batch(gw_store *s, struct op *ops)
{
    uint64_t committed = 0, failed = 0;
    bool wake_loop = false, wake_sync = false;
    uv_mutex_lock(&s->mu);
    while (ops) {
        struct op *o = ops;
        ops = o->next;
        if (o->kind == OP_BARRIER) {
            o->status = s->failures_since_barrier ? AL_EIO : 0;
            s->failures_since_barrier = 0;
        } else if (o->status) {
            failed++;
            s->failures_since_barrier++;
            if (!s->close_status)
                s->close_status = o->status;
        } else {
            committed++;
        }
        if (o->wait) {
            o->wait->status = o->status;
            o->wait->done = true;
            wake_sync = true;
            free(o);
        } else if (o->done) {
            list_push(&s->completed, o);
            wake_loop = true;
        } else {
            free(o);
        }
    }
    s->stats.committed += committed;
    s->stats.failed += failed;
    uv_mutex_unlock(&s->mu);
    if (wake_sync)
        uv_cond_broadcast(&s->done_cv);
    if (wake_loop && s->async)
        uv_async_send(&s->async->handle);
}

static struct op *take_batch(gw_store *s)
{
    struct op *first = s->queue.head, *last = first;
    uint32_t n = 1;
    while (last->next && n < s->batch_max) {
        last = last->next;
        n++;
    }
    s->queue.head = last->next;
    if (!s->queue.head)
        s->queue.tail = NULL;
    last->next = NULL;
    for (struct op *o = first; o; o = o->next) {
        s->stats.queue_len--;
        s->stats.queue_bytes -= o->bytes;
    }
    return first;
}

static void checkpoint(gw_store *s)
{
    int log_frames = 0, done_frames = 0;
    int rc = sqlite3_wal_checkpoint_v2(s->wdb, NULL, SQLITE_CHECKPOINT_TRUNCATE,
                                       &log_frames, &done_frames);
    if (rc != SQLITE_OK) {
        al_log(AL_LOG_ERROR, "store: checkpoint of %s failed: %s", s->path,
               sqlite3_errmsg(s->wdb));
        if (!s->close_status)
            s->close_status = AL_EIO;
    } else {
        al_log(AL_LOG_INFO, "store: checkpointed %s (%d frames)", s->path,
               done_frames);
    }
}

static void writer_main(void *arg)
{
    gw_store *s = arg;
    for (;;) {
        uv_mutex_lock(&s->mu);
        while (!s->queue.head && !s->closing)
            uv_cond_wait(&s->work_cv, &s->mu);
        if (!s->queue.head) {
            uv_mutex_unlock(&s->mu);
            break;
        }
        struct op *batch = take_batch(s);
        uv_mutex_unlock(&s->mu);
        run_batch(s, batch);
        finish_batch(s, batch);
    }
    checkpoint(s);
}

/* ------------------------------------------------------------ completions */

static void run_completions(gw_store *s)
{
    uv_mutex_lock(&s->mu);
    struct op *o = s->completed.head;
    s->completed.head = s->completed.tail = NULL;
    uv_mutex_unlock(&s->mu);
    while (o) {
        struct op *next = o->next;
        o->done(o->status, o->ud);
        free(o);
        o = next;
    }
}

static void async_cb(uv_async_t *h)
{
    struct async_box *box = h->data;
    if (box->store)
        run_completions(box->store);
}

/* ------------------------------------------------------------ closing */

int gw_store_close(gw_store *s)
{
    if (!s)
        return 0;
    uv_mutex_lock(&s->mu);
    s->closing = true;
    uv_mutex_unlock(&s->mu);
    uv_cond_signal(&s->work_cv);
    if (s->writer_started)
        uv_thread_join(&s->writer);
    run_completions(s);
    int rc = s->close_status;
    if (s->async) {
        s->async->store = NULL;
        uv_close((uv_handle_t *)&s->async->handle, async_closed);
    }
    free_store(s);
    return rc;
}

/* ------------------------------------------------------------ queueing */

static struct param p_int(int64_t v)
{
    return (struct param){.type = P_INT, .i = v};
}

static struct param p_text(const char *t)
{
    return (struct param){.type = P_TEXT, .p = t, .n = strlen(t)};
}

static struct param p_blob(const void *b, size_t n)
{
    return (struct param){.type = P_BLOB, .p = b, .n = n};
}

/* Copies params (and what they point to) into a new op and queues it. */
static int submit(gw_store *s, enum op_kind kind, const struct param *params,
                  int n, gw_store_done_fn done, void *ud,
                  struct sync_wait *wait)
{
    if (done && !s->async)
        return AL_EINVAL;
    size_t tail = 0;
    for (int i = 0; i < n; i++) {
        if (params[i].type == P_INT)
            continue;
        if (params[i].n > (size_t)INT32_MAX - 1)
            return AL_EINVAL;
        tail += params[i].n + 1;
    }
    size_t bytes = sizeof(struct op) + tail;
    struct op *o = malloc(bytes);
    if (!o)
        return AL_ENOMEM;
    memset(o, 0, sizeof(*o));
    o->kind = kind;
    o->done = done;
    o->ud = ud;
    o->wait = wait;
    o->bytes = bytes;
    o->nparams = n;
    char *t = o->tail;
    for (int i = 0; i < n; i++) {
        o->params[i] = params[i];
        if (params[i].type == P_INT)
            continue;
        if (params[i].n)
            memcpy(t, params[i].p, params[i].n);
        t[params[i].n] = '\0';
        o->params[i].p = t;
        t += params[i].n + 1;
    }

    uv_mutex_lock(&s->mu);
    int rc = 0;
    if (s->closing)
        rc = AL_ESTATE;
    else if (kind != OP_BARRIER &&
             (s->stats.queue_len >= s->queue_max ||
              s->stats.queue_bytes + bytes > s->queue_max_bytes))
        rc = AL_ELIMIT;
    if (rc == 0) {
        list_push(&s->queue, o);
        s->stats.queue_len++;
        s->stats.queue_bytes += bytes;
        if (kind != OP_BARRIER)
            s->stats.queued++;
    } else if (rc == AL_ELIMIT) {
        s->stats.rejected++;
    }
    uv_mutex_unlock(&s->mu);
    if (rc) {
        al_log(AL_LOG_ERROR, "store: %s \"%s\" dropped: %s", op_name[kind],
               op_key(o),
               rc == AL_ELIMIT ? "write queue full" : "store is closing");
        free(o);
        return rc;
    }
    uv_cond_signal(&s->work_cv);
    return 0;
}

static bool text_ok(const char *t)
{
    return t && t[0];
}

int gw_store_put_schema(gw_store *s, const gw_store_schema_row *r,
                        gw_store_done_fn done, void *ud)
{
    if (!r || !text_ok(r->subject) || r->version < 1 || !r->message_uuid ||
        !r->actor_remote_id || !r->message_name || !r->schema_json)
        return AL_EINVAL;
    struct param p[] = {
        p_text(r->subject),         p_int(r->version),
        p_int(r->schema_id),        p_text(r->message_uuid),
        p_text(r->actor_remote_id), p_text(r->message_name),
        p_text(r->schema_json),     p_int(r->deleted ? 1 : 0),
        p_int(r->created_at_ms),
    };
    return submit(s, OP_PUT_SCHEMA, p, 9, done, ud, NULL);
}

int gw_store_set_schema_deleted(gw_store *s, const char *subject,
                                int64_t version, bool deleted,
                                gw_store_done_fn done, void *ud)
{
    if (!text_ok(subject) || version < 1)
        return AL_EINVAL;
    struct param p[] = {p_int(deleted ? 1 : 0), p_text(subject),
                        p_int(version)};
    return submit(s, OP_SET_SCHEMA_DELETED, p, 3, done, ud, NULL);
}

int gw_store_delete_schema(gw_store *s, const char *subject, int64_t version,
                           gw_store_done_fn done, void *ud)
{
    if (!text_ok(subject) || version == 0)
        return AL_EINVAL;
    struct param p[] = {p_text(subject), p_int(version)};
    if (version < 0)
        return submit(s, OP_DELETE_SUBJECT, p, 1, done, ud, NULL);
    return submit(s, OP_DELETE_SCHEMA, p, 2, done, ud, NULL);
}

int gw_store_put_config(gw_store *s, const gw_store_config_row *r,
                        gw_store_done_fn done, void *ud)
{
    if (!r || (r->subject && !r->subject[0]) ||
        !gw_store_compatibility_valid(r->compatibility))
        return AL_EINVAL;
    struct param p[] = {p_text(r->subject ? r->subject : ""),
                        p_text(r->compatibility)};
    return submit(s, OP_PUT_CONFIG, p, 2, done, ud, NULL);
}

int gw_store_delete_config(gw_store *s, const char *subject,
                           gw_store_done_fn done, void *ud)
{
    if (subject && !subject[0])
        return AL_EINVAL;
    struct param p[] = {p_text(subject ? subject : "")};
    return submit(s, OP_DELETE_CONFIG, p, 1, done, ud, NULL);
}

static int64_t clamp_u64(uint64_t v)
{
    return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
}

int gw_store_put_name(gw_store *s, const gw_store_name_row *r,
                      gw_store_done_fn done, void *ud)
{
    if (!r || !text_ok(r->name) || !text_ok(r->peer_id) ||
        !text_ok(r->remote_id) || r->actor.peer.len == 0 ||
        r->actor.peer.len > AL_PEER_ID_MAX)
        return AL_EINVAL;
    uint8_t id[8 + AL_PEER_ID_MAX];
    for (int i = 0; i < 8; i++)
        id[i] = (uint8_t)(r->actor.seq >> (8 * i));
    memcpy(id + 8, r->actor.peer.bytes, r->actor.peer.len);
    struct param p[] = {
        p_text(r->name),
        p_text(r->peer_id),
        p_int((int64_t)r->actor.seq),
        p_blob(id, 8 + (size_t)r->actor.peer.len),
        p_text(r->remote_id),
        p_int(r->resolved_at_ms),
        p_int(r->expires_at_ms),
        p_int(clamp_u64(r->hits)),
    };
    return submit(s, OP_PUT_NAME, p, 8, done, ud, NULL);
}

int gw_store_set_name_hits(gw_store *s, const char *name, uint64_t hits,
                           gw_store_done_fn done, void *ud)
{
    if (!text_ok(name))
        return AL_EINVAL;
    struct param p[] = {p_int(clamp_u64(hits)), p_text(name)};
    return submit(s, OP_SET_NAME_HITS, p, 2, done, ud, NULL);
}

int gw_store_delete_name(gw_store *s, const char *name, gw_store_done_fn done,
                         void *ud)
{
    if (!name)
        return submit(s, OP_DELETE_ALL_NAMES, NULL, 0, done, ud, NULL);
    if (!name[0])
        return AL_EINVAL;
    struct param p[] = {p_text(name)};
    return submit(s, OP_DELETE_NAME, p, 1, done, ud, NULL);
}

int gw_store_put_idem(gw_store *s, const gw_store_idem_row *r,
                      gw_store_done_fn done, void *ud)
{
    if (!r || !text_ok(r->key) || r->status < 100 || r->status > 599 ||
        (r->body_len && !r->body) || (r->headers_len && !r->headers))
        return AL_EINVAL;
    struct param p[] = {
        p_text(r->key),
        p_blob(r->request_hash, GW_STORE_HASH_LEN),
        p_int(r->status),
        {.type = P_TEXT, .p = r->headers, .n = r->headers_len},
        p_blob(r->body, r->body_len),
        p_int(r->created_at_ms),
        p_int(r->expires_at_ms),
    };
    return submit(s, OP_PUT_IDEM, p, 7, done, ud, NULL);
}

int gw_store_delete_idem(gw_store *s, const char *key, gw_store_done_fn done,
                         void *ud)
{
    if (!text_ok(key))
        return AL_EINVAL;
    struct param p[] = {p_text(key)};
    return submit(s, OP_DELETE_IDEM, p, 1, done, ud, NULL);
}

int gw_store_purge_idem(gw_store *s, int64_t now_ms, gw_store_done_fn done,
                        void *ud)
{
    struct param p[] = {p_int(now_ms)};
    return submit(s, OP_PURGE_IDEM, p, 1, done, ud, NULL);
}

int gw_store_flush(gw_store *s, gw_store_done_fn done, void *ud)
{
    if (!done)
        return AL_EINVAL;
    return submit(s, OP_BARRIER, NULL, 0, done, ud, NULL);
}

int gw_store_flush_sync(gw_store *s)
{
    struct sync_wait w = {false, 0};
    int rc = submit(s, OP_BARRIER, NULL, 0, NULL, NULL, &w);
    if (rc)
        return rc;
    uv_mutex_lock(&s->mu);
    while (!w.done)
        uv_cond_wait(&s->done_cv, &s->mu);
    uv_mutex_unlock(&s->mu);
    return w.status;
}

void gw_store_get_stats(gw_store *s, gw_store_stats *out)
{
    uv_mutex_lock(&s->mu);
    *out = s->stats;
    uv_mutex_unlock(&s->mu);
}

/* ------------------------------------------------------------ loading */

/* Column readers that say whether the stored value has the expected type:
 * the file may have been edited or damaged. */
static bool col_text(sqlite3_stmt *st, int i, const char **out)
{
    if (sqlite3_column_type(st, i) != SQLITE_TEXT)
        return false;
    *out = (const char *)sqlite3_column_text(st, i);
    return *out != NULL;
}

static bool col_int(sqlite3_stmt *st, int i, int64_t *out)
{
    if (sqlite3_column_type(st, i) != SQLITE_INTEGER)
        return false;
    *out = sqlite3_column_int64(st, i);
    return true;
}

static bool col_blob(sqlite3_stmt *st, int i, const uint8_t **p, size_t *n)
{
    if (sqlite3_column_type(st, i) != SQLITE_BLOB)
        return false;
    *p = sqlite3_column_blob(st, i);
    *n = (size_t)sqlite3_column_bytes(st, i);
    return true;
}

/* What a walk hands rows to: one of the callbacks, by table. */
struct walker {
    union {
        gw_store_schema_fn schema;
        gw_store_config_fn config;
        gw_store_name_fn name;
        gw_store_idem_fn idem;
    } fn;
    void *ud;
    int skipped;
};

/* Reads the current row and calls the walker's callback with it; a row
 * that does not make sense counts as skipped instead. Returns what the
 * callback returned. */
typedef int (*row_fn)(sqlite3_stmt *st, struct walker *w);

static int skip(struct walker *w)
{
    w->skipped++;
    return 0;
}

static int walk(gw_store *s, const char *table, const char *sql,
                const int64_t *bind1, row_fn per_row, struct walker *w,
                al_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_fail(s, s->db, err, table);
    if (bind1)
        sqlite3_bind_int64(st, 1, *bind1);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int r = per_row(st, w);
        if (r != 0) {
            sqlite3_finalize(st);
            return al_error_set(err, r,
                                "%s: loading %s stopped by its "
                                "reader: %s",
                                s->path, table, al_strerror(r));
        }
    }
    if (rc != SQLITE_DONE) {
        rc = db_fail(s, s->db, err, table);
        sqlite3_finalize(st);
        return rc;
    }
    sqlite3_finalize(st);
    if (w->skipped)
        al_log(AL_LOG_WARN, "store: skipped %d malformed row%s of %s in %s",
               w->skipped, w->skipped == 1 ? "" : "s", table, s->path);
    return 0;
}

static int schema_row(sqlite3_stmt *st, struct walker *w)
{
    gw_store_schema_row r = {0};
    int64_t deleted = 0;
    if (!col_text(st, 0, &r.subject) || !col_int(st, 1, &r.version) ||
        !col_int(st, 2, &r.schema_id) || !col_text(st, 3, &r.message_uuid) ||
        !col_text(st, 4, &r.actor_remote_id) ||
        !col_text(st, 5, &r.message_name) || !col_text(st, 6, &r.schema_json) ||
        !col_int(st, 7, &deleted) || !col_int(st, 8, &r.created_at_ms) ||
        r.version < 1)
        return skip(w);
    r.deleted = deleted != 0;
    return w->fn.schema(&r, w->ud);
}

int gw_store_load_schemas(gw_store *s, gw_store_schema_fn fn, void *ud,
                          al_error *err)
{
    if (!fn)
        return al_error_set(err, AL_EINVAL, "store: no row callback");
    struct walker w = {.fn.schema = fn, .ud = ud};
    return walk(s, "schema_versions",
                "SELECT subject, version, schema_id, message_uuid, "
                "actor_remote_id, message_name, schema_json, deleted, "
                "created_at FROM schema_versions ORDER BY subject, version",
                NULL, schema_row, &w, err);
}

static int config_row(sqlite3_stmt *st, struct walker *w)
{
    gw_store_config_row r = {0};
    if (!col_text(st, 0, &r.subject) || !col_text(st, 1, &r.compatibility) ||
        !gw_store_compatibility_valid(r.compatibility))
        return skip(w);
    if (!r.subject[0])
        r.subject = NULL;
    return w->fn.config(&r, w->ud);
}

int gw_store_load_config(gw_store *s, gw_store_config_fn fn, void *ud,
                         al_error *err)
{
    if (!fn)
        return al_error_set(err, AL_EINVAL, "store: no row callback");
    struct walker w = {.fn.config = fn, .ud = ud};
    return walk(s, "config",
                "SELECT subject, compatibility FROM config ORDER BY subject",
                NULL, config_row, &w, err);
}

static int name_row(sqlite3_stmt *st, struct walker *w)
{
    gw_store_name_row r = {0};
    int64_t seq = 0, hits = 0;
    const uint8_t *id = NULL;
    size_t id_len = 0;
    if (!col_text(st, 0, &r.name) || !col_text(st, 1, &r.peer_id) ||
        !col_int(st, 2, &seq) || !col_blob(st, 3, &id, &id_len) ||
        !col_text(st, 4, &r.remote_id) || !col_int(st, 5, &r.resolved_at_ms) ||
        !col_int(st, 6, &r.expires_at_ms) || !col_int(st, 7, &hits))
        return skip(w);
    if (id_len <= 8 || id_len > 8 + AL_PEER_ID_MAX || hits < 0 || !r.name[0] ||
        !r.peer_id[0] || !r.remote_id[0])
        return skip(w);
    uint64_t wire_seq = 0;
    for (int i = 0; i < 8; i++)
        wire_seq |= (uint64_t)id[i] << (8 * i);
    if (wire_seq != (uint64_t)seq)
        return skip(w);
    r.actor.seq = wire_seq;
    r.actor.peer.len = (uint8_t)(id_len - 8);
    memcpy(r.actor.peer.bytes, id + 8, id_len - 8);
    r.hits = (uint64_t)hits;
    return w->fn.name(&r, w->ud);
}

int gw_store_load_names(gw_store *s, gw_store_name_fn fn, void *ud,
                        al_error *err)
{
    if (!fn)
        return al_error_set(err, AL_EINVAL, "store: no row callback");
    struct walker w = {.fn.name = fn, .ud = ud};
    return walk(s, "name_cache",
                "SELECT name, peer_id, actor_seq, actor_id, remote_id, "
                "resolved_at, expires_at, hits FROM name_cache "
                "ORDER BY resolved_at, name",
                NULL, name_row, &w, err);
}

static int idem_row(sqlite3_stmt *st, struct walker *w)
{
    gw_store_idem_row r = {0};
    const uint8_t *hash = NULL;
    size_t hash_len = 0;
    int64_t status = 0;
    if (!col_text(st, 0, &r.key) || !col_blob(st, 1, &hash, &hash_len) ||
        !col_int(st, 2, &status) || !col_text(st, 3, &r.headers) ||
        !col_blob(st, 4, &r.body, &r.body_len) ||
        !col_int(st, 5, &r.created_at_ms) || !col_int(st, 6, &r.expires_at_ms))
        return skip(w);
    if (hash_len != GW_STORE_HASH_LEN || status < 100 || status > 599 ||
        !r.key[0])
        return skip(w);
    memcpy(r.request_hash, hash, GW_STORE_HASH_LEN);
    r.status = (int)status;
    r.headers_len = (size_t)sqlite3_column_bytes(st, 3);
    return w->fn.idem(&r, w->ud);
}

int gw_store_load_idem(gw_store *s, int64_t now_ms, gw_store_idem_fn fn,
                       void *ud, al_error *err)
{
    if (!fn)
        return al_error_set(err, AL_EINVAL, "store: no row callback");
    struct walker w = {.fn.idem = fn, .ud = ud};
    return walk(s, "idempotency",
                "SELECT key, request_hash, status, headers, body, created_at, "
                "expires_at FROM idempotency WHERE expires_at > ? "
                "ORDER BY created_at, key",
                &now_ms, idem_row, &w, err);
}
