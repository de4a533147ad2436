package attackrelease

import "sync"

type G struct {
	mu     sync.Mutex
	ch     chan int
	ack    chan int
	closed bool
	stats  int
}

func (g *G) flush() {
	defer func() { g.stats++ }()
	g.mu.Unlock()
	g.ch <- 1
	g.mu.Lock()
	if !g.closed {
		g.closeLocked() // want `call to attackrelease.G.closeLocked, which may block \(channel receive at three.go:22\) while g.mu may be held`
		return
	}
	<-g.ack // want `channel receive while g.mu may be held`
}

func (g *G) closeLocked() { g.closed = true; g.drain() }

func (g *G) drain() {
	f := g.flush
	f()
}

func (g *G) useDrain() {
	g.mu.Lock()
	g.drain() // want `call to attackrelease.G.drain, which may block \(channel receive at three.go:22\) while g.mu may be held`
	g.mu.Unlock()
}
