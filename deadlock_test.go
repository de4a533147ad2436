package fanin

import (
	"context"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// These tests reproduce the deadlock of the reference system and prove it
// cannot happen here. Inside a synctest bubble, synctest.Wait returns only
// once every other goroutine is durably blocked, so "the sender is blocked"
// is proved, not guessed with a sleep. A lock held across the send would make
// these tests hang (synctest does not treat a blocked mutex as durably
// blocked), which go test -timeout reports with every stack.

// result collects what a goroutine's call returned, without blocking it.
type result struct {
	ch chan error
}

func goCall(f func() error) result {
	r := result{ch: make(chan error, 1)}
	go func() { r.ch <- f() }()
	return r
}

// returned reports the call's error if it has returned.
func (r result) returned() (err error, ok bool) {
	select {
	case err := <-r.ch:
		return err, true
	default:
		return nil, false
	}
}

// TestShutdownIsNotHeldByALock is the same scenario on the real clock, for
// the one failure synctest cannot see: a goroutine blocked on a mutex is
// not durably blocked, so a lock spanning the send makes the tests above
// hang until go test -timeout. Here a watchdog turns that hang into a
// failure that names the cause. The watchdog only bounds the failure; the
// test passes as soon as Shutdown returns.
func TestShutdownIsNotHeldByALock(t *testing.T) {
	const senders = 100
	c := New[int](4)
	stream := mustStart(t, c)
	fill(t, c)
	s, _ := c.Sender()
	var wg sync.WaitGroup
	for i := range senders {
		wg.Go(func() { c.Send(context.Background(), i) })
	}
	// Wait until every sender is in flight: past every check, at or on its
	// way to the blocking send.
	for s.state.Load()&inFlightMask != senders {
		runtime.Gosched()
	}
	shutdown := goCall(func() error { return c.Shutdown(context.Background()) })
	watchdog := time.NewTimer(10 * time.Second)
	defer watchdog.Stop()
	select {
	case err := <-shutdown.ch:
		if err != nil {
			t.Errorf("Shutdown = %v, want nil", err)
		}
	case <-watchdog.C:
		t.Fatal("Shutdown still blocked after 10s with senders waiting on a full buffer: something holds a lock across the send")
	}
	wg.Wait()
	if got := drain(stream); len(got) != c.Cap() {
		t.Errorf("received %d values, want %d", len(got), c.Cap())
	}
}

// TestShutdownWithFullBuffer is the reference system's regression scenario,
// made exact: capacity 256, all slots filled, nobody reading, a 257th send
// durably blocked; Shutdown returns, and so does the blocked sender, with
// ErrClosed.
func TestShutdownWithFullBuffer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c Channel[int] // DefaultCapacity, as in the reference
		stream := mustStart(t, &c)
		for i := range DefaultCapacity {
			if err := c.Send(context.Background(), i); err != nil {
				t.Fatalf("Send(%d) = %v, want nil", i, err)
			}
		}
		send := goCall(func() error { return c.Send(context.Background(), DefaultCapacity) })
		synctest.Wait()
		if err, ok := send.returned(); ok {
			t.Fatalf("send into a full buffer returned %v, want it blocked", err)
		}

		shutdown := goCall(func() error { return c.Shutdown(context.Background()) })
		synctest.Wait()
		err, ok := shutdown.returned()
		if !ok {
			t.Fatal("Shutdown with a full buffer and a blocked sender did not return")
		}
		if err != nil {
			t.Errorf("Shutdown = %v, want nil", err)
		}
		if err, ok := send.returned(); !ok || err != ErrClosed {
			t.Errorf("blocked Send after Shutdown = %v (returned %v), want %v", err, ok, ErrClosed)
		}

		got := drain(stream)
		if len(got) != DefaultCapacity {
			t.Errorf("received %d values, want %d", len(got), DefaultCapacity)
		}
		for i, v := range got {
			if v != i {
				t.Fatalf("value %d = %d, want %d (the rejected send must not be delivered)", i, v, i)
			}
		}
	})
}

// TestShutdownThousandBlockedSenders blocks 1,000 senders with nobody
// reading; Shutdown returns and wakes every one of them with ErrClosed.
func TestShutdownThousandBlockedSenders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const blocked = 1000
		c := New[int](16)
		stream := mustStart(t, c)
		fill(t, c)
		errs := make(chan error, blocked)
		for i := range blocked {
			go func() { errs <- c.Send(context.Background(), 100+i) }()
		}
		synctest.Wait()
		if len(errs) != 0 {
			t.Fatalf("%d of %d senders returned before Shutdown, want all blocked", len(errs), blocked)
		}
		start := time.Now()
		mustShutdown(t, c)
		if elapsed := time.Since(start); elapsed != 0 {
			t.Errorf("Shutdown took %v of fake time, want 0: it must not wait on a timer", elapsed)
		}
		synctest.Wait()
		if len(errs) != blocked {
			t.Fatalf("%d of %d blocked senders returned after Shutdown, want all", len(errs), blocked)
		}
		for range blocked {
			if err := <-errs; err != ErrClosed {
				t.Errorf("blocked Send = %v, want %v", err, ErrClosed)
			}
		}
		if got := drain(stream); len(got) != c.Cap() {
			t.Errorf("received %d values, want the %d buffered before Shutdown", len(got), c.Cap())
		}
	})
}

// TestNothingWaitsOnABlockedSender is the behavioural proof that no lock
// spans the blocking send: while one sender is durably blocked on a full
// buffer, every other call proceeds.
func TestNothingWaitsOnABlockedSender(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := New[int](1)
		first := mustStart(t, c)
		fill(t, c)
		blocked := goCall(func() error { return c.Send(context.Background(), 1) })
		synctest.Wait()
		if err, ok := blocked.returned(); ok {
			t.Fatalf("Send into a full buffer returned %v, want it blocked", err)
		}

		// Each of these would wait for the blocked sender if a lock spanned
		// its send.
		if _, err := c.Start(); err != ErrStarted {
			t.Errorf("Start = %v, want %v", err, ErrStarted)
		}
		if _, err := c.Sender(); err != nil {
			t.Errorf("Sender = %v, want nil", err)
		}
		if err := c.TrySend(2); err != ErrFull {
			t.Errorf("TrySend = %v, want %v", err, ErrFull)
		}
		if got := c.Len(); got != 1 {
			t.Errorf("Len = %d, want 1", got)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		start := time.Now()
		if err := c.Send(ctx, 3); err != context.DeadlineExceeded {
			t.Errorf("second Send = %v, want %v", err, context.DeadlineExceeded)
		}
		cancel()
		if waited := time.Since(start); waited != time.Second {
			t.Errorf("second Send waited %v, want exactly its 1s deadline", waited)
		}

		// Reading one value lets exactly the blocked sender in.
		if v := <-first; v != 0 {
			t.Errorf("received %d, want 0", v)
		}
		synctest.Wait()
		if err, ok := blocked.returned(); !ok || err != nil {
			t.Errorf("blocked Send after a receive = %v (returned %v), want nil", err, ok)
		}

		// Block another sender, then shut down and restart around it.
		blocked = goCall(func() error { return c.Send(context.Background(), 4) })
		synctest.Wait()
		mustShutdown(t, c)
		second := mustStart(t, c)
		synctest.Wait()
		if err, ok := blocked.returned(); !ok || err != ErrClosed {
			t.Errorf("blocked Send across a restart = %v (returned %v), want %v", err, ok, ErrClosed)
		}
		if err := c.TrySend(5); err != nil {
			t.Errorf("TrySend on the new run = %v, want nil", err)
		}
		mustShutdown(t, c)
		if got := drain(first); len(got) != 1 || got[0] != 1 {
			t.Errorf("first run's remaining values = %v, want [1]", got)
		}
		if got := drain(second); len(got) != 1 || got[0] != 5 {
			t.Errorf("second run = %v, want [5]", got)
		}
	})
}

// TestShutdownRacesStartAndSend runs every method from many goroutines at
// once, under the race detector. No call may panic or return an error
// outside its documented set, and the last Shutdown must close every stream
// that was ever returned.
func TestShutdownRacesStartAndSend(t *testing.T) {
	c := New[int](2)
	var consumers sync.WaitGroup
	startAndDrain := func() {
		stream, err := c.Start()
		switch err {
		case nil:
			consumers.Go(func() { drain(stream) })
		case ErrStarted:
		default:
			t.Errorf("Start = %v, want nil or %v", err, ErrStarted)
		}
	}

	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 2))
			for i := range 2000 {
				switch rng.IntN(6) {
				case 0:
					startAndDrain()
				case 1:
					ctx, cancel := context.WithCancel(context.Background())
					if rng.IntN(2) == 0 {
						cancel()
					}
					if err := c.Shutdown(ctx); err != nil && err != context.Canceled {
						t.Errorf("Shutdown = %v, want nil or %v", err, context.Canceled)
					}
					cancel()
				case 2:
					if err := c.TrySend(i); err != nil && err != ErrFull && err != ErrClosed && err != ErrNotStarted {
						t.Errorf("TrySend = %v", err)
					}
				case 3:
					s, err := c.Sender()
					if err != nil {
						if err != ErrClosed && err != ErrNotStarted {
							t.Errorf("Sender = %v", err)
						}
						continue
					}
					select {
					case <-s.Done():
					default:
					}
				default:
					ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
					if err := c.Send(ctx, i); err != nil && err != ErrClosed &&
						err != ErrNotStarted && err != context.DeadlineExceeded {
						t.Errorf("Send = %v", err)
					}
					cancel()
				}
			}
		})
	}
	wg.Wait()
	mustShutdown(t, c)
	consumers.Wait() // every stream was closed, or this hangs
}

// TestConcurrentShutdownsCloseDone: whichever of several concurrent
// Shutdowns returns first, the run's Done channel is already closed and
// sends are refused.
func TestConcurrentShutdownsCloseDone(t *testing.T) {
	for range 200 {
		c := New[int](1)
		stream := mustStart(t, c)
		s, _ := c.Sender()
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				if err := c.Shutdown(context.Background()); err != nil {
					t.Errorf("Shutdown = %v, want nil", err)
				}
				select {
				case <-s.Done():
				default:
					t.Error("Shutdown returned before Done was closed")
				}
				if err := s.TrySend(1); err != ErrClosed {
					t.Errorf("TrySend after Shutdown returned = %v, want %v", err, ErrClosed)
				}
			})
		}
		wg.Wait()
		drain(stream)
	}
}
