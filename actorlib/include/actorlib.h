/*
 * actorlib: actors that message each other across machines.
 *
 * The C counterpart of Kameo's remote actors. A node owns one libuv loop;
 * actors live on it and handle messages one at a time. Actors registered
 * under a name can be looked up from any node of the swarm (libp2p over
 * QUIC v1, Kademlia for names, Kameo's /kameo/1 request/response protocol)
 * and asked or told, from C or from Rust Kameo nodes.
 *
 * Threads: al_spawn, al_tell, al_ask, al_actor_stop/kill/retain/release,
 * al_deferred_* and al_node_post/stop may be called from any thread. The
 * swarm and remote functions (al_swarm_*, al_remote_*, al_actor_register)
 * must be called on the node's loop thread: from a handler, on_start, a
 * callback, or a function given to al_node_post. Every callback runs on the
 * loop thread.
 *
 * Errors: functions that can fail return 0 or a negative al_status code;
 * where more detail helps, an optional al_error is filled in.
 *
 * Ownership is stated next to each function. "Borrowed" pointers stay owned
 * by the caller; "takes" means the callee owns it afterwards, even on error.
 */
#ifndef ACTORLIB_H
#define ACTORLIB_H

/* uv.h needs POSIX 2008 declarations (pthread_rwlock_t), which a strict
 * -std=c17 hides: `pkg-config --cflags actorlib` adds -D_DEFAULT_SOURCE. */
#if defined(__STRICT_ANSI__) && !defined(_DEFAULT_SOURCE) &&                   \
    !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE) &&                      \
    !defined(_XOPEN_SOURCE) && !defined(_BSD_SOURCE)
#error                                                                         \
    "actorlib.h needs POSIX: use -std=gnu17, or -D_DEFAULT_SOURCE (pkg-config --cflags actorlib)"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AL_VERSION "0.1.0"

/* ---------------------------------------------------------------- errors */

/* The remote-send codes mirror Kameo's RemoteSendError variants one to one,
 * so that a C caller and a Rust caller see the same failures. */
enum al_status {
    AL_OK = 0,
    AL_ENOMEM = -1,
    AL_EINVAL = -2,      /* bad argument */
    AL_ESTATE = -3,      /* call not valid in the current state */
    AL_EIO = -4,         /* operating system error */
    AL_ENOTFOUND = -5,   /* a lookup found nothing */
    AL_ETIMEDOUT = -6,   /* a local operation timed out */
    AL_ECANCELED = -7,   /* the node stopped before the operation ended */
    AL_EPROTO = -8,      /* a peer broke the protocol */
    AL_ECRYPTO = -9,     /* key, certificate or handshake failure */
    AL_EDUPLICATE = -10, /* duplicate registration */
    AL_ELIMIT = -11,     /* a configured bound was hit */
    AL_EDECODE = -12,    /* malformed bytes */
    AL_EPEERID = -13,    /* the peer is not who the address says */

    AL_E_ACTOR_NOT_RUNNING = -100,
    AL_E_ACTOR_STOPPED = -101,
    AL_E_UNKNOWN_ACTOR = -102,
    AL_E_UNKNOWN_MESSAGE = -103,
    AL_E_BAD_ACTOR_TYPE = -104,
    AL_E_MAILBOX_FULL = -105,
    AL_E_REPLY_TIMEOUT = -106,
    AL_E_HANDLER_ERROR = -107,
    AL_E_SERIALIZE_MESSAGE = -108,
    AL_E_DESERIALIZE_MESSAGE = -109,
    AL_E_SERIALIZE_REPLY = -110,
    AL_E_SERIALIZE_HANDLER_ERROR = -111,
    AL_E_DESERIALIZE_HANDLER_ERROR = -112,
    AL_E_SWARM_NOT_BOOTSTRAPPED = -113,
    AL_E_DIAL_FAILURE = -114,
    AL_E_NETWORK_TIMEOUT = -115,
    AL_E_CONNECTION_CLOSED = -116,
    AL_E_UNSUPPORTED_PROTOCOLS = -117,
    /* Not a Kameo variant: the peer's reply could not be decoded. */
    AL_E_BAD_REPLY = -118,
};

/* A human sentence for a code. Never NULL. */
const char *al_strerror(int code);
/* Kameo's variant name for remote-send codes ("MailboxFull"), else a
 * symbolic name ("EINVAL"). Never NULL. */
const char *al_status_name(int code);

#define AL_ERROR_MSG 256
typedef struct al_error {
    int code;
    char msg[AL_ERROR_MSG];
} al_error;

/* Fills err (if not NULL) and returns code, so that call sites can write
 * `return al_error_set(err, AL_EINVAL, "bad port %d", p);`. */
int al_error_set(al_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---------------------------------------------------------------- logging */

enum al_log_level { AL_LOG_ERROR, AL_LOG_WARN, AL_LOG_INFO, AL_LOG_DEBUG };
typedef void (*al_log_fn)(int level, const char *msg, void *ud);
/* Process-wide. The default writes "level: msg" lines to stderr for levels
 * at or below AL_LOG_WARN (AL_LOG env var: error|warn|info|debug). */
void al_log_set(al_log_fn fn, int max_level, void *ud);
void al_log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---------------------------------------------------------------- buffers */

/* A growable byte buffer. Owns data; free with al_buf_free. */
typedef struct al_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
} al_buf;

int al_buf_reserve(al_buf *b, size_t extra);
int al_buf_append(al_buf *b, const void *data, size_t len);
void al_buf_reset(al_buf *b); /* len = 0, keeps memory */
void al_buf_free(al_buf *b);

/* ---------------------------------------------------------------- nodes */

typedef struct al_node al_node;
typedef struct al_actor al_actor;
typedef struct al_ctx al_ctx;
typedef struct al_deferred al_deferred;

typedef struct al_node_opts {
    /* Messages a handler batch may take before other loop work runs. 0 means
     * the default (256). */
    unsigned dispatch_batch;
} al_node_opts;

/* Creates a node and its loop; checks the link-time registry (a duplicate
 * (actor, message) id fails here with AL_EDUPLICATE and both places named in
 * err). opts may be NULL. The caller owns *out: al_node_free. */
int al_node_new(al_node **out, const al_node_opts *opts, al_error *err);
/* Runs the loop on the calling thread until al_node_stop is called and every
 * actor has stopped. */
int al_node_run(al_node *node);
/* Runs the loop on a new thread. */
int al_node_start(al_node *node);
/* Thread-safe. Stops every actor gracefully (queued messages drain), closes
 * the swarm, then ends the loop. */
void al_node_stop(al_node *node);
/* Waits for the thread started by al_node_start. */
int al_node_join(al_node *node);
/* Frees a node whose loop is not running. */
void al_node_free(al_node *node);
uv_loop_t *al_node_loop(al_node *node);
bool al_node_on_loop(const al_node *node);
/* Thread-safe: runs fn(ud) on the loop thread, in order of posting. */
int al_node_post(al_node *node, void (*fn)(void *ud), void *ud);

/* ---------------------------------------------------------------- messages */

/* A reply as seen by the caller of an ask. For a local ask, data is the C
 * value the handler replied with; for a remote ask, the MessagePack bytes.
 * With status AL_E_HANDLER_ERROR, data is the handler's error value.
 * detail is text that some errors carry (the (de)serialize errors'
 * message, the ids of UnknownMessage / UnknownActor), else NULL. All
 * pointers are borrowed for the duration of the callback. */
typedef struct al_reply {
    int status;
    const void *data;
    size_t len;
    const char *detail;
} al_reply;

typedef void (*al_reply_cb)(const al_reply *reply, void *ud);
typedef void (*al_done_cb)(int status, void *ud);

typedef void (*al_handler_fn)(void *state, al_ctx *ctx, void *msg);

/* One message type an actor handles. size bytes of the message are copied
 * at send time; what the message points to moves to the actor with it and is
 * released by drop after the handler returns (drop may be NULL). The codec
 * functions are needed only for messages reachable from other nodes:
 *   decode:       MessagePack -> message (fills *msg, which is zeroed)
 *   encode_reply: the handler's reply -> MessagePack
 *   encode_error: the handler's error -> MessagePack */
typedef struct al_message {
    const char *name;
    size_t size;
    al_handler_fn handle;
    void (*drop)(void *msg);
    int (*decode)(const uint8_t *buf, size_t len, void *msg, al_error *err);
    int (*encode_reply)(const void *reply, size_t len, al_buf *out);
    int (*encode_error)(const void *error, size_t len, al_buf *out);
} al_message;

#define AL_NO_TIMEOUT (-1)

/* Options of a send, as Kameo's: a mailbox timeout (how long to wait for room
 * in a full bounded mailbox), a reply timeout (asks) and immediate (fail with
 * AL_E_MAILBOX_FULL rather than wait). Timeouts in milliseconds,
 * AL_NO_TIMEOUT for none. request_timeout_ms bounds a remote request on the
 * sending side (0 = 10 s). NULL options = all defaults. */
typedef struct al_send_opts {
    int64_t mailbox_timeout_ms;
    int64_t reply_timeout_ms;
    int64_t request_timeout_ms;
    bool immediate;
} al_send_opts;

#define AL_SEND_OPTS_DEFAULT                                                   \
    ((al_send_opts){.mailbox_timeout_ms = AL_NO_TIMEOUT,                       \
                    .reply_timeout_ms = AL_NO_TIMEOUT,                         \
                    .request_timeout_ms = 0,                                   \
                    .immediate = false})

/* ---------------------------------------------------------------- actors */

enum al_stop_reason {
    AL_STOP_NORMAL = 0,
    AL_STOP_KILLED = 1,
    AL_STOP_START_FAILED = 2,
    AL_STOP_LINK_DIED = 3,
    AL_STOP_PEER_DISCONNECTED = 4,
};

/* The callbacks of an actor type. remote_id names the type across nodes
 * (Kameo's RemoteActor::REMOTE_ID, e.g. "remote::MyActor"); NULL for
 * local-only actors. on_start returning non-zero stops the actor with
 * AL_STOP_START_FAILED. on_link_died returns true to stop too (the default,
 * when NULL, stops unless the reason is AL_STOP_NORMAL). free_state runs
 * after on_stop. Any callback may be NULL. */
typedef struct al_actor_class {
    const char *remote_id;
    int (*on_start)(void *state, al_actor *self);
    void (*on_stop)(void *state, al_actor *self, int reason);
    bool (*on_link_died)(void *state, al_actor *self, uint64_t dead_id,
                         int reason);
    void (*free_state)(void *state);
} al_actor_class;

typedef struct al_spawn_opts {
    uint32_t mailbox_capacity; /* 0 = unbounded */
} al_spawn_opts;

/* Thread-safe. Takes state (freed through cls->free_state). The new actor
 * runs on_start on the loop before its first message. *out is a reference
 * owned by the caller: al_actor_release it. opts may be NULL (unbounded). */
int al_spawn(al_node *node, const al_actor_class *cls, void *state,
             const al_spawn_opts *opts, al_actor **out);

al_actor *al_actor_retain(al_actor *a);
void al_actor_release(al_actor *a);
uint64_t al_actor_seq(const al_actor *a); /* the sequence part of its id */
al_node *al_actor_node(const al_actor *a);
bool al_actor_is_alive(const al_actor *a);

/* Thread-safe. The message (m->size bytes at msg) is copied and, with what it
 * owns, belongs to the actor from now on: if it cannot be delivered, m->drop
 * runs. The outcome reaches done (may be NULL), never from inside the call.
 * opts may be NULL. Returns AL_EINVAL only for bad arguments. */
int al_tell(al_actor *to, const al_message *m, void *msg,
            const al_send_opts *opts, al_done_cb done, void *ud);
/* As al_tell; the handler's reply (or the error) reaches cb exactly once. */
int al_ask(al_actor *to, const al_message *m, void *msg,
           const al_send_opts *opts, al_reply_cb cb, void *ud);

/* Graceful stop: messages already queued are handled first. Thread-safe. */
void al_actor_stop(al_actor *a);
/* Stops now: queued messages fail with AL_E_ACTOR_STOPPED. Thread-safe. */
void al_actor_kill(al_actor *a);
/* Links two local actors: when one stops, the other's on_link_died runs. */
int al_actor_link(al_actor *a, al_actor *b);
int al_actor_unlink(al_actor *a, al_actor *b);

/* Blocking helpers for threads that do not run the loop (built on the async
 * calls above; never call them on the loop thread). The reply value is
 * copied into reply_buf (up to cap bytes, *reply_len gets the full length). */
int al_ask_sync(al_actor *to, const al_message *m, void *msg,
                const al_send_opts *opts, void *reply_buf, size_t cap,
                size_t *reply_len);
int al_tell_sync(al_actor *to, const al_message *m, void *msg,
                 const al_send_opts *opts);
/* Waits until the actor has stopped; returns its stop reason. */
int al_actor_wait(al_actor *a);

/* ---------------------------------------------------------------- handlers */

al_actor *al_ctx_self(al_ctx *ctx);
bool al_ctx_is_ask(const al_ctx *ctx);
/* Replies to the ask being handled (value copied). A tell ignores replies.
 * An ask whose handler neither replies nor defers gets an empty reply (the
 * unit value; MessagePack nil on the wire). */
int al_ctx_reply(al_ctx *ctx, const void *value, size_t len);
/* Replies with a handler error (Kameo's HandlerError(E)). */
int al_ctx_reply_error(al_ctx *ctx, const void *error, size_t len);
/* Takes the reply slot to answer later, from any thread, exactly once with
 * al_deferred_reply or al_deferred_error. NULL for tells. */
al_deferred *al_ctx_defer(al_ctx *ctx);
int al_deferred_reply(al_deferred *d, const void *value, size_t len);
int al_deferred_error(al_deferred *d, const void *error, size_t len);

/* ---------------------------------------------------------------- registry */

/* The link-time registry, Kameo's linkme slices. Each macro puts a const
 * entry in an ELF section; the linker's __start_/__stop_ symbols bound the
 * array; al_node_new loads it into a hash table keyed by
 * (actor remote id, message remote id).
 *
 *   AL_REMOTE_ACTOR(counter_class);
 *   AL_REMOTE_MESSAGE(counter_class, inc_message,
 *                     "3b9128f1-0593-44a0-b83a-f4188baa05bf");
 *
 * The actor's remote id is cls.remote_id. The entries reference the class
 * and the messages, so an archive member holding them is linked in as soon
 * as the program uses the class. */
typedef struct al_remote_actor_entry {
    const al_actor_class *cls;
    const char *file;
    int line;
} al_remote_actor_entry;

typedef struct al_remote_message_entry {
    const al_actor_class *cls;
    const al_message *msg;
    const char *message_remote_id;
    const char *file;
    int line;
} al_remote_message_entry;

#define AL__CAT2(a, b) a##b
#define AL__CAT(a, b)  AL__CAT2(a, b)

#define AL_REMOTE_ACTOR(cls_)                                                  \
    __attribute__((                                                            \
        used, retain, section("al_remote_actors"),                             \
        aligned(sizeof(void *)))) static const al_remote_actor_entry           \
    AL__CAT(al__actor_entry_, __LINE__) = {&(cls_), __FILE__, __LINE__}

#define AL_REMOTE_MESSAGE(cls_, msg_, uuid_)                                   \
    __attribute__((                                                            \
        used, retain, section("al_remote_messages"),                           \
        aligned(sizeof(void *)))) static const al_remote_message_entry         \
    AL__CAT(al__msg_entry_, __LINE__) = {&(cls_), &(msg_), (uuid_), __FILE__,  \
                                         __LINE__}

/* Finds a registered message; NULL if (actor, message) is unknown. */
const al_remote_message_entry *al_registry_find(const char *actor_remote_id,
                                                const char *message_remote_id);
/* Finds a registered actor class by remote id; NULL if unknown. */
const al_remote_actor_entry *al_registry_find_actor(const char *remote_id);

/* ---------------------------------------------------------------- msgpack */

/* Descriptor-driven MessagePack codec for C structs, in rmp_serde's named
 * form (struct = map keyed by field name). Decoding also accepts the array
 * (tuple) form and rejects wrong types with the field named in err. */
enum al_mp_type {
    AL_MP_I8,
    AL_MP_I16,
    AL_MP_I32,
    AL_MP_I64,
    AL_MP_U8,
    AL_MP_U16,
    AL_MP_U32,
    AL_MP_U64,
    AL_MP_F32,
    AL_MP_F64,
    AL_MP_BOOL,
    AL_MP_STR,     /* char *, NUL-terminated, owned (malloc) after decode */
    AL_MP_BYTES,   /* al_buf; Vec<u8>: array of ints, or bin if serde_bytes */
    AL_MP_OPT_STR, /* char *, NULL = None (nil) */
};

typedef struct al_mp_field {
    const char *name;
    enum al_mp_type type;
    size_t offset;
    bool serde_bytes; /* AL_MP_BYTES: write bin instead of an int array */
} al_mp_field;

typedef struct al_mp_struct {
    const char *name;
    const al_mp_field *fields;
    size_t nfields;
} al_mp_struct;

#define AL_MP_FIELD(type_, field_, kind_)                                      \
    {                                                                          \
#field_, kind_, offsetof(type_, field_), false                         \
    }
#define AL_MP_STRUCT(name_, fields_)                                           \
    {                                                                          \
        name_, fields_, sizeof(fields_) / sizeof((fields_)[0])                 \
    }

int al_mp_encode_struct(const al_mp_struct *d, const void *s, al_buf *out);
int al_mp_decode_struct(const al_mp_struct *d, const uint8_t *buf, size_t len,
                        void *s, al_error *err);
/* Frees the strings and buffers a decode allocated. */
void al_mp_free_struct(const al_mp_struct *d, void *s);
/* Single values, for replies such as i64 or (). */
int al_mp_encode_i64(int64_t v, al_buf *out);
int al_mp_encode_u64(uint64_t v, al_buf *out);
int al_mp_encode_str(const char *s, al_buf *out);
int al_mp_encode_nil(al_buf *out);
int al_mp_decode_i64(const uint8_t *buf, size_t len, int64_t *v, al_error *err);
int al_mp_decode_u64(const uint8_t *buf, size_t len, uint64_t *v,
                     al_error *err);

/* ---------------------------------------------------------------- identity */

#define AL_PEER_ID_MAX    64  /* bytes of a multihash peer id */
#define AL_PEER_ID_STRLEN 100 /* base58 text plus NUL fits */

/* A peer id: the multihash bytes (identity multihash of the protobuf
 * PublicKey for Ed25519, 38 bytes). Plain value, copy freely. */
typedef struct al_peer_id {
    uint8_t len;
    uint8_t bytes[AL_PEER_ID_MAX];
} al_peer_id;

int al_peer_id_parse(al_peer_id *out, const char *text);
int al_peer_id_from_bytes(al_peer_id *out, const uint8_t *b, size_t len);
/* Writes base58btc text; cap >= AL_PEER_ID_STRLEN always suffices. */
int al_peer_id_format(const al_peer_id *id, char *buf, size_t cap);
bool al_peer_id_equal(const al_peer_id *a, const al_peer_id *b);

/* An Ed25519 host key. Key files are PKCS#8 PEM ("PRIVATE KEY"); libp2p's
 * protobuf PrivateKey (raw or base64) is also read. */
typedef struct al_identity al_identity;

int al_identity_generate(al_identity **out, al_error *err);
int al_identity_from_seed(al_identity **out, const uint8_t seed[32],
                          al_error *err);
int al_identity_load(al_identity **out, const char *path, al_error *err);
/* Writes PKCS#8 PEM with mode 0600. */
int al_identity_save(const al_identity *id, const char *path, al_error *err);
/* Loads path, or generates a key and saves it there when path is missing. */
int al_identity_load_or_create(al_identity **out, const char *path,
                               al_error *err);
void al_identity_peer_id(const al_identity *id, al_peer_id *out);
void al_identity_free(al_identity *id);

/* ---------------------------------------------------------------- swarm */

typedef struct al_swarm_opts {
    uint32_t idle_timeout_ms;      /* 0 = 60 s, as Kameo */
    uint32_t max_connections;      /* 0 = 1024 */
    uint32_t max_streams_per_conn; /* 0 = 1000 */
    uint32_t max_inbound_requests; /* /kameo/1 in flight per node, 0 = 1024 */
    const char *agent_version;     /* identify; NULL = "actorlib/<ver>" */
    uint32_t handshake_timeout_ms; /* 0 = 10 s */
    /* An inbound /kameo/1 request must arrive whole within this after its
     * stream opened, else the stream is reset; 0 = 10 s (libp2p's request
     * timeout). */
    uint32_t request_read_timeout_ms;
} al_swarm_opts;

/* Starts the swarm on the node. Takes id (NULL = a random Ed25519 key),
 * also on failure. opts may be NULL. May be called before the loop runs,
 * from the thread that will run it (as al_swarm_listen_on). Connections
 * with no stream open for idle_timeout_ms are closed, and QUIC's own idle
 * timeout (the same value, with keep-alive at half of what both sides
 * agreed) detects peers that went silent. */
int al_swarm_bootstrap(al_node *node, al_identity *id,
                       const al_swarm_opts *opts, al_error *err);
void al_swarm_local_peer_id(al_node *node, al_peer_id *out);

/* Binds a UDP socket and serves QUIC v1 on it; port 0 picks a free port.
 * Kademlia switches to server mode. */
int al_swarm_listen_on(al_node *node, const char *multiaddr, al_error *err);
/* The full addresses being listened on, with /p2p/<peer id>. For an
 * unspecified address (0.0.0.0, ::) one per local interface, loopback
 * first. Writes up to cap C strings the caller frees with free() and
 * returns how many it wrote. */
size_t al_swarm_listen_addrs(al_node *node, char **out, size_t cap);

typedef void (*al_dial_cb)(int status, const al_peer_id *peer,
                           const char *detail, void *ud);
/* Dials a multiaddr (/ip4|/ip6|/dns4|/dns6 .../udp/N/quic-v1[/p2p/ID]).
 * With /p2p/ the peer must prove that id or the dial fails with
 * AL_EPEERID. Connecting to an already connected peer reuses it. cb (may
 * be NULL) runs once, never inside the call, and not at all when the call
 * returns non-zero (a malformed address, for instance). Its status: 0,
 * AL_EPEERID, AL_ECRYPTO (TLS refused either way), AL_E_NETWORK_TIMEOUT,
 * AL_ELIMIT, AL_ECANCELED or AL_E_DIAL_FAILURE; detail says more. */
int al_swarm_dial(al_node *node, const char *multiaddr, al_dial_cb cb,
                  void *ud);
/* Adds a known address of a peer to the address book and to Kademlia's
 * routing table, without dialing it (libp2p's add_peer_address). peer may
 * be NULL when multiaddr ends in /p2p/<id>. */
int al_swarm_add_peer_address(al_node *node, const al_peer_id *peer,
                              const char *multiaddr);
/* Joins the swarm through known peers: dials each multiaddr (with
 * /p2p/<id>, or without: then the peer id its TLS handshake proves is
 * taken), adds them to Kademlia and runs a Kademlia bootstrap (a lookup
 * of our own id) so that the routing table fills with the other nodes. cb
 * (may be NULL) runs once: 0 when at least one peer was reached, else
 * AL_E_DIAL_FAILURE. The strings are copied. */
int al_swarm_join(al_node *node, const char *const *multiaddrs, size_t n,
                  al_done_cb cb, void *ud);
int al_swarm_disconnect(al_node *node, const al_peer_id *peer);

enum al_swarm_event_type {
    AL_SWARM_CONNECTED,
    AL_SWARM_DISCONNECTED,
    AL_SWARM_IDENTIFIED,
    AL_SWARM_LISTENING,
};

typedef struct al_swarm_event {
    enum al_swarm_event_type type;
    const al_peer_id *peer;
    const char *addr; /* remote multiaddr (or the listen address) */
    bool outbound;
    int reason;        /* DISCONNECTED: 0 or an al_status */
    const char *agent; /* IDENTIFIED */
} al_swarm_event;

typedef void (*al_swarm_event_cb)(const al_swarm_event *ev, void *ud);
/* One callback per node, set after al_swarm_bootstrap. CONNECTED and
 * DISCONNECTED are per peer (its first connection up, its last one down). */
void al_swarm_on_event(al_node *node, al_swarm_event_cb cb, void *ud);

typedef struct al_peer_info {
    al_peer_id id;
    char addr[128];
    uint64_t rtt_us; /* smoothed RTT from QUIC */
    bool outbound;
    char agent[64]; /* from identify, may be empty */
    uint64_t connected_at_ms;
} al_peer_info;

/* Copies up to cap connected peers into out; returns how many there are.
 * addr is the remote address without /p2p. */
size_t al_swarm_peers(al_node *node, al_peer_info *out, size_t cap);

typedef void (*al_ping_cb)(int status, uint64_t rtt_us, void *ud);
/* One /ipfs/ping/1.0.0 round trip to a connected (or dialable) peer, on a
 * new stream; cb runs once (10 s timeout: AL_E_NETWORK_TIMEOUT). */
int al_swarm_ping(al_node *node, const al_peer_id *peer, al_ping_cb cb,
                  void *ud);

/* ---------------------------------------------------------------- remote */

/* An actor's identity across nodes: Kameo's ActorID, u64 sequence + peer. */
typedef struct al_actor_id {
    uint64_t seq;
    al_peer_id peer;
} al_actor_id;

/* A reference to an actor on some node. Owned by whoever got it; free with
 * al_remote_ref_free. */
typedef struct al_remote_ref al_remote_ref;

int al_remote_ref_new(al_node *node, const al_actor_id *id,
                      const char *remote_id, al_remote_ref **out);
al_remote_ref *al_remote_ref_dup(const al_remote_ref *r);
void al_remote_ref_free(al_remote_ref *r);
const al_actor_id *al_remote_ref_id(const al_remote_ref *r);
const char *al_remote_ref_remote_id(const al_remote_ref *r);

/* Registers a local actor under name: a Kademlia record, Kameo's layout.
 * The actor's class must have a remote_id. The actor is reachable from
 * other nodes from the call on; cb (may be NULL) gets 0 once a peer stored
 * the record (at once without peers), or AL_ETIMEDOUT: the record then
 * stays in the local store, republished, until al_actor_unregister. */
int al_actor_register(al_actor *a, const char *name, al_done_cb cb, void *ud);
int al_actor_unregister(al_node *node, const char *name, al_done_cb cb,
                        void *ud);

/* ref is owned by the callback (NULL unless status is 0). Status
 * AL_ENOTFOUND when no record exists, AL_E_BAD_ACTOR_TYPE when the record
 * names another actor type, AL_ETIMEDOUT when the lookup timed out. */
typedef void (*al_lookup_cb)(int status, al_remote_ref *ref, void *ud);
/* expected_remote_id may be NULL to accept any actor type. */
int al_remote_lookup(al_node *node, const char *name,
                     const char *expected_remote_id, al_lookup_cb cb, void *ud);

/* Sends MessagePack payload (copied) to the remote actor. The reply's data
 * is the MessagePack reply or handler error. opts may be NULL. An actor of
 * this node is reached without the network, with the same outcomes. cb
 * runs exactly once, never inside the call, and not at all when the call
 * returns non-zero; its status is 0, an AL_E_* RemoteSendError code
 * (AL_E_NETWORK_TIMEOUT after request_timeout_ms, 10 s when <= 0),
 * AL_E_BAD_REPLY, or AL_ECANCELED when the node stops first. */
int al_remote_ask(al_remote_ref *to, const char *message_remote_id,
                  const uint8_t *payload, size_t len, const al_send_opts *opts,
                  al_reply_cb cb, void *ud);
int al_remote_tell(al_remote_ref *to, const char *message_remote_id,
                   const uint8_t *payload, size_t len, const al_send_opts *opts,
                   al_done_cb cb, void *ud);

/* Links a local actor with a remote one (Kameo's link_remote): either dying,
 * or the connection between their nodes closing, runs on_link_died. */
int al_remote_link(al_actor *local, al_remote_ref *remote, al_done_cb cb,
                   void *ud);
int al_remote_unlink(al_actor *local, al_remote_ref *remote, al_done_cb cb,
                     void *ud);

#ifdef __cplusplus
}
#endif
#endif /* ACTORLIB_H */
