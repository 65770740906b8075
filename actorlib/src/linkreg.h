/* The link-time registry: AL_REMOTE_ACTOR / AL_REMOTE_MESSAGE entries
 * gathered by the linker into two ELF sections, indexed at startup. */
#ifndef AL_LINKREG_H
#define AL_LINKREG_H

#include "actorlib.h"

/* Builds the hash tables once per process; later calls return the first
 * outcome (a duplicate entry keeps failing with the same message). */
int al__registry_init(al_error *err);
/* How many message entries were found (for logs and tests). */
size_t al__registry_count(void);

#endif
