package attackrelease

import "sync"

type F struct {
	mu      sync.Mutex
	out     chan int
	pending []int
	failed  bool
	stats   int
}

// flush is called with f.mu held and lets it go around the send; a
// failed write closes, and close flushes: three functions call each other.
func (f *F) flush() {
	defer func() { f.stats++ }()
	buf := f.pending
	f.pending = nil
	f.mu.Unlock()
	f.out <- buf[0]
	f.mu.Lock()
	if f.failed {
		f.closeLocked()
	}
}

func (f *F) closeLocked() {
	f.failed = true
	f.drain()
}

func (f *F) drain() {
	defer func() { f.stats++ }()
	if len(f.pending) > 0 {
		fl := f.flush // through a method value
		fl()
	}
}

// Each of these holds only f.mu, which flush lets go before it sends.
func (f *F) write(b int) {
	f.mu.Lock()
	f.pending = append(f.pending, b)
	f.drain()
	f.mu.Unlock()
}

func (f *F) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closeLocked()
}

func (f *F) deferredFlush() {
	f.mu.Lock()
	defer f.mu.Unlock()
	defer f.flush()
	f.pending = append(f.pending, 1)
}

func (f *F) viaExpr() {
	f.mu.Lock()
	(*F).closeLocked(f)
	f.mu.Unlock()
}

func (f *F) viaLiteral() {
	f.mu.Lock()
	func() { f.closeLocked() }()
	f.mu.Unlock()
}
