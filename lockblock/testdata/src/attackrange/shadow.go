package attackrange

import (
	"iter"
	"sync"
)

var shadowCh chan int

func shadowWait() { <-shadowCh }

// A local mutex of the loop body is not the function's own local that SSA
// names alike: locking and unlocking it lets go of nothing the function
// holds.
func shadowOuter(seq iter.Seq[int]) {
	_ = len(shadowCh)
	var mu1 sync.Mutex
	mu1.Lock()
	defer mu1.Unlock()
	for range seq {
		var mu2 sync.Mutex
		mu2.Lock()
		mu2.Unlock()
		shadowWait() // want `call to attackrange.shadowWait, which may block \(channel receive at shadow.go:10\) while mu1 may be held \(locked at shadow.go:18\)`
	}
}

func shadowOuter2(seq iter.Seq[int]) {
	_ = len(shadowCh)
	var mu1 sync.Mutex
	mu1.Lock()
	defer mu1.Unlock()
	for range seq {
		var other sync.Mutex
		_ = &other
		shadowWait() // want `call to attackrange.shadowWait, which may block \(channel receive at shadow.go:10\) while mu1 may be held \(locked at shadow.go:31\)`
	}
}
