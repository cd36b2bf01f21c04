// gcbench.go — GCBench (Ellis, Kovac, Boehm), the Go peer of
// bench/gcbench.c: same depths, same check value (nodes allocated, negative
// if the long-lived data was damaged). Run as "gcbench MAXDEPTH" (16 is the
// published run); prints "BH_RESULT check=C gcs=G". Default GOGC.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
)

type node struct {
	left, right *node
	i, j        int32
}

var nodes int64

func newNode(l, r *node) *node {
	nodes++
	return &node{left: l, right: r}
}

func treeSize(d int) int64 { return (int64(1) << uint(d+1)) - 1 }

func populate(depth int, n *node) {
	if depth <= 0 {
		return
	}
	depth--
	n.left = newNode(nil, nil)
	n.right = newNode(nil, nil)
	populate(depth, n.left)
	populate(depth, n.right)
}

func makeTree(depth int) *node {
	if depth <= 0 {
		return newNode(nil, nil)
	}
	l := makeTree(depth - 1)
	return newNode(l, makeTree(depth-1))
}

func main() {
	maxDepth := 16
	if len(os.Args) > 1 {
		maxDepth, _ = strconv.Atoi(os.Args[1])
	}
	if maxDepth < 6 {
		maxDepth = 6
	}
	minDepth, stretchDepth, longDepth := 4, maxDepth+2, maxDepth
	const arraySize = 500000

	makeTree(stretchDepth)

	longLived := newNode(nil, nil)
	populate(longDepth, longLived)
	array := make([]float64, arraySize)
	for i := range array {
		array[i] = 1.0 / float64(i+1)
	}

	for d := minDepth; d <= maxDepth; d += 2 {
		iters := 2 * treeSize(stretchDepth) / treeSize(d)
		for i := int64(0); i < iters; i++ {
			t := newNode(nil, nil)
			populate(d, t)
		}
		for i := int64(0); i < iters; i++ {
			makeTree(d)
		}
	}

	result := nodes
	if longLived == nil || array[999] != 1.0/1000 {
		result = -result
	}
	runtime.KeepAlive(longLived)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("BH_RESULT check=%d gcs=%d\n", result, ms.NumGC)
}
