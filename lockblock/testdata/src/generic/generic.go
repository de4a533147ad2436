// Package generic: locks and blocking operations in generic code.
package generic

import (
	"context"
	"sync"

	"github.com/fanin-go/fanin"
)

// Broadcaster fans values out to subscribers.
type Broadcaster[T any] struct {
	mu   sync.RWMutex
	subs []chan T
}

func (b *Broadcaster[T]) Publish(v T) { // want Publish:`mayBlock\(channel send at generic\.go:21\)`
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, ch := range b.subs {
		ch <- v // want `^channel send while b\.mu may be held \(read-locked at generic\.go:18\)`
	}
}

func (b *Broadcaster[T]) PublishFixed(v T) { // want PublishFixed:`mayBlock\(channel send at generic\.go:30\)`
	b.mu.RLock()
	subs := append([]chan T(nil), b.subs...)
	b.mu.RUnlock()
	for _, ch := range subs {
		ch <- v
	}
}

// forward blocks through fanin, generically.
func forward[T any](ctx context.Context, s fanin.Sink[T], v T) error {
	return s.Send(ctx, v)
}

// through blocks through a type parameter constrained by fanin.Sink.
func through[S fanin.Sink[T], T any](ctx context.Context, s S, v T) error {
	return s.Send(ctx, v)
}

// tryThrough cannot block.
func tryThrough[S fanin.Sink[T], T any](s S, v T) error {
	return s.TrySend(v)
}

type Box[T any] struct {
	mu   sync.Mutex
	sink fanin.Sink[T]
	last T
}

func (b *Box[T]) Put(ctx context.Context, v T) { // want Put:`mayBlock\(generic\.\w+ → call to fanin\.Sink\.Send at generic\.go:\d+\)`
	b.mu.Lock()
	defer b.mu.Unlock()
	b.last = v
	forward(ctx, b.sink, v)         // want `^call to generic\.forward, which may block \(call to fanin\.Sink\.Send at generic\.go:36\) while b\.mu may be held`
	through(ctx, b.sink, v)         // want `^call to generic\.through, which may block`
	_ = tryThrough(b.sink, v)       // cannot block
	forward[T](ctx, b.sink, b.last) // want `^call to generic\.forward, which may block`
}

// Instantiated with a concrete type, the callee is the same.
func useInt(ctx context.Context, mu *sync.Mutex, s fanin.Sink[int]) {
	mu.Lock()
	defer mu.Unlock()
	_ = forward[int](ctx, s, 1) // want `^call to generic\.forward, which may block .* while mu may be held`
	var b Broadcaster[int]
	b.Publish(1) // want `^call to generic\.Broadcaster\.Publish, which may block \(channel send at generic\.go:21\) while mu may be held`
}
