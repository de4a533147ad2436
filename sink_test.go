package fanin

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"testing"
)

var _ Sink[int] = (*Sender[int])(nil)

// fakeSink records what an adapter sends; it is how an adapter is tested
// without a Channel.
type fakeSink[T any] struct {
	got  []T
	err  error // returned by every send when set
	done chan struct{}
}

func (f *fakeSink[T]) Send(_ context.Context, v T) error { return f.TrySend(v) }
func (f *fakeSink[T]) TrySend(v T) error {
	if f.err != nil {
		return f.err
	}
	f.got = append(f.got, v)
	return nil
}
func (f *fakeSink[T]) Done() <-chan struct{} { return f.done }

// startCounter is an adapter of ints with a Start step.
type startCounter struct{ starts int }

func (a *startCounter) Name() string                { return "counter" }
func (a *startCounter) Start(context.Context) error { a.starts++; return nil }
func (a *startCounter) Run(ctx context.Context, s Sink[int]) error {
	for i := range 3 {
		if err := s.Send(ctx, i); err != nil {
			return err
		}
	}
	return s.TrySend(3)
}

func TestMapConvertsEverySend(t *testing.T) {
	inner := &startCounter{}
	a := Map(inner, strconv.Itoa)
	if a.Name() != "counter" {
		t.Errorf("Name = %q, want the wrapped adapter's name", a.Name())
	}
	st, ok := a.(Starter)
	if !ok {
		t.Fatal("Map of a Starter is not a Starter")
	}
	if err := st.Start(context.Background()); err != nil || inner.starts != 1 {
		t.Errorf("Start = %v with %d inner starts, want nil and 1", err, inner.starts)
	}
	sink := &fakeSink[string]{done: make(chan struct{})}
	if err := a.Run(context.Background(), sink); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	if want := []string{"0", "1", "2", "3"}; !slices.Equal(sink.got, want) {
		t.Errorf("sent %q, want %q", sink.got, want)
	}

	// Refusals come back unchanged, and Done is the outer sink's.
	refused := &fakeSink[string]{err: ErrFull, done: make(chan struct{})}
	if err := a.Run(context.Background(), refused); !errors.Is(err, ErrFull) {
		t.Errorf("Run into a full sink = %v, want ErrFull", err)
	}
	if MapSink(refused, strconv.Itoa).Done() != (<-chan struct{})(refused.done) {
		t.Error("MapSink's Done is not the wrapped sink's Done")
	}

	// An adapter without Start still gets a Start that does nothing.
	plain := Map(AdapterFunc("plain", func(context.Context, Sink[int]) error { return nil }), strconv.Itoa)
	if err := plain.(Starter).Start(context.Background()); err != nil {
		t.Errorf("Start of a mapped adapter without Start = %v, want nil", err)
	}
}

// TestMapIntoChannel: the converted value is in the stream if and only if
// the mapped send returned nil.
func TestMapIntoChannel(t *testing.T) {
	c := New[string](2)
	stream := mustStart(t, c)
	s, _ := c.Sender()
	ms := MapSink(Sink[string](s), strconv.Itoa)
	if err := ms.TrySend(7); err != nil {
		t.Fatalf("TrySend(7) = %v, want nil", err)
	}
	if err := ms.Send(context.Background(), 8); err != nil {
		t.Fatalf("Send(8) = %v, want nil", err)
	}
	if err := ms.TrySend(9); err != ErrFull {
		t.Errorf("TrySend(9) into a full buffer = %v, want ErrFull", err)
	}
	mustShutdown(t, c)
	var got []string
	for v := range stream {
		got = append(got, v)
	}
	if want := []string{"7", "8"}; !slices.Equal(got, want) {
		t.Errorf("stream = %q, want %q", got, want)
	}
}
