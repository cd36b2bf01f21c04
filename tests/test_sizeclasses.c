/*
 * test_sizeclasses.c — the generated size-class table (src/sizeclasses.[ch])
 * has the properties the heap relies on. That the committed files match the
 * generator byte for byte is the separate CTest test sizeclasses_generated
 * (tests/sizeclasses.cmake).
 */
#include "tc_test.h"

#include "runtime.h"
#include "sizeclasses.h"

TC_TEST(class_count_is_gos_68)
{
    CHECK_EQ(TC_NUM_SIZE_CLASSES, 68);
    CHECK_EQ(sizeclass_to_size[TC_NUM_SIZE_CLASSES - 1], TC_MAX_SMALL_SIZE);
}

TC_TEST(class_zero_is_the_large_placeholder)
{
    CHECK_EQ(sizeclass_to_size[0], 0);
    CHECK_EQ(sizeclass_to_npages[0], 0);
    CHECK_EQ(sizeclass_to_divmagic[0], 0);
}

TC_TEST(class_sizes_strictly_increase)
{
    for (unsigned c = 1; c < TC_NUM_SIZE_CLASSES; c++)
        CHECK_MSG(sizeclass_to_size[c] > sizeclass_to_size[c - 1], "class %u size %u <= %u", c,
                  sizeclass_to_size[c], sizeclass_to_size[c - 1]);
    CHECK_EQ(sizeclass_to_size[1], 8);
    CHECK_EQ(sizeclass_to_size[2], TC_TINY_SIZE);
}

TC_TEST(every_size_maps_to_the_smallest_class_that_fits)
{
    for (size_t s = 1; s <= TC_MAX_SMALL_SIZE; s++) {
        unsigned c = size_to_sizeclass(s);
        CHECK_MSG(c >= 1 && c < TC_NUM_SIZE_CLASSES, "size %zu: class %u out of range", s, c);
        CHECK_MSG(sizeclass_to_size[c] >= s, "size %zu: class %u holds only %u", s, c,
                  sizeclass_to_size[c]);
        CHECK_MSG(c == 1 || sizeclass_to_size[c - 1] < s,
                  "size %zu: class %u chosen but class %u (%u B) fits", s, c, c - 1,
                  sizeclass_to_size[c - 1]);
    }
    CHECK_EQ(size_to_sizeclass(0), 1); /* documented: 0 rounds up to the smallest class */
}

TC_TEST(every_class_size_maps_to_itself)
{
    for (unsigned c = 1; c < TC_NUM_SIZE_CLASSES; c++)
        CHECK_EQ(size_to_sizeclass(sizeclass_to_size[c]), c);
}

/* Go's rule: the walk steps by 8 below 32 bytes, by 16 from 32, by a 1/8 of
 * the last power of two from 128 and by 256 from 2048; the final growth
 * keeps 128-byte multiples. So: all 8-aligned, 16-aligned from 32 up,
 * 128-aligned from 1024 up. The 24-byte class is the one class above 16
 * bytes that is not 16-aligned. */
TC_TEST(class_sizes_follow_gos_alignment_rule)
{
    for (unsigned c = 1; c < TC_NUM_SIZE_CLASSES; c++) {
        uint32_t s = sizeclass_to_size[c];
        CHECK_MSG(s % 8 == 0, "class %u size %u not 8-aligned", c, s);
        if (s >= 32) CHECK_MSG(s % 16 == 0, "class %u size %u not 16-aligned", c, s);
        if (s >= 1024) CHECK_MSG(s % 128 == 0, "class %u size %u not 128-aligned", c, s);
        if (s >= 128 && s < 1024) {
            uint32_t pow2 = 128;
            while (pow2 * 2 <= s) pow2 *= 2;
            CHECK_MSG(s % (pow2 / 8) == 0, "class %u size %u not a multiple of %u", c, s, pow2 / 8);
        }
    }
    CHECK_EQ(sizeclass_to_size[3], 24);
}

/* What C needs: an object whose size is a multiple of 16 (any type with
 * 16-byte alignment has one) lands in a class whose objects are 16-aligned,
 * and so does any request above 24 bytes. */
TC_TEST(multiples_of_16_and_sizes_above_24_get_16_byte_slots)
{
    for (size_t s = 1; s <= TC_MAX_SMALL_SIZE; s++) {
        uint32_t cs = sizeclass_to_size[size_to_sizeclass(s)];
        if (s % 16 == 0 || s > 24)
            CHECK_MSG(cs % 16 == 0, "size %zu -> class size %u not 16-aligned", s, cs);
    }
}

TC_TEST(spans_hold_objects_with_tail_waste_at_most_an_eighth)
{
    for (unsigned c = 1; c < TC_NUM_SIZE_CLASSES; c++) {
        size_t span = (size_t)sizeclass_to_npages[c] * TC_PAGE_SIZE;
        size_t s = sizeclass_to_size[c];
        CHECK_MSG(sizeclass_to_npages[c] >= 1 && sizeclass_to_npages[c] <= 10, "class %u: %u pages",
                  c, sizeclass_to_npages[c]);
        size_t objects = span / s;
        size_t tail = span - objects * s;
        CHECK_MSG(objects >= 1, "class %u: no object fits %zu bytes", c, span);
        CHECK_MSG(tail <= span / 8, "class %u: tail %zu of %zu", c, tail, span);
        /* Growth step: no larger 128-multiple fits the same number of objects. */
        size_t bigger = (s / 128 + 1) * 128;
        CHECK_MSG(span / bigger < objects, "class %u: %zu B would still fit %zu objects", c, bigger,
                  objects);
    }
}

TC_TEST(divmagic_divides_every_offset_of_every_span)
{
    for (unsigned c = 1; c < TC_NUM_SIZE_CLASSES; c++) {
        uint64_t magic = sizeclass_to_divmagic[c];
        uint32_t s = sizeclass_to_size[c];
        CHECK_EQ(magic, ((uint64_t)1 << 32) / s + (((uint64_t)1 << 32) % s != 0));
        uint32_t span = sizeclass_to_npages[c] * (uint32_t)TC_PAGE_SIZE;
        for (uint32_t off = 0; off <= span; off++) {
            uint32_t idx = (uint32_t)(((uint64_t)off * magic) >> 32);
            if (idx != off / s)
                TC_FAIL("class %u (%u B): offset %u gives index %u, want %u", c, s, off, idx,
                        off / s);
        }
    }
}

TC_TEST(lookup_tables_agree_with_the_class_sizes)
{
    for (size_t i = 1; i < sizeof size_to_class8; i++) {
        unsigned c = size_to_class8[i];
        CHECK(sizeclass_to_size[c] >= i * TC_SMALL_SIZE_DIV);
        CHECK(sizeclass_to_size[c - 1] < i * TC_SMALL_SIZE_DIV);
    }
    for (size_t i = 1; i < sizeof size_to_class128; i++) {
        unsigned c = size_to_class128[i];
        size_t s = TC_SMALL_SIZE_MAX + i * TC_LARGE_SIZE_DIV;
        CHECK(sizeclass_to_size[c] >= s && sizeclass_to_size[c - 1] < s);
    }
    CHECK_EQ(size_to_class128[sizeof size_to_class128 - 1], TC_NUM_SIZE_CLASSES - 1);
}

TC_TEST_MAIN()
