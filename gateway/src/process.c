/* The gateway process: start, signals, drain, stop; the registry's
 * persistence; swarm events. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#if defined(__GLIBC__)
#include <malloc.h> /* mallinfo2, malloc_trim */
#endif

#include "app.h"
#include "log.h"
#include "schemafile.h"

#define TICK_MS       1000
#define FLUSH_TICKS   5          /* name cache hit counters, sweeps */
#define IDEM_TICKS    60         /* idempotency sweep */
#define TRIM_FREE_MIN (4u << 20) /* free heap bytes worth returning */
#define DRAIN_POLL_MS 20
#define DRAIN_GRACE   1000 /* after answering what is left */

/* ------------------------------------------------------------ registry */

/* "remote::MyActor::Inc" -> "remote::MyActor". */
static void actor_of_subject(const char *subject, char *out, size_t cap)
{
    const char *last = NULL;
    for (const char *p = strstr(subject, "::"); p; p = strstr(p + 1, "::"))
        last = p;
    size_t n = last ? (size_t)(last - subject) : strlen(subject);
    if (n >= cap)
        n = cap - 1;
    memcpy(out, subject, n);
    out[n] = 0;
}

static int persist_version(gw_app *app, const gw_change *ch)
{
    json_t *doc = json_loads(ch->text, 0, NULL);
    if (!doc)
        return AL_EINVAL;
    char actor[256];
    actor_of_subject(ch->subject, actor, sizeof(actor));
    gw_store_schema_row row = {
        .subject = ch->subject,
        .version = ch->version,
        .schema_id = ch->id,
        .message_uuid = json_string_value(json_object_get(doc, "uuid")),
        .actor_remote_id = actor,
        .message_name = json_string_value(json_object_get(doc, "name")),
        .schema_json = ch->text,
        .deleted = false,
        .created_at_ms = gw_store_now_ms(),
    };
    int rc = row.message_uuid && row.message_name
                 ? gw_store_put_schema(app->store, &row, NULL, NULL)
                 : AL_EINVAL;
    json_decref(doc);
    return rc;
}

static int persist_subject_delete(gw_app *app, const gw_change *ch)
{
    json_t *versions = NULL;
    gw_reg_error re;
    int rc = gw_registry_versions(app->reg, ch->subject, false, &versions, &re);
    if (rc)
        return rc;
    size_t i;
    json_t *v;
    json_array_foreach(versions, i, v)
    {
        rc = gw_store_set_schema_deleted(
            app->store, ch->subject, json_integer_value(v), true, NULL, NULL);
        if (rc)
            break;
    }
    json_decref(versions);
    return rc;
}

/* Every registry change is queued for the database before it happens; a
 * full queue cancels the change (the admin API answers 50001). */
static int on_registry_change(const gw_change *ch, void *ud)
{
    gw_app *app = ud;
    int rc = 0;
    const char *event = "schema_changed";
    switch (ch->kind) {
    case GW_CHANGE_VERSION:
        rc = persist_version(app, ch);
        event = "schema_registered";
        break;
    case GW_CHANGE_DELETE_VERSION:
        rc = gw_store_set_schema_deleted(app->store, ch->subject, ch->version,
                                         true, NULL, NULL);
        event = "schema_version_deleted";
        break;
    case GW_CHANGE_DELETE_SUBJECT:
        rc = persist_subject_delete(app, ch);
        event = "schema_subject_deleted";
        break;
    case GW_CHANGE_CONFIG: {
        gw_store_config_row row = {ch->subject, gw_compat_name(ch->level)};
        rc = gw_store_put_config(app->store, &row, NULL, NULL);
        event = "schema_config_set";
        break;
    }
    case GW_CHANGE_DELETE_CONFIG:
        rc = gw_store_delete_config(app->store, ch->subject, NULL, NULL);
        event = "schema_config_deleted";
        break;
    default:
        break;
    }
    gw_logline l;
    if (gw_log_begin(&l, rc ? GW_LOG_ERROR : GW_LOG_INFO, event)) {
        gw_log_str(&l, "subject", ch->subject);
        if (ch->version > 0)
            gw_log_int(&l, "version", ch->version);
        if (ch->kind == GW_CHANGE_VERSION)
            gw_log_int(&l, "id", ch->id);
        if (ch->kind == GW_CHANGE_CONFIG)
            gw_log_str(&l, "compatibility", gw_compat_name(ch->level));
        if (rc)
            gw_log_str(&l, "store_error", al_strerror(rc));
        gw_log_end(&l);
    }
    if (!rc)
        gw_app_registry_changed(app);
    return rc;
}

static int restore_version(const gw_store_schema_row *row, void *ud)
{
    gw_app *app = ud;
    gw_reg_error re;
    if (gw_registry_restore_version(
            app->reg, row->subject, (int)row->version, row->schema_id,
            row->deleted, row->schema_json, strlen(row->schema_json), &re))
        gw_log_event(GW_LOG_WARN, "schema_restore_failed",
                     "%s version %lld: %d %s", row->subject,
                     (long long)row->version, re.code, re.message);
    return 0;
}

static int restore_config(const gw_store_config_row *row, void *ud)
{
    gw_app *app = ud;
    gw_reg_error re;
    int level = gw_compat_parse(row->compatibility);
    if (level < 0 ||
        gw_registry_restore_config(app->reg, row->subject, level, &re))
        gw_log_event(
            GW_LOG_WARN, "schema_restore_failed", "compatibility of %s: %s",
            row->subject ? row->subject : "(global)", row->compatibility);
    return 0;
}

int gw_app_reload_schemas(gw_app *app, char *msg, size_t cap, size_t *messages)
{
    const char *dir = app->cfg.schemas_dir;
    struct stat st;
    *messages = 0;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(msg, cap, "%s: no such folder", dir);
        return AL_ENOTFOUND;
    }
    gw_schemafile **files = NULL;
    size_t n = 0;
    gw_file_error fe;
    int rc = gw_schemafile_load_dir(dir, &files, &n, &fe);
    if (rc) {
        gw_file_error_format(&fe, msg, cap);
        return rc;
    }
    for (size_t i = 0; i < n; i++)
        *messages += files[i]->nmessages;
    gw_reg_error re;
    rc = gw_registry_register_files(app->reg, files, n, &re);
    gw_schemafile_free_all(files, n);
    gw_app_registry_changed(app);
    if (rc) {
        snprintf(msg, cap, "%d: %s", re.code, re.message);
        return rc;
    }
    snprintf(msg, cap, "%zu messages from %zu files in %s", *messages, n, dir);
    return 0;
}

/* ------------------------------------------------------------ names */

json_t *gw_app_name_json(const gw_namecache_entry *e)
{
    char resolved[40], expires[40];
    gw_format_time_ms(e->resolved_at_ms, resolved, sizeof(resolved));
    gw_format_time_ms(e->expires_at_ms, expires, sizeof(expires));
    json_t *o = json_pack("{s:s, s:b, s:s, s:s, s:I, s:b}", "name", e->name,
                          "found", e->found, "resolved_at", resolved,
                          "expires_at", expires, "hits", (json_int_t)e->hits,
                          "expired", e->expires_at_ms <= gw_store_now_ms());
    if (o && e->found) {
        json_object_set_new(o, "peer_id", json_string(e->peer_id));
        json_object_set_new(o, "remote_id", json_string(e->remote_id));
        json_object_set_new(o, "actor_id",
                            json_pack("{s:I, s:s}", "seq",
                                      (json_int_t)e->actor.seq, "peer_id",
                                      e->peer_id));
    }
    return o;
}

typedef struct resolve_op {
    gw_app *app;
    void (*cb)(int status, const gw_namecache_entry *e, void *ud);
    void *ud;
    char name[];
} resolve_op;

static void on_resolved(int status, const gw_target *t, void *arg)
{
    resolve_op *op = arg;
    gw_app *app = op->app;
    const gw_namecache_entry *e = NULL;
    if (status == 0 && t) {
        int rc =
            gw_namecache_put(app->nc, op->name, t->peer, &t->id, t->remote_id);
        if (rc)
            status = rc;
        else
            gw_namecache_lookup(app->nc, op->name, &e);
    } else if (status == AL_ENOTFOUND) {
        gw_namecache_put_negative(app->nc, op->name);
    }
    op->cb(status, e, op->ud);
    free(op);
}

int gw_app_resolve(gw_app *app, const char *name,
                   void (*cb)(int status, const gw_namecache_entry *e,
                              void *ud),
                   void *ud)
{
    size_t n = strlen(name);
    resolve_op *op = malloc(sizeof(*op) + n + 1);
    if (!op)
        return AL_ENOMEM;
    op->app = app;
    op->cb = cb;
    op->ud = ud;
    memcpy(op->name, name, n + 1);
    int rc = gw_net_lookup(app->net, name, on_resolved, op);
    if (rc)
        free(op);
    return rc;
}

/* ------------------------------------------------------------ swarm */

static void on_peer_connected(const char *peer, const char *addr, void *ud)
{
    (void)ud;
    gw_logline l;
    if (gw_log_begin(&l, GW_LOG_INFO, "peer_connected")) {
        gw_log_str(&l, "peer_id", peer);
        gw_log_str(&l, "addr", addr);
        gw_log_end(&l);
    }
}

static void on_peer_disconnected(const char *peer, const al_peer_id *id,
                                 int reason, void *ud)
{
    gw_app *app = ud;
    /* A connection closed cleanly (idle, or by a peer that may come back)
     * or by our own shutdown says nothing about the actors behind it: a
     * later send that fails evicts their names. A connection that died
     * does. */
    bool died = reason != 0 && reason != AL_ECANCELED;
    size_t evicted =
        died && id && app->nc ? gw_namecache_evict_peer(app->nc, id) : 0;
    gw_logline l;
    if (gw_log_begin(&l, GW_LOG_INFO, "peer_disconnected")) {
        gw_log_str(&l, "peer_id", peer);
        if (reason)
            gw_log_str(&l, "reason", al_status_name(reason));
        gw_log_uint(&l, "names_evicted", evicted);
        gw_log_end(&l);
    }
}

/* ------------------------------------------------------------ handles */

static void handle_closed(uv_handle_t *h)
{
    gw_app *app = h->data;
    app->open_handles--;
}

static void close_handle(gw_app *app, void *h)
{
    if (!uv_is_closing(h)) {
        ((uv_handle_t *)h)->data = app;
        uv_close(h, handle_closed);
    }
}

/* A burst of concurrent requests (a thousand connections asking at once)
 * leaves their freed state in the heap, where it stays resident: the
 * allocator returns only the heap's top. Once a second, when several MB
 * lie free, they go back to the system. Steady traffic (32 connections
 * asking without pause) leaves less free and makes no madvise call. */
static void release_free_memory(void)
{
#if defined(__GLIBC__)
#if __GLIBC_PREREQ(2, 33)
    struct mallinfo2 mi = mallinfo2();
    if (mi.fordblks >= TRIM_FREE_MIN)
        malloc_trim(0);
#endif
#endif
}

static void on_tick(uv_timer_t *t)
{
    gw_app *app = t->data;
    app->ticks++;
    release_free_memory();
    if (app->ticks % FLUSH_TICKS == 0) {
        gw_namecache_sweep(app->nc);
        gw_namecache_flush_hits(app->nc);
    }
    if (app->ticks % IDEM_TICKS == 0)
        gw_idem_sweep(app->idem);
}

static void on_prepare(uv_prepare_t *p)
{
    (void)p;
    gw_log_flush();
}

/* ------------------------------------------------------------ drain */

static void stop_everything(gw_app *app);

static void answer_leftovers(gw_app *app)
{
    for (gw_call *c = app->calls; c; c = c->next)
        if (gw_call_live(c) && c->req->suspended)
            gw_call_error(c, GW_E_NOT_READY,
                          "the gateway shut down before the answer came", NULL);
}

static uint64_t drain_deadline;
static bool drain_answered;

static void on_drain_poll(uv_timer_t *t)
{
    gw_app *app = t->data;
    uint64_t now = uv_now(app->loop);
    if (gw_http_active(app->http) == 0) {
        stop_everything(app);
        return;
    }
    if (now < drain_deadline)
        return;
    if (!drain_answered) {
        drain_answered = true;
        answer_leftovers(app);
        drain_deadline = now + DRAIN_GRACE;
        return;
    }
    stop_everything(app);
}

static void begin_drain(gw_app *app, const char *why)
{
    if (app->state == GW_APP_DRAINING) {
        /* A second signal: no more waiting. */
        drain_deadline = 0;
        return;
    }
    if (app->state != GW_APP_RUNNING)
        return;
    app->state = GW_APP_DRAINING;
    gw_logline l;
    if (gw_log_begin(&l, GW_LOG_INFO, "draining")) {
        gw_log_str(&l, "signal", why);
        gw_log_uint(&l, "active_requests", gw_http_active(app->http));
        gw_log_uint(&l, "deadline_ms", app->cfg.drain_ms);
        gw_log_end(&l);
    }
    gw_http_quiesce(app->http);
    drain_deadline = uv_now(app->loop) + app->cfg.drain_ms;
    uv_timer_start(&app->drain, on_drain_poll, 0, DRAIN_POLL_MS);
}

static void on_http_stopped(void *ud)
{
    (void)ud;
}
static void stop_everything(gw_app *app)
{
    if (app->state == GW_APP_STOPPED)
        return;
    app->state = GW_APP_STOPPED;
    answer_leftovers(app);
    gw_http_stop(app->http, on_http_stopped, app);
    close_handle(app, &app->sig_term);
    close_handle(app, &app->sig_int);
    close_handle(app, &app->sig_hup);
    close_handle(app, &app->housekeeping);
    close_handle(app, &app->drain);
    close_handle(app, &app->log_flush);
    gw_net_shutdown(app->net);
    gw_namecache_flush_hits(app->nc);
    gw_log_event(GW_LOG_INFO, "stopping", "closing the swarm and the node");
    al_node_stop(app->node);
}

static void on_signal(uv_signal_t *s, int signum)
{
    gw_app *app = s->data;
    if (signum == SIGHUP) {
        char msg[600];
        size_t n;
        int rc = gw_app_reload_schemas(app, msg, sizeof(msg), &n);
        gw_log_event(rc ? GW_LOG_ERROR : GW_LOG_INFO,
                     rc ? "schemas_reload_failed" : "schemas_reloaded", "%s",
                     msg);
        return;
    }
    begin_drain(app, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

/* ------------------------------------------------------------ start */

static int fatal(const char *event, const char *fmt, const char *what)
{
    gw_log_event(GW_LOG_ERROR, event, fmt, what);
    gw_log_flush();
    fprintf(stderr, "gateway: ");
    fprintf(stderr, fmt, what);
    fprintf(stderr, "\n");
    return 1;
}

static int open_state(gw_app *app)
{
    al_error e = {0};
    gw_store_opts so = {.path = app->cfg.db_path, .loop = app->loop};
    if (gw_store_open(&app->store, &so, &e))
        return fatal("database_failed", "%s", e.msg);
    gw_log_event(GW_LOG_INFO, "database_open", "%s", app->cfg.db_path);

    if (gw_registry_new(&app->reg))
        return fatal("startup_failed", "%s", "out of memory");
    if (gw_store_load_schemas(app->store, restore_version, app, &e) ||
        gw_store_load_config(app->store, restore_config, app, &e))
        return fatal("database_failed", "%s", e.msg);
    gw_registry_on_change(app->reg, on_registry_change, app);
    char msg[600];
    size_t n = 0;
    int rc = gw_app_reload_schemas(app, msg, sizeof(msg), &n);
    if (rc == AL_ENOTFOUND)
        gw_log_event(GW_LOG_WARN, "schemas_missing",
                     "%s (schemas can be registered through /admin)", msg);
    else if (rc)
        return fatal("schemas_failed", "%s", msg);
    else
        gw_log_event(GW_LOG_INFO, "schemas_loaded", "%s", msg);

    gw_namecache_opts no = {
        .ttl_ms = app->cfg.name_ttl_ms,
        .negative_ttl_ms =
            app->cfg.negative_ttl_ms ? (int32_t)app->cfg.negative_ttl_ms : -1,
        .store = app->store,
    };
    if (gw_namecache_new(&app->nc, &no, &e) || gw_namecache_load(app->nc, &e))
        return fatal("database_failed", "name cache: %s", e.msg);
    gw_idem_opts io = {.store = app->store};
    if (gw_idem_new(&app->idem, &io, &e) || gw_idem_load(app->idem, &e))
        return fatal("database_failed", "idempotency keys: %s", e.msg);
    if (gw_metrics_new(&app->metrics))
        return fatal("startup_failed", "%s", "out of memory");
    return 0;
}

static int open_net(gw_app *app, const gw_hooks *hooks)
{
    al_error e = {0};
    gw_swarm_opts so = {
        .listen = app->cfg.listen,
        .bootstrap = app->cfg.bootstrap,
        .nbootstrap = app->cfg.nbootstrap,
        .key_file = app->cfg.key_file,
        .events = {on_peer_connected, on_peer_disconnected, app},
    };
    int rc = 0;
    if (hooks && hooks->no_swarm)
        gw_log_event(GW_LOG_INFO, "swarm_off", "serving local actors only");
    else
        rc = gw_swarm_net_new(&app->net, app->node, &so, &e);
    if (rc)
        return fatal("swarm_failed", "%s", e.msg);
    if (hooks && (hooks->setup || hooks->no_swarm)) {
        gw_net *local;
        if (gw_local_net_new(&local, app->node, app->net))
            return fatal("startup_failed", "%s", "out of memory");
        app->net = local;
        if (hooks->setup && hooks->setup(app->node, local, hooks->ud))
            return fatal("startup_failed", "%s", "local actors did not start");
    }
    return 0;
}

static int start_http(gw_app *app)
{
    al_error e = {0};
    gw_http_opts ho = {
        .host = app->cfg.http_host,
        .port = app->cfg.http_port,
        .body_limit = app->cfg.body_limit,
        .max_connections = app->cfg.max_connections,
    };
    gw_http_handlers h = gw_app_handlers(app);
    if (gw_http_start(&app->http, app->loop, &ho, &h, &e))
        return fatal("http_failed", "%s", e.msg);
    return 0;
}

static void start_handles(gw_app *app)
{
    uv_signal_t *sigs[] = {&app->sig_term, &app->sig_int, &app->sig_hup};
    int nums[] = {SIGTERM, SIGINT, SIGHUP};
    for (int i = 0; i < 3; i++) {
        uv_signal_init(app->loop, sigs[i]);
        sigs[i]->data = app;
        uv_signal_start(sigs[i], on_signal, nums[i]);
    }
    uv_timer_init(app->loop, &app->housekeeping);
    app->housekeeping.data = app;
    uv_timer_start(&app->housekeeping, on_tick, TICK_MS, TICK_MS);
    uv_timer_init(app->loop, &app->drain);
    app->drain.data = app;
    uv_prepare_init(app->loop, &app->log_flush);
    uv_prepare_start(&app->log_flush, on_prepare);
    app->open_handles = 6;
}

static void log_started(gw_app *app)
{
    gw_logline l;
    if (!gw_log_begin(&l, GW_LOG_INFO, "started"))
        return;
    gw_log_str(&l, "version", ACTORGATE_VERSION);
    char http[96];
    snprintf(http, sizeof(http),
             strchr(app->cfg.http_host, ':') ? "[%s]:%u" : "%s:%u",
             app->cfg.http_host, (unsigned)gw_http_port(app->http));
    gw_log_str(&l, "http", http);
    json_t *info = app->net->ops->info(app->net);
    const char *peer = json_string_value(json_object_get(info, "peer_id"));
    gw_log_str(&l, "peer_id", peer);
    char *addrs = json_dumps(json_object_get(info, "listen_addrs"),
                             JSON_COMPACT | JSON_ENCODE_ANY);
    if (addrs)
        gw_log_raw(&l, "listen_addrs", addrs, strlen(addrs));
    gw_log_str(&l, "swarm", json_string_value(json_object_get(info, "swarm")));
    gw_log_str(&l, "db", app->cfg.db_path);
    gw_log_bool(&l, "admin", app->cfg.admin_token || app->cfg.admin_open);
    gw_log_end(&l);
    free(addrs);
    json_decref(info);
}

static void free_app(gw_app *app)
{
    /* The local net's actor references go before the node that owns
     * them. */
    gw_net_free(app->net);
    app->net = NULL;
    if (app->store) {
        int rc = gw_store_close(app->store);
        if (rc) {
            gw_log_event(GW_LOG_ERROR, "database_close",
                         "some writes were lost: %s", al_strerror(rc));
            app->exit_code = 1;
        } else {
            gw_log_event(GW_LOG_INFO, "database_closed", "%s",
                         app->cfg.db_path);
        }
    }
    if (app->node)
        al_node_free(app->node); /* runs the loop once more for closes */
    if (app->http)
        gw_http_free(app->http);
    gw_idem_free(app->idem);
    gw_namecache_free(app->nc);
    gw_registry_free(app->reg);
    gw_metrics_free(app->metrics);
    json_decref(app->openapi);
    gw_app_free_spare_calls(app);
    free(app->actor_types);
    gw_config_free(&app->cfg);
}

static int prepare(gw_app *app, int argc, char **argv, bool *exit_now)
{
    char err[GW_CONFIG_ERR_MAX];
    *exit_now = true;
    if (gw_config_parse(&app->cfg, argc, argv, NULL, NULL, err, sizeof(err))) {
        fprintf(stderr, "gateway: %s\n", err);
        return 2;
    }
    if (app->cfg.help) {
        gw_config_usage(stdout, argc > 0 ? argv[0] : NULL);
        return 0;
    }
    if (app->cfg.version) {
        printf("gateway %s (actorlib %s)\n", ACTORGATE_VERSION, AL_VERSION);
        return 0;
    }
    if (app->cfg.print_errors) {
        gw_err_print_markdown(stdout);
        return 0;
    }
    *exit_now = false;
    return 0;
}

int gw_main(int argc, char **argv, const gw_hooks *hooks)
{
    gw_app *app = calloc(1, sizeof(*app));
    if (!app)
        return 1;
    bool exit_now;
    int rc = prepare(app, argc, argv, &exit_now);
    if (exit_now) {
        gw_config_free(&app->cfg);
        free(app);
        return rc;
    }
    signal(SIGPIPE, SIG_IGN);
    gw_log_open(NULL, app->cfg.log_level);
    gw_log_capture_actorlib();
    if (getrandom(&app->rid_prefix, sizeof(app->rid_prefix), 0) !=
        sizeof(app->rid_prefix))
        app->rid_prefix = (uint64_t)uv_hrtime();
    app->started_ms = gw_store_now_ms();
    app->started_hr = uv_hrtime();
    gw_app_registry_changed(app);

    al_error e = {0};
    if (al_node_new(&app->node, NULL, &e)) {
        rc = fatal("startup_failed", "%s", e.msg);
        goto out;
    }
    app->loop = al_node_loop(app->node);
    if ((rc = open_state(app)) || (rc = open_net(app, hooks)) ||
        (rc = start_http(app)))
        goto out;
    start_handles(app);
    app->state = GW_APP_RUNNING;
    log_started(app);
    gw_log_set_batching(true);
    al_node_run(app->node);
    gw_log_set_batching(false);
    rc = app->exit_code;
out:
    if (rc && app->node) {
        /* The start failed with the node made: stop it as a run would,
         * so that actors already spawned and the swarm close properly. */
        gw_net_shutdown(app->net);
        al_node_stop(app->node);
        al_node_run(app->node);
    }
    free_app(app);
    if (!rc)
        rc = app->exit_code;
    gw_log_event(GW_LOG_INFO, "exited", "status %d", rc);
    gw_log_flush();
    free(app);
    return rc;
}
