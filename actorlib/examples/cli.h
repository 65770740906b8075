/* Shared by the example programs. Number arguments: a whole decimal number in a
 * range, or a message naming the flag and exit status 2 (a typo such as
 * `--amount 1O` must not quietly become 1). */
#ifndef EXAMPLES_CLI_H
#define EXAMPLES_CLI_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "actorlib.h"

static inline uint32_t cli_u32(const char *prog, const char *flag,
                               const char *text, uint32_t min, uint32_t max)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = text && *text != '-' ? strtoull(text, &end, 10) : 0;
    if (!text || !*text || *text == '-' || *end || errno || v < min ||
        v > max) {
        fprintf(stderr,
                "%s: %s wants a whole number from %lu to %lu, not '%s'\n", prog,
                flag, (unsigned long)min, (unsigned long)max, text ? text : "");
        exit(2);
    }
    return (uint32_t)v;
}

/* The lines tests and operators wait for: PEER_ID <id>, then one
 * LISTEN <multiaddr with /p2p/> per address. */
static inline void cli_print_listening(al_node *node)
{
    al_peer_id me;
    char id[AL_PEER_ID_STRLEN];
    al_swarm_local_peer_id(node, &me);
    al_peer_id_format(&me, id, sizeof(id));
    printf("PEER_ID %s\n", id);
    char *addrs[32];
    size_t n = al_swarm_listen_addrs(node, addrs, 32);
    for (size_t i = 0; i < n; i++) {
        printf("LISTEN %s\n", addrs[i]);
        free(addrs[i]);
    }
    fflush(stdout);
}

#endif
