/* Idempotency keys: see idempotency.h. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "idempotency.h"
#include "keymap.h"

#define DEFAULT_TTL_MS      86400000
#define DEFAULT_MAX_ENTRIES 10000
#define DEFAULT_MAX_BYTES   ((size_t)64 << 20)
#define DEFAULT_MAX_RESP    ((size_t)1 << 20)

struct entry {
    gw_keymap_node node; /* key: the Idempotency-Key */
    gw_dlist order;      /* all entries, oldest reservation first */
    uint8_t fp[GW_IDEM_FP_LEN];
    bool done; /* false: reserved, the request is running */
    gw_idem_response resp;
    uint8_t *data; /* owned: headers, NUL, body */
    size_t bytes;  /* what this entry counts against max_bytes */
    char key[];
};

struct gw_idem {
    gw_keymap map;
    gw_dlist order;
    int64_t ttl_ms;
    size_t max_entries, max_bytes, max_response_bytes;
    size_t bytes, reserved;
    bool purge_pending; /* expired rows may still be in the database */
    gw_store *store;
    gw_store_clock_fn clock;
    void *clock_ud;
    gw_idem_stats stats;
};

int gw_idem_fingerprint(const char *method, const char *path, const void *body,
                        size_t len, uint8_t out[GW_IDEM_FP_LEN])
{
    if (!method || !path || (len && !body))
        return AL_EINVAL;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int n = 0;
    /* The NULs keep the parts apart: neither C string can contain one. */
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
             EVP_DigestUpdate(ctx, method, strlen(method) + 1) &&
             EVP_DigestUpdate(ctx, path, strlen(path) + 1) &&
             (len == 0 || EVP_DigestUpdate(ctx, body, len)) &&
             EVP_DigestFinal_ex(ctx, out, &n) && n == GW_IDEM_FP_LEN;
    EVP_MD_CTX_free(ctx);
    return ok ? 0 : AL_ECRYPTO;
}

static int64_t now_ms(const gw_idem *t)
{
    return t->clock ? t->clock(t->clock_ud) : gw_store_now_ms();
}

static struct entry *from_order(gw_dlist *l)
{
    return gw_container_of(l, struct entry, order);
}

/* Length of a usable key, else 0. Keys are header values, echoed in logs
 * and stored as text: printable ASCII only. */
static size_t key_len(const char *key)
{
    if (!key)
        return 0;
    size_t n = 0;
    for (; key[n]; n++)
        if (n >= GW_IDEM_KEY_MAX || (unsigned char)key[n] < 0x20 ||
            (unsigned char)key[n] > 0x7e)
            return 0;
    return n;
}

static void note_store(gw_idem *t, int rc)
{
    if (rc)
        t->stats.store_errors++;
}

int gw_idem_new(gw_idem **out, const gw_idem_opts *opts, al_error *err)
{
    static const gw_idem_opts defaults = {0};
    const gw_idem_opts *o = opts ? opts : &defaults;
    *out = NULL;
    gw_idem *t = calloc(1, sizeof(*t));
    if (!t)
        return al_error_set(err, AL_ENOMEM, "idempotency: out of memory");
    int rc = gw_keymap_init(&t->map);
    if (rc) {
        free(t);
        return al_error_set(err, rc, "idempotency: cannot set up its table");
    }
    gw_dlist_init(&t->order);
    t->ttl_ms = o->ttl_ms > 0 ? o->ttl_ms : DEFAULT_TTL_MS;
    t->max_entries = o->max_entries ? o->max_entries : DEFAULT_MAX_ENTRIES;
    t->max_bytes = o->max_bytes ? o->max_bytes : DEFAULT_MAX_BYTES;
    t->max_response_bytes =
        o->max_response_bytes ? o->max_response_bytes : DEFAULT_MAX_RESP;
    t->store = o->store;
    t->clock = o->clock;
    t->clock_ud = o->clock_ud;
    *out = t;
    return 0;
}

/* Unlinks and frees e; deletes its row when asked and it has one. */
static void drop(gw_idem *t, struct entry *e, bool delete_row)
{
    gw_keymap_remove(&t->map, &e->node);
    gw_dlist_remove(&e->order);
    t->bytes -= e->bytes;
    if (!e->done)
        t->reserved--;
    if (delete_row && e->done && t->store)
        note_store(t, gw_store_delete_idem(t->store, e->key, NULL, NULL));
    free(e->data);
    free(e);
}

void gw_idem_free(gw_idem *t)
{
    if (!t)
        return;
    while (!gw_dlist_empty(&t->order))
        drop(t, from_order(t->order.next), false);
    gw_keymap_destroy(&t->map);
    free(t);
}

static struct entry *find(gw_idem *t, const char *key, size_t len)
{
    gw_keymap_node *n = gw_keymap_find(&t->map, key, len);
    return n ? gw_container_of(n, struct entry, node) : NULL;
}

/* Drops the oldest completed answers, never `keep` nor a reservation,
 * until one more entry of `extra` bytes fits. False if it cannot. */
static bool make_room(gw_idem *t, size_t extra, const struct entry *keep)
{
    gw_dlist *l = t->order.next;
    while (t->map.count + (keep ? 0 : 1) > t->max_entries ||
           t->bytes + extra > t->max_bytes) {
        while (l != &t->order &&
               (!from_order(l)->done || from_order(l) == keep))
            l = l->next;
        if (l == &t->order)
            return false;
        struct entry *e = from_order(l);
        l = l->next;
        t->stats.bound_evictions++;
        drop(t, e, true);
    }
    return true;
}

static struct entry *new_entry(gw_idem *t, const char *key, size_t len,
                               const uint8_t fp[GW_IDEM_FP_LEN])
{
    struct entry *e = calloc(1, sizeof(*e) + len + 1);
    if (!e)
        return NULL;
    memcpy(e->key, key, len);
    memcpy(e->fp, fp, GW_IDEM_FP_LEN);
    e->node.key = e->key;
    e->node.key_len = len;
    e->bytes = sizeof(*e) + len + 1;
    gw_dlist_init(&e->order);
    if (gw_keymap_insert(&t->map, &e->node) != 0) {
        free(e);
        return NULL;
    }
    gw_dlist_push_back(&t->order, &e->order);
    t->bytes += e->bytes;
    return e;
}

static bool expired(const struct entry *e, int64_t now)
{
    return now >= e->resp.expires_at_ms;
}

/* Drops an expired entry met on the way; its row (if any) goes with the
 * next purge. */
static void expire(gw_idem *t, struct entry *e)
{
    if (e->done)
        t->purge_pending = true;
    t->stats.expired++;
    drop(t, e, false);
}

int gw_idem_check(gw_idem *t, const char *key, const uint8_t fp[GW_IDEM_FP_LEN],
                  const gw_idem_response **replay)
{
    *replay = NULL;
    size_t len = key_len(key);
    if (!len || !fp)
        return AL_EINVAL;
    int64_t now = now_ms(t);
    struct entry *e = find(t, key, len);
    if (e && expired(e, now)) {
        expire(t, e);
        e = NULL;
    }
    if (e) {
        if (memcmp(e->fp, fp, GW_IDEM_FP_LEN) != 0) {
            t->stats.conflicts++;
            return GW_IDEM_CONFLICT;
        }
        if (!e->done) {
            t->stats.in_flight++;
            return GW_IDEM_IN_FLIGHT;
        }
        t->stats.replays++;
        *replay = &e->resp;
        return GW_IDEM_REPLAY;
    }
    if (!make_room(t, sizeof(struct entry) + len + 1, NULL)) {
        al_log(AL_LOG_WARN,
               "idempotency: %zu requests in flight fill the "
               "table; refusing key \"%s\"",
               t->reserved, key);
        return AL_ELIMIT;
    }
    e = new_entry(t, key, len, fp);
    if (!e)
        return AL_ENOMEM;
    e->resp.created_at_ms = now;
    e->resp.expires_at_ms = now + t->ttl_ms;
    t->reserved++;
    t->stats.misses++;
    return GW_IDEM_MISS;
}

static struct entry *reserved_entry(gw_idem *t, const char *key, int *rc)
{
    size_t len = key_len(key);
    struct entry *e = len ? find(t, key, len) : NULL;
    *rc = !len ? AL_EINVAL : !e ? AL_ENOTFOUND : e->done ? AL_ESTATE : 0;
    return *rc ? NULL : e;
}

int gw_idem_abort(gw_idem *t, const char *key)
{
    int rc;
    struct entry *e = reserved_entry(t, key, &rc);
    if (!e)
        return rc;
    t->stats.aborted++;
    drop(t, e, false);
    return 0;
}

/* Copies headers (NUL-terminated) and body into one allocation owned by e,
 * and points e->resp at them. */
static int keep_answer(struct entry *e, int status, const char *headers,
                       size_t hlen, const void *body, size_t blen)
{
    e->data = malloc(hlen + 1 + blen);
    if (!e->data)
        return AL_ENOMEM;
    if (hlen)
        memcpy(e->data, headers, hlen);
    e->data[hlen] = '\0';
    if (blen)
        memcpy(e->data + hlen + 1, body, blen);
    e->resp.status = status;
    e->resp.headers = (const char *)e->data;
    e->resp.headers_len = hlen;
    e->resp.body = blen ? e->data + hlen + 1 : NULL;
    e->resp.body_len = blen;
    e->bytes += hlen + 1 + blen;
    e->done = true;
    return 0;
}

static void persist(gw_idem *t, const struct entry *e)
{
    if (!t->store)
        return;
    gw_store_idem_row row = {
        .key = e->key,
        .status = e->resp.status,
        .headers = e->resp.headers,
        .headers_len = e->resp.headers_len,
        .body = e->resp.body,
        .body_len = e->resp.body_len,
        .created_at_ms = e->resp.created_at_ms,
        .expires_at_ms = e->resp.expires_at_ms,
    };
    memcpy(row.request_hash, e->fp, GW_IDEM_FP_LEN);
    note_store(t, gw_store_put_idem(t->store, &row, NULL, NULL));
}

int gw_idem_complete(gw_idem *t, const char *key, int status,
                     const char *headers, size_t headers_len, const void *body,
                     size_t body_len)
{
    int rc;
    struct entry *e = reserved_entry(t, key, &rc);
    if (!e)
        return rc;
    if (status < 100 || status > 599 || (headers_len && !headers) ||
        (body_len && !body) ||
        (headers_len && memchr(headers, '\0', headers_len)))
        return AL_EINVAL;
    size_t size = headers_len + 1 + body_len;
    if (headers_len > t->max_response_bytes ||
        body_len > t->max_response_bytes - headers_len) {
        al_log(AL_LOG_WARN,
               "idempotency: answer to key \"%s\" (%zu bytes) "
               "is too large to keep; the key is released",
               e->key, headers_len + body_len);
        t->stats.too_large++;
        drop(t, e, false);
        return AL_ELIMIT;
    }
    /* Room for the answer comes from older answers, never from this one. */
    if (!make_room(t, size, e)) {
        al_log(AL_LOG_WARN,
               "idempotency: no room for the answer to key "
               "\"%s\"; the key is released",
               e->key);
        t->stats.too_large++;
        drop(t, e, false);
        return AL_ELIMIT;
    }
    if (keep_answer(e, status, headers, headers_len, body, body_len) != 0) {
        drop(t, e, false);
        return AL_ENOMEM;
    }
    t->bytes += size;
    t->reserved--;
    e->resp.expires_at_ms = now_ms(t) + t->ttl_ms;
    t->stats.completed++;
    persist(t, e);
    return 0;
}

size_t gw_idem_sweep(gw_idem *t)
{
    int64_t now = now_ms(t);
    size_t n = 0;
    gw_dlist *l = t->order.next;
    while (l != &t->order) {
        struct entry *e = from_order(l);
        l = l->next;
        if (expired(e, now)) {
            expire(t, e);
            n++;
        }
    }
    if (t->purge_pending && t->store) {
        note_store(t, gw_store_purge_idem(t->store, now, NULL, NULL));
        t->purge_pending = false;
    }
    return n;
}

void gw_idem_get_stats(const gw_idem *t, gw_idem_stats *out)
{
    *out = t->stats;
    out->entries = t->map.count;
    out->reserved = t->reserved;
    out->bytes = t->bytes;
}

/* ------------------------------------------------------------ loading */

struct load_ctx {
    gw_idem *t;
    size_t loaded, skipped;
};

static int load_row(const gw_store_idem_row *r, void *ud)
{
    struct load_ctx *c = ud;
    gw_idem *t = c->t;
    size_t len = key_len(r->key);
    size_t size = r->headers_len + 1 + r->body_len;
    if (!len || find(t, r->key, len) ||
        r->headers_len + r->body_len > t->max_response_bytes ||
        memchr(r->headers, '\0', r->headers_len)) {
        c->skipped++;
        return 0;
    }
    /* Rows come oldest first: when the bounds were lowered, the oldest
     * give way to the newer ones. */
    make_room(t, sizeof(struct entry) + len + 1 + size, NULL);
    struct entry *e = new_entry(t, r->key, len, r->request_hash);
    if (!e)
        return AL_ENOMEM;
    e->resp.created_at_ms = r->created_at_ms;
    e->resp.expires_at_ms = r->expires_at_ms;
    if (keep_answer(e, r->status, r->headers, r->headers_len, r->body,
                    r->body_len) != 0) {
        t->reserved++; /* drop() counts it as a reservation */
        drop(t, e, false);
        return AL_ENOMEM;
    }
    t->bytes += size;
    c->loaded++;
    return 0;
}

int gw_idem_load(gw_idem *t, al_error *err)
{
    if (!t->store)
        return al_error_set(err, AL_ESTATE, "idempotency: no store to load");
    struct load_ctx c = {t, 0, 0};
    int64_t now = now_ms(t);
    int rc = gw_store_load_idem(t->store, now, load_row, &c, err);
    if (rc)
        return rc;
    note_store(t, gw_store_purge_idem(t->store, now, NULL, NULL));
    al_log(AL_LOG_INFO,
           "idempotency: loaded %zu stored answers (%zu "
           "skipped)",
           c.loaded, c.skipped);
    return 0;
}
