package attackrelease2

import "sync"

type RN struct {
	mu sync.RWMutex
	ch chan int
}

// letGoTwo lets two read locks go around the wait.
func (r *RN) letGoTwo() {
	r.mu.RUnlock()
	r.mu.RUnlock()
	<-r.ch
	r.mu.RLock()
	r.mu.RLock()
}

func (r *RN) two() {
	r.mu.RLock()
	r.mu.RLock()
	r.letGoTwo()
	r.mu.RUnlock()
	r.mu.RUnlock()
}

func (r *RN) three() {
	r.mu.RLock()
	r.mu.RLock()
	r.mu.RLock()
	r.letGoTwo() // want `call to attackrelease2.RN.letGoTwo, which may block \(channel receive at rnest.go:14\) while r.mu may be held`
	r.mu.RUnlock()
	r.mu.RUnlock()
	r.mu.RUnlock()
}

// letGoOne lets one go, and inner lets another go around the wait.
func (r *RN) inner() {
	r.mu.RUnlock()
	<-r.ch
	r.mu.RLock()
}

func (r *RN) outer() {
	r.mu.RUnlock()
	r.inner()
	r.mu.RLock()
}

func (r *RN) twoOuter() {
	r.mu.RLock()
	r.mu.RLock()
	r.outer()
	r.mu.RUnlock()
	r.mu.RUnlock()
}

func (r *RN) threeOuter() {
	r.mu.RLock()
	r.mu.RLock()
	r.mu.RLock()
	r.outer() // want `call to attackrelease2.RN.outer, which may block \(channel receive at rnest.go:40\) while r.mu may be held`
	r.mu.RUnlock()
	r.mu.RUnlock()
	r.mu.RUnlock()
}

// sequential: inner twice in a row, each lets go one of the caller's two.
func (r *RN) seq() {
	r.inner()
	r.inner()
}

func (r *RN) twoSeq() {
	r.mu.RLock()
	r.mu.RLock()
	r.seq() // want `call to attackrelease2.RN.seq, which may block \(channel receive at rnest.go:40\) while r.mu may be held`
	r.mu.RUnlock()
	r.mu.RUnlock()
}

func (r *RN) oneSeq() {
	r.mu.RLock()
	r.seq()
	r.mu.RUnlock()
}

// unlockTwo releases both of its caller's read locks for good.
func (r *RN) unlockTwo() {
	r.mu.RUnlock()
	r.mu.RUnlock()
}

func (r *RN) viaForGood() {
	r.mu.RLock()
	r.mu.RLock()
	r.unlockTwo()
	<-r.ch
}
