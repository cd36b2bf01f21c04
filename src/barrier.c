/*
 * barrier.c — pointer stores and typed memory operations: the places where
 * a write barrier runs while the collector marks concurrently.
 *
 * This collector marks with the world stopped, so no mutator store can race
 * with marking and every operation here is the plain store, copy or clear.
 * They exist now so that programs are written against the final API: when
 * marking becomes concurrent, tc_store shades the old and new pointers,
 * tc_typedmemmove and tc_typedmemclr / tc_memclr_has_pointers run the
 * barrier over every pointer slot of the destination, and
 * tc_memclr_no_heap_pointers stays barrier-free (zero-initialisation of
 * memory nobody can see yet).
 *
 * Invariant the later barrier relies on, kept already: pointer-sized words
 * are written whole (memmove and memset of aligned words never tear a word
 * on x86-64 with the compilers we support).
 */
#include <string.h>

#include "runtime.h"
#include "types.h"

void tc_store(void **slot, void *ptr) { *slot = ptr; }

void tc_typedmemmove(const tc_type *t, void *dst, const void *src)
{
    if (dst != src) memmove(dst, src, t->size);
}

void tc_typedmemclr(const tc_type *t, void *p) { memset(p, 0, t->size); }

void tc_memclr_has_pointers(void *p, size_t n) { memset(p, 0, n); }

void tc_memclr_no_heap_pointers(void *p, size_t n) { memset(p, 0, n); }
