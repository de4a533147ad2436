package attackrelease3

import "sync"

type KC struct {
	mu sync.Mutex
	ch chan int
}

// The closure reads wait after it was flipped: h(false) waits.
func (c *KC) h(wait bool) {
	f := func() {
		if wait {
			<-c.ch
		}
	}
	wait = !wait
	f()
}

func (c *KC) useHFalse() {
	c.mu.Lock()
	c.h(false) // want `call to attackrelease3.KC.h, which may block`
	c.mu.Unlock()
}

// a parameter reassigned before the test (no closure).
func (c *KC) h2(wait bool) {
	if !wait {
		wait = true
	}
	if wait {
		<-c.ch
	}
}

func (c *KC) useH2False() {
	c.mu.Lock()
	c.h2(false) // want `call to attackrelease3.KC.h2, which may block`
	c.mu.Unlock()
}

// a parameter assigned through a pointer.
func set(p *bool) { *p = true }

func (c *KC) h3(wait bool) {
	set(&wait)
	if wait {
		<-c.ch
	}
}

func (c *KC) useH3False() {
	c.mu.Lock()
	c.h3(false) // want `call to attackrelease3.KC.h3, which may block`
	c.mu.Unlock()
}

// number modified in a loop before the compare.
func (c *KC) h4(n int) {
	for i := 0; i < 3; i++ {
		n++
	}
	if n == 3 {
		<-c.ch
	}
}

func (c *KC) useH4() {
	c.mu.Lock()
	c.h4(0) // want `call to attackrelease3.KC.h4, which may block`
	c.mu.Unlock()
}
