/*
 * spanclass.h — span classes: a size class and a scan kind. mheap.h's spans
 * carry one; types.c gives each type the class tc_new's fast path uses.
 *
 * The kind says how the collector scans every object of the span, so it
 * never needs a per-object bit for it:
 *   SPAN_SCAN          precise: the pointer layout is recorded (heapbits.c)
 *   SPAN_NOSCAN        no pointers: never scanned
 *   SPAN_CONSERVATIVE  every aligned word of the object may be a pointer
 * Size class 0 is the large-object class: one object per span.
 */
#ifndef TC_SPANCLASS_H
#define TC_SPANCLASS_H

#include <stdint.h>

#include "sizeclasses.h"

enum { SPAN_SCAN = 0, SPAN_NOSCAN = 1, SPAN_CONSERVATIVE = 2, SPAN_KINDS = 3 };
#define TC_NUM_SPAN_CLASSES (TC_NUM_SIZE_CLASSES * SPAN_KINDS)

typedef uint16_t spanclass;

static inline spanclass make_spanclass(unsigned sizeclass, unsigned kind)
{
    return (spanclass)(sizeclass * SPAN_KINDS + kind);
}
static inline unsigned spanclass_sizeclass(spanclass spc) { return spc / SPAN_KINDS; }
static inline unsigned spanclass_kind(spanclass spc) { return spc % SPAN_KINDS; }

#endif
