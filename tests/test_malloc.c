/*
 * test_malloc.c — the allocation API: every size class and large sizes,
 * alignment, zeroing, object lookup from every interior offset, the layout
 * recorded for typed objects, statistics, multi-threaded allocation checked
 * against shadow maps outside the heap, and misuse.
 */
#include "tc_test.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>

#include "mheap.h"
#include "tc_test_heap.h"
#include "tricolor.h"
#include "types.h"

/* These tests are about the allocator: they keep objects reachable only
 * from malloc'd shadow maps, so collection stays off. */
static void init_once(void) { tc_test_init_collection_off(); }

static int all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != 0) return 0;
    return 1;
}

/* Sizes worth trying: every class size, one below and one above. */
static size_t class_size(unsigned c) { return sizeclass_to_size[c]; }

typedef void *(*alloc_fn)(size_t);

static tc_type *ptr_type(size_t size)
{
    size_t off[1] = {0};
    return tc_type_new("ptr_type", size, off, 1, 0);
}

static void *alloc_scan(size_t size) { return tc_new(ptr_type(tc_align_up(size, 8))); }

static void check_object(void *p, size_t size, const char *what)
{
    CHECK_MSG(p != NULL, "%s(%zu) returned NULL", what, size);
    if (size >= 16)
        CHECK_MSG((uintptr_t)p % 16 == 0, "%s(%zu) = %p not 16-aligned", what, size, p);
    else if (size >= 8 && size % 8 == 0)
        CHECK_MSG((uintptr_t)p % 8 == 0, "%s(%zu) = %p", what, size, p);
    CHECK_MSG(all_zero(p, size), "%s(%zu) = %p not zeroed", what, size, p);
    if (size >= TC_TINY_SIZE || strcmp(what, "noscan") != 0) {
        CHECK_MSG(tc_object_base(p) == p, "%s(%zu): base of %p is %p", what, size, p,
                  tc_object_base(p));
        CHECK_MSG(tc_object_size(p) >= size, "%s(%zu): object size %zu", what, size,
                  tc_object_size(p));
    } else {
        /* tiny: the base is the 16-byte block holding it */
        void *b = tc_object_base(p);
        CHECK(b != NULL && (uintptr_t)b <= (uintptr_t)p &&
              (uintptr_t)p + size <= (uintptr_t)b + 16);
    }
    memset(p, 0xA5, size); /* dirty it: later allocations must not see this */
}

TC_TEST(every_size_class_allocates_aligned_zeroed_objects)
{
    init_once();
    static const struct {
        const char *name;
        alloc_fn fn;
    } kinds[] = {
        {"noscan", tc_alloc_noscan}, {"conservative", tc_alloc_conservative}, {"scan", alloc_scan}};
    for (size_t k = 0; k < 3; k++) {
        for (unsigned c = 1; c < TC_NUM_SIZE_CLASSES; c++) {
            size_t sz = class_size(c);
            size_t tries[3] = {sz - 1, sz, sz + 1};
            for (int t = 0; t < 3; t++) {
                size_t size = tries[t];
                if (size == 0 || size > TC_MAX_SMALL_SIZE) continue;
                for (int rep = 0; rep < 3; rep++)
                    check_object(kinds[k].fn(size), size, kinds[k].name);
            }
        }
    }
}

TC_TEST(large_objects_are_page_aligned_zeroed_and_found)
{
    init_once();
    size_t sizes[] = {TC_MAX_SMALL_SIZE + 1, 40000,           65536, 1 << 20,
                      (1 << 20) + 1,         (size_t)70 << 20 /* more than one arena */};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t size = sizes[i];
        unsigned char *p = tc_alloc_noscan(size);
        CHECK(p != NULL);
        CHECK_EQ((uintptr_t)p % TC_PAGE_SIZE, 0);
        CHECK(all_zero(p, size));
        CHECK(tc_object_base(p) == p);
        CHECK(tc_object_base(p + size - 1) == p);
        CHECK(tc_object_base(p + size / 2) == p);
        CHECK_EQ(tc_object_size(p), size);
        /* past the object's end, inside its span: not an object */
        size_t span_bytes = tc_align_up(size, TC_PAGE_SIZE);
        uintptr_t end = (uintptr_t)p + tc_object_size(p);
        if (end < (uintptr_t)p + span_bytes) CHECK(tc_object_base((void *)end) == NULL);
        memset(p, 0xff, size);
        void *q = tc_alloc_conservative(size);
        CHECK(q != NULL && all_zero(q, size));
    }
}

TC_TEST(tiny_objects_pack_into_16_byte_blocks)
{
    init_once();
    /* fresh thread state is not needed: sizes 1..15 stay within blocks */
    for (size_t size = 1; size < 16; size++) {
        unsigned char *a = tc_alloc_noscan(size), *b = tc_alloc_noscan(size);
        CHECK(a != NULL && b != NULL && a != b);
        CHECK(all_zero(a, size) && all_zero(b, size));
        if (size % 8 == 0)
            CHECK((uintptr_t)a % 8 == 0);
        else if (size % 4 == 0)
            CHECK((uintptr_t)a % 4 == 0);
        else if (size % 2 == 0)
            CHECK((uintptr_t)a % 2 == 0);
        memset(a, 0x11, size);
        CHECK(all_zero(b, size));
        memset(b, 0x22, size);
    }
    /* two 4-byte objects in a row share a block */
    mcache *c = mcache_current();
    c->tiny = 0; /* start a new block */
    char *x = tc_alloc_noscan(4), *y = tc_alloc_noscan(4);
    CHECK(y == x + 4);
    CHECK(tc_object_base(x) == tc_object_base(y));
    CHECK(tc_object_size(x) == 16);
    void *z = tc_alloc_noscan(0);
    CHECK(z != NULL);
}

/* Every interior offset of objects of every class maps to the object; the
 * next free slot and anything outside maps to nothing. */
TC_TEST(lookup_finds_every_interior_offset_of_every_class)
{
    init_once();
    mcache_release_all(mcache_current()); /* fresh spans: the slot after ours is free */
    for (int kind = 0; kind < 3; kind++) {
        for (unsigned c = 1; c < TC_NUM_SIZE_CLASSES; c++) {
            size_t size = class_size(c);
            if (size < 16 || size % 16 != 0) continue; /* 8 and 24 are not 16-multiples */
            unsigned char *p;
            if (kind == 0)
                p = tc_alloc_noscan(size);
            else if (kind == 1)
                p = tc_alloc_conservative(size);
            else if (size > HEAPBITS_INSPAN_MAX && size <= HEAPBITS_INSPAN_MAX + MALLOC_HEADER_SIZE)
                continue; /* no scan object lands exactly in the first header class */
            else
                p = alloc_scan(size > HEAPBITS_INSPAN_MAX ? size - MALLOC_HEADER_SIZE : size);
            size_t osize = tc_object_size(p);
            CHECK(osize >=
                  (kind == 2 && size > HEAPBITS_INSPAN_MAX ? size - MALLOC_HEADER_SIZE : size));
            for (size_t off = 0; off < osize; off++) {
                if (tc_object_base(p + off) != p)
                    TC_FAIL("class %u kind %d: base of %p+%zu is %p", c, kind, (void *)p, off,
                            tc_object_base(p + off));
                if (tc_object_size(p + off) != osize) TC_FAIL("class %u: size at +%zu", c, off);
            }
            if (kind == 2 && size > HEAPBITS_INSPAN_MAX) {
                /* the header is not the object */
                CHECK(tc_object_base(p - 1) == NULL);
                CHECK(tc_object_base(p - MALLOC_HEADER_SIZE) == NULL);
            }
            /* the following slot is free (or beyond the span) */
            mspan *s = mheap_span_of_heap((uintptr_t)p);
            CHECK(s != NULL);
            if (s->freeindex < s->nelems) {
                uintptr_t next = s->startaddr + (uintptr_t)s->freeindex * s->elemsize;
                CHECK(tc_object_base((void *)next) == NULL);
                CHECK(tc_object_size((void *)(next + 1)) == 0);
            }
            /* the unused tail of the span, and its heap bitmap */
            uintptr_t span_end = s->startaddr + s->npages * TC_PAGE_SIZE;
            if (s->limit < span_end) {
                CHECK(tc_object_base((void *)s->limit) == NULL);
                CHECK(tc_object_base((void *)(span_end - 1)) == NULL);
            }
        }
    }
    int local;
    static int global;
    void *m = malloc(64);
    CHECK(tc_object_base(&local) == NULL);
    CHECK(tc_object_base(&global) == NULL);
    CHECK(tc_object_base(m) == NULL);
    CHECK(tc_object_base(NULL) == NULL);
    CHECK(tc_object_base((void *)~(uintptr_t)0) == NULL);
    CHECK(tc_object_base((void *)((uintptr_t)1 << 47)) == NULL);
    CHECK(tc_object_size(&local) == 0);
    free(m);
}

/* ---- layout ------------------------------------------------------------------------- */

/* The pointer slots the collector would walk for the object at user address p. */
static size_t walk(void *p, uintptr_t *out, size_t max)
{
    return tc_test_pointer_slots(p, out, max);
}

static void check_layout(const tc_type *t, size_t n, const size_t *offs, size_t noffs)
{
    unsigned char *p = n == 1 ? tc_new(t) : tc_new_array(t, n);
    CHECK(p != NULL);
    CHECK(all_zero(p, n * t->size));
    size_t cap = n * noffs + 1;
    uintptr_t *got = malloc(cap * sizeof *got);
    size_t ng = walk(p, got, cap);
    CHECK_EQ(ng, n * noffs);
    size_t k = 0;
    for (size_t e = 0; e < n; e++)
        for (size_t i = 0; i < noffs; i++, k++)
            if (got[k] != (uintptr_t)p + e * t->size + offs[i])
                TC_FAIL("type %s x%zu: slot %zu is +%zu, expected +%zu", t->name, n, k,
                        (size_t)(got[k] - (uintptr_t)p), e * t->size + offs[i]);
    free(got);
}

TC_TEST(layout_recorded_matches_type_for_objects_and_arrays)
{
    init_once();
    size_t o3[] = {0, 16};
    tc_type *t3 = tc_type_new("three_words", 24, o3, 2, 0);
    size_t o1[] = {8};
    tc_type *t1 = tc_type_new("one_ptr_of_two", 16, o1, 1, 0);
    size_t obig[] = {0, 8, 256, 520, 1000};
    tc_type *tbig = tc_type_new("big", 1024, obig, 5, 0);
    size_t ohuge[70];
    for (size_t i = 0; i < 70; i++) ohuge[i] = i * 24; /* mask longer than 64 words */
    tc_type *thuge = tc_type_new("huge", 70 * 24 + 8, ohuge, 70, 0);
    CHECK(t3 && t1 && tbig && thuge);
    size_t ns[] = {1, 2, 3, 5, 7, 20, 21, 100, 2000};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        check_layout(t3, ns[i], o3, 2);
        check_layout(t1, ns[i], o1, 1);
        if (ns[i] <= 100) check_layout(tbig, ns[i], obig, 5);
        if (ns[i] <= 100) check_layout(thuge, ns[i], ohuge, 70);
    }
    /* the type itself is kept where there is a header or a span of its own */
    mspan *s;
    void *o = tc_new(tbig);
    uintptr_t x = mheap_find_object((uintptr_t)o, &s, NULL);
    CHECK(x != 0 && heapbits_object_type(s, x) == tbig);
    o = tc_new_array(t3, 5000);
    x = mheap_find_object((uintptr_t)o + 777, &s, NULL);
    CHECK(x == (uintptr_t)o && heapbits_object_type(s, x) == t3);
    o = tc_new(t3);
    x = mheap_find_object((uintptr_t)o, &s, NULL);
    CHECK(heapbits_object_type(s, x) == NULL);

    /* neighbours keep their own bits */
    unsigned char *a = tc_new(t3), *b = tc_new(t1), *c = tc_new(t3);
    uintptr_t got[8];
    CHECK_EQ(walk(a, got, 8), 2);
    CHECK_EQ(walk(b, got, 8), 1);
    CHECK_EQ(got[0], (uintptr_t)b + 8);
    CHECK_EQ(walk(c, got, 8), 2);
}

TC_TEST(noscan_objects_have_no_pointers_and_conservative_ones_all_words)
{
    init_once();
    uintptr_t got[5000];
    size_t sizes[] = {16, 48, 512, 1024, 32768, 40000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        void *p = tc_alloc_noscan(sizes[i]);
        CHECK_EQ(walk(p, got, 5000), 0);
        unsigned char *q = tc_alloc_conservative(sizes[i]);
        size_t n = walk(q, got, 5000);
        CHECK(n >= sizes[i] / 8);
        CHECK_EQ(n, tc_object_size(q) / 8);
        for (size_t k = 0; k < n; k++) CHECK_EQ(got[k], (uintptr_t)q + 8 * k);
    }
    /* a type without pointers allocates noscan */
    tc_type *plain = tc_type_new("plain", 40, NULL, 0, 0);
    void *p = tc_new(plain);
    CHECK_EQ(walk(p, got, 5000), 0);
    CHECK(spanclass_kind(mheap_span_of_heap((uintptr_t)p)->spanclass) == SPAN_NOSCAN);
}

/* The example of README.md and docs/heap.md, as written there. */
struct node {
    struct node *left, *right;
    long key;
};

TC_TEST(documented_example_behaves_as_documented)
{
    init_once();
    tc_type *node_t = TC_TYPE(struct node, left, right);
    CHECK(node_t != NULL);
    struct node *n = tc_new(node_t);
    struct node *v = tc_new_array(node_t, 100);
    char *text = tc_alloc_noscan(4096);
    void **words = tc_alloc_conservative(64);
    CHECK(n != NULL && v != NULL && text != NULL && words != NULL);
    CHECK(n->left == NULL && n->right == NULL && n->key == 0);
    CHECK(tc_object_base(&v[42].key) == v);
    CHECK(tc_object_size(v) >= 100 * sizeof(struct node));
    uintptr_t got[256];
    CHECK_EQ(walk(v, got, 256), 200);
    CHECK_EQ(got[85], (uintptr_t)&v[42].right);
}

/* ---- arrays and misuse ------------------------------------------------------------------- */

TC_TEST(new_array_overflow_returns_null_with_enomem)
{
    init_once();
    tc_type *t = ptr_type(16);
    errno = 0;
    CHECK(tc_new_array(t, SIZE_MAX / 8) == NULL);
    CHECK_EQ(errno, ENOMEM);
    errno = 0;
    CHECK(tc_new_array(t, (SIZE_MAX / 16) + 1) == NULL);
    CHECK_EQ(errno, ENOMEM);
    errno = 0;
    CHECK(tc_alloc_noscan(SIZE_MAX) == NULL);
    CHECK_EQ(errno, ENOMEM);
    CHECK(tc_new_array(t, 0) != NULL);
    void *p = tc_new_array(t, 3);
    CHECK(p != NULL && tc_object_size(p) >= 48);
}

TC_TEST(misuse_is_fatal_with_a_clear_message)
{
    init_once();
    tc_type *nih = tc_type_new("struct unmanaged_node", 32, NULL, 0, TC_NOTINHEAP);
    CHECK(nih != NULL);
    TC_EXPECT_DEATH(tc_new(nih), "struct unmanaged_node");
    TC_EXPECT_DEATH(tc_new_array(nih, 4), "TC_NOTINHEAP");
    TC_EXPECT_DEATH(tc_new(NULL), "tc_new: NULL type");
    TC_EXPECT_DEATH(tc_new_array(NULL, 1), "NULL type");
}

/* ---- statistics -------------------------------------------------------------------------- */

TC_TEST(statistics_count_allocations_per_class)
{
    init_once();
    tc_stats a, b;
    tc_read_stats(&a);
    unsigned c = size_to_sizeclass(64);
    for (int i = 0; i < 1000; i++) tc_alloc_noscan(64);
    void *big = tc_alloc_noscan(100000);
    CHECK(big != NULL);
    tc_read_stats(&b);
    CHECK_EQ(b.by_size[c].mallocs - a.by_size[c].mallocs, 1000);
    CHECK_EQ(b.by_size[c].size, 64);
    CHECK_EQ(b.by_size[0].mallocs - a.by_size[0].mallocs, 1);
    CHECK_EQ(b.heap_alloc_objects - a.heap_alloc_objects, 1001);
    CHECK_EQ(b.heap_alloc_bytes - a.heap_alloc_bytes,
             1000 * 64 + tc_align_up(100000, TC_PAGE_SIZE));
    CHECK_EQ(b.heap_live_bytes, b.heap_alloc_bytes);
    CHECK(b.heap_inuse >= tc_align_up(100000, TC_PAGE_SIZE));
    CHECK(b.heap_mapped >= b.heap_inuse);
    CHECK_EQ(b.heap_idle, b.heap_mapped - b.heap_inuse);
    CHECK(b.heap_released <= b.heap_idle);
    CHECK(b.heap_spans > 0);
    /* span structs: those of live spans, plus at most a stash per thread cache */
    CHECK(b.heap_span_meta >= b.heap_spans * mheap_.spanalloc.size);
    CHECK(b.heap_span_meta <=
          (b.heap_spans + MHEAP_SPANSTASH * mheap_.cachealloc.inuse / mheap_.cachealloc.size) *
              mheap_.spanalloc.size);
    CHECK(b.heap_other_meta > 0);
    CHECK(b.sys_by_category[TC_SYSCAT_HEAP] == b.heap_mapped);
    /* the 32 MiB arena index is not charged as a whole */
    CHECK(b.sys_by_category[TC_SYSCAT_GCMETA] < ((uint64_t)8 << 20));
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    tc_print_stats(&b, f);
    fclose(f);
    CHECK(strstr(text, "heap in use") != NULL && strstr(text, "heap allocated objects") != NULL);
    free(text);
}

/* ---- threads -------------------------------------------------------------------------------- */

struct range {
    uintptr_t lo, hi;
    int owner;
};

static int range_cmp(const void *a, const void *b)
{
    const struct range *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Sorted-array shadow map in malloc memory: the ranges must not overlap. */
static void check_disjoint(struct range *r, size_t n)
{
    qsort(r, n, sizeof *r, range_cmp);
    for (size_t i = 1; i < n; i++)
        if (r[i].lo < r[i - 1].hi)
            TC_FAIL("objects overlap: [%#lx,%#lx) of thread %d and [%#lx,%#lx) of thread %d",
                    (unsigned long)r[i - 1].lo, (unsigned long)r[i - 1].hi, r[i - 1].owner,
                    (unsigned long)r[i].lo, (unsigned long)r[i].hi, r[i].owner);
}

#define STRESS_THREADS 4

struct stress_arg {
    int id;
    uint64_t seed;
    size_t n;
    struct range *ranges;
};

static void *stress_thread(void *arg)
{
    struct stress_arg *a = arg;
    uint64_t rs = a->seed;
    tc_type *t = ptr_type(32);
    for (size_t i = 0; i < a->n; i++) {
        uint64_t r = tc_rand(&rs);
        size_t size;
        unsigned char *p;
        switch (r % 8) {
        case 0:
            size = 1 + r / 8 % 15;
            p = tc_alloc_noscan(size);
            break;
        case 1:
            size = 16 + r / 8 % 256;
            p = tc_alloc_noscan(size);
            break;
        case 2:
            size = 8 + r / 8 % 4096;
            p = tc_alloc_conservative(size);
            break;
        case 3:
            size = 32;
            p = tc_new(t);
            break;
        case 4:
            size = 32 * (1 + r / 8 % 40);
            p = tc_new_array(t, size / 32);
            break;
        case 5:
            size = 16 + r / 8 % 32768;
            p = tc_alloc_noscan(size);
            break;
        case 6:
            size = 1 + r / 8 % 100;
            p = tc_alloc_noscan(size);
            break;
        default:
            size = (r / 8 % 1000 == 0) ? 32769 + r / 8000 % 200000 : 8 + r / 8 % 64;
            p = tc_alloc_conservative(size);
            break;
        }
        CHECK(p != NULL);
        if (!all_zero(p, size))
            TC_FAIL("thread %d: object %p (%zu bytes) not zero", a->id, (void *)p, size);
        memset(p, 0x40 + a->id, size);
        a->ranges[i] = (struct range){(uintptr_t)p, (uintptr_t)p + size, a->id};
    }
    /* Nobody wrote over our objects. */
    for (size_t i = 0; i < a->n; i++) {
        const unsigned char *p = (const unsigned char *)a->ranges[i].lo;
        for (uintptr_t k = 0; k < a->ranges[i].hi - a->ranges[i].lo; k++)
            if (p[k] != 0x40 + a->id)
                TC_FAIL("thread %d: byte %zu of %p was overwritten (%#x)", a->id, (size_t)k,
                        (void *)p, p[k]);
    }
    struct range *copy = malloc(a->n * sizeof *copy);
    memcpy(copy, a->ranges, a->n * sizeof *copy);
    check_disjoint(copy, a->n);
    free(copy);
    return NULL;
}

TC_TEST(threads_allocate_disjoint_objects_checked_by_shadow_map)
{
    init_once();
    uint64_t seed = tc_test_seed();
#ifdef TC_SANITIZER_BUILD
    size_t n = tc_test_soak() ? 100000 : 8000;
#else
    size_t n = tc_test_soak() ? 400000 : 40000;
#endif
    struct stress_arg args[STRESS_THREADS];
    pthread_t th[STRESS_THREADS];
    struct range *all = malloc(STRESS_THREADS * n * sizeof *all);
    tc_stats before, after;
    tc_read_stats(&before);
    for (int i = 0; i < STRESS_THREADS; i++) {
        args[i] = (struct stress_arg){i, seed + (uint64_t)i * 7919, n, all + (size_t)i * n};
        CHECK(pthread_create(&th[i], NULL, stress_thread, &args[i]) == 0);
    }
    for (int i = 0; i < STRESS_THREADS; i++) CHECK(pthread_join(th[i], NULL) == 0);
    check_disjoint(all, STRESS_THREADS * n);
    /* every object still looks up to itself */
    for (size_t i = 0; i < STRESS_THREADS * n; i += 7) {
        void *b = tc_object_base((void *)all[i].lo);
        CHECK(b != NULL && (uintptr_t)b <= all[i].lo);
        CHECK((uintptr_t)b + tc_object_size(b) >= all[i].hi);
    }
    free(all);
    /* the exited threads flushed their counts */
    tc_read_stats(&after);
    CHECK(after.heap_alloc_objects - before.heap_alloc_objects >= STRESS_THREADS * n);
    mheap_check();
    for (unsigned c = 0; c < TC_NUM_SPAN_CLASSES; c++) mcentral_check(&mheap_.central[c]);
}

TC_TEST(checkers_accept_the_heap_after_use)
{
    init_once();
    mcache *c = mcache_current();
    for (int i = 0; i < 10000; i++) tc_alloc_noscan((size_t)(i % 700) + 1);
    for (unsigned spc = 0; spc < TC_NUM_SPAN_CLASSES; spc++)
        if (c->alloc[spc] != &mcache_empty_span) mspan_check(c->alloc[spc]);
    mcache_release_all(c);
    for (unsigned spc = 0; spc < TC_NUM_SPAN_CLASSES; spc++) mcentral_check(&mheap_.central[spc]);
    mheap_check();
}

TC_TEST_MAIN()
