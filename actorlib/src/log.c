/* Process-wide logging hook. Library code never prints directly. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actorlib.h"

static const char *level_names[] = {"error", "warn", "info", "debug"};

static void default_log(int level, const char *msg, void *ud)
{
    (void)ud;
    fprintf(stderr, "%s: %s\n", level_names[level], msg);
}

static al_log_fn log_fn = default_log;
static void *log_ud;
static int log_max = -1; /* -1: not yet read from the environment */

static int env_level(void)
{
    const char *e = getenv("AL_LOG");
    if (e)
        for (int i = 0; i < 4; i++)
            if (strcmp(e, level_names[i]) == 0)
                return i;
    return AL_LOG_WARN;
}

void al_log_set(al_log_fn fn, int max_level, void *ud)
{
    log_fn = fn ? fn : default_log;
    log_max = max_level;
    log_ud = ud;
}

void al_log(int level, const char *fmt, ...)
{
    if (log_max < 0)
        log_max = env_level();
    if (level > log_max || level < 0)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_fn(level, msg, log_ud);
}
