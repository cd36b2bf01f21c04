/*
 * allocrate.c — allocation rate with a tiny live set (issue 4).
 *
 * N small objects (16, 32, 48, 64 bytes in turn) are allocated one after
 * another; each is stored in a ring of 1000 slots, so only the last 1000
 * stay live. malloc backends free the object a slot held before; collected
 * backends just overwrite the slot. This is the collector's steady state:
 * high allocation rate, tiny live heap. Param: N in millions. Check: the sum
 * of the values left in the ring.
 */
#include "harness.h"

#include <stdlib.h>

#define RING 1000

typedef struct obj {
    long value;
    struct obj *next; /* a pointer word, so collectors must scan it */
} obj;

static long run(const bh_backend *b, const char *param)
{
    long n = atol(param) * 1000000L;
    obj **ring = b->alloc(sizeof(obj *) * RING);
    for (int i = 0; i < RING; i++) ring[i] = NULL;
    for (long i = 0; i < n; i++) {
        size_t size = 16 + (size_t)(i & 3) * 16;
        obj *o = b->alloc(size);
        o->value = i;
        o->next = NULL;
        obj **slot = &ring[i % RING];
        if (b->free && *slot) b->free(*slot);
        *slot = o;
    }
    long sum = 0;
    for (int i = 0; i < RING; i++)
        if (ring[i]) {
            sum += ring[i]->value;
            if (b->free) b->free(ring[i]);
        }
    if (b->free) b->free(ring);
    return sum;
}

static const bh_backend *const backends[] = {&bh_glibc, &bh_mimalloc, &bh_jemalloc, &bh_boehm,
                                             &bh_boehm_incr};

int main(int argc, char **argv)
{
    bh_gcbench g = {.name = "allocation rate, ring of 1000 live (N millions)",
                    .param_full = "50",
                    .param_quick = "5",
                    .run = run,
                    .backends = backends,
                    .nbackends = sizeof backends / sizeof backends[0]};
    return bh_gcbench_main(&g, argc, argv);
}
