package attackrelease3

import "sync"

type K struct {
	mu sync.Mutex
	ch chan int
}

// h lets c.mu go around the wait only when release.
func (c *K) h(release bool) {
	if release {
		c.mu.Unlock()
	}
	<-c.ch
	if release {
		c.mu.Lock()
	}
}

func (c *K) m(r bool)  { c.h(r) }
func (c *K) m2(r bool) { c.m(!r) }

func (c *K) useHTrue() {
	c.mu.Lock()
	c.h(true)
	c.mu.Unlock()
}

func (c *K) useHFalse() {
	c.mu.Lock()
	c.h(false) // want `call to attackrelease3.K.h, which may block`
	c.mu.Unlock()
}

func (c *K) useMTrue() {
	c.mu.Lock()
	c.m(true)
	c.mu.Unlock()
}

func (c *K) useMFalse() {
	c.mu.Lock()
	c.m(false) // want `call to attackrelease3.K.m, which may block`
	c.mu.Unlock()
}

func (c *K) useM2True() {
	c.mu.Lock()
	c.m2(true) // want `call to attackrelease3.K.m2, which may block`
	c.mu.Unlock()
}

func (c *K) useM2False() {
	c.mu.Lock()
	c.m2(false)
	c.mu.Unlock()
}

// n: a number compared with >.
func (c *K) n(k int) {
	if k > 2 {
		c.mu.Unlock()
		defer c.mu.Lock()
	}
	<-c.ch
}

func (c *K) useN1() {
	c.mu.Lock()
	c.n(1) // want `call to attackrelease3.K.n, which may block`
	c.mu.Unlock()
}
