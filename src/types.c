/*
 * types.c — tc_type: what the collector knows about an object's layout.
 *
 * Owns: every tc_type ever made. A type is one persistent_alloc block
 * charged to stat_gcmeta, laid out as
 *
 *     struct tc_type | pointer mask (ptrdata / 8 bits, in uint64_t words) | name
 *
 * and is never freed. tc_type_new validates the whole descriptor before it
 * allocates anything, so a rejected descriptor costs no memory.
 *
 * Invariants (types.h states the layout contract heapbits and the collector
 * read):
 *   - size > 0; flags only has known bits;
 *   - ptrdata is 0 (noscan) or 8 * (index of the last pointer word + 1), so
 *     the last word below ptrdata is always a pointer and ptrdata <= size;
 *   - the mask has exactly nptrs bits set, all below ptrdata / 8, and its
 *     unused high bits in the last uint64_t are zero;
 *   - a noscan type's mask points at a static zero word, never NULL.
 *
 * Concurrency: a type is written only by the thread building it and is
 * immutable once tc_type_new returns; publishing the pointer to other threads
 * is the caller's business (any synchronising hand-off works). No locks here;
 * persistent_alloc is thread-safe on its own.
 */
#include <errno.h>
#include <string.h>

#include "persistent.h"
#include "sizeclasses.h"
#include "stats.h"
#include "sys.h"
#include "types.h"

#define KNOWN_FLAGS TC_NOTINHEAP

/* Masks of up to this many uint64_t words (pointers within the first 32 KiB)
 * are built in a stack buffer while checking for duplicates; larger ones
 * borrow pages from the OS for the duration of the call. */
#define STACK_MASK_WORDS 64

static const uint64_t noscan_mask[1];

/* ---- validation ------------------------------------------------------- */

/* Checks every offset for alignment and bounds and returns, through
 * *ptrdata, the end of the last pointer word. false: EINVAL. */
static bool offsets_valid(size_t size, const size_t *offs, size_t n, size_t *ptrdata)
{
    size_t end = 0;
    for (size_t i = 0; i < n; i++) {
        size_t off = offs[i];
        if (off % TC_PTR_SIZE != 0) return false;
        if (off > size || size - off < TC_PTR_SIZE) return false;
        if (off + TC_PTR_SIZE > end) end = off + TC_PTR_SIZE;
    }
    *ptrdata = end;
    return true;
}

/* Sets one bit per offset in mask (zeroed, nwords long); false when an
 * offset appears twice. */
static bool fill_mask(uint64_t *mask, const size_t *offs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t word = offs[i] / TC_PTR_SIZE;
        uint64_t bit = (uint64_t)1 << (word % 64);
        if (mask[word / 64] & bit) return false;
        mask[word / 64] |= bit;
    }
    return true;
}

/* What tc_new's fast path needs (see types.h): the class of one object,
 * its size rounded as malloc.c rounds it (pointer_object_request). */
static void set_fast_path(tc_type *t)
{
    t->fast_spanclass = 0;
    t->fast_bits = 0;
    if (t->ptrdata == 0 || (t->flags & TC_NOTINHEAP) || t->size > TYPE_FAST_MAX) return;
    t->fast_spanclass =
        make_spanclass(size_to_sizeclass(pointer_object_request(t->size)), SPAN_SCAN);
    size_t pw = t->ptrdata / TC_PTR_SIZE;
    t->fast_bits = t->mask[0] & tc_low_mask(pw);
}

/* ---- construction ----------------------------------------------------- */

tc_type *tc_type_new(const char *name, size_t size, const size_t *ptr_offsets, size_t n_ptrs,
                     unsigned flags)
{
    size_t ptrdata = 0;
    if (name == NULL || size == 0 || (flags & ~KNOWN_FLAGS) != 0 ||
        (n_ptrs != 0 && ptr_offsets == NULL) ||
        !offsets_valid(size, ptr_offsets, n_ptrs, &ptrdata)) {
        errno = EINVAL;
        return NULL;
    }

    size_t nwords = ptrdata / TC_PTR_SIZE;
    size_t mask_words = (nwords + 63) / 64;
    size_t mask_bytes = mask_words * sizeof(uint64_t);

    /* Build the mask in scratch memory first, so that a duplicate offset is
     * found before anything permanent is allocated. */
    uint64_t stack_mask[STACK_MASK_WORDS];
    uint64_t *scratch = stack_mask;
    size_t scratch_bytes = 0;
    if (mask_words > STACK_MASK_WORDS) {
        scratch_bytes = tc_align_up(mask_bytes, sys_page_size());
        scratch = sys_alloc(scratch_bytes, &stat_gcmeta);
        if (scratch == NULL) return NULL; /* errno ENOMEM */
    } else {
        memset(stack_mask, 0, mask_bytes);
    }
    bool distinct = fill_mask(scratch, ptr_offsets, n_ptrs);

    tc_type *t = NULL;
    int err = EINVAL;
    if (distinct) {
        size_t name_len = strlen(name) + 1;
        t = persistent_alloc(sizeof(tc_type) + mask_bytes + name_len, _Alignof(tc_type),
                             &stat_gcmeta);
        if (t != NULL) {
            uint64_t *mask = (uint64_t *)(t + 1);
            char *name_copy = (char *)(mask + mask_words);
            memcpy(mask, scratch, mask_bytes);
            memcpy(name_copy, name, name_len);
            t->name = name_copy;
            t->size = size;
            t->ptrdata = ptrdata;
            t->nptrs = n_ptrs;
            t->flags = flags;
            t->mask = n_ptrs != 0 ? mask : noscan_mask;
            set_fast_path(t);
        }
        err = errno; /* ENOMEM if persistent_alloc failed */
    }
    if (scratch_bytes != 0) sys_free(scratch, scratch_bytes, &stat_gcmeta);
    if (t == NULL) errno = err;
    return t;
}

const char *tc_type_name(const tc_type *t) { return t->name; }

size_t tc_type_size(const tc_type *t) { return t->size; }
