package attackrules4

import (
	"iter"
	"sync"
	"unsafe"
)

// ---------------------------------------------------------------------
// Token fields and give-backs. Promise: a send into a token field is
// dropped only when it gives back what was taken, so that it has room: it
// is "not in a loop", "no other send into the field ... may precede" it,
// and the field holds only channels that "such a loop fills and that
// went nowhere before".
// ---------------------------------------------------------------------

// K1 (was missed). A pool whose semaphore is made afresh, full, by a reset that may
// run while tokens of the old channel are out: a release gives the old
// token back into the new, full channel and waits.
type rpool struct {
	mu  sync.Mutex
	max int
	ch  chan struct{}
}

func (p *rpool) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ch = make(chan struct{}, p.max)
	for i := 0; i < p.max; i++ {
		p.ch <- struct{}{} // want `channel send while p.mu may be held`
	}
}

func (p *rpool) acquire() { <-p.ch }

func (p *rpool) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ch <- struct{}{} // want `channel send while p.mu may be held`
}

// K2 (was missed). A give-back that follows a send into the field made by a named
// helper of the package: two tokens for one take.
type hsem struct {
	mu sync.Mutex
	ch chan struct{}
}

func newHsem(n int) *hsem {
	s := &hsem{ch: make(chan struct{}, n)}
	for range n {
		s.ch <- struct{}{}
	}
	return s
}

func (s *hsem) acquire() { <-s.ch }

func (s *hsem) give() { s.ch <- struct{}{} }

func (s *hsem) releaseTwice() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.give()
	s.ch <- struct{}{} // want `channel send while s.mu may be held`
}

// K3 (was missed). A give-back in the body of a range-over-func loop: the iterator
// runs the body once a turn, so it gives back once a turn, and the loop's
// body is checked under the lock held at the loop.
func (s *hsem) releaseEach(seq iter.Seq[int]) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range seq {
		s.ch <- struct{}{} // want `channel send while s.mu may be held`
	}
}

// K3b (was missed). The same with a Seq2 iterator and the give-back on a
// branch of the body.
func (s *hsem) releaseNested(seq iter.Seq2[int, int]) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range seq {
		if k == v {
			s.ch <- struct{}{} // want `channel send while s.mu may be held`
		}
	}
}

// K4 (was missed). The token channel is handed on after the fill: kept in a package
// variable that another function sends into. A release may find the
// channel full.
type psem struct {
	mu sync.Mutex
	ch chan struct{}
}

var published chan struct{}

func newPsem(n int) *psem {
	s := &psem{ch: make(chan struct{}, n)}
	for range n {
		s.ch <- struct{}{}
	}
	published = s.ch
	return s
}

func bump() { published <- struct{}{} } // no lock held: not reported

func (s *psem) acquire() { <-s.ch }

func (s *psem) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ch <- struct{}{} // want `channel send while s.mu may be held`
}

// K5 (was missed). A struct of another type holding a channel handed in, converted
// through unsafe.Pointer to the token field's struct.
type usem struct {
	mu sync.Mutex
	ch chan struct{}
}

type uraw struct {
	mu sync.Mutex
	ch chan struct{}
}

func newUsem(n int) *usem {
	s := &usem{ch: make(chan struct{}, n)}
	for range n {
		s.ch <- struct{}{}
	}
	return s
}

func wrapUsem(q chan struct{}) *usem { return (*usem)(unsafe.Pointer(&uraw{ch: q})) }

func (s *usem) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ch <- struct{}{} // want `channel send while s.mu may be held`
}

// K6 (was missed). A zero value of the token field's struct: its channel is nil, and a
// send into a nil channel waits for ever.
type zsem struct {
	mu sync.Mutex
	ch chan struct{}
}

func newZsem(n int) *zsem {
	s := &zsem{ch: make(chan struct{}, n)}
	for range n {
		s.ch <- struct{}{}
	}
	return s
}

var defaultZsem zsem

func (s *zsem) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ch <- struct{}{} // want `channel send while s.mu may be held`
}

func releaseDefault() { defaultZsem.release() }

// K7. A helper that gives a token back, called twice in a row (not in a
// loop) for one take. Not reported, a limit the README names: a helper
// that gives a token back counts as giving back one each time it is
// called.
type tsem struct {
	mu sync.Mutex
	ch chan struct{}
}

func newTsem(n int) *tsem {
	s := &tsem{ch: make(chan struct{}, n)}
	for range n {
		s.ch <- struct{}{}
	}
	return s
}

func (s *tsem) acquire() { <-s.ch }

func (s *tsem) give() { s.ch <- struct{}{} }

func (s *tsem) takeOnceGiveTwice(mu *sync.Mutex) {
	s.acquire()
	mu.Lock()
	defer mu.Unlock()
	s.give()
	s.give() // not reported: the limit above
}

// K8. A generic pool filled lazily in a sync.Once and given back: not
// reported (the rule's own shape, on a generic type).
type gpool[T any] struct {
	mu   sync.Mutex
	once sync.Once
	max  int
	ch   chan struct{}
	item T
}

func (p *gpool[T]) lazy() {
	p.once.Do(func() {
		p.ch = make(chan struct{}, p.max)
		for i := 0; i < p.max; i++ {
			p.ch <- struct{}{}
		}
	})
}

func (p *gpool[T]) acquire() {
	p.lazy()
	<-p.ch
}

func (p *gpool[T]) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ch <- struct{}{}
}

// K9 (was missed). The make and the fill loop in the body of a
// range-over-func loop: the iterator runs them once a turn, and each turn
// makes a new full channel while tokens of the last may be out.
type lpool struct {
	mu  sync.Mutex
	max int
	ch  chan struct{}
}

func (p *lpool) fill(seq iter.Seq[int]) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for range seq {
		p.ch = make(chan struct{}, p.max)
		for i := 0; i < p.max; i++ {
			p.ch <- struct{}{} // want `channel send while p.mu may be held`
		}
	}
}

func (p *lpool) acquire() { <-p.ch }

// release after the iterator made a new full channel while a token of the
// old one was out: the same wait as K1.
func (p *lpool) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ch <- struct{}{} // want `channel send while p.mu may be held`
}
