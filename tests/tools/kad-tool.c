/* kad-tool: a libp2p QUIC node that stores and finds Kademlia records,
 * for the integration and interop tests.
 *
 *   kad-tool [--listen ADDR] [--bootstrap MULTIADDR]... [--serve]
 *            [put KEY VALUE | get KEY]...
 *
 * Listens on ADDR (default /ip4/127.0.0.1/udp/0/quic-v1; "none" to stay a
 * Kademlia client) and prints "PEER_ID <id>" and "LISTEN <addr>". Dials
 * every bootstrap MULTIADDR (with /p2p/<id>), adds it to the routing
 * table and looks up its own id ("BOOTSTRAP <status>"). Then runs the
 * commands in order, printing one line each:
 *   PUT <key> OK | PUT <key> <status>
 *   GET <key> VALUE <value> | GET <key> NOTFOUND | GET <key> <status>
 * then "DONE". With --serve it keeps serving until SIGINT, SIGTERM or the
 * end of stdin; otherwise it exits. Exit status 0 when every step
 * succeeded. Keys and values are taken as bytes from the command line. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actorlib.h"
#include "kad.h"
#include "multiaddr.h"
#include "node.h"

#define MAX_BOOT 8

typedef struct app {
    al_node *node;
    uv_signal_t sigint, sigterm;
    uv_pipe_t in;
    bool handles_open, stdin_open;
    const char *listen;
    const char *boot[MAX_BOOT];
    int nboot, dials_left;
    char **cmds;
    int ncmds, next;
    bool serve;
    int failures;
} app;

static void usage(void)
{
    fprintf(stderr, "usage: kad-tool [--listen ADDR] [--bootstrap MULTIADDR]"
                    "... [--serve] [put KEY VALUE | get KEY]...\n");
}

static void close_handles(app *a)
{
    if (!a->handles_open)
        return;
    a->handles_open = false;
    uv_close((uv_handle_t *)&a->sigint, NULL);
    uv_close((uv_handle_t *)&a->sigterm, NULL);
    if (a->stdin_open) {
        a->stdin_open = false;
        uv_close((uv_handle_t *)&a->in, NULL);
    }
}

static void finish(app *a)
{
    close_handles(a);
    al_node_stop(a->node);
}

static void on_signal(uv_signal_t *h, int signum)
{
    (void)signum;
    finish(h->data);
}

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    static char scratch[256];
    (void)h;
    (void)hint;
    buf->base = scratch;
    buf->len = sizeof(scratch);
}

static void on_stdin(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    (void)buf;
    if (n < 0)
        finish(s->data);
}

static void next_command(app *a);

static void step_done(app *a, bool ok)
{
    if (!ok)
        a->failures++;
    fflush(stdout);
    next_command(a);
}

static void put_done(int status, void *ud)
{
    app *a = ud;
    const char *key = a->cmds[a->next - 2];
    if (status == 0)
        printf("PUT %s OK\n", key);
    else
        printf("PUT %s %s\n", key, al_status_name(status));
    step_done(a, status == 0);
}

static void get_done(int status, const uint8_t *v, size_t len, void *ud)
{
    app *a = ud;
    const char *key = a->cmds[a->next - 1];
    if (status == 0)
        printf("GET %s VALUE %.*s\n", key, (int)len, (const char *)v);
    else if (status == AL_ENOTFOUND)
        printf("GET %s NOTFOUND\n", key);
    else
        printf("GET %s %s\n", key, al_status_name(status));
    step_done(a, status == 0);
}

static void next_command(app *a)
{
    al__kad *kad = al__kad_of(a->node);
    while (a->next < a->ncmds) {
        const char *cmd = a->cmds[a->next];
        int rc;
        if (!strcmp(cmd, "put") && a->next + 2 < a->ncmds) {
            const char *k = a->cmds[a->next + 1], *v = a->cmds[a->next + 2];
            a->next += 3;
            rc = al__kad_put(kad, (const uint8_t *)k, strlen(k),
                             (const uint8_t *)v, strlen(v), put_done, a);
            if (rc == 0)
                return;
            printf("PUT %s %s\n", k, al_status_name(rc));
        } else if (!strcmp(cmd, "get") && a->next + 1 < a->ncmds) {
            const char *k = a->cmds[a->next + 1];
            a->next += 2;
            rc = al__kad_get(kad, (const uint8_t *)k, strlen(k), get_done, a);
            if (rc == 0)
                return;
            printf("GET %s %s\n", k, al_status_name(rc));
        } else {
            printf("BAD COMMAND %s\n", cmd);
            a->next = a->ncmds;
        }
        a->failures++;
    }
    printf("DONE\n");
    fflush(stdout);
    if (!a->serve)
        finish(a);
}

static void bootstrapped(int status, void *ud)
{
    app *a = ud;
    printf("BOOTSTRAP %s\n", status ? al_status_name(status) : "OK");
    if (status)
        a->failures++;
    fflush(stdout);
    next_command(a);
}

static int add_to_table(app *a, const char *text)
{
    al__maddr m;
    al_error err = {0};
    uint8_t b[AL__MADDR_MAX_BYTES];
    int rc = al__maddr_parse(&m, text, &err);
    if (rc)
        return rc;
    const al_peer_id *peer = al__maddr_peer(&m);
    if (!peer)
        return AL_EINVAL;
    int n = al__maddr_encode(&m, b, sizeof(b));
    if (n < 0)
        return n;
    return al__kad_add_address(al__kad_of(a->node), peer, b, (size_t)n);
}

static void dialed(int status, const al_peer_id *peer, const char *detail,
                   void *ud)
{
    app *a = ud;
    (void)peer;
    if (status) {
        printf("DIAL %s %s\n", al_status_name(status), detail ? detail : "");
        a->failures++;
    }
    if (--a->dials_left > 0)
        return;
    for (int i = 0; i < a->nboot; i++) {
        int rc = add_to_table(a, a->boot[i]);
        if (rc) {
            printf("ADD %s %s\n", a->boot[i], al_status_name(rc));
            a->failures++;
        }
    }
    int rc = al__kad_bootstrap(al__kad_of(a->node), bootstrapped, a);
    if (rc)
        bootstrapped(rc, a);
}

static void start(void *ud)
{
    app *a = ud;
    al_error err = {0};
    uv_loop_t *loop = al_node_loop(a->node);
    uv_signal_init(loop, &a->sigint);
    uv_signal_init(loop, &a->sigterm);
    a->sigint.data = a->sigterm.data = a;
    uv_signal_start(&a->sigint, on_signal, SIGINT);
    uv_signal_start(&a->sigterm, on_signal, SIGTERM);
    a->handles_open = true;
    /* stdin closing ends a server (its driver went away); only a pipe is
     * watched. */
    if (a->serve && uv_guess_handle(0) == UV_NAMED_PIPE &&
        uv_pipe_init(loop, &a->in, 0) == 0) {
        a->in.data = a;
        if (uv_pipe_open(&a->in, 0) == 0 &&
            uv_read_start((uv_stream_t *)&a->in, alloc_cb, on_stdin) == 0)
            a->stdin_open = true;
        else
            uv_close((uv_handle_t *)&a->in, NULL);
    }
    if (al_swarm_bootstrap(a->node, NULL, NULL, &err)) {
        fprintf(stderr, "kad-tool: %s\n", err.msg);
        a->failures++;
        finish(a);
        return;
    }
    al_peer_id me;
    char id[AL_PEER_ID_STRLEN];
    al_swarm_local_peer_id(a->node, &me);
    al_peer_id_format(&me, id, sizeof(id));
    printf("PEER_ID %s\n", id);
    if (strcmp(a->listen, "none") != 0) {
        if (al_swarm_listen_on(a->node, a->listen, &err)) {
            fprintf(stderr, "kad-tool: %s\n", err.msg);
            a->failures++;
            finish(a);
            return;
        }
        char *addrs[4];
        size_t n = al_swarm_listen_addrs(a->node, addrs, 4);
        for (size_t i = 0; i < n; i++) {
            if (i == 0)
                printf("LISTEN %s\n", addrs[i]);
            free(addrs[i]);
        }
    }
    fflush(stdout);
    if (a->nboot == 0) {
        next_command(a);
        return;
    }
    a->dials_left = a->nboot;
    for (int i = 0; i < a->nboot; i++)
        if (al_swarm_dial(a->node, a->boot[i], dialed, a))
            dialed(AL_EINVAL, NULL, a->boot[i], a);
}

int main(int argc, char **argv)
{
    app a = {.listen = "/ip4/127.0.0.1/udp/0/quic-v1"};
    int i = 1;
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--listen") && i + 1 < argc)
            a.listen = argv[++i];
        else if (!strcmp(argv[i], "--bootstrap") && i + 1 < argc &&
                 a.nboot < MAX_BOOT)
            a.boot[a.nboot++] = argv[++i];
        else if (!strcmp(argv[i], "--serve"))
            a.serve = true;
        else if (argv[i][0] == '-') {
            usage();
            return 2;
        } else
            break;
    }
    a.cmds = argv + i;
    a.ncmds = argc - i;
    signal(SIGPIPE, SIG_IGN);
    al_error err = {0};
    if (al_node_new(&a.node, NULL, &err)) {
        fprintf(stderr, "kad-tool: %s\n", err.msg);
        return 1;
    }
    al_node_post(a.node, start, &a);
    al_node_run(a.node);
    al_node_free(a.node);
    return a.failures ? 1 : 0;
}
