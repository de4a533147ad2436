package attackrelease3

import "sync"

type KB struct {
	w, r sync.Mutex
	ch   chan int
}

func (c *KB) begin(writable bool) {
	if writable {
		c.w.Lock()
		return
	}
	c.r.Lock()
}

func (c *KB) open(writable bool) { c.begin(writable) }

func (c *KB) direct() {
	c.begin(true)
	c.r.Lock()
	c.r.Unlock()
	<-c.ch // want `channel receive while c.w may be held`
}

// through one parameter: only c.w is held.
func (c *KB) via() {
	c.open(true)
	c.w.Unlock()
	<-c.ch
}
