package attackrelease4

import "sync"

type CM struct {
	mu    sync.Mutex
	next  *CM
	ch    chan int
	stats int
}

func (c *CM) letGo() {
	c.mu.Unlock()
	<-c.ch
	c.mu.Lock()
}

// w moves its receiver (a cell: the closure captures it) to c.next and
// lets that one go: the caller's c.mu stays held at the wait.
func (c *CM) w() {
	defer func() { c.stats++ }()
	c = c.next
	c.letGo()
}

func (c *CM) use() {
	c.mu.Lock()
	c.next.mu.Lock()
	c.w() // want `call to attackrelease4.CM.w, which may block`
	c.next.mu.Unlock()
	c.mu.Unlock()
}

// same without the closure.
func (c *CM) w2() {
	c = c.next
	c.letGo()
}

func (c *CM) use2() {
	c.mu.Lock()
	c.next.mu.Lock()
	c.w2() // want `call to attackrelease4.CM.w2, which may block`
	c.next.mu.Unlock()
	c.mu.Unlock()
}
