/*
 * Temporary directories for tests that need real files, and a log catcher.
 * Header-only: each test binary is one translation unit.
 */
#ifndef TEST_TMPDIR_H
#define TEST_TMPDIR_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actorlib.h"

/* Creates a fresh directory under $TMPDIR (or /tmp) into dir[cap]. */
static inline int tmpdir_make(char *dir, size_t cap)
{
    const char *base = getenv("TMPDIR");
    if (!base || !base[0])
        base = "/tmp";
    if (snprintf(dir, cap, "%s/actorgate-test-XXXXXX", base) >= (int)cap)
        return -1;
    return mkdtemp(dir) ? 0 : -1;
}

/* Removes the directory and the files in it (tests make no subfolders). */
static inline void tmpdir_remove(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            char p[4096];
            snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* Collects warnings and errors, for tests that check that something was
 * logged: install with al_log_set(log_catch_fn, AL_LOG_WARN, &catch). */
struct log_catch {
    int count;
    size_t len;
    char text[16384]; /* lines joined with \n, the first that fit */
};

static inline void log_catch_fn(int level, const char *msg, void *ud)
{
    struct log_catch *c = ud;
    if (level > AL_LOG_WARN)
        return;
    c->count++;
    int n = snprintf(c->text + c->len, sizeof(c->text) - c->len, "%s\n", msg);
    if (n > 0 && (size_t)n < sizeof(c->text) - c->len)
        c->len += (size_t)n;
}

static inline void log_catch_reset(struct log_catch *c)
{
    c->count = 0;
    c->len = 0;
    c->text[0] = '\0';
}

#endif
