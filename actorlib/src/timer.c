/* A min-heap of deadlines behind one uv_timer_t. */
#include <stdlib.h>

#include "actorlib.h"
#include "timer.h"

static void swap(al__timers *ts, size_t a, size_t b)
{
    al__timer *t = ts->heap[a];
    ts->heap[a] = ts->heap[b];
    ts->heap[b] = t;
    ts->heap[a]->index = a + 1;
    ts->heap[b]->index = b + 1;
}

static void sift_up(al__timers *ts, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (ts->heap[p]->deadline <= ts->heap[i]->deadline)
            break;
        swap(ts, i, p);
        i = p;
    }
}

static void sift_down(al__timers *ts, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < ts->len && ts->heap[l]->deadline < ts->heap[m]->deadline)
            m = l;
        if (r < ts->len && ts->heap[r]->deadline < ts->heap[m]->deadline)
            m = r;
        if (m == i)
            return;
        swap(ts, i, m);
        i = m;
    }
}

static void rearm(al__timers *ts);

static void on_tick(uv_timer_t *h)
{
    al__timers *ts = h->data;
    uint64_t now = uv_now(h->loop);
    /* A callback may arm or stop timers, so re-read the top every turn. */
    while (ts->len > 0 && ts->heap[0]->deadline <= now) {
        al__timer *t = ts->heap[0];
        al__timer_stop(ts, t);
        t->cb(t);
    }
    rearm(ts);
}

static void rearm(al__timers *ts)
{
    if (ts->len == 0) {
        uv_timer_stop(&ts->handle);
        return;
    }
    uint64_t now = uv_now(ts->handle.loop);
    uint64_t d = ts->heap[0]->deadline;
    uv_timer_start(&ts->handle, on_tick, d > now ? d - now : 0, 0);
}

int al__timers_init(al__timers *ts, uv_loop_t *loop)
{
    ts->heap = NULL;
    ts->len = ts->cap = 0;
    ts->handle.data = ts;
    return uv_timer_init(loop, &ts->handle) ? AL_EIO : 0;
}

void al__timers_close(al__timers *ts)
{
    for (size_t i = 0; i < ts->len; i++)
        ts->heap[i]->index = 0;
    ts->len = 0;
    free(ts->heap);
    ts->heap = NULL;
    ts->cap = 0;
    uv_close((uv_handle_t *)&ts->handle, NULL);
}

int al__timer_start(al__timers *ts, al__timer *t, uint64_t deadline,
                    al__timer_cb cb)
{
    if (t->index)
        al__timer_stop(ts, t);
    if (ts->len == ts->cap) {
        size_t cap = ts->cap ? ts->cap * 2 : 64;
        al__timer **h = realloc(ts->heap, cap * sizeof(*h));
        if (!h)
            return AL_ENOMEM;
        ts->heap = h;
        ts->cap = cap;
    }
    t->deadline = deadline;
    t->cb = cb;
    ts->heap[ts->len] = t;
    t->index = ++ts->len;
    sift_up(ts, ts->len - 1);
    if (ts->heap[0] == t)
        rearm(ts);
    return 0;
}

void al__timer_stop(al__timers *ts, al__timer *t)
{
    if (!t->index)
        return;
    size_t i = t->index - 1;
    size_t last = ts->len - 1;
    t->index = 0;
    if (i != last) {
        ts->heap[i] = ts->heap[last];
        ts->heap[i]->index = i + 1;
        ts->len--;
        sift_down(ts, i);
        sift_up(ts, i);
    } else {
        ts->len--;
    }
    /* The handle is re-armed lazily: an early tick just finds nothing due. */
}
