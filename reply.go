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

// Pending matches replies to requests: a caller sends a message carrying a
// [Reply] handle and waits; the consumer, having handled the message,
// answers through the handle. A webhook that answers with the agent's reply
// is the typical caller.
//
// At most max requests wait at once. A request's entry is removed on every
// way out of [Pending.Request] (reply, ctx ended, send refused, send
// panicked, Close), so no failure can leak a slot, and [Reply.Resolve]
// reports true if and only if the requester receives the reply.
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

// A Reply is the handle by which the consumer answers one request of a
// [Pending]. [Pending.Request] gives it to the send function, which puts it
// in the message; it is a small value, safe to copy into a message of any
// type and to use from any goroutine.
//
// The zero Reply belongs to no request: Wanted reports false and Resolve
// does nothing.
type Reply[R any] struct {
	p  *Pending[R]
	id uint64
}

// Wanted reports whether r belongs to a request, that is whether the
// message that carries it asked for a reply. It does not say whether the
// requester still waits; [Reply.Resolve] does.
func (r Reply[R]) Wanted() bool { return r.p != nil }

// Resolve delivers v to the request r belongs to and reports whether the
// requester receives it. It never blocks. Only the first Resolve of a
// request delivers; later ones, those for a request that has ended (timed
// out, canceled, closed), and those on the zero Reply report false.
func (r Reply[R]) Resolve(v R) bool {
	if r.p == nil {
		return false
	}
	return r.p.resolve(r.id, v)
}

// NewPending returns a Pending that lets at most max requests wait at
// once. It panics if max is not positive.
func NewPending[R any](max int) *Pending[R] {
	if max <= 0 {
		panic(fmt.Sprintf("fanin: NewPending called with max %d; it must be positive", max))
	}
	return &Pending[R]{max: max, closed: make(chan struct{}), waiters: map[uint64]chan R{}}
}

// Request registers a new request, calls send with its [Reply] handle, and
// waits for the reply that the consumer delivers with [Reply.Resolve].
// send puts a message carrying the handle in the stream, typically with
// [Sink.TrySend] or [Sink.Send]; if it returns an error, Request returns
// that error at once.
//
// Request returns the reply and nil, or else: [ErrTooManyPending] when max
// requests already wait (send is not called); send's error; ctx.Err() when
// ctx ends first, a timeout included; or [ErrClosed] after [Pending.Close].
// An error after a successful send means the message was delivered but its
// reply will not be received: the consumer's Resolve returns false. In
// every case, a panic in send included, the request's slot is released
// before Request returns.
//
// send must return nil if and only if it placed the message, as the
// methods of [Sink] do, and must not panic after placing it: a consumer
// may answer before send returns, and its Resolve then reports true,
// which is a promise that Request returns the reply.
func (p *Pending[R]) Request(ctx context.Context, send func(Reply[R]) error) (R, error) {
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

	// Every way out, a panic in send included (net/http recovers those),
	// must release the slot; release is a no-op once Resolve took it.
	released := false
	defer func() {
		if !released {
			p.release(id)
		}
	}()

	if err := send(Reply[R]{p, id}); err != nil {
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
	released = true
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

func (p *Pending[R]) resolve(id uint64, v R) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	ch, ok := p.waiters[id]
	if !ok {
		return false
	}
	delete(p.waiters, id)
	// ch has room for exactly this one reply and nobody else sends on it,
	// so the send cannot block; it happens under mu so that a Request that
	// gives up at the same moment finds either its entry or its reply.
	ch <- v //lockblock:ignore made with room for one reply, and only the resolve that deletes the entry sends
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
