/* remote::MyActor: the seed's counter, reachable from other nodes. */
#include <stdlib.h>
#include <string.h>

#include "counter.h"

typedef struct counter {
    int64_t count;
    al_node *node;
} counter;

static _Atomic uint64_t logs_seen;

/* ------------------------------------------------------------ codecs */

static const al_mp_field amount_fields[] = {
    AL_MP_FIELD(counter_amount, amount, AL_MP_U32),
};
const al_mp_struct counter_amount_mp = AL_MP_STRUCT("Inc", amount_fields);

static const al_mp_field sleep_fields[] = {
    AL_MP_FIELD(counter_sleep, ms, AL_MP_U32),
};
const al_mp_struct counter_sleep_mp = AL_MP_STRUCT("Sleep", sleep_fields);

static const al_mp_field log_fields[] = {
    AL_MP_FIELD(counter_log, text, AL_MP_STR),
};
const al_mp_struct counter_log_mp = AL_MP_STRUCT("LogMessage", log_fields);

static const al_mp_field underflow_fields[] = {
    AL_MP_FIELD(counter_underflow, count, AL_MP_I64),
    AL_MP_FIELD(counter_underflow, amount, AL_MP_U32),
};
const al_mp_struct counter_underflow_mp =
    AL_MP_STRUCT("Underflow", underflow_fields);

static int decode_amount(const uint8_t *b, size_t n, void *m, al_error *e)
{
    return al_mp_decode_struct(&counter_amount_mp, b, n, m, e);
}

static int decode_sleep(const uint8_t *b, size_t n, void *m, al_error *e)
{
    return al_mp_decode_struct(&counter_sleep_mp, b, n, m, e);
}

static int decode_log(const uint8_t *b, size_t n, void *m, al_error *e)
{
    return al_mp_decode_struct(&counter_log_mp, b, n, m, e);
}

static int encode_i64(const void *v, size_t len, al_buf *out)
{
    int64_t x;
    if (len != sizeof(x))
        return AL_EINVAL;
    memcpy(&x, v, sizeof(x));
    return al_mp_encode_i64(x, out);
}

static int encode_u32(const void *v, size_t len, al_buf *out)
{
    uint32_t x;
    if (len != sizeof(x))
        return AL_EINVAL;
    memcpy(&x, v, sizeof(x));
    return al_mp_encode_u64(x, out);
}

/* CounterError::Underflow { count, amount } as rmp_serde names it: an
 * externally tagged enum variant, {"Underflow": {...}}. */
static int encode_underflow(const void *v, size_t len, al_buf *out)
{
    static const uint8_t tag[] = {0x81, 0xa9, 'U', 'n', 'd', 'e',
                                  'r',  'f',  'l', 'o', 'w'};
    if (len != sizeof(counter_underflow))
        return AL_EINVAL;
    int rc = al_buf_append(out, tag, sizeof(tag));
    return rc ? rc : al_mp_encode_struct(&counter_underflow_mp, v, out);
}

static void drop_log(void *m)
{
    counter_log *l = m;
    free(l->text);
    l->text = NULL;
}

/* ------------------------------------------------------------ handlers */

static void reply_count(al_ctx *ctx, int64_t count)
{
    al_ctx_reply(ctx, &count, sizeof(count));
}

static void handle_inc(void *state, al_ctx *ctx, void *msg)
{
    counter *c = state;
    c->count += ((counter_amount *)msg)->amount;
    reply_count(ctx, c->count);
}

static void handle_dec(void *state, al_ctx *ctx, void *msg)
{
    counter *c = state;
    c->count -= ((counter_amount *)msg)->amount;
    reply_count(ctx, c->count);
}

static void handle_trydec(void *state, al_ctx *ctx, void *msg)
{
    counter *c = state;
    uint32_t amount = ((counter_amount *)msg)->amount;
    if (c->count < (int64_t)amount) {
        counter_underflow u = {c->count, amount};
        al_ctx_reply_error(ctx, &u, sizeof(u));
        return;
    }
    c->count -= amount;
    reply_count(ctx, c->count);
}

typedef struct sleeper {
    uv_timer_t timer;
    al_deferred *reply;
    uint32_t ms;
} sleeper;

static void sleeper_closed(uv_handle_t *h)
{
    free(h->data);
}

static void sleeper_fire(uv_timer_t *t)
{
    sleeper *s = t->data;
    al_deferred_reply(s->reply, &s->ms, sizeof(s->ms));
    uv_close((uv_handle_t *)t, sleeper_closed);
}

/* Replies later without blocking the loop: the deferred-reply path. */
static void handle_sleep(void *state, al_ctx *ctx, void *msg)
{
    counter *c = state;
    sleeper *s = malloc(sizeof(*s));
    if (!s)
        return; /* the ask gets an empty reply */
    s->ms = ((counter_sleep *)msg)->ms;
    s->reply = al_ctx_defer(ctx);
    if (!s->reply) {
        free(s);
        return;
    }
    uv_timer_init(al_node_loop(c->node), &s->timer);
    s->timer.data = s;
    uv_timer_start(&s->timer, sleeper_fire, s->ms, 0);
}

static void handle_log(void *state, al_ctx *ctx, void *msg)
{
    (void)state;
    (void)ctx;
    logs_seen++;
    al_log(AL_LOG_INFO, "LogMessage: %s", ((counter_log *)msg)->text);
}

uint64_t counter_logs_seen(void)
{
    return logs_seen;
}

/* ------------------------------------------------------------ class */

static void free_counter(void *state)
{
    free(state);
}

const al_actor_class counter_class = {
    .remote_id = COUNTER_REMOTE_ID,
    .free_state = free_counter,
};

const al_message counter_inc = {
    .name = "Inc",
    .size = sizeof(counter_amount),
    .handle = handle_inc,
    .decode = decode_amount,
    .encode_reply = encode_i64,
};

const al_message counter_dec = {
    .name = "Dec",
    .size = sizeof(counter_amount),
    .handle = handle_dec,
    .decode = decode_amount,
    .encode_reply = encode_i64,
};

const al_message counter_trydec = {
    .name = "TryDec",
    .size = sizeof(counter_amount),
    .handle = handle_trydec,
    .decode = decode_amount,
    .encode_reply = encode_i64,
    .encode_error = encode_underflow,
};

const al_message counter_sleep_msg = {
    .name = "Sleep",
    .size = sizeof(counter_sleep),
    .handle = handle_sleep,
    .decode = decode_sleep,
    .encode_reply = encode_u32,
};

const al_message counter_log_msg = {
    .name = "LogMessage",
    .size = sizeof(counter_log),
    .handle = handle_log,
    .drop = drop_log,
    .decode = decode_log,
};

AL_REMOTE_ACTOR(counter_class);
AL_REMOTE_MESSAGE(counter_class, counter_inc, COUNTER_INC_ID);
AL_REMOTE_MESSAGE(counter_class, counter_dec, COUNTER_DEC_ID);
AL_REMOTE_MESSAGE(counter_class, counter_trydec, COUNTER_TRYDEC_ID);
AL_REMOTE_MESSAGE(counter_class, counter_sleep_msg, COUNTER_SLEEP_ID);
AL_REMOTE_MESSAGE(counter_class, counter_log_msg, COUNTER_LOG_ID);

int counter_spawn(al_node *node, uint32_t mailbox_capacity, al_actor **out)
{
    counter *c = calloc(1, sizeof(*c));
    if (!c)
        return AL_ENOMEM;
    c->node = node;
    al_spawn_opts o = {mailbox_capacity};
    return al_spawn(node, &counter_class, c, &o, out);
}
