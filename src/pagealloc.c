/*
 * pagealloc.c — the page allocator: which 8 KiB pages of the heap's address
 * ranges are free, which free pages have gone back to the OS, and the search
 * for the lowest run of n free pages. Go's design (mpagealloc.go), our code.
 *
 * What it owns
 *   - Per 4 MiB chunk (512 pages) a 512-bit alloc bitmap (1 = in use) and a
 *     512-bit scavenged bitmap (1 = free and returned to the OS). Chunks are
 *     reached through a sparse two-level map indexed by chunk number
 *     (address >> 22): a 2^13-entry L1 array of pointers to L2 blocks of
 *     2^13 chunks (1 MiB each), each allocated from sys when a grow first
 *     touches it.
 *   - A radix tree of summaries over the whole 48-bit address space, five
 *     levels, eight children per step. A leaf (level 4) summarises one chunk;
 *     a level-0 entry summarises 2^21 pages (16 GiB). A summary packs three
 *     free-run lengths, in pages: `start` (free pages from the first page on),
 *     `max` (the longest free run anywhere inside) and `end` (free pages up to
 *     the last page). Each level is one array reserved for the whole address
 *     space at creation (sys_reserve, about 585 MiB of address space) whose
 *     pages are sys_map'ed as grows reach them; mapped memory reads as zero,
 *     and an all-zero summary means "nothing free here", which is exactly
 *     right for address space that was never grown.
 *   - The list of grown ranges, the counters, and two hints (below).
 *
 * Invariants (pagealloc_check verifies every one)
 *   - Every leaf summary equals the summary recomputed from its chunk's alloc
 *     bitmap, and every inner summary equals the merge of its eight children:
 *     allocation and free update the path to the root for every chunk they
 *     touch (stopping at the first level where no entry changed: the levels
 *     above it cannot change either).
 *   - A page's scavenged bit is set only while the page is free: allocation
 *     clears the scavenged bits of the run it hands out (and reports how many
 *     bytes were scavenged, for the caller to sys_used them).
 *   - search_addr: no free page lies below it. Allocation starts its search
 *     there, so the common case skips the densely used low heap.
 *   - scav_top: no free, unscavenged page lies at or above it. The scavenger
 *     walks down from there; a free above it raises it.
 *   - counts.total_pages is the sum of the grown ranges; inuse_pages the
 *     number of set alloc bits; scavenged_pages the number of set scavenged
 *     bits.
 *
 * Search (find): address-ordered first fit, walking the tree from the root.
 * At each level the walk scans one block of eight entries (all of level 0,
 * bounded by the highest grown address) from the entry holding search_addr,
 * and keeps the length of the free run that ends at the current entry: if
 * that run plus the entry's `start` reaches n, the lowest fit begins in an
 * earlier entry (or at this one's first page) and the search ends there;
 * otherwise, if the entry's `max` reaches n, the fit lies inside it and the
 * walk descends; otherwise the run continues (entry wholly free) or restarts
 * at the entry's `end`. At the leaf the chunk's bitmap is searched directly.
 * A run longer than a chunk is always found as a run across entries at some
 * inner level, so spans larger than 4 MiB need no special case. Cost: at most
 * 8 entries per level plus one 512-bit scan, whatever the heap's size.
 *
 * Page caches (pagealloc_alloc_to_cache and friends): a thread takes all
 * free pages of one aligned 64-page block (one bitmap word) at once, marking
 * them in use; the block's scavenged bits move into the cache. search_addr
 * moves past the block (it held the lowest free page). Flushing frees what
 * is left, with its scavenged bits, exactly as pagealloc_free would.
 *
 * Concurrency: none here. The caller serialises every call on one pagealloc
 * (mheap holds its heap lock around them), as Go does. pagealloc_scavenge
 * calls sys_unused (madvise) itself, i.e. under the caller's lock; Go drops
 * the heap lock for that system call, which a later two-step interface could
 * do too.
 */
#include "pagealloc.h"

#include "sys.h"

/* ---- geometry ------------------------------------------------------------ */

#define CHUNK_SHIFT   (TC_PAGE_SHIFT + 9) /* 22: 4 MiB */
#define CHUNK_WORDS   (PALLOC_CHUNK_PAGES / 64)
#define CHUNK_INDICES ((size_t)1 << (TC_ADDR_BITS - CHUNK_SHIFT)) /* 2^26 */
#define L1_BITS       13
#define L2_BITS       (TC_ADDR_BITS - CHUNK_SHIFT - L1_BITS) /* 13 */

#define SUM_LEVELS     5
#define SUM_LEVEL_BITS 3 /* eight children: one 64-byte line per step */
#define SUM_L0_BITS    (TC_ADDR_BITS - CHUNK_SHIFT - (SUM_LEVELS - 1) * SUM_LEVEL_BITS) /* 14 */

/* log2 of the pages one entry of level l covers: 21 at the root, 9 at a leaf. */
static inline unsigned level_log_pages(int l)
{
    return 9 + (unsigned)(SUM_LEVELS - 1 - l) * SUM_LEVEL_BITS;
}
/* log2 of the bytes one entry of level l covers. */
static inline unsigned level_shift(int l) { return TC_PAGE_SHIFT + level_log_pages(l); }
static inline size_t level_entries(int l)
{
    return (size_t)1 << (SUM_L0_BITS + (unsigned)l * SUM_LEVEL_BITS);
}

typedef struct chunk {
    uint64_t alloc[CHUNK_WORDS]; /* 1: page in use */
    uint64_t scav[CHUNK_WORDS];  /* 1: page free and returned to the OS */
} chunk;

typedef struct range {
    uintptr_t base, limit;
} range;

struct pagealloc {
    uint64_t *summary[SUM_LEVELS];    /* one reserved array per level */
    uint64_t *sum_mapped[SUM_LEVELS]; /* bit per OS page of summary[l]: 1 once sys_map'ed */
    chunk **chunks;                   /* L1: 2^13 pointers to L2 blocks of 2^13 chunks */
    range *ranges;                    /* grown ranges, sorted, adjacent ones merged */
    size_t nranges, ranges_cap;       /* ranges_cap: entries in the sys_alloc'ed array */
    uintptr_t search_addr;            /* no free page below this */
    uintptr_t scav_top;               /* no free unscavenged page at or above this */
    uintptr_t heap_limit;             /* end of the highest grown range */
    pagealloc_counts counts;
    tc_sysstat *meta_stat;
    size_t self_bytes; /* bytes of the sys_alloc holding this struct and its tables */
};

#define NO_ADDR ((uintptr_t)1 << TC_ADDR_BITS) /* above every heap address */

/* ---- packed summaries ------------------------------------------------------
 * 21 bits each for start (bits 0-20), max (21-41) and end (42-62). The value
 * 2^21 does not fit; it only occurs as a wholly free level-0 entry, which is
 * encoded as bit 63 alone. */

#define SUM_FIELD_BITS 21
#define SUM_FIELD_MASK (((uint64_t)1 << SUM_FIELD_BITS) - 1)
#define SUM_MAX_PAGES  ((uint64_t)1 << SUM_FIELD_BITS)
#define SUM_ALL_FREE   ((uint64_t)1 << 63)

static inline uint64_t sum_pack(uint64_t start, uint64_t max, uint64_t end)
{
    if (max == SUM_MAX_PAGES) return SUM_ALL_FREE;
    return start | (max << SUM_FIELD_BITS) | (end << (2 * SUM_FIELD_BITS));
}
static inline uint64_t sum_start(uint64_t s)
{
    return (s & SUM_ALL_FREE) ? SUM_MAX_PAGES : (s & SUM_FIELD_MASK);
}
static inline uint64_t sum_max(uint64_t s)
{
    return (s & SUM_ALL_FREE) ? SUM_MAX_PAGES : ((s >> SUM_FIELD_BITS) & SUM_FIELD_MASK);
}
static inline uint64_t sum_end(uint64_t s)
{
    return (s & SUM_ALL_FREE) ? SUM_MAX_PAGES : ((s >> (2 * SUM_FIELD_BITS)) & SUM_FIELD_MASK);
}

/* ---- bitmap primitives ----------------------------------------------------- */

static inline unsigned ctz64(uint64_t x) { return (unsigned)__builtin_ctzll(x); }
static inline unsigned clz64(uint64_t x) { return (unsigned)__builtin_clzll(x); }
static inline unsigned popcount64(uint64_t x) { return tc_popcount64(x); }

/* Bits p of the result: bits p..p+n-1 of x are all ones (1 <= n <= 64). */
static inline uint64_t runs_of(uint64_t x, unsigned n)
{
    unsigned k = 1;
    while (k < n && x) {
        unsigned s = k < n - k ? k : n - k;
        x &= x >> s;
        k += s;
    }
    return x;
}

/* Longest run of ones in x, given that only runs longer than best matter:
 * returns best when there is none longer. */
static unsigned longest_ones(uint64_t x, unsigned best)
{
    if (best >= 64) return best;
    uint64_t m = runs_of(x, best + 1);
    if (!m) return best;
    unsigned k = best + 1;
    for (;;) {
        uint64_t next = m & (m >> 1);
        if (!next) return k;
        m = next;
        k++;
    }
}

/* Summary of one chunk from its alloc bitmap. */
static uint64_t chunk_summarize(const chunk *c)
{
    uint64_t any = 0, all = ~(uint64_t)0;
    for (int w = 0; w < CHUNK_WORDS; w++) any |= c->alloc[w], all &= c->alloc[w];
    if (any == 0) return sum_pack(PALLOC_CHUNK_PAGES, PALLOC_CHUNK_PAGES, PALLOC_CHUNK_PAGES);
    if (all == ~(uint64_t)0) return 0;

    unsigned start = 0, end = 0, max = 0, run = 0;
    int w = 0;
    for (; w < CHUNK_WORDS && c->alloc[w] == 0; w++) start += 64;
    start += ctz64(c->alloc[w]);
    for (w = CHUNK_WORDS - 1; w >= 0 && c->alloc[w] == 0; w--) end += 64;
    end += clz64(c->alloc[w]);

    max = start > end ? start : end;
    for (w = 0; w < CHUNK_WORDS; w++) {
        uint64_t used = c->alloc[w];
        if (used == 0) {
            run += 64;
            continue;
        }
        unsigned lo = ctz64(used), hi = 63 - clz64(used);
        run += lo;
        if (run > max) max = run;
        /* A run inside the word lies strictly between its lowest and highest
         * used bits: look only when that gap could beat max. */
        if (hi - lo > max + 1) max = longest_ones(~used, max);
        run = 63 - hi;
    }
    if (run > max) max = run;
    return sum_pack(start, max, end);
}

/* First page index p >= from with pages p..p+n-1 free in alloc, or -1. */
static int bits_find(const uint64_t *alloc, unsigned n, unsigned from)
{
    unsigned run = 0, runbase = 0;
    for (unsigned w = from / 64; w < CHUNK_WORDS; w++) {
        uint64_t used = alloc[w];
        if (w == from / 64) used |= ((uint64_t)1 << (from % 64)) - 1;
        if (used == 0) {
            if (run == 0) runbase = w * 64;
            run += 64;
            if (run >= n) return (int)runbase;
            continue;
        }
        unsigned low = ctz64(used);
        if (run + low >= n) return (int)(run == 0 ? w * 64 : runbase);
        if (n < 64) {
            uint64_t m = runs_of(~used, n);
            if (m) return (int)(w * 64 + ctz64(m));
        }
        run = clz64(used);
        runbase = w * 64 + 64 - run;
    }
    return -1;
}

/* Mask of bits [lo, hi) of word w, for a page range [lo, hi) of a chunk. */
static inline uint64_t word_mask(unsigned w, unsigned lo, unsigned hi)
{
    unsigned a = w * 64, b = a + 64;
    if (hi <= a || lo >= b) return 0;
    unsigned l = lo > a ? lo - a : 0, h = hi < b ? hi - a : 64;
    uint64_t upto = tc_low_mask(h);
    return upto & ~(((uint64_t)1 << l) - 1);
}

/* ---- chunks and summaries --------------------------------------------------- */

static inline size_t chunk_index(uintptr_t addr) { return addr >> CHUNK_SHIFT; }
static inline uintptr_t chunk_base(size_t ci) { return (uintptr_t)ci << CHUNK_SHIFT; }

static inline chunk *chunk_of(const pagealloc *pa, size_t ci)
{
    chunk *l2 = pa->chunks[ci >> L2_BITS];
    if (tc_unlikely(l2 == NULL)) tc_throw("pagealloc: no chunk for address %#lx", chunk_base(ci));
    return &l2[ci & (((size_t)1 << L2_BITS) - 1)];
}

/* Summary of the eight children of entry p of level l (l < SUM_LEVELS-1). */
static uint64_t sum_merge(const pagealloc *pa, int l, size_t p)
{
    const uint64_t *kids = &pa->summary[l + 1][p << SUM_LEVEL_BITS];
    uint64_t full = (uint64_t)1 << level_log_pages(l + 1);
    uint64_t start = 0, end = 0, max = 0, run = 0;
    int i;
    for (i = 0; i < (1 << SUM_LEVEL_BITS) && sum_start(kids[i]) == full; i++) start += full;
    if (i == (1 << SUM_LEVEL_BITS)) return sum_pack(start, start, start);
    start += sum_start(kids[i]);
    for (i = (1 << SUM_LEVEL_BITS) - 1; sum_start(kids[i]) == full; i--) end += full;
    end += sum_end(kids[i]);
    for (i = 0; i < (1 << SUM_LEVEL_BITS); i++) {
        uint64_t s = kids[i], st = sum_start(s), mx = sum_max(s);
        if (st == full) {
            run += full;
            continue;
        }
        run += st;
        if (run > max) max = run;
        if (mx > max) max = mx;
        run = sum_end(s);
    }
    if (run > max) max = run;
    return sum_pack(start, max, end);
}

/* Recompute the leaf summaries of the chunks holding [base, limit) and every
 * inner summary above them. */
static void sum_update(pagealloc *pa, uintptr_t base, uintptr_t limit)
{
    size_t lo = chunk_index(base), hi = chunk_index(limit - 1);
    bool changed = false;
    for (size_t ci = lo; ci <= hi; ci++) {
        uint64_t s = chunk_summarize(chunk_of(pa, ci));
        changed |= s != pa->summary[SUM_LEVELS - 1][ci];
        pa->summary[SUM_LEVELS - 1][ci] = s;
    }
    /* A level whose entries did not change leaves every level above as it was. */
    for (int l = SUM_LEVELS - 2; l >= 0 && changed; l--) {
        lo >>= SUM_LEVEL_BITS;
        hi >>= SUM_LEVEL_BITS;
        changed = false;
        for (size_t p = lo; p <= hi; p++) {
            uint64_t s = sum_merge(pa, l, p);
            changed |= s != pa->summary[l][p];
            pa->summary[l][p] = s;
        }
    }
}

/* ---- creation and growth ------------------------------------------------------ */

static size_t sum_level_bytes(int l) { return level_entries(l) * sizeof(uint64_t); }

/* Bytes of the bitmap of mapped OS pages of summary level l (whole words). */
static size_t mapped_bitmap_bytes(int l, size_t ps)
{
    size_t pages = sum_level_bytes(l) / ps;
    return (pages + 63) / 64 * sizeof(uint64_t);
}

pagealloc *pagealloc_new(tc_sysstat *meta_stat)
{
    size_t ps = sys_page_size();
    size_t bytes = sizeof(pagealloc) + ((size_t)1 << L1_BITS) * sizeof(chunk *);
    for (int l = 0; l < SUM_LEVELS; l++) bytes += mapped_bitmap_bytes(l, ps);
    bytes = tc_align_up(bytes, ps);
    uint8_t *mem = sys_alloc(bytes, meta_stat);
    if (mem == NULL) tc_throw("pagealloc_new: out of memory for %zu bytes of metadata", bytes);

    pagealloc *pa = (pagealloc *)mem;
    uint8_t *p = mem + sizeof(pagealloc);
    pa->chunks = (chunk **)p;
    p += ((size_t)1 << L1_BITS) * sizeof(chunk *);
    for (int l = 0; l < SUM_LEVELS; l++) {
        pa->sum_mapped[l] = (uint64_t *)p;
        p += mapped_bitmap_bytes(l, ps);
        pa->summary[l] = sys_reserve(NULL, sum_level_bytes(l));
        if (pa->summary[l] == NULL)
            tc_throw("pagealloc_new: cannot reserve %zu bytes for summary level %d",
                     sum_level_bytes(l), l);
    }
    pa->search_addr = NO_ADDR;
    pa->scav_top = 0;
    pa->meta_stat = meta_stat;
    pa->self_bytes = bytes;
    return pa;
}

static inline bool mapped_get(const uint64_t *bits, size_t g)
{
    return bits[g / 64] >> (g % 64) & 1;
}

/* Map the pages of summary level l that hold entries [lo, hi]. */
static void sum_map(pagealloc *pa, int l, size_t lo, size_t hi)
{
    size_t ps = sys_page_size();
    size_t first = lo * sizeof(uint64_t) / ps, last = (hi * sizeof(uint64_t)) / ps;
    for (size_t g = first; g <= last; g++) {
        if (mapped_get(pa->sum_mapped[l], g)) continue;
        size_t e = g;
        while (e + 1 <= last && !mapped_get(pa->sum_mapped[l], e + 1)) e++;
        sys_map((uint8_t *)pa->summary[l] + g * ps, (e - g + 1) * ps, pa->meta_stat);
        for (size_t k = g; k <= e; k++) pa->sum_mapped[l][k / 64] |= (uint64_t)1 << (k % 64);
        g = e;
    }
}

static void ranges_insert(pagealloc *pa, uintptr_t base, uintptr_t limit)
{
    size_t i = 0;
    while (i < pa->nranges && pa->ranges[i].limit <= base) i++;
    if (i < pa->nranges && pa->ranges[i].base < limit)
        tc_throw("pagealloc_grow: %#lx-%#lx overlaps grown range %#lx-%#lx", base, limit,
                 pa->ranges[i].base, pa->ranges[i].limit);
    bool join_prev = i > 0 && pa->ranges[i - 1].limit == base;
    bool join_next = i < pa->nranges && pa->ranges[i].base == limit;
    if (join_prev && join_next) {
        pa->ranges[i - 1].limit = pa->ranges[i].limit;
        for (size_t k = i; k + 1 < pa->nranges; k++) pa->ranges[k] = pa->ranges[k + 1];
        pa->nranges--;
        return;
    }
    if (join_prev) {
        pa->ranges[i - 1].limit = limit;
        return;
    }
    if (join_next) {
        pa->ranges[i].base = base;
        return;
    }
    if (pa->nranges == pa->ranges_cap) {
        size_t ps = sys_page_size();
        size_t cap = pa->ranges_cap ? pa->ranges_cap * 2 : ps / sizeof(range);
        range *n = sys_alloc(cap * sizeof(range), pa->meta_stat);
        if (n == NULL) tc_throw("pagealloc_grow: out of memory for %zu ranges", cap);
        for (size_t k = 0; k < pa->nranges; k++) n[k] = pa->ranges[k];
        if (pa->ranges) sys_free(pa->ranges, pa->ranges_cap * sizeof(range), pa->meta_stat);
        pa->ranges = n;
        pa->ranges_cap = cap;
    }
    for (size_t k = pa->nranges; k > i; k--) pa->ranges[k] = pa->ranges[k - 1];
    pa->ranges[i] = (range){base, limit};
    pa->nranges++;
}

void pagealloc_grow(pagealloc *pa, uintptr_t base, size_t bytes)
{
    uintptr_t limit = base + bytes;
    if (bytes == 0 || (base & (PALLOC_CHUNK_BYTES - 1)) != 0 ||
        (bytes & (PALLOC_CHUNK_BYTES - 1)) != 0 || limit > NO_ADDR || limit < base)
        tc_throw("pagealloc_grow: range %#lx+%#zx is not whole 4 MiB chunks of the address space",
                 base, bytes);
    ranges_insert(pa, base, limit);

    /* L2 blocks of the chunk map. */
    size_t lo = chunk_index(base), hi = chunk_index(limit - 1);
    for (size_t l1 = lo >> L2_BITS; l1 <= hi >> L2_BITS; l1++) {
        if (pa->chunks[l1]) continue;
        size_t n = ((size_t)1 << L2_BITS) * sizeof(chunk);
        pa->chunks[l1] = sys_alloc(n, pa->meta_stat);
        if (pa->chunks[l1] == NULL)
            tc_throw("pagealloc_grow: out of memory for a %zu-byte chunk block", n);
    }
    /* Summary pages over the range, every level. */
    for (int l = 0; l < SUM_LEVELS; l++)
        sum_map(pa, l, base >> level_shift(l), (limit - 1) >> level_shift(l));
    /* New chunks: free and scavenged. */
    for (size_t ci = lo; ci <= hi; ci++) {
        chunk *c = chunk_of(pa, ci);
        for (int w = 0; w < CHUNK_WORDS; w++) c->alloc[w] = 0, c->scav[w] = ~(uint64_t)0;
    }
    sum_update(pa, base, limit);

    size_t npages = bytes >> TC_PAGE_SHIFT;
    pa->counts.total_pages += npages;
    pa->counts.scavenged_pages += npages;
    if (base < pa->search_addr) pa->search_addr = base;
    if (limit > pa->heap_limit) pa->heap_limit = limit;
}

/* ---- marking ranges ---------------------------------------------------------- */

/* The pages of [base, limit) that lie in chunk ci, as [*lo, *hi). */
static inline void chunk_pages(size_t ci, uintptr_t base, uintptr_t limit, unsigned *lo,
                               unsigned *hi)
{
    uintptr_t cb = chunk_base(ci);
    *lo = base > cb ? (unsigned)((base - cb) >> TC_PAGE_SHIFT) : 0;
    *hi = limit < cb + PALLOC_CHUNK_BYTES ? (unsigned)((limit - cb) >> TC_PAGE_SHIFT)
                                          : PALLOC_CHUNK_PAGES;
}

/* Mark [base, base+npages) in use; returns how many of its pages were
 * scavenged (their bits are cleared). */
static size_t alloc_range(pagealloc *pa, uintptr_t base, size_t npages)
{
    uintptr_t limit = base + (npages << TC_PAGE_SHIFT);
    size_t scav = 0;
    for (size_t ci = chunk_index(base); ci <= chunk_index(limit - 1); ci++) {
        chunk *c = chunk_of(pa, ci);
        unsigned lo, hi;
        chunk_pages(ci, base, limit, &lo, &hi);
        for (unsigned w = lo / 64; w <= (hi - 1) / 64; w++) {
            uint64_t m = word_mask(w, lo, hi);
            if (tc_unlikely(c->alloc[w] & m))
                tc_throw("pagealloc: allocating page %#lx, which is in use",
                         chunk_base(ci) +
                             (((uintptr_t)w * 64 + ctz64(c->alloc[w] & m)) << TC_PAGE_SHIFT));
            c->alloc[w] |= m;
            if (tc_unlikely(c->scav[w] & m)) {
                scav += popcount64(c->scav[w] & m);
                c->scav[w] &= ~m;
            }
        }
    }
    sum_update(pa, base, limit);
    pa->counts.inuse_pages += npages;
    pa->counts.scavenged_pages -= scav;
    return scav;
}

/* Smallest grown range holding addr, or NULL. */
static const range *range_of(const pagealloc *pa, uintptr_t addr)
{
    size_t lo = 0, hi = pa->nranges;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (pa->ranges[mid].limit <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < pa->nranges && pa->ranges[lo].base <= addr ? &pa->ranges[lo] : NULL;
}

/* ---- allocation ------------------------------------------------------------------ */

/* Lowest address of a run of npages free pages, or 0. *lowfree receives a
 * lower bound on the lowest free page (>= search_addr). */
static uintptr_t find(const pagealloc *pa, size_t npages, uintptr_t *lowfree)
{
    uintptr_t search = pa->search_addr;
    bool refining = true; /* every descent so far went into the first non-empty entry */
    size_t idx = 0;
    *lowfree = search;
    for (int l = 0; l < SUM_LEVELS; l++) {
        unsigned shift = level_shift(l);
        size_t first, last;
        if (l == 0) {
            first = 0;
            last = pa->heap_limit ? ((pa->heap_limit - 1) >> shift) + 1 : 0;
        } else {
            first = idx << SUM_LEVEL_BITS;
            last = first + ((size_t)1 << SUM_LEVEL_BITS);
        }
        size_t sidx = search >> shift, j = first;
        if (sidx >= last) return 0; /* (only at level 0: past the heap) */
        if (sidx > first) j = sidx;

        uint64_t full = (uint64_t)1 << level_log_pages(l);
        uint64_t run = 0;
        uintptr_t runbase = 0;
        bool seen = false;
        size_t first_nonempty = 0;
        for (; j < last; j++) {
            uint64_t s = pa->summary[l][j];
            if (s == 0) {
                run = 0;
                continue;
            }
            uintptr_t ebase = (uintptr_t)j << shift;
            if (!seen) {
                seen = true;
                first_nonempty = j;
                if (refining && ebase > *lowfree) *lowfree = ebase;
            }
            uint64_t st = sum_start(s);
            if (run + st >= npages) return run == 0 ? ebase : runbase;
            if (sum_max(s) >= npages) {
                if (j != first_nonempty) refining = false;
                idx = j;
                goto descend;
            }
            if (st == full) {
                if (run == 0) runbase = ebase;
                run += full;
            } else {
                run = sum_end(s);
                runbase = ebase + ((full - run) << TC_PAGE_SHIFT);
            }
        }
        if (l == 0) return 0;
        tc_throw("pagealloc: summary level %d entry %zu promises %zu free pages that its children "
                 "lack",
                 l - 1, idx, npages);
    descend:;
    }

    /* idx is a chunk whose bitmap holds the fit. */
    const chunk *c = chunk_of(pa, idx);
    uintptr_t cb = chunk_base(idx);
    unsigned from = chunk_index(search) == idx ? (unsigned)((search - cb) >> TC_PAGE_SHIFT) : 0;
    int i = bits_find(c->alloc, (unsigned)npages, from);
    if (tc_unlikely(i < 0))
        tc_throw("pagealloc: chunk %#lx summary promises %zu free pages that its bitmap lacks", cb,
                 npages);
    if (refining) {
        int f = bits_find(c->alloc, 1, from);
        *lowfree = cb + ((uintptr_t)f << TC_PAGE_SHIFT);
    }
    return cb + ((uintptr_t)i << TC_PAGE_SHIFT);
}

uintptr_t pagealloc_alloc(pagealloc *pa, size_t npages, size_t *scav)
{
    if (tc_unlikely(npages == 0)) tc_throw("pagealloc_alloc: request for 0 pages");
    *scav = 0;
    if (npages > (size_t)SUM_MAX_PAGES * level_entries(0)) return 0;
    uintptr_t lowfree;
    uintptr_t addr = find(pa, npages, &lowfree);
    if (addr == 0) return 0;
    *scav = alloc_range(pa, addr, npages) << TC_PAGE_SHIFT;
    pa->search_addr = addr == lowfree ? addr + (npages << TC_PAGE_SHIFT) : lowfree;
    return addr;
}

/* ---- per-thread page caches ------------------------------------------------------------ */

bool pagealloc_alloc_to_cache(pagealloc *pa, pagecache *c)
{
    if (tc_unlikely(__atomic_load_n(&c->cache, __ATOMIC_RELAXED) != 0))
        tc_throw("pagealloc_alloc_to_cache: cache at %#lx still holds pages %#lx",
                 (unsigned long)c->base, (unsigned long)c->cache);
    uintptr_t lowfree;
    uintptr_t addr = find(pa, 1, &lowfree); /* the lowest free page */
    if (addr == 0) return false;
    uintptr_t block = (uintptr_t)PAGECACHE_PAGES << TC_PAGE_SHIFT;
    uintptr_t base = tc_align_down(addr, block);
    size_t ci = chunk_index(base);
    chunk *ch = chunk_of(pa, ci);
    unsigned w = (unsigned)((base - chunk_base(ci)) >> (TC_PAGE_SHIFT + 6));
    uint64_t free = ~ch->alloc[w];
    uint64_t scav = ch->scav[w]; /* scavenged pages are free */
    ch->alloc[w] = ~(uint64_t)0;
    ch->scav[w] = 0;
    sum_update(pa, base, base + block);
    pa->counts.inuse_pages += popcount64(free);
    pa->counts.scavenged_pages -= popcount64(scav);
    /* addr was the lowest free page and the whole word is taken now. */
    pa->search_addr = base + block;
    c->base = base;
    c->scav = scav;
    __atomic_store_n(&c->cache, free, __ATOMIC_RELAXED);
    return true;
}

uintptr_t pagealloc_cache_alloc(pagecache *c, size_t npages, size_t *scav)
{
    uint64_t free = __atomic_load_n(&c->cache, __ATOMIC_RELAXED);
    if (free == 0 || npages > PAGECACHE_PAGES) return 0;
    unsigned i;
    uint64_t m;
    if (npages == 1) {
        i = ctz64(free);
        m = (uint64_t)1 << i;
    } else {
        uint64_t r = runs_of(free, (unsigned)npages);
        if (r == 0) return 0;
        i = ctz64(r);
        m = tc_low_mask(npages) << i;
    }
    __atomic_store_n(&c->cache, free & ~m, __ATOMIC_RELAXED);
    /* No popcount for one page: without -mpopcnt it is a libgcc call. */
    uint64_t sm = c->scav & m;
    *scav = (npages == 1 ? (size_t)(sm != 0) : (size_t)popcount64(sm)) << TC_PAGE_SHIFT;
    c->scav &= ~m;
    return c->base + ((uintptr_t)i << TC_PAGE_SHIFT);
}

void pagealloc_flush_cache(pagealloc *pa, pagecache *c)
{
    uint64_t free = __atomic_load_n(&c->cache, __ATOMIC_RELAXED);
    if (free != 0) {
        uintptr_t block = (uintptr_t)PAGECACHE_PAGES << TC_PAGE_SHIFT;
        size_t ci = chunk_index(c->base);
        chunk *ch = chunk_of(pa, ci);
        unsigned w = (unsigned)((c->base - chunk_base(ci)) >> (TC_PAGE_SHIFT + 6));
        if (tc_unlikely((ch->alloc[w] & free) != free || (c->scav & ~free) != 0))
            tc_throw("pagealloc_flush_cache: cache at %#lx holds pages %#lx (scavenged %#lx), "
                     "the bitmap has %#lx in use",
                     (unsigned long)c->base, (unsigned long)free, (unsigned long)c->scav,
                     (unsigned long)ch->alloc[w]);
        ch->alloc[w] &= ~free;
        ch->scav[w] |= c->scav;
        sum_update(pa, c->base, c->base + block);
        pa->counts.inuse_pages -= popcount64(free);
        pa->counts.scavenged_pages += popcount64(c->scav);
        uintptr_t low = c->base + ((uintptr_t)ctz64(free) << TC_PAGE_SHIFT);
        if (low < pa->search_addr) pa->search_addr = low;
        if ((free & ~c->scav) != 0 && c->base + block > pa->scav_top)
            pa->scav_top = c->base + block;
    }
    __atomic_store_n(&c->cache, 0, __ATOMIC_RELAXED);
    c->scav = 0;
}

/* ---- free ---------------------------------------------------------------------------- */

void pagealloc_free(pagealloc *pa, uintptr_t base, size_t npages)
{
    const range *r = range_of(pa, base);
    if (tc_unlikely(npages == 0 || (base & (TC_PAGE_SIZE - 1)) != 0 || r == NULL ||
                    npages > (r->limit - base) >> TC_PAGE_SHIFT))
        tc_throw("pagealloc_free: %#lx+%zu pages is not inside the heap's pages", base, npages);
    uintptr_t limit = base + (npages << TC_PAGE_SHIFT);
    for (size_t ci = chunk_index(base); ci <= chunk_index(limit - 1); ci++) {
        chunk *c = chunk_of(pa, ci);
        unsigned lo, hi;
        chunk_pages(ci, base, limit, &lo, &hi);
        for (unsigned w = lo / 64; w <= (hi - 1) / 64; w++) {
            uint64_t m = word_mask(w, lo, hi);
            if (tc_unlikely((c->alloc[w] & m) != m))
                tc_throw("pagealloc_free: page %#lx is already free (freeing %#lx+%zu pages)",
                         chunk_base(ci) +
                             (((uintptr_t)w * 64 + ctz64(~c->alloc[w] & m)) << TC_PAGE_SHIFT),
                         base, npages);
        }
    }
    for (size_t ci = chunk_index(base); ci <= chunk_index(limit - 1); ci++) {
        chunk *c = chunk_of(pa, ci);
        unsigned lo, hi;
        chunk_pages(ci, base, limit, &lo, &hi);
        for (unsigned w = lo / 64; w <= (hi - 1) / 64; w++) c->alloc[w] &= ~word_mask(w, lo, hi);
    }
    sum_update(pa, base, limit);
    pa->counts.inuse_pages -= npages;
    if (base < pa->search_addr) pa->search_addr = base;
    if (limit > pa->scav_top) pa->scav_top = limit;
}

/* ---- scavenging -------------------------------------------------------------------- */

typedef struct scav_run {
    uintptr_t lo, hi; /* pending run of pages to release, [lo, hi); empty when lo == hi */
} scav_run;

static void scav_flush(scav_run *r)
{
    if (r->lo != r->hi) sys_unused((void *)r->lo, r->hi - r->lo);
    r->lo = r->hi = 0;
}

/* Add [lo, hi), which lies just below or apart from the pending run. */
static void scav_add(scav_run *r, uintptr_t lo, uintptr_t hi)
{
    if (r->lo != r->hi && r->lo != hi) scav_flush(r);
    if (r->lo == r->hi) r->hi = hi;
    r->lo = lo;
}

size_t pagealloc_scavenge(pagealloc *pa, size_t nbytes)
{
    size_t want = nbytes / TC_PAGE_SIZE + (nbytes % TC_PAGE_SIZE != 0), got = 0;
    scav_run pending = {0, 0};
    uintptr_t top = pa->scav_top;
    for (size_t ri = pa->nranges; ri-- > 0 && got < want;) {
        const range *r = &pa->ranges[ri];
        if (r->base >= top) continue;
        uintptr_t rlimit = r->limit < top ? r->limit : top;
        for (size_t ci = chunk_index(rlimit - 1) + 1; ci-- > chunk_index(r->base) && got < want;) {
            chunk *c = chunk_of(pa, ci);
            uintptr_t cb = chunk_base(ci);
            for (int w = CHUNK_WORDS - 1; w >= 0 && got < want; w--) {
                uint64_t cand = ~(c->alloc[w] | c->scav[w]);
                if (cb + ((uintptr_t)w << (6 + TC_PAGE_SHIFT)) >= rlimit) cand = 0;
                while (cand && got < want) {
                    /* Highest run of candidate bits in this word: [lo, hi]. */
                    unsigned hi = 63 - clz64(cand);
                    uint64_t below = ~cand & (hi ? (((uint64_t)1 << hi) - 1) : 0);
                    unsigned lo = below ? 64 - clz64(below) : 0;
                    if (hi - lo + 1 > want - got) lo = hi + 1 - (unsigned)(want - got);
                    uint64_t m = word_mask(0, lo, hi + 1);
                    c->scav[w] |= m;
                    cand &= ~m;
                    got += hi - lo + 1;
                    uintptr_t a = cb + (((uintptr_t)w * 64 + lo) << TC_PAGE_SHIFT);
                    scav_add(&pending, a, a + (((uintptr_t)hi - lo + 1) << TC_PAGE_SHIFT));
                    top = a;
                }
            }
            if (got < want) top = cb;
        }
        if (got < want) top = r->base;
    }
    scav_flush(&pending);
    if (got < want) top = 0;
    pa->scav_top = top;
    pa->counts.scavenged_pages += got;
    return got << TC_PAGE_SHIFT;
}

size_t pagealloc_unscavenge(pagealloc *pa, uintptr_t base, size_t bytes)
{
    uintptr_t limit = base + bytes;
    if (bytes == 0) return 0;
    if ((base | bytes) & (TC_PAGE_SIZE - 1))
        tc_throw("pagealloc_unscavenge: range %#lx+%#zx is not whole pages", base, bytes);
    size_t n = 0;
    for (size_t ci = chunk_index(base); ci <= chunk_index(limit - 1); ci++) {
        chunk *c = chunk_of(pa, ci); /* throws outside the grown ranges */
        unsigned lo, hi;
        chunk_pages(ci, base, limit, &lo, &hi);
        for (unsigned w = lo / 64; w <= (hi - 1) / 64; w++) {
            uint64_t m = word_mask(w, lo, hi) & c->scav[w] & ~c->alloc[w];
            c->scav[w] &= ~m;
            n += (size_t)tc_popcount64(m);
        }
    }
    if (n != 0 && limit > pa->scav_top) pa->scav_top = limit;
    pa->counts.scavenged_pages -= n;
    return n << TC_PAGE_SHIFT;
}

/* ---- observation ------------------------------------------------------------------------ */

void pagealloc_counts_read(const pagealloc *pa, pagealloc_counts *out) { *out = pa->counts; }

/* Free-run scan over pages in address order, for the checker: it recomputes
 * summaries from the bitmaps without chunk_summarize or sum_merge. */
typedef struct run_scan {
    uint64_t start, max, run;
    bool all_free;
} run_scan;

static void scan_free(run_scan *sc, uint64_t n)
{
    sc->run += n;
    if (sc->all_free) sc->start += n;
    if (sc->run > sc->max) sc->max = sc->run;
}
static void scan_used(run_scan *sc)
{
    sc->all_free = false;
    sc->run = 0;
}

static uint64_t sum_direct(const pagealloc *pa, int l, size_t p)
{
    run_scan sc = {0, 0, 0, true};
    size_t nchunks = (size_t)1 << ((unsigned)(SUM_LEVELS - 1 - l) * SUM_LEVEL_BITS);
    for (size_t ci = p * nchunks; ci < (p + 1) * nchunks; ci++) {
        if (range_of(pa, chunk_base(ci)) == NULL) {
            scan_used(&sc);
            continue;
        }
        const chunk *c = chunk_of(pa, ci);
        for (int w = 0; w < CHUNK_WORDS; w++) {
            uint64_t a = c->alloc[w];
            if (a == 0)
                scan_free(&sc, 64);
            else if (a == ~(uint64_t)0)
                scan_used(&sc);
            else
                for (int b = 0; b < 64; b++) {
                    if (a >> b & 1)
                        scan_used(&sc);
                    else
                        scan_free(&sc, 1);
                }
        }
    }
    return sum_pack(sc.start, sc.max, sc.run);
}

void pagealloc_check(const pagealloc *pa)
{
    size_t total = 0, inuse = 0, scav = 0;
    for (size_t ri = 0; ri < pa->nranges; ri++) {
        const range *r = &pa->ranges[ri];
        if (ri > 0 && pa->ranges[ri - 1].limit >= r->base)
            tc_throw("pagealloc_check: ranges %zu and %zu out of order or unmerged", ri - 1, ri);
        total += (r->limit - r->base) >> TC_PAGE_SHIFT;
        for (size_t ci = chunk_index(r->base); ci <= chunk_index(r->limit - 1); ci++) {
            const chunk *c = chunk_of(pa, ci);
            uintptr_t cb = chunk_base(ci);
            uint64_t want = sum_direct(pa, SUM_LEVELS - 1, ci);
            uint64_t have = pa->summary[SUM_LEVELS - 1][ci];
            if (want != have)
                tc_throw("pagealloc_check: chunk %#lx summary %#lx, bitmap says %#lx", cb, have,
                         want);
            for (int w = 0; w < CHUNK_WORDS; w++) {
                uint64_t a = c->alloc[w], s = c->scav[w];
                if (a & s)
                    tc_throw("pagealloc_check: page %#lx is both in use and scavenged",
                             cb + (((uintptr_t)w * 64 + ctz64(a & s)) << TC_PAGE_SHIFT));
                inuse += popcount64(a);
                scav += popcount64(s);
                uintptr_t wb = cb + ((uintptr_t)w << (6 + TC_PAGE_SHIFT));
                if (~a && wb + ((uintptr_t)ctz64(~a) << TC_PAGE_SHIFT) < pa->search_addr)
                    tc_throw("pagealloc_check: free page %#lx below search_addr %#lx",
                             wb + ((uintptr_t)ctz64(~a) << TC_PAGE_SHIFT), pa->search_addr);
                uint64_t fu = ~(a | s);
                if (fu && wb + ((uintptr_t)(63 - clz64(fu)) << TC_PAGE_SHIFT) >= pa->scav_top)
                    tc_throw("pagealloc_check: free unscavenged page %#lx at or above scav_top "
                             "%#lx",
                             wb + ((uintptr_t)(63 - clz64(fu)) << TC_PAGE_SHIFT), pa->scav_top);
            }
        }
        size_t lo = chunk_index(r->base), hi = chunk_index(r->limit - 1);
        for (int l = SUM_LEVELS - 2; l >= 0; l--) {
            lo >>= SUM_LEVEL_BITS;
            hi >>= SUM_LEVEL_BITS;
            for (size_t p = lo; p <= hi; p++) {
                uint64_t want = sum_direct(pa, l, p), have = pa->summary[l][p];
                if (want != have)
                    tc_throw(
                        "pagealloc_check: level %d entry %zu summary %#lx, the bitmaps say %#lx", l,
                        p, have, want);
            }
        }
    }
    if (total != pa->counts.total_pages || inuse != pa->counts.inuse_pages ||
        scav != pa->counts.scavenged_pages)
        tc_throw("pagealloc_check: counts total/inuse/scavenged %zu/%zu/%zu, bitmaps say "
                 "%zu/%zu/%zu",
                 pa->counts.total_pages, pa->counts.inuse_pages, pa->counts.scavenged_pages, total,
                 inuse, scav);
}
