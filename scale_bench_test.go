package fanin

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// The scale benchmarks use only the exported API, so that the same file
// can be built beside an older version of the package and the two designs
// run alternately.

// msg128 is a 128-byte message, the size the memory figures are stated for.
type msg128 [16]int64

// BenchmarkIdleLanes measures the consumer's cost per value received
// through Stream.Recv from one busy adapter while idle adapters, which
// never send, share the group. Run it with a fixed count
// (-test.benchtime 200000x): adding 10,000 adapters is set-up work, and a
// fixed count does it once per round.
func BenchmarkIdleLanes(b *testing.B) {
	for _, idle := range []int{0, 255, 10_000} {
		b.Run(fmt.Sprintf("idle=%d", idle), func(b *testing.B) {
			ctx := context.Background()
			var g Group[int]
			var running sync.WaitGroup
			running.Add(idle)
			for a := range idle {
				g.Add(ctx, AdapterFunc(fmt.Sprintf("idle%05d", a), func(ctx context.Context, s Sink[int]) error {
					running.Done()
					<-ctx.Done()
					return nil
				}))
			}
			g.Add(ctx, AdapterFunc("busy", func(ctx context.Context, s Sink[int]) error {
				for i := 0; s.Send(ctx, i) == nil; i++ {
				}
				return nil
			}))
			stream, err := g.Start(ctx)
			if err != nil {
				b.Fatal(err)
			}
			running.Wait()
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

// idleAdapterMemory starts a Group of n adapters of msg128 with the default
// lane that wait for their context to end and never send, and returns the
// heap and stack memory they hold, per adapter: their goroutines, lanes
// and bookkeeping. It must be measured without the race detector, which
// changes what goroutines and allocations cost.
func idleAdapterMemory(tb testing.TB, n int) float64 {
	tb.Helper()
	ctx := context.Background()
	inUse := func() uint64 {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc + ms.StackInuse
	}
	g := new(Group[msg128])
	var running atomic.Int64
	before := inUse()
	for a := range n {
		err := g.Add(ctx, AdapterFunc(fmt.Sprintf("idle%05d", a), func(ctx context.Context, s Sink[msg128]) error {
			running.Add(1)
			<-ctx.Done()
			return nil
		}))
		if err != nil {
			tb.Fatalf("Add = %v, want nil", err)
		}
	}
	stream, err := g.Start(ctx)
	if err != nil {
		tb.Fatalf("Start = %v, want nil", err)
	}
	for running.Load() < int64(n) {
		runtime.Gosched()
	}
	after := inUse()
	if err := g.Shutdown(ctx); err != nil {
		tb.Fatalf("Shutdown = %v, want nil", err)
	}
	for range stream.All() {
		tb.Fatal("an idle adapter's value was received")
	}
	runtime.KeepAlive(g)
	return float64(int64(after)-int64(before)) / float64(n)
}

// BenchmarkIdleAdapterMemory reports the memory each of 10,000 idle
// adapters holds, as bytes/adapter; the time it reports means nothing.
// Run it with -test.benchtime 1x and without -race.
func BenchmarkIdleAdapterMemory(b *testing.B) {
	var per float64
	for range b.N {
		per = idleAdapterMemory(b, 10_000)
	}
	b.ReportMetric(per, "bytes/adapter")
}

// BenchmarkShutdownFloor is the floor under BenchmarkShutdown: 10,000
// goroutines blocked in a select on a full Go channel and a done channel,
// woken by closing done, until every one has returned. No Shutdown that
// wakes blocked senders can beat it, since each of them must run once.
func BenchmarkShutdownFloor(b *testing.B) {
	const blocked = 10_000
	b.ReportAllocs()
	for range b.N {
		b.StopTimer()
		ch := make(chan int, DefaultCapacity)
		for i := range DefaultCapacity {
			ch <- i
		}
		done := make(chan struct{})
		var entered, wg sync.WaitGroup
		entered.Add(blocked)
		for i := range blocked {
			wg.Go(func() {
				entered.Done()
				select {
				case ch <- i:
				case <-done:
				}
			})
		}
		entered.Wait()
		runtime.Gosched()
		b.StartTimer()
		close(done)
		wg.Wait()
	}
}

// BenchmarkSenderPerProducer is BenchmarkSend's fanin case with each
// producer goroutine sending through the Sender that Channel.Sender gave
// it, as adapters do, beside a bare channel send: in a version where each
// Sender counts its own calls in flight, producers on different cores do
// not write one shared word.
func BenchmarkSenderPerProducer(b *testing.B) {
	for _, r := range []struct {
		name        string
		parallelism int
	}{{"room", 1}, {"saturated", 4}} {
		b.Run("regime="+r.name+"/impl=bare", func(b *testing.B) {
			ch := make(chan int, DefaultCapacity)
			benchProducers(b, ch, r.parallelism, func() func(int) error {
				return func(v int) error { ch <- v; return nil }
			})
			close(ch)
		})
		b.Run("regime="+r.name+"/impl=sender", func(b *testing.B) {
			c := New[int](DefaultCapacity)
			stream, err := c.Start()
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			benchProducers(b, stream, r.parallelism, func() func(int) error {
				s, err := c.Sender()
				if err != nil {
					b.Fatal(err)
				}
				return func(v int) error { return s.Send(ctx, v) }
			})
			c.Shutdown(ctx)
		})
	}
}

// benchProducers runs parallelism producers per P, each sending with the
// function its newSend returns, into a stream that one goroutine drains.
func benchProducers(b *testing.B, stream <-chan int, parallelism int, newSend func() func(int) error) {
	var consumed sync.WaitGroup
	stop := make(chan struct{})
	consumed.Go(func() {
		for {
			select {
			case <-stream:
			case <-stop:
				return
			}
		}
	})
	b.ReportAllocs()
	b.SetParallelism(parallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		send := newSend()
		for i := 0; pb.Next(); i++ {
			if err := send(i); err != nil {
				b.Errorf("send = %v, want nil", err)
				return
			}
		}
	})
	b.StopTimer()
	close(stop)
	consumed.Wait()
}
