// Package attackfanin checks fanin's blocking calls reached in several
// shapes.
package attackfanin

import (
	"context"
	"sync"

	"github.com/fanin-go/fanin"
)

type mySink interface {
	fanin.Sink[int]
	Close()
}

type a struct {
	mu sync.Mutex
	*fanin.Sender[int]
	s mySink
}

func (x *a) f(ctx context.Context, sk fanin.Sink[int], lim *fanin.Limiter) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.s.Send(ctx, 1) // want `call to fanin.Sink.Send, which waits for room in the sink while x.mu may be held`
	x.Send(ctx, 1)   // want `call to fanin.Sender.Send, which waits for room in the stream while x.mu may be held`
	send := sk.Send
	send(ctx, 1)                     // want `call to fanin.Sink.Send`
	fanin.Sink[int].Send(sk, ctx, 1) // want `call to fanin.Sink.Send`
	x.TrySend(1)
	sk.TrySend(1)
	lim.Wait(ctx) // want `call to fanin.Limiter.Wait, which waits for a token`
}
