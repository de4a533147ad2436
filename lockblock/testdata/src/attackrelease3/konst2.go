package attackrelease3

import "sync"

type K2 struct {
	mu sync.Mutex
	ch chan int
}

// w waits only when wait (no let-go involved).
func (c *K2) w(wait bool) {
	if wait {
		<-c.ch
	}
}

func (c *K2) mw(x bool) { c.w(x) }

func (c *K2) useMwFalse() {
	c.mu.Lock()
	c.mw(false)
	c.mu.Unlock()
}

// letGo always lets go around the wait; mid decides whether to call it or wait holding.
func (c *K2) letGo() {
	c.mu.Unlock()
	<-c.ch
	c.mu.Lock()
}

func (c *K2) mid(viaLetGo bool) {
	if viaLetGo {
		c.letGo()
		return
	}
	<-c.ch
}

func (c *K2) useMidTrue() {
	c.mu.Lock()
	c.mid(true)
	c.mu.Unlock()
}

func (c *K2) useMidFalse() {
	c.mu.Lock()
	c.mid(false) // want `call to attackrelease3.K2.mid, which may block`
	c.mu.Unlock()
}

func (c *K2) outer(v bool) { c.mid(v) }

func (c *K2) useOuterTrue() {
	c.mu.Lock()
	c.outer(true)
	c.mu.Unlock()
}
