package attackrelease4

import "sync"

type KS struct {
	mu sync.Mutex
	ch chan int
	x  bool
}

// h lets c.mu go around the wait only when release.
func (c *KS) h(release bool) {
	if release {
		c.mu.Unlock()
		defer c.mu.Lock()
	}
	<-c.ch
}

func (c *KS) swap(a, b bool) { c.h(b) }
func (c *KS) and(r bool)     { c.h(r && c.x) }
func (c *KS) phi(r bool) {
	v := r
	if c.x {
		v = false
	}
	c.h(v)
}
func (c *KS) two(a, b bool) { c.swap(b, a) }

func (c *KS) useSwap() {
	c.mu.Lock()
	c.swap(true, false) // want `call to attackrelease4.KS.swap, which may block`
	c.mu.Unlock()
}

func (c *KS) useSwapQuiet() {
	c.mu.Lock()
	c.swap(false, true)
	c.mu.Unlock()
}

func (c *KS) useAnd() {
	c.mu.Lock()
	c.and(true) // want `call to attackrelease4.KS.and, which may block`
	c.mu.Unlock()
}

func (c *KS) usePhi() {
	c.mu.Lock()
	c.phi(true) // want `call to attackrelease4.KS.phi, which may block`
	c.mu.Unlock()
}

func (c *KS) useTwo() {
	c.mu.Lock()
	c.two(false, true) // want `call to attackrelease4.KS.two, which may block`
	c.mu.Unlock()
}

func (c *KS) useTwoQuiet() {
	c.mu.Lock()
	c.two(true, false)
	c.mu.Unlock()
}

func (c *KS) useMethodValue() {
	f := c.h
	c.mu.Lock()
	f(false) // want `call to attackrelease4.KS.h, which may block`
	c.mu.Unlock()
}

func (c *KS) useMethodValueQuiet() {
	f := c.h
	c.mu.Lock()
	f(true)
	c.mu.Unlock()
}

func (c *KS) useMethodExpr() {
	c.mu.Lock()
	(*KS).h(c, false) // want `call to attackrelease4.KS.h, which may block`
	c.mu.Unlock()
}

func (c *KS) useClosure(r bool) {
	f := func() { c.h(r) }
	c.mu.Lock()
	f() // want `call to the func literal at konst.go:88, which may block`
	c.mu.Unlock()
}

func (c *KS) useClosureK() { c.useClosure(false) }
