// Package chain is checked with -chain (TestChainFlag): messages show the
// whole chain of calls, not only the operation at its end.
package chain

import "sync"

type T struct {
	mu sync.Mutex
	ch chan int
}

func (t *T) a() { t.b() }
func (t *T) b() { t.c() }
func (t *T) c() { t.d() }
func (t *T) d() { t.ch <- 1 }

func (t *T) locked() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.a() // want `^call to chain\.T\.a, which may block \(chain\.T\.b → chain\.T\.c → chain\.T\.d → channel send at chain\.go:15\) while t\.mu may be held`
}

// conn's flush and closeLocked call each other; flush lets mu go around
// its send, takes it back and then waits for the ack. The chain names that
// wait, reached through the fewest calls, not a round of the recursion.
type conn struct {
	mu     sync.Mutex
	out    chan int
	ack    chan int
	failed bool
}

func (c *conn) flush() {
	c.mu.Unlock()
	c.out <- 1
	c.mu.Lock()
	if c.failed {
		c.closeLocked() // want `call to chain.conn.closeLocked, which may block \(chain.conn.flush → channel receive at chain.go:\d+\) while c.mu may be held`
		return
	}
	<-c.ack // want `channel receive while c.mu may be held`
}

func (c *conn) closeLocked() {
	c.failed = false
	c.flush()
}

func (c *conn) write() {
	c.mu.Lock()
	c.flush() // want `call to chain.conn.flush, which may block \(channel receive at chain.go:\d+\) while c.mu may be held`
	c.mu.Unlock()
}
