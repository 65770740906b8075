/*
 * Counters for GET /metrics, in Prometheus' text exposition format 0.0.4:
 * requests by route and status, a latency histogram by route, requests in
 * flight, name-cache hits and misses, peers, remote errors by kind.
 *
 * Counting is a few array increments on the loop thread; gauges owned by
 * other modules (cache, swarm, store) are read at render time from the
 * snapshot the caller passes. Loop thread only.
 */
#ifndef GW_METRICS_H
#define GW_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actorlib.h"
#include "routes.h"

typedef struct gw_metrics gw_metrics;

/* Values that live elsewhere, read when rendering. */
typedef struct gw_metrics_snapshot {
    uint64_t cache_hits, cache_misses, cache_stale, cache_negative_hits;
    uint64_t cache_evictions;
    size_t cache_entries;
    size_t peers;
    bool ready;
    uint64_t idem_replays, idem_conflicts;
    size_t idem_entries;
    uint64_t store_committed, store_failed, store_rejected;
    uint32_t store_queue;
    size_t schemas; /* live subjects */
    double uptime_s;
} gw_metrics_snapshot;

int gw_metrics_new(gw_metrics **out);
void gw_metrics_free(gw_metrics *m);

/* One finished request. status outside 100..599 counts as 599. */
void gw_metrics_request(gw_metrics *m, enum gw_route_id route, int status,
                        uint64_t duration_ns);
void gw_metrics_inflight(gw_metrics *m, int delta);
int64_t gw_metrics_get_inflight(const gw_metrics *m);
/* A failed lookup or remote send, by its al_status (Kameo variant). */
void gw_metrics_remote_error(gw_metrics *m, int status);
/* Requests sent to an actor once more after re-resolving its name. */
void gw_metrics_retry(gw_metrics *m);
/* A name lookup started in the swarm (requests waiting for the same name
 * share one). */
void gw_metrics_lookup(gw_metrics *m);

/* Appends the exposition text to out. */
int gw_metrics_render(const gw_metrics *m, const gw_metrics_snapshot *s,
                      al_buf *out);

/* Requests counted for (route, status): for tests. */
uint64_t gw_metrics_count(const gw_metrics *m, enum gw_route_id route,
                          int status);

#endif
