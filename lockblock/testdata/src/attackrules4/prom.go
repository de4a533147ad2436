package attackrules4

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// ---------------------------------------------------------------------
// The channel a Prometheus Collector's Collect or Describe is handed.
// Promise: only the parameter of Collect/Describe, or of an unexported
// helper "only called directly" that "every call hands such a
// parameter", is the registry's; "a channel of metrics that the program
// made, or that a function of its own is handed otherwise, is the
// program's, and counts".
// ---------------------------------------------------------------------

// C1 (was missed). A helper that locks and sends, called from Collect with its
// parameter and, through a bound method value, with a channel that the
// program made and drains under the same lock.
type mv struct {
	mu sync.Mutex
	m  prometheus.Metric
	n  int
}

func (s *mv) Describe(ch chan<- *prometheus.Desc) {}

func (s *mv) Collect(ch chan<- prometheus.Metric) { s.emit(ch) } // want Collect:`mayBlock\(attackrules4.mv.emit → channel send`

func (s *mv) emit(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch <- s.m // want `channel send while s.mu may be held`
}

func (s *mv) snapshot() {
	own := make(chan prometheus.Metric)
	go func() {
		for range own {
			s.mu.Lock()
			s.n++
			s.mu.Unlock()
		}
	}()
	f := s.emit
	f(own)
}

// C2 (was missed). The same helper reached through a method expression kept in a
// package variable: the variable's initializer hands the helper on.
type pv struct {
	mu sync.Mutex
	m  prometheus.Metric
}

var emitPV = (*pv).emit

func (s *pv) Describe(ch chan<- *prometheus.Desc) {}

func (s *pv) Collect(ch chan<- prometheus.Metric) { s.emit(ch) } // want Collect:`mayBlock\(attackrules4.pv.emit → channel send`

func (s *pv) emit(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch <- s.m // want `channel send while s.mu may be held`
}

func (s *pv) dump(own chan prometheus.Metric) { emitPV(s, own) }

// C3 (was missed). Collect starts a goroutine that sends into the channel after
// Collect has returned: the registry no longer reads it, and the send
// waits for ever with the lock held.
type late struct {
	mu sync.Mutex
	m  prometheus.Metric
}

func (l *late) Describe(ch chan<- *prometheus.Desc) {}

func (l *late) Collect(ch chan<- prometheus.Metric) {
	go l.sendLater(ch)
}

func (l *late) sendLater(ch chan<- prometheus.Metric) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ch <- l.m // want `channel send while l.mu may be held`
}

// C4. Collect keeps its channel in a field; another goroutine sends into
// it later under the lock.
type kept struct {
	mu  sync.Mutex
	m   prometheus.Metric
	out chan<- prometheus.Metric
}

func (k *kept) Describe(ch chan<- *prometheus.Desc) {}

func (k *kept) Collect(ch chan<- prometheus.Metric) {
	k.mu.Lock()
	k.out = ch
	k.mu.Unlock()
}

func (k *kept) flush() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.out <- k.m // want `channel send while k.mu may be held`
}

// C5. A helper given the Collect parameter from Collect and, from a
// func literal that captures it, the program's own channel.
type lit struct {
	mu sync.Mutex
	m  prometheus.Metric
}

func (s *lit) Describe(ch chan<- *prometheus.Desc) {}

func (s *lit) Collect(ch chan<- prometheus.Metric) { s.emit(ch) } // want Collect:`mayBlock\(attackrules4.lit.emit → channel send`

func (s *lit) emit(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch <- s.m // want `channel send while s.mu may be held`
}

func (s *lit) dump() {
	own := make(chan prometheus.Metric)
	f := func() { s.emit(own) }
	f()
}

// C6 (was missed). Recursion through a Collect helper: the helper calls itself with
// the parameter, and is called through a bound method value with the
// program's own channel.
type rec struct {
	mu sync.Mutex
	m  prometheus.Metric
}

func (s *rec) Describe(ch chan<- *prometheus.Desc) {}

func (s *rec) Collect(ch chan<- prometheus.Metric) { s.walk(ch, 2) } // want Collect:`mayBlock\(attackrules4.rec.walk → channel send`

func (s *rec) walk(ch chan<- prometheus.Metric, n int) {
	s.mu.Lock()
	ch <- s.m // want `channel send while s.mu may be held`
	s.mu.Unlock()
	if n > 0 {
		s.walk(ch, n-1)
	}
}

func (s *rec) dump(own chan prometheus.Metric) {
	g := s.walk
	g(own, 1)
}

// C7 (was missed). Mutual recursion of two helpers with no call from a Collect at all,
// entered through a bound method value with the program's channel.
type mutual struct {
	mu sync.Mutex
	m  prometheus.Metric
}

func (s *mutual) ping(ch chan<- prometheus.Metric, n int) {
	s.mu.Lock()
	ch <- s.m // want `channel send while s.mu may be held`
	s.mu.Unlock()
	if n > 0 {
		s.pong(ch, n-1)
	}
}

func (s *mutual) pong(ch chan<- prometheus.Metric, n int) {
	if n > 0 {
		s.ping(ch, n-1)
	}
}

func (s *mutual) run(own chan prometheus.Metric) {
	h := s.ping
	h(own, 3)
}

// C8 (was missed). The program calls its own Collect with a channel it made, and
// reads that channel under the lock that Collect holds while it sends.
type self struct {
	mu sync.Mutex
	m  prometheus.Metric
	n  int
}

func (s *self) Describe(ch chan<- *prometheus.Desc) {}

func (s *self) Collect(ch chan<- prometheus.Metric) { // want Collect:`mayBlock\(channel send`
	s.mu.Lock()
	defer s.mu.Unlock()
	ch <- s.m // want `channel send while s.mu may be held`
}

func (s *self) count() {
	own := make(chan prometheus.Metric)
	go func() {
		s.Collect(own)
		close(own)
	}()
	for range own {
		s.mu.Lock()
		s.n++
		s.mu.Unlock()
	}
}

// C9. A Collect method of a generic collector: its parameter is the
// registry's (not reported).
type gcoll[T any] struct {
	mu sync.Mutex
	m  prometheus.Metric
	v  T
}

func (g *gcoll[T]) Describe(ch chan<- *prometheus.Desc) {}

func (g *gcoll[T]) Collect(ch chan<- prometheus.Metric) {
	g.mu.Lock()
	defer g.mu.Unlock()
	ch <- g.m
}

var _ prometheus.Collector = (*gcoll[int])(nil)

// C10. A range-over-func body in Collect that sends into the parameter:
// the body's channel is Collect's. It is reported (the body sees the
// parameter as a captured variable): a false positive, not a dropped
// report; the want records what lockblock does.
type seqColl struct {
	mu sync.Mutex
	ms []prometheus.Metric
}

func (s *seqColl) all(yield func(prometheus.Metric) bool) {
	for _, m := range s.ms {
		if !yield(m) {
			return
		}
	}
}

func (s *seqColl) Describe(ch chan<- *prometheus.Desc) {}

func (s *seqColl) Collect(ch chan<- prometheus.Metric) { // want Collect:`mayBlock\(channel send`
	s.mu.Lock()
	defer s.mu.Unlock()
	for m := range s.all {
		ch <- m // want `channel send while s.mu may be held`
	}
}
