// allocrate.go — allocation rate with a ring of 1000 live objects, the Go
// peer of bench/allocrate.c: N million objects of 16, 32, 48, 64 bytes in
// turn, each stored in a ring slot, so only the last 1000 live. Run as
// "allocrate N"; prints "BH_RESULT check=C gcs=G" (C: sum of the values
// left in the ring). Default GOGC.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"unsafe"
)

type obj struct {
	value int64
	next  *obj
}
type obj32 struct {
	obj
	pad [16]byte
}
type obj48 struct {
	obj
	pad [32]byte
}
type obj64 struct {
	obj
	pad [48]byte
}

const ring = 1000

func main() {
	millions := int64(50)
	if len(os.Args) > 1 {
		millions, _ = strconv.ParseInt(os.Args[1], 10, 64)
	}
	n := millions * 1000000
	slots := make([]*obj, ring)
	for i := int64(0); i < n; i++ {
		var o *obj
		switch i & 3 {
		case 0:
			o = &obj{}
		case 1:
			o = (*obj)(unsafe.Pointer(&obj32{}))
		case 2:
			o = (*obj)(unsafe.Pointer(&obj48{}))
		default:
			o = (*obj)(unsafe.Pointer(&obj64{}))
		}
		o.value = i
		slots[i%ring] = o
	}
	var sum int64
	for _, o := range slots {
		if o != nil {
			sum += o.value
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("BH_RESULT check=%d gcs=%d\n", sum, ms.NumGC)
}
