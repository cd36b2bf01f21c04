// binarytrees.go — the benchmarks-game binary-trees algorithm, single
// goroutine, the Go peer of bench/binarytrees.c (same algorithm, same check
// value). Run as "binarytrees DEPTH"; prints "BH_RESULT check=C gcs=G" where
// G is runtime.MemStats.NumGC. Default GOGC.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
)

type node struct{ left, right *node }

func bottomUp(depth int) *node {
	if depth > 0 {
		return &node{bottomUp(depth - 1), bottomUp(depth - 1)}
	}
	return &node{}
}

func (n *node) check() int64 {
	if n.left == nil {
		return 1
	}
	return 1 + n.left.check() + n.right.check()
}

func main() {
	minDepth, maxDepth := 4, 21
	if len(os.Args) > 1 {
		maxDepth, _ = strconv.Atoi(os.Args[1])
	}
	if maxDepth < minDepth+2 {
		maxDepth = minDepth + 2
	}
	total := bottomUp(maxDepth + 1).check()
	longLived := bottomUp(maxDepth)
	for d := minDepth; d <= maxDepth; d += 2 {
		iterations := 1 << uint(maxDepth-d+minDepth)
		for i := 0; i < iterations; i++ {
			total += bottomUp(d).check()
		}
	}
	total += longLived.check()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("BH_RESULT check=%d gcs=%d\n", total, ms.NumGC)
}
