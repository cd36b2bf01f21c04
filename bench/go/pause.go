// pause.go — the Go peer of bench/pause.c (issue 5): the same live heap of
// 32-byte nodes in lists of 16 headed by one table, the same churn (each
// operation replaces 4 nodes of a random list owned by its goroutine), each
// operation timed with the monotonic clock into a log-linear histogram.
//
// Run as "pause LIVE_BYTES THREADS SECONDS gc|baseline FORCE_SECONDS" with
// GODEBUG=gctrace=1: the driver reads the gctrace lines between
// BH_CHURN_START and BH_CHURN_END (both on stderr, as gctrace is) and the
// BH_RESULT line. "baseline" caps the churn at max(LIVE, 512 MiB) of garbage (run it
// with GOGC=off). Default GOGC, GOMAXPROCS = number of CPUs.
package main

import (
	"fmt"
	"math"
	"math/bits"
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"
)

const (
	listLen = 16
	seg     = 4
	winNs   = 10_000_000
	histN   = 4096
)

type node struct {
	next *node
	k    [3]uint64
}

func histIndex(v uint64) int {
	if v < 128 {
		return int(v)
	}
	shift := 63 - bits.LeadingZeros64(v) - 6
	i := shift*64 + int(v>>uint(shift))
	if i >= histN {
		i = histN - 1
	}
	return i
}

func histValue(i int) float64 {
	if i < 128 {
		return float64(i)
	}
	shift := i/64 - 1
	m := uint64(i - shift*64)
	return float64(m<<uint(shift)) + float64((uint64(1)<<uint(shift))-1)/2
}

func histPct(h []uint64, total uint64, p float64) float64 {
	want := uint64(math.Ceil(p * float64(total)))
	if want == 0 {
		want = 1
	}
	var c uint64
	for i := range h {
		c += h[i]
		if c >= want {
			return histValue(i)
		}
	}
	return math.NaN()
}

type mut struct {
	ops   uint64
	maxNs uint64
	hist  []uint64
	win   []uint32
}

func cpuNs() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

var table []*node

func op(t []*node, i int, pos int, tag uint64) {
	slot := &t[i]
	for j := 0; j < pos; j++ {
		slot = &(*slot).next
	}
	after := *slot
	for j := 0; j < seg; j++ {
		after = after.next
	}
	chain := after
	for j := 0; j < seg; j++ {
		n := &node{next: chain}
		n.k[0], n.k[1] = uint64(i), tag
		chain = n
	}
	*slot = chain
}

func main() {
	live, _ := strconv.ParseUint(os.Args[1], 10, 64)
	threads, _ := strconv.Atoi(os.Args[2])
	secs, _ := strconv.ParseFloat(os.Args[3], 64)
	baseline := len(os.Args) > 4 && os.Args[4] == "baseline"
	force := 0.0
	if len(os.Args) > 5 {
		force, _ = strconv.ParseFloat(os.Args[5], 64)
	}
	nlists := int(live / (32 * listLen))
	if nlists < 16 {
		nlists = 16
	}
	table = make([]*node, nlists)
	for i := range table {
		var head *node
		for j := 0; j < listLen; j++ {
			n := &node{next: head}
			n.k[0], n.k[1] = uint64(i), uint64(j)
			head = n
		}
		table[i] = head
	}
	capOps := uint64(math.MaxUint64)
	if baseline {
		garbage := live
		if garbage < 512<<20 {
			garbage = 512 << 20
		}
		capOps = garbage / (seg * 32) / uint64(threads)
	}
	nwin := int(secs*1e9/winNs) + 2
	ms := make([]mut, threads)
	for i := range ms {
		ms[i].hist = make([]uint64, histN)
		ms[i].win = make([]uint32, nwin)
	}
	// One full collection after the build, outside the measurement, as the
	// C sides do: the churn starts from a marked heap.
	if !baseline {
		runtime.GC()
	}
	var mst0 runtime.MemStats
	runtime.ReadMemStats(&mst0)
	gc0 := mst0.NumGC
	fmt.Fprintln(os.Stderr, "BH_CHURN_START")
	cpu0 := cpuNs()
	start := time.Now()
	end := start.Add(time.Duration(secs * 1e9))
	var wg sync.WaitGroup
	done := make(chan struct{})
	if force > 0 {
		// Request a cycle every force seconds, as the C monitor does; the
		// mutators do not wait for it.
		go func() {
			for {
				select {
				case <-done:
					return
				case <-time.After(time.Duration(force * 1e9)):
					if time.Now().Before(end) {
						runtime.GC()
					}
				}
			}
		}()
	}
	for id := 0; id < threads; id++ {
		wg.Add(1)
		go func(id int) {
			defer wg.Done()
			m := &ms[id]
			t := table
			s := uint64(0x9E3779B97F4A7C15) * uint64(id+1)
			mine := (nlists - id + threads - 1) / threads
			t0 := time.Now()
			tstart := t0
			for t0.Before(end) && m.ops < capOps {
				s ^= s >> 12
				s ^= s << 25
				s ^= s >> 27
				r := s * 0x2545F4914F6CDD1D
				i := id + int(r%uint64(mine))*threads
				op(t, i, int((r>>40)%(listLen-seg+1)), m.ops)
				t1 := time.Now()
				d := uint64(t1.Sub(t0))
				m.hist[histIndex(d)]++
				if d > m.maxNs {
					m.maxNs = d
				}
				if w := int(t1.Sub(tstart) / winNs); w < nwin {
					m.win[w]++
				}
				m.ops++
				t0 = t1
			}
		}(id)
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(done)
	cpu1 := cpuNs()
	fmt.Fprintln(os.Stderr, "BH_CHURN_END")
	for i, head := range table {
		n := 0
		for p := head; p != nil; p = p.next {
			n++
		}
		if n != listLen {
			fmt.Fprintf(os.Stderr, "list %d has %d nodes\n", i, n)
			os.Exit(1)
		}
	}
	h := make([]uint64, histN)
	var ops, opmax uint64
	for i := range ms {
		for j := range h {
			h[j] += ms[i].hist[j]
		}
		ops += ms[i].ops
		if ms[i].maxNs > opmax {
			opmax = ms[i].maxNs
		}
	}
	full := int(elapsed / winNs)
	if full > 0 {
		full--
	}
	minwin := math.NaN()
	for w := 0; w < full && w < nwin; w++ {
		s := 0.0
		for i := range ms {
			s += float64(ms[i].win[w])
		}
		if math.IsNaN(minwin) || s < minwin {
			minwin = s
		}
	}
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	var mst runtime.MemStats
	runtime.ReadMemStats(&mst)
	gcs := mst.NumGC - gc0
	fmt.Printf("BH_RESULT ops_s=%g ops_cpu_s=%g op_max_us=%g op_p999_us=%g op_p99_us=%g minwin=%g gcs=%d rss_mib=%g\n",
		float64(ops)/elapsed.Seconds(), float64(ops)/(float64(cpu1-cpu0)/1e9),
		float64(opmax)/1e3, histPct(h, ops, 0.999)/1e3, histPct(h, ops, 0.99)/1e3,
		minwin, gcs, float64(ru.Maxrss)/1024)
}
