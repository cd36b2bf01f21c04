#!/usr/bin/env python3
"""Generate tricolor's small-object size classes: src/sizeclasses.h and .c.

The classes follow the Go runtime's generator (runtime/mksizeclasses.go), so
the table is the one Go ships: 67 classes from 8 bytes to 32 KiB plus class
0, which stands for "large" (an object with a span of its own).

How the classes are chosen
  1. Walk the sizes from 8 bytes upwards in steps of an alignment that grows
     with the size: 8 bytes below 32, 16 bytes from 32, size/8 from 128 (so
     the step is 1/8 of the last power of two passed), 256 bytes from 2048.
  2. For each size, the span is the fewest 8 KiB pages whose leftover after
     cutting it into objects (the tail) is at most 1/8 of the span.
  3. A size that fits the same number of objects into the same number of
     pages as the class before it replaces that class: the larger size costs
     nothing and serves more requests.
  4. Each class then grows to the largest multiple of 128 bytes that still
     fits the same number of objects into its span.
Rounding a request up to its class wastes at most about 1/8 and so does the
span's tail, which bounds the memory lost to both by about 1 - 1/1.125^2,
26.6%; for real sizes only one of the two matters, and the tiniest classes
are bounded by alignment instead (class 1 can waste 7 of 8 bytes).

Every class also carries a divide magic m = 2^32 / size rounded up, so that
the object index of a byte offset within a span is (offset * m) >> 32 with a
32-bit multiply instead of a division. This script checks that identity for
every offset of every span (0 to npages * 8192 inclusive) and refuses to
write a table for which it fails.

Usage
  python3 tools/mksizeclasses.py            write src/sizeclasses.{h,c}
  python3 tools/mksizeclasses.py --check    exit 1 if they differ from what
                                            this script generates
  python3 tools/mksizeclasses.py --outdir D write into D instead of src/
"""

import argparse
import difflib
import os
import sys

MAX_SMALL_SIZE = 32 << 10  # largest object served from a size class
SMALL_SIZE_DIV = 8  # granularity of the first lookup table
SMALL_SIZE_MAX = 1024  # sizes up to here use the first table
LARGE_SIZE_DIV = 128  # granularity of the second lookup table
PAGE_SHIFT = 13
PAGE_SIZE = 1 << PAGE_SHIFT
TINY_SIZE = 16  # block size of the tiny allocator (noscan objects < 16 B)
EXPECTED_CLASSES = 68  # Go's count, class 0 included

COMMAND = "python3 tools/mksizeclasses.py"


def is_pow2(x):
    return x > 0 and x & (x - 1) == 0


def step_for(size, step):
    """The walk's step once it has reached size (which is a power of two)."""
    if size >= 2048:
        return 256
    if size >= 128:
        return size // 8
    if size >= 32:
        return 16
    return step


def span_pages(size):
    """Fewest pages whose tail, after cutting into size-byte objects, is <= 1/8."""
    span = PAGE_SIZE
    while span % size > span // 8:
        span += PAGE_SIZE
    return span // PAGE_SIZE


def make_classes():
    """Return a list of (size, npages); entry 0 is the "large" placeholder (0, 0)."""
    classes = [[0, 0]]
    step = 8
    size = step
    while size <= MAX_SMALL_SIZE:
        if is_pow2(size):
            step = step_for(size, step)
        if not is_pow2(step):
            sys.exit("mksizeclasses: step %d at size %d is not a power of two" % (step, size))
        npages = span_pages(size)
        per_span = npages * PAGE_SIZE // size
        if len(classes) > 1:
            prev = classes[-1]
            if prev[1] == npages and npages * PAGE_SIZE // prev[0] == per_span:
                prev[0] = size  # same span, same count: keep the larger size
                size += step
                continue
        classes.append([size, npages])
        size += step

    # Grow each class into its span's slack, keeping 128-byte granularity so
    # that the 128-byte lookup table still resolves every size exactly.
    for c in classes[1:]:
        span = c[1] * PAGE_SIZE
        grown = (span // (span // c[0])) & ~(LARGE_SIZE_DIV - 1)
        if grown > c[0]:
            c[0] = grown

    if len(classes) != EXPECTED_CLASSES:
        print("mksizeclasses: note: %d classes (Go has %d)" % (len(classes), EXPECTED_CLASSES),
              file=sys.stderr)
    return [tuple(c) for c in classes]


def div_magic(size, npages):
    """The 32-bit reciprocal of size, verified for every offset of the span."""
    if size == 0:
        return 0
    magic = (0xFFFFFFFF // size) + 1
    if magic >= 1 << 32:
        sys.exit("mksizeclasses: magic for size %d does not fit 32 bits" % size)
    limit = npages * PAGE_SIZE
    # Lemire, Kaser, Kurz, "Faster Remainder by Direct Computation" (2019):
    # with n < 2^N, a non-power-of-two d needs F = N + L fractional bits,
    # L the smallest integer with d <= (2^(N+L) mod d) + 2^L. We use F = 32.
    if not is_pow2(size):
        nbits = limit.bit_length()
        extra = 0
        while size > (1 << (nbits + extra)) % size + (1 << extra):
            extra += 1
        if nbits + extra > 32:
            sys.exit("mksizeclasses: size %d needs %d bits of magic" % (size, nbits + extra))
    # Brute force, exactly as the runtime computes it.
    for off in range(limit + 1):
        if (off * magic) >> 32 != off // size:
            sys.exit("mksizeclasses: magic %d wrong for size %d at offset %d" % (magic, size, off))
    return magic


def lookup_tables(classes):
    def smallest_fitting(n):
        for idx in range(1, len(classes)):
            if classes[idx][0] >= n:
                return idx
        sys.exit("mksizeclasses: no class holds %d bytes" % n)

    by8 = [smallest_fitting(i * SMALL_SIZE_DIV)
           for i in range(SMALL_SIZE_MAX // SMALL_SIZE_DIV + 1)]
    by128 = [smallest_fitting(SMALL_SIZE_MAX + i * LARGE_SIZE_DIV)
             for i in range((MAX_SMALL_SIZE - SMALL_SIZE_MAX) // LARGE_SIZE_DIV + 1)]
    return by8, by128


def min_align(size):
    """Alignment every object of the class gets: spans are page-aligned."""
    bits = (size & -size).bit_length() - 1
    return 1 << min(bits, PAGE_SHIFT)


def waste_rows(classes):
    """Per class: (class, size, span bytes, objects, tail waste, max waste fraction, align)."""
    rows = []
    prev = 0
    for idx, (size, npages) in enumerate(classes):
        if idx == 0:
            continue
        span = npages * PAGE_SIZE
        objects = span // size
        tail = span - objects * size
        # Worst case: every object holds a request one byte over the class below.
        worst = ((size - prev - 1) * objects + tail) / span
        rows.append((idx, size, span, objects, tail, worst, min_align(size)))
        prev = size
    return rows


def format_table(rows):
    out = [" * class  bytes/obj  bytes/span  objects  tail waste  max waste  min align"]
    for r in rows:
        out.append(" * %5d  %9d  %10d  %7d  %10d  %8.2f%%  %9d"
                   % (r[0], r[1], r[2], r[3], r[4], 100 * r[5], r[6]))
    return out


def wrap_numbers(values, indent="    ", width=100):
    lines, cur = [], indent
    for v in values:
        item = "%d," % v
        if len(cur) + len(item) + 1 > width:
            lines.append(cur.rstrip())
            cur = indent
        cur += item + " "
    if cur.strip():
        lines.append(cur.rstrip())
    return lines


def summary(rows):
    worst = max(rows, key=lambda r: r[5])
    tail = max(rows, key=lambda r: r[4] / r[2])
    above = [r for r in rows if r[1] > 128]
    worst_above = max(above, key=lambda r: r[5])
    return [
        " * Worst case over all classes: class %d (%d B) wastes up to %.2f%% of its span."
        % (worst[0], worst[1], 100 * worst[5]),
        " * Worst for classes above 128 B: class %d (%d B), %.2f%%."
        % (worst_above[0], worst_above[1], 100 * worst_above[5]),
        " * Largest tail: class %d (%d B), %d of %d span bytes (%.2f%%)."
        % (tail[0], tail[1], tail[4], tail[2], 100 * tail[4] / tail[2]),
    ]


def gen_header(classes, rows):
    n = len(classes)
    h = []
    h.append("/* Generated by `%s`; DO NOT EDIT. */" % COMMAND)
    h.append("/* clang-format off */")
    h.append("/*")
    h.append(" * sizeclasses.h — the small-object size classes (Go's table).")
    h.append(" *")
    h.append(" * A request of 1..TC_MAX_SMALL_SIZE bytes is rounded up to the smallest")
    h.append(" * class that holds it and served from a span of sizeclass_to_npages pages")
    h.append(" * cut into objects of sizeclass_to_size bytes. Class 0 means \"large\": the")
    h.append(" * object gets a span of its own. docs/sizeclasses.md explains the choice.")
    h.append(" *")
    h.append(" * Object index within a span, without a division:")
    h.append(" *   index = (uint32_t)(((uint64_t)offset * sizeclass_to_divmagic[c]) >> 32)")
    h.append(" * which equals offset / sizeclass_to_size[c] for every offset from 0 to")
    h.append(" * npages * TC_PAGE_SIZE inclusive (checked by the generator and the tests).")
    h.append(" *")
    h.append(" * Objects are aligned to the largest power of two dividing their class size")
    h.append(" * (spans start on a page). Every class from 32 B up is a multiple of 16, so")
    h.append(" * a request of 25 B or more, or of any multiple of 16, gets 16-byte")
    h.append(" * alignment; requests of 17..24 B land in the 24-byte class (8-aligned).")
    h.append(" *")
    h.append(" * max waste: the share of a span lost if every object held a request one")
    h.append(" * byte larger than the class below (round-up waste plus tail waste).")
    h.append(" *")
    h.extend(format_table(rows))
    h.append(" *")
    h.extend(summary(rows))
    h.append(" */")
    h.append("#ifndef TC_SIZECLASSES_H")
    h.append("#define TC_SIZECLASSES_H")
    h.append("")
    h.append("#include <stddef.h>")
    h.append("#include <stdint.h>")
    h.append("")
    h.append("#define TC_NUM_SIZE_CLASSES  %d      /* class 0 means \"large\" */" % n)
    h.append("#define TC_MAX_SMALL_SIZE    %d" % MAX_SMALL_SIZE)
    h.append("#define TC_SMALL_SIZE_DIV    %d" % SMALL_SIZE_DIV)
    h.append("#define TC_SMALL_SIZE_MAX    %d" % SMALL_SIZE_MAX)
    h.append("#define TC_LARGE_SIZE_DIV    %d" % LARGE_SIZE_DIV)
    h.append("#define TC_TINY_SIZE         %d      /* tiny allocator block */" % TINY_SIZE)
    h.append("")
    h.append("extern const uint32_t sizeclass_to_size[TC_NUM_SIZE_CLASSES];")
    h.append("extern const uint8_t  sizeclass_to_npages[TC_NUM_SIZE_CLASSES];")
    h.append("extern const uint32_t sizeclass_to_divmagic[TC_NUM_SIZE_CLASSES];")
    h.append("extern const uint8_t  size_to_class8[TC_SMALL_SIZE_MAX / TC_SMALL_SIZE_DIV + 1];")
    h.append("extern const uint8_t  size_to_class128[(TC_MAX_SMALL_SIZE - TC_SMALL_SIZE_MAX) / "
             "TC_LARGE_SIZE_DIV + 1];")
    h.append("")
    h.append("/* The smallest class whose objects hold size bytes, for size in")
    h.append(" * 1..TC_MAX_SMALL_SIZE (0 gives class 1; larger sizes are out of range). */")
    h.append("static inline unsigned size_to_sizeclass(size_t size)")
    h.append("{")
    h.append("    if (size <= TC_SMALL_SIZE_MAX)")
    h.append("        return size_to_class8[(size + TC_SMALL_SIZE_DIV - 1) / TC_SMALL_SIZE_DIV];")
    h.append("    return size_to_class128[(size - TC_SMALL_SIZE_MAX + TC_LARGE_SIZE_DIV - 1) /")
    h.append("                            TC_LARGE_SIZE_DIV];")
    h.append("}")
    h.append("")
    h.append("#endif /* TC_SIZECLASSES_H */")
    h.append("/* clang-format on */")
    return "\n".join(h) + "\n"


def gen_source(classes, magics, by8, by128):
    c = []
    c.append("/* Generated by `%s`; DO NOT EDIT. */" % COMMAND)
    c.append("/* clang-format off */")
    c.append("/*")
    c.append(" * sizeclasses.c — the size-class tables; sizeclasses.h describes them and")
    c.append(" * carries the per-class waste table.")
    c.append(" */")
    c.append('#include "sizeclasses.h"')
    c.append("")
    c.append("const uint32_t sizeclass_to_size[TC_NUM_SIZE_CLASSES] = {")
    c.extend(wrap_numbers([s for s, _ in classes]))
    c.append("};")
    c.append("")
    c.append("const uint8_t sizeclass_to_npages[TC_NUM_SIZE_CLASSES] = {")
    c.extend(wrap_numbers([p for _, p in classes]))
    c.append("};")
    c.append("")
    c.append("/* 2^32 / size, rounded up (0 for class 0). */")
    c.append("const uint32_t sizeclass_to_divmagic[TC_NUM_SIZE_CLASSES] = {")
    c.extend(wrap_numbers(magics))
    c.append("};")
    c.append("")
    c.append("/* size_to_class8[i]: smallest class holding i * 8 bytes (i = 0 gives class 1). */")
    c.append("const uint8_t size_to_class8[TC_SMALL_SIZE_MAX / TC_SMALL_SIZE_DIV + 1] = {")
    c.extend(wrap_numbers(by8))
    c.append("};")
    c.append("")
    c.append("/* size_to_class128[i]: smallest class holding 1024 + i * 128 bytes. */")
    c.append("const uint8_t size_to_class128[(TC_MAX_SMALL_SIZE - TC_SMALL_SIZE_MAX) / "
             "TC_LARGE_SIZE_DIV + 1] = {")
    c.extend(wrap_numbers(by128))
    c.append("};")
    c.append("/* clang-format on */")
    return "\n".join(c) + "\n"


def generate():
    classes = make_classes()
    magics = [div_magic(s, p) for s, p in classes]
    by8, by128 = lookup_tables(classes)
    rows = waste_rows(classes)
    return {
        "sizeclasses.h": gen_header(classes, rows),
        "sizeclasses.c": gen_source(classes, magics, by8, by128),
    }


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="compare with the files in place instead of writing them")
    ap.add_argument("--outdir", default=os.path.join(root, "src"),
                    help="folder to write (or check) the files in (default: src/)")
    args = ap.parse_args()

    files = generate()
    stale = 0
    for name, text in sorted(files.items()):
        path = os.path.join(args.outdir, name)
        if args.check:
            try:
                with open(path, encoding="utf-8", newline="") as f:
                    have = f.read()
            except OSError as e:
                print("mksizeclasses: %s: %s" % (path, e), file=sys.stderr)
                stale += 1
                continue
            if have != text:
                stale += 1
                print("mksizeclasses: %s differs from the generator's output:" % path,
                      file=sys.stderr)
                sys.stderr.writelines(difflib.unified_diff(
                    have.splitlines(True), text.splitlines(True), path, "generated", n=1))
        else:
            with open(path, "w", encoding="utf-8", newline="") as f:
                f.write(text)
    if stale:
        print("mksizeclasses: regenerate with `%s`" % COMMAND, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
