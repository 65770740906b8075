/* MessagePack helpers shared inside actorlib (the public struct codec is in
 * actorlib.h). */
#ifndef AL_MP_H
#define AL_MP_H

#include <msgpack.h>

#include "actorlib.h"

/* Payloads larger than this are refused before decoding; /kameo/1 requests
 * are capped at 1 MiB anyway. */
#define AL__MP_MAX_INPUT (16u << 20)

/* A packer appending to out. Write errors (out of memory) stick in *failed. */
typedef struct al__mp_out {
    al_buf *buf;
    int failed;
} al__mp_out;

void al__mp_packer_init(msgpack_packer *pk, al__mp_out *out);

#endif
