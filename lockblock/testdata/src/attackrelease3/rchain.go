package attackrelease3

import "sync"

type RCH struct {
	mu  sync.RWMutex
	ch  chan int
	ack chan int
}

// one let go around the receive, two around the ack.
func (r *RCH) oneThenTwo() {
	r.mu.RUnlock()
	<-r.ch
	r.mu.RUnlock()
	<-r.ack
	r.mu.RLock()
	r.mu.RLock()
}

func (r *RCH) use2a() {
	r.mu.RLock()
	r.mu.RLock()
	r.oneThenTwo() // want `call to attackrelease3.RCH.oneThenTwo, which may block \(channel receive at rchain.go:14\)`
	r.mu.RUnlock()
	r.mu.RUnlock()
}

// two let go around the receive, then one taken back around the ack.
func (r *RCH) twoThenOne() {
	r.mu.RUnlock()
	r.mu.RUnlock()
	<-r.ch
	r.mu.RLock()
	<-r.ack // want `channel receive while r.mu may be held`
	r.mu.RLock()
}

func (r *RCH) use2b() {
	r.mu.RLock()
	r.mu.RLock()
	r.twoThenOne() // want `call to attackrelease3.RCH.twoThenOne, which may block \(channel receive at rchain.go:35\)`
	r.mu.RUnlock()
	r.mu.RUnlock()
}

func (r *RCH) use1b() {
	r.mu.RLock()
	r.twoThenOne()
	r.mu.RUnlock()
}
