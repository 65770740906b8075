/* JSON lines on stdout, batched per loop iteration. */
#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"

#define BATCH_MAX (64u * 1024u)

static struct {
    pthread_mutex_t lock;
    FILE *out;
    int max_level;
    bool batching;
    al_buf pending;
} sink = {PTHREAD_MUTEX_INITIALIZER, NULL, GW_LOG_INFO, false, {0}};

static const char *const level_names[] = {"error", "warn", "info", "debug"};

int gw_log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (s && strcasecmp(s, level_names[i]) == 0)
            return i;
    if (s && strcasecmp(s, "warning") == 0)
        return GW_LOG_WARN;
    return -1;
}

const char *gw_log_level_name(int level)
{
    return level >= 0 && level < 4 ? level_names[level] : "info";
}

void gw_log_open(FILE *out, int max_level)
{
    pthread_mutex_lock(&sink.lock);
    sink.out = out;
    sink.max_level = max_level;
    pthread_mutex_unlock(&sink.lock);
}

bool gw_log_enabled(int level)
{
    return level <= sink.max_level;
}

static FILE *out_file(void)
{
    return sink.out ? sink.out : stdout;
}

/* Caller holds the lock. */
static void flush_locked(void)
{
    if (sink.pending.len) {
        FILE *f = out_file();
        fwrite(sink.pending.data, 1, sink.pending.len, f);
        fflush(f);
        sink.pending.len = 0;
    }
}

void gw_log_flush(void)
{
    pthread_mutex_lock(&sink.lock);
    flush_locked();
    pthread_mutex_unlock(&sink.lock);
}

void gw_log_set_batching(bool on)
{
    pthread_mutex_lock(&sink.lock);
    sink.batching = on;
    if (!on) {
        flush_locked();
        al_buf_free(&sink.pending);
    }
    pthread_mutex_unlock(&sink.lock);
}

static void write_line(const uint8_t *data, size_t len)
{
    pthread_mutex_lock(&sink.lock);
    if (sink.batching && al_buf_append(&sink.pending, data, len) == 0) {
        if (sink.pending.len >= BATCH_MAX)
            flush_locked();
    } else {
        flush_locked();
        FILE *f = out_file();
        fwrite(data, 1, len, f);
        fflush(f);
    }
    pthread_mutex_unlock(&sink.lock);
}

/* ------------------------------------------------------------ escaping */

size_t gw_utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
    unsigned cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2, min = 0x80, cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3, min = 0x800, cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4, min = 0x10000, cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* Bytes that stand for themselves inside a JSON string. */
static bool json_plain(unsigned char c)
{
    return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

/* At most 6 bytes out per byte in ("\u001f", "\ufffd"), so a chunk of
 * input needs one reservation and no check per byte. */
#define ESCAPE_CHUNK 256

int gw_json_escape(al_buf *b, const char *str, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    /* Most strings (ids, paths, names) need no escape at all. */
    size_t plain = 0;
    while (plain < n && json_plain(s[plain]))
        plain++;
    int rc = al_buf_reserve(b, plain + 2);
    if (rc)
        return rc;
    b->data[b->len++] = '"';
    memcpy(b->data + b->len, s, plain);
    b->len += plain;
    if (plain == n) {
        b->data[b->len++] = '"';
        return 0;
    }
    size_t i = plain;
    while (rc == 0 && i < n) {
        size_t stop = n - i > ESCAPE_CHUNK ? i + ESCAPE_CHUNK : n;
        if ((rc = al_buf_reserve(b, 6 * (stop - i) + 4)))
            break;
        uint8_t *o = b->data + b->len;
        while (i < stop) {
            unsigned char c = s[i];
            if (json_plain(c)) {
                *o++ = c;
                i++;
                continue;
            }
            if (c == '"' || c == '\\') {
                *o++ = '\\', *o++ = c, i++;
            } else if (c == '\n') {
                *o++ = '\\', *o++ = 'n', i++;
            } else if (c == '\r') {
                *o++ = '\\', *o++ = 'r', i++;
            } else if (c == '\t') {
                *o++ = '\\', *o++ = 't', i++;
            } else if (c < 0x20 || c == 0x7f) {
                memcpy(o, "\\u00", 4);
                o[4] = (uint8_t)hex[c >> 4], o[5] = (uint8_t)hex[c & 15];
                o += 6, i++;
            } else {
                /* A sequence may run past the chunk by up to 3 bytes: the
                 * reservation has room for them (6 per byte). */
                size_t len = gw_utf8_seq(s + i, n - i);
                if (len == 0) {
                    memcpy(o, "\\ufffd", 6);
                    o += 6, i++;
                } else {
                    memcpy(o, s + i, len);
                    o += len, i += len;
                }
            }
        }
        b->len = (size_t)(o - b->data);
    }
    return rc ? rc : al_buf_append(b, "\"", 1);
}

/* ------------------------------------------------------------ lines */

static void put(gw_logline *l, const char *s, size_t n)
{
    if (!l->on || l->failed)
        return;
    al_buf *b = &l->buf;
    if (b->cap - b->len >= n) {
        memcpy(b->data + b->len, s, n);
        b->len += n;
    } else if (al_buf_append(b, s, n)) {
        l->failed = true;
    }
}

/* ,"key": -- keys are the code's own names and need no escape; one that
 * did would still be escaped. */
static void put_key(gw_logline *l, const char *key)
{
    if (!l->on || l->failed)
        return;
    size_t n = strlen(key);
    al_buf *b = &l->buf;
    size_t i = 0;
    while (i < n && json_plain((unsigned char)key[i]))
        i++;
    if (i < n || b->cap - b->len < n + 4) {
        put(l, ",", 1);
        if (!l->failed && gw_json_escape(b, key, n))
            l->failed = true;
        put(l, ":", 1);
        return;
    }
    uint8_t *o = b->data + b->len;
    o[0] = ',', o[1] = '"';
    memcpy(o + 2, key, n);
    o[n + 2] = '"', o[n + 3] = ':';
    b->len += n + 4;
}

/* Writes v in decimal, right-aligned in width digits with leading zeros
 * (width 0: as many as it takes). Returns the length; out holds 20. */
static size_t put_digits(char *out, uint64_t v, size_t width)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && n < sizeof(tmp));
    while (n < width && n < sizeof(tmp))
        tmp[n++] = '0';
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

/* "YYYY-MM-DDTHH:MM:SS.uuuuuuZ". The part up to the seconds changes once a
 * second: it is kept, per thread, rather than formatted for every line. */
static size_t format_ts(char *buf, size_t cap)
{
    static _Thread_local time_t cached_sec = -1;
    static _Thread_local char cached[32];
    static _Thread_local size_t cached_len;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != cached_sec) {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        int n =
            snprintf(cached, sizeof(cached), "%04d-%02d-%02dT%02d:%02d:%02d",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec);
        if (n < 0 || (size_t)n >= sizeof(cached))
            n = 0;
        cached_len = (size_t)n;
        cached_sec = ts.tv_sec;
    }
    if (cap < cached_len + 9)
        return 0;
    memcpy(buf, cached, cached_len);
    size_t len = cached_len;
    buf[len++] = '.';
    len += put_digits(buf + len, (uint64_t)ts.tv_nsec / 1000, 6);
    buf[len++] = 'Z';
    return len;
}

void gw_format_time_ms(int64_t ms, char *buf, size_t cap)
{
    time_t secs = (time_t)(ms / 1000);
    int frac = (int)(ms % 1000);
    if (frac < 0) {
        frac += 1000;
        secs--;
    }
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

bool gw_log_begin(gw_logline *l, int level, const char *event)
{
    memset(l, 0, sizeof(*l));
    if (!gw_log_enabled(level))
        return false;
    l->on = true;
    /* Most request lines fit: one allocation for the line, below the size
     * (1 KiB) at which glibc's malloc starts consolidating. */
    if (al_buf_reserve(&l->buf, 768))
        l->failed = true;
    char ts[64];
    put(l, "{\"ts\":\"", 7);
    put(l, ts, format_ts(ts, sizeof(ts)));
    put(l, "\",\"level\":\"", 11);
    const char *name = gw_log_level_name(level);
    put(l, name, strlen(name));
    put(l, "\"", 1);
    gw_log_str(l, "event", event);
    return true;
}

void gw_log_strn(gw_logline *l, const char *key, const char *val, size_t n)
{
    if (!l->on || !val)
        return;
    put_key(l, key);
    if (!l->failed && gw_json_escape(&l->buf, val, n))
        l->failed = true;
}

void gw_log_str(gw_logline *l, const char *key, const char *val)
{
    if (val)
        gw_log_strn(l, key, val, strlen(val));
}

void gw_log_int(gw_logline *l, const char *key, int64_t v)
{
    char num[24];
    if (!l->on)
        return;
    put_key(l, key);
    size_t n = 0;
    uint64_t mag = (uint64_t)v;
    if (v < 0) {
        num[n++] = '-';
        mag = 0 - mag;
    }
    n += put_digits(num + n, mag, 0);
    put(l, num, n);
}

void gw_log_uint(gw_logline *l, const char *key, uint64_t v)
{
    char num[24];
    if (!l->on)
        return;
    put_key(l, key);
    put(l, num, put_digits(num, v, 0));
}

void gw_log_bool(gw_logline *l, const char *key, bool v)
{
    if (!l->on)
        return;
    put_key(l, key);
    put(l, v ? "true" : "false", v ? 4 : 5);
}

void gw_log_raw(gw_logline *l, const char *key, const char *json, size_t n)
{
    if (!l->on || !json)
        return;
    put_key(l, key);
    put(l, json, n);
}

void gw_log_cancel(gw_logline *l)
{
    al_buf_free(&l->buf);
    l->on = false;
}

void gw_log_end(gw_logline *l)
{
    if (!l->on)
        return;
    put(l, "}\n", 2);
    if (!l->failed)
        write_line(l->buf.data, l->buf.len);
    gw_log_cancel(l);
}

void gw_log_event(int level, const char *event, const char *fmt, ...)
{
    gw_logline l;
    if (!gw_log_begin(&l, level, event))
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof(msg))
        n = sizeof(msg) - 1;
    gw_log_strn(&l, "message", msg, (size_t)n);
    gw_log_end(&l);
}

static void from_actorlib(int level, const char *msg, void *ud)
{
    (void)ud;
    int lv = level == AL_LOG_ERROR  ? GW_LOG_ERROR
             : level == AL_LOG_WARN ? GW_LOG_WARN
             : level == AL_LOG_INFO ? GW_LOG_INFO
                                    : GW_LOG_DEBUG;
    gw_log_event(lv, "actorlib", "%s", msg);
}

void gw_log_capture_actorlib(void)
{
    int max = sink.max_level == GW_LOG_ERROR  ? AL_LOG_ERROR
              : sink.max_level == GW_LOG_WARN ? AL_LOG_WARN
              : sink.max_level == GW_LOG_INFO ? AL_LOG_INFO
                                              : AL_LOG_DEBUG;
    al_log_set(from_actorlib, max, NULL);
}
