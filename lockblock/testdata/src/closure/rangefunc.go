package closure

import (
	"iter"
	"sync"
)

// The body of a range-over-func loop runs in the loop's goroutine.
func (t *T) rangeFunc(seq iter.Seq[int]) {
	for x := range seq {
		t.mu.Lock()
		t.ch <- x // want `^channel send while t\.mu may be held \(locked at rangefunc\.go:11\)`
		t.mu.Unlock()
	}
	t.mu.Lock()
	for x := range seq {
		for y := range seq {
			t.ch <- x + y // want `^channel send while t\.mu may be held \(locked at rangefunc\.go:15\)`
		}
	}
	t.mu.Unlock()
	for x := range seq {
		t.ch <- x
	}
}

// sendAll blocks in its loop body; its callers see that.
func (t *T) sendAll(seq iter.Seq[int]) {
	for x := range seq {
		t.ch <- x
	}
}

func (t *T) callsSendAll(seq iter.Seq[int]) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sendAll(seq) // want `^call to closure\.T\.sendAll, which may block \(channel send at rangefunc\.go:\d+\) while t\.mu may be held`
}

// A lock taken in a loop body on a captured lock, and released after.
func lockInBody(seq iter.Seq[*sync.Mutex], ch chan int) {
	for m := range seq {
		m.Lock()
		ch <- 1 // want `^channel send while m may be held`
		m.Unlock()
	}
}
