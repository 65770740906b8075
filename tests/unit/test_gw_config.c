/* config.c: defaults, flags, ACTORGATE_* fallbacks, precedence, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"

/* A fake environment: NULL-terminated name/value pairs. */
static const char *const *fake_env;

static const char *env_fn(const char *name, void *ud)
{
    (void)ud;
    for (const char *const *p = fake_env; p && p[0]; p += 2)
        if (strcmp(p[0], name) == 0)
            return p[1];
    return NULL;
}

static int parse(gw_config *cfg, char *err, int argc, char **argv,
                 const char *const *env)
{
    fake_env = env;
    return gw_config_parse(cfg, argc, argv, env_fn, NULL, err,
                           GW_CONFIG_ERR_MAX);
}

static void defaults(void **state)
{
    (void)state;
    gw_config cfg;
    char err[GW_CONFIG_ERR_MAX];
    char *argv[] = {"gateway", NULL};
    assert_int_equal(parse(&cfg, err, 1, argv, NULL), 0);
    assert_string_equal(cfg.http_host, "127.0.0.1");
    assert_int_equal(cfg.http_port, 8080);
    assert_string_equal(cfg.listen, GW_DEFAULT_LISTEN);
    assert_string_equal(cfg.db_path, "./actorgate.db");
    assert_string_equal(cfg.schemas_dir, "./schemas");
    assert_null(cfg.key_file);
    assert_null(cfg.admin_token);
    assert_false(cfg.admin_open);
    assert_int_equal(cfg.nbootstrap, 0);
    assert_int_equal(cfg.body_limit, 1024 * 1024);
    assert_int_equal(cfg.timeout_ms, 5000);
    assert_int_equal(cfg.max_timeout_ms, 60000);
    assert_int_equal(cfg.log_level, GW_LOG_INFO);
    assert_false(cfg.help);
    gw_config_free(&cfg);
}

static void flags(void **state)
{
    (void)state;
    gw_config cfg;
    char err[GW_CONFIG_ERR_MAX];
    char *argv[] = {"gateway",
                    "--http",
                    "[::1]:9000",
                    "--listen=/ip4/127.0.0.1/udp/9001/quic-v1",
                    "--bootstrap",
                    "/ip4/127.0.0.1/udp/1/quic-v1/p2p/A",
                    "--bootstrap",
                    "/ip4/127.0.0.1/udp/2/quic-v1/p2p/B",
                    "--key",
                    "k.pem",
                    "--db",
                    "x.db",
                    "--schemas",
                    "s",
                    "--admin-token",
                    "0123456789abcdef",
                    "--body-limit",
                    "64K",
                    "--timeout-ms",
                    "250",
                    "--max-timeout-ms",
                    "1000",
                    "--admin-open",
                    "--log-level",
                    "debug",
                    NULL};
    assert_int_equal(parse(&cfg, err, 25, argv, NULL), 0);
    assert_string_equal(cfg.http_host, "::1");
    assert_int_equal(cfg.http_port, 9000);
    assert_string_equal(cfg.listen, "/ip4/127.0.0.1/udp/9001/quic-v1");
    assert_int_equal(cfg.nbootstrap, 2);
    assert_string_equal(cfg.bootstrap[1], "/ip4/127.0.0.1/udp/2/quic-v1/p2p/B");
    assert_string_equal(cfg.key_file, "k.pem");
    assert_string_equal(cfg.db_path, "x.db");
    assert_string_equal(cfg.schemas_dir, "s");
    assert_string_equal(cfg.admin_token, "0123456789abcdef");
    assert_int_equal(cfg.body_limit, 65536);
    assert_int_equal(cfg.timeout_ms, 250);
    assert_int_equal(cfg.max_timeout_ms, 1000);
    assert_true(cfg.admin_open);
    assert_int_equal(cfg.log_level, GW_LOG_DEBUG);
    gw_config_free(&cfg);
}

static void environment_and_precedence(void **state)
{
    (void)state;
    gw_config cfg;
    char err[GW_CONFIG_ERR_MAX];
    static const char *const env[] = {
        "ACTORGATE_HTTP",
        "0.0.0.0:7000",
        "ACTORGATE_DB",
        "env.db",
        "ACTORGATE_BOOTSTRAP",
        " /a/1 , /b/2,,/c/3 ",
        "ACTORGATE_ADMIN_OPEN",
        "yes",
        "ACTORGATE_TIMEOUT_MS",
        "700",
        "ACTORGATE_BODY_LIMIT",
        "2M",
        "ACTORGATE_ADMIN_TOKEN",
        "from-the-environment",
        NULL,
    };
    char *argv[] = {"gateway", "--db", "flag.db", NULL};
    assert_int_equal(parse(&cfg, err, 3, argv, env), 0);
    assert_string_equal(cfg.http_host, "0.0.0.0");
    assert_int_equal(cfg.http_port, 7000);
    assert_string_equal(cfg.db_path, "flag.db"); /* the flag wins */
    assert_int_equal(cfg.nbootstrap, 3);
    assert_string_equal(cfg.bootstrap[0], "/a/1");
    assert_string_equal(cfg.bootstrap[1], "/b/2");
    assert_string_equal(cfg.bootstrap[2], "/c/3");
    assert_true(cfg.admin_open);
    assert_int_equal(cfg.timeout_ms, 700);
    assert_int_equal(cfg.body_limit, 2 * 1024 * 1024);
    assert_string_equal(cfg.admin_token, "from-the-environment");
    gw_config_free(&cfg);
    /* A --bootstrap flag replaces the variable's list. */
    char *argv2[] = {"gateway", "--bootstrap", "/d/4", NULL};
    assert_int_equal(parse(&cfg, err, 3, argv2, env), 0);
    assert_int_equal(cfg.nbootstrap, 1);
    assert_string_equal(cfg.bootstrap[0], "/d/4");
    gw_config_free(&cfg);
}

static void errors(void **state)
{
    (void)state;
    static const struct {
        const char *a, *b;
        const char *mention;
    } bad[] = {
        {"--http", "8080", "--http"},
        {"--http", "localhost:0", "--http"},
        {"--http", "::1:80", "--http"},
        {"--http", "example.com:80", "--http"},
        {"--http", "1.2.3.4:65536", "--http"},
        {"--timeout-ms", "0", "--timeout-ms"},
        {"--timeout-ms", "12x", "--timeout-ms"},
        {"--body-limit", "1G", "--body-limit"},
        {"--body-limit", "0", "--body-limit"},
        {"--log-level", "loud", "--log-level"},
        {"--admin-token", "short", "16 characters"},
        {"--admin-open=maybe", NULL, "--admin-open"},
        {"--nope", NULL, "unknown flag '--nope'"},
        {"positional", NULL, "unexpected argument"},
        {"--db", NULL, "needs a value"},
        {"--db", "", "empty"},
        {"--timeout-ms", "70000", "larger than --max-timeout-ms"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        gw_config cfg;
        char err[GW_CONFIG_ERR_MAX];
        char *argv[] = {"gateway", (char *)bad[i].a, (char *)bad[i].b, NULL};
        int argc = bad[i].b ? 3 : 2;
        assert_int_equal(parse(&cfg, err, argc, argv, NULL), AL_EINVAL);
        if (!strstr(err, bad[i].mention))
            fail_msg("case %zu: '%s' does not mention '%s'", i, err,
                     bad[i].mention);
        gw_config_free(&cfg);
    }
    /* A bad variable names the variable. */
    static const char *const env[] = {"ACTORGATE_MAX_INFLIGHT", "lots", NULL};
    gw_config cfg;
    char err[GW_CONFIG_ERR_MAX];
    char *argv[] = {"gateway", NULL};
    assert_int_equal(parse(&cfg, err, 1, argv, env), AL_EINVAL);
    assert_non_null(strstr(err, "ACTORGATE_MAX_INFLIGHT"));
    gw_config_free(&cfg);
}

static void help_and_helpers(void **state)
{
    (void)state;
    gw_config cfg;
    char err[GW_CONFIG_ERR_MAX];
    char *argv[] = {"gateway", "-h", NULL};
    assert_int_equal(parse(&cfg, err, 2, argv, NULL), 0);
    assert_true(cfg.help);
    gw_config_free(&cfg);
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    gw_config_usage(f, "gw");
    fclose(f);
    static const char *const must[] = {
        "--http HOST:PORT", "--listen MULTIADDR", "--bootstrap MULTIADDR",
        "--key FILE",       "--db PATH",          "--schemas DIR",
        "--admin-token",    "ACTORGATE_HTTP",     "SIGHUP",
    };
    for (size_t i = 0; i < sizeof(must) / sizeof(must[0]); i++)
        assert_non_null(strstr(text, must[i]));
    free(text);

    char host[64];
    uint16_t port;
    assert_int_equal(gw_parse_hostport(":81", host, sizeof(host), &port), 0);
    assert_string_equal(host, "0.0.0.0");
    assert_int_equal(port, 81);
    assert_int_equal(gw_parse_hostport("localhost:82", host, 4, &port),
                     AL_EINVAL);
    size_t n;
    assert_int_equal(gw_parse_size("3KiB", &n), 0);
    assert_int_equal(n, 3072);
    assert_int_equal(gw_parse_size("5", &n), 0);
    assert_int_equal(n, 5);
    assert_int_equal(gw_parse_size("99999999999999999999", &n), AL_EINVAL);
    assert_int_equal(gw_parse_size("-1", &n), AL_EINVAL);
    uint32_t v;
    assert_int_equal(gw_parse_u32("4294967295", 0, UINT32_MAX, &v), 0);
    assert_int_equal(v, UINT32_MAX);
    assert_int_equal(gw_parse_u32("4294967296", 0, UINT32_MAX, &v), AL_EINVAL);
    assert_int_equal(gw_parse_u32("", 0, 1, &v), AL_EINVAL);
    assert_int_equal(gw_parse_u32("5", 6, 9, &v), AL_EINVAL);
    assert_int_equal(gw_log_level_parse("WARNING"), GW_LOG_WARN);
    assert_int_equal(gw_log_level_parse(NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults),
        cmocka_unit_test(flags),
        cmocka_unit_test(environment_and_precedence),
        cmocka_unit_test(errors),
        cmocka_unit_test(help_and_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
