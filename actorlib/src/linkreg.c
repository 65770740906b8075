/* Kameo's REMOTE_MESSAGES / REMOTE_ACTORS slices, in C.
 *
 * Entries are placed by the macros into the sections "al_remote_messages"
 * and "al_remote_actors". Because the section names are valid C
 * identifiers, the linker defines __start_<name> and __stop_<name> around
 * each; the weak declarations keep a program without entries linkable. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "linkreg.h"

extern const al_remote_message_entry __start_al_remote_messages[]
    __attribute__((weak));
extern const al_remote_message_entry __stop_al_remote_messages[]
    __attribute__((weak));
extern const al_remote_actor_entry __start_al_remote_actors[]
    __attribute__((weak));
extern const al_remote_actor_entry __stop_al_remote_actors[]
    __attribute__((weak));

static pthread_once_t once = PTHREAD_ONCE_INIT;
static al_error init_err;
static const al_remote_message_entry **msg_table;
static size_t msg_mask;
static size_t msg_count;
static const al_remote_actor_entry **actor_table;
static size_t actor_mask;

/* FNV-1a: short keys, no adversary (the keys are compiled in). */
static uint64_t hash_str(uint64_t h, const char *s)
{
    for (; *s; s++) {
        h ^= (uint8_t)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

static uint64_t hash_pair(const char *actor, const char *msg)
{
    uint64_t h = hash_str(0xcbf29ce484222325ULL, actor);
    h ^= 0xff; /* separator so ("ab","c") and ("a","bc") differ */
    h *= 0x100000001b3ULL;
    return hash_str(h, msg);
}

static size_t table_size(size_t n)
{
    size_t size = 8;
    while (size < n * 2)
        size *= 2;
    return size;
}

static int check_message(const al_remote_message_entry *e)
{
    if (!e->cls || !e->cls->remote_id || !e->msg || !e->message_remote_id)
        return al_error_set(&init_err, AL_EINVAL,
                            "%s:%d: remote message entry needs an actor "
                            "class with a remote_id, a message and an id",
                            e->file, e->line);
    if (!e->msg->handle || !e->msg->decode)
        return al_error_set(&init_err, AL_EINVAL,
                            "%s:%d: remote message %s needs handle and "
                            "decode functions",
                            e->file, e->line, e->message_remote_id);
    return 0;
}

static int insert_message(const al_remote_message_entry *e)
{
    size_t i = hash_pair(e->cls->remote_id, e->message_remote_id) & msg_mask;
    for (;; i = (i + 1) & msg_mask) {
        const al_remote_message_entry *o = msg_table[i];
        if (!o) {
            msg_table[i] = e;
            return 0;
        }
        if (strcmp(o->cls->remote_id, e->cls->remote_id) == 0 &&
            strcmp(o->message_remote_id, e->message_remote_id) == 0)
            return al_error_set(&init_err, AL_EDUPLICATE,
                                "duplicate remote message (%s, %s) "
                                "registered at %s:%d and at %s:%d",
                                e->cls->remote_id, e->message_remote_id,
                                o->file, o->line, e->file, e->line);
    }
}

static int insert_actor(const al_remote_actor_entry *e)
{
    if (!e->cls || !e->cls->remote_id)
        return al_error_set(&init_err, AL_EINVAL,
                            "%s:%d: remote actor entry needs a class with a "
                            "remote_id",
                            e->file, e->line);
    size_t i = hash_str(0xcbf29ce484222325ULL, e->cls->remote_id) & actor_mask;
    for (;; i = (i + 1) & actor_mask) {
        const al_remote_actor_entry *o = actor_table[i];
        if (!o) {
            actor_table[i] = e;
            return 0;
        }
        if (strcmp(o->cls->remote_id, e->cls->remote_id) == 0)
            return al_error_set(&init_err, AL_EDUPLICATE,
                                "duplicate remote actor %s registered at "
                                "%s:%d and at %s:%d",
                                e->cls->remote_id, o->file, o->line, e->file,
                                e->line);
    }
}

static void build(void)
{
    const al_remote_message_entry *m0 = __start_al_remote_messages;
    const al_remote_message_entry *m1 = __stop_al_remote_messages;
    const al_remote_actor_entry *a0 = __start_al_remote_actors;
    const al_remote_actor_entry *a1 = __stop_al_remote_actors;
    size_t nm = m0 && m1 ? (size_t)(m1 - m0) : 0;
    size_t na = a0 && a1 ? (size_t)(a1 - a0) : 0;

    msg_mask = table_size(nm) - 1;
    actor_mask = table_size(na) - 1;
    msg_table = calloc(msg_mask + 1, sizeof(*msg_table));
    actor_table = calloc(actor_mask + 1, sizeof(*actor_table));
    if (!msg_table || !actor_table) {
        al_error_set(&init_err, AL_ENOMEM, "registry: out of memory");
        return;
    }
    for (size_t i = 0; i < na; i++)
        if (insert_actor(&a0[i]))
            return;
    for (size_t i = 0; i < nm; i++) {
        if (check_message(&m0[i]) || insert_message(&m0[i]))
            return;
        msg_count++;
    }
}

int al__registry_init(al_error *err)
{
    pthread_once(&once, build);
    if (init_err.code && err)
        *err = init_err;
    return init_err.code;
}

size_t al__registry_count(void)
{
    return msg_count;
}

const al_remote_message_entry *al_registry_find(const char *actor_remote_id,
                                                const char *message_remote_id)
{
    if (al__registry_init(NULL) || !actor_remote_id || !message_remote_id)
        return NULL;
    size_t i = hash_pair(actor_remote_id, message_remote_id) & msg_mask;
    for (;; i = (i + 1) & msg_mask) {
        const al_remote_message_entry *e = msg_table[i];
        if (!e)
            return NULL;
        if (strcmp(e->cls->remote_id, actor_remote_id) == 0 &&
            strcmp(e->message_remote_id, message_remote_id) == 0)
            return e;
    }
}

const al_remote_actor_entry *al_registry_find_actor(const char *remote_id)
{
    if (al__registry_init(NULL) || !remote_id)
        return NULL;
    size_t i = hash_str(0xcbf29ce484222325ULL, remote_id) & actor_mask;
    for (;; i = (i + 1) & actor_mask) {
        const al_remote_actor_entry *e = actor_table[i];
        if (!e)
            return NULL;
        if (strcmp(e->cls->remote_id, remote_id) == 0)
            return e;
    }
}
