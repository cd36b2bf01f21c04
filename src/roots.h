/*
 * roots.h — the registry of explicit roots (tc_root_register).
 */
#ifndef TC_ROOTS_H
#define TC_ROOTS_H

#include "runtime.h"

struct tc_root {
    struct tc_root *next; /* first: the only word a freed record loses to the pool's link */
    uintptr_t base;
    size_t size;
    const tc_type *layout; /* NULL: conservative */
    unsigned flags;        /* TC_ROOT_BARRIERED */
    unsigned state;        /* ROOT_LIVE or ROOT_DEAD */
    struct tc_root *prev;
};

/* The registry lock. markroot holds it while it scans roots so that a root
 * cannot be unregistered (and its memory freed) under the scanner. */
void roots_lock(void);
void roots_unlock(void);

/* Call fn on every registered root, in address order. Under roots_lock. */
void roots_for_each(void (*fn)(const struct tc_root *r, void *arg), void *arg);

/* The registered root containing address p, or NULL. Under roots_lock. */
const struct tc_root *roots_find(uintptr_t p);

/* Whether r is still registered and covers [base, base + len) (a
 * concurrent root job checks this under roots_lock before scanning). */
bool roots_still_registered(const struct tc_root *r, uintptr_t base, size_t len);

/* Number of roots and their total bytes. Under roots_lock. */
void roots_totals(size_t *count, size_t *bytes);

#endif
