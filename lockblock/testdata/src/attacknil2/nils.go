// Package attacknil2 holds a second round of cases for two rules:
// branches on results that are always the constant nil (nils.go), and
// sends into token fields (tokens.go). Each case states the promise it
// checks; "was missed" marks a real wait under a lock that is not
// reported.
package attacknil2

import (
	"errors"
	"sync"
)

type svc struct {
	mu      sync.Mutex
	done    chan struct{}
	bad     bool
	startFn func() error
}

func (s *svc) stop() { <-s.done }

func (s *svc) start() error { return nil }

func (s *svc) fails() error { return errors.New("x") }

// M1. A helper that returns, on one path, the result of a call that always
// returns nil and, on the other, a call that may fail: its result is not
// always nil, so the branch may be taken.
func (s *svc) either() error {
	if s.bad {
		return s.start()
	}
	return s.fails()
}

func (s *svc) useEither() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.either(); err != nil {
		s.stop() // want `call to attacknil2.svc.stop.* while s.mu may be held`
	}
}

// M2. A result that flows through a local phi of a nil-result call and a
// failing call inside the helper: not a constant nil at the return.
func (s *svc) phiRet() error {
	err := s.start()
	if s.bad {
		err = s.fails()
	}
	return err
}

func (s *svc) usePhiRet() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.phiRet(); err != nil {
		s.stop() // want `call to attacknil2.svc.stop.* while s.mu may be held`
	}
}

// M3. A func value kept in a struct field: not the called function of the
// package; another may be stored there.
func (s *svc) useField() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.startFn(); err != nil {
		s.stop() // want `call to attacknil2.svc.stop.* while s.mu may be held`
	}
}

func (s *svc) setFn() { s.startFn = s.fails }

// M4. A method promoted from an embedded interface, called through a method
// value of the wrapper: the call goes through the interface, whose other
// implementations may fail.
type starter interface{ start() error }

type wrapper struct {
	starter
	mu sync.Mutex
	s  *svc
}

func (w *wrapper) useWrapper() {
	f := w.start
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := f(); err != nil {
		w.s.stop() // want `call to attacknil2.svc.stop.* while w.mu may be held`
	}
}

// M5. A method promoted from an embedded struct pointer whose start always
// returns nil: the branch is never taken (no report).
type outerSvc struct {
	*svc
	omu sync.Mutex
}

func (o *outerSvc) usePromoted() {
	o.omu.Lock()
	defer o.omu.Unlock()
	if err := o.start(); err != nil {
		o.stop()
	}
}

// M6. A callee that loops for ever on some paths and returns nil on the
// others: the branch is never taken (no report).
func (s *svc) spinOrNil() error {
	for s.bad {
	}
	return nil
}

func (s *svc) useSpin() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.spinOrNil(); err != nil {
		s.stop()
	}
}

// M7. A callee whose defer recovers and whose unnamed result is set by a
// return statement before a deferred call panics: the return statement
// gives a non-nil error, so it is not always nil.
func (s *svc) deferredPanic() error {
	defer func() { recover() }()
	defer func() {
		if s.bad {
			panic("x")
		}
	}()
	return s.fails()
}

func (s *svc) useDeferredPanic() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.deferredPanic(); err != nil {
		s.stop() // want `call to attacknil2.svc.stop.* while s.mu may be held`
	}
}

// M8. A closure called directly that returns a variable it captures, which
// the caller sets to a failing error: not a constant nil.
func (s *svc) useCaptured() {
	var e error
	get := func() error { return e }
	if s.bad {
		e = s.fails()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := get(); err != nil {
		s.stop() // want `call to attacknil2.svc.stop.* while s.mu may be held`
	}
}

// M9. The summary: a helper whose failure branch waits, where the error
// comes from a func value of a parameter: its caller under a lock is
// reported.
func (s *svc) openWith(f func() error) error {
	if err := f(); err != nil {
		s.stop()
		return err
	}
	return nil
}

func (s *svc) callOpenWith(mu *sync.Mutex) {
	mu.Lock()
	defer mu.Unlock()
	_ = s.openWith(s.fails) // want `call to attacknil2.svc.openWith.* while mu may be held`
}

// M10. An error result converted from a generic type parameter that is
// an interface: the zero value of T returned as an error when T is error
// is nil, but when T is a pointer type it is a typed nil, not nil.
type pe struct{}

func (*pe) Error() string { return "pe" }

func zeroAs[T error]() error {
	var z T
	return z
}

func (s *svc) useZeroAs() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := zeroAs[*pe](); err != nil {
		s.stop() // want `call to attacknil2.svc.stop.* while s.mu may be held`
	}
}

// M11. Mutual recursion between two functions that may fail at the bottom.
func (s *svc) ping(n int) error {
	if n == 0 {
		return s.fails()
	}
	return s.pong(n - 1)
}

func (s *svc) pong(n int) error {
	if n == 0 {
		return nil
	}
	return s.ping(n - 1)
}

func (s *svc) usePing() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.pong(3); err != nil {
		s.stop() // want `call to attacknil2.svc.stop.* while s.mu may be held`
	}
}
