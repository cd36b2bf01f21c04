/* test_threads.c — the thread registry and stop-the-world (src/threads.c). */
#define _GNU_SOURCE 1
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/mman.h>

#include "tc_test.h"
#include "debug.h"
#include "init.h"
#include "threads.h"

#define UNDER_TSAN TC_TEST_UNDER_TSAN

static void setup(void)
{
    static int done;
    if (!done) {
        tc_init(NULL);
        done = 1;
    }
    CHECK(thread_self() != NULL);
}

static void sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/* TSan delivers an asynchronous signal only when the thread passes through
 * one of its interceptors, so a loop without calls would never stop there.
 * Under TSan the spinning loop makes an intercepted call that does nothing
 * (sched_yield, in TSan's list of interceptors); elsewhere it makes no call. */
static inline void spin_body(void)
{
#if UNDER_TSAN
    sched_yield();
#endif
}

/* ---- spinning threads ------------------------------------------------ */

struct spinner {
    _Atomic uint64_t counter; /* relaxed: plain loads and stores */
    char pad[56];
};
static struct spinner spinners[8];
static atomic_int spin_quit;

static inline void bump(struct spinner *s)
{
    atomic_store_explicit(&s->counter, atomic_load_explicit(&s->counter, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

static void *spin_main(void *arg)
{
    struct spinner *s = arg;
    while (!atomic_load_explicit(&spin_quit, memory_order_relaxed)) {
        bump(s);
        spin_body();
    }
    return NULL;
}

static uint64_t wait_advance(struct spinner *s, uint64_t from)
{
    double t0 = tc_test_now();
    while (s->counter == from) {
        CHECK_MSG(tc_test_now() - t0 < 5, "spinner did not resume within 5s");
        sched_yield();
    }
    return s->counter;
}

TC_TEST(stop_world_with_spinning_threads)
{
    setup();
    int base = threads_count();
    for (int n = 1; n <= 4; n++) {
        pthread_t th[4];
        atomic_store(&spin_quit, 0);
        for (int i = 0; i < n; i++) {
            spinners[i].counter = 0;
            CHECK_EQ(tc_pthread_create(&th[i], NULL, spin_main, &spinners[i]), 0);
        }
        for (int i = 0; i < n; i++) wait_advance(&spinners[i], 0);
        CHECK_EQ(threads_count(), base + n);
        threads_stop_stats st0;
        threads_read_stop_stats(&st0);
        int rounds = 40;
        uint64_t sum = 0, max = 0;
        for (int r = 0; r < rounds; r++) {
            threads_stop_world("test");
            uint64_t ns = threads_last_stop_ns();
            sum += ns;
            if (ns > max) max = ns;
            uint64_t before[4];
            for (int i = 0; i < n; i++) before[i] = spinners[i].counter;
            sleep_us(r % 4 == 0 ? 2000 : 200);
            for (int i = 0; i < n; i++)
                CHECK_MSG(spinners[i].counter == before[i],
                          "spinner %d advanced while stopped: %llu -> %llu", i,
                          (unsigned long long)before[i], (unsigned long long)spinners[i].counter);
            threads_start_world();
            for (int i = 0; i < n; i++) wait_advance(&spinners[i], before[i]);
        }
        threads_stop_stats st;
        threads_read_stop_stats(&st);
        CHECK_EQ(st.nstops - st0.nstops, (uint64_t)rounds);
        CHECK(st.max_ns >= max);
        CHECK_EQ(st.last_nthreads, (uint64_t)(base + n - 1));
        CHECK(st.nsignals > st0.nsignals); /* spinners never reach a safepoint */
        printf("\n  %d spinning: stop latency mean %.1f us, max %.1f us ", n,
               (double)sum / rounds / 1e3, (double)max / 1e3);
        atomic_store(&spin_quit, 1);
        for (int i = 0; i < n; i++) CHECK_EQ(pthread_join(th[i], NULL), 0);
        CHECK_EQ(threads_count(), base);
    }
}

/* Threads that call tc_safepoint park there, without the signal: the
 * spinner blocks the stop signal, so only the safepoint can stop it. The
 * signals sent meanwhile stay pending and arrive, stale, once it unblocks:
 * the handler must ignore them. */
static void *safepoint_main(void *arg)
{
    struct spinner *s = arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, init_config.stop_signal);
    CHECK_EQ(pthread_sigmask(SIG_BLOCK, &set, NULL), 0);
    while (!atomic_load_explicit(&spin_quit, memory_order_relaxed)) {
        bump(s);
        tc_safepoint();
    }
    CHECK_EQ(pthread_sigmask(SIG_UNBLOCK, &set, NULL), 0); /* stale signals arrive */
    s->counter = 0;
    return NULL;
}

TC_TEST(stop_world_parks_threads_at_safepoints)
{
    setup();
    pthread_t th;
    atomic_store(&spin_quit, 0);
    spinners[0].counter = 0;
    CHECK_EQ(tc_pthread_create(&th, NULL, safepoint_main, &spinners[0]), 0);
    wait_advance(&spinners[0], 0);
    for (int r = 0; r < 20; r++) {
        threads_stop_world("safepoint");
        uint64_t b0 = spinners[0].counter;
        sleep_us(300);
        CHECK_EQ(spinners[0].counter, b0);
        threads_start_world();
        wait_advance(&spinners[0], b0);
    }
    atomic_store(&spin_quit, 1);
    CHECK_EQ(pthread_join(th, NULL), 0);
    CHECK_EQ(spinners[0].counter, 0);
}

/* ---- threads blocked in read ------------------------------------------- */

struct reader {
    int fd;
    int use_blocking; /* wrap the read in tc_blocking_enter/leave */
    tc_thread *self;
    atomic_int about_to_read;
    atomic_int left; /* returned from the read (and from tc_blocking_leave) */
    ssize_t got;
    int err;
    char byte;
};

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    r->self = thread_self();
    atomic_store(&r->about_to_read, 1);
    if (r->use_blocking) tc_blocking_enter();
    r->got = read(r->fd, &r->byte, 1);
    r->err = errno;
    if (r->use_blocking) tc_blocking_leave();
    atomic_store(&r->left, 1);
    return NULL;
}

TC_TEST(stop_world_with_thread_blocked_in_read)
{
    setup();
    int p1[2], p2[2];
    CHECK_EQ(pipe(p1), 0);
    CHECK_EQ(pipe(p2), 0);
    static struct reader plain, wrapped;
    plain = (struct reader){.fd = p1[0], .use_blocking = 0};
    wrapped = (struct reader){.fd = p2[0], .use_blocking = 1};
    /* Under TSan a signal reaches a thread blocked in read() only when the
     * read returns (TSan defers it to the end of the interceptor), so the
     * plain reader would hold the stop up forever: it only runs without. */
    const int with_plain = !UNDER_TSAN;
    if (!with_plain) printf("(plain reader skipped under TSan: it defers the signal past read) ");
    pthread_t t1, t2;
    if (with_plain) CHECK_EQ(tc_pthread_create(&t1, NULL, reader_main, &plain), 0);
    CHECK_EQ(tc_pthread_create(&t2, NULL, reader_main, &wrapped), 0);
    while ((with_plain && !atomic_load(&plain.about_to_read)) ||
           !atomic_load(&wrapped.about_to_read))
        sleep_us(100);
    while ((atomic_load(&wrapped.self->state) & THREAD_MODE) != THREAD_BLOCKING) sleep_us(100);
    sleep_us(20000); /* both are in read() now, most likely */
    /* Idle marking's view of who wants a CPU: every attached thread but the
     * one in a blocking region (the plain reader is blocked too, but the
     * library cannot know it). */
    CHECK_EQ(threads_count_running(), threads_count() - 1);
    uint64_t sig_plain = with_plain ? plain.self->nsignals : 0,
             sig_wrapped = wrapped.self->nsignals;

    for (int r = 0; r < 5; r++) {
        double t0 = tc_test_now();
        threads_stop_world("read");
        CHECK(tc_test_now() - t0 < 1.0);
        if (with_plain) CHECK_EQ(atomic_load(&plain.self->state) & THREAD_MODE, THREAD_PARKED);
        CHECK_EQ(atomic_load(&wrapped.self->state) & THREAD_MODE, THREAD_BLOCKING);
        threads_start_world();
        sleep_us(5000); /* back in read(), most likely */
    }
    /* Signalled (a thread still parked from the previous stop, having never
     * run, is already stopped and needs no signal). */
    if (with_plain)
        CHECK(plain.self->nsignals >= sig_plain + 1 && plain.self->nsignals <= sig_plain + 5);
    CHECK_EQ(wrapped.self->nsignals, sig_wrapped); /* never signalled */
    CHECK(!atomic_load(&plain.left));
    CHECK(!atomic_load(&wrapped.left));

    /* The wrapped reader's read returns while the world is stopped: it must
     * wait in tc_blocking_leave until the world starts. */
    threads_stop_world("read-leave");
    CHECK_EQ(write(p2[1], "w", 1), 1);
    sleep_us(20000);
    CHECK_MSG(!atomic_load(&wrapped.left), "left the blocking region during a stop");
    threads_start_world();
    CHECK_EQ(pthread_join(t2, NULL), 0);
    CHECK_EQ(wrapped.got, 1);
    CHECK_EQ(wrapped.byte, 'w');

    /* The plain reader's read was restarted after each signal (SA_RESTART):
     * it returns the byte, not EINTR. */
    if (with_plain) {
        CHECK_EQ(write(p1[1], "p", 1), 1);
        CHECK_EQ(pthread_join(t1, NULL), 0);
        CHECK_MSG(plain.got == 1, "read returned %zd errno %d", plain.got, plain.err);
        CHECK_EQ(plain.byte, 'p');
    }
    close(p1[0]);
    close(p1[1]);
    close(p2[0]);
    close(p2[1]);
}

/* ---- critical sections ------------------------------------------------- */

static tc_mutex cs_lock = TC_MUTEX_INIT;
static atomic_int cs_entered;
static _Atomic double cs_leave_time, cs_after_time;
static atomic_int cs_after;
static atomic_int cs_tid;
static const char *cs_slow_path; /* the slow path critical_main claims to be in */

static void *critical_main(void *arg)
{
    (void)arg;
    tc_lock(&cs_lock);
    thread_slow_path(cs_slow_path);
    atomic_store(&cs_tid, (int)thread_self()->tid);
    atomic_store(&cs_entered, 1);
    /* Hold it until a stop has been requested, then ~20 ms more. */
    while (!atomic_load_explicit(&threads_stop_pending, memory_order_relaxed)) spin_body();
    double t0 = tc_test_now();
    while (tc_test_now() - t0 < 0.020) spin_body();
    atomic_store(&cs_leave_time, tc_test_now());
    thread_slow_path(NULL);
    tc_unlock(&cs_lock); /* the deferred stop parks the thread in here */
    atomic_store(&cs_after, 1);
    atomic_store(&cs_after_time, tc_test_now());
    return NULL;
}

TC_TEST(stop_deferred_while_in_critical_section)
{
    setup();
    for (int r = 0; r < 3; r++) {
        atomic_store(&cs_entered, 0);
        atomic_store(&cs_after, 0);
        atomic_store(&cs_leave_time, 0.0);
        pthread_t th;
        CHECK_EQ(tc_pthread_create(&th, NULL, critical_main, NULL), 0);
        while (!atomic_load(&cs_entered)) sched_yield();
        double t_req = tc_test_now();
        threads_stop_world("critical");
        double t_stopped = tc_test_now();
        double t_leave = atomic_load(&cs_leave_time);
        /* The stop waited for the section to end... */
        CHECK_MSG(t_leave != 0.0 && t_leave <= t_stopped,
                  "stop completed at %.6f before the section ended (%.6f)", t_stopped, t_leave);
        CHECK(t_stopped - t_req >= 0.015);
        /* ...and the thread parked right after leaving it. */
        sleep_us(10000);
        CHECK_MSG(!atomic_load(&cs_after), "thread ran past tc_unlock during the stop");
        double t_start = tc_test_now();
        threads_start_world();
        CHECK_EQ(pthread_join(th, NULL), 0);
        CHECK(atomic_load(&cs_after));
        CHECK(atomic_load(&cs_after_time) >= t_start);
    }
}

/* gctrace=2: a stop still waiting after 0.4 ms names the late thread, with
 * what the kernel says of it, and the process's tasks. */
static void late_stop(void)
{
    pthread_t th;
    CHECK_EQ(tc_pthread_create(&th, NULL, critical_main, NULL), 0);
    while (!atomic_load(&cs_entered)) sched_yield();
    threads_stop_world("late");
    threads_start_world();
    CHECK_EQ(pthread_join(th, NULL), 0);
}

TC_TEST(a_late_stop_names_the_late_thread_under_gctrace_2)
{
    setup();
    atomic_store(&cs_entered, 0);
    int gctrace = tc_debug.gctrace;
    tc_debug.gctrace = 2;
    cs_slow_path = "assist";
    const char *err = tc_test_capture_stderr(late_stop);
    cs_slow_path = NULL;
    tc_debug.gctrace = gctrace;
    CHECK_MSG(strstr(err, "tricolor: stop (late) took ") != NULL, "stderr: %s", err);
    char want[64];
    snprintf(want, sizeof want, "late: thread %d in assist R", atomic_load(&cs_tid));
    CHECK_MSG(strstr(err, want) != NULL, "no \"%s\" in stderr: %s", want, err);
    CHECK_MSG(strstr(err, "; tasks: (") != NULL, "stderr: %s", err);
    /* Without gctrace=2, nothing. */
    atomic_store(&cs_entered, 0);
    err = tc_test_capture_stderr(late_stop);
    CHECK_MSG(strstr(err, "tricolor: stop") == NULL, "stderr: %s", err);
}

/* ---- saved registers ------------------------------------------------------ */

#define MAGIC12 0x5eed0000c0de0012ull
#define MAGIC13 0x5eed0000c0de0013ull
#define MAGIC14 0x5eed0000c0de0014ull
#define MAGIC15 0x5eed0000c0de0015ull

struct regspin {
    int altstack;
    tc_thread *self;
    uintptr_t frame; /* an address in the spinning frame */
    uintptr_t alt_lo, alt_hi;
    atomic_int ready;
    atomic_int quit;
};

static void *regspin_main(void *arg)
{
    struct regspin *rs = arg;
    rs->self = thread_self();
    static char altbuf[4][65536];
    if (rs->altstack) {
        stack_t ss = {.ss_sp = altbuf[rs->altstack - 1], .ss_size = sizeof altbuf[0]};
        CHECK_EQ(sigaltstack(&ss, NULL), 0);
        rs->alt_lo = (uintptr_t)ss.ss_sp;
        rs->alt_hi = rs->alt_lo + ss.ss_size;
    }
    rs->frame = (uintptr_t)__builtin_frame_address(0);
#if defined(__x86_64__)
    __asm__ volatile("movabsq $0x5eed0000c0de0012, %%r12\n\t"
                     "movabsq $0x5eed0000c0de0013, %%r13\n\t"
                     "movabsq $0x5eed0000c0de0014, %%r14\n\t"
                     "movabsq $0x5eed0000c0de0015, %%r15\n\t"
                     "movabsq $0x5eed0000c0de0099, %%rax\n\t"
                     "movq %%rax, %%xmm9\n\t"
                     "movl $1, (%1)\n\t" /* ready, with the magic loaded */
                     "1: pause\n\t"
                     "cmpl $0, (%0)\n\t"
                     "je 1b\n\t"
                     :
                     : "r"(&rs->quit), "r"(&rs->ready)
                     : "r12", "r13", "r14", "r15", "rax", "xmm9", "memory");
#endif
    if (rs->altstack) {
        stack_t ss = {.ss_flags = SS_DISABLE};
        sigaltstack(&ss, NULL);
    }
    return NULL;
}

static int has_word(const uintptr_t *w, size_t n, uintptr_t v)
{
    for (size_t i = 0; i < n; i++)
        if (w[i] == v) return 1;
    return 0;
}

TC_TEST(saved_registers_hold_callee_saved_values)
{
    setup();
#if !defined(__x86_64__)
    printf("(skipped: x86-64 only) ");
    return;
#endif
    if (UNDER_TSAN) {
        /* The spinning loop is pure assembly: TSan never delivers the signal. */
        printf("(skipped under TSan: a loop without calls never takes the signal) ");
        return;
    }
    for (int alt = 0; alt <= 1; alt++) {
        static struct regspin rs;
        memset(&rs, 0, sizeof rs);
        rs.altstack = alt;
        pthread_t th;
        CHECK_EQ(tc_pthread_create(&th, NULL, regspin_main, &rs), 0);
        while (!atomic_load(&rs.ready)) sched_yield();
        threads_stop_world("regs");
        size_t n;
        const uintptr_t *regs = thread_saved_regs(rs.self, &n);
        CHECK(n >= 16);
        CHECK(has_word(regs, n, MAGIC12));
        CHECK(has_word(regs, n, MAGIC13));
        CHECK(has_word(regs, n, MAGIC14));
        CHECK(has_word(regs, n, MAGIC15));
        CHECK(has_word(regs, n, 0x5eed0000c0de0099ull)); /* xmm9 */
        uintptr_t lo, hi;
        thread_stack_range(rs.self, &lo, &hi);
        CHECK(rs.self->stack_lo <= lo && lo < hi);
        CHECK_EQ(hi, rs.self->stack_hi);
        CHECK_MSG(lo <= rs.frame && rs.frame < hi, "frame %#lx outside [%#lx, %#lx)",
                  (unsigned long)rs.frame, (unsigned long)lo, (unsigned long)hi);
        CHECK(hi - lo < 64 * 1024); /* starts near the spinning frame, not at the bottom */
        if (alt) CHECK(lo >= rs.alt_hi || lo < rs.alt_lo);
        threads_start_world();
        atomic_store(&rs.quit, 1);
        CHECK_EQ(pthread_join(th, NULL), 0);
    }
}

/* The stopper's own registers are those of its caller at the call. */
static uintptr_t stopper_regs_seen;

static TC_NOINLINE void stop_from_asm_with_magic(void)
{
    /* r12 holds the magic across the call; threads_stop_world must report it. */
    __asm__ volatile("movabsq $0x5eed0000c0de0012, %%r12\n\t"
                     "movq %%rsp, %%rbx\n\t"
                     "subq $128, %%rsp\n\t" /* step over a red zone */
                     "andq $-16, %%rsp\n\t"
                     "leaq .Lreason(%%rip), %%rdi\n\t"
                     "call threads_stop_world@PLT\n\t"
                     "movq %%rbx, %%rsp\n\t"
                     "jmp 1f\n\t"
                     ".section .rodata\n"
                     ".Lreason: .asciz \"asm\"\n\t"
                     ".text\n"
                     "1:\n\t"
                     :
                     :
                     : "r12", "rbx", "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11",
                       "memory", "cc");
    size_t n;
    const uintptr_t *regs = thread_saved_regs(thread_self(), &n);
    stopper_regs_seen = has_word(regs, n, MAGIC12);
    threads_start_world();
}

TC_TEST(stopper_registers_are_captured_at_the_call)
{
    setup();
    stopper_regs_seen = 0;
    stop_from_asm_with_magic();
    CHECK(stopper_regs_seen);
    tc_thread *self = thread_self();
    uintptr_t lo, hi;
    thread_stack_range(self, &lo, &hi);
    CHECK(lo <= (uintptr_t)__builtin_frame_address(0) &&
          (uintptr_t)__builtin_frame_address(0) < hi);
}

/* ---- attach and detach during stops ------------------------------------------ */

static atomic_int churn_quit;
static atomic_long churn_cycles;

static void *churn_main(void *arg)
{
    (void)arg;
    while (!atomic_load(&churn_quit)) {
        CHECK_EQ(tc_thread_attach(), 0);
        CHECK_EQ(tc_thread_attach(), 0); /* twice: no-op */
        CHECK(thread_self() != NULL);
        for (int i = 0; i < 100; i++) spin_body();
        tc_safepoint();
        tc_thread_detach();
        CHECK(thread_self() == NULL);
        atomic_fetch_add(&churn_cycles, 1);
    }
    return NULL;
}

struct counted {
    int n, stopped, self;
};
static void count_one(tc_thread *t, void *arg)
{
    struct counted *c = arg;
    c->n++;
    if (t == thread_self())
        c->self++;
    else if ((atomic_load(&t->state) & THREAD_MODE) != THREAD_RUNNING)
        c->stopped++;
}

static atomic_int stopper_rounds;
static void *stopper_main(void *arg)
{
    int base = *(int *)arg; /* attached threads besides the churners and us */
    CHECK_EQ(tc_thread_attach(), 0);
    double t0 = tc_test_now();
    while (tc_test_now() - t0 < 1.0) {
        threads_stop_world("churn");
        struct counted c = {0};
        threads_for_each(count_one, &c);
        CHECK_EQ(c.n, threads_count());
        CHECK_EQ(c.self, 1);
        CHECK_EQ(c.stopped, c.n - 1);
        CHECK(c.n >= base + 1 && c.n <= base + 2 + 4);
        threads_start_world();
        atomic_fetch_add(&stopper_rounds, 1);
        /* Unstopped, under the registry lock. */
        struct counted d = {0};
        threads_for_each(count_one, &d);
        CHECK_EQ(d.self, 1);
    }
    tc_thread_detach();
    return NULL;
}

TC_TEST(attach_detach_during_stops)
{
    setup();
    int base = threads_count();
    atomic_store(&churn_quit, 0);
    atomic_store(&churn_cycles, 0);
    atomic_store(&stopper_rounds, 0);
    /* Two stoppers race for the world; each waits for the other's stop in a
     * blocking state (counted as stopped by it). */
    pthread_t ch[4], st[2];
    for (int i = 0; i < 4; i++) CHECK_EQ(pthread_create(&ch[i], NULL, churn_main, NULL), 0);
    for (int i = 0; i < 2; i++) CHECK_EQ(pthread_create(&st[i], NULL, stopper_main, &base), 0);
    /* This (attached) thread waits in a blocking region. */
    tc_blocking_enter();
    for (int i = 0; i < 2; i++) pthread_join(st[i], NULL);
    tc_blocking_leave();
    atomic_store(&churn_quit, 1);
    for (int i = 0; i < 4; i++) CHECK_EQ(pthread_join(ch[i], NULL), 0);
    CHECK_EQ(threads_count(), base);
    printf("(%d stops, %ld attach/detach cycles) ", atomic_load(&stopper_rounds),
           atomic_load(&churn_cycles));
    CHECK(atomic_load(&stopper_rounds) > 10);
    CHECK(atomic_load(&churn_cycles) > 10);
}

/* A thread that is not attached may stop the world too (a runtime thread). */
static void *unattached_stopper(void *arg)
{
    struct spinner *s = arg;
    CHECK(thread_self() == NULL);
    for (int r = 0; r < 10; r++) {
        threads_stop_world("unattached");
        uint64_t b = atomic_load(&s->counter);
        sleep_us(500);
        CHECK_EQ(atomic_load(&s->counter), b);
        struct counted c = {0};
        threads_for_each(count_one, &c);
        CHECK_EQ(c.self, 0);
        CHECK_EQ(c.stopped, c.n);
        threads_start_world();
        wait_advance(s, b);
    }
    return NULL;
}

TC_TEST(unattached_thread_can_stop_the_world)
{
    setup();
    pthread_t sp, st;
    atomic_store(&spin_quit, 0);
    spinners[0].counter = 0;
    CHECK_EQ(tc_pthread_create(&sp, NULL, spin_main, &spinners[0]), 0);
    wait_advance(&spinners[0], 0);
    CHECK_EQ(pthread_create(&st, NULL, unattached_stopper, &spinners[0]), 0);
    tc_blocking_enter();
    CHECK_EQ(pthread_join(st, NULL), 0);
    tc_blocking_leave();
    atomic_store(&spin_quit, 1);
    CHECK_EQ(pthread_join(sp, NULL), 0);
}

/* ---- tc_pthread_create ----------------------------------------------------- */

static void *created_main(void *arg)
{
    int *out = arg;
    out[0] = thread_self() != NULL;
    out[1] = threads_count();
    if (out[2]) pthread_exit(NULL);
    return NULL;
}

static void *plain_main(void *arg)
{
    int *out = arg;
    out[0] = thread_self() != NULL;
    CHECK_EQ(tc_thread_attach(), 0);
    out[1] = threads_count();
    return NULL; /* exits attached: the key destructor detaches */
}

TC_TEST(tc_pthread_create_threads_are_attached_for_their_life)
{
    setup();
    int base = threads_count();
    for (int how = 0; how <= 1; how++) {
        int out[3] = {0, 0, how};
        pthread_t th;
        CHECK_EQ(tc_pthread_create(&th, NULL, created_main, out), 0);
        CHECK_EQ(pthread_join(th, NULL), 0);
        CHECK_EQ(out[0], 1);
        CHECK_EQ(out[1], base + 1);
        CHECK_EQ(threads_count(), base);
    }
    int out[2] = {-1, 0};
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, plain_main, out), 0);
    CHECK_EQ(pthread_join(th, NULL), 0);
    CHECK_EQ(out[0], 0); /* plain pthreads are not attached */
    CHECK_EQ(out[1], base + 1);
    CHECK_EQ(threads_count(), base);
}

TC_TEST(stack_bounds_contain_the_attached_threads_frames)
{
    setup();
    tc_thread *self = thread_self();
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    CHECK(self->stack_lo < here && here < self->stack_hi);
    CHECK_EQ(self->tid, gettid());
}

/* After fork only the forking thread exists: the child's registry holds it
 * alone, and the child can stop its (one-thread) world. */
TC_TEST(fork_child_keeps_only_the_forking_thread)
{
    setup();
    pthread_t sp;
    atomic_store(&spin_quit, 0);
    spinners[0].counter = 0;
    CHECK_EQ(tc_pthread_create(&sp, NULL, spin_main, &spinners[0]), 0);
    wait_advance(&spinners[0], 0);
    int parent_count = threads_count();
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        int ok = threads_count() == 1 && thread_self() != NULL && thread_self()->tid == gettid();
        threads_stop_world("child");
        threads_start_world();
        _exit(ok ? 0 : 1);
    }
    int status;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_EQ(threads_count(), parent_count);
    atomic_store(&spin_quit, 1);
    CHECK_EQ(pthread_join(sp, NULL), 0);
}

/* ---- misuse ------------------------------------------------------------------ */

TC_TEST(detach_when_not_attached_is_fatal)
{
    setup();
    TC_EXPECT_DEATH(
        {
            tc_thread_detach();
            tc_thread_detach();
        },
        "tc_thread_detach: thread");
}

TC_TEST(stop_world_twice_is_fatal)
{
    setup();
    TC_EXPECT_DEATH(
        {
            threads_stop_world("first");
            threads_stop_world("second");
        },
        "already stopped by this thread");
}

TC_TEST(blocking_misuse_is_fatal)
{
    setup();
    TC_EXPECT_DEATH(tc_blocking_leave(), "not in a blocking region");
    TC_EXPECT_DEATH(
        {
            tc_blocking_enter();
            tc_blocking_enter();
        },
        "already in a blocking region");
    TC_EXPECT_DEATH(
        {
            tc_lock(&cs_lock);
            threads_stop_world("locked");
        },
        "inside a runtime critical section");
    TC_EXPECT_DEATH(
        {
            struct counted c = {0};
            tc_lock(&cs_lock);
            threads_for_each(count_one, &c);
        },
        "registry lock wanted inside a runtime critical section");
}

TC_TEST_MAIN()
