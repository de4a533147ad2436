package fanin

import (
	"context"
	"fmt"
	"golang.org/x/time/rate"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"
)

// The send benchmarks compare three ways to send into one buffered stream
// read by one consumer, side by side in one run so a ratio can be read
// directly:
//
//   - bare: a plain ch <- v on a Go channel, the floor;
//   - rwmutex: the reference system's design, a read lock held across the
//     send (fast when there is room, and the deadlock when there is none);
//   - fanin: Channel.Send.
//
// "room" keeps one producer per P and a consumer that keeps up; "saturated"
// runs four producers per P against one consumer, so the buffer is full and
// most sends wait. Run with -cpu 1,2,4,8,16 for the scaling figures.

type sendFunc func(ctx context.Context, v int) error

// lockedChannel is the anti-pattern, kept only as a baseline.
type lockedChannel struct {
	mu sync.RWMutex
	ch chan int
}

func (l *lockedChannel) send(_ context.Context, v int) error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	l.ch <- v // the bug: blocks while the read lock is held
	return nil
}

type impl struct {
	name string
	// start returns the stream, a send function, and a stop function that
	// closes the stream once every producer has returned.
	start func(capacity int) (<-chan int, sendFunc, func())
}

var impls = []impl{
	{"bare", func(n int) (<-chan int, sendFunc, func()) {
		ch := make(chan int, n)
		send := func(_ context.Context, v int) error { ch <- v; return nil }
		return ch, send, func() { close(ch) }
	}},
	{"rwmutex", func(n int) (<-chan int, sendFunc, func()) {
		l := &lockedChannel{ch: make(chan int, n)}
		return l.ch, l.send, func() { close(l.ch) }
	}},
	{"fanin", func(n int) (<-chan int, sendFunc, func()) {
		c := New[int](n)
		ch, err := c.Start()
		if err != nil {
			panic(err)
		}
		return ch, c.Send, func() { c.Shutdown(context.Background()) }
	}},
}

func BenchmarkSend(b *testing.B) {
	regimes := []struct {
		name        string
		parallelism int // producers per P
	}{
		{"room", 1},
		{"saturated", 4},
	}
	for _, r := range regimes {
		for _, im := range impls {
			b.Run("regime="+r.name+"/impl="+im.name, func(b *testing.B) {
				benchSend(b, im, r.parallelism)
			})
		}
	}
}

func benchSend(b *testing.B, im impl, parallelism int) {
	stream, send, stop := im.start(DefaultCapacity)
	consumed := make(chan struct{})
	go func() {
		for range stream {
		}
		close(consumed)
	}()
	ctx := context.Background()
	b.ReportAllocs()
	b.SetParallelism(parallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			if err := send(ctx, i); err != nil {
				b.Errorf("send = %v, want nil", err)
				return
			}
		}
	})
	b.StopTimer()
	stop()
	<-consumed
}

// BenchmarkShutdown measures one Shutdown with 10,000 senders blocked on a
// full buffer and nobody reading, until every blocked sender has returned.
func BenchmarkShutdown(b *testing.B) {
	const blocked = 10_000
	ctx := context.Background()
	b.ReportAllocs()
	for range b.N {
		b.StopTimer()
		c := New[int](DefaultCapacity)
		if _, err := c.Start(); err != nil {
			b.Fatal(err)
		}
		for i := range DefaultCapacity {
			if err := c.TrySend(i); err != nil {
				b.Fatal(err)
			}
		}
		s := c.run.Load()
		var wg sync.WaitGroup
		for i := range blocked {
			wg.Go(func() { c.Send(ctx, i) })
		}
		// Every sender counted in flight has passed the fast path and is
		// at, or about to reach, its blocking select.
		for s.state.Load()&inFlightMask != blocked {
			runtime.Gosched()
		}
		b.StartTimer()
		if err := c.Shutdown(ctx); err != nil {
			b.Fatal(err)
		}
		wg.Wait()
	}
}

// BenchmarkLimiterAllow compares Limiter.Allow with golang.org/x/time/rate's
// Allow, the reference it is tested against, at a rate high enough that
// every call is allowed: serial, and from every P at once.
func BenchmarkLimiterAllow(b *testing.B) {
	type allower interface{ Allow() bool }
	for _, im := range []struct {
		name string
		new  func() allower
	}{
		{"xrate", func() allower { return rate.NewLimiter(1e9, 1_000_000) }},
		{"fanin", func() allower {
			return NewLimiter(Band{Events: 1_000_000_000, Interval: time.Second, Burst: 1_000_000})
		}},
	} {
		b.Run("mode=serial/impl="+im.name, func(b *testing.B) {
			l := im.new()
			b.ReportAllocs()
			for b.Loop() {
				l.Allow()
			}
		})
		b.Run("mode=parallel/impl="+im.name, func(b *testing.B) {
			l := im.new()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					l.Allow()
				}
			})
		})
	}
}

// BenchmarkKeyedLimiterAllow measures KeyedLimiter.Allow with 10,000 live
// keys, each call on a different key.
func BenchmarkKeyedLimiterAllow(b *testing.B) {
	const keys = 10_000
	// Tokens at 1ns each with a second's worth of burst: every call is
	// allowed, even one whose clock reading went stale before it got the lock.
	k := NewKeyedLimiter[int](keys, Band{Events: 1_000_000_000, Interval: time.Second, Burst: 1_000_000_000})
	for i := range keys {
		k.Allow(i)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := rand.IntN(keys)
		for pb.Next() {
			if retry, err := k.Take(i); err != nil {
				b.Errorf("Take(%d) = %v, %v; want nil", i, retry, err)
				return
			}
			if i++; i == keys {
				i = 0
			}
		}
	})
	if got := k.Len(); got != keys {
		b.Errorf("Len = %d, want %d", got, keys)
	}
}

// BenchmarkFanIn measures what the consumer pays per message: producers
// (one goroutine per adapter) send as fast as they can, and the consumer
// receives b.N values. "channel" is a plain Channel of DefaultCapacity that
// every producer shares; "group" is a Group whose adapters have lanes of
// DefaultCapacity each, received in the fair order through Stream.Recv.
// Both stay backlogged, so the figure is the cost of the merge itself.
func BenchmarkFanIn(b *testing.B) {
	for _, adapters := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("adapters=%d/impl=channel", adapters), func(b *testing.B) {
			c := New[int](DefaultCapacity)
			stream, _ := c.Start()
			var wg sync.WaitGroup
			for range adapters {
				wg.Go(func() {
					for i := 0; c.Send(context.Background(), i) == nil; i++ {
					}
				})
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				<-stream
			}
			b.StopTimer()
			c.Shutdown(context.Background())
			wg.Wait()
		})
		b.Run(fmt.Sprintf("adapters=%d/impl=group", adapters), func(b *testing.B) {
			var g Group[int]
			for a := range adapters {
				g.Add(context.Background(), AdapterFunc(fmt.Sprint(a), func(ctx context.Context, s Sink[int]) error {
					for i := 0; s.Send(ctx, i) == nil; i++ {
					}
					return nil
				}))
			}
			stream, _ := g.Start(context.Background())
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := stream.Recv(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			g.Shutdown(ctx)
		})
	}
}
