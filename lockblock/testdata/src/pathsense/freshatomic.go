package pathsense

import (
	"sync"
	"sync/atomic"
)

type sink struct {
	mu      sync.Mutex
	version atomic.Int32
	sem     chan struct{}
}

// newSink sets a counter of the struct it builds and fills four of the
// five slots of its semaphore: the struct has been handed to no one, so
// the sends have room.
func newSink() *sink {
	s := &sink{}
	s.version.Store(-1)
	s.mu.Lock()
	s.mu.Unlock()
	s.sem = make(chan struct{}, 5)
	for range 4 {
		s.sem <- struct{}{}
	}
	return s
}

type sinks struct {
	mu  sync.Mutex
	all map[int]*sink
}

func (c *sinks) add(id int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.all[id] = newSink()
}

type queue struct {
	version atomic.Int32
	items   chan int
}

var shared atomic.Pointer[queue]

// Published through a package variable before the send: another
// goroutine may have filled the channel.
func newShared() *queue {
	q := &queue{}
	q.version.Store(-1)
	q.items = make(chan int, 1)
	shared.Store(q)
	q.items <- 1
	return q
}

func (c *sinks) addShared(id int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = newShared() // want `call to pathsense.newShared, which may block \(channel send at freshatomic.go:54\) while c.mu may be held`
}
