/*
 * The gateway's configuration: command-line flags, with ACTORGATE_*
 * environment variables as fallbacks and defaults below both. A flag wins
 * over its variable; a repeatable flag (--bootstrap) given at least once
 * replaces the variable's whole list.
 *
 * Ownership: gw_config_parse fills a gw_config whose strings it allocates;
 * gw_config_free releases them. Nothing here keeps pointers into argv.
 */
#ifndef GW_CONFIG_H
#define GW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "log.h"

#define GW_DEFAULT_HTTP           "127.0.0.1:8080"
#define GW_DEFAULT_LISTEN         "/ip4/0.0.0.0/udp/8021/quic-v1"
#define GW_DEFAULT_DB             "./actorgate.db"
#define GW_DEFAULT_SCHEMAS        "./schemas"
#define GW_DEFAULT_BODY_LIMIT     (1024u * 1024u)
#define GW_DEFAULT_TIMEOUT_MS     5000u
#define GW_DEFAULT_MAX_TIMEOUT_MS 60000u
#define GW_DEFAULT_NAME_TTL_MS    300000u
#define GW_DEFAULT_NEG_TTL_MS     5000u
#define GW_DEFAULT_DRAIN_MS       5000u
#define GW_DEFAULT_MAX_INFLIGHT   10000u
#define GW_DEFAULT_MAX_CONNS      4096u

#define GW_CONFIG_BOOTSTRAP_MAX 64
#define GW_CONFIG_ERR_MAX       256

typedef struct gw_config {
    char *http_host; /* an IP literal, without brackets */
    uint16_t http_port;
    char *listen;     /* swarm listen multiaddr */
    char **bootstrap; /* multiaddrs to dial at start */
    size_t nbootstrap;
    char *key_file; /* NULL: a new random identity at every start */
    char *db_path;
    char *schemas_dir;
    char *admin_token;       /* NULL: admin needs admin_open */
    bool admin_open;         /* local development: /admin without a token */
    size_t body_limit;       /* request body bytes */
    uint32_t timeout_ms;     /* reply timeout when X-Timeout-Ms is absent */
    uint32_t max_timeout_ms; /* cap for X-Timeout-Ms and X-Mailbox-Timeout-Ms */
    uint32_t name_ttl_ms;    /* name cache: resolved names */
    uint32_t negative_ttl_ms; /* name cache: names not found; 0 = off */
    uint32_t drain_ms;        /* SIGTERM: how long in-flight requests get */
    uint32_t max_inflight;    /* requests being handled; beyond: 429 */
    uint32_t max_connections; /* open HTTP connections */
    int log_level;            /* enum gw_log_level */
    bool help;                /* --help: print usage, exit 0 */
    bool version;             /* --version */
    bool print_errors;        /* --print-errors: the error table, markdown */
} gw_config;

/* Reads an environment variable; returns NULL when unset. Injected so that
 * tests need not touch the process environment. */
typedef const char *(*gw_getenv_fn)(const char *name, void *ud);

/* Fills cfg from argv (argv[0] is skipped) and the environment through
 * env (NULL: getenv). Returns 0, or AL_EINVAL with a sentence naming the
 * flag or variable in err (cap bytes). cfg is always safe to free. */
int gw_config_parse(gw_config *cfg, int argc, char **argv, gw_getenv_fn env,
                    void *env_ud, char *err, size_t cap);
void gw_config_free(gw_config *cfg);

/* The --help text. */
void gw_config_usage(FILE *out, const char *prog);

/* Parses "HOST:PORT", "[V6]:PORT" or ":PORT" (all IPv4 interfaces);
 * "localhost" means 127.0.0.1. The host must be an IP literal. host gets
 * the literal without brackets. Returns 0 or AL_EINVAL. */
int gw_parse_hostport(const char *s, char *host, size_t cap, uint16_t *port);

/* Parses a byte count: digits with an optional suffix k, K, KiB, m, M, MiB
 * (powers of 1024). Returns 0 or AL_EINVAL (also on overflow). */
int gw_parse_size(const char *s, size_t *out);

/* Parses a decimal integer in [min, max], nothing else around it. */
int gw_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);

#endif
