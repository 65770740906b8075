/* remote-probe: lookups and /kameo/1 requests with arbitrary ids and
 * payloads, for the integration tests.
 *
 *   remote-probe --bootstrap MULTIADDR [--timeout MS] [--inflight K]
 *                [--keep-going] COMMAND ARGS
 *     lookup NAME [TYPE]
 *         LOOKUP OK <peer id> <seq> <type> | LOOKUP <status name>
 *     ask NAME TYPE MESSAGE HEX [N]
 *         looks NAME up (any type), then sends N (default 1) asks of the
 *         MessagePack HEX to the actor as actor type TYPE, K at a time
 *         (none after the first failure unless --keep-going; those in
 *         flight still end);
 *         prints "SENT" once the first K are out, then per ask
 *         ASK <i> OK <ms> <reply hex> | ASK <i> <status name> <ms> <detail>
 *     tell NAME TYPE MESSAGE HEX
 *         TELL OK | TELL <status name> <detail>
 *     askid SEQ TYPE MESSAGE HEX [N], tellid SEQ TYPE MESSAGE HEX
 *         as ask and tell, to actor SEQ of the bootstrap peer itself (no
 *         lookup: the peer need not run Kademlia)
 *
 * --timeout is the request timeout (default 10 s). Exit status 0 when
 * every step succeeded. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actorlib.h"
#include "kad.h"
#include "multiaddr.h"

typedef struct app {
    al_node *node;
    const char *boot;
    char **cmd;
    int ncmd;
    int64_t timeout_ms;
    unsigned inflight;
    bool keep_going;
    long count, sent, ended;
    al_remote_ref *ref;
    al_buf payload;
    int failures;
} app;

typedef struct one {
    app *a;
    long index;
    uint64_t t0;
} one;

static void usage(void)
{
    fprintf(stderr, "usage: remote-probe --bootstrap MULTIADDR [--timeout MS]"
                    " [--inflight K] (lookup NAME [TYPE] | ask NAME TYPE "
                    "MESSAGE HEX [N] | tell NAME TYPE MESSAGE HEX)\n");
    exit(2);
}

static void finish(app *a)
{
    fflush(stdout);
    if (a->ref) {
        al_remote_ref_free(a->ref);
        a->ref = NULL;
    }
    al_node_stop(a->node);
}

static int unhex(const char *s, al_buf *out)
{
    size_t n = strlen(s);
    if (n % 2)
        return AL_EINVAL;
    for (size_t i = 0; i < n; i += 2) {
        char byte[3] = {s[i], s[i + 1], 0};
        char *end;
        unsigned long v = strtoul(byte, &end, 16);
        if (*end)
            return AL_EINVAL;
        uint8_t b = (uint8_t)v;
        if (al_buf_append(out, &b, 1))
            return AL_ENOMEM;
    }
    return 0;
}

static uint64_t now_ms(app *a)
{
    uv_update_time(al_node_loop(a->node));
    return uv_now(al_node_loop(a->node));
}

static void send_next(app *a);

static void asked(const al_reply *rep, void *ud)
{
    one *o = ud;
    app *a = o->a;
    uint64_t ms = now_ms(a) - o->t0;
    if (rep->status == 0) {
        printf("ASK %ld OK %llu ", o->index, (unsigned long long)ms);
        const uint8_t *d = rep->data;
        for (size_t i = 0; i < rep->len; i++)
            printf("%02x", d[i]);
        printf("\n");
    } else {
        printf("ASK %ld %s %llu %s\n", o->index, al_status_name(rep->status),
               (unsigned long long)ms, rep->detail ? rep->detail : "");
        a->failures++;
        if (!a->keep_going)
            a->count = a->sent; /* no new asks after a failure */
    }
    fflush(stdout);
    free(o);
    a->ended++;
    if (a->sent < a->count)
        send_next(a);
    else if (a->ended == a->count)
        finish(a);
}

static void send_next(app *a)
{
    one *o = malloc(sizeof(*o));
    if (!o)
        exit(1);
    o->a = a;
    o->index = a->sent++;
    o->t0 = now_ms(a);
    al_send_opts opts = AL_SEND_OPTS_DEFAULT;
    opts.request_timeout_ms = a->timeout_ms;
    int rc = al_remote_ask(a->ref, a->cmd[3], a->payload.data, a->payload.len,
                           &opts, asked, o);
    if (rc) {
        al_reply r = {rc, NULL, 0, "not sent"};
        asked(&r, o);
    }
}

static void told(int status, void *ud)
{
    app *a = ud;
    if (status) {
        printf("TELL %s\n", al_status_name(status));
        a->failures++;
    } else {
        printf("TELL OK\n");
    }
    finish(a);
}

static bool is(const app *a, const char *cmd)
{
    return strcmp(a->cmd[0], cmd) == 0;
}

static void found(int status, al_remote_ref *ref, void *ud)
{
    app *a = ud;
    const char *cmd = a->cmd[0];
    if (strcmp(cmd, "lookup") == 0) {
        if (status) {
            printf("LOOKUP %s\n", al_status_name(status));
            a->failures++;
        } else {
            char id[AL_PEER_ID_STRLEN] = "";
            const al_actor_id *aid = al_remote_ref_id(ref);
            al_peer_id_format(&aid->peer, id, sizeof(id));
            printf("LOOKUP OK %s %llu %s\n", id, (unsigned long long)aid->seq,
                   al_remote_ref_remote_id(ref));
            al_remote_ref_free(ref);
        }
        finish(a);
        return;
    }
    if (status) {
        printf("LOOKUP %s\n", al_status_name(status));
        a->failures++;
        finish(a);
        return;
    }
    /* The same actor, addressed as the actor type given. */
    int rc =
        al_remote_ref_new(a->node, al_remote_ref_id(ref), a->cmd[2], &a->ref);
    al_remote_ref_free(ref);
    if (rc || unhex(a->cmd[4], &a->payload)) {
        printf("BAD ARGUMENTS\n");
        a->failures++;
        finish(a);
        return;
    }
    if (is(a, "tell") || is(a, "tellid")) {
        al_send_opts opts = AL_SEND_OPTS_DEFAULT;
        opts.request_timeout_ms = a->timeout_ms;
        rc = al_remote_tell(a->ref, a->cmd[3], a->payload.data, a->payload.len,
                            &opts, told, a);
        if (rc)
            told(rc, a);
        return;
    }
    a->count = a->ncmd > 5 ? strtol(a->cmd[5], NULL, 10) : 1;
    for (unsigned i = 0; i < a->inflight && a->sent < a->count; i++)
        send_next(a);
    printf("SENT\n");
    fflush(stdout);
}

static void lookup(app *a)
{
    const char *expected =
        strcmp(a->cmd[0], "lookup") == 0 && a->ncmd > 2 ? a->cmd[2] : NULL;
    int rc = al_remote_lookup(a->node, a->cmd[1], expected, found, a);
    if (rc)
        found(rc, NULL, a);
}

static void bootstrapped(int status, void *ud)
{
    (void)status;
    lookup(ud);
}

static void dialed(int status, const al_peer_id *peer, const char *detail,
                   void *ud)
{
    app *a = ud;
    if (status) {
        printf("DIAL %s %s\n", al_status_name(status), detail ? detail : "");
        a->failures++;
        finish(a);
        return;
    }
    al__maddr m;
    uint8_t b[AL__MADDR_MAX_BYTES];
    if (al__maddr_parse(&m, a->boot, NULL) == 0 && al__maddr_peer(&m)) {
        int n = al__maddr_encode(&m, b, sizeof(b));
        if (n > 0)
            al__kad_add_address(al__kad_of(a->node), al__maddr_peer(&m), b,
                                (size_t)n);
    }
    if (is(a, "askid") || is(a, "tellid")) {
        /* The target is the peer just dialed: no lookup. */
        al_actor_id id = {.seq = strtoull(a->cmd[1], NULL, 10), .peer = *peer};
        al_remote_ref *ref;
        int rc = al_remote_ref_new(a->node, &id, a->cmd[2], &ref);
        found(rc, rc ? NULL : ref, a);
        return;
    }
    if (al__kad_bootstrap(al__kad_of(a->node), bootstrapped, a))
        lookup(a);
}

static void start(void *ud)
{
    app *a = ud;
    al_error err = {0};
    if (al_swarm_bootstrap(a->node, NULL, NULL, &err)) {
        fprintf(stderr, "remote-probe: %s\n", err.msg);
        a->failures++;
        finish(a);
        return;
    }
    int rc = al_swarm_dial(a->node, a->boot, dialed, a);
    if (rc)
        dialed(rc, NULL, "bad address", a);
}

int main(int argc, char **argv)
{
    app a = {.inflight = 1};
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            usage();
        if (strcmp(argv[i], "--bootstrap") == 0)
            a.boot = v;
        else if (strcmp(argv[i], "--timeout") == 0)
            a.timeout_ms = strtoll(v, NULL, 10);
        else if (strcmp(argv[i], "--keep-going") == 0) {
            a.keep_going = true;
            continue;
        } else if (strcmp(argv[i], "--inflight") == 0)
            a.inflight = (unsigned)strtoul(v, NULL, 10);
        else
            usage();
        i++;
    }
    a.cmd = argv + i;
    a.ncmd = argc - i;
    if (!a.boot || a.ncmd < 2 || a.inflight == 0)
        usage();
    bool send =
        is(&a, "ask") || is(&a, "tell") || is(&a, "askid") || is(&a, "tellid");
    if (send ? a.ncmd < 5 : !is(&a, "lookup"))
        usage();
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    al_error err = {0};
    if (al_node_new(&a.node, NULL, &err)) {
        fprintf(stderr, "remote-probe: %s\n", err.msg);
        return 1;
    }
    al_node_post(a.node, start, &a);
    al_node_run(a.node);
    al_node_free(a.node);
    al_buf_free(&a.payload);
    return a.failures ? 1 : 0;
}
