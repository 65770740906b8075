/* Flags, ACTORGATE_* fallbacks, defaults. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"

enum opt_kind { K_STR, K_HOSTPORT, K_LIST, K_SIZE, K_MS, K_U32, K_BOOL, K_LOG };

typedef struct opt {
    const char *flag; /* without the leading "--" */
    const char *env;  /* ACTORGATE_... or NULL */
    enum opt_kind kind;
    size_t offset;
    uint32_t min, max; /* K_MS, K_U32 */
    const char *arg;   /* for --help; NULL: takes no value */
    const char *help;
} opt;

#define OFF(f) offsetof(gw_config, f)

static const opt opts[] = {
    {"http", "ACTORGATE_HTTP", K_HOSTPORT, 0, 0, 0, "HOST:PORT",
     "HTTP listen address (default " GW_DEFAULT_HTTP ")"},
    {"listen", "ACTORGATE_LISTEN", K_STR, OFF(listen), 0, 0, "MULTIADDR",
     "swarm listen address (default " GW_DEFAULT_LISTEN ")"},
    {"bootstrap", "ACTORGATE_BOOTSTRAP", K_LIST, 0, 0, 0, "MULTIADDR",
     "peer to dial at start, .../p2p/ID; repeatable (env: comma-separated)"},
    {"key", "ACTORGATE_KEY", K_STR, OFF(key_file), 0, 0, "FILE",
     "Ed25519 host key (PKCS#8 PEM), created if missing; default: a new "
     "random key at every start"},
    {"db", "ACTORGATE_DB", K_STR, OFF(db_path), 0, 0, "PATH",
     "SQLite database (default " GW_DEFAULT_DB ")"},
    {"schemas", "ACTORGATE_SCHEMAS", K_STR, OFF(schemas_dir), 0, 0, "DIR",
     "message schema folder, loaded at start and on SIGHUP "
     "(default " GW_DEFAULT_SCHEMAS ")"},
    {"admin-token", "ACTORGATE_ADMIN_TOKEN", K_STR, OFF(admin_token), 0, 0,
     "TOKEN",
     "bearer token for /admin (prefer the variable: flags show in ps)"},
    {"admin-open", "ACTORGATE_ADMIN_OPEN", K_BOOL, OFF(admin_open), 0, 0, NULL,
     "local development only: /admin without a token"},
    {"body-limit", "ACTORGATE_BODY_LIMIT", K_SIZE, OFF(body_limit), 0, 0,
     "BYTES", "largest request body, suffix K or M allowed (default 1M)"},
    {"timeout-ms", "ACTORGATE_TIMEOUT_MS", K_MS, OFF(timeout_ms), 1, 86400000,
     "MS", "reply timeout without X-Timeout-Ms (default 5000)"},
    {"max-timeout-ms", "ACTORGATE_MAX_TIMEOUT_MS", K_MS, OFF(max_timeout_ms), 1,
     86400000, "MS",
     "cap for X-Timeout-Ms and X-Mailbox-Timeout-Ms (default 60000)"},
    {"name-ttl-ms", "ACTORGATE_NAME_TTL_MS", K_MS, OFF(name_ttl_ms), 1,
     86400000, "MS", "how long a resolved actor name is kept (default 300000)"},
    {"negative-ttl-ms", "ACTORGATE_NEGATIVE_TTL_MS", K_MS, OFF(negative_ttl_ms),
     0, 3600000, "MS",
     "how long an unknown actor name is remembered, 0 = off (default 5000)"},
    {"drain-ms", "ACTORGATE_DRAIN_MS", K_MS, OFF(drain_ms), 0, 600000, "MS",
     "SIGTERM/SIGINT: time in-flight requests get to finish (default 5000)"},
    {"max-inflight", "ACTORGATE_MAX_INFLIGHT", K_U32, OFF(max_inflight), 1,
     1000000, "N", "requests handled at once; beyond: 429 (default 10000)"},
    {"max-connections", "ACTORGATE_MAX_CONNECTIONS", K_U32,
     OFF(max_connections), 1, 1000000, "N",
     "open HTTP connections (default 4096)"},
    {"log-level", "ACTORGATE_LOG_LEVEL", K_LOG, OFF(log_level), 0, 0, "LEVEL",
     "error, warn, info or debug (default info)"},
    {"print-errors", NULL, K_BOOL, OFF(print_errors), 0, 0, NULL,
     "print the HTTP error table (markdown) and exit"},
    {"version", NULL, K_BOOL, OFF(version), 0, 0, NULL, "print the version"},
    {"help", NULL, K_BOOL, OFF(help), 0, 0, NULL, "this text"},
};

#define NOPTS (sizeof(opts) / sizeof(opts[0]))

static int fail(char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t cap, const char *fmt, ...)
{
    if (err && cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, cap, fmt, ap);
        va_end(ap);
    }
    return AL_EINVAL;
}

/* ------------------------------------------------------------ parsers */

int gw_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return AL_EINVAL;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return AL_EINVAL;
        v = v * 10 + (uint64_t)(*s - '0');
        if (v > UINT32_MAX)
            return AL_EINVAL;
    }
    if (v < min || v > max)
        return AL_EINVAL;
    *out = (uint32_t)v;
    return 0;
}

int gw_parse_size(const char *s, size_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return AL_EINVAL;
    uint64_t v = 0;
    while (*s >= '0' && *s <= '9') {
        v = v * 10 + (uint64_t)(*s++ - '0');
        if (v > ((uint64_t)1 << 40))
            return AL_EINVAL;
    }
    uint64_t mul = 1;
    if (*s) {
        if (strcmp(s, "k") == 0 || strcmp(s, "K") == 0 || strcmp(s, "KiB") == 0)
            mul = 1024;
        else if (strcmp(s, "m") == 0 || strcmp(s, "M") == 0 ||
                 strcmp(s, "MiB") == 0)
            mul = 1024 * 1024;
        else
            return AL_EINVAL;
    }
    v *= mul;
    if (v > ((uint64_t)1 << 40) || v > SIZE_MAX)
        return AL_EINVAL;
    *out = (size_t)v;
    return 0;
}

int gw_parse_hostport(const char *s, char *host, size_t cap, uint16_t *port)
{
    const char *colon;
    const char *h;
    size_t hlen;
    if (!s || !*s)
        return AL_EINVAL;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return AL_EINVAL;
        h = s + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || memchr(s, ':', (size_t)(colon - s)))
            return AL_EINVAL; /* a bare IPv6 needs brackets */
        h = s;
        hlen = (size_t)(colon - s);
    }
    uint32_t p;
    if (gw_parse_u32(colon + 1, 1, 65535, &p))
        return AL_EINVAL;
    char tmp[64];
    if (hlen == 0) {
        snprintf(tmp, sizeof(tmp), "0.0.0.0");
    } else if (hlen < sizeof(tmp)) {
        memcpy(tmp, h, hlen);
        tmp[hlen] = 0;
        if (strcmp(tmp, "localhost") == 0)
            snprintf(tmp, sizeof(tmp), "127.0.0.1");
    } else {
        return AL_EINVAL;
    }
    unsigned char addr[16];
    bool v6 = s[0] == '[';
    if (inet_pton(v6 ? AF_INET6 : AF_INET, tmp, addr) != 1)
        return AL_EINVAL;
    if (strlen(tmp) >= cap)
        return AL_EINVAL;
    memcpy(host, tmp, strlen(tmp) + 1);
    *port = (uint16_t)p;
    return 0;
}

static int parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off", ""};
    for (size_t i = 0; i < 4; i++)
        if (strcasecmp(s, yes[i]) == 0)
            return *out = true, 0;
    for (size_t i = 0; i < 5; i++)
        if (strcasecmp(s, no[i]) == 0)
            return *out = false, 0;
    return AL_EINVAL;
}

/* ------------------------------------------------------------ config */

static void free_list(gw_config *cfg)
{
    for (size_t i = 0; i < cfg->nbootstrap; i++)
        free(cfg->bootstrap[i]);
    free(cfg->bootstrap);
    cfg->bootstrap = NULL;
    cfg->nbootstrap = 0;
}

void gw_config_free(gw_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->http_host);
    free(cfg->listen);
    free(cfg->key_file);
    free(cfg->db_path);
    free(cfg->schemas_dir);
    if (cfg->admin_token) {
        /* Keep the secret out of whatever reuses the memory. */
        explicit_bzero(cfg->admin_token, strlen(cfg->admin_token));
        free(cfg->admin_token);
    }
    free_list(cfg);
    memset(cfg, 0, sizeof(*cfg));
}

static int set_str(char **slot, const char *v)
{
    char *copy = strdup(v);
    if (!copy)
        return AL_ENOMEM;
    free(*slot);
    *slot = copy;
    return 0;
}

static int list_add(gw_config *cfg, const char *v, size_t n)
{
    if (cfg->nbootstrap >= GW_CONFIG_BOOTSTRAP_MAX)
        return AL_ELIMIT;
    char **grown =
        realloc(cfg->bootstrap, (cfg->nbootstrap + 1) * sizeof(*grown));
    if (!grown)
        return AL_ENOMEM;
    cfg->bootstrap = grown;
    char *copy = strndup(v, n);
    if (!copy)
        return AL_ENOMEM;
    cfg->bootstrap[cfg->nbootstrap++] = copy;
    return 0;
}

/* Comma-separated; blanks around items ignored, empty items skipped. */
static int list_from_env(gw_config *cfg, const char *v)
{
    while (*v) {
        while (*v == ' ' || *v == ',')
            v++;
        const char *end = v;
        while (*end && *end != ',')
            end++;
        size_t n = (size_t)(end - v);
        while (n && v[n - 1] == ' ')
            n--;
        if (n) {
            int rc = list_add(cfg, v, n);
            if (rc)
                return rc;
        }
        v = end;
    }
    return 0;
}

static int apply(gw_config *cfg, const opt *o, const char *v, const char *who,
                 char *err, size_t cap)
{
    char *base = (char *)cfg;
    int rc = 0;
    switch (o->kind) {
    case K_STR:
        if (!*v)
            return fail(err, cap, "%s: empty value", who);
        rc = set_str((char **)(base + o->offset), v);
        break;
    case K_HOSTPORT: {
        char host[64];
        uint16_t port;
        if (gw_parse_hostport(v, host, sizeof(host), &port))
            return fail(err, cap,
                        "%s: '%s' is not HOST:PORT (an IP address or "
                        "localhost, [v6]:port for IPv6)",
                        who, v);
        rc = set_str(&cfg->http_host, host);
        cfg->http_port = port;
        break;
    }
    case K_LIST:
        rc = list_add(cfg, v, strlen(v));
        if (rc == AL_ELIMIT)
            return fail(err, cap, "%s: more than %d addresses", who,
                        GW_CONFIG_BOOTSTRAP_MAX);
        break;
    case K_SIZE: {
        size_t n;
        if (gw_parse_size(v, &n) || n == 0)
            return fail(err, cap, "%s: '%s' is not a byte count", who, v);
        *(size_t *)(base + o->offset) = n;
        break;
    }
    case K_MS:
    case K_U32: {
        uint32_t n;
        if (gw_parse_u32(v, o->min, o->max, &n))
            return fail(err, cap, "%s: '%s' is not an integer in %u..%u", who,
                        v, o->min, o->max);
        *(uint32_t *)(base + o->offset) = n;
        break;
    }
    case K_BOOL: {
        bool b;
        if (parse_bool(v, &b))
            return fail(err, cap, "%s: '%s' is not true or false", who, v);
        *(bool *)(base + o->offset) = b;
        break;
    }
    case K_LOG: {
        int lv = gw_log_level_parse(v);
        if (lv < 0)
            return fail(err, cap, "%s: '%s' is not error, warn, info or debug",
                        who, v);
        cfg->log_level = lv;
        break;
    }
    }
    if (rc == AL_ENOMEM)
        return fail(err, cap, "out of memory");
    return rc;
}

static const opt *find_flag(const char *name, size_t n)
{
    for (size_t i = 0; i < NOPTS; i++)
        if (strlen(opts[i].flag) == n && memcmp(opts[i].flag, name, n) == 0)
            return &opts[i];
    return NULL;
}

static int set_defaults(gw_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    char host[64];
    uint16_t port;
    if (gw_parse_hostport(GW_DEFAULT_HTTP, host, sizeof(host), &port))
        return AL_EINVAL;
    cfg->http_port = port;
    cfg->body_limit = GW_DEFAULT_BODY_LIMIT;
    cfg->timeout_ms = GW_DEFAULT_TIMEOUT_MS;
    cfg->max_timeout_ms = GW_DEFAULT_MAX_TIMEOUT_MS;
    cfg->name_ttl_ms = GW_DEFAULT_NAME_TTL_MS;
    cfg->negative_ttl_ms = GW_DEFAULT_NEG_TTL_MS;
    cfg->drain_ms = GW_DEFAULT_DRAIN_MS;
    cfg->max_inflight = GW_DEFAULT_MAX_INFLIGHT;
    cfg->max_connections = GW_DEFAULT_MAX_CONNS;
    cfg->log_level = GW_LOG_INFO;
    if (set_str(&cfg->http_host, host) ||
        set_str(&cfg->listen, GW_DEFAULT_LISTEN) ||
        set_str(&cfg->db_path, GW_DEFAULT_DB) ||
        set_str(&cfg->schemas_dir, GW_DEFAULT_SCHEMAS))
        return AL_ENOMEM;
    return 0;
}

static const char *real_getenv(const char *name, void *ud)
{
    (void)ud;
    return getenv(name);
}

int gw_config_parse(gw_config *cfg, int argc, char **argv, gw_getenv_fn env,
                    void *env_ud, char *err, size_t cap)
{
    if (err && cap)
        err[0] = 0;
    if (set_defaults(cfg))
        return fail(err, cap, "out of memory");
    if (!env)
        env = real_getenv;
    int rc;
    /* The environment first, so that flags override it. */
    for (size_t i = 0; i < NOPTS; i++) {
        const opt *o = &opts[i];
        const char *v = o->env ? env(o->env, env_ud) : NULL;
        if (!v)
            continue;
        if (o->kind == K_LIST) {
            if ((rc = list_from_env(cfg, v)))
                return rc == AL_ELIMIT
                           ? fail(err, cap, "%s: more than %d addresses",
                                  o->env, GW_CONFIG_BOOTSTRAP_MAX)
                           : fail(err, cap, "out of memory");
            continue;
        }
        if ((rc = apply(cfg, o, v, o->env, err, cap)))
            return rc;
    }
    bool list_from_flags = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0) {
            cfg->help = true;
            continue;
        }
        if (strncmp(a, "--", 2) != 0)
            return fail(err, cap, "unexpected argument '%s' (see --help)", a);
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        const opt *o = find_flag(name, nlen);
        if (!o)
            return fail(err, cap, "unknown flag '%.*s' (see --help)",
                        (int)(nlen + 2), a);
        const char *v;
        if (!o->arg) {
            v = eq ? eq + 1 : "true";
        } else if (eq) {
            v = eq + 1;
        } else if (i + 1 < argc) {
            v = argv[++i];
        } else {
            return fail(err, cap, "--%s needs a value (%s)", o->flag, o->arg);
        }
        if (o->kind == K_LIST && !list_from_flags) {
            free_list(cfg);
            list_from_flags = true;
        }
        char who[64];
        snprintf(who, sizeof(who), "--%s", o->flag);
        if ((rc = apply(cfg, o, v, who, err, cap)))
            return rc;
    }
    if (cfg->max_timeout_ms < cfg->timeout_ms)
        return fail(err, cap,
                    "--timeout-ms (%u) is larger than --max-timeout-ms (%u)",
                    cfg->timeout_ms, cfg->max_timeout_ms);
    if (cfg->admin_token && strlen(cfg->admin_token) < 16)
        return fail(err, cap,
                    "the admin token must have at least 16 "
                    "characters");
    return 0;
}

void gw_config_usage(FILE *out, const char *prog)
{
    fprintf(out,
            "usage: %s [flags]\n\n"
            "HTTP gateway to a swarm of actors: POST "
            "/v1/actors/{name}/ask/{message}\n"
            "turns JSON into a remote ask and the reply back into JSON.\n\n"
            "Flags (each also read from the variable shown):\n",
            prog ? prog : "gateway");
    for (size_t i = 0; i < NOPTS; i++) {
        const opt *o = &opts[i];
        char left[64];
        snprintf(left, sizeof(left), "--%s%s%s", o->flag, o->arg ? " " : "",
                 o->arg ? o->arg : "");
        fprintf(out, "  %-28s %s\n", left, o->help);
        if (o->env)
            fprintf(out, "  %-28s [%s]\n", "", o->env);
    }
    fprintf(out, "\nSignals: SIGTERM/SIGINT drain and exit 0, SIGHUP reloads "
                 "the schema folder.\n"
                 "Logs: one JSON object per line on stdout.\n");
}
