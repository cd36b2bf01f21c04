/*
 * test_types.c — tc_type_new and TC_TYPE record the layout the collector
 * will scan by, and reject bad descriptors with EINVAL.
 */
#include "tc_test.h"

#include <errno.h>

#include "stats.h"
#include "types.h"

/* Checks t against a reference list of pointer offsets. */
static void check_layout(const tc_type *t, size_t size, const size_t *offs, size_t n)
{
    CHECK(t != NULL);
    CHECK_EQ(t->size, size);
    CHECK_EQ(tc_type_size(t), size);
    CHECK_EQ(t->nptrs, n);
    size_t end = 0;
    for (size_t i = 0; i < n; i++)
        if (offs[i] + 8 > end) end = offs[i] + 8;
    CHECK_EQ(t->ptrdata, end);
    CHECK(t->mask != NULL);
    size_t nset = 0;
    for (size_t w = 0; w < t->ptrdata / 8; w++) {
        bool want = false;
        for (size_t i = 0; i < n; i++) want |= offs[i] == w * 8;
        CHECK_MSG(type_word_is_ptr(t, w) == want, "%s word %zu: mask says %d", t->name, w,
                  (int)type_word_is_ptr(t, w));
        nset += want;
    }
    CHECK_EQ(nset, n);
    /* Bits past ptrdata in the last mask word are zero. */
    size_t nwords = t->ptrdata / 8;
    if (nwords % 64 != 0) CHECK_EQ(t->mask[nwords / 64] >> (nwords % 64), 0);
}

struct leaf {
    int key;
    double value;
};

struct one {
    long key;
    struct one *next;
    char tag;
};

struct node {
    int key;
    struct node *left, *right;
    char name[12];
    void *payload;
};

struct inner {
    long a;
    void *p;
};

struct outer {
    char c;
    struct inner in;
    long pad;
    void *arr[4];
    struct inner tail[2];
};

#define F4(x) void *x##0, *x##1, *x##2, *x##3
struct wide {
    F4(a);
    long s1;
    F4(b);
    long s2;
    F4(c);
    long s3;
    F4(d);
    long s4;
    F4(e);
    F4(f);
    F4(g);
    F4(h);
};

TC_TEST(tc_type_with_no_fields_is_noscan)
{
    tc_type *t = TC_TYPE(struct leaf);
    check_layout(t, sizeof(struct leaf), NULL, 0);
    CHECK_EQ(t->ptrdata, 0);
    CHECK_EQ(t->flags, 0);
    CHECK(strcmp(tc_type_name(t), "struct leaf") == 0);
}

TC_TEST(tc_type_with_one_field)
{
    tc_type *t = TC_TYPE(struct one, next);
    size_t offs[] = {offsetof(struct one, next)};
    check_layout(t, sizeof(struct one), offs, 1);
    CHECK_EQ(t->ptrdata, 16);
    CHECK(strcmp(t->name, "struct one") == 0);
}

TC_TEST(tc_type_with_several_fields_in_any_order)
{
    tc_type *t = TC_TYPE(struct node, payload, left, right);
    size_t offs[] = {offsetof(struct node, left), offsetof(struct node, right),
                     offsetof(struct node, payload)};
    check_layout(t, sizeof(struct node), offs, 3);
    CHECK_EQ(t->ptrdata, offsetof(struct node, payload) + 8);
}

TC_TEST(tc_type_accepts_nested_and_array_designators)
{
    tc_type *t = TC_TYPE(struct outer, in.p, arr[0], arr[3], tail[1].p);
    size_t offs[] = {offsetof(struct outer, in.p), offsetof(struct outer, arr[0]),
                     offsetof(struct outer, arr[3]), offsetof(struct outer, tail[1].p)};
    check_layout(t, sizeof(struct outer), offs, 4);
    CHECK_EQ(t->ptrdata, sizeof(struct outer)); /* last word is a pointer */
}

TC_TEST(tc_type_takes_thirty_two_fields)
{
    tc_type *t = TC_TYPE(struct wide, a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3, d0, d1, d2,
                         d3, e0, e1, e2, e3, f0, f1, f2, f3, g0, g1, g2, g3, h0, h1, h2, h3);
    size_t offs[32];
    size_t n = 0;
    for (size_t off = 0; off < sizeof(struct wide); off += 8)
        if (off != offsetof(struct wide, s1) && off != offsetof(struct wide, s2) &&
            off != offsetof(struct wide, s3) && off != offsetof(struct wide, s4))
            offs[n++] = off;
    CHECK_EQ(n, 32);
    check_layout(t, sizeof(struct wide), offs, 32);
}

TC_TEST(tc_type_flags_are_recorded)
{
    tc_type *t = TC_TYPE_FLAGS(TC_NOTINHEAP, struct one, next);
    CHECK(t != NULL);
    CHECK_EQ(t->flags, TC_NOTINHEAP);
    tc_type *u = TC_TYPE_FLAGS(TC_NOTINHEAP, struct leaf);
    CHECK(u != NULL);
    CHECK_EQ(u->flags, TC_NOTINHEAP);
    CHECK_EQ(u->nptrs, 0);
}

TC_TEST(each_evaluation_makes_a_new_type)
{
    tc_type *a = TC_TYPE(struct one, next);
    tc_type *b = TC_TYPE(struct one, next);
    CHECK(a != NULL && b != NULL && a != b);
}

TC_TEST(name_is_copied)
{
    char buf[16] = "mine";
    tc_type *t = tc_type_new(buf, 8, NULL, 0, 0);
    CHECK(t != NULL);
    strcpy(buf, "changed");
    CHECK(strcmp(tc_type_name(t), "mine") == 0);
    CHECK(tc_type_name(t) != buf);
}

#define CHECK_EINVAL(call)                                                                         \
    do {                                                                                           \
        errno = 0;                                                                                 \
        CHECK((call) == NULL);                                                                     \
        CHECK_EQ(errno, EINVAL);                                                                   \
    } while (0)

TC_TEST(bad_descriptors_return_null_with_einval)
{
    size_t ok[] = {0, 8};
    size_t misaligned[] = {4};
    size_t misaligned2[] = {0, 12};
    size_t past_end[] = {16}; /* size 16: a pointer at 16 ends at 24 */
    size_t straddles[] = {8}; /* size 12: a pointer at 8 ends at 16 */
    size_t dup[] = {8, 0, 8};
    size_t huge[] = {SIZE_MAX - 7}; /* aligned, but offset + 8 overflows */
    CHECK_EINVAL(tc_type_new("t", 0, NULL, 0, 0));
    CHECK_EINVAL(tc_type_new("t", 0, ok, 2, 0));
    CHECK_EINVAL(tc_type_new(NULL, 16, ok, 2, 0));
    CHECK_EINVAL(tc_type_new("t", 16, misaligned, 1, 0));
    CHECK_EINVAL(tc_type_new("t", 16, misaligned2, 2, 0));
    CHECK_EINVAL(tc_type_new("t", 16, past_end, 1, 0));
    CHECK_EINVAL(tc_type_new("t", 12, straddles, 1, 0));
    CHECK_EINVAL(tc_type_new("t", 4, ok, 1, 0)); /* pointer in a 4-byte object */
    CHECK_EINVAL(tc_type_new("t", 16, dup, 3, 0));
    CHECK_EINVAL(tc_type_new("t", 64, huge, 1, 0));
    CHECK_EINVAL(tc_type_new("t", SIZE_MAX - 7, huge, 1, 0)); /* starts at the end */
    CHECK_EINVAL(tc_type_new("t", 16, ok, 2, 0x2u));
    CHECK_EINVAL(tc_type_new("t", 16, ok, 2, ~0u));
    CHECK_EINVAL(tc_type_new("t", 16, NULL, 2, 0));
    /* The same descriptors fixed are accepted. */
    CHECK(tc_type_new("t", 16, ok, 2, 0) != NULL);
    CHECK(tc_type_new("t", 24, past_end, 1, 0) != NULL);
    CHECK(tc_type_new("t", 16, straddles, 1, 0) != NULL);
    CHECK(tc_type_new("t", 12, NULL, 0, 0) != NULL); /* odd sizes are fine without pointers */
}

TC_TEST(rejected_descriptor_costs_no_memory)
{
    /* Duplicates are found after the mask is built: once on the stack, once
     * in borrowed pages (mask past 64 words). Neither may leak metadata. */
    size_t small_dup[] = {0, 8, 0};
    size_t big_dup[] = {0, 8 * 10000, 8 * 10000};
    uint64_t before = tc_sysstat_read(&stat_gcmeta);
    CHECK_EINVAL(tc_type_new("t", 64, small_dup, 3, 0));
    CHECK_EINVAL(tc_type_new("t", 8 * 10001, big_dup, 3, 0));
    CHECK_EQ(tc_sysstat_read(&stat_gcmeta), before);
}

TC_TEST(two_hundred_pointer_words_span_four_mask_words)
{
    size_t offs[200];
    for (size_t i = 0; i < 200; i++) offs[i] = (199 - i) * 8; /* reversed order */
    tc_type *t = tc_type_new("two hundred", 200 * 8 + 16, offs, 200, 0);
    check_layout(t, 200 * 8 + 16, offs, 200);
    CHECK_EQ(t->ptrdata, 1600);
    CHECK_EQ(t->mask[0], UINT64_MAX);
    CHECK_EQ(t->mask[1], UINT64_MAX);
    CHECK_EQ(t->mask[2], UINT64_MAX);
    CHECK_EQ(t->mask[3], (1u << 8) - 1); /* words 192..199 */
}

TC_TEST(sparse_large_type_builds_its_mask_in_borrowed_pages)
{
    /* A 1 MiB object with a pointer every 4 KiB and one at the very end:
     * its 2048-word mask is past the stack buffer. */
    size_t size = (size_t)1 << 20;
    size_t offs[257];
    for (size_t i = 0; i < 256; i++) offs[i] = i * 4096 + 8;
    offs[256] = size - 8;
    uint64_t before = tc_sysstat_read(&stat_gcmeta);
    tc_type *t = tc_type_new("sparse", size, offs, 257, 0);
    CHECK(t != NULL);
    CHECK_EQ(t->ptrdata, size);
    CHECK_EQ(t->nptrs, 257);
    for (size_t w = 0; w < size / 8; w++)
        CHECK_EQ(type_word_is_ptr(t, w), (w % 512 == 1) || w == size / 8 - 1);
    /* The scratch pages went back; only the type itself stays charged. */
    CHECK(tc_sysstat_read(&stat_gcmeta) - before < 64 << 10);
}

TC_TEST(random_layouts_match_a_reference)
{
    uint64_t seed = tc_test_seed(), st = seed | 1;
    for (int iter = 0; iter < 2000; iter++) {
        size_t words = 1 + tc_rand(&st) % 300;
        size_t offs[300], n = 0;
        uint64_t density = tc_rand(&st) % 100;
        for (size_t w = 0; w < words; w++)
            if (tc_rand(&st) % 100 < density) offs[n++] = w * 8;
        /* shuffle: order must not matter */
        for (size_t i = n; i > 1; i--) {
            size_t j = tc_rand(&st) % i, tmp = offs[i - 1];
            offs[i - 1] = offs[j];
            offs[j] = tmp;
        }
        size_t size = words * 8 + tc_rand(&st) % 8;
        tc_type *t = tc_type_new("random", size, offs, n, 0);
        check_layout(t, size, offs, n);
    }
}

TC_TEST_MAIN()
