/*
 * tricolor.h — the public API of tricolor, a garbage-collected memory manager
 * for C built on the memory architecture of the Go runtime.
 *
 * Two worlds live side by side:
 *
 *   - the collected heap (tc_new and friends, arriving with the heap), and
 *   - unmanaged memory: tc_sys_alloc (whole pages from the OS),
 *     tc_persistent_alloc (never freed) and tc_fixalloc (fixed-size slabs).
 *
 * Unmanaged memory is never scanned by the collector. A heap pointer stored
 * there keeps nothing alive unless the memory is registered as a root, and
 * memory that is reused must be zero-initialised before it becomes visible.
 * docs/unmanaged.md explains the rules with examples.
 *
 * Every function here is thread-safe unless its comment says otherwise.
 * Misuse that the library can detect ends the process with one line
 * "tricolor: fatal error: ..." on stderr; constructors given bad arguments
 * return NULL with errno set.
 */
#ifndef TRICOLOR_H
#define TRICOLOR_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(TC_BUILDING_LIBRARY)
#define TC_API __attribute__((visibility("default")))
#else
#define TC_API
#endif

/* ------------------------------------------------------------------------
 * Start-up
 * ------------------------------------------------------------------------ */

/* Settings for tc_init. Fill with tc_config_default, then change fields. */
typedef struct tc_config {
    int gc_percent;       /* GOGC: heap growth before a collection; <0: off */
    int64_t memory_limit; /* soft limit in bytes; INT64_MAX: none */
    const char *debug;    /* extra TC_DEBUG settings, applied after the environment's */
    int stop_signal;      /* signal that stops threads for the collector; default SIGPWR
                             (Threads section below, docs/threads.md) */
} tc_config;

/* Defaults, then the environment: TC_GOGC (percent or "off"), TC_MEMLIMIT
 * (bytes, optional KiB/MiB/GiB suffix). A malformed value is reported once on
 * stderr and the default kept. */
TC_API void tc_config_default(tc_config *cfg);

/* Start the library. NULL means tc_config_default. TC_DEBUG (comma-separated
 * name=value) is always read from the environment; cfg->debug is applied after
 * it. Calling tc_init a second time is a fatal error. The unmanaged allocators
 * below work before tc_init; everything else needs it. */
TC_API void tc_init(const tc_config *cfg);

/* ------------------------------------------------------------------------
 * Threads. Every thread that holds heap pointers must be attached: the
 * collector scans attached threads' stacks and registers, and stops them
 * while it needs the world still. A stop does not wait for the thread's
 * cooperation: a thread that does not reach a safepoint within tens of
 * microseconds gets tc_config.stop_signal (default SIGPWR), whose handler
 * parks it. The handler is installed with SA_RESTART | SA_ONSTACK, so system
 * calls are restarted except those signal(7) says never are (poll, select,
 * nanosleep, epoll_wait, ...), which may fail with EINTR. The host must not
 * block, ignore or take over that signal in attached threads. See
 * docs/threads.md.
 * ------------------------------------------------------------------------ */

/* Register the calling thread; its stack bounds are found by the library.
 * tc_init attaches the thread that calls it. Attaching twice is a no-op.
 * Returns 0, or -1 with errno set (ENOMEM, or from pthread_getattr_np).
 * Waits while a stop is in progress. Fatal before tc_init. */
TC_API int tc_thread_attach(void);

/* Unregister the calling thread (fatal if it is not attached). Its stack is
 * no longer scanned. Waits while a stop is in progress. A thread that exits
 * while attached is detached on exit. */
TC_API void tc_thread_detach(void);

/* pthread_create, with the new thread attached for its whole life: attached
 * before start_routine runs, detached when it returns or calls pthread_exit.
 * Returns 0 or an error number, like pthread_create. The thread's return
 * value is not a root: do not return the only pointer to a heap object. */
TC_API int tc_pthread_create(pthread_t *thread, const pthread_attr_t *attr,
                             void *(*start_routine)(void *), void *arg);

/* A blocking region: between enter and leave the thread promises not to
 * read or write heap pointers (not even on its own stack) nor call into
 * tricolor, except tc_blocking_leave. It counts as stopped and is never
 * signalled; its stack is scanned from the point where it entered, with the
 * registers it had at the call. Wrap long system calls and foreign code in
 * one. tc_blocking_leave waits while a stop is in progress. Not nestable. */
TC_API void tc_blocking_enter(void);
TC_API void tc_blocking_leave(void);

/* Park here if the collector is stopping the world. Costs one relaxed load
 * when it is not. Optional: threads that never call it are stopped by the
 * signal; long loops that call it avoid being signalled. */
TC_API void tc_safepoint(void);

/* ------------------------------------------------------------------------
 * Types: an object's size and which of its words hold heap pointers
 * ------------------------------------------------------------------------ */

typedef struct tc_type tc_type;

/* Flags for tc_type_new. */
#define TC_NOTINHEAP 0x1u /* instances live only in unmanaged memory; tc_new of it is fatal */

/* A new type: objects of size bytes whose pointer-sized words at the given
 * byte offsets hold heap pointers (every other word is a scalar the collector
 * never looks at). Offsets may come in any order; n_ptrs == 0 (ptr_offsets
 * may then be NULL) makes a pointer-free ("noscan") type that is never
 * scanned. name is copied and used in error messages.
 *
 * Returns NULL with errno EINVAL when name is NULL, size is 0, an offset is
 * not a multiple of sizeof(void *), a pointer word would end past size, an
 * offset is given twice, or flags has unknown bits; NULL with ENOMEM when
 * the OS refuses memory. Types are immutable and never freed, so any thread
 * may use one without locking; tc_type_new may be called before tc_init. */
TC_API tc_type *tc_type_new(const char *name, size_t size, const size_t *ptr_offsets, size_t n_ptrs,
                            unsigned flags);

/* The name and size given to tc_type_new. */
TC_API const char *tc_type_name(const tc_type *t);
TC_API size_t tc_type_size(const tc_type *t);

/* TC_TYPE(T, field...) is tc_type_new for the C type T, with the pointer
 * fields named (up to 32 of them; offsetof designators such as inner.next or
 * child[2] work) and the name "T":
 *
 *     struct node { int key; struct node *left, *right; };
 *     static tc_type *node_type;
 *     node_type = TC_TYPE(struct node, left, right);
 *     leaf_type = TC_TYPE(struct leaf);   (no pointers: a noscan type)
 *
 * Every evaluation builds a NEW type (types are never freed): call it once
 * and keep the result, e.g. in a static. TC_TYPE_FLAGS(flags, T, field...)
 * does the same with tc_type_new's flags (TC_NOTINHEAP). */
#define TC_TYPE(...)              TC_TYPE_FLAGS(0u, __VA_ARGS__)
#define TC_TYPE_FLAGS(flags, ...) TC__TYPE_N(TC__NFIELDS(__VA_ARGS__), flags, __VA_ARGS__, ~)

/* Implementation of TC_TYPE: count the fields (the arguments after T), then
 * let TC__OFFS_n write "offsetof(T, f)," for each into a compound literal
 * closed by a 0 that tc_type_new never reads (so no field still makes a valid
 * array). The trailing ~ keeps every variadic list non-empty, as ISO C wants. */
#define TC__CAT_(a, b) a##b
#define TC__CAT(a, b)  TC__CAT_(a, b)
#define TC__TYPE_N(n, flags, T, ...)                                                               \
    tc_type_new(#T, sizeof(T), (const size_t[]){TC__CAT(TC__OFFS_, n)(T, __VA_ARGS__) 0}, (n),     \
                (flags))
#define TC__NFIELDS(...)                                                                           \
    TC__PICK(__VA_ARGS__, ~, 32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16,   \
             15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, ~)
#define TC__PICK(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, _16, _17, _18,  \
                 _19, _20, _21, _22, _23, _24, _25, _26, _27, _28, _29, _30, _31, _32, _33, _34,   \
                 n, ...)                                                                           \
    n
#define TC__OFFS_0(T, ...)
#define TC__OFFS_1(T, f, ...)  offsetof(T, f),
#define TC__OFFS_2(T, f, ...)  offsetof(T, f), TC__OFFS_1(T, __VA_ARGS__)
#define TC__OFFS_3(T, f, ...)  offsetof(T, f), TC__OFFS_2(T, __VA_ARGS__)
#define TC__OFFS_4(T, f, ...)  offsetof(T, f), TC__OFFS_3(T, __VA_ARGS__)
#define TC__OFFS_5(T, f, ...)  offsetof(T, f), TC__OFFS_4(T, __VA_ARGS__)
#define TC__OFFS_6(T, f, ...)  offsetof(T, f), TC__OFFS_5(T, __VA_ARGS__)
#define TC__OFFS_7(T, f, ...)  offsetof(T, f), TC__OFFS_6(T, __VA_ARGS__)
#define TC__OFFS_8(T, f, ...)  offsetof(T, f), TC__OFFS_7(T, __VA_ARGS__)
#define TC__OFFS_9(T, f, ...)  offsetof(T, f), TC__OFFS_8(T, __VA_ARGS__)
#define TC__OFFS_10(T, f, ...) offsetof(T, f), TC__OFFS_9(T, __VA_ARGS__)
#define TC__OFFS_11(T, f, ...) offsetof(T, f), TC__OFFS_10(T, __VA_ARGS__)
#define TC__OFFS_12(T, f, ...) offsetof(T, f), TC__OFFS_11(T, __VA_ARGS__)
#define TC__OFFS_13(T, f, ...) offsetof(T, f), TC__OFFS_12(T, __VA_ARGS__)
#define TC__OFFS_14(T, f, ...) offsetof(T, f), TC__OFFS_13(T, __VA_ARGS__)
#define TC__OFFS_15(T, f, ...) offsetof(T, f), TC__OFFS_14(T, __VA_ARGS__)
#define TC__OFFS_16(T, f, ...) offsetof(T, f), TC__OFFS_15(T, __VA_ARGS__)
#define TC__OFFS_17(T, f, ...) offsetof(T, f), TC__OFFS_16(T, __VA_ARGS__)
#define TC__OFFS_18(T, f, ...) offsetof(T, f), TC__OFFS_17(T, __VA_ARGS__)
#define TC__OFFS_19(T, f, ...) offsetof(T, f), TC__OFFS_18(T, __VA_ARGS__)
#define TC__OFFS_20(T, f, ...) offsetof(T, f), TC__OFFS_19(T, __VA_ARGS__)
#define TC__OFFS_21(T, f, ...) offsetof(T, f), TC__OFFS_20(T, __VA_ARGS__)
#define TC__OFFS_22(T, f, ...) offsetof(T, f), TC__OFFS_21(T, __VA_ARGS__)
#define TC__OFFS_23(T, f, ...) offsetof(T, f), TC__OFFS_22(T, __VA_ARGS__)
#define TC__OFFS_24(T, f, ...) offsetof(T, f), TC__OFFS_23(T, __VA_ARGS__)
#define TC__OFFS_25(T, f, ...) offsetof(T, f), TC__OFFS_24(T, __VA_ARGS__)
#define TC__OFFS_26(T, f, ...) offsetof(T, f), TC__OFFS_25(T, __VA_ARGS__)
#define TC__OFFS_27(T, f, ...) offsetof(T, f), TC__OFFS_26(T, __VA_ARGS__)
#define TC__OFFS_28(T, f, ...) offsetof(T, f), TC__OFFS_27(T, __VA_ARGS__)
#define TC__OFFS_29(T, f, ...) offsetof(T, f), TC__OFFS_28(T, __VA_ARGS__)
#define TC__OFFS_30(T, f, ...) offsetof(T, f), TC__OFFS_29(T, __VA_ARGS__)
#define TC__OFFS_31(T, f, ...) offsetof(T, f), TC__OFFS_30(T, __VA_ARGS__)
#define TC__OFFS_32(T, f, ...) offsetof(T, f), TC__OFFS_31(T, __VA_ARGS__)

/* ------------------------------------------------------------------------
 * Roots: unmanaged memory that holds heap pointers
 * ------------------------------------------------------------------------ */

typedef struct tc_root tc_root;

/* The root is written with TC_STORE, so the collector may scan it while
 * threads run; plain roots (the default) are written with ordinary C stores
 * and are scanned while the world is stopped, so keep them small. */
#define TC_ROOT_BARRIERED 0x1u

/* Make [base, base+size) a root: every heap object it points to stays alive.
 * layout NULL: every word is a possible pointer (conservative: words that do
 * not point into an allocated object are ignored). layout non-NULL: the
 * range is an array of layout, scanned precisely. base must be pointer
 * aligned, size a multiple of the pointer size (and of layout's size), the
 * range must not overlap a registered root, and the memory must stay
 * readable until tc_root_unregister; anything else is fatal. */
TC_API tc_root *tc_root_register(void *base, size_t size, const tc_type *layout, unsigned flags);

/* Stop treating the range as a root. Unregistering twice is fatal. */
TC_API void tc_root_unregister(tc_root *r);

/* ------------------------------------------------------------------------
 * The collected heap: allocation (heap: mheap.c, malloc.c). docs/heap.md.
 * ------------------------------------------------------------------------ */

/* Every allocation comes back zeroed. Objects of 16 bytes and more are
 * 16-byte aligned (smaller ones to 8 or to their size's alignment); objects
 * above 32 KiB get their own run of pages. Allocation before tc_init is a
 * fatal error. When the OS refuses more memory they return NULL with errno
 * ENOMEM. A size of 0 gets a distinct minimal object. */

/* One object of type t, scanned precisely by its layout. A TC_NOTINHEAP
 * type, or t == NULL, is a fatal error. */
TC_API void *tc_new(const tc_type *t);
/* An array of n objects of type t. NULL with errno ENOMEM when n * size
 * overflows: never a shorter object. */
TC_API void *tc_new_array(const tc_type *t, size_t n);
/* size bytes that hold no heap pointers: never scanned. Below 16 bytes,
 * such objects are packed together into 16-byte blocks. */
TC_API void *tc_alloc_noscan(size_t size);
/* size bytes whose every aligned word may be a heap pointer (for callers
 * that cannot describe the layout): scanned conservatively. */
TC_API void *tc_alloc_conservative(size_t size);

/* Debugging: the start of the allocated object containing p (any interior
 * address), or NULL when p is not inside one (outside the heap, a free
 * slot, the unused tail of a span, a free span). Packed tiny objects share
 * their 16-byte block, which is what these report. tc_object_size is the
 * usable size from that start (at least what was asked for), or 0. */
TC_API void *tc_object_base(const void *p);
TC_API size_t tc_object_size(const void *p);

/* ------------------------------------------------------------------------
 * Accounting of memory from the OS
 * ------------------------------------------------------------------------ */

/* Categories of OS memory, as reported by tc_read_stats. */
typedef enum tc_syscat {
    TC_SYSCAT_HEAP = 0,   /* the collected heap's arenas */
    TC_SYSCAT_PERSISTENT, /* persistent-allocator chunks not yet handed out */
    TC_SYSCAT_FIXALLOC,   /* fixalloc pools */
    TC_SYSCAT_GCMETA,     /* collector metadata: bitmaps, spans' side tables */
    TC_SYSCAT_OTHER,      /* everything else, including user allocations */
    TC_SYSCAT_COUNT
} tc_syscat;

/* A named counter of bytes obtained from the OS. Every unmanaged allocation
 * is charged to one; its category decides where tc_read_stats reports it.
 * Define your own with TC_SYSSTAT_INIT; never write the fields yourself (the
 * library updates `bytes` atomically). Passing NULL charges tc_sysstat_other.
 * A stat must outlive every allocation charged to it. */
typedef struct tc_sysstat {
    const char *name;
    tc_syscat category;
    uint64_t bytes; /* read with tc_sysstat_read */
} tc_sysstat;

#define TC_SYSSTAT_INIT(name, category)                                                            \
    {                                                                                              \
        (name), (category), 0                                                                      \
    }

TC_API uint64_t tc_sysstat_read(const tc_sysstat *stat);

extern TC_API tc_sysstat tc_sysstat_other;    /* TC_SYSCAT_OTHER */
extern TC_API tc_sysstat tc_sysstat_fixalloc; /* TC_SYSCAT_FIXALLOC, default for fixalloc pools */

/* ------------------------------------------------------------------------
 * Unmanaged memory. Never scanned, never collected. See docs/unmanaged.md.
 * ------------------------------------------------------------------------ */

/* Whole pages from the OS: n must be a non-zero multiple of the OS page size
 * (fatal otherwise). The memory is zeroed and page-aligned. Returns NULL with
 * errno ENOMEM when the OS refuses. */
TC_API void *tc_sys_alloc(size_t n, tc_sysstat *stat);

/* Give pages from tc_sys_alloc back to the OS. p must be page-aligned and n a
 * multiple of the page size (fatal otherwise); the range may be part of one
 * earlier allocation. */
TC_API void tc_sys_free(void *p, size_t n, tc_sysstat *stat);

/* The OS page size that tc_sys_alloc works in. */
TC_API size_t tc_sys_page_size(void);

/* Small allocations that are never freed, for metadata that lives as long as
 * the program. Zeroed. align is 0 (meaning 8) or a power of two up to 8192;
 * anything else, or size 0, is fatal. Sizes of 64 KiB and more come straight
 * from tc_sys_alloc. Returns NULL with errno ENOMEM when the OS refuses. */
TC_API void *tc_persistent_alloc(size_t size, size_t align, tc_sysstat *stat);

/* A slab allocator of one object size, carved from 16 KiB persistent chunks.
 * A freed object goes on the pool's own free list and is only ever reused by
 * the same pool: memory never migrates between pools or back to the OS.
 *
 * NOT internally locked: like the Go runtime's fixalloc, the caller serialises
 * every call on one pool (a mutex around it, or one pool per thread).
 *
 * Fields are public so a pool can be embedded without allocation; after
 * tc_fixalloc_init only `zero` may be written, and only before the first
 * tc_fixalloc_alloc. */
typedef struct tc_fixalloc {
    size_t size;                         /* object size after rounding */
    void (*first)(void *arg, void *obj); /* run on each object the first time it is handed out */
    void *arg;
    void *list;      /* free list, linked through each free object's first word */
    uintptr_t chunk; /* next fresh object in the current chunk */
    uint32_t nchunk; /* bytes left in the current chunk */
    uint32_t nalloc; /* chunk size: 16 KiB rounded down to a multiple of size */
    size_t inuse;    /* bytes handed out and not freed */
    tc_sysstat *stat;
    bool zero;   /* zero-initialise reused objects (default true) */
    void *check; /* TC_DEBUG=fixalloccheck=1 bookkeeping, else NULL */
} tc_fixalloc;

/* size is rounded up to a multiple of sizeof(void *) and to at least one
 * pointer; more than 16 KiB is fatal. first may be NULL. stat NULL charges
 * tc_sysstat_fixalloc. */
TC_API void tc_fixalloc_init(tc_fixalloc *f, size_t size, void (*first)(void *arg, void *obj),
                             void *arg, tc_sysstat *stat);

/* An object of f->size bytes. Fresh objects are zero; reused objects are zero
 * when f->zero, else they keep what was in them except the first word, which
 * held the free-list link. Returns NULL with errno ENOMEM when the OS refuses. */
TC_API void *tc_fixalloc_alloc(tc_fixalloc *f);

/* Return obj to f's free list. With TC_DEBUG=fixalloccheck=1, a double free or
 * a pointer that f never handed out is fatal, naming the pool and address. */
TC_API void tc_fixalloc_free(tc_fixalloc *f, void *obj);

/* ------------------------------------------------------------------------
 * Pointer writes and typed memory operations. docs/gc.md, docs/embedding.md.
 *
 * The collector marks while threads run. Every store of a heap pointer into
 * a heap object, or into a root registered TC_ROOT_BARRIERED, goes through
 * TC_STORE (or tc_store); copies of memory holding heap pointers go through
 * tc_typedmemmove, and clearing memory that is already visible to the
 * collector through tc_typedmemclr or tc_memclr_has_pointers: these run the
 * write barrier, which records the pointer being overwritten. Memory nobody
 * can see yet (fresh or recycled, not yet reachable) is zero-initialised with
 * tc_memclr_no_heap_pointers, and stores into an object allocated since its
 * last publication need no barrier only because they overwrite nothing:
 * when in doubt, use TC_STORE. Plain roots (the default) and thread stacks
 * are written with ordinary stores.
 * ------------------------------------------------------------------------ */

/* Non-zero while the collector marks (written only with the world stopped). */
extern TC_API volatile int tc_write_barrier;
/* The barrier's slow path: record old, the pointer being overwritten. */
TC_API void tc_write_barrier_shade(void *old);

/* TC_STORE(lvalue, ptr): lvalue = ptr, with the write barrier. The fast
 * path is a load of the old value, the store, and a test of
 * tc_write_barrier; the store comes before the test on purpose (see
 * src/barrier.c). lvalue must be a pointer-typed lvalue, evaluated once. */
#define TC_STORE(lvalue, ptr)                                                                      \
    do {                                                                                           \
        __typeof__(&(lvalue)) tc_slot_ = &(lvalue);                                                \
        void *tc_old_ = (void *)__atomic_load_n(tc_slot_, __ATOMIC_RELAXED);                       \
        __typeof__(lvalue) tc_new_ = (ptr);                                                        \
        __atomic_store_n(tc_slot_, tc_new_, __ATOMIC_RELAXED);                                     \
        __asm__ __volatile__("" ::: "memory");                                                     \
        if (__builtin_expect(tc_write_barrier != 0, 0)) tc_write_barrier_shade(tc_old_);           \
    } while (0)

/* *slot = ptr, with the write barrier (TC_STORE as a function). */
TC_API void tc_store(void **slot, void *ptr);
/* Copy one object of type t from src to dst (the ranges may overlap). */
TC_API void tc_typedmemmove(const tc_type *t, void *dst, const void *src);
/* Zero one visible object of type t. */
TC_API void tc_typedmemclr(const tc_type *t, void *p);
/* Zero n bytes (whole aligned words) of visible memory that may hold heap pointers. */
TC_API void tc_memclr_has_pointers(void *p, size_t n);
/* Zero n bytes of memory that is not yet visible to the collector. */
TC_API void tc_memclr_no_heap_pointers(void *p, size_t n);

/* ------------------------------------------------------------------------
 * Collection control
 * ------------------------------------------------------------------------ */

/* Run a full collection now; returns when the heap is swept. Any thread may
 * call it (an unattached caller is attached). */
TC_API void tc_gc(void);

/* GOGC: collect when the heap has grown by percent since the last mark
 * (counting registered roots and stacks as part of the live heap, as Go
 * 1.18+ does). Negative turns collection off (the memory limit, if set,
 * still applies). Returns the old value. */
TC_API int tc_set_gc_percent(int percent);

/* The soft memory limit in bytes, covering everything the library maps from
 * the OS; INT64_MAX means none. A negative argument only reads. Returns the
 * old value. */
TC_API int64_t tc_set_memory_limit(int64_t bytes);

/* ------------------------------------------------------------------------
 * Statistics
 * ------------------------------------------------------------------------ */

/* Buckets of tc_stats.pause_hist. */
#define TC_PAUSE_HIST_BUCKETS 24

/* Entries of tc_stats.by_size: one per size class, entry 0 for large objects. */
#define TC_STATS_SIZE_CLASSES 68

typedef struct tc_stats {
    /* Bytes obtained from the OS and not returned, by category, and total. */
    uint64_t sys_by_category[TC_SYSCAT_COUNT];
    uint64_t sys_total;
    uint64_t persistent_inuse; /* bytes handed out by tc_persistent_alloc */
    /* ---- heap (mheap.c, malloc.c): begin ----
     * Objects are counted when they are allocated; a thread's small-object
     * counts reach these figures when its cache refills that size class,
     * when the thread exits, and always for the calling thread. */
    uint64_t heap_alloc_bytes;   /* cumulative bytes allocated (slot sizes) */
    uint64_t heap_alloc_objects; /* cumulative objects allocated */
    uint64_t heap_free_bytes;    /* cumulative bytes freed by the collector */
    uint64_t heap_free_objects;
    uint64_t heap_live_bytes; /* allocated - freed */
    uint64_t heap_live_objects;
    uint64_t heap_mapped;     /* arena bytes mapped from the OS (in use + idle) */
    uint64_t heap_inuse;      /* bytes in in-use spans */
    uint64_t heap_idle;       /* mapped bytes in no span */
    uint64_t heap_released;   /* idle bytes returned to the OS */
    uint64_t heap_spans;      /* in-use spans */
    uint64_t heap_span_meta;  /* bytes of span structs in use */
    uint64_t heap_other_meta; /* arena metadata, arena index, alloc/mark bits, thread caches */
    struct {
        uint32_t size;    /* slot size; 0 for entry 0, the large objects */
        uint64_t mallocs; /* objects allocated */
        uint64_t frees;   /* objects freed */
    } by_size[TC_STATS_SIZE_CLASSES];
    /* ---- heap: end ---- */

    /* ---- collector (gc.c): docs/gc.md ---- */
    uint64_t num_gc;         /* completed cycles */
    uint64_t num_forced_gc;  /* of which from tc_gc */
    uint64_t pause_total_ns; /* all stop-the-world pauses together */
    uint64_t pause_max_ns;   /* the longest single stop */
    uint64_t num_stops;      /* single stops so far (a concurrent cycle has 2 or more) */
    uint64_t stop_ns[256];   /* each stop, a ring: the latest at (num_stops + 255) % 256 */
    uint64_t
        pause_ns[256]; /* each cycle's stops summed, a ring: the latest at (num_gc + 255) % 256 */
    uint64_t pause_end_ns[256]; /* when each ended, ns since tc_init */
    /* Single stops by length: entry 0 under 1 us, entry i in [2^(i-1), 2^i) us,
     * the last entry everything longer. */
    uint64_t pause_hist[TC_PAUSE_HIST_BUCKETS];
    uint64_t heap_marked; /* bytes marked live by the last cycle */
    uint64_t heap_live;   /* marked + allocated since (the pacer's heap) */
    uint64_t next_gc;     /* the heap goal: marking should end by then */
    uint64_t gc_trigger;  /* a cycle starts when heap_live reaches it */
    /* (heap at mark termination - goal) / goal: how far the last cycle, and
     * the worst one, overshot (positive) or undershot its goal. */
    double goal_overshoot_last, goal_overshoot_max;
    uint64_t last_gc_ns;    /* end of the last cycle, ns since tc_init */
    double gc_cpu_fraction; /* collector CPU / (elapsed time x CPUs) since tc_init */
    uint64_t stop_last_ns;  /* time to stop the world, last cycle */
    uint64_t stop_max_ns;   /* and the longest */
} tc_stats;

/* A consistent-enough snapshot: each counter is read atomically, the set is not. */
TC_API void tc_read_stats(tc_stats *out);

/* Print the statistics as a table, one line per figure. */
TC_API void tc_print_stats(const tc_stats *st, FILE *out);

#ifdef __cplusplus
}
#endif
#endif /* TRICOLOR_H */
