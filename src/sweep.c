/*
 * sweep.c — sweeping: turning each span's mark bits into its alloc bits,
 * freeing what the mark left white, and returning empty spans to the heap
 * (or keeping them for their class, zeroed: "Emptied spans" below).
 *
 * The sweepgen protocol (mheap.h's mspan comment has the table). The heap's
 * sweepgen sg grows by 2 in every cycle, with the world stopped, at the end
 * of marking. From that moment every span on an mcentral list is unswept
 * (sweepgen sg - 2) without anyone touching it: the mcentral lists are
 * indexed by sg's parity, so the swept lists of the last cycle became this
 * cycle's unswept lists. A sweeper claims a span by taking it off an unswept
 * list (under the mcentral lock) and moving its sweepgen from sg - 2 to
 * sg - 1 with a CAS; sweep_span ends by storing sg with release order, the
 * point after which the span's new alloc bits may be used.
 *
 * Who sweeps:
 *   - the background sweeper thread, woken after every cycle, a span at a
 *     time, yielding the CPU every few spans, at idle priority
 *     (sweep_background_priority);
 *   - allocating threads, lazily: mcentral_cache_span sweeps unswept spans
 *     of the class it needs before it grows the heap, and a large allocation
 *     first sweeps as many pages as it asks for (a light form of Go's
 *     proportional sweep: the heap does not grow while unswept spans that
 *     might be empty remain to be tried);
 *   - the collector, which finishes whatever is left before the next cycle
 *     starts (sweep_finish), and tc_gc, which returns only when the heap is
 *     swept.
 *
 * Emptied spans. A small span found empty keeps its pages when its class
 * still has budget (mcentral_retain_empty: as many spans as the class's
 * caches took during the cycle before) and goes to the back of the partial
 * list, behind the spans with live objects; the background sweeper clears
 * the free slots of every span it leaves in use with needzero set (not with
 * clobberfree, whose pattern must survive), so the refill that takes it
 * zeroes nothing. The sweeper owns the span while it clears it (claimed,
 * on no list), as a cache owns it when the refill clears it.
 *
 * Invariants:
 *   - a span is swept exactly once per cycle, by whoever won the claim;
 *   - sweeping a span never runs while a mark runs: sweep_finish waits for
 *     active sweepers before the world stops, and mutators sweep inside a
 *     runtime critical section, so a stop never lands in the middle of one;
 *   - a slot that is marked but was not allocated is a "zombie": something
 *     pointed at a free object, and the mark made it look alive. Fatal.
 *
 * Concurrency: nactive counts sweepers at work, registered before they read
 * the heap's sweepgen; the collector closes a gate and waits for nactive to
 * drop to zero before it advances sweepgen (sweep_close_gate: a Dekker
 * handshake on two sequentially consistent atomics). The background sweeper sleeps on sweep_cv
 * under sweep_mu (a plain pthread mutex taken by no mutator on a fast path; leaf).
 */
#include "sweep.h"

#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include "debug.h"
#include "gc.h"
#include "mark.h"
#include "mheap.h"
#include "stats.h"

#define CLOBBER_WORD ((uintptr_t)0xdeadbeefdeadbeefull)

static _Atomic int nactive;
static _Atomic uint32_t drained_gen; /* sweepgen for which no unswept span remains */
static pthread_mutex_t sweep_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sweep_cv = PTHREAD_COND_INITIALIZER;
static uint64_t wake_gen; /* under sweep_mu */
static bool sweeper_started;

_Atomic uint64_t sweep_nfree[TC_NUM_SIZE_CLASSES]; /* objects freed, per size class */
_Atomic uint64_t sweep_freed_bytes;
_Atomic uint64_t sweep_pages_swept;

static inline uint32_t heap_sg(void)
{
    return atomic_load_explicit(&mheap_.sweepgen, memory_order_relaxed);
}

static void clobber(uintptr_t p, size_t n)
{
    for (uintptr_t a = p; a + sizeof(uintptr_t) <= p + n; a += sizeof(uintptr_t))
        *(uintptr_t *)a = CLOBBER_WORD;
}

/* ---- one span --------------------------------------------------------------- */

/* Sweep s, which the caller claimed (sweepgen sg - 1; on no list). Returns
 * true if the span is still in use (the caller decides where it goes: onto
 * a swept list via sweep_release, or into a cache); false if its pages went
 * back to the heap. Called inside a critical section. */
static bool sweep_span(mspan *s, uint32_t sg, bool background)
{
    unsigned sc = spanclass_sizeclass(s->spanclass);
    uint32_t n = s->nelems, fi = s->freeindex;
    uint32_t nalloc = 0, nfreed = 0;
    mark_black_fold(s); /* the slots allocated black during the mark */
    /* A word of slots at a time (the bitmaps are whole 64-bit words): slots
     * below freeindex count as allocated whatever their alloc bit says. */
    const uint64_t *markw = (const uint64_t *)s->gcmark_bits;
    const uint64_t *allocw = (const uint64_t *)s->alloc_bits;
    for (uint32_t base = 0; base < n; base += 64) {
        uint32_t left = n - base;
        uint64_t valid = tc_low_mask(left);
        uint64_t below_fi = fi <= base ? 0 : tc_low_mask(fi - base);
        uint64_t marked = markw[base / 64] & valid;
        uint64_t allocated = (allocw[base / 64] | below_fi) & valid;
        if (tc_unlikely((marked & ~allocated) != 0)) {
            uint32_t i = base + (uint32_t)__builtin_ctzll(marked & ~allocated);
            tc_throw("sweep: found pointer to free object %p (span %p, class %u, slot %u of %u)",
                     (void *)(s->startaddr + (uintptr_t)i * s->elemsize), (void *)s->startaddr,
                     (unsigned)s->spanclass, i, n);
        }
        uint64_t freed = allocated & ~marked;
        nalloc += tc_popcount64(marked);
        nfreed += tc_popcount64(freed);
        if (tc_unlikely(tc_debug.clobberfree))
            for (; freed != 0; freed &= freed - 1)
                clobber(s->startaddr +
                            (uintptr_t)(base + (uint32_t)__builtin_ctzll(freed)) * s->elemsize,
                        s->elemsize);
    }
    if (nfreed != 0) {
        atomic_fetch_add_explicit(&sweep_nfree[sc], nfreed, memory_order_relaxed);
        atomic_fetch_add_explicit(&sweep_freed_bytes, (uint64_t)nfreed * s->elemsize,
                                  memory_order_relaxed);
    }
    atomic_fetch_add_explicit(&sweep_pages_swept, s->npages, memory_order_relaxed);

    if (mspan_is_large(s) && nalloc == 0) {
        atomic_store_explicit(&s->sweepgen, sg, memory_order_release);
        mheap_free_span(s);
        return false;
    }
    s->alloc_bits = s->gcmark_bits;
    s->gcmark_bits = gcbits_alloc(n);
    s->alloc_count = nalloc;
    s->alloc_count_before_cache = nalloc;
    /* A span left full has no free slot to find: freeindex at the end says
     * so to mspan_is_free without its alloc bits (the marker asks for every
     * object of the long-lived, full spans: an alloc-bit load each). */
    uint32_t first = nalloc == n ? n : 0;
    s->freeindex = first;
    atomic_store_explicit(&s->freeindex_for_scan, first, memory_order_release);
    if (first != n)
        mspan_refill_alloc_cache(s, 0);
    else
        s->alloc_cache = 0;
    if (nfreed != 0) s->needzero = 1;
    if (nalloc == 0 && !mcentral_retain_empty(&mheap_.central[s->spanclass], sg)) {
        atomic_store_explicit(&s->sweepgen, sg, memory_order_release);
        mheap_free_span(s);
        return false;
    }
    if (background && s->needzero && !tc_debug.clobberfree) mspan_zero_free_slots(s);
    atomic_store_explicit(&s->sweepgen, sg, memory_order_release);
    return true;
}

/* Put a swept, in-use span on its mcentral's swept list. */
static void sweep_release(mspan *s, uint32_t sg)
{
    mcentral *c = &mheap_.central[s->spanclass];
    tc_lock(&c->lock);
    if (s->alloc_count == s->nelems || mspan_is_large(s))
        mspan_list_push(&c->full[sg / 2 % 2], s);
    else if (s->alloc_count == 0)
        mspan_list_push(&c->partial[sg / 2 % 2], s); /* retained empty: taken last */
    else
        mspan_list_push_front(&c->partial[sg / 2 % 2], s);
    tc_unlock(&c->lock);
}

/* Take an unswept span off c's lists (partial first if want_partial, else
 * full first) and claim it. NULL when c has none. */
static mspan *claim_unswept(mcentral *c, uint32_t sg, bool partial_only)
{
    mspan *s = NULL;
    tc_lock(&c->lock);
    mspan_list *pu = &c->partial[1 - sg / 2 % 2], *fu = &c->full[1 - sg / 2 % 2];
    if (pu->first != NULL)
        s = pu->first, mspan_list_remove(pu, s);
    else if (!partial_only && fu->first != NULL)
        s = fu->first, mspan_list_remove(fu, s);
    tc_unlock(&c->lock);
    if (s == NULL) return NULL;
    uint32_t want = sg - 2;
    if (!atomic_compare_exchange_strong(&s->sweepgen, &want, sg - 1))
        tc_throw("sweep: span %p on an unswept list has sweepgen %u, heap %u", (void *)s->startaddr,
                 want, sg);
    return s;
}

/* ---- entry points ------------------------------------------------------------- */

/* A sweeper registers before it reads sweepgen, and the collector closes
 * the gate before it advances sweepgen: whichever comes second sees the
 * other (both sides use sequentially consistent operations, a Dekker
 * handshake), so a registered sweeper's sweepgen stays current until it
 * leaves. The background sweeper is never stopped, which is why stopping
 * the world alone would not do. */
static _Atomic int gate_closed;

static bool sweep_enter(void)
{
    atomic_fetch_add(&nactive, 1);
    if (tc_unlikely(atomic_load(&gate_closed))) {
        atomic_fetch_sub(&nactive, 1);
        return false;
    }
    return true;
}

static void sweep_exit(void) { atomic_fetch_sub_explicit(&nactive, 1, memory_order_acq_rel); }

void sweep_close_gate(void)
{
    atomic_store(&gate_closed, 1);
    while (atomic_load(&nactive) != 0) sched_yield();
}

void sweep_open_gate(void) { atomic_store(&gate_closed, 0); }

mspan *sweep_for_cache(mcentral *c, int budget)
{
    mspan *found = NULL;
    critical_enter();
    if (!sweep_enter()) {
        critical_leave();
        return NULL;
    }
    uint32_t sg = heap_sg();
    for (int i = 0; i < budget && atomic_load_explicit(&drained_gen, memory_order_relaxed) != sg;
         i++) {
        mspan *s = claim_unswept(c, sg, false);
        if (s == NULL) break;
        bool live = sweep_span(s, sg, false);
        if (live && s->alloc_count < s->nelems) {
            found = s; /* ours: the caller caches it, so it goes on no list */
            break;
        }
        if (live) sweep_release(s, sg);
    }
    sweep_exit();
    critical_leave();
    return found;
}

void sweep_ensure_swept(mspan *s)
{
    critical_enter();
    if (!sweep_enter()) {
        critical_leave();
        return;
    }
    uint32_t sg = heap_sg();
    uint32_t ssg = atomic_load_explicit(&s->sweepgen, memory_order_acquire);
    if (ssg == sg - 2) {
        mcentral *c = &mheap_.central[s->spanclass];
        bool claimed = false;
        tc_lock(&c->lock);
        mspan_list *pu = &c->partial[1 - sg / 2 % 2], *fu = &c->full[1 - sg / 2 % 2];
        if (atomic_load_explicit(&s->sweepgen, memory_order_relaxed) == sg - 2 &&
            (s->list == pu || s->list == fu)) {
            mspan_list_remove(s->list, s);
            atomic_store_explicit(&s->sweepgen, sg - 1, memory_order_relaxed);
            claimed = true;
        }
        tc_unlock(&c->lock);
        if (claimed && sweep_span(s, sg, false)) sweep_release(s, sg);
    }
    /* Someone else is sweeping it: wait for the release store. */
    while ((ssg = atomic_load_explicit(&s->sweepgen, memory_order_acquire)) == sg - 1 ||
           ssg == sg - 2)
        sched_yield();
    sweep_exit();
    critical_leave();
}

static size_t sweep_one_from(bool background)
{
    size_t npages = 0;
    critical_enter();
    if (!sweep_enter()) {
        critical_leave();
        return 0;
    }
    uint32_t sg = heap_sg();
    if (atomic_load_explicit(&drained_gen, memory_order_relaxed) != sg) {
        for (unsigned spc = 0; spc < TC_NUM_SPAN_CLASSES; spc++) {
            mspan *s = claim_unswept(&mheap_.central[spc], sg, false);
            if (s == NULL) continue;
            npages = s->npages;
            if (sweep_span(s, sg, background)) sweep_release(s, sg);
            break;
        }
        if (npages == 0) atomic_store_explicit(&drained_gen, sg, memory_order_relaxed);
    }
    sweep_exit();
    critical_leave();
    return npages;
}

size_t sweep_one(void) { return sweep_one_from(false); }

void sweep_pages(size_t npages)
{
    size_t done = 0;
    while (done < npages) {
        size_t n = sweep_one();
        if (n == 0) return;
        done += n;
    }
}

void sweep_finish(void)
{
    while (sweep_one() != 0) {}
    /* Spans being swept by others: wait until they are back. */
    while (atomic_load_explicit(&nactive, memory_order_acquire) != 0) sched_yield();
}

bool sweep_done(void)
{
    if (atomic_load_explicit(&drained_gen, memory_order_relaxed) != heap_sg()) return false;
    /* With the gate closed, sweep_close_gate has already waited for every
     * sweeper. A count seen now is a thread bouncing off the gate (sweep_enter
     * registers before it looks: the background sweeper is never stopped),
     * which touches no span. */
    return atomic_load(&gate_closed) || atomic_load_explicit(&nactive, memory_order_acquire) == 0;
}

/* ---- the background sweeper ----------------------------------------------------- */

/* The background sweeper takes only CPU time nobody else wants (Go's bgsweep
 * runs at the lowest goroutine priority): SCHED_IDLE, else nice 19. A
 * sweeper at the mutators' priority took a third of two CPUs from two busy
 * mutators, and a stop had to wait for the kernel to hand a preempted
 * mutator its CPU back before it could park (stops of 0.5-1 ms on a 2-CPU
 * Linux VM). Starved, it loses nothing: allocation sweeps what it needs
 * (mcentral_refill_span), and the collector sweeps the rest before the next
 * cycle (sweep_finish). Returns the policy it got, for the test. */
static int sweep_background_priority(void)
{
    struct sched_param p = {.sched_priority = 0};
    if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &p) == 0) return SCHED_IDLE;
    /* SCHED_IDLE refused (a sandbox): the lowest nice value instead. */
    if (setpriority(PRIO_PROCESS, (id_t)gettid(), 19) == 0) return SCHED_OTHER;
    return -1; /* the sweeper then competes with the mutators as any thread does */
}

static _Atomic int bgsweep_policy = -2; /* -2: not started; else sweep_background_priority() */
static _Atomic int bgsweep_tid;

int sweep_background_policy(int *tid)
{
    if (tid != NULL) *tid = atomic_load(&bgsweep_tid);
    return atomic_load(&bgsweep_policy);
}

static void *bgsweep(void *arg)
{
    (void)arg;
    uint64_t seen = 0;
    atomic_store(&bgsweep_tid, (int)gettid());
    atomic_store(&bgsweep_policy, sweep_background_priority());
    for (;;) {
        pthread_mutex_lock(&sweep_mu);
        while (wake_gen == seen) pthread_cond_wait(&sweep_cv, &sweep_mu);
        seen = wake_gen;
        pthread_mutex_unlock(&sweep_mu);
        unsigned n = 0;
        while (sweep_one_from(true) != 0)
            if (++n % 16 == 0) sched_yield(); /* stay a background task */
    }
    return NULL;
}

void sweep_after_fork_child(void)
{
    pthread_mutex_init(&sweep_mu, NULL);
    pthread_cond_init(&sweep_cv, NULL);
    sweeper_started = false;
    atomic_store(&nactive, 0);
    /* gc.c's fork prepare handler closed the gate (the sweeper is between
     * spans at the fork); the child sweeps on, lazily and in its own
     * sweeper once started. */
    atomic_store(&gate_closed, 0);
}

void sweep_start_background(void)
{
    pthread_mutex_lock(&sweep_mu);
    if (!sweeper_started) {
        if (gc_spawn_thread(bgsweep, NULL, "tc-sweep") != 0)
            tc_throw("sweep: cannot start the background sweeper");
        sweeper_started = true;
    }
    wake_gen++;
    pthread_cond_signal(&sweep_cv);
    pthread_mutex_unlock(&sweep_mu);
}
