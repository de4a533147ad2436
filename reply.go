package fanin

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// ErrTooManyPending is returned by [Pending.Request] when the maximum number
// of requests is already waiting for a reply. Nothing was sent.
var ErrTooManyPending = errors.New("fanin: too many pending requests")

// Pending matches replies to requests: a caller sends a message carrying an
// id and waits; the consumer, having handled the message, resolves the id
// with its reply. A webhook that answers with the agent's reply is the
// typical caller.
//
// At most max requests wait at once. A request's entry is removed on every
// way out of [Pending.Request] (reply, ctx ended, send refused, Close), so
// no failure can leak a slot, and Resolve reports true if and only if the
// requester receives the reply.
//
// A Pending is safe for simultaneous use by multiple goroutines and must not
// be copied after first use. Its zero value is not usable; call
// [NewPending].
type Pending[R any] struct {
	max    int
	closed chan struct{} // closed by Close

	mu      sync.Mutex
	next    uint64            // the last id handed out; guarded by mu
	waiters map[uint64]chan R // each has room for one reply; guarded by mu
	closing bool              // set by Close; guarded by mu
}

// NewPending returns a Pending that lets at most max requests wait at
// once. It panics if max is not positive.
func NewPending[R any](max int) *Pending[R] {
	if max <= 0 {
		panic(fmt.Sprintf("fanin: NewPending called with max %d; it must be positive", max))
	}
	return &Pending[R]{max: max, closed: make(chan struct{}), waiters: map[uint64]chan R{}}
}

// Request registers a new id, calls send with it, and waits for the reply
// that [Pending.Resolve] delivers for that id. send puts the message in the
// stream, typically with [Sender.TrySend] or [Sender.Send]; if it returns
// an error, Request returns that error at once.
//
// Request returns the reply and nil, or else: [ErrTooManyPending] when max
// requests already wait (send is not called); send's error; ctx.Err() when
// ctx ends first, a timeout included; or [ErrClosed] after [Pending.Close].
// An error after a successful send means the message was delivered but its
// reply will not be received: the consumer's Resolve returns false. In
// every case the id is released before Request returns.
func (p *Pending[R]) Request(ctx context.Context, send func(id uint64) error) (R, error) {
	var zero R
	p.mu.Lock()
	switch {
	case p.closing:
		p.mu.Unlock()
		return zero, ErrClosed
	case len(p.waiters) >= p.max:
		// The check and the registration below are one critical section,
		// so the cap cannot be overrun by callers racing past the check.
		p.mu.Unlock()
		return zero, ErrTooManyPending
	}
	p.next++
	id := p.next
	reply := make(chan R, 1)
	p.waiters[id] = reply
	p.mu.Unlock()

	if err := send(id); err != nil {
		p.release(id)
		return zero, err
	}
	var err error
	select {
	case r := <-reply:
		return r, nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-p.closed:
		err = ErrClosed
	}
	if p.release(id) {
		return zero, err
	}
	// Resolve took the entry first and has already put the reply in the
	// channel: it reported true, so the reply is delivered.
	return <-reply, nil
}

// release removes id and reports whether it was still registered.
func (p *Pending[R]) release(id uint64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.waiters[id]
	delete(p.waiters, id)
	return ok
}

// Resolve delivers reply to the request with the given id and reports
// whether a request was waiting for it. It never blocks. Only the first
// Resolve of an id delivers; later ones, and those for an id whose request
// has ended, report false.
func (p *Pending[R]) Resolve(id uint64, reply R) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	ch, ok := p.waiters[id]
	if !ok {
		return false
	}
	delete(p.waiters, id)
	// ch has room for exactly this one reply, so the send cannot block; it
	// happens under mu so that a Request that gives up at the same moment
	// finds either its entry or its reply.
	ch <- reply //lockblock:ignore made with room for one reply, and only the Resolve that deletes the entry sends
	return true
}

// Len returns the number of requests waiting for a reply.
func (p *Pending[R]) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.waiters)
}

// Close ends every waiting request with [ErrClosed], unless its reply is
// resolved first, and makes every later Request return ErrClosed. It is
// idempotent.
func (p *Pending[R]) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closing {
		p.closing = true
		close(p.closed)
	}
}
