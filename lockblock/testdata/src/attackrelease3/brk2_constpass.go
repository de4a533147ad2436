package attackrelease3

import "sync"

type B2 struct {
	mu   sync.Mutex
	w, r sync.Mutex
	ch   chan int
}

// h lets c.mu go around the wait only when release.
func (c *B2) h(release bool) {
	if release {
		c.mu.Unlock()
	}
	<-c.ch
	if release {
		c.mu.Lock()
	}
}

func (c *B2) m(release bool) { c.h(release) }

func (c *B2) useH() { // control: quiet
	c.mu.Lock()
	c.h(true)
	c.mu.Unlock()
}

func (c *B2) useM() { // through the caller's own parameter: should be quiet too
	c.mu.Lock()
	c.m(true)
	c.mu.Unlock()
}

func (c *B2) begin(writable bool) {
	if writable {
		c.w.Lock()
		return
	}
	c.r.Lock()
}

func (c *B2) open(writable bool) { c.begin(writable) }

func (c *B2) useOpen() { // open(true) takes only c.w
	c.open(true)
	c.w.Unlock()
	<-c.ch
}
