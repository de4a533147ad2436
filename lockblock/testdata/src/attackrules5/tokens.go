package attackrules5

import "sync"

// ---------------------------------------------------------------------
// Token fields. Promise: a token field is filled lazily "in a func literal
// handed only to sync.Once.Do", which runs once: the give-back of a token
// taken from it has room.
// ---------------------------------------------------------------------

// T1 (was missed). A pool that re-arms its Once to re-initialise: the literal runs
// again and makes a new full channel while tokens of the old one are
// out; a release gives the old token into the new, full channel.
type rpool struct {
	mu   sync.Mutex
	once sync.Once
	max  int
	ch   chan struct{}
}

func (p *rpool) lazy() {
	p.once.Do(func() {
		p.ch = make(chan struct{}, p.max)
		for i := 0; i < p.max; i++ {
			p.ch <- struct{}{}
		}
	})
}

func (p *rpool) acquire() {
	p.lazy()
	<-p.ch
}

func (p *rpool) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ch <- struct{}{} // want `channel send while p.mu may be held`
}

func (p *rpool) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.once = sync.Once{}
}

// T2 (was missed). The same with a Once made anew on each call: Do runs the literal
// on every call.
type lpool struct {
	mu  sync.Mutex
	max int
	ch  chan struct{}
}

func (p *lpool) lazy() {
	var once sync.Once
	once.Do(func() {
		p.ch = make(chan struct{}, p.max)
		for i := 0; i < p.max; i++ {
			p.ch <- struct{}{}
		}
	})
}

func (p *lpool) acquire() {
	p.lazy()
	<-p.ch
}

func (p *lpool) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ch <- struct{}{} // want `channel send while p.mu may be held`
}
