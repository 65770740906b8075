/* The seed's guest: joins the swarm through a bootstrap peer, looks up the
 * counter by name, asks it to count, then tells it to log.
 *
 *   counter-client --bootstrap MULTIADDR [--name NAME] [--amount N]
 *                  [--times K]
 *
 * Defaults: --name my_actor, --amount 10, --times 1 (ACTORGATE_BOOTSTRAP
 * and ACTORGATE_NAME are read when the flags are absent). Prints
 * "Incremented count: <n>" per ask; on any error prints it and exits 1. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "counter.h"

#define MAX_BOOT 16

typedef struct app {
    al_node *node;
    const char *name;
    const char *boot[MAX_BOOT];
    int nboot;
    uint32_t amount;
    long times, done;
    al_remote_ref *ref;
    al_buf payload;
    int exit_code;
} app;

static void usage(void)
{
    fprintf(stderr, "usage: counter-client --bootstrap MULTIADDR "
                    "[--name NAME] [--amount N] [--times K]\n");
    exit(2);
}

static void finish(app *a, int code)
{
    a->exit_code = code;
    if (a->ref) {
        al_remote_ref_free(a->ref);
        a->ref = NULL;
    }
    al_node_stop(a->node);
}

static void fail(app *a, const char *what, int rc, const char *detail)
{
    fprintf(stderr, "counter-client: %s: %s%s%s\n", what, al_strerror(rc),
            detail && *detail ? ": " : "", detail ? detail : "");
    finish(a, 1);
}

static void told(int status, void *ud)
{
    app *a = ud;
    if (status) {
        fail(a, "tell LogMessage", status, NULL);
        return;
    }
    finish(a, 0);
}

static void tell_log(app *a)
{
    counter_log msg = {.text = "Logging event"};
    al_buf b = {0};
    int rc = al_mp_encode_struct(&counter_log_mp, &msg, &b);
    if (rc == 0)
        rc = al_remote_tell(a->ref, COUNTER_LOG_ID, b.data, b.len, NULL, told,
                            a);
    al_buf_free(&b);
    if (rc)
        fail(a, "tell LogMessage", rc, NULL);
}

static void ask_inc(app *a);

static void incremented(const al_reply *rep, void *ud)
{
    app *a = ud;
    int64_t count;
    al_error err = {0};
    if (rep->status) {
        fail(a, "ask Inc", rep->status, rep->detail);
        return;
    }
    int rc = al_mp_decode_i64(rep->data, rep->len, &count, &err);
    if (rc) {
        fail(a, "ask Inc: reply", rc, err.msg);
        return;
    }
    printf("Incremented count: %lld\n", (long long)count);
    fflush(stdout);
    if (++a->done < a->times)
        ask_inc(a);
    else
        tell_log(a);
}

static void ask_inc(app *a)
{
    int rc = al_remote_ask(a->ref, COUNTER_INC_ID, a->payload.data,
                           a->payload.len, NULL, incremented, a);
    if (rc)
        fail(a, "ask Inc", rc, NULL);
}

static void found(int status, al_remote_ref *ref, void *ud)
{
    app *a = ud;
    char what[300];
    snprintf(what, sizeof(what), "lookup %s", a->name);
    if (status) {
        fail(a, what, status, NULL);
        return;
    }
    a->ref = ref;
    counter_amount inc = {a->amount};
    int rc = al_mp_encode_struct(&counter_amount_mp, &inc, &a->payload);
    if (rc) {
        fail(a, "encode Inc", rc, NULL);
        return;
    }
    if (a->times <= 0)
        tell_log(a);
    else
        ask_inc(a);
}

static void lookup(app *a)
{
    int rc = al_remote_lookup(a->node, a->name, COUNTER_REMOTE_ID, found, a);
    if (rc)
        fail(a, "lookup", rc, a->name);
}

static void joined(int status, void *ud)
{
    app *a = ud;
    if (status) {
        fail(a, "bootstrap", status, "no bootstrap peer reached");
        return;
    }
    lookup(a);
}

static void start(void *ud)
{
    app *a = ud;
    al_error err = {0};
    int rc = al_swarm_bootstrap(a->node, NULL, NULL, &err);
    if (rc) {
        fail(a, "bootstrap", rc, err.msg);
        return;
    }
    rc = al_swarm_join(a->node, a->boot, (size_t)a->nboot, joined, a);
    if (rc)
        fail(a, "bootstrap", rc, NULL);
}

int main(int argc, char **argv)
{
    app a = {.name = "my_actor", .amount = 10, .times = 1};
    char *env_boot = NULL;
    if (getenv("ACTORGATE_NAME") && *getenv("ACTORGATE_NAME"))
        a.name = getenv("ACTORGATE_NAME");
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            usage();
        if (strcmp(argv[i], "--bootstrap") == 0 && a.nboot < MAX_BOOT)
            a.boot[a.nboot++] = v;
        else if (strcmp(argv[i], "--name") == 0)
            a.name = v;
        else if (strcmp(argv[i], "--amount") == 0)
            a.amount = cli_u32("counter-client", "--amount", v, 0, UINT32_MAX);
        else if (strcmp(argv[i], "--times") == 0)
            a.times = cli_u32("counter-client", "--times", v, 0, 1000000000);
        else
            usage();
        i++;
    }
    if (a.nboot == 0 && getenv("ACTORGATE_BOOTSTRAP")) {
        env_boot = strdup(getenv("ACTORGATE_BOOTSTRAP"));
        char *save = NULL;
        for (char *t = env_boot ? strtok_r(env_boot, ", ", &save) : NULL;
             t && a.nboot < MAX_BOOT; t = strtok_r(NULL, ", ", &save))
            a.boot[a.nboot++] = t;
    }
    if (a.nboot == 0)
        usage();
    signal(SIGPIPE, SIG_IGN);

    al_error err = {0};
    if (al_node_new(&a.node, NULL, &err)) {
        fprintf(stderr, "counter-client: %s\n", err.msg);
        return 1;
    }
    al_node_post(a.node, start, &a);
    al_node_run(a.node);
    al_node_free(a.node);
    al_buf_free(&a.payload);
    free(env_boot);
    return a.exit_code;
}
