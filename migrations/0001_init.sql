-- 0001_init: the gateway's tables.
-- Times are milliseconds since the Unix epoch (UTC), as INTEGER.
-- gateway/src/migrations.c carries this text byte for byte (the
-- binary needs no files at run time); test_migrations checks it.

-- Applied migrations, one row each, written in the migration's own
-- transaction.
CREATE TABLE schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at INTEGER NOT NULL
);

-- Message schemas, Confluent-style: a subject is a stream of
-- versions (1, 2, ...); schema_id is the registry's global id. A soft
-- delete keeps the row with deleted = 1; a permanent one removes it.
CREATE TABLE schema_versions (
    subject         TEXT    NOT NULL CHECK (length(subject) > 0),
    version         INTEGER NOT NULL CHECK (version >= 1),
    schema_id       INTEGER NOT NULL,
    message_uuid    TEXT    NOT NULL,
    actor_remote_id TEXT    NOT NULL,
    message_name    TEXT    NOT NULL,
    schema_json     TEXT    NOT NULL,
    deleted         INTEGER NOT NULL DEFAULT 0
                    CHECK (deleted IN (0, 1)),
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (subject, version)
);
CREATE INDEX schema_versions_by_id ON schema_versions (schema_id);
CREATE INDEX schema_versions_by_uuid ON schema_versions (message_uuid);

-- Compatibility levels. The empty subject holds the global level
-- (Confluent subjects are never empty). No row: the registry's
-- built-in default applies.
CREATE TABLE config (
    subject       TEXT NOT NULL PRIMARY KEY,
    compatibility TEXT NOT NULL CHECK (compatibility IN (
        'BACKWARD', 'BACKWARD_TRANSITIVE',
        'FORWARD', 'FORWARD_TRANSITIVE',
        'FULL', 'FULL_TRANSITIVE', 'NONE'))
);

-- Resolved actor names. actor_id is Kameo's wire form of an ActorID:
-- u64 little-endian sequence, then the peer id multihash bytes;
-- actor_seq and peer_id (base58) repeat parts of it for readers of
-- the table. Negative (not found) results are cached in memory only.
CREATE TABLE name_cache (
    name        TEXT    NOT NULL PRIMARY KEY,
    peer_id     TEXT    NOT NULL,
    actor_seq   INTEGER NOT NULL,
    actor_id    BLOB    NOT NULL CHECK (length(actor_id) > 8),
    remote_id   TEXT    NOT NULL,
    resolved_at INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    hits        INTEGER NOT NULL DEFAULT 0 CHECK (hits >= 0)
);

-- Stored answers for Idempotency-Key. request_hash is SHA-256 over
-- method, path and body; the same key with another hash conflicts.
CREATE TABLE idempotency (
    key          TEXT    NOT NULL PRIMARY KEY,
    request_hash BLOB    NOT NULL CHECK (length(request_hash) = 32),
    status       INTEGER NOT NULL CHECK (status BETWEEN 100 AND 599),
    headers      TEXT    NOT NULL DEFAULT '',
    body         BLOB    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX idempotency_by_expiry ON idempotency (expires_at);
