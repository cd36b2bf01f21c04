/*
 * tc_test_heap.h — what the collector would see of a heap object, for tests
 * that check recorded layouts: the addresses of the pointer slots it walks.
 * Includes internal headers (mheap.h); the test must have run tc_init.
 */
#ifndef TC_TEST_HEAP_H
#define TC_TEST_HEAP_H

#include "mheap.h"
#include "tc_test.h"

/* The pointer slots the collector would walk for the object at p (any
 * address inside it), in order, into out (at most max). */
static inline size_t tc_test_pointer_slots(const void *p, uintptr_t *out, size_t max)
{
    mspan *s;
    uintptr_t x = mheap_find_object((uintptr_t)p, &s, NULL);
    CHECK(x != 0);
    heapbits_iter it;
    heapbits_iter_init(&it, s, x);
    size_t n = 0;
    for (uintptr_t a; (a = heapbits_next(&it)) != 0;) {
        CHECK(n < max);
        out[n++] = a;
    }
    return n;
}

#endif
