/*
 * threads.c — mutator threads as the runtime sees them: the registry of
 * attached threads and the stop-the-world mechanism.
 *
 * Owns: every tc_thread (allocated from thread_pool at attach, freed at
 * detach), the registry list, the stop signal's handler, the critical-section
 * state of each thread, and the timing of stops.
 *
 * The design is Go's stopTheWorld translated to C threads that never poll:
 *
 *   1. A stopper takes the registry lock (so nobody attaches or detaches
 *      until the world starts again), sets the global flag
 *      threads_stop_pending and the THREAD_STOP bit in every other thread's
 *      state word.
 *   2. A thread that reaches a safepoint on its own — tc_safepoint, the
 *      allocation slow path (thread_park_if_stopping), tc_blocking_enter,
 *      the end of a runtime critical section — parks there: it saves its
 *      registers and stack pointer, sets its mode to THREAD_PARKED and sleeps
 *      on a futex in its state word.
 *   3. After a short spin (STOP_SPIN_NS) the stopper sends the stop signal to
 *      every thread still THREAD_RUNNING. The handler, on that thread:
 *        - inside a runtime critical section (tc_critical_depth > 0): sets
 *          tc_stop_deferred and returns; the thread parks in
 *          critical_leave_slow when its outermost section ends (a thread
 *          holding an allocator lock must not be parked: the stopper's
 *          collector will need the lock);
 *        - otherwise: copies the interrupted registers (all gregs and the
 *          xmm registers) out of the ucontext, takes the stack pointer from
 *          the ucontext (REG_RSP less the 128-byte red zone; never the
 *          handler's own frame, which may sit on a host's sigaltstack),
 *          publishes THREAD_PARKED and sleeps on the futex until the
 *          THREAD_STOP bit is cleared. errno is preserved.
 *      A thread in a blocking region (THREAD_BLOCKING) counts as stopped and
 *      is never signalled.
 *   4. The stopper sleeps on parked_seq, which every thread bumps when it
 *      publishes a stopped mode while its STOP bit is set, until no other
 *      thread is THREAD_RUNNING. That time is the stop latency (stats).
 *   5. threads_start_world clears every STOP bit, wakes each futex sleeper
 *      and releases the registry lock.
 *
 * The state word. Mode (RUNNING / BLOCKING / PARKED) and the stop request
 * share one 32-bit word, so that a thread leaving a stopped mode and a
 * stopper requesting a stop cannot both win: the thread's CAS back to RUNNING
 * fails if the STOP bit appeared meanwhile, and then it waits. Only the
 * thread itself (or its signal handler) changes the mode; only a stopper
 * holding the registry lock changes the STOP bit. Hence, while a stop is in
 * effect, no stopped thread can become RUNNING again.
 *
 * What is saved, and where the scan starts:
 *   - signal: every general register and xmm0-15 from the ucontext; stack
 *     from REG_RSP - 128 (the red zone of an interrupted leaf function);
 *   - in every case, a stack pointer outside the attach-time stack that lies
 *     in the thread's sigaltstack (it stopped inside a handler running there)
 *     also records the alternate stack's part in use, which is scanned
 *     besides the whole attach-time stack (capture_alt_stack);
 *   - tc_blocking_enter and threads_stop_world: these are assembly stubs
 *     that push rbx, rbp, r12-r15 exactly as the caller left them and pass
 *     that array to the C body; the scan starts at the caller's stack
 *     pointer. A caller may return to its own code afterwards (the blocking
 *     region, the collector's work) without losing a heap pointer that a
 *     frame of its callers keeps only in a callee-saved register;
 *   - parking inside the runtime (tc_safepoint, critical_leave_slow, the
 *     allocation slow path): the parking frame spills every callee-saved
 *     register (__builtin_unwind_init) and stays on the stack while parked;
 *     the scan starts below it.
 *
 * System calls. The handler is installed with SA_RESTART | SA_ONSTACK. A
 * signalled thread blocked in a system call runs the handler (parks) and the
 * call is then restarted by the kernel, except for the calls signal(7) lists
 * as never restarted (poll, select, epoll_wait, nanosleep, sigtimedwait,
 * recv/send with a socket timeout, ...), which fail with EINTR — exactly as
 * for any other signal with SA_RESTART. A thread in a blocking region is
 * never signalled, so wrapping long system calls in tc_blocking_enter/leave
 * avoids both the signal and the EINTR.
 *
 * Critical sections. tc_critical_depth and tc_stop_deferred are
 * thread-local, written by their thread and by its signal handler. Every
 * change of the thread's own saved state (registers, sp, mode) is made inside
 * a critical section, so the handler never overwrites a half-saved state.
 * A thread never parks inside a critical section, so a parked thread holds no
 * runtime lock; a stopper must hold none either (checked).
 *
 * fork: an atfork child handler leaves the forking thread alone in the
 * registry (the others do not exist in the child) and resets the locks.
 *
 * Locks (runtime.h's order): registry_lock is taken before every other
 * runtime lock and held by a stopper from threads_stop_world to
 * threads_start_world. It is a plain pthread mutex, not a tc_mutex: an
 * attached thread waits for it in THREAD_BLOCKING mode (counted as stopped),
 * never inside a critical section, so a stop in progress is never held up by
 * a thread queueing for the registry. start_lock (a tc_mutex, leaf apart from
 * the allocators' own locks) guards start_pool.
 */
#include "threads.h"

#include "barrier.h"
#include "debug.h"
#include "mheap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#if !defined(__x86_64__)
#error "threads.c: register capture (entry stubs, ucontext layout) exists for x86-64 only"
#endif

__thread volatile int tc_critical_depth TC_TLS_IE;
__thread volatile int tc_stop_deferred TC_TLS_IE;

static __thread tc_thread *tls_self TC_TLS_IE;
/* Non-NULL while this thread has the world stopped: the reason it gave. */
static __thread const char *tls_stop_reason TC_TLS_IE;

#define STOP_SPIN_NS ((uint64_t)20 * 1000)          /* cooperative parking window before signals */
#define STOP_WARN_NS ((uint64_t)1000 * 1000 * 1000) /* report a thread that does not stop */
#define RED_ZONE     128                            /* x86-64 SysV */

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static tc_thread *registry;     /* under registry_lock */
static _Atomic int registry_n;  /* written under registry_lock */
static tc_fixalloc thread_pool; /* under registry_lock */
static int stop_signal;         /* set once by threads_init */
static _Atomic bool threads_ready;
static pthread_key_t exit_key; /* detaches a thread that exits attached */

_Atomic int threads_stop_pending;
static _Atomic uint32_t parked_seq;     /* bumped by each thread that stops for a stopper */
static _Atomic uint32_t stopper_asleep; /* the stopper sleeps on parked_seq */

static struct {
    _Atomic uint64_t nstops, last_ns, max_ns, total_ns, last_nthreads, nsignals;
} stop_stats;

struct start_args {
    void *(*fn)(void *);
    void *arg;
};
static tc_mutex start_lock = TC_MUTEX_INIT;
static tc_fixalloc start_pool; /* under start_lock */

/* ---- small helpers --------------------------------------------------- */

static inline uint32_t mode_of(uint32_t s) { return s & THREAD_MODE; }

/* Raw futex calls: async-signal-safe (the caller preserves errno). */
static void futex_wait(_Atomic uint32_t *addr, uint32_t val, const struct timespec *timeout)
{
    syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAIT_PRIVATE, val, timeout, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *addr)
{
    syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

/* Tell a sleeping stopper that one more thread stopped. */
static void notify_stopper(void)
{
    atomic_fetch_add_explicit(&parked_seq, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&stopper_asleep, memory_order_seq_cst)) futex_wake(&parked_seq);
}

tc_thread *thread_self(void) { return tls_self; }

/* Called on the thread itself (or in its stop handler) right after t->sp was
 * captured. A stack pointer outside the attach-time stack may lie in the
 * thread's alternate signal stack: the thread stopped inside a handler
 * running there, whose frames may hold the only pointers to heap objects.
 * Record the part in use, [sp - red_zone, top). (The attach-time stack is
 * then scanned whole: where the handler interrupted it is not known.)
 * sigaltstack is one system call, made only in that unusual case. */
static void capture_alt_stack(tc_thread *t, uintptr_t sp, uintptr_t red_zone)
{
    t->alt_lo = t->alt_hi = 0;
    if (sp >= t->stack_lo && sp <= t->stack_hi) return;
    stack_t ss;
    if (sigaltstack(NULL, &ss) != 0 || (ss.ss_flags & SS_DISABLE)) return;
    uintptr_t lo = (uintptr_t)ss.ss_sp, hi = lo + ss.ss_size;
    if (sp < lo || sp > hi) return;
    t->alt_lo = sp - lo > red_zone ? sp - red_zone : lo; /* with the red zone, if any */
    t->alt_hi = hi;
}

/* Record the registers as they are here and the stack pointer of this
 * frame. Called from a frame that stays on the stack while the thread is
 * stopped and that has spilled every callee-saved register of its callers
 * (__builtin_unwind_init): those spills lie above the recorded sp. */
static TC_NOINLINE void capture_here(tc_thread *t)
{
    uintptr_t sp;
    __asm__ volatile("movq %%rbx, 0(%1)\n\t"
                     "movq %%rbp, 8(%1)\n\t"
                     "movq %%r12, 16(%1)\n\t"
                     "movq %%r13, 24(%1)\n\t"
                     "movq %%r14, 32(%1)\n\t"
                     "movq %%r15, 40(%1)\n\t"
                     "movq %%rsp, %0\n\t"
                     : "=&r"(sp)
                     : "r"(t->regs)
                     : "memory");
    t->nregs = 6;
    t->sp = sp;
    capture_alt_stack(t, sp, 0);
    t->by_signal = false;
}

/* Record what an entry stub pushed: saved[0..5] = r15, r14, r13, r12, rbx,
 * rbp as the caller had them, saved[6] = the return address; the caller's
 * stack pointer is just above. The words were pushed by uninstrumented asm
 * below the caller's frame, where AddressSanitizer's shadow may still hold
 * a dead frame's scope poison: it cannot judge these reads, so they are
 * excluded (CI once reported one as stack-use-after-scope). */
__attribute__((no_sanitize("address"))) static void capture_from_stub(tc_thread *t,
                                                                      const uintptr_t *saved)
{
    for (int i = 0; i < 7; i++) t->regs[i] = saved[i];
    t->nregs = 7;
    t->sp = (uintptr_t)(saved + 7);
    capture_alt_stack(t, t->sp, 0);
    t->by_signal = false;
}

/* RUNNING -> mode, keeping the STOP bit; wakes a stopper if it waits on us.
 * Inside a critical section of the caller. */
static void publish_stopped(tc_thread *t, uint32_t mode)
{
    uint32_t s = atomic_load_explicit(&t->state, memory_order_relaxed);
    do {
        if (mode_of(s) != THREAD_RUNNING)
            tc_throw("threads: thread %d leaves mode %u for %u, not from running", (int)t->tid,
                     mode_of(s), mode);
    } while (!atomic_compare_exchange_weak_explicit(&t->state, &s, (s & THREAD_STOP) | mode,
                                                    memory_order_release, memory_order_relaxed));
    if (s & THREAD_STOP) notify_stopper();
    /* A stop deferred earlier is answered: the thread now counts as stopped. */
    tc_stop_deferred = 0;
}

/* mode -> RUNNING once no stop is in effect; sleeps while one is. */
static void resume_running(tc_thread *t, uint32_t mode)
{
    uint32_t s = atomic_load_explicit(&t->state, memory_order_acquire);
    for (;;) {
        if (mode_of(s) != mode)
            tc_throw("threads: thread %d resumes from mode %u, expected %u", (int)t->tid,
                     mode_of(s), mode);
        if (s & THREAD_STOP) {
            futex_wait(&t->state, s, NULL);
            s = atomic_load_explicit(&t->state, memory_order_acquire);
            continue;
        }
        if (atomic_compare_exchange_weak_explicit(&t->state, &s, THREAD_RUNNING,
                                                  memory_order_acquire, memory_order_acquire))
            return;
    }
}

/* ---- parking ------------------------------------------------------------ */

static TC_NOINLINE void park_self(tc_thread *t)
{
    __builtin_unwind_init(); /* every callee-saved register of our callers is in this frame */
    tc_critical_depth++;
    uint32_t s = atomic_load_explicit(&t->state, memory_order_relaxed);
    if (!(s & THREAD_STOP) || mode_of(s) != THREAD_RUNNING) {
        tc_critical_depth--;
        return;
    }
    capture_here(t);
    publish_stopped(t, THREAD_PARKED);
    tc_critical_depth--;
    resume_running(t, THREAD_PARKED);
}

void thread_park_slow(void)
{
    tc_thread *t = tls_self;
    if (t == NULL) return;
    uint32_t s = atomic_load_explicit(&t->state, memory_order_acquire);
    if (!(s & THREAD_STOP) || mode_of(s) != THREAD_RUNNING) return;
    if (tc_critical_depth > 0) {
        tc_stop_deferred = 1; /* park at the end of the section */
        return;
    }
    park_self(t);
}

void tc_safepoint(void) { thread_park_if_stopping(); }

void critical_leave_slow(void)
{
    /* A stop arrived while the thread was in a critical section; the
     * section is over, so park now. Loop: parking may itself be
     * interrupted by a (stale) signal that defers again. */
    while (tc_stop_deferred && tc_critical_depth == 0) {
        tc_stop_deferred = 0;
        thread_park_slow();
    }
}

/* The stop signal. Async-signal-safe: atomics, futex and clock only. */
static void stop_handler(int sig, siginfo_t *info, void *ucv)
{
    (void)sig;
    (void)info;
    int saved_errno = errno;
    tc_thread *t = tls_self;
    if (t == NULL) goto out; /* not attached (a stale or foreign signal) */
    uint32_t s = atomic_load_explicit(&t->state, memory_order_acquire);
    if (!(s & THREAD_STOP) || mode_of(s) != THREAD_RUNNING)
        goto out; /* stale, or stopped already */
    if (tc_critical_depth > 0) {
        tc_stop_deferred = 1;
        goto out;
    }
    const ucontext_t *uc = ucv;
    size_t n = 0;
    for (int i = 0; i < NGREG; i++) t->regs[n++] = (uintptr_t)uc->uc_mcontext.gregs[i];
    if (uc->uc_mcontext.fpregs != NULL) {
        _Static_assert(NGREG + 32 <= THREAD_MAX_REGS, "room for gregs and xmm0-15");
        for (int i = 0; i < 16; i++) {
            const uint32_t *x = uc->uc_mcontext.fpregs->_xmm[i].element;
            t->regs[n++] = (uintptr_t)x[0] | (uintptr_t)x[1] << 32;
            t->regs[n++] = (uintptr_t)x[2] | (uintptr_t)x[3] << 32;
        }
    }
    t->nregs = n;
    uintptr_t sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
    t->sp = sp - RED_ZONE;
    capture_alt_stack(t, sp, RED_ZONE);
    t->by_signal = true;
    tc_critical_depth++;
    publish_stopped(t, THREAD_PARKED);
    tc_critical_depth--;
    resume_running(t, THREAD_PARKED);
out:
    errno = saved_errno;
}

/* ---- entry stubs -----------------------------------------------------------
 * tc_blocking_enter and threads_stop_world push the callee-saved registers
 * exactly as their caller left them and pass the array to their C body as
 * the second argument (the first, if any, is untouched). */
#define CFI_PUSH(reg)                                                                              \
    "pushq %" reg "\n\t.cfi_adjust_cfa_offset 8\n\t.cfi_rel_offset %" reg ", 0\n\t"
#define CFI_POP(reg) "popq %" reg "\n\t.cfi_adjust_cfa_offset -8\n\t.cfi_restore %" reg "\n\t"
#define ENTRY_STUB(name, body, vis)                                                                \
    __asm__(".text\n\t"                                                                            \
            ".globl " #name "\n\t" vis ".type " #name ", @function\n\t"                            \
            ".p2align 4\n" #name ":\n\t"                                                           \
            ".cfi_startproc\n\t" CFI_PUSH("rbp") CFI_PUSH("rbx") CFI_PUSH("r12") CFI_PUSH("r13")   \
                CFI_PUSH("r14") CFI_PUSH(                                                          \
                    "r15") "movq %rsp, %rsi\n\t"                                                   \
                           "subq $8, %rsp\n\t.cfi_adjust_cfa_offset 8\n\t"                         \
                           "call " #body "@PLT\n\t"                                                \
                           "addq $8, %rsp\n\t.cfi_adjust_cfa_offset -8\n\t" CFI_POP("r15")         \
                               CFI_POP("r14") CFI_POP("r13") CFI_POP("r12") CFI_POP("rbx")         \
                                   CFI_POP("rbp") "ret\n\t"                                        \
                                                  ".cfi_endproc\n\t"                               \
                                                  ".size " #name ", .-" #name "\n");

#define HIDDEN_BODY __attribute__((visibility("hidden"), used))
HIDDEN_BODY void threads_blocking_enter_body(void *unused, const uintptr_t *saved);
HIDDEN_BODY void threads_stop_world_body(const char *reason, const uintptr_t *saved);

ENTRY_STUB(tc_blocking_enter, threads_blocking_enter_body, "")
ENTRY_STUB(threads_stop_world, threads_stop_world_body, ".hidden threads_stop_world\n\t")

/* ---- blocking regions -------------------------------------------------------- */

void threads_blocking_enter_body(void *unused, const uintptr_t *saved)
{
    (void)unused;
    tc_thread *t = tls_self;
    if (t == NULL) tc_throw("tc_blocking_enter: thread %d is not attached", (int)gettid());
    if (tc_critical_depth != 0)
        tc_throw("tc_blocking_enter: inside a runtime critical section (depth %d)",
                 (int)tc_critical_depth);
    uint32_t s = atomic_load_explicit(&t->state, memory_order_relaxed);
    if (mode_of(s) != THREAD_RUNNING)
        tc_throw("tc_blocking_enter: thread %d is already in a blocking region (state %#x)",
                 (int)t->tid, s);
    if (tls_stop_reason != NULL)
        tc_throw("tc_blocking_enter: thread %d has the world stopped (%s)", (int)t->tid,
                 tls_stop_reason);
    critical_enter();
    capture_from_stub(t, saved);
    publish_stopped(t, THREAD_BLOCKING);
    critical_leave();
}

void tc_blocking_leave(void)
{
    tc_thread *t = tls_self;
    if (t == NULL) tc_throw("tc_blocking_leave: thread %d is not attached", (int)gettid());
    uint32_t s = atomic_load_explicit(&t->state, memory_order_relaxed);
    if (mode_of(s) != THREAD_BLOCKING)
        tc_throw("tc_blocking_leave: thread %d is not in a blocking region (state %#x)",
                 (int)t->tid, s);
    resume_running(t, THREAD_BLOCKING);
}

/* Take the registry lock. An attached running thread waits for it in
 * THREAD_BLOCKING mode, counted as stopped, and is RUNNING again once it
 * holds it (no stop can be in effect while it holds the lock). */
static TC_NOINLINE void registry_lock_acquire(tc_thread *self)
{
    __builtin_unwind_init();
    if (self == NULL ||
        mode_of(atomic_load_explicit(&self->state, memory_order_relaxed)) != THREAD_RUNNING) {
        pthread_mutex_lock(&registry_lock);
        return;
    }
    /* Waiting counted as stopped while holding a runtime lock would let a
     * stopper's collector block on that lock. */
    if (tc_critical_depth != 0)
        tc_throw("threads: registry lock wanted inside a runtime critical section (depth %d)",
                 (int)tc_critical_depth);
    critical_enter();
    capture_here(self);
    publish_stopped(self, THREAD_BLOCKING);
    critical_leave();
    pthread_mutex_lock(&registry_lock);
    resume_running(self, THREAD_BLOCKING);
}

/* ---- attach and detach -------------------------------------------------------- */

static void registry_link(tc_thread *t)
{
    t->prev = NULL;
    t->next = registry;
    if (registry != NULL) registry->prev = t;
    registry = t;
    atomic_fetch_add_explicit(&registry_n, 1, memory_order_relaxed);
}

static void registry_unlink(tc_thread *t)
{
    if (t->prev != NULL)
        t->prev->next = t->next;
    else
        registry = t->next;
    if (t->next != NULL) t->next->prev = t->prev;
    t->next = t->prev = NULL;
    atomic_fetch_sub_explicit(&registry_n, 1, memory_order_relaxed);
}

int tc_thread_attach(void)
{
    if (tls_self != NULL) return 0;
    if (!atomic_load_explicit(&threads_ready, memory_order_acquire))
        tc_throw("tc_thread_attach: tc_init has not run");
    pthread_attr_t attr;
    void *addr;
    size_t size;
    int e = pthread_getattr_np(pthread_self(), &attr);
    if (e != 0) {
        errno = e;
        return -1;
    }
    e = pthread_attr_getstack(&attr, &addr, &size);
    pthread_attr_destroy(&attr);
    if (e != 0) {
        errno = e;
        return -1;
    }
    /* The stop must reach this thread. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, stop_signal);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);

    pthread_mutex_lock(&registry_lock); /* waits out a stop in progress */
    tc_thread *t = tc_fixalloc_alloc(&thread_pool);
    if (t == NULL) {
        pthread_mutex_unlock(&registry_lock);
        errno = ENOMEM;
        return -1;
    }
    *t = (tc_thread){.tid = gettid(),
                     .pthread = pthread_self(),
                     .stack_lo = (uintptr_t)addr,
                     .stack_hi = (uintptr_t)addr + size};
    atomic_init(&t->state, THREAD_RUNNING);
    t->sp = t->stack_lo;
    registry_link(t);
    tls_self = t;
    pthread_mutex_unlock(&registry_lock);
    pthread_setspecific(exit_key, t);
    return 0;
}

void tc_thread_detach(void)
{
    tc_thread *t = tls_self;
    if (t == NULL) tc_throw("tc_thread_detach: thread %d is not attached", (int)gettid());
    if (tls_stop_reason != NULL)
        tc_throw("tc_thread_detach: thread %d has the world stopped (%s)", (int)t->tid,
                 tls_stop_reason);
    if (tc_critical_depth != 0)
        tc_throw("tc_thread_detach: inside a runtime critical section (depth %d)",
                 (int)tc_critical_depth);
    /* A thread that ends inside a blocking region (cancelled in a system
     * call, or returning without leaving it) still counts as stopped: leave
     * the region first, which waits out a stop in progress, or handing the
     * cache back below would race with the collector's own release of it. */
    if (mode_of(atomic_load_explicit(&t->state, memory_order_relaxed)) == THREAD_BLOCKING)
        tc_blocking_leave();
    /* The thread's allocation cache goes back first, while the thread is
     * still attached (a collection may not find a cache in use by a thread it
     * cannot stop). An allocation after detaching attaches the thread again. */
    mcache_thread_exit();
    mutator_gc_exit(t); /* the write-barrier buffer and assist state (barrier.c) */
    registry_lock_acquire(t);
    critical_enter();
    tls_self = NULL; /* from here a stray stop signal is ignored */
    registry_unlink(t);
    tc_fixalloc_free(&thread_pool, t);
    critical_leave();
    pthread_mutex_unlock(&registry_lock);
    pthread_setspecific(exit_key, NULL);
}

/* A thread that exits while attached (pthread_exit past our wrapper, or a
 * host thread that forgot) is detached by its key's destructor. */
static void exit_destructor(void *p)
{
    (void)p;
    if (tls_self != NULL) tc_thread_detach();
}

static void cleanup_detach(void *unused)
{
    (void)unused;
    if (tls_self != NULL) tc_thread_detach();
}

static void *thread_start(void *p)
{
    struct start_args a = *(struct start_args *)p;
    tc_lock(&start_lock);
    tc_fixalloc_free(&start_pool, p);
    tc_unlock(&start_lock);
    if (tc_thread_attach() != 0)
        tc_throw("tc_pthread_create: the new thread cannot attach (errno %d)", errno);
    void *r;
    pthread_cleanup_push(cleanup_detach, NULL);
    r = a.fn(a.arg);
    pthread_cleanup_pop(1);
    return r;
}

int tc_pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
    if (!atomic_load_explicit(&threads_ready, memory_order_acquire))
        tc_throw("tc_pthread_create: tc_init has not run");
    tc_lock(&start_lock);
    struct start_args *a = tc_fixalloc_alloc(&start_pool);
    tc_unlock(&start_lock);
    if (a == NULL) return ENOMEM;
    a->fn = fn;
    a->arg = arg;
    int e = pthread_create(th, attr, thread_start, a);
    if (e != 0) {
        tc_lock(&start_lock);
        tc_fixalloc_free(&start_pool, a);
        tc_unlock(&start_lock);
    }
    return e;
}

/* ---- stopping the world ------------------------------------------------------- */

/* Threads other than self still running; the first one in *first. */
static int count_running(tc_thread *self, tc_thread **first)
{
    int n = 0;
    for (tc_thread *t = registry; t != NULL; t = t->next) {
        if (t == self) continue;
        if (mode_of(atomic_load_explicit(&t->state, memory_order_acquire)) == THREAD_RUNNING) {
            if (n++ == 0 && first != NULL) *first = t;
        }
    }
    return n;
}

/* gctrace=2: a stop that has waited LATE_NS for its threads notes, once,
 * what the kernel says of each thread still running and of every task of
 * the process (its name, its state: R running or waiting for a CPU, D in an
 * uninterruptible wait, S asleep; and, where /proc shows it, the function
 * it is in inside the kernel), then prints it when every thread has
 * stopped. This is how the prefault thread was found holding the CPU a
 * preempted mutator needed (mheap.c, "Stops"). write(2), not stdio: a
 * parked thread may hold stdio's lock. */
#define LATE_NS ((uint64_t)400 * 1000)
static char late_note[4096]; /* the stopper's: registry_lock */
static size_t late_len;

static void late_append_task(const char *tid, bool with_name)
{
    char path[64], buf[512];
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "/proc/self/task/%s/%s", tid, k ? "stack" : "stat");
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t r = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
        if (fd >= 0) close(fd);
        buf[r > 0 ? r : 0] = 0;
        const char *v;
        char *cut;
        if (k == 0) { /* "tid (name) S ...": keep "(name) S" or "S" */
            char *open_paren = strchr(buf, '(');
            cut = strrchr(buf, ')');
            if (open_paren == NULL || cut == NULL || cut[1] == 0) continue;
            cut[3] = 0;
            v = with_name ? open_paren : cut + 2;
        } else { /* "[<0>] folio_zero_user+0x148/0x1d0\n...": the first function */
            cut = strchr(buf, ' ');
            v = cut != NULL ? cut + 1 : "";
            if ((cut = strpbrk((char *)v, "+\n")) != NULL) *cut = 0;
        }
        if (late_len < sizeof late_note)
            late_len += (size_t)snprintf(late_note + late_len, sizeof late_note - late_len, "%s%s",
                                         k == 0 ? " " : (*v ? " in " : ""), v);
    }
}

static void late_note_take(tc_thread *self, uint64_t waited_ns)
{
    late_len = (size_t)snprintf(late_note, sizeof late_note,
                                " after %.2f ms, late:", (double)waited_ns / 1e6);
    char tid[16];
    for (tc_thread *t = registry; t != NULL; t = t->next) {
        if (t == self ||
            mode_of(atomic_load_explicit(&t->state, memory_order_acquire)) != THREAD_RUNNING)
            continue;
        snprintf(tid, sizeof tid, "%d", (int)t->tid);
        const char *slow = atomic_load_explicit(&t->slow_path, memory_order_relaxed);
        if (late_len < sizeof late_note)
            late_len +=
                (size_t)snprintf(late_note + late_len, sizeof late_note - late_len,
                                 " thread %s%s%s", tid, slow ? " in " : "", slow ? slow : "");
        late_append_task(tid, false);
    }
    if (late_len < sizeof late_note)
        late_len += (size_t)snprintf(late_note + late_len, sizeof late_note - late_len, "; tasks:");
    DIR *d = opendir("/proc/self/task");
    for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;)
        if (e->d_name[0] != '.') late_append_task(e->d_name, true);
    if (d != NULL) closedir(d);
}

void threads_stop_world_body(const char *reason, const uintptr_t *saved)
{
    if (reason == NULL) reason = "?";
    if (tls_stop_reason != NULL)
        tc_throw("threads_stop_world(%s): the world is already stopped by this thread (%s)", reason,
                 tls_stop_reason);
    if (tc_critical_depth != 0)
        tc_throw("threads_stop_world(%s): called inside a runtime critical section (depth %d)",
                 reason, (int)tc_critical_depth);
    tc_thread *self = tls_self;
    if (self != NULL) {
        uint32_t s = atomic_load_explicit(&self->state, memory_order_relaxed);
        if (mode_of(s) != THREAD_RUNNING)
            tc_throw("threads_stop_world(%s): thread %d is in a blocking region (state %#x)",
                     reason, (int)self->tid, s);
        /* Registers and sp as our caller had them; then wait for the
         * registry in BLOCKING mode, so a stopper ahead of us counts us. */
        critical_enter();
        capture_from_stub(self, saved);
        publish_stopped(self, THREAD_BLOCKING);
        critical_leave();
    }
    pthread_mutex_lock(&registry_lock);
    if (self != NULL) resume_running(self, THREAD_BLOCKING);
    tls_stop_reason = reason;

    uint64_t t0 = tc_mono_ns();
    atomic_store_explicit(&threads_stop_pending, 1, memory_order_seq_cst);
    int nthreads = 0;
    for (tc_thread *t = registry; t != NULL; t = t->next) {
        if (t == self) continue;
        atomic_fetch_or_explicit(&t->state, THREAD_STOP, memory_order_seq_cst);
        nthreads++;
    }

    /* Let threads that are about to reach a safepoint park on their own.
     * Spin, do not yield: a yield hands the CPU to whichever thread shares
     * it, and one that never reaches a safepoint keeps it for a whole time
     * slice (measured: 4 ms median stops with 4 spinners on 2 CPUs). A
     * cooperative thread that is not running gets the signal instead. */
    while (count_running(self, NULL) > 0 && tc_mono_ns() - t0 < STOP_SPIN_NS)
        __builtin_ia32_pause();

    uint64_t nsig = 0;
    for (tc_thread *t = registry; t != NULL; t = t->next) {
        if (t == self) continue;
        if (mode_of(atomic_load_explicit(&t->state, memory_order_acquire)) != THREAD_RUNNING)
            continue;
        int e = pthread_kill(t->pthread, stop_signal);
        if (e != 0)
            tc_throw("threads_stop_world(%s): cannot signal thread %d (error %d): it exited "
                     "without tc_thread_detach?",
                     reason, (int)t->tid, e);
        t->nsignals++;
        nsig++;
    }

    bool warned = false, note = tc_debug.gctrace >= 2;
    late_len = 0;
    for (;;) {
        uint32_t seq = atomic_load_explicit(&parked_seq, memory_order_seq_cst);
        tc_thread *first = NULL;
        if (count_running(self, &first) == 0) break;
        if (note && tc_mono_ns() - t0 > LATE_NS) {
            late_note_take(self, tc_mono_ns() - t0);
            note = false;
        }
        if (!warned && tc_mono_ns() - t0 > STOP_WARN_NS) {
            tc_warn("threads_stop_world(%s): thread %d has not stopped after 1s (is signal %d "
                    "blocked or handled by someone else?)",
                    reason, (int)first->tid, stop_signal);
            warned = true;
        }
        atomic_store_explicit(&stopper_asleep, 1, memory_order_seq_cst);
        /* Woken by each thread that parks; the short timeout only while a
         * late-thread note is still to be taken. */
        struct timespec to = {0, note ? 50L * 1000 : 10L * 1000 * 1000};
        futex_wait(&parked_seq, seq, &to);
        atomic_store_explicit(&stopper_asleep, 0, memory_order_relaxed);
    }

    uint64_t ns = tc_mono_ns() - t0;
    if (late_len > 0) {
        char head[160];
        int n = snprintf(head, sizeof head, "tricolor: stop (%s) took %.2f ms to stop %d thread%s;",
                         reason, (double)ns / 1e6, nthreads, nthreads == 1 ? "" : "s");
        if (late_len >= sizeof late_note) late_len = sizeof late_note - 1;
        late_note[late_len++] = '\n';
        (void)!write(STDERR_FILENO, head, (size_t)n);
        (void)!write(STDERR_FILENO, late_note, late_len);
    }
    atomic_store_explicit(&stop_stats.last_ns, ns, memory_order_relaxed);
    atomic_store_explicit(&stop_stats.last_nthreads, (uint64_t)nthreads, memory_order_relaxed);
    atomic_fetch_add_explicit(&stop_stats.nstops, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&stop_stats.total_ns, ns, memory_order_relaxed);
    atomic_fetch_add_explicit(&stop_stats.nsignals, nsig, memory_order_relaxed);
    if (ns > atomic_load_explicit(&stop_stats.max_ns, memory_order_relaxed))
        atomic_store_explicit(&stop_stats.max_ns, ns, memory_order_relaxed);
}

bool threads_stopped_by_self(void) { return tls_stop_reason != NULL; }

void threads_start_world(void)
{
    if (tls_stop_reason == NULL)
        tc_throw("threads_start_world: the world is not stopped by this thread");
    tc_thread *self = tls_self;
    atomic_store_explicit(&threads_stop_pending, 0, memory_order_seq_cst);
    for (tc_thread *t = registry; t != NULL; t = t->next) {
        if (t == self) continue;
        uint32_t s = atomic_fetch_and_explicit(&t->state, ~THREAD_STOP, memory_order_seq_cst);
        if (mode_of(s) != THREAD_RUNNING) futex_wake(&t->state);
    }
    tls_stop_reason = NULL;
    pthread_mutex_unlock(&registry_lock);
}

void threads_for_each(void (*fn)(tc_thread *t, void *arg), void *arg)
{
    if (tls_stop_reason != NULL) {
        for (tc_thread *t = registry; t != NULL; t = t->next) fn(t, arg);
        return;
    }
    registry_lock_acquire(tls_self);
    for (tc_thread *t = registry; t != NULL; t = t->next) fn(t, arg);
    pthread_mutex_unlock(&registry_lock);
}

void thread_stack_range(const tc_thread *t, uintptr_t *lo, uintptr_t *hi)
{
    uintptr_t sp = t->sp;
    if (sp < t->stack_lo && sp + RED_ZONE >= t->stack_lo) sp = t->stack_lo;
    if (sp < t->stack_lo || sp > t->stack_hi) {
        *lo = t->stack_lo;
        *hi = t->stack_hi;
        return;
    }
    *lo = tc_align_down(sp, sizeof(uintptr_t));
    *hi = t->stack_hi;
}

bool thread_alt_stack_range(const tc_thread *t, uintptr_t *lo, uintptr_t *hi)
{
    *lo = tc_align_down(t->alt_lo, sizeof(uintptr_t));
    *hi = t->alt_hi;
    return t->alt_hi != 0;
}

const uintptr_t *thread_saved_regs(const tc_thread *t, size_t *nwords)
{
    *nwords = t->nregs;
    return t->regs;
}

int threads_count(void) { return atomic_load_explicit(&registry_n, memory_order_relaxed); }

static void count_unblocked(tc_thread *t, void *arg)
{
    if (mode_of(atomic_load_explicit(&t->state, memory_order_relaxed)) != THREAD_BLOCKING)
        ++*(int *)arg;
}

int threads_count_running(void)
{
    int n = 0;
    threads_for_each(count_unblocked, &n);
    return n;
}

uint64_t threads_last_stop_ns(void)
{
    return atomic_load_explicit(&stop_stats.last_ns, memory_order_relaxed);
}

void threads_read_stop_stats(threads_stop_stats *out)
{
    out->nstops = atomic_load_explicit(&stop_stats.nstops, memory_order_relaxed);
    out->last_ns = atomic_load_explicit(&stop_stats.last_ns, memory_order_relaxed);
    out->max_ns = atomic_load_explicit(&stop_stats.max_ns, memory_order_relaxed);
    out->total_ns = atomic_load_explicit(&stop_stats.total_ns, memory_order_relaxed);
    out->last_nthreads = atomic_load_explicit(&stop_stats.last_nthreads, memory_order_relaxed);
    out->nsignals = atomic_load_explicit(&stop_stats.nsignals, memory_order_relaxed);
}

/* ---- start-up and fork ----------------------------------------------------------- */

/* In a forked child only the forking thread exists: forget the others (their
 * tc_thread memory is leaked in the child) and any stop in flight. */
static void atfork_child(void)
{
    pthread_mutex_init(&registry_lock, NULL);
    pthread_mutex_init(&start_lock.m, NULL);
    tc_thread *self = tls_self;
    registry = NULL;
    atomic_store_explicit(&registry_n, 0, memory_order_relaxed);
    if (self != NULL) {
        registry_link(self);
        uint32_t s = atomic_load_explicit(&self->state, memory_order_relaxed);
        atomic_store_explicit(&self->state, s & ~THREAD_STOP, memory_order_relaxed);
        self->tid = gettid();
        self->pthread = pthread_self();
    }
    if (tls_stop_reason != NULL) {
        pthread_mutex_lock(&registry_lock); /* the child's world stays stopped by this thread */
    } else {
        atomic_store_explicit(&threads_stop_pending, 0, memory_order_relaxed);
    }
}

void threads_init(int sig)
{
    if (sig <= 0 || sig >= NSIG || sig == SIGKILL || sig == SIGSTOP || sig == SIGSEGV ||
        sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGABRT || sig == SIGTRAP ||
        sig == SIGCHLD || sig == SIGCONT)
        tc_throw("tc_init: stop_signal %d cannot be used to stop threads", sig);
    stop_signal = sig;
    struct sigaction sa = {0}, old;
    sa.sa_sigaction = stop_handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
    /* While parked, hold back the host's asynchronous signals (their
     * handlers might touch the heap); faults and aborts still get through. */
    sigfillset(&sa.sa_mask);
    static const int let_through[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS};
    for (size_t i = 0; i < sizeof let_through / sizeof let_through[0]; i++)
        sigdelset(&sa.sa_mask, let_through[i]);
    if (sigaction(sig, &sa, &old) != 0)
        tc_throw("tc_init: cannot install the handler of stop_signal %d (errno %d)", sig, errno);
    if ((old.sa_flags & SA_SIGINFO) ? old.sa_sigaction != NULL
                                    : (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN))
        tc_warn("stop_signal %d already had a handler; tricolor replaced it "
                "(choose another with tc_config.stop_signal)",
                sig);
    tc_fixalloc_init(&thread_pool, sizeof(tc_thread), NULL, NULL, NULL);
    tc_fixalloc_init(&start_pool, sizeof(struct start_args), NULL, NULL, NULL);
    if (pthread_key_create(&exit_key, exit_destructor) != 0)
        tc_throw("tc_init: no thread-specific key left for thread exit");
    pthread_atfork(NULL, NULL, atfork_child);
    atomic_store_explicit(&threads_ready, true, memory_order_release);
}
