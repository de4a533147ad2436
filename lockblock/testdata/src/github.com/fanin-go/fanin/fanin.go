// Package fanin is a stub of github.com/fanin-go/fanin for the tests of
// lockblock: the names and signatures of its API, with bodies that do not
// block, so that only the analyzer's list of blocking calls can make a
// call to them block.
package fanin

import "context"

type Channel[T any] struct{}

func (c *Channel[T]) Send(ctx context.Context, v T) error { return nil }
func (c *Channel[T]) TrySend(v T) error                   { return nil }
func (c *Channel[T]) Shutdown(ctx context.Context) error  { return nil }
func (c *Channel[T]) Sender() (*Sender[T], error)         { return nil, nil }
func (c *Channel[T]) Start() (<-chan T, error)            { return nil, nil }
func (c *Channel[T]) Len() int                            { return 0 }

type Sender[T any] struct{}

func (s *Sender[T]) Send(ctx context.Context, v T) error { return nil }
func (s *Sender[T]) TrySend(v T) error                   { return nil }
func (s *Sender[T]) Done() <-chan struct{}               { return nil }

// Sink is where an adapter puts values: Send waits for room, TrySend
// never does.
type Sink[T any] interface {
	Send(ctx context.Context, v T) error
	TrySend(v T) error
	Done() <-chan struct{}
}

type Limiter struct{}

func (l *Limiter) Wait(ctx context.Context) error { return nil }
func (l *Limiter) Allow() bool                    { return true }

type BatchPolicy int

func SendBatch[T any](ctx context.Context, s *Sender[T], lim *Limiter, batch []T, policy BatchPolicy) (int, error) {
	return 0, nil
}

type Group[T any] struct{}

func (g *Group[T]) Run(ctx context.Context) error                 { return nil }
func (g *Group[T]) Shutdown(ctx context.Context) error            { return nil }
func (g *Group[T]) Remove(ctx context.Context, name string) error { return nil }
func (g *Group[T]) Replace(ctx context.Context, a any) error      { return nil }
func (g *Group[T]) Status() []string                              { return nil }

type Stream[T any] struct{}

func (s *Stream[T]) Recv(ctx context.Context) (T, error) {
	var zero T
	return zero, nil
}

type Pending[R any] struct{}

func (p *Pending[R]) Request(ctx context.Context, send func(id uint64) error) (R, error) {
	var zero R
	return zero, nil
}
func (p *Pending[R]) Resolve(id uint64, reply R) bool { return false }
