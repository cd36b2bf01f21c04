/*
 * debug.c — the fatal-error path, warnings, and the TC_DEBUG knobs.
 *
 * Owns: tc_throw / tc_warn, and the tc_debug settings parsed from TC_DEBUG.
 *
 * tc_throw must work in the worst places: with runtime locks held, inside a
 * signal handler, while the heap is inconsistent. It therefore formats into a
 * buffer on its own stack, emits the line with a single write(2) and aborts;
 * it never allocates and takes no lock.
 *
 * The knobs are plain ints written only while the library is single-threaded
 * (see debug.h), so they need no synchronisation.
 */
#include "debug.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime.h"

tc_debug_knobs tc_debug = {.invalidptr = 1, .hugepages = 1, .gcidlemark = 1};

static void emit_line(const char *prefix, const char *fmt, va_list ap)
{
    char buf[1024];
    size_t n = (size_t)snprintf(buf, sizeof buf, "%s", prefix);
    int m = vsnprintf(buf + n, sizeof buf - n, fmt, ap);
    if (m < 0) m = 0;
    n += (size_t)m;
    if (n > sizeof buf - 2) n = sizeof buf - 2;
    buf[n++] = '\n';
    int saved = errno;
    for (size_t off = 0; off < n;) {
        ssize_t w = write(STDERR_FILENO, buf + off, n - off);
        if (w <= 0) {
            if (w < 0 && errno == EINTR) continue;
            break;
        }
        off += (size_t)w;
    }
    errno = saved;
}

void tc_throw(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit_line("tricolor: fatal error: ", fmt, ap);
    va_end(ap);
    abort();
}

void tc_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit_line("tricolor: warning: ", fmt, ap);
    va_end(ap);
}

static const struct knob {
    const char *name;
    int *value;
} knobs[] = {
    {"gctrace", &tc_debug.gctrace},
    {"gccheckmark", &tc_debug.gccheckmark},
    {"gcstoptheworld", &tc_debug.gcstoptheworld},
    {"clobberfree", &tc_debug.clobberfree},
    {"invalidptr", &tc_debug.invalidptr},
    {"scavtrace", &tc_debug.scavtrace},
    {"rootcheck", &tc_debug.rootcheck},
    {"fixalloccheck", &tc_debug.fixalloccheck},
    {"gcstress", &tc_debug.gcstress},
    {"gcmarkers", &tc_debug.gcmarkers},
    {"hugepages", &tc_debug.hugepages},
    {"gcidlemark", &tc_debug.gcidlemark},
};

static void apply_one(const char *item, size_t len)
{
    const char *eq = memchr(item, '=', len);
    if (eq == NULL) {
        tc_warn("TC_DEBUG: '%.*s' is not name=value; ignored", (int)len, item);
        return;
    }
    size_t nlen = (size_t)(eq - item);
    for (size_t i = 0; i < sizeof knobs / sizeof knobs[0]; i++) {
        if (strlen(knobs[i].name) != nlen || memcmp(knobs[i].name, item, nlen) != 0) continue;
        char val[32];
        size_t vlen = len - nlen - 1;
        if (vlen == 0 || vlen >= sizeof val) goto bad;
        memcpy(val, eq + 1, vlen);
        val[vlen] = 0;
        char *end;
        errno = 0;
        long v = strtol(val, &end, 10);
        if (errno != 0 || *end != 0 || v < 0 || v > 1000000000) goto bad;
        *knobs[i].value = (int)v;
        return;
    bad:
        tc_warn("TC_DEBUG: bad value in '%.*s'; ignored", (int)len, item);
        return;
    }
    tc_warn("TC_DEBUG: unknown setting '%.*s'; ignored", (int)nlen, item);
}

void debug_parse(const char *settings)
{
    if (settings == NULL) return;
    const char *p = settings;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len > 0) apply_one(p, len);
        p += len;
        if (*p == ',') p++;
    }
}

void debug_reset(void)
{
    memset(&tc_debug, 0, sizeof tc_debug);
    tc_debug.invalidptr = 1;
    tc_debug.hugepages = 1;
}
