package pathsense

import (
	"errors"
	"sync"
)

// A pool whose semaphore is made lazily, in a func literal run once, and
// filled with tokens in the same literal: a connection given back sends
// its token back, and that send always has room.
type connPool struct {
	mu       sync.Mutex
	initOnce sync.Once
	max      int
	closed   bool
	ch       chan struct{}
	idle     []int
}

func (p *connPool) lazyInit() {
	p.initOnce.Do(func() {
		p.ch = make(chan struct{}, p.max)
		if p.closed {
			close(p.ch)
		} else {
			for i := 0; i < p.max; i++ {
				p.ch <- struct{}{}
			}
		}
	})
}

func (p *connPool) get() int {
	p.lazyInit()
	<-p.ch
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.idle); n > 0 {
		c := p.idle[n-1]
		p.idle = p.idle[:n-1]
		return c
	}
	return 0
}

// put gives the token back under the lock: not reported.
func (p *connPool) put(c int) {
	p.mu.Lock()
	p.idle = append(p.idle, c)
	if p.ch != nil && !p.closed {
		p.ch <- struct{}{}
	}
	p.mu.Unlock()
}

// A queue made in one function and filled with constants by a loop in
// another, while the queue may already be in use: its sends may find it
// full.
type refilled struct {
	mu sync.Mutex
	ch chan struct{}
}

func (r *refilled) init(n int) {
	r.ch = make(chan struct{}, n)
}

func (r *refilled) refill(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for range n {
		r.ch <- struct{}{} // want `channel send while r.mu may be held`
	}
}

// A loop that fills a field with constants after it was last set to a
// value that is not a new channel fills a channel that may be shared.
type handedIn struct {
	mu sync.Mutex
	ch chan struct{}
}

func (h *handedIn) fill(ch chan struct{}, n int) {
	h.ch = ch
	h.mu.Lock()
	defer h.mu.Unlock()
	for range n {
		h.ch <- struct{}{} // want `channel send while h.mu may be held`
	}
}

// A helper that never fails: the branch on its error is never taken, so
// its caller does not wait in the cleanup that the branch would run.
type syncer struct {
	mu   sync.Mutex
	done chan struct{}
}

func (s *syncer) start() error {
	go func() { s.done <- struct{}{} }()
	return nil
}

func (s *syncer) stop() { <-s.done }

func (s *syncer) open() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.start(); err != nil {
		s.stop()
		return err
	}
	return nil
}

// openTwo fails with a helper that may fail: reported.
func (s *syncer) openTwo() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.mayFail(); err != nil {
		s.stop() // want `call to pathsense.syncer.stop.* while s.mu may be held`
		return err
	}
	return nil
}

func (s *syncer) mayFail() error {
	if s.done == nil {
		return errors.New("no channel")
	}
	return nil
}

// A typed nil pointer returned as an error is not a nil error.
type myErr struct{}

func (*myErr) Error() string { return "mine" }

func (s *syncer) typedNil() error {
	var e *myErr
	return e
}

func (s *syncer) openTyped() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.typedNil(); err != nil {
		s.stop() // want `call to pathsense.syncer.stop.* while s.mu may be held`
	}
}

// The caller of a helper that never fails does not wait through it.
func (s *syncer) reopen(mu *sync.Mutex) {
	mu.Lock()
	defer mu.Unlock()
	_ = s.openNoWait()
}

func (s *syncer) openNoWait() error {
	if err := s.start(); err != nil {
		s.stop()
		return err
	}
	return nil
}

// A pool filled lazily past its capacity: the fill stops at p.max, but
// the channel has room for one, so the fill is no semaphore's and a
// release under the lock may wait.
type overPool struct {
	mu   sync.Mutex
	once sync.Once
	max  int
	ch   chan struct{}
}

func (p *overPool) lazyInit() {
	p.once.Do(func() {
		p.ch = make(chan struct{}, 1)
		for i := 0; i < p.max; i++ {
			p.ch <- struct{}{}
		}
	})
}

func (p *overPool) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ch <- struct{}{} // want `channel send while p.mu may be held`
}

// A requeue: the job taken is put back, into a queue that other senders
// fill too, so it may be full again by then.
type jobQueue struct {
	mu   sync.Mutex
	jobs chan int
	done int
}

func newJobQueue(n int) *jobQueue { return &jobQueue{jobs: make(chan int, n)} }

func (q *jobQueue) add(j int) { q.jobs <- j }

func (q *jobQueue) retry(fail bool) {
	j := <-q.jobs
	q.mu.Lock()
	defer q.mu.Unlock()
	if fail {
		q.jobs <- j // want `channel send while q.mu may be held`
		return
	}
	q.done++
}
