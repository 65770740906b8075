/* swarm-ping: a libp2p QUIC node that serves /ipfs/ping/1.0.0 and
 * /ipfs/id/1.0.0, or pings another node.
 *
 *   swarm-ping listen ADDR [--key FILE] [--idle-ms N]
 *       Listens on ADDR (e.g. /ip4/127.0.0.1/udp/0/quic-v1), prints
 *       "PEER_ID <id>" and one "LISTEN <multiaddr>/p2p/<id>" line per
 *       address, then one line per swarm event (CONNECTED, IDENTIFIED,
 *       DISCONNECTED), until SIGINT or SIGTERM, then closes every
 *       connection and exits 0.
 *   swarm-ping ping MULTIADDR [-n N] [--key FILE]
 *       Dials MULTIADDR (with /p2p/<id>, the peer must prove that id),
 *       pings it N times (default 3) printing each round trip, and exits 0
 *       only when every ping was answered.
 *
 * --key FILE loads the Ed25519 host key from FILE, creating it when
 * missing; without it the key is random. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actorlib.h"
#include "cli.h"

typedef struct app {
    al_node *node;
    uv_signal_t sigint, sigterm;
    bool signals_closed;
    const char *target;
    int count, sent, answered;
    al_peer_id peer;
    int exit_code;
} app;

static void usage(void)
{
    fprintf(stderr, "usage: swarm-ping listen ADDR [--key FILE] [--idle-ms N]\n"
                    "       swarm-ping ping MULTIADDR [-n N] [--key FILE]\n");
}

static void close_signals(app *a)
{
    if (a->signals_closed)
        return;
    a->signals_closed = true;
    uv_close((uv_handle_t *)&a->sigint, NULL);
    uv_close((uv_handle_t *)&a->sigterm, NULL);
}

static void finish(app *a, int code)
{
    a->exit_code = code;
    close_signals(a);
    al_node_stop(a->node);
}

static void on_signal(uv_signal_t *h, int signum)
{
    (void)signum;
    finish(h->data, 0);
}

static void print_event(const al_swarm_event *ev, void *ud)
{
    (void)ud;
    char id[AL_PEER_ID_STRLEN] = "?";
    if (ev->peer)
        al_peer_id_format(ev->peer, id, sizeof(id));
    switch (ev->type) {
    case AL_SWARM_CONNECTED:
        printf("CONNECTED %s %s %s\n", id, ev->addr ? ev->addr : "",
               ev->outbound ? "outbound" : "inbound");
        break;
    case AL_SWARM_DISCONNECTED:
        printf("DISCONNECTED %s %s\n", id, al_status_name(ev->reason));
        break;
    case AL_SWARM_IDENTIFIED:
        printf("IDENTIFIED %s agent=%s\n", id, ev->agent ? ev->agent : "");
        break;
    case AL_SWARM_LISTENING:
        break;
    }
    fflush(stdout);
}

static void ping_next(app *a);

static void on_pong(int status, uint64_t rtt_us, void *ud)
{
    app *a = ud;
    if (status) {
        fprintf(stderr, "ping %d failed: %s\n", a->sent, al_strerror(status));
    } else {
        a->answered++;
        printf("ping %d: rtt %llu us\n", a->sent, (unsigned long long)rtt_us);
        fflush(stdout);
    }
    ping_next(a);
}

static void ping_next(app *a)
{
    if (a->sent == a->count) {
        finish(a, a->answered == a->count ? 0 : 1);
        return;
    }
    a->sent++;
    int rc = al_swarm_ping(a->node, &a->peer, on_pong, a);
    if (rc) {
        fprintf(stderr, "ping: %s\n", al_strerror(rc));
        finish(a, 1);
    }
}

static void on_dialed(int status, const al_peer_id *peer, const char *detail,
                      void *ud)
{
    app *a = ud;
    if (status) {
        fprintf(stderr, "dial failed: %s\n",
                detail && *detail ? detail : al_strerror(status));
        finish(a, 2);
        return;
    }
    a->peer = *peer;
    char id[AL_PEER_ID_STRLEN];
    al_peer_id_format(peer, id, sizeof(id));
    printf("CONNECTED %s\n", id);
    fflush(stdout);
    ping_next(a);
}

static int start(app *a, const char *key, uint32_t idle_ms)
{
    al_error err = {0};
    al_identity *id = NULL;
    if (key && al_identity_load_or_create(&id, key, &err)) {
        fprintf(stderr, "key %s: %s\n", key, err.msg);
        return 1;
    }
    if (al_node_new(&a->node, NULL, &err)) {
        fprintf(stderr, "node: %s\n", err.msg);
        al_identity_free(id);
        return 1;
    }
    al_swarm_opts opts = {.idle_timeout_ms = idle_ms};
    if (al_swarm_bootstrap(a->node, id, &opts, &err)) {
        fprintf(stderr, "swarm: %s\n", err.msg);
        return 1;
    }
    uv_loop_t *loop = al_node_loop(a->node);
    uv_signal_init(loop, &a->sigint);
    uv_signal_init(loop, &a->sigterm);
    a->sigint.data = a->sigterm.data = a;
    uv_signal_start(&a->sigint, on_signal, SIGINT);
    uv_signal_start(&a->sigterm, on_signal, SIGTERM);
    return 0;
}

static int run_listen(app *a, const char *addr)
{
    al_error err = {0};
    al_swarm_on_event(a->node, print_event, a);
    if (al_swarm_listen_on(a->node, addr, &err)) {
        fprintf(stderr, "listen %s: %s\n", addr, err.msg);
        return 1;
    }
    cli_print_listening(a->node);
    return 0;
}

static int run_ping(app *a)
{
    int rc = al_swarm_dial(a->node, a->target, on_dialed, a);
    if (rc) {
        fprintf(stderr, "dial %s: %s\n", a->target, al_strerror(rc));
        return 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        usage();
        return 2;
    }
    app a = {.count = 3};
    const char *mode = argv[1], *arg = argv[2], *key = NULL;
    uint32_t idle_ms = 0;
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--key") == 0 && i + 1 < argc) {
            key = argv[++i];
        } else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
            a.count = (int)cli_u32("swarm-ping", "-n", argv[++i], 1, 1000000);
        } else if (strcmp(argv[i], "--idle-ms") == 0 && i + 1 < argc) {
            idle_ms =
                cli_u32("swarm-ping", "--idle-ms", argv[++i], 0, UINT32_MAX);
        } else {
            usage();
            return 2;
        }
    }
    bool listen = strcmp(mode, "listen") == 0;
    if ((!listen && strcmp(mode, "ping") != 0) || a.count < 1) {
        usage();
        return 2;
    }
    a.target = arg;
    if (start(&a, key, idle_ms))
        return 1;
    int rc = listen ? run_listen(&a, arg) : run_ping(&a);
    if (rc) {
        finish(&a, rc);
        al_node_run(a.node);
        al_node_free(a.node);
        return rc;
    }
    al_node_run(a.node);
    al_node_free(a.node);
    return a.exit_code;
}
