// Package attackrange checks range-over-func loops: their bodies run in
// the function's own goroutine, under its locks.
package attackrange

import (
	"iter"
	"maps"
	"slices"
	"sync"
)

var mu sync.Mutex

func sendEach(seq iter.Seq[int], ch chan int) {
	mu.Lock()
	for x := range seq {
		ch <- x // want `channel send while mu may be held`
	}
	mu.Unlock()
}

func sendValues(xs []int, ch chan int) {
	mu.Lock()
	defer mu.Unlock()
	for _, x := range slices.All(xs) {
		ch <- x // want `channel send while mu may be held`
	}
}

func sendKeys(m map[int]bool, ch chan int) {
	mu.Lock()
	defer mu.Unlock()
	for k := range maps.Keys(m) {
		ch <- k // want `channel send while mu may be held`
	}
}

// breakHolding leaves the loop with mu held.
func breakHolding(seq iter.Seq[int], ch chan int) {
	for x := range seq {
		mu.Lock()
		if x > 3 {
			break
		}
		mu.Unlock()
	}
	<-ch // want `channel receive while mu may be held`
}

// deferInBody: a defer in a range-over-func body belongs to the enclosing
// function and runs at its return.
func deferInBody(seq iter.Seq[int], ch chan int) {
	for range seq {
		mu.Lock()
		defer mu.Unlock()
	}
	<-ch // want `channel receive while mu may be held`
}

// The for-range loop over a slice holds.
func sendSlice(xs []int, ch chan int) {
	mu.Lock()
	defer mu.Unlock()
	for _, x := range xs {
		ch <- x // want `channel send while mu may be held`
	}
}
