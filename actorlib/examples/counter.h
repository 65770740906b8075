/* The seed's example actor, remote::MyActor: a counter.
 *
 * Messages (ids are Kameo #[remote_message] UUIDs; payloads MessagePack in
 * rmp_serde's named form):
 *   Inc { amount: u32 }         -> i64 new count
 *   Dec { amount: u32 }         -> i64 new count
 *   TryDec { amount: u32 }      -> i64, or handler error
 *                                  CounterError::Underflow { count, amount }
 *   Sleep { ms: u32 }           -> u32, replied after ms (deferred reply)
 *   LogMessage { text: String } (tell) logged at info level */
#ifndef COUNTER_H
#define COUNTER_H

#include "actorlib.h"

#define COUNTER_REMOTE_ID "remote::MyActor"
#define COUNTER_INC_ID    "3b9128f1-0593-44a0-b83a-f4188baa05bf"
#define COUNTER_DEC_ID    "20185b42-8645-47d2-8d65-2d1c68d26823"
#define COUNTER_TRYDEC_ID "9c4e2a71-8b3d-4f6a-a1e5-3d7b9c2f8e14"
#define COUNTER_SLEEP_ID  "c7a9e3b2-5d41-4e8f-b6a0-2f9d8c1e7a53"
#define COUNTER_LOG_ID    "0dceb24a-837b-4ea2-91ea-1729acaf410b"

typedef struct counter_amount {
    uint32_t amount;
} counter_amount;

typedef struct counter_sleep {
    uint32_t ms;
} counter_sleep;

typedef struct counter_log {
    char *text; /* owned by the message */
} counter_log;

typedef struct counter_underflow {
    int64_t count;
    uint32_t amount;
} counter_underflow;

extern const al_actor_class counter_class;
extern const al_message counter_inc, counter_dec, counter_trydec,
    counter_sleep_msg, counter_log_msg;
extern const al_mp_struct counter_amount_mp, counter_sleep_mp, counter_log_mp,
    counter_underflow_mp;

/* Spawns a counter starting at 0; *out as al_spawn. */
int counter_spawn(al_node *node, uint32_t mailbox_capacity, al_actor **out);
/* How many LogMessage tells the process has handled (for tests). */
uint64_t counter_logs_seen(void);

#endif
