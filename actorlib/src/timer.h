/* Deadlines on a node's loop: a binary min-heap of al__timer driven by one
 * uv_timer_t, so that a million pending asks with timeouts cost one libuv
 * handle. Loop thread only. */
#ifndef AL_TIMER_H
#define AL_TIMER_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

typedef struct al__timer al__timer;
typedef void (*al__timer_cb)(al__timer *t);

/* Embedded in its owner; zero-initialised means "not armed". */
struct al__timer {
    uint64_t deadline; /* uv_now() milliseconds */
    size_t index;      /* position in the heap + 1; 0 = not armed */
    al__timer_cb cb;
};

typedef struct al__timers {
    uv_timer_t handle;
    al__timer **heap;
    size_t len, cap;
} al__timers;

int al__timers_init(al__timers *ts, uv_loop_t *loop);
/* Closes the handle; timers still armed are dropped without callbacks. */
void al__timers_close(al__timers *ts);
/* Arms (or re-arms) t to fire at deadline (loop milliseconds). */
int al__timer_start(al__timers *ts, al__timer *t, uint64_t deadline,
                    al__timer_cb cb);
void al__timer_stop(al__timers *ts, al__timer *t);
static inline int al__timer_armed(const al__timer *t)
{
    return t->index != 0;
}

#endif
