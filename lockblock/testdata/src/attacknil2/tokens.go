package attacknil2

import "sync"

// K1 (was missed). Promise: "a queue loaded with its first items is no semaphore". One
// instance of the type is a semaphore made full of tokens; another instance
// of the same type, with its own new buffered channel of room for one, is
// a signal that a worker drains under the lock. A send of a constant into
// it is no give-back: nothing was taken from it, and it waits when the
// worker is behind.
type gate struct {
	mu sync.Mutex
	ch chan struct{}
	n  int
}

func newGateSem(n int) *gate {
	g := &gate{ch: make(chan struct{}, n)}
	for range n {
		g.ch <- struct{}{}
	}
	return g
}

func newGateSignal() *gate {
	g := &gate{ch: make(chan struct{}, 1)}
	go g.worker()
	return g
}

func (g *gate) worker() {
	for range g.ch {
		g.mu.Lock()
		g.n++
		g.mu.Unlock()
	}
}

func (g *gate) notify() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.ch <- struct{}{} // want `channel send while g.mu may be held`
}

// K2 (was missed). Promise: "if every value stored into the field in the package is a
// new buffered channel". Here a channel handed in is stored into the
// token field through a pointer to the field, passed to a setter.
type psem struct {
	mu sync.Mutex
	ch chan struct{}
}

func newPsem(n int) *psem {
	s := &psem{ch: make(chan struct{}, n)}
	for range n {
		s.ch <- struct{}{}
	}
	return s
}

func setChan(p *chan struct{}, c chan struct{}) { *p = c }

func (s *psem) attach(c chan struct{}) { setChan(&s.ch, c) }

func (s *psem) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ch <- struct{}{} // want `channel send while s.mu may be held`
}

// K3 (was missed). Promise: the fill loop fills "while the channel is new". The
// channel is made, handed to a goroutine that drains it under the lock,
// and only then stored into the field and filled under the lock: four
// sends into room for one wait for the drain, which waits for the lock.
type pipe struct {
	mu sync.Mutex
	ch chan struct{}
	n  int
}

func (p *pipe) drain(c chan struct{}) {
	for range c {
		p.mu.Lock()
		p.n++
		p.mu.Unlock()
	}
}

func (p *pipe) start() {
	c := make(chan struct{}, 1)
	go p.drain(c)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ch = c
	for range 4 {
		p.ch <- struct{}{} // want `channel send while p.mu may be held`
	}
}

// K3b. The same with the struct allocated after the channel was handed
// on: &pipe2{ch: c}, filled while the lock is held.
type pipe2 struct {
	ch chan struct{}
}

func startPipe2(mu *sync.Mutex) *pipe2 {
	c := make(chan struct{}, 1)
	go func() {
		for range c {
			mu.Lock()
			mu.Unlock()
		}
	}()
	p := &pipe2{ch: c}
	mu.Lock()
	defer mu.Unlock()
	for range 4 {
		p.ch <- struct{}{} // want `channel send while mu may be held`
	}
	return p
}

// K3c. A single send into a field just set to a buffered channel that
// another goroutine already filled: it waits for a receiver that needs
// the lock.
type slot struct {
	mu sync.Mutex
	ch chan int
}

func (s *slot) put() {
	c := make(chan int, 1)
	go func() { c <- 0 }()
	go func() {
		s.mu.Lock()
		<-c // want `channel receive while s.mu may be held`
		s.mu.Unlock()
	}()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ch = c
	s.ch <- 1 // want `channel send while s.mu may be held`
}

// K4. A refill loop that calls a helper whose constant send is not itself
// in a loop: each turn sends one more token, and the turns past the tokens
// that are out wait. Not reported, a limit the README names: a helper that
// gives a token back counts as giving back one each time it is called,
// also in a loop.
type rsem struct {
	mu sync.Mutex
	ch chan struct{}
}

func newRsem(n int) *rsem {
	s := &rsem{ch: make(chan struct{}, n)}
	for range n {
		s.ch <- struct{}{}
	}
	return s
}

func (s *rsem) acquire() { <-s.ch }

func (s *rsem) give() { s.ch <- struct{}{} }

func (s *rsem) refill(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.give() // not reported: the limit above
	}
}

// K4b. The same refill through a func literal called on each turn: the
// same limit.
func (s *rsem) refillLit(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		func() {
			s.ch <- struct{}{} // not reported: the limit above
		}()
	}
}

// K4c (was missed). The same refill through recursion: no loop in the
// control flow of any one function, but a function that calls itself
// gives back no token. The send in giveN holds no lock; its caller's call
// is reported.
func (s *rsem) giveN(n int) {
	if n == 0 {
		return
	}
	s.ch <- struct{}{}
	s.giveN(n - 1)
}

func (s *rsem) refillRec(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.giveN(n) // want `call to attacknil2.rsem.giveN.* while s.mu may be held`
}

// K5 (was missed). Promise: "its release gives back what acquire took". A release that
// sends two tokens for one take gives back more than was taken: the second
// send waits when the semaphore is full.
func (s *rsem) releaseTwice() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ch <- struct{}{}
	s.ch <- struct{}{} // want `channel send while s.mu may be held`
}

// K6 (was missed). The fill loop's own sends: the field is set to a new channel of
// room for one and filled four times under the lock, while a worker
// started earlier reads the field under the same lock and drains it: the
// second send waits for the worker, which waits for the lock.
type lazyFill struct {
	mu   sync.Mutex
	once sync.Once
	ch   chan struct{}
}

func newLazyFill() *lazyFill {
	l := &lazyFill{}
	go l.drain()
	return l
}

func (l *lazyFill) drain() {
	for {
		l.mu.Lock()
		ch := l.ch
		l.mu.Unlock()
		if ch != nil {
			<-ch
		}
	}
}

func (l *lazyFill) fill() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ch = make(chan struct{}, 1)
	for range 4 {
		l.ch <- struct{}{} // want `channel send while l.mu may be held`
	}
}

// K6b (was missed). The same fill made lazily in a sync.Once, run under the lock: the
// wait is in the literal that Do runs, so at the call of Do.
func (l *lazyFill) fillOnce() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.once.Do(func() { // want `l.mu may be held`
		l.ch = make(chan struct{}, 1)
		for range 4 {
			l.ch <- struct{}{}
		}
	})
}

// K7. A give-back as one case of a select without default, the other a
// receive: the select is reported as a select that may wait.
func (s *rsem) releaseSelect(done chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	select { // want `select.* while s.mu may be held`
	case s.ch <- struct{}{}:
	case <-done:
	}
}

// K7b (was missed). A select of one case without default is a plain send in SSA: the
// give-back of an over-release in that form (two per take), like K5.
func (s *rsem) releaseSelectTwice() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ch <- struct{}{}
	select {
	case s.ch <- struct{}{}: // want `channel send while s.mu may be held`
	}
}

// K8. A token field of a struct embedded in another, made in a composite
// literal of the inner struct and filled through the outer one: the fill
// is not recognised, so the release is reported (a report the promise
// does not remove; not a wait).
type inner struct {
	ch chan struct{}
}

type outer struct {
	mu sync.Mutex
	inner
}

func newOuter(n int) *outer {
	o := &outer{inner: inner{ch: make(chan struct{}, n)}}
	for range n {
		o.ch <- struct{}{}
	}
	return o
}

func (o *outer) acquire() { <-o.ch }

func (o *outer) release() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.ch <- struct{}{} // want `channel send while o.mu may be held`
}
