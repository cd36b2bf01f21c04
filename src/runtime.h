/*
 * runtime.h — what every subsystem of tricolor shares: constants of the heap
 * geometry, the fatal-error path, assertions, branch hints and the runtime
 * lock type.
 *
 * Naming: public functions are tc_*; internal functions shared between files
 * carry their subsystem's name (sys_reserve, persistent_alloc, fixalloc_...);
 * everything else is static.
 *
 * Locks. Every runtime lock is a tc_mutex. Taking one enters a runtime
 * critical section (see critical_enter below): the collector never parks a
 * thread inside one. The global lock order is written here, once, and each
 * file that takes two locks names this list:
 *
 *   1. threads.c registry_lock (a plain pthread mutex, first of all: held by
 *      a stopper from threads_stop_world to threads_start_world; an attached
 *      thread waits for it outside any critical section, counted as stopped;
 *      concurrent mark workers take it holding nothing, to count the
 *      running threads, and are never waited for by a stopper)
 *   2. threads.c start_lock (tc_pthread_create's argument pool; nothing but
 *      the allocators' locks below is taken under it)
 *   3. roots.c roots_mu (may take persistent's lock through its fixalloc pool)
 *   4. pacer.c pacer_mu (leaf)
 *   5. persistent.c orphan_lock (leaf: nothing is taken while holding it)
 *   6. gcwork.c list_lock (leaf)
 *   Later subsystems insert themselves between 2 and 5 (the collector runs
 *   with the world stopped, under registry_lock).
 *
 *   ---- heap (mheap.c, mcentral.c): begin ---- (between 2 and 5 above)
 *   mcentral.lock (one per span class): nothing is taken while it is held,
 *       and it is never taken while the heap lock is held.
 *   mheap_.lock: may take, inside it, the gcbits lock and (through
 *       fixalloc / persistent_alloc) persistent's orphan_lock.
 *   gcbits lock (mheap.c): leaf below mheap_.lock.
 *   ---- heap: end ----
 *
 *   ---- collector (between 2 and 5 above) ----
 *   gc.c co.mu (the coordinator's mailbox: mutators take it only inside a
 *       blocking region), gc.c stats_mu (the collector's statistics),
 *       gc.c mk.mu (the markers' handshake and sleep: a
 *       mutator takes it inside a critical section only to wake sleeping
 *       markers), barrier.c wbq_mu (the queue of full barrier buffers,
 *       taken inside a critical section): leaves, held for a few
 *       instructions, never across a stop.
 *   barrier.c mutator_mu (per-thread barrier state pools): may take
 *       persistent's orphan_lock through its pool; never taken under
 *       wbq_mu.
 */
#ifndef TC_RUNTIME_H
#define TC_RUNTIME_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "tricolor.h"

#define tc_likely(x)   __builtin_expect(!!(x), 1)
#define tc_unlikely(x) __builtin_expect(!!(x), 0)
#define TC_NOINLINE    __attribute__((noinline))
#define TC_INLINE      static inline __attribute__((always_inline))
#define TC_CACHELINE   64
/* Thread-locals on hot paths: one load, also in the shared library. The
 * model must be on the extern declaration too: without it every other file
 * compiles a __tls_get_addr call (general-dynamic), which only GNU ld's
 * relaxation happens to remove when it links libtricolor.so. */
#define TC_TLS_IE __attribute__((tls_model("initial-exec")))

/* Heap geometry (Go's values for linux/amd64). */
#define TC_PAGE_SHIFT  13
#define TC_PAGE_SIZE   ((size_t)1 << TC_PAGE_SHIFT) /* runtime page: 8 KiB */
#define TC_ARENA_SHIFT 26
#define TC_ARENA_SIZE  ((size_t)1 << TC_ARENA_SHIFT) /* 64 MiB */
#define TC_ADDR_BITS   48

#define TC_PTR_SIZE ((size_t)sizeof(void *))

static inline uintptr_t tc_align_up(uintptr_t x, uintptr_t a) { return (x + a - 1) & ~(a - 1); }
static inline uintptr_t tc_align_down(uintptr_t x, uintptr_t a) { return x & ~(a - 1); }

/* The n low bits set (all 64 for n >= 64): a shift by 64 is undefined. */
static inline uint64_t tc_low_mask(uint64_t n)
{
    return n >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << n) - 1;
}

/* Set bits of x. Baseline x86-64 has no popcnt instruction, and without
 * -mpopcnt the builtin is a call into libgcc; the sweeper counts two words
 * per 64 slots, so do it inline (the classic SWAR sum) unless the compiler
 * may use the instruction. */
static inline unsigned tc_popcount64(uint64_t x)
{
#ifdef __POPCNT__
    return (unsigned)__builtin_popcountll(x);
#else
    x = x - ((x >> 1) & 0x5555555555555555ull);
    x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
    return (unsigned)((x * 0x0101010101010101ull) >> 56);
#endif
}
/* A clock in nanoseconds. */
static inline uint64_t tc_clock_ns(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
/* CLOCK_MONOTONIC (vDSO: about 20 ns). */
static inline uint64_t tc_mono_ns(void) { return tc_clock_ns(CLOCK_MONOTONIC); }

static inline bool tc_is_pow2(uintptr_t x) { return x != 0 && (x & (x - 1)) == 0; }

/* ---- fatal errors (debug.c) ---------------------------------------------
 * tc_throw prints one line "tricolor: fatal error: <msg>" and aborts. It
 * formats into a stack buffer and writes with write(2), so it is safe to call
 * with any lock held and from a signal handler. Use it for broken invariants
 * and detected misuse; it is always on. */
_Noreturn void tc_throw(const char *fmt, ...) __attribute__((format(printf, 1, 2), cold));

/* One line "tricolor: warning: <msg>" on stderr; the process goes on. */
void tc_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2), cold));

/* TC_ASSERT checks cheap invariants in debug builds (NDEBUG unset) and in
 * tests; release builds compile it out. tc_throw stays in every build. */
#ifndef NDEBUG
#define TC_ASSERT(c)                                                                               \
    do {                                                                                           \
        if (tc_unlikely(!(c))) tc_throw("assertion failed: %s (%s:%d)", #c, __FILE__, __LINE__);   \
    } while (0)
#else
#define TC_ASSERT(c) ((void)0)
#endif

/* ---- critical sections ---------------------------------------------------
 * A thread is in a runtime critical section while it holds a runtime lock or
 * is half-way through a multi-step update of runtime state. A stop request
 * that arrives meanwhile is deferred until the outermost critical_leave.
 * The depth is thread-local and only ever touched by its own thread (and read
 * by that thread's signal handler, which interrupts it: hence volatile). */
extern __thread volatile int tc_critical_depth TC_TLS_IE;
/* Set by the stop machinery (threads.c) when a stop arrived while the thread
 * was inside a critical section; cleared by critical_leave_slow once parked. */
extern __thread volatile int tc_stop_deferred TC_TLS_IE;

/* The signal fences keep the compiler from moving the section's memory
 * accesses across the depth updates (volatile orders only volatile
 * accesses): the stop signal must never find an update of runtime state
 * half outside the section. They emit no instruction. */
static inline void critical_enter(void)
{
#if defined(__x86_64__)
    /* One instruction (a volatile ++ compiles to load, add, store), whose
     * memory clobber is the fence. */
    __asm__ volatile("addl $1, %0" : "+m"(tc_critical_depth) : : "memory");
#else
    tc_critical_depth++;
    atomic_signal_fence(memory_order_seq_cst);
#endif
}
void critical_leave_slow(void);
/* critical_leave without its call: leave the section and say whether the
 * caller must now call critical_leave_slow (it left the outermost section
 * and a stop was deferred). For allocation fast paths, which then make that
 * call from a separate function so that they need no saved registers. */
static inline bool critical_leave_needs_slow(void)
{
    atomic_signal_fence(memory_order_seq_cst);
    return --tc_critical_depth == 0 && tc_unlikely(tc_stop_deferred);
}
static inline void critical_leave(void)
{
    if (critical_leave_needs_slow()) critical_leave_slow();
}

typedef struct tc_mutex {
    pthread_mutex_t m;
} tc_mutex;
#define TC_MUTEX_INIT                                                                              \
    {                                                                                              \
        PTHREAD_MUTEX_INITIALIZER                                                                  \
    }

static inline void tc_lock(tc_mutex *l)
{
    critical_enter();
    pthread_mutex_lock(&l->m);
}
static inline void tc_unlock(tc_mutex *l)
{
    pthread_mutex_unlock(&l->m);
    critical_leave();
}

#endif /* TC_RUNTIME_H */
