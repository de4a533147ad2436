package attackrelease3

import "sync"

type KO struct {
	mu sync.Mutex
	ch chan int
	x  bool
}

func (c *KO) or(wait bool) {
	if wait || c.x {
		<-c.ch
	}
}

func (c *KO) useOr() {
	c.mu.Lock()
	c.or(false) // want `call to attackrelease3.KO.or, which may block`
	c.mu.Unlock()
}

// release decides the let-go, with ||.
func (c *KO) relOr(release bool) {
	if release || c.x {
		c.mu.Unlock()
		defer c.mu.Lock()
	}
	<-c.ch
}

func (c *KO) useRelOr() {
	c.mu.Lock()
	c.relOr(false) // want `call to attackrelease3.KO.relOr, which may block`
	c.mu.Unlock()
}

// number compared in a switch with several cases.
func (c *KO) kind(k int) {
	switch k {
	case 1, 2:
		c.mu.Unlock()
		<-c.ch
		c.mu.Lock()
	default:
		<-c.ch
	}
}

func (c *KO) useKind2() {
	c.mu.Lock()
	c.kind(2)
	c.mu.Unlock()
}

func (c *KO) useKind3() {
	c.mu.Lock()
	c.kind(3) // want `call to attackrelease3.KO.kind, which may block`
	c.mu.Unlock()
}

// string, compared with != .
func (c *KO) named(s string) {
	if s != "" {
		c.mu.Unlock()
		<-c.ch
		c.mu.Lock()
		return
	}
	<-c.ch
}

func (c *KO) useNamedX() {
	c.mu.Lock()
	c.named("x")
	c.mu.Unlock()
}

func (c *KO) useNamedEmpty() {
	c.mu.Lock()
	c.named("") // want `call to attackrelease3.KO.named, which may block`
	c.mu.Unlock()
}
