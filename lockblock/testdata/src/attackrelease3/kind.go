package attackrelease3

import "sync"

type KD struct {
	mu sync.RWMutex
	ch chan int
}

// downgrade: called with the write lock, returns with a read lock.
func (c *KD) downgrade() {
	c.mu.Unlock()
	<-c.ch
	c.mu.RLock()
}

func (c *KD) useDowngrade() {
	c.mu.Lock()
	c.downgrade()
	<-c.ch // want `channel receive while c.mu may be held`
	c.mu.RUnlock()
}

func (c *KD) useDowngradeQuiet() {
	c.mu.Lock()
	c.downgrade()
	c.mu.RUnlock()
	<-c.ch
}

// lazy through a parameter.
func lazyP(m *sync.Mutex, lazy bool, ch, ack chan int) {
	if lazy {
		m.Lock()
	}
	m.Unlock()
	ch <- 1
	m.Lock()
	<-ack // want `channel receive while m may be held`
	if lazy {
		m.Unlock()
	}
}

func useLazyP(m *sync.Mutex, ch, ack chan int) {
	m.Lock()
	lazyP(m, false, ch, ack) // want `call to attackrelease3.lazyP, which may block`
	m.Unlock()
}
