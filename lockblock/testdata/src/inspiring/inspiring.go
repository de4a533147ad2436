// Package inspiring is the deadlock that fanin was born from, written as
// users write it in their adapters, and its fix.
package inspiring

import (
	"context"
	"errors"
	"sync"
)

var errStopped = errors.New("stopped")

// Adapter forwards messages into the stream of the current run. Restart
// and Stop take the write lock to swap the stream.
type Adapter struct {
	mu  sync.RWMutex
	out chan string // nil when stopped; guarded by mu
}

// Deliver holds the read lock across a send that blocks while the buffer
// is full; Stop then waits for the write lock for ever, and so does every
// later Deliver.
func (a *Adapter) Deliver(msg string) error { // want Deliver:`mayBlock\(channel send at inspiring\.go:29\)`
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.out == nil {
		return errStopped
	}
	a.out <- msg // want `^channel send while a\.mu may be held \(read-locked at inspiring\.go:24\): copy what you need out of the lock and unlock it before the send$`
	return nil
}

// DeliverFixed copies the channel out under the lock, unlocks, then sends.
func (a *Adapter) DeliverFixed(ctx context.Context, msg string) error { // want DeliverFixed:`mayBlock\(select without a default case at inspiring\.go:41\)`
	a.mu.RLock()
	out := a.out
	a.mu.RUnlock()
	if out == nil {
		return errStopped
	}
	select {
	case out <- msg:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stop takes the write lock: it never blocks while holding it.
func (a *Adapter) Stop() {
	a.mu.Lock()
	if a.out != nil {
		close(a.out)
		a.out = nil
	}
	a.mu.Unlock()
}
