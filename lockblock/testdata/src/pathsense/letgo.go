package pathsense

import "sync"

// conn is a connection whose flush lets its lock go for the write, as a
// server's client does: "Lock must be held" on entry and on return.
type conn struct {
	mu      sync.Mutex
	server  sync.Mutex
	out     chan []byte
	pending [][]byte
	failed  bool
	stats   int
}

// flush is called with c.mu held. It releases it around the write and
// takes it again; on a failed write it closes the connection, which may
// flush again: flush and closeLocked call each other.
func (c *conn) flush() {
	defer func() { c.stats++ }() // a closure that captures c
	buf := c.pending
	c.pending = nil
	c.mu.Unlock()
	c.out <- buf[0]
	c.mu.Lock()
	if c.failed {
		c.closeLocked()
	}
}

// closeLocked is called with c.mu held.
func (c *conn) closeLocked() {
	c.failed = true
	c.flushAndClose()
}

func (c *conn) flushAndClose() {
	if len(c.pending) > 0 {
		c.flush()
	}
}

// write holds only c.mu, which flush lets go before it sends, however deep
// the call that does so.
func (c *conn) write(b []byte) {
	c.mu.Lock()
	c.pending = append(c.pending, b)
	c.flush()
	c.mu.Unlock()
}

func (c *conn) close() {
	c.mu.Lock()
	c.closeLocked()
	c.mu.Unlock()
}

// broadcast holds the server's lock, which nothing lets go: the send
// waits under it.
func (c *conn) broadcast(b []byte) {
	c.server.Lock()
	c.mu.Lock()
	c.pending = append(c.pending, b)
	c.closeLocked() // want `call to pathsense.conn.closeLocked, which may block \(channel send at letgo.go:24\) while c.server may be held \(locked at letgo.go:61\)`
	c.mu.Unlock()
	c.server.Unlock()
}

// relock lets c.mu go only to take it again before it waits: it waits
// holding the caller's lock.
func (c *conn) relock() {
	defer func() { c.stats++ }()
	c.mu.Unlock()
	c.mu.Lock()
	c.out <- nil // want `channel send while c.mu may be held \(locked at letgo.go:74\)`
}

func (c *conn) useRelock() {
	c.mu.Lock()
	c.relock() // want `call to pathsense.conn.relock, which may block \(channel send at letgo.go:75\) while c.mu may be held \(locked at letgo.go:79\)`
	c.mu.Unlock()
}

// closeVia lets c.mu go only through a helper two calls down, and only on
// one path: on the other it waits holding it.
func (c *conn) closeVia(flush bool) {
	if flush {
		c.flushAndClose()
		return
	}
	c.out <- nil // the caller holds c.mu here: reported at its call
}

func (c *conn) useCloseVia() {
	c.mu.Lock()
	c.closeVia(len(c.pending) > 0) // want `call to pathsense.conn.closeVia, which may block \(channel send at letgo.go:91\) while c.mu may be held \(locked at letgo.go:95\)`
	c.mu.Unlock()
}

// unlockAfter is called with c.mu held and returns with it released; the
// closure it defers keeps c in a cell, through which it unlocks.
func (c *conn) unlockAfter() {
	defer func() { c.stats++ }()
	c.mu.Unlock()
}

func (c *conn) useUnlockAfter() {
	c.mu.Lock()
	c.unlockAfter()
	c.out <- nil
}

// hop moves c to next through a closure before it unlocks: the lock it
// lets go is next's, not its caller's.
func (c *conn) hop(next *conn) {
	move := func() { c = next }
	move()
	c.mu.Unlock()
	c.out <- nil
	c.mu.Lock()
}

func (c *conn) useHop(next *conn) {
	c.mu.Lock()
	c.hop(next) // want `call to pathsense.conn.hop, which may block \(channel send at letgo.go:119\) while c.mu may be held \(locked at letgo.go:124\)`
	c.mu.Unlock()
}
