// Package nilarg holds calls that pass nil to a parameter that chooses a
// branch: the branch that nil rules out is not followed, nor is a loop
// over a map that only that branch fills.
package nilarg

import "sync"

type call struct {
	resp chan error
}

type conn struct {
	mu     sync.Mutex
	closed bool
	calls  map[int]*call
}

// closeWithError hands err to the waiting calls, if it is not nil.
func (c *conn) closeWithError(err error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	var toClose map[int]*call
	if err != nil {
		toClose = c.calls
		c.calls = nil
	}
	c.mu.Unlock()
	for _, cl := range toClose {
		cl.resp <- err
	}
}

func (c *conn) Close() { c.closeWithError(nil) }

type pool struct {
	mu    sync.Mutex
	conns []*conn
}

// Close passes nil: the loop over no calls sends nothing.
func (p *pool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}

// An error sends to each waiting call.
func (p *pool) fail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.closeWithError(err) // want `call to nilarg.conn.closeWithError, which may block \(channel send`
	}
}

// A typed nil pointer in an error is not nil.
type myErr struct{}

func (*myErr) Error() string { return "" }

func (p *pool) typedNil() {
	p.mu.Lock()
	defer p.mu.Unlock()
	var e *myErr
	p.conns[0].closeWithError(e) // want `call to nilarg.conn.closeWithError, which may block \(channel send`
}

// A map filled on another path too: the loop may run.
func (c *conn) drain(err error, all bool) {
	var toClose map[int]*call
	if err != nil {
		toClose = c.calls
	}
	if all {
		toClose = c.calls
	}
	for _, cl := range toClose {
		cl.resp <- err
	}
}

func (p *pool) drainAll(all bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.conns[0].drain(nil, all) // want `call to nilarg.conn.drain, which may block \(channel send`
}

// A nil func, channel or pointer chooses the branch just as well.
func run(f func(), done chan struct{}) {
	if f != nil {
		f()
	}
	if done != nil {
		<-done
	}
}

func (p *pool) noWait() {
	p.mu.Lock()
	defer p.mu.Unlock()
	run(nil, nil)
}

func (p *pool) waits(done chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	run(nil, done) // want `call to nilarg.run, which may block \(channel receive`
}
