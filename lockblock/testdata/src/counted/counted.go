// Package counted holds channels made with room for every value they are
// ever sent: no send into one waits, whoever receives.
package counted

import (
	"errors"
	"sync"
	"time"
)

type store struct {
	mu     sync.Mutex
	locked bool
	take   func() error
}

// lock is golang-migrate's shape: a deferred send of the one value its
// timer goroutine may receive, and a queue of two for two goroutines'
// one answer each; only the receive from it waits.
func (s *store) lock(timeout time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	done := make(chan bool, 1)
	defer func() {
		done <- true
	}()
	errc := make(chan error, 2)
	after := time.After(timeout)
	go func() {
		select {
		case <-done:
		case <-after:
			errc <- errors.New("timed out")
		}
	}()
	go func() {
		errc <- s.take()
	}()
	err := <-errc // want `channel receive while s.mu may be held`
	s.locked = err == nil
	return err
}

// answers sends two values into a channel with room for two, one of them
// from a goroutine that only sends once.
func (s *store) answers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan int, 2)
	go func() {
		ch <- 1
	}()
	ch <- 2
	if len(ch) == cap(ch) {
		close(ch)
	}
	return 0
}

// direct sends into a channel that nothing captures.
func (s *store) direct() chan int {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan int, 1)
	ch <- 1
	return nil
}

// remade makes its sending literal afresh on each turn of a loop, but
// only the last one made is called, once, after the loop: one send.
func (s *store) remade(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan int, 1)
	var send func()
	i := 0
again:
	send = func() { ch <- 1 }
	if i++; i < n {
		goto again
	}
	send()
}

// floated gives its capacity as a float constant that is a whole number.
func (s *store) floated() {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan int, 1.0)
	go func() { <-ch }()
	ch <- 1
}
