/* The /kameo/1 server's request path: request bytes in, dispatch to a
 * served actor, response bytes out (remote.c), and the answer given to a
 * request refused for load. A node runs on its own thread with one served
 * actor (sequence 0 of the peer below, type fuzz::Actor) whose messages
 * decode structs of every field type and reply, fail or stay silent; the
 * seed corpus holds requests addressed to it.
 *
 * Invariants checked: an answer, when given, decodes as a response of the
 * request's kind; the refusal decodes as MailboxFull. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actorlib.h"
#include "kameo_wire.h"
#include "remote.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PEER_ID                                                                \
    "\x00\x24\x08\x01\x12\x20\x1e\xd1\xe8\xfa\xe2\xc4\xa1\x44\xb8\xbe\x8f\xd4" \
    "\xb4\x7b\xf3\xd3\xb3\x4b\x87\x1c\x3c\xac\xf6\x01\x0f\x0e\x42\xd4\x74\xfc" \
    "\xe2\x7e"

typedef struct shape {
    int64_t i;
    uint64_t u;
    char *s;
    al_buf b;
    char *o;
    bool f;
} shape;

static const al_mp_field shape_fields[] = {
    AL_MP_FIELD(shape, i, AL_MP_I64),     AL_MP_FIELD(shape, u, AL_MP_U64),
    AL_MP_FIELD(shape, s, AL_MP_STR),     AL_MP_FIELD(shape, b, AL_MP_BYTES),
    AL_MP_FIELD(shape, o, AL_MP_OPT_STR), AL_MP_FIELD(shape, f, AL_MP_BOOL),
};
static const al_mp_struct shape_mp = AL_MP_STRUCT("Shape", shape_fields);

static int decode_shape(const uint8_t *b, size_t n, void *m, al_error *e)
{
    return al_mp_decode_struct(&shape_mp, b, n, m, e);
}

static void drop_shape(void *m)
{
    al_mp_free_struct(&shape_mp, m);
}

static int encode_shape(const void *v, size_t len, al_buf *out)
{
    return len == sizeof(shape) ? al_mp_encode_struct(&shape_mp, v, out)
                                : AL_EINVAL;
}

static void echo(void *state, al_ctx *ctx, void *msg)
{
    (void)state;
    al_ctx_reply(ctx, msg, sizeof(shape));
}

static void refuse(void *state, al_ctx *ctx, void *msg)
{
    (void)state;
    al_ctx_reply_error(ctx, msg, sizeof(shape));
}

static void silent(void *state, al_ctx *ctx, void *msg)
{
    (void)state;
    (void)ctx;
    (void)msg;
}

static bool keep_going(void *state, al_actor *self, uint64_t dead, int why)
{
    (void)state;
    (void)self;
    (void)dead;
    (void)why;
    return false;
}

static const al_actor_class fuzz_class = {
    .remote_id = "fuzz::Actor",
    .on_link_died = keep_going,
};
static const al_message echo_msg = {"Echo",      sizeof(shape), echo,
                                    drop_shape,  decode_shape,  encode_shape,
                                    encode_shape};
static const al_message refuse_msg = {"Refuse",    sizeof(shape), refuse,
                                      drop_shape,  decode_shape,  NULL,
                                      encode_shape};
static const al_message silent_msg = {
    "Silent", sizeof(shape), silent, drop_shape, decode_shape, NULL, NULL};

AL_REMOTE_ACTOR(fuzz_class);
AL_REMOTE_MESSAGE(fuzz_class, echo_msg, "echo");
AL_REMOTE_MESSAGE(fuzz_class, refuse_msg, "refuse");
AL_REMOTE_MESSAGE(fuzz_class, silent_msg, "silent");

/* ------------------------------------------------------------ the node */

static al_node *node;
static al__remote *remote;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

typedef struct job {
    const uint8_t *req;
    size_t len;
    al__rserve *pending;
    bool ran, answered;
    enum al__kw_kind kind;
    bool kind_known;
} job;

static void wake(void)
{
    pthread_mutex_lock(&mu);
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static void setup(void *ud)
{
    (void)ud;
    al_peer_id me;
    al_actor *a;
    if (al_peer_id_from_bytes(&me, (const uint8_t *)PEER_ID, 38) ||
        al__remote_attach(node, &me, &remote) ||
        al_spawn(node, &fuzz_class, NULL, NULL, &a) ||
        al__remote_expose(remote, a, "fuzz"))
        abort();
    al_actor_release(a);
    wake();
}

static void answered(al__rserve *s, const uint8_t *resp, size_t len, void *ud)
{
    (void)s;
    job *j = ud;
    if (resp) {
        al__kw_response r;
        if (al__kw_response_decode(resp, len, &r, NULL) != 0)
            abort();
        if (j->kind_known && r.kind != j->kind)
            abort();
        al__kw_response_free(&r);
    }
    pthread_mutex_lock(&mu);
    j->answered = true;
    j->pending = NULL;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static void serve(void *ud)
{
    job *j = ud;
    al__kw_request r;
    j->kind_known = al__kw_request_decode(j->req, j->len, &r, NULL) == 0;
    if (j->kind_known)
        j->kind = r.kind;
    al__kw_request_free(&r);
    al__rserve *s = al__remote_serve(remote, NULL, j->req, j->len, answered, j);
    pthread_mutex_lock(&mu);
    if (!j->answered)
        j->pending = s;
    j->ran = true;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

/* On the loop, after the fuzzer moved on: nothing refers to j after. */
static void cancel(void *ud)
{
    job *j = ud;
    pthread_mutex_lock(&mu);
    if (j->pending)
        al__rserve_cancel(j->pending);
    pthread_mutex_unlock(&mu);
    free(j);
}

static void start_node(void)
{
    if (al_node_new(&node, NULL, NULL) || al_node_start(node))
        abort();
    pthread_mutex_lock(&mu);
    al_node_post(node, setup, NULL);
    while (!remote)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
}

/* Waits for cond (under mu) at most ms; true when it held. */
static bool wait_for(const bool *flag, int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += (long)ms * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    while (!*flag)
        if (pthread_cond_timedwait(&cv, &mu, &ts))
            return *flag;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!node)
        start_node();

    al_buf shed = {0};
    if (al__remote_shed_answer(data, size, &shed) == 0) {
        al__kw_response r;
        if (al__kw_response_decode(shed.data, shed.len, &r, NULL) != 0 ||
            r.status != AL_E_MAILBOX_FULL)
            abort();
        al__kw_response_free(&r);
    }
    al_buf_free(&shed);

    job *j = calloc(1, sizeof(*j));
    if (!j)
        return 0;
    j->req = data;
    j->len = size;
    pthread_mutex_lock(&mu);
    al_node_post(node, serve, j);
    if (!wait_for(&j->ran, 10000))
        abort(); /* the request bytes must not outlive this call */
    /* An answer that takes longer (an actor's mailbox) is cancelled. */
    bool done = wait_for(&j->answered, 20);
    pthread_mutex_unlock(&mu);
    if (done)
        free(j);
    else
        al_node_post(node, cancel, j);
    return 0;
}
