package fanin

import "context"

// A Sink is where an adapter sends its values: the sending half of one run
// of a stream. [*Sender] is the Sink of a [Channel]'s run; a [Group] hands
// each adapter a Sink for its lane; [Map] converts the values of a Sink.
// Adapters depend on this interface rather than on *Sender so that they can
// join a stream of another message type and be tested against a fake.
//
// Every implementation in this package keeps the contract of [Sender]: Send
// and TrySend return nil if and only if the value was placed in the stream,
// and Done is closed when the run is shut down. A fake written for a test
// should keep it too.
type Sink[T any] interface {
	// Send places v in the stream, waiting for room; see [Sender.Send].
	Send(ctx context.Context, v T) error
	// TrySend places v in the stream if there is room now and never
	// waits; see [Sender.TrySend].
	TrySend(v T) error
	// Done is closed when the run is shut down; see [Sender.Done].
	Done() <-chan struct{}
}

// Map returns an adapter that runs a, an adapter of another message type,
// and converts each value it sends with f before it enters the stream. f
// runs in the sending goroutine, so Map adds no goroutine and no buffer, and
// the mapped sends keep every guarantee of [Sender.Send]: the converted
// value is in the stream if and only if the send returns nil. f must not
// block.
//
// The returned adapter has a's name, and is a [Starter] whose Start calls
// a's Start if a has one.
func Map[T, U any](a Adapter[U], f func(U) T) Adapter[T] {
	return mapAdapter[T, U]{a, f}
}

type mapAdapter[T, U any] struct {
	a Adapter[U]
	f func(U) T
}

func (m mapAdapter[T, U]) Name() string { return m.a.Name() }

func (m mapAdapter[T, U]) Start(ctx context.Context) error {
	if s, ok := m.a.(Starter); ok {
		return s.Start(ctx)
	}
	return nil
}

func (m mapAdapter[T, U]) Run(ctx context.Context, s Sink[T]) error {
	return m.a.Run(ctx, MapSink(s, m.f))
}

// MapSink returns a Sink of U values that converts each with f and sends the
// result into s. It is the Sink that [Map] hands to the adapter it wraps.
func MapSink[T, U any](s Sink[T], f func(U) T) Sink[U] {
	return mapSink[T, U]{s, f}
}

type mapSink[T, U any] struct {
	s Sink[T]
	f func(U) T
}

func (m mapSink[T, U]) Send(ctx context.Context, v U) error { return m.s.Send(ctx, m.f(v)) }
func (m mapSink[T, U]) TrySend(v U) error                   { return m.s.TrySend(m.f(v)) }
func (m mapSink[T, U]) Done() <-chan struct{}               { return m.s.Done() }
func (m mapSink[T, U]) countRateLimited()                   { countRateLimited(m.s) }
