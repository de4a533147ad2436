// Package methodvalue: blocking methods called through method values and
// method expressions.
package methodvalue

import (
	"context"
	"sync"

	"github.com/fanin-go/fanin"
)

type T struct {
	mu sync.Mutex
	ch chan int
	s  *fanin.Sender[int]
}

func (t *T) flush() { t.ch <- 0 }

func (t *T) count() int { return len(t.ch) }

func (t *T) values(ctx context.Context) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.flush
	f() // want `^call to methodvalue\.T\.flush, which may block \(channel send at methodvalue\.go:18\) while t\.mu may be held`
	send := t.s.Send
	send(ctx, 1) // want `^call to fanin\.Sender\.Send, which waits for room in the stream while t\.mu may be held`
	g := (*T).flush
	g(t) // want `^call to methodvalue\.T\.flush, which may block`
	n := t.count
	_ = n() // cannot block
	try := t.s.TrySend
	_ = try(1) // cannot block
}

// Through an interface's method value: only fanin.Sink.Send is known to
// block.
func ifaceValue(ctx context.Context, mu *sync.Mutex, sink fanin.Sink[int]) {
	mu.Lock()
	defer mu.Unlock()
	send := sink.Send
	send(ctx, 1) // want `^call to fanin\.Sink\.Send, which waits for room in the sink while mu may be held`
	try := sink.TrySend
	_ = try(1)
}

// Locking through a method value of the mutex.
func lockValue(mu *sync.Mutex, ch chan int) {
	lock, unlock := mu.Lock, mu.Unlock
	lock()
	ch <- 1 // want `^channel send while mu may be held`
	unlock()
	ch <- 2
}
