package attackrelease4

import "sync"

type MS struct {
	mu         sync.Mutex
	a, b, d, e chan int
}

func (c *MS) k() {
	c.mu.Unlock()
	<-c.b
	c.mu.Lock()
	<-c.d // want `channel receive while c.mu may be held`
}

func (c *MS) h() {
	c.mu.Unlock()
	<-c.a
	c.mu.Lock()
	c.k() // want `call to attackrelease4.MS.k, which may block \(channel receive at msg.go:14\)`
}

func (c *MS) use() {
	c.mu.Lock()
	c.h() // want `call to attackrelease4.MS.h, which may block \(channel receive at msg.go:14\)`
	c.mu.Unlock()
}

// j waits holding only when reached through a flag check after a let-go.
func (c *MS) j(f bool) {
	c.mu.Unlock()
	<-c.a
	c.mu.Lock()
	if f {
		<-c.e // want `channel receive while c.mu may be held`
	}
}

func (c *MS) useJ() {
	c.mu.Lock()
	c.j(true) // want `call to attackrelease4.MS.j, which may block \(channel receive at msg.go:36\)`
	c.j(false)
	c.mu.Unlock()
}
