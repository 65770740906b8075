/* Prometheus text exposition from fixed arrays. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

#define NSTATUS 500 /* 100..599 */

static const double bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                1,      2.5,     5,      10,    30,     60};
#define NBUCKETS (sizeof(bounds) / sizeof(bounds[0]))

/* Remote errors: AL_E_ACTOR_NOT_RUNNING (-100) .. AL_E_BAD_REPLY (-118),
 * then the lookup outcomes and one slot for anything else. */
#define REMOTE_FIRST (-AL_E_ACTOR_NOT_RUNNING)
#define REMOTE_LAST  (-AL_E_BAD_REPLY)
#define NREMOTE      (REMOTE_LAST - REMOTE_FIRST + 1)
enum { SLOT_NOTFOUND = NREMOTE, SLOT_TIMEDOUT, SLOT_OTHER, NSLOTS };

struct gw_metrics {
    uint64_t requests[GW_R__COUNT][NSTATUS];
    uint64_t buckets[GW_R__COUNT][NBUCKETS];
    uint64_t hist_count[GW_R__COUNT];
    double hist_sum[GW_R__COUNT];
    uint64_t remote[NSLOTS];
    uint64_t retries;
    uint64_t lookups;
    int64_t inflight;
};

int gw_metrics_new(gw_metrics **out)
{
    *out = calloc(1, sizeof(**out));
    return *out ? 0 : AL_ENOMEM;
}

void gw_metrics_free(gw_metrics *m)
{
    free(m);
}

void gw_metrics_request(gw_metrics *m, enum gw_route_id route, int status,
                        uint64_t duration_ns)
{
    if ((unsigned)route >= GW_R__COUNT)
        route = GW_R_NONE;
    if (status < 100 || status > 599)
        status = 599;
    m->requests[route][status - 100]++;
    double s = (double)duration_ns / 1e9;
    for (size_t i = 0; i < NBUCKETS; i++)
        if (s <= bounds[i])
            m->buckets[route][i]++;
    m->hist_count[route]++;
    m->hist_sum[route] += s;
}

uint64_t gw_metrics_count(const gw_metrics *m, enum gw_route_id route,
                          int status)
{
    if ((unsigned)route >= GW_R__COUNT || status < 100 || status > 599)
        return 0;
    return m->requests[route][status - 100];
}

void gw_metrics_inflight(gw_metrics *m, int delta)
{
    m->inflight += delta;
}

int64_t gw_metrics_get_inflight(const gw_metrics *m)
{
    return m->inflight;
}

static int slot_of(int status)
{
    if (-status >= REMOTE_FIRST && -status <= REMOTE_LAST)
        return -status - REMOTE_FIRST;
    if (status == AL_ENOTFOUND)
        return SLOT_NOTFOUND;
    if (status == AL_ETIMEDOUT)
        return SLOT_TIMEDOUT;
    return SLOT_OTHER;
}

void gw_metrics_remote_error(gw_metrics *m, int status)
{
    m->remote[slot_of(status)]++;
}

void gw_metrics_retry(gw_metrics *m)
{
    m->retries++;
}

void gw_metrics_lookup(gw_metrics *m)
{
    m->lookups++;
}

/* ------------------------------------------------------------ render */

typedef struct out {
    al_buf *b;
    int rc;
} out;

static void emit(out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void emit(out *o, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    if (o->rc)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(line)) {
        o->rc = AL_ELIMIT;
        return;
    }
    o->rc = al_buf_append(o->b, line, (size_t)n);
}

static void head(out *o, const char *name, const char *type, const char *help)
{
    emit(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void render_requests(out *o, const gw_metrics *m)
{
    head(o, "actorgate_http_requests_total", "counter",
         "HTTP requests answered, by route and status.");
    for (int r = 0; r < GW_R__COUNT; r++)
        for (int s = 0; s < NSTATUS; s++)
            if (m->requests[r][s])
                emit(o,
                     "actorgate_http_requests_total{route=\"%s\",status=\"%d\"}"
                     " %llu\n",
                     gw_route_label((enum gw_route_id)r), s + 100,
                     (unsigned long long)m->requests[r][s]);
    head(o, "actorgate_http_request_duration_seconds", "histogram",
         "Time from request headers to the response, by route.");
    for (int r = 0; r < GW_R__COUNT; r++) {
        if (!m->hist_count[r])
            continue;
        const char *label = gw_route_label((enum gw_route_id)r);
        for (size_t i = 0; i < NBUCKETS; i++)
            emit(o,
                 "actorgate_http_request_duration_seconds_bucket{route=\"%s\","
                 "le=\"%g\"} %llu\n",
                 label, bounds[i], (unsigned long long)m->buckets[r][i]);
        emit(o,
             "actorgate_http_request_duration_seconds_bucket{route=\"%s\","
             "le=\"+Inf\"} %llu\n",
             label, (unsigned long long)m->hist_count[r]);
        emit(o,
             "actorgate_http_request_duration_seconds_sum{route=\"%s\"} %.9f\n",
             label, m->hist_sum[r]);
        emit(o,
             "actorgate_http_request_duration_seconds_count{route=\"%s\"} "
             "%llu\n",
             label, (unsigned long long)m->hist_count[r]);
    }
    head(o, "actorgate_http_requests_in_flight", "gauge",
         "Requests received and not answered yet.");
    emit(o, "actorgate_http_requests_in_flight %lld\n", (long long)m->inflight);
}

static void render_remote(out *o, const gw_metrics *m)
{
    head(o, "actorgate_remote_errors_total", "counter",
         "Failed name lookups and remote sends, by kind (Kameo's "
         "RemoteSendError variant).");
    for (int i = 0; i < NSLOTS; i++) {
        const char *kind = i < NREMOTE ? al_status_name(-(i + REMOTE_FIRST))
                           : i == SLOT_NOTFOUND ? "LookupNotFound"
                           : i == SLOT_TIMEDOUT ? "LookupTimeout"
                                                : "Other";
        emit(o, "actorgate_remote_errors_total{kind=\"%s\"} %llu\n", kind,
             (unsigned long long)m->remote[i]);
    }
    head(o, "actorgate_remote_retries_total", "counter",
         "Sends repeated once after the actor's name was resolved again.");
    emit(o, "actorgate_remote_retries_total %llu\n",
         (unsigned long long)m->retries);
    head(o, "actorgate_name_lookups_total", "counter",
         "Name lookups started in the swarm (concurrent requests for one "
         "name share one).");
    emit(o, "actorgate_name_lookups_total %llu\n",
         (unsigned long long)m->lookups);
}

static void render_snapshot(out *o, const gw_metrics_snapshot *s)
{
    head(o, "actorgate_name_cache_hits_total", "counter",
         "Actor name lookups answered from the cache.");
    emit(o, "actorgate_name_cache_hits_total %llu\n",
         (unsigned long long)s->cache_hits);
    head(o, "actorgate_name_cache_misses_total", "counter",
         "Actor name lookups that went to the swarm (absent or expired).");
    emit(o, "actorgate_name_cache_misses_total %llu\n",
         (unsigned long long)(s->cache_misses + s->cache_stale));
    head(o, "actorgate_name_cache_negative_hits_total", "counter",
         "Lookups answered 404 from a remembered absence.");
    emit(o, "actorgate_name_cache_negative_hits_total %llu\n",
         (unsigned long long)s->cache_negative_hits);
    head(o, "actorgate_name_cache_evictions_total", "counter",
         "Names evicted (actor or node gone, admin).");
    emit(o, "actorgate_name_cache_evictions_total %llu\n",
         (unsigned long long)s->cache_evictions);
    head(o, "actorgate_name_cache_entries", "gauge", "Names cached.");
    emit(o, "actorgate_name_cache_entries %zu\n", s->cache_entries);
    head(o, "actorgate_swarm_peers", "gauge", "Connected swarm peers.");
    emit(o, "actorgate_swarm_peers %zu\n", s->peers);
    head(o, "actorgate_ready", "gauge",
         "1 when /readyz answers 204 (swarm up, database open).");
    emit(o, "actorgate_ready %d\n", s->ready ? 1 : 0);
    head(o, "actorgate_idempotency_replays_total", "counter",
         "Stored answers replayed for a repeated Idempotency-Key.");
    emit(o, "actorgate_idempotency_replays_total %llu\n",
         (unsigned long long)s->idem_replays);
    head(o, "actorgate_idempotency_conflicts_total", "counter",
         "Idempotency-Key reused for another request (409).");
    emit(o, "actorgate_idempotency_conflicts_total %llu\n",
         (unsigned long long)s->idem_conflicts);
    head(o, "actorgate_idempotency_entries", "gauge",
         "Stored idempotent answers.");
    emit(o, "actorgate_idempotency_entries %zu\n", s->idem_entries);
    head(o, "actorgate_store_writes_total", "counter",
         "Database writes by outcome.");
    emit(o, "actorgate_store_writes_total{result=\"committed\"} %llu\n",
         (unsigned long long)s->store_committed);
    emit(o, "actorgate_store_writes_total{result=\"failed\"} %llu\n",
         (unsigned long long)s->store_failed);
    emit(o, "actorgate_store_writes_total{result=\"rejected\"} %llu\n",
         (unsigned long long)s->store_rejected);
    head(o, "actorgate_store_queue_length", "gauge",
         "Database writes waiting for the writer thread.");
    emit(o, "actorgate_store_queue_length %u\n", s->store_queue);
    head(o, "actorgate_schema_subjects", "gauge",
         "Message schemas (subjects) with a live version.");
    emit(o, "actorgate_schema_subjects %zu\n", s->schemas);
    head(o, "actorgate_uptime_seconds", "gauge", "Seconds since start.");
    emit(o, "actorgate_uptime_seconds %.3f\n", s->uptime_s);
    head(o, "actorgate_build_info", "gauge", "The gateway's version.");
    emit(o, "actorgate_build_info{version=\"%s\"} 1\n", AL_VERSION);
}

int gw_metrics_render(const gw_metrics *m, const gw_metrics_snapshot *s,
                      al_buf *b)
{
    out o = {b, 0};
    render_requests(&o, m);
    render_remote(&o, m);
    render_snapshot(&o, s);
    return o.rc;
}
