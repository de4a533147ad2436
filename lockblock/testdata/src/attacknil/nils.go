package attacknil

import (
	"errors"
	"sync"
)

// ---------------------------------------------------------------------
// Rule 1: a branch on a result that is always the constant nil is never
// taken. Each case states the promise.
// ---------------------------------------------------------------------

type svc struct {
	mu   sync.Mutex
	done chan struct{}
	bad  bool
}

func (s *svc) stop() { <-s.done }

func (s *svc) start() error {
	go func() { s.done <- struct{}{} }()
	return nil
}

// N1. An interface call: another implementation may
// fail, so the branch may be taken.
type starter interface{ start() error }

func (s *svc) viaIface(st starter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := st.start(); err != nil {
		s.stop() // want `call to attacknil.svc.stop.* while s.mu may be held`
	}
}

// N2. Two results, only the second always nil: a test
// of the first may be taken.
func (s *svc) pair() (*int, error) {
	if s.bad {
		return new(int), nil
	}
	return nil, nil
}

func (s *svc) usePair() {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.pair()
	if err != nil {
		s.stop() // never taken: not reported
	}
	if v != nil {
		s.stop() // want `call to attacknil.svc.stop.* while s.mu may be held`
	}
}

// N3. The first result always nil, the second not:
// the test of the second is taken.
func (s *svc) pair2() (*int, error) {
	if s.bad {
		return nil, errors.New("bad")
	}
	return nil, nil
}

func (s *svc) usePair2() {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.pair2()
	if v != nil {
		s.stop() // never taken: not reported
	}
	if err != nil {
		s.stop() // want `call to attacknil.svc.stop.* while s.mu may be held`
	}
}

// N4. A named result that a deferred function sets
// when it recovers a panic: the error is not always nil.
func (s *svc) named() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errors.New("recovered")
		}
	}()
	if s.bad {
		panic("bad")
	}
	return nil
}

func (s *svc) useNamed() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.named(); err != nil {
		s.stop() // want `call to attacknil.svc.stop.* while s.mu may be held`
	}
}

// N5. A named result set through its address by a
// deferred call.
func setErr(p *error, bad bool) {
	if bad {
		*p = errors.New("bad")
	}
}

func (s *svc) namedAddr() (err error) {
	defer setErr(&err, s.bad)
	return nil
}

func (s *svc) useNamedAddr() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.namedAddr(); err != nil {
		s.stop() // want `call to attacknil.svc.stop.* while s.mu may be held`
	}
}

// N6. A typed nil pointer converted where it is
// returned: not the constant nil.
type myErr struct{}

func (*myErr) Error() string { return "mine" }

func (s *svc) typedNil() error { return (*myErr)(nil) }

func (s *svc) useTypedNil() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.typedNil(); err != nil {
		s.stop() // want `call to attacknil.svc.stop.* while s.mu may be held`
	}
}

// N7. A typed nil pointer that the caller converts to
// an error: the pointer is nil, the error is not.
func (s *svc) nilPtr() *myErr { return nil }

func (s *svc) useNilPtr() {
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error = s.nilPtr()
	if err != nil {
		s.stop() // want `call to attacknil.svc.stop.* while s.mu may be held`
	}
}

// N8. A function that panics on some paths and
// returns nil on the others: the branch is never taken.
func (s *svc) orPanic() error {
	if s.bad {
		panic("bad")
	}
	return nil
}

func (s *svc) useOrPanic() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.orPanic(); err != nil {
		s.stop()
	}
}

// N9. A lock let go only in the branch that is never
// taken: it is held at the receive.
func (s *svc) unlockInDeadBranch() {
	s.mu.Lock()
	if err := s.start(); err != nil {
		s.mu.Unlock()
		return
	}
	<-s.done // want `channel receive while s.mu may be held`
	s.mu.Unlock()
}

// N10. A nil channel returned always: receiving from
// it blocks for ever, and it is reached.
func (s *svc) nilChan() chan int { return nil }

func (s *svc) useNilChan() {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.nilChan()
	if c == nil {
		<-c // want `channel receive while s.mu may be held`
	}
}

// N11. A function value that is reassigned: not a
// static callee.
func (s *svc) fails() error { return errors.New("x") }

func (s *svc) useFuncVar() {
	f := s.start
	if s.bad {
		f = s.fails
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := f(); err != nil {
		s.stop() // want `call to attacknil.svc.stop.* while s.mu may be held`
	}
}

// N12. Recursion that may fail at the bottom.
func (s *svc) rec(n int) error {
	if n > 0 {
		return s.rec(n - 1)
	}
	if s.bad {
		return errors.New("bad")
	}
	return nil
}

func (s *svc) useRec() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.rec(3); err != nil {
		s.stop() // want `call to attacknil.svc.stop.* while s.mu may be held`
	}
}

// N13. The summary: a helper whose failure branch waits, called under a
// lock by another function. The helper's failure comes from an
// interface: the caller is reported.
func (s *svc) openVia(st starter) error {
	if err := st.start(); err != nil {
		s.stop()
		return err
	}
	return nil
}

func (s *svc) callOpenVia(mu *sync.Mutex, st starter) {
	mu.Lock()
	defer mu.Unlock()
	_ = s.openVia(st) // want `call to attacknil.svc.openVia.* while mu may be held`
}

// N14. A func-typed result always nil: the branch
// that calls it is never taken.
func (s *svc) hook() func() { return nil }

func (s *svc) useHook() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h := s.hook(); h != nil {
		s.stop()
	}
}

// N15 (was reported at both stop calls). A generic method that never fails (a function of the package that
// always returns the constant nil): the branch is never taken, so the
// report is not wanted. A report here is a kept false positive.
type gsvc[T any] struct {
	mu   sync.Mutex
	done chan T
}

func (g *gsvc[T]) start() error { return nil }

func (g *gsvc[T]) stop() { <-g.done }

func (g *gsvc[T]) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.start(); err != nil {
		g.stop()
	}
}

func useGeneric(g *gsvc[int]) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.start(); err != nil {
		g.stop()
	}
}

// N16 (was reported). A generic function that never fails, called with a type argument.
func noFail[T any](x T) error { return nil }

func (s *svc) useNoFail() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := noFail(3); err != nil {
		s.stop()
	}
}

// N17 (was reported). A bound method value of a function that never fails: the branch
// is never taken. A report here is a kept false positive.
func (s *svc) useMethodValue() {
	f := s.start
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := f(); err != nil {
		s.stop()
	}
}

// N18. The test is on a variable that another branch
// sets to a failing call: a phi.
func (s *svc) usePhi() {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.start()
	if s.bad {
		err = s.fails()
	}
	if err != nil {
		s.stop() // want `call to attacknil.svc.stop.* while s.mu may be held`
	}
}
