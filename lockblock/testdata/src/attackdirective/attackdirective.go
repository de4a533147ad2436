// Package attackdirective checks where //lockblock:ignore applies.
package attackdirective

import "sync"

var mu sync.Mutex

// A directive at the end of a line silences the operation on that line,
// not the next statement.
func trailing(a, b chan int) {
	mu.Lock()
	a <- 1 //lockblock:ignore a was made with room for this one value
	b <- 2 // want `channel send while mu may be held`
	mu.Unlock()
}

// A directive two lines above silences nothing.
func tooFar(ch chan int) {
	mu.Lock()
	//lockblock:ignore too far from the send

	ch <- 1 // want `channel send while mu may be held`
	mu.Unlock()
}

func noReason(ch chan int) {
	mu.Lock()
	//lockblock:ignore // want `//lockblock:ignore needs a reason`
	ch <- 1 // want `channel send while mu may be held`
	mu.Unlock()
}

func blank(ch chan int) {
	mu.Lock()
	//lockblock:ignore	   // want `//lockblock:ignore needs a reason`
	ch <- 1 // want `channel send while mu may be held`
	mu.Unlock()
}

func above(ch chan int) {
	mu.Lock()
	//lockblock:ignore made with room for one value
	ch <- 1
	mu.Unlock()
}
