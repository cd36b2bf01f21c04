/*
 * consumer.c — a user program built against an installed tricolor, through
 * find_package and through pkg-config (tests/install/check_install.sh).
 *
 * It uses only include/tricolor.h, calls one allocator of each unmanaged kind
 * and checks what tc_read_stats reports, then prints one known line that the
 * script looks for. Any failed check prints what it saw and exits 1.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <tricolor.h>

static int failures;

#define EXPECT(cond)                                                                               \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "consumer: check failed: %s (line %d)\n", #cond, __LINE__);            \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static int all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0) return 0;
    return 1;
}

int main(void)
{
    tc_stats before, after;
    tc_read_stats(&before);

    unsigned char *p = tc_persistent_alloc(100, 64, NULL);
    EXPECT(p != NULL);
    EXPECT(((uintptr_t)p & 63) == 0);
    EXPECT(p != NULL && all_zero(p, 100));
    if (p != NULL) memset(p, 0xab, 100);

    tc_fixalloc pool;
    tc_fixalloc_init(&pool, 24, NULL, NULL, NULL);
    void *a = tc_fixalloc_alloc(&pool);
    void *b = tc_fixalloc_alloc(&pool);
    EXPECT(a != NULL && b != NULL && a != b);
    EXPECT(pool.size == 24);

    tc_read_stats(&after);
    EXPECT(after.persistent_inuse >= before.persistent_inuse + 100);
    EXPECT(pool.inuse == 2 * 24);
    EXPECT(after.sys_total > 0);

    uint64_t sum = 0;
    for (int c = 0; c < TC_SYSCAT_COUNT; c++) sum += after.sys_by_category[c];
    EXPECT(sum == after.sys_total);

    tc_fixalloc_free(&pool, b);
    tc_fixalloc_free(&pool, a);
    EXPECT(pool.inuse == 0);

    if (failures != 0) return 1;
    printf("tricolor consumer: ok\n");
    return 0;
}
