/* The seed's host: a node that listens, spawns remote::MyActor and
 * registers it under a name in the swarm's Kademlia.
 *
 *   counter-node [--listen MULTIADDR] [--key FILE] [--bootstrap MULTIADDR]...
 *                [--name NAME] [--mailbox N]
 *
 * Defaults: --listen /ip4/0.0.0.0/udp/8020/quic-v1, a random key, no
 * bootstrap peers, --name my_actor, an unbounded mailbox. Environment
 * fallbacks: ACTORGATE_LISTEN, ACTORGATE_KEY, ACTORGATE_BOOTSTRAP
 * (comma-separated), ACTORGATE_NAME, ACTORGATE_MAILBOX.
 *
 * Once the name is registered it prints "PEER_ID <id>" and one
 * "LISTEN <multiaddr>/p2p/<id>" line per address, then serves until
 * SIGTERM or SIGINT, when it stops gracefully and exits 0. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "counter.h"

#define MAX_BOOT 16

typedef struct app {
    al_node *node;
    const char *listen, *key, *name;
    uint32_t mailbox;
    char *boot[MAX_BOOT];
    int nboot;
    al_actor *actor;
    uv_signal_t sigterm, sigint;
    bool signals_open;
    int exit_code;
} app;

static void usage(void)
{
    fprintf(stderr, "usage: counter-node [--listen MULTIADDR] [--key FILE] "
                    "[--bootstrap MULTIADDR]... [--name NAME] "
                    "[--mailbox N]\n");
    exit(2);
}

static void stop(app *a, int code)
{
    if (code)
        a->exit_code = code;
    if (a->signals_open) {
        a->signals_open = false;
        uv_close((uv_handle_t *)&a->sigterm, NULL);
        uv_close((uv_handle_t *)&a->sigint, NULL);
    }
    al_node_stop(a->node);
}

static void fail(app *a, const char *what, int rc, const char *detail)
{
    fprintf(stderr, "counter-node: %s: %s%s%s\n", what, al_strerror(rc),
            detail && *detail ? ": " : "", detail ? detail : "");
    stop(a, 1);
}

static void on_signal(uv_signal_t *h, int signum)
{
    (void)signum;
    stop(h->data, 0);
}

static void registered(int status, void *ud)
{
    app *a = ud;
    if (status) {
        fail(a, "register", status, a->name);
        return;
    }
    cli_print_listening(a->node);
}

static void register_actor(app *a)
{
    int rc = al_actor_register(a->actor, a->name, registered, a);
    if (rc)
        fail(a, "register", rc, a->name);
}

static void joined(int status, void *ud)
{
    /* No bootstrap peer reachable is no reason to stop serving: the name
     * is stored locally at least, as Kameo does without peers, and peers
     * that dial this node later find it. */
    if (status)
        fprintf(stderr, "counter-node: join: %s\n", al_strerror(status));
    register_actor(ud);
}

static void start(void *ud)
{
    app *a = ud;
    al_error err = {0};
    uv_loop_t *loop = al_node_loop(a->node);
    uv_signal_init(loop, &a->sigterm);
    uv_signal_init(loop, &a->sigint);
    a->sigterm.data = a->sigint.data = a;
    uv_signal_start(&a->sigterm, on_signal, SIGTERM);
    uv_signal_start(&a->sigint, on_signal, SIGINT);
    a->signals_open = true;

    al_identity *id = NULL;
    int rc = a->key ? al_identity_load_or_create(&id, a->key, &err) : 0;
    if (rc) {
        fail(a, "key", rc, err.msg);
        return;
    }
    rc = al_swarm_bootstrap(a->node, id, NULL, &err);
    if (rc) {
        fail(a, "bootstrap", rc, err.msg);
        return;
    }
    rc = al_swarm_listen_on(a->node, a->listen, &err);
    if (rc) {
        fail(a, "listen", rc, err.msg);
        return;
    }
    rc = counter_spawn(a->node, a->mailbox, &a->actor);
    if (rc) {
        fail(a, "spawn", rc, NULL);
        return;
    }
    if (a->nboot == 0) {
        register_actor(a);
        return;
    }
    rc = al_swarm_join(a->node, (const char *const *)a->boot, (size_t)a->nboot,
                       joined, a);
    if (rc)
        joined(rc, a);
}

static void add_boot(app *a, const char *addr)
{
    if (a->nboot == MAX_BOOT) {
        fprintf(stderr, "counter-node: at most %d bootstrap peers\n", MAX_BOOT);
        exit(2);
    }
    a->boot[a->nboot] = strdup(addr);
    if (!a->boot[a->nboot])
        exit(1);
    a->nboot++;
}

/* ACTORGATE_BOOTSTRAP: comma-separated multiaddrs. */
static void boot_from_env(app *a, const char *list)
{
    char *copy = strdup(list), *save = NULL;
    if (!copy)
        exit(1);
    for (char *t = strtok_r(copy, ", ", &save); t;
         t = strtok_r(NULL, ", ", &save))
        add_boot(a, t);
    free(copy);
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

int main(int argc, char **argv)
{
    app a = {
        .listen = "/ip4/0.0.0.0/udp/8020/quic-v1",
        .name = "my_actor",
    };
    if (env("ACTORGATE_LISTEN"))
        a.listen = env("ACTORGATE_LISTEN");
    if (env("ACTORGATE_KEY"))
        a.key = env("ACTORGATE_KEY");
    if (env("ACTORGATE_NAME"))
        a.name = env("ACTORGATE_NAME");
    if (env("ACTORGATE_MAILBOX"))
        a.mailbox = cli_u32("counter-node", "ACTORGATE_MAILBOX",
                            env("ACTORGATE_MAILBOX"), 0, 1u << 24);
    bool boot_flag = false;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            usage();
        if (strcmp(argv[i], "--listen") == 0)
            a.listen = v;
        else if (strcmp(argv[i], "--key") == 0)
            a.key = v;
        else if (strcmp(argv[i], "--bootstrap") == 0) {
            add_boot(&a, v);
            boot_flag = true;
        } else if (strcmp(argv[i], "--name") == 0)
            a.name = v;
        else if (strcmp(argv[i], "--mailbox") == 0)
            a.mailbox = cli_u32("counter-node", "--mailbox", v, 0, 1u << 24);
        else
            usage();
        i++;
    }
    if (!boot_flag && env("ACTORGATE_BOOTSTRAP"))
        boot_from_env(&a, env("ACTORGATE_BOOTSTRAP"));
    signal(SIGPIPE, SIG_IGN);

    al_error err = {0};
    if (al_node_new(&a.node, NULL, &err)) {
        fprintf(stderr, "counter-node: %s\n", err.msg);
        return 1;
    }
    al_node_post(a.node, start, &a);
    al_node_run(a.node);
    if (a.actor)
        al_actor_release(a.actor);
    al_node_free(a.node);
    for (int i = 0; i < a.nboot; i++)
        free(a.boot[i]);
    return a.exit_code;
}
