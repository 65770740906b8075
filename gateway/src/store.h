/*
 * The gateway's SQLite database: schema versions, compatibility config, the
 * actor name cache and idempotency keys.
 *
 * Reads happen once, at start, before the gateway serves: gw_store_load_*
 * walk a table and hand each row to a callback that fills the caller's
 * in-memory mirror. The hot path only ever reads those mirrors.
 *
 * Writes never run on the caller's thread. Each gw_store_put_* / _delete_*
 * copies its row into a bounded queue and returns; one writer thread, which
 * owns its own connection, takes what has queued up and commits it as one
 * transaction (so one fsync covers many rows). A full queue refuses the
 * write with AL_ELIMIT and logs it; a write that fails in SQLite is logged
 * with its key and counted; no write is lost without a log line.
 *
 * Durability: journal_mode=WAL with synchronous=FULL by default. WAL+NORMAL
 * never corrupts the file but may lose the last commits on power loss;
 * FULL makes every commit durable. We pay for FULL because the fsync
 * happens on the writer thread, once per batch, never on the loop; and a
 * lost schema registration could hand its id to a different schema after a
 * restart, while a lost idempotency row would let a retried request run
 * twice: both are the guarantees this database exists to keep. Rebuildable
 * rows (the name cache) ride along at no extra cost. opts.synchronous_normal
 * trades that for fewer fsyncs.
 *
 * Threads: gw_store_open, gw_store_load_*, gw_store_flush_sync and
 * gw_store_close run on one thread (the loop thread), not concurrently with
 * each other. The write functions may be called from any thread. Done
 * callbacks run on the loop given at open, through a uv_async_t.
 *
 * Ownership: the store owns both SQLite connections, the writer thread and
 * the queued copies of rows. Row pointers passed to the write functions are
 * borrowed for the call only; row pointers given to load callbacks are
 * borrowed for the callback only.
 */
#ifndef GW_STORE_H
#define GW_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "actorlib.h"

typedef struct gw_store gw_store;

/* A wall clock in milliseconds since the Unix epoch. Injected so that tests
 * can move time; NULL means gw_store_now_ms. */
typedef int64_t (*gw_store_clock_fn)(void *ud);
int64_t gw_store_now_ms(void);

typedef struct gw_store_opts {
    const char *path; /* the database file; created (mode 0600) if missing */
    /* Runs done callbacks (through an unref'd uv_async_t: the store does
     * not keep the loop alive). NULL: the write functions refuse them. */
    uv_loop_t *loop;
    bool synchronous_normal;  /* see above; false = FULL */
    uint32_t busy_timeout_ms; /* 0 = 5000 */
    uint32_t queue_max;       /* queued writes, 0 = 65536 */
    size_t queue_max_bytes;   /* their copied bytes, 0 = 64 MiB */
    uint32_t batch_max;       /* writes per transaction, 0 = 1024 */
} gw_store_opts;

/* Opens (or creates) the database, sets WAL, synchronous, busy_timeout and
 * foreign_keys, applies the migrations this binary carries (see
 * migrations.h: a database written by a newer gateway fails with
 * AL_ESTATE), then starts the writer thread. Errors name the path and
 * SQLite's reason (AL_EIO for a file that cannot be opened or is not a
 * database). The caller owns *out: gw_store_close. */
int gw_store_open(gw_store **out, const gw_store_opts *opts, al_error *err);

/* Stops taking writes, lets the writer commit everything queued, truncates
 * the WAL into the database (PRAGMA wal_checkpoint(TRUNCATE)), joins the
 * writer, closes both connections and runs the done callbacks still
 * pending (so call it on the loop thread). Blocks for as long as the queue
 * takes to commit: meant for shutdown. The uv_async_t is closed with
 * uv_close; the loop must run once more for libuv to release it. Returns
 * 0 if every write of the store's life committed and the checkpoint
 * succeeded, else the first error (each was logged when it happened): a
 * shutdown can tell whether anything was lost. NULL is a no-op. */
int gw_store_close(gw_store *s);

const char *gw_store_path(const gw_store *s);

/* ------------------------------------------------------------ rows */

typedef struct gw_store_schema_row {
    const char *subject;
    int64_t version; /* >= 1 */
    int64_t schema_id;
    const char *message_uuid;
    const char *actor_remote_id;
    const char *message_name;
    const char *schema_json;
    bool deleted; /* soft-deleted */
    int64_t created_at_ms;
} gw_store_schema_row;

typedef struct gw_store_config_row {
    const char *subject;       /* NULL: the global level */
    const char *compatibility; /* BACKWARD, ..., NONE */
} gw_store_config_row;

typedef struct gw_store_name_row {
    const char *name;
    const char *peer_id; /* base58 text */
    al_actor_id actor;   /* seq + peer id bytes */
    const char *remote_id;
    int64_t resolved_at_ms;
    int64_t expires_at_ms;
    uint64_t hits;
} gw_store_name_row;

#define GW_STORE_HASH_LEN 32

typedef struct gw_store_idem_row {
    const char *key;
    uint8_t request_hash[GW_STORE_HASH_LEN];
    int status;          /* 100..599 */
    const char *headers; /* opaque text, may be NULL = "" */
    size_t headers_len;
    const uint8_t *body;
    size_t body_len;
    int64_t created_at_ms;
    int64_t expires_at_ms;
} gw_store_idem_row;

/* True for the seven Confluent compatibility levels. */
bool gw_store_compatibility_valid(const char *level);

/* ------------------------------------------------------------ loading */

/* Each walks one table, synchronously, on the calling thread, and calls fn
 * per row; a non-zero return from fn stops the walk and is returned. Rows
 * that do not make sense (wrong types, bad lengths: the file is input like
 * any other) are skipped with a warning. Queued writes that have not been
 * committed yet are not seen: load before writing. */
typedef int (*gw_store_schema_fn)(const gw_store_schema_row *row, void *ud);
typedef int (*gw_store_config_fn)(const gw_store_config_row *row, void *ud);
typedef int (*gw_store_name_fn)(const gw_store_name_row *row, void *ud);
typedef int (*gw_store_idem_fn)(const gw_store_idem_row *row, void *ud);

/* Ordered by subject, then version. */
int gw_store_load_schemas(gw_store *s, gw_store_schema_fn fn, void *ud,
                          al_error *err);
int gw_store_load_config(gw_store *s, gw_store_config_fn fn, void *ud,
                         al_error *err);
/* Ordered by resolved_at. */
int gw_store_load_names(gw_store *s, gw_store_name_fn fn, void *ud,
                        al_error *err);
/* Only rows with expires_at > now_ms, ordered by created_at. */
int gw_store_load_idem(gw_store *s, int64_t now_ms, gw_store_idem_fn fn,
                       void *ud, al_error *err);

/* ------------------------------------------------------------ writing */

/* status is 0 once the write is committed, else the al_status it failed
 * with. Runs on the loop given at open. */
typedef void (*gw_store_done_fn)(int status, void *ud);

/* All of these copy what they need and return at once: 0 when queued,
 * AL_EINVAL for a bad row (or a done callback without a loop), AL_ELIMIT
 * when the queue is full, AL_ESTATE after close began, AL_ENOMEM. done
 * (may be NULL) runs exactly once if and only if the call returned 0. */

/* Insert or replace (subject, version). */
int gw_store_put_schema(gw_store *s, const gw_store_schema_row *row,
                        gw_store_done_fn done, void *ud);
int gw_store_set_schema_deleted(gw_store *s, const char *subject,
                                int64_t version, bool deleted,
                                gw_store_done_fn done, void *ud);
/* Permanent delete; version < 0 deletes every version of the subject. */
int gw_store_delete_schema(gw_store *s, const char *subject, int64_t version,
                           gw_store_done_fn done, void *ud);
int gw_store_put_config(gw_store *s, const gw_store_config_row *row,
                        gw_store_done_fn done, void *ud);
/* subject NULL: the global level. */
int gw_store_delete_config(gw_store *s, const char *subject,
                           gw_store_done_fn done, void *ud);
/* Insert or replace by name. */
int gw_store_put_name(gw_store *s, const gw_store_name_row *row,
                      gw_store_done_fn done, void *ud);
/* Updates only the hit counter of an existing row. */
int gw_store_set_name_hits(gw_store *s, const char *name, uint64_t hits,
                           gw_store_done_fn done, void *ud);
/* name NULL deletes every row. */
int gw_store_delete_name(gw_store *s, const char *name, gw_store_done_fn done,
                         void *ud);
/* Insert or replace by key. */
int gw_store_put_idem(gw_store *s, const gw_store_idem_row *row,
                      gw_store_done_fn done, void *ud);
int gw_store_delete_idem(gw_store *s, const char *key, gw_store_done_fn done,
                         void *ud);
/* Deletes the rows with expires_at <= now_ms. */
int gw_store_purge_idem(gw_store *s, int64_t now_ms, gw_store_done_fn done,
                        void *ud);

/* done runs once everything queued before this call is committed (or has
 * failed); status is 0 if none of it failed since the previous flush. */
int gw_store_flush(gw_store *s, gw_store_done_fn done, void *ud);
/* Blocks the calling thread until everything queued before the call is
 * committed or failed. Returns 0, or AL_EIO if some write failed since the
 * previous flush. For shutdown paths and tests, not for request handling. */
int gw_store_flush_sync(gw_store *s);

/* ------------------------------------------------------------ counters */

typedef struct gw_store_stats {
    uint64_t queued;       /* writes accepted */
    uint64_t committed;    /* writes committed */
    uint64_t failed;       /* writes that SQLite refused (each logged) */
    uint64_t rejected;     /* writes refused because the queue was full */
    uint64_t transactions; /* batches committed */
    uint32_t queue_len;    /* writes waiting now */
    size_t queue_bytes;
} gw_store_stats;

/* Thread-safe snapshot. */
void gw_store_get_stats(gw_store *s, gw_store_stats *out);

#endif
