/*
 * allocrate.c — allocation rate with a tiny live set (issue 4).
 *
 * N small objects (16, 32, 48, 64 bytes in turn) are allocated one after
 * another; each is stored in a ring of 1000 slots, so only the last 1000
 * stay live. malloc backends free the object a slot held before; collected
 * backends just overwrite the slot. tricolor allocates typed objects (tc_new
 * of a type of 16, 32, 48 or 64 bytes whose second word, next, is a
 * pointer) and the ring as an array of pointers (tc_new_array), held by a
 * local of run(); default GOGC. This is the collector's steady state:
 * high allocation rate, tiny live heap. Param: N in millions. Check: the sum
 * of the values left in the ring.
 */
#include "harness.h"
#include "tc_backend.h"

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

/* ---- tricolor: map the sizes run() asks for onto its types ---- */

typedef struct obj16 {
    long value;
    obj *next;
} obj16;
typedef struct obj32 {
    long value;
    obj *next;
    long pad[2];
} obj32;
typedef struct obj48 {
    long value;
    obj *next;
    long pad[4];
} obj48;
typedef struct obj64 {
    long value;
    obj *next;
    long pad[6];
} obj64;
typedef struct slot {
    obj *p;
} slot;

static tc_type *obj_type[4], *slot_type;

static bool tc_ar_init(char *why, size_t whylen)
{
    if (!bh_tc_init(why, whylen)) return false;
    obj_type[0] = TC_TYPE(obj16, next);
    obj_type[1] = TC_TYPE(obj32, next);
    obj_type[2] = TC_TYPE(obj48, next);
    obj_type[3] = TC_TYPE(obj64, next);
    slot_type = TC_TYPE(slot, p);
    return obj_type[0] && obj_type[1] && obj_type[2] && obj_type[3] && slot_type;
}

static void *tc_ar_alloc(size_t size)
{
    if (size <= 64 && size % 16 == 0) return tc_new(obj_type[size / 16 - 1]);
    if (size == sizeof(obj *) * RING) return tc_new_array(slot_type, RING); /* the ring */
    return tc_alloc_conservative(size);
}

static const bh_backend bh_tc = {.name = "tricolor",
                                 .init = tc_ar_init,
                                 .alloc = tc_ar_alloc,
                                 .alloc_atomic = tc_alloc_noscan,
                                 .gc_count = bh_tc_gc_count};

static const bh_backend *const backends[] = {&bh_tc,       &bh_glibc, &bh_mimalloc,
                                             &bh_jemalloc, &bh_boehm, &bh_boehm_incr};

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
