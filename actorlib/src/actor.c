/* Actors on a loop.
 *
 * Every send becomes an envelope. On the loop thread it goes straight into
 * the target's mailbox; from other threads it goes through the node's inbox
 * (a mutex-protected list plus uv_async_t). Actors with mail sit in the
 * node's ready queue, drained by a uv_idle_t in batches so that one busy
 * actor cannot starve the rest of the loop. Outcomes that must not be
 * reported from inside the sending call (errors, tell acknowledgements) go
 * through a completion queue drained by the same idle handle.
 *
 * Memory: the node holds one reference on each actor from spawn until it
 * finalizes; envelopes from other threads hold one on their target. An
 * actor is freed when its count reaches zero, which cannot happen while one
 * of its callbacks runs because the node's reference is dropped only after
 * dispatch has let go of it. */
#include <stdlib.h>
#include <string.h>

#include "actor.h"
#include "node.h"

#define INLINE_MSG    48
#define MAX_FREE_ENVS 4096
#define NO_DEADLINE   UINT64_MAX

enum env_kind {
    ENV_TELL,
    ENV_ASK,
    ENV_START,     /* first mailbox entry: runs on_start */
    ENV_STOP,      /* graceful stop, queued behind the mail */
    ENV_LINK_DIED, /* a linked actor died */
    ENV_NOTIFY,    /* completion: cb.done(status) */
    /* inbox-only commands from other threads */
    ENV_SPAWN,
    ENV_KILL,
    ENV_POST,
    ENV_DEFERRED,
    ENV_LINK,
    ENV_UNLINK,
    ENV_RELEASE_STOP,
};

enum env_where { W_NONE, W_MAILBOX, W_WAITQ, W_DONE, W_HANDLING, W_DEFERRED };

enum actor_status { ST_NEW, ST_RUNNING, ST_DEAD };

struct al__env {
    al__env *next, *prev;
    al_node *node;
    al_actor *to;
    const al_message *m;
    union {
        al_reply_cb reply;
        al_done_cb done;
        void (*post)(void *);
    } cb;
    void *ud;
    void *msg;
    void *aux; /* ENV_LINK/UNLINK: the other actor; ENV_DEFERRED: the ask */
    uint64_t seq_aux;
    al__timer timer;
    uint64_t mailbox_deadline;
    uint64_t reply_deadline;
    size_t len; /* ENV_DEFERRED: reply length */
    int status;
    uint8_t kind;
    uint8_t where;
    bool replied;
    bool heap_msg;
    bool holds_ref;
    bool immediate;
    union {
        max_align_t align;
        uint8_t bytes[INLINE_MSG];
    } inl;
};

typedef struct link_set {
    al_actor **v;
    uint32_t len, cap;
} link_set;

struct al_actor {
    al_node *node;
    const al_actor_class *cls;
    void *state;
    uint64_t seq;
    atomic_uint refs;
    _Atomic uint8_t status;
    uint8_t stop_reason;
    bool stop_queued;
    bool scheduled;
    bool in_handler;
    bool kill_requested;
    bool dispatching;
    uint32_t capacity;
    uint32_t mb_len;
    al__env *mb_head, *mb_tail;
    al__env *wait_head, *wait_tail;
    al_actor *ready_next;
    al_actor *prev, *next; /* node's actor list */
    link_set links;
    al__death_watch *watches;
};

struct al_ctx {
    al_actor *self;
    al__env *env;
    bool deferred;
};

/* ------------------------------------------------------------ envelopes */

static al__env *env_new(al_node *n, bool on_loop)
{
    al__env *e;
    if (on_loop && n->free_envs) {
        e = n->free_envs;
        n->free_envs = e->next;
        n->nfree--;
    } else {
        e = malloc(sizeof(*e));
        if (!e)
            return NULL;
    }
    memset(e, 0, offsetof(al__env, inl));
    e->node = n;
    e->mailbox_deadline = NO_DEADLINE;
    e->reply_deadline = NO_DEADLINE;
    return e;
}

static void env_recycle(al__env *e)
{
    al_node *n = e->node;
    if (al__timer_armed(&e->timer))
        al__timer_stop(&n->timers, &e->timer);
    if (e->heap_msg)
        free(e->msg);
    if (e->holds_ref)
        al_actor_release(e->to);
    if (n->nfree < MAX_FREE_ENVS) {
        e->next = n->free_envs;
        n->free_envs = e;
        n->nfree++;
    } else {
        free(e);
    }
}

static void drop_msg(al__env *e)
{
    if (e->m && e->m->drop && e->msg)
        e->m->drop(e->msg);
}

static int env_copy_msg(al__env *e, const al_message *m, const void *msg)
{
    e->m = m;
    if (m->size <= INLINE_MSG) {
        e->msg = e->inl.bytes;
    } else {
        e->msg = malloc(m->size);
        if (!e->msg)
            return AL_ENOMEM;
        e->heap_msg = true;
    }
    if (m->size)
        memcpy(e->msg, msg, m->size);
    return 0;
}

void al__env_free_all(al_node *n)
{
    while (n->free_envs) {
        al__env *e = n->free_envs;
        n->free_envs = e->next;
        free(e);
    }
    n->nfree = 0;
    /* Commands that never reached a running loop. */
    while (n->inbox_head) {
        al__env *e = n->inbox_head;
        n->inbox_head = e->next;
        drop_msg(e);
        if (e->heap_msg)
            free(e->msg);
        if (e->kind == ENV_SPAWN && e->to->cls->free_state)
            e->to->cls->free_state(e->to->state);
        if (e->holds_ref)
            al_actor_release(e->to);
        if ((e->kind == ENV_LINK || e->kind == ENV_UNLINK) && e->aux)
            al_actor_release(e->aux);
        free(e);
    }
}

/* ------------------------------------------------------------ scheduling */

static void schedule_actor(al_actor *a)
{
    al_node *n = a->node;
    if (a->scheduled || a->dispatching)
        return;
    a->scheduled = true;
    a->ready_next = NULL;
    if (n->ready_tail)
        n->ready_tail->ready_next = a;
    else
        n->ready_head = a;
    n->ready_tail = a;
    al__node_schedule(n);
}

static void complete_later(al__env *e, int status)
{
    al_node *n = e->node;
    e->status = status;
    e->where = W_DONE;
    e->next = NULL;
    if (n->done_tail)
        n->done_tail->next = e;
    else
        n->done_head = e;
    n->done_tail = e;
    al__node_schedule(n);
}

static void notify_later(al_node *n, al_done_cb cb, void *ud, int status)
{
    al__env *e = env_new(n, true);
    if (!e) {
        /* Nowhere to queue it; reporting now beats losing it. */
        cb(status, ud);
        return;
    }
    e->kind = ENV_NOTIFY;
    e->cb.done = cb;
    e->ud = ud;
    complete_later(e, status);
}

/* Answers an ask once; later answers (after a timeout) are ignored. */
static void answer(al__env *e, int status, const void *data, size_t len,
                   const char *detail)
{
    if (e->replied)
        return;
    e->replied = true;
    if (al__timer_armed(&e->timer))
        al__timer_stop(&e->node->timers, &e->timer);
    al_reply r = {status, data, len, detail};
    if (e->cb.reply)
        e->cb.reply(&r, e->ud);
}

/* Reports the failure of an envelope that was never handled. */
static void fail_env(al__env *e)
{
    if (e->kind == ENV_ASK)
        answer(e, e->status, NULL, 0, NULL);
    else if (e->kind == ENV_TELL && e->cb.done)
        e->cb.done(e->status, e->ud);
    drop_msg(e);
    env_recycle(e);
}

static void run_completions(al_node *n)
{
    al__env *e = n->done_head;
    n->done_head = n->done_tail = NULL;
    while (e) {
        al__env *next = e->next;
        if (e->kind == ENV_NOTIFY) {
            e->cb.done(e->status, e->ud);
            env_recycle(e);
        } else {
            fail_env(e);
        }
        e = next;
    }
}

/* ------------------------------------------------------------ queues */

static void q_push(al__env **head, al__env **tail, al__env *e)
{
    e->next = NULL;
    e->prev = *tail;
    if (*tail)
        (*tail)->next = e;
    else
        *head = e;
    *tail = e;
}

static al__env *q_pop(al__env **head, al__env **tail)
{
    al__env *e = *head;
    if (e) {
        *head = e->next;
        if (*head)
            (*head)->prev = NULL;
        else
            *tail = NULL;
    }
    return e;
}

static void q_remove(al__env **head, al__env **tail, al__env *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        *head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        *tail = e->prev;
}

/* ------------------------------------------------------------ timeouts */

static void arm_env(al__env *e);

static void env_timeout(al__timer *t)
{
    al__env *e = (al__env *)((char *)t - offsetof(al__env, timer));
    uint64_t now = al__now(e->node);
    al_actor *a = e->to;
    if (e->where == W_WAITQ && e->mailbox_deadline <= now) {
        q_remove(&a->wait_head, &a->wait_tail, e);
        complete_later(e, AL_E_MAILBOX_FULL);
        return;
    }
    if (e->kind == ENV_ASK && e->reply_deadline <= now && !e->replied) {
        answer(e, AL_E_REPLY_TIMEOUT, NULL, 0, NULL);
        if (e->where == W_WAITQ) {
            /* Nobody waits for it any more; Kameo would also drop it. */
            q_remove(&a->wait_head, &a->wait_tail, e);
            drop_msg(e);
            env_recycle(e);
        }
        return;
    }
    arm_env(e);
}

static void arm_env(al__env *e)
{
    uint64_t d = NO_DEADLINE;
    if (e->where == W_WAITQ)
        d = e->mailbox_deadline;
    if (e->kind == ENV_ASK && !e->replied && e->reply_deadline < d)
        d = e->reply_deadline;
    if (d == NO_DEADLINE) {
        if (al__timer_armed(&e->timer))
            al__timer_stop(&e->node->timers, &e->timer);
        return;
    }
    al__timer_start(&e->node->timers, &e->timer, d, env_timeout);
}

/* ------------------------------------------------------------ delivery */

static void enqueue(al_actor *a, al__env *e)
{
    e->where = W_MAILBOX;
    q_push(&a->mb_head, &a->mb_tail, e);
    if (e->kind == ENV_TELL || e->kind == ENV_ASK)
        a->mb_len++;
    schedule_actor(a);
}

/* Timeouts travel as relative milliseconds and become loop deadlines here,
 * on the loop thread, where uv_now may be read. */
static uint64_t to_deadline(al_node *n, uint64_t rel)
{
    return rel == NO_DEADLINE ? NO_DEADLINE : al__now(n) + rel;
}

/* A tell is done once it is in the mailbox; what happens to it later (a
 * kill) is not reported a second time. */
static void acknowledge(al__env *e)
{
    if (e->cb.done) {
        notify_later(e->node, e->cb.done, e->ud, 0);
        e->cb.done = NULL;
    }
}

static void deliver(al_actor *a, al__env *e)
{
    e->to = a;
    e->mailbox_deadline = to_deadline(a->node, e->mailbox_deadline);
    e->reply_deadline = to_deadline(a->node, e->reply_deadline);
    if (a->status == ST_DEAD || a->stop_queued) {
        complete_later(e, AL_E_ACTOR_NOT_RUNNING);
        return;
    }
    if (a->capacity && a->mb_len >= a->capacity) {
        if (e->immediate) {
            complete_later(e, AL_E_MAILBOX_FULL);
            return;
        }
        e->where = W_WAITQ;
        q_push(&a->wait_head, &a->wait_tail, e);
        arm_env(e);
        return;
    }
    enqueue(a, e);
    if (e->kind == ENV_ASK && e->reply_deadline != NO_DEADLINE)
        arm_env(e);
    else if (e->kind == ENV_TELL)
        acknowledge(e);
}

static void admit_waiter(al_actor *a)
{
    if (!a->wait_head || (a->capacity && a->mb_len >= a->capacity))
        return;
    /* A handler may have held the loop past a sender's mailbox deadline
     * before its timer could run: such senders fail rather than get in. */
    uv_update_time(&a->node->loop);
    uint64_t now = al__now(a->node);
    al__env *e;
    while ((e = q_pop(&a->wait_head, &a->wait_tail)) &&
           e->mailbox_deadline <= now)
        complete_later(e, AL_E_MAILBOX_FULL);
    if (!e)
        return;
    enqueue(a, e);
    arm_env(e); /* the mailbox deadline no longer applies */
    if (e->kind == ENV_TELL)
        acknowledge(e);
}

static void inbox_push(al_node *n, al__env *e)
{
    pthread_mutex_lock(&n->lock);
    bool closed = n->closed;
    if (!closed) {
        e->next = NULL;
        if (n->inbox_tail)
            n->inbox_tail->next = e;
        else
            n->inbox_head = e;
        n->inbox_tail = e;
    }
    pthread_mutex_unlock(&n->lock);
    if (!closed) {
        uv_async_send(&n->wakeup);
        return;
    }
    /* The node is gone: the send fails like one to a stopped actor, but on
     * this thread since no loop will run it. */
    if (e->kind == ENV_ASK) {
        al_reply r = {AL_E_ACTOR_NOT_RUNNING, NULL, 0, NULL};
        e->cb.reply(&r, e->ud);
    } else if (e->kind == ENV_TELL && e->cb.done) {
        e->cb.done(AL_E_ACTOR_NOT_RUNNING, e->ud);
    } else if (e->kind == ENV_DEFERRED) {
        free(e->aux); /* the ask's envelope; its loop is gone */
    }
    drop_msg(e);
    if (e->heap_msg)
        free(e->msg);
    if (e->holds_ref)
        al_actor_release(e->to);
    free(e);
}

/* ------------------------------------------------------------ lifecycle */

static void links_remove(link_set *s, al_actor *x)
{
    for (uint32_t i = 0; i < s->len; i++)
        if (s->v[i] == x) {
            s->v[i] = s->v[--s->len];
            return;
        }
}

static int links_add(link_set *s, al_actor *x)
{
    for (uint32_t i = 0; i < s->len; i++)
        if (s->v[i] == x)
            return 0;
    if (s->len == s->cap) {
        uint32_t cap = s->cap ? s->cap * 2 : 4;
        al_actor **v = realloc(s->v, cap * sizeof(*v));
        if (!v)
            return AL_ENOMEM;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->len++] = x;
    return 0;
}

static al__env *sys_env(al_actor *a, int kind)
{
    al__env *e = env_new(a->node, true);
    if (e)
        e->kind = kind;
    return e;
}

static void signal_link_died(al_actor *to, uint64_t dead, int reason)
{
    if (to->status == ST_DEAD)
        return;
    al__env *e = sys_env(to, ENV_LINK_DIED);
    if (!e) {
        al_log(AL_LOG_ERROR, "actor %llu: link-died signal lost (no memory)",
               (unsigned long long)to->seq);
        return;
    }
    e->seq_aux = dead;
    e->status = reason;
    e->to = to;
    enqueue(to, e);
}

int al__actor_signal_link_died(al_actor *a, uint64_t dead_seq, int reason)
{
    if (a->status == ST_DEAD)
        return AL_E_ACTOR_NOT_RUNNING;
    signal_link_died(a, dead_seq, reason);
    return 0;
}

static void fail_queue(al__env **head, al__env **tail, int status)
{
    al__env *e;
    while ((e = q_pop(head, tail))) {
        if (e->kind == ENV_TELL || e->kind == ENV_ASK) {
            e->status = status;
            fail_env(e);
        } else {
            env_recycle(e);
        }
    }
}

static void unschedule(al_actor *a)
{
    al_node *n = a->node;
    al_actor *prev = NULL;
    for (al_actor *x = n->ready_head; x; prev = x, x = x->ready_next) {
        if (x != a)
            continue;
        if (prev)
            prev->ready_next = a->ready_next;
        else
            n->ready_head = a->ready_next;
        if (n->ready_tail == a)
            n->ready_tail = prev;
        break;
    }
    a->scheduled = false;
}

static void unlist(al_actor *a)
{
    al_node *n = a->node;
    if (a->scheduled)
        unschedule(a);
    if (a->prev)
        a->prev->next = a->next;
    else
        n->actors = a->next;
    if (a->next)
        a->next->prev = a->prev;
    n->nactors--;
}

/* Runs on_stop and tells everyone who cares. The node's reference is
 * dropped by the caller once it no longer touches the actor. */
static void finalize(al_actor *a, int reason)
{
    al_node *n = a->node;
    a->stop_reason = (uint8_t)reason;
    a->stop_queued = true;
    a->in_handler = true;
    if (a->cls->on_stop)
        a->cls->on_stop(a->state, a, reason);
    a->in_handler = false;
    if (a->cls->free_state)
        a->cls->free_state(a->state);
    a->state = NULL;
    pthread_mutex_lock(&n->lock);
    atomic_store(&a->status, ST_DEAD);
    pthread_cond_broadcast(&n->cond);
    pthread_mutex_unlock(&n->lock);

    fail_queue(&a->mb_head, &a->mb_tail, AL_E_ACTOR_STOPPED);
    fail_queue(&a->wait_head, &a->wait_tail, AL_E_ACTOR_STOPPED);
    a->mb_len = 0;

    int link_reason = reason == AL_STOP_NORMAL ? AL_STOP_NORMAL : reason;
    for (uint32_t i = 0; i < a->links.len; i++) {
        al_actor *o = a->links.v[i];
        links_remove(&o->links, a);
        signal_link_died(o, a->seq, link_reason);
        al_actor_release(o); /* held by our link set */
        al_actor_release(a); /* held by theirs */
    }
    free(a->links.v);
    a->links.v = NULL;
    a->links.len = a->links.cap = 0;

    al__death_watch *w = a->watches;
    a->watches = NULL;
    while (w) {
        al__death_watch *next = w->next;
        w->cb(w, a, reason);
        w = next;
    }
    unlist(a);
}

static void drop_node_ref(al_actor *a)
{
    al_node *n = a->node;
    al_actor_release(a);
    al__node_check_done(n);
}

/* Stops now, or as soon as the running callback returns. */
static void stop_now(al_actor *a, int reason)
{
    if (a->status == ST_DEAD)
        return;
    if (a->in_handler || a->dispatching) {
        a->kill_requested = true;
        a->stop_reason = (uint8_t)reason;
        return;
    }
    finalize(a, reason);
    drop_node_ref(a);
}

static void start_actor(al_actor *a)
{
    al_node *n = a->node;
    a->next = n->actors;
    if (n->actors)
        n->actors->prev = a;
    n->actors = a;
    n->nactors++;
    atomic_store(&a->status, ST_RUNNING);
    al__env *e = sys_env(a, ENV_START);
    if (!e) {
        finalize(a, AL_STOP_START_FAILED);
        drop_node_ref(a);
        return;
    }
    e->to = a;
    enqueue(a, e);
    if (n->stopping)
        al_actor_stop(a);
}

/* ------------------------------------------------------------ handling */

static void handle_link_died(al_actor *a, al__env *e)
{
    bool stop;
    a->in_handler = true;
    if (a->cls->on_link_died)
        stop = a->cls->on_link_died(a->state, a, e->seq_aux, e->status);
    else
        stop = e->status != AL_STOP_NORMAL;
    a->in_handler = false;
    if (stop && !a->kill_requested) {
        a->kill_requested = true;
        a->stop_reason = AL_STOP_LINK_DIED;
    }
}

static void handle_msg(al_actor *a, al__env *e)
{
    al_ctx ctx = {a, e, false};
    e->where = W_HANDLING;
    a->in_handler = true;
    e->m->handle(a->state, &ctx, e->msg);
    a->in_handler = false;
    drop_msg(e);
    if (e->kind == ENV_ASK && !ctx.deferred)
        answer(e, 0, NULL, 0, NULL);
    if (ctx.deferred) {
        e->where = W_DEFERRED;
        if (e->heap_msg) {
            free(e->msg);
            e->heap_msg = false;
        }
        e->msg = NULL;
        return;
    }
    env_recycle(e);
}

static void handle(al_actor *a, al__env *e)
{
    switch (e->kind) {
    case ENV_START:
        env_recycle(e);
        if (a->cls->on_start) {
            a->in_handler = true;
            int rc = a->cls->on_start(a->state, a);
            a->in_handler = false;
            if (rc && !a->kill_requested) {
                a->kill_requested = true;
                a->stop_reason = AL_STOP_START_FAILED;
            }
        }
        break;
    case ENV_STOP:
        env_recycle(e);
        if (!a->kill_requested) {
            a->kill_requested = true;
            a->stop_reason = AL_STOP_NORMAL;
        }
        break;
    case ENV_LINK_DIED:
        handle_link_died(a, e);
        env_recycle(e);
        break;
    default:
        a->mb_len--;
        admit_waiter(a);
        handle_msg(a, e);
        break;
    }
}

void al__node_dispatch(al_node *n)
{
    run_completions(n);
    unsigned budget = n->batch * 8;
    while (n->ready_head && budget > 0) {
        al_actor *a = n->ready_head;
        n->ready_head = a->ready_next;
        if (!n->ready_head)
            n->ready_tail = NULL;
        a->scheduled = false;
        a->dispatching = true;
        unsigned k = 0;
        while (a->mb_head && k < n->batch && !a->kill_requested) {
            al__env *e = q_pop(&a->mb_head, &a->mb_tail);
            handle(a, e);
            k++;
        }
        a->dispatching = false;
        budget -= k < budget ? k : budget;
        if (a->kill_requested && a->status != ST_DEAD) {
            finalize(a, a->stop_reason);
            drop_node_ref(a);
            continue;
        }
        if (a->mb_head)
            schedule_actor(a);
    }
    run_completions(n);
    if (!n->ready_head && !n->done_head && n->dispatch_active) {
        n->dispatch_active = false;
        uv_idle_stop(&n->dispatch);
    }
}

/* ------------------------------------------------------------ inbox */

static void run_command(al_node *n, al__env *e)
{
    switch (e->kind) {
    case ENV_TELL:
    case ENV_ASK:
        deliver(e->to, e);
        break;
    case ENV_SPAWN:
        start_actor(e->to);
        env_recycle(e);
        break;
    case ENV_KILL:
        stop_now(e->to, AL_STOP_KILLED);
        env_recycle(e);
        break;
    case ENV_RELEASE_STOP:
        al_actor_stop(e->to);
        env_recycle(e);
        break;
    case ENV_POST:
        e->cb.post(e->ud);
        env_recycle(e);
        break;
    case ENV_DEFERRED: {
        al__env *ask = e->aux;
        answer(ask, e->status, e->msg, e->len, NULL);
        env_recycle(ask);
        env_recycle(e);
        break;
    }
    case ENV_LINK:
    case ENV_UNLINK:
        if (e->kind == ENV_LINK)
            al_actor_link(e->to, e->aux);
        else
            al_actor_unlink(e->to, e->aux);
        al_actor_release(e->aux);
        env_recycle(e);
        break;
    default:
        env_recycle(e);
        break;
    }
}

void al__node_drain_inbox(al_node *n)
{
    pthread_mutex_lock(&n->lock);
    al__env *e = n->inbox_head;
    n->inbox_head = n->inbox_tail = NULL;
    pthread_mutex_unlock(&n->lock);
    while (e) {
        al__env *next = e->next;
        run_command(n, e);
        e = next;
    }
}

static int post_env(al_node *n, al__env *e)
{
    if (al_node_on_loop(n)) {
        run_command(n, e);
        return 0;
    }
    inbox_push(n, e);
    return 0;
}

int al_node_post(al_node *node, void (*fn)(void *ud), void *ud)
{
    if (!node || !fn)
        return AL_EINVAL;
    pthread_mutex_lock(&node->lock);
    bool closed = node->closed;
    pthread_mutex_unlock(&node->lock);
    if (closed)
        return AL_ESTATE;
    al__env *e = env_new(node, false);
    if (!e)
        return AL_ENOMEM;
    e->kind = ENV_POST;
    e->cb.post = fn;
    e->ud = ud;
    inbox_push(node, e);
    return 0;
}

void al__node_stop_actors(al_node *n)
{
    al_actor *a = n->actors;
    while (a) {
        al_actor *next = a->next;
        al_actor_stop(a);
        a = next;
    }
}

/* ------------------------------------------------------------ public */

int al_spawn(al_node *node, const al_actor_class *cls, void *state,
             const al_spawn_opts *opts, al_actor **out)
{
    if (out)
        *out = NULL;
    if (!node || !cls)
        return AL_EINVAL;
    al_actor *a = calloc(1, sizeof(*a));
    if (!a)
        goto fail;
    a->node = node;
    a->cls = cls;
    a->state = state;
    a->capacity = opts ? opts->mailbox_capacity : 0;
    a->seq = atomic_fetch_add(&node->next_seq, 1);
    atomic_init(&a->status, ST_NEW);
    /* One reference for the node, one for the caller (when wanted). */
    atomic_init(&a->refs, out ? 2 : 1);
    if (al_node_on_loop(node)) {
        start_actor(a);
    } else {
        al__env *e = env_new(node, false);
        if (!e)
            goto fail;
        e->kind = ENV_SPAWN;
        e->to = a;
        inbox_push(node, e);
    }
    if (out)
        *out = a;
    return 0;
fail:
    free(a);
    if (cls->free_state)
        cls->free_state(state);
    return AL_ENOMEM;
}

al_actor *al_actor_retain(al_actor *a)
{
    atomic_fetch_add_explicit(&a->refs, 1, memory_order_relaxed);
    return a;
}

void al_actor_release(al_actor *a)
{
    if (!a)
        return;
    if (atomic_fetch_sub_explicit(&a->refs, 1, memory_order_acq_rel) == 1)
        free(a);
}

uint64_t al_actor_seq(const al_actor *a)
{
    return a->seq;
}

al_node *al_actor_node(const al_actor *a)
{
    return a->node;
}

bool al_actor_is_alive(const al_actor *a)
{
    return atomic_load(&a->status) != ST_DEAD;
}

const al_actor_class *al__actor_class(const al_actor *a)
{
    return a->cls;
}

al_actor *al__actor_find(al_node *node, uint64_t seq)
{
    for (al_actor *a = node->actors; a; a = a->next)
        if (a->seq == seq)
            return a;
    return NULL;
}

void al__actor_watch(al_actor *a, al__death_watch *w)
{
    w->next = a->watches;
    a->watches = w;
}

void al__actor_unwatch(al_actor *a, al__death_watch *w)
{
    for (al__death_watch **p = &a->watches; *p; p = &(*p)->next)
        if (*p == w) {
            *p = w->next;
            return;
        }
}

static uint64_t relative(int64_t ms)
{
    return ms < 0 ? NO_DEADLINE : (uint64_t)ms;
}

static int send_env(al_actor *to, const al_message *m, void *msg,
                    const al_send_opts *o, int kind, void *cb, void *ud)
{
    if (!to || !m || !m->handle || (m->size && !msg))
        return AL_EINVAL;
    al_node *n = to->node;
    bool on_loop = al_node_on_loop(n);
    al__env *e = env_new(n, on_loop);
    if (!e || env_copy_msg(e, m, msg)) {
        if (e && on_loop)
            env_recycle(e);
        else
            free(e);
        if (m->drop && msg)
            m->drop(msg);
        return AL_ENOMEM;
    }
    e->kind = (uint8_t)kind;
    e->to = to;
    e->ud = ud;
    if (kind == ENV_ASK)
        e->cb.reply = (al_reply_cb)cb;
    else
        e->cb.done = (al_done_cb)cb;
    if (o) {
        e->immediate = o->immediate;
        e->mailbox_deadline = relative(o->mailbox_timeout_ms);
        if (kind == ENV_ASK)
            e->reply_deadline = relative(o->reply_timeout_ms);
    }
    if (on_loop) {
        deliver(to, e);
    } else {
        e->holds_ref = true;
        al_actor_retain(to);
        inbox_push(n, e);
    }
    return 0;
}

int al_tell(al_actor *to, const al_message *m, void *msg,
            const al_send_opts *opts, al_done_cb done, void *ud)
{
    return send_env(to, m, msg, opts, ENV_TELL, (void *)done, ud);
}

int al_ask(al_actor *to, const al_message *m, void *msg,
           const al_send_opts *opts, al_reply_cb cb, void *ud)
{
    if (!cb)
        return AL_EINVAL;
    return send_env(to, m, msg, opts, ENV_ASK, (void *)cb, ud);
}

void al_actor_stop(al_actor *a)
{
    if (!al_node_on_loop(a->node)) {
        al__env *e = env_new(a->node, false);
        if (!e)
            return;
        e->kind = ENV_RELEASE_STOP;
        e->to = al_actor_retain(a);
        e->holds_ref = true;
        inbox_push(a->node, e);
        return;
    }
    if (a->status == ST_DEAD || a->stop_queued)
        return;
    al__env *e = sys_env(a, ENV_STOP);
    if (!e) {
        stop_now(a, AL_STOP_NORMAL);
        return;
    }
    a->stop_queued = true;
    e->to = a;
    enqueue(a, e);
}

void al_actor_kill(al_actor *a)
{
    if (!al_node_on_loop(a->node)) {
        al__env *e = env_new(a->node, false);
        if (!e)
            return;
        e->kind = ENV_KILL;
        e->to = al_actor_retain(a);
        e->holds_ref = true;
        inbox_push(a->node, e);
        return;
    }
    stop_now(a, AL_STOP_KILLED);
}

static int post_link(al_actor *a, al_actor *b, int kind)
{
    al__env *e = env_new(a->node, false);
    if (!e)
        return AL_ENOMEM;
    e->kind = (uint8_t)kind;
    e->to = al_actor_retain(a);
    e->holds_ref = true;
    e->aux = al_actor_retain(b);
    return post_env(a->node, e);
}

int al_actor_link(al_actor *a, al_actor *b)
{
    if (!a || !b || a == b || a->node != b->node)
        return AL_EINVAL;
    if (!al_node_on_loop(a->node))
        return post_link(a, b, ENV_LINK);
    if (a->status == ST_DEAD || b->status == ST_DEAD)
        return AL_E_ACTOR_NOT_RUNNING;
    if (links_add(&a->links, b))
        return AL_ENOMEM;
    if (links_add(&b->links, a)) {
        links_remove(&a->links, b);
        return AL_ENOMEM;
    }
    /* Each side's link set holds a reference on the other. */
    al_actor_retain(a);
    al_actor_retain(b);
    return 0;
}

int al_actor_unlink(al_actor *a, al_actor *b)
{
    if (!a || !b || a->node != b->node)
        return AL_EINVAL;
    if (!al_node_on_loop(a->node))
        return post_link(a, b, ENV_UNLINK);
    uint32_t before = a->links.len;
    links_remove(&a->links, b);
    if (a->links.len == before)
        return 0;
    links_remove(&b->links, a);
    al_actor_release(a);
    al_actor_release(b);
    return 0;
}

/* ------------------------------------------------------------ handlers */

al_actor *al_ctx_self(al_ctx *ctx)
{
    return ctx->self;
}

bool al_ctx_is_ask(const al_ctx *ctx)
{
    return ctx->env->kind == ENV_ASK;
}

int al_ctx_reply(al_ctx *ctx, const void *value, size_t len)
{
    if (ctx->env->kind != ENV_ASK || ctx->deferred)
        return AL_ESTATE;
    answer(ctx->env, 0, value, len, NULL);
    return 0;
}

int al_ctx_reply_error(al_ctx *ctx, const void *error, size_t len)
{
    if (ctx->env->kind != ENV_ASK || ctx->deferred)
        return AL_ESTATE;
    answer(ctx->env, AL_E_HANDLER_ERROR, error, len, NULL);
    return 0;
}

al_deferred *al_ctx_defer(al_ctx *ctx)
{
    if (ctx->env->kind != ENV_ASK || ctx->deferred || ctx->env->replied)
        return NULL;
    ctx->deferred = true;
    return (al_deferred *)ctx->env;
}

static int deferred_answer(al_deferred *d, int status, const void *value,
                           size_t len)
{
    al__env *ask = (al__env *)d;
    if (!ask || ask->where != W_DEFERRED)
        return AL_EINVAL;
    al_node *n = ask->node;
    if (al_node_on_loop(n)) {
        answer(ask, status, value, len, NULL);
        env_recycle(ask);
        return 0;
    }
    al__env *e = env_new(n, false);
    if (!e)
        return AL_ENOMEM;
    e->kind = ENV_DEFERRED;
    e->aux = ask;
    e->status = status;
    e->len = len;
    if (len) {
        e->msg = malloc(len);
        if (!e->msg) {
            free(e);
            return AL_ENOMEM;
        }
        e->heap_msg = true;
        memcpy(e->msg, value, len);
    }
    inbox_push(n, e);
    return 0;
}

int al_deferred_reply(al_deferred *d, const void *value, size_t len)
{
    return deferred_answer(d, 0, value, len);
}

int al_deferred_error(al_deferred *d, const void *error, size_t len)
{
    return deferred_answer(d, AL_E_HANDLER_ERROR, error, len);
}

/* ------------------------------------------------------------ blocking */

typedef struct sync_wait {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done;
    int status;
    void *buf;
    size_t cap;
    size_t len;
} sync_wait;

static void sync_init(sync_wait *w, void *buf, size_t cap)
{
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    w->done = false;
    w->status = 0;
    w->buf = buf;
    w->cap = cap;
    w->len = 0;
}

static int sync_wait_done(sync_wait *w)
{
    pthread_mutex_lock(&w->lock);
    while (!w->done)
        pthread_cond_wait(&w->cond, &w->lock);
    pthread_mutex_unlock(&w->lock);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
    return w->status;
}

static void sync_finish(sync_wait *w, int status)
{
    pthread_mutex_lock(&w->lock);
    w->status = status;
    w->done = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

static void sync_reply(const al_reply *r, void *ud)
{
    sync_wait *w = ud;
    w->len = r->len;
    if (r->data && w->buf)
        memcpy(w->buf, r->data, r->len < w->cap ? r->len : w->cap);
    sync_finish(w, r->status);
}

static void sync_done(int status, void *ud)
{
    sync_finish(ud, status);
}

int al_ask_sync(al_actor *to, const al_message *m, void *msg,
                const al_send_opts *opts, void *reply_buf, size_t cap,
                size_t *reply_len)
{
    if (!to || al_node_on_loop(to->node))
        return AL_ESTATE;
    sync_wait w;
    sync_init(&w, reply_buf, cap);
    int rc = al_ask(to, m, msg, opts, sync_reply, &w);
    if (rc)
        return rc;
    rc = sync_wait_done(&w);
    if (reply_len)
        *reply_len = w.len;
    return rc;
}

int al_tell_sync(al_actor *to, const al_message *m, void *msg,
                 const al_send_opts *opts)
{
    if (!to || al_node_on_loop(to->node))
        return AL_ESTATE;
    sync_wait w;
    sync_init(&w, NULL, 0);
    int rc = al_tell(to, m, msg, opts, sync_done, &w);
    if (rc)
        return rc;
    return sync_wait_done(&w);
}

int al_actor_wait(al_actor *a)
{
    al_node *n = a->node;
    if (al_node_on_loop(n))
        return AL_ESTATE;
    pthread_mutex_lock(&n->lock);
    while (atomic_load(&a->status) != ST_DEAD)
        pthread_cond_wait(&n->cond, &n->lock);
    pthread_mutex_unlock(&n->lock);
    return a->stop_reason;
}
