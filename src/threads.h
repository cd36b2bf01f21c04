/*
 * threads.h — the thread registry and the stop-the-world mechanism, as the
 * collector sees them. threads.c explains the protocol; docs/threads.md the
 * contract for embedders.
 */
#ifndef TC_THREADS_H
#define TC_THREADS_H

#include "runtime.h"

struct mcache;

/* Words of saved registers a thread can carry: a signal's gregs (23 on
 * x86-64) and xmm0-15 (32 words), or the callee-saved registers captured at
 * a call (7 words with the return address). */
#define THREAD_MAX_REGS 64

/* Per-thread runtime state: Go's M and P in one. Allocated at attach, freed
 * at detach; the registry links every attached thread. */
typedef struct tc_thread {
    /* Mode and stop request in one word (THREAD_* below), changed by CAS so
     * that the thread's own transitions and the stopper's request race
     * correctly. Also the futex a parked or blocked thread sleeps on. */
    _Atomic uint32_t state;
    pid_t tid;         /* kernel thread id, for messages */
    pthread_t pthread; /* where the stop signal goes */
    /* Bounds of the thread's stack, found at attach: [stack_lo, stack_hi). */
    uintptr_t stack_lo, stack_hi;
    /* Captured when the thread stopped (parked, entered a blocking region,
     * or stopped the world itself): where the live part of its stack starts
     * and what its registers held. Written by the thread (or its signal
     * handler) before it publishes a stopped mode with release order. */
    uintptr_t sp;
    /* [alt_lo, alt_hi): the part in use of the thread's alternate signal
     * stack when it stopped inside a handler running there (sigaltstack);
     * both 0 otherwise. Written with sp. */
    uintptr_t alt_lo, alt_hi;
    size_t nregs;
    uintptr_t regs[THREAD_MAX_REGS];
    uint64_t nsignals; /* stop signals sent to it (written by stoppers) */
    /* Whether the saved state came from the stop signal (the thread may have
     * been anywhere in its own code, e.g. half-way through an inline
     * TC_STORE) rather than from a call into the library. Written with the
     * saved registers. */
    bool by_signal;

    /* Owned by the heap: the thread's allocation cache (NULL until the heap
     * gives it one). threads.c never touches it. */
    struct mcache *mcache;
    /* Owned by the collector: the thread's grey work buffers. */
    void *gcw;
    /* The slow path the thread is in ("assist", "refill", "large"; NULL:
     * none), written by the thread with relaxed stores, read by a stopper
     * for gctrace=2's late-stop note: a stop waits for a critical section
     * to end, and these are the long ones. */
    _Atomic(const char *) slow_path;

    struct tc_thread *next, *prev; /* registry list, under the registry lock */
} tc_thread;

/* Low bits of tc_thread.state: the mode. */
#define THREAD_RUNNING  0u /* running mutator code; must be stopped */
#define THREAD_BLOCKING 1u /* in a blocking region; counts as stopped */
#define THREAD_PARKED   2u /* parked at a safepoint or in the signal handler */
#define THREAD_MODE     0xffu
/* Set by a stopper in every other thread's word while the world is stopped
 * or stopping; cleared by threads_start_world. While it is set the thread may
 * not return to THREAD_RUNNING. */
#define THREAD_STOP 0x100u

/* NULL if the calling thread is not attached. */
tc_thread *thread_self(void);

/* Name the slow path the calling thread enters (what), or leaves (NULL). */
static inline void thread_slow_path(const char *what)
{
    tc_thread *t = thread_self();
    if (t != NULL) atomic_store_explicit(&t->slow_path, what, memory_order_relaxed);
}

/* Stop every other attached thread: returns when each is parked or in a
 * blocking region. The caller's own registers and stack pointer are captured
 * at the call (so a heap pointer its callers keep in a callee-saved register
 * is seen). The caller must hold no runtime lock and not be in a blocking
 * region; calling it again before threads_start_world is fatal. The registry
 * lock is held until threads_start_world: no thread attaches or detaches in
 * between. The world stays stopped until threads_start_world; code running
 * meanwhile must not call into libc functions that take locks (malloc,
 * stdio): a parked thread may hold them. */
void threads_stop_world(const char *reason);
void threads_start_world(void);
/* Whether the calling thread has the world stopped. */
bool threads_stopped_by_self(void);

/* Call fn for every attached thread, the caller included. Only while the
 * caller has the world stopped, or else under the registry lock, which this
 * takes itself (fn must then not stop the world or attach/detach). */
void threads_for_each(void (*fn)(tc_thread *t, void *arg), void *arg);

/* The range [lo, hi) of t's stack to scan conservatively, from its saved
 * stack pointer (minus the x86-64 red zone for a thread stopped by the
 * signal) to its base. Valid while t is stopped (the world is stopped, or t
 * is in a blocking region) or t is the stopper. If the saved stack pointer is
 * outside the stack found at attach (a coroutine or alternate stack), the
 * whole attach-time stack is returned. */
void thread_stack_range(const tc_thread *t, uintptr_t *lo, uintptr_t *hi);

/* The in-use part of t's alternate signal stack, when t stopped inside a
 * handler running on it: false if none. Valid as thread_stack_range. */
bool thread_alt_stack_range(const tc_thread *t, uintptr_t *lo, uintptr_t *hi);

/* The registers saved when t stopped, as words to scan conservatively. */
const uintptr_t *thread_saved_regs(const tc_thread *t, size_t *nwords);

/* The cheap check on a safepoint: one relaxed load of a global flag. Call it
 * wherever a thread may park (the allocation slow path). Inside a runtime
 * critical section it only marks the stop as deferred. */
extern _Atomic int threads_stop_pending;
void thread_park_slow(void);
static inline void thread_park_if_stopping(void)
{
    if (tc_unlikely(atomic_load_explicit(&threads_stop_pending, memory_order_relaxed)))
        thread_park_slow();
}

/* Timing of stops: nanoseconds from the request to every thread stopped. */
typedef struct threads_stop_stats {
    uint64_t nstops;
    uint64_t last_ns, max_ns, total_ns;
    uint64_t last_nthreads; /* threads that had to stop in the last stop */
    uint64_t nsignals;      /* stop signals sent, all stops together */
} threads_stop_stats;
uint64_t threads_last_stop_ns(void);
void threads_read_stop_stats(threads_stop_stats *out);

/* Attached threads right now (under the registry lock). */
int threads_count(void);

/* Attached threads not in a blocking region right now: those that may want a
 * CPU for mutator code (under the registry lock; from an internal thread). */
int threads_count_running(void);

/* Called once by tc_init, before it attaches the initial thread: installs the
 * stop signal's handler. Fatal for a signal that cannot serve. */
void threads_init(int stop_signal);

#endif
