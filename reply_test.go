package fanin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// request is a message that asks for a reply.
type request struct {
	reply Reply[string]
	body  string
}

func TestPendingRoundTrip(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := New[request](4)
		stream := mustStart(t, c)
		s, _ := c.Sender()
		p := NewPending[string](100)
		go func() { // the consumer: an agent loop that answers
			for req := range stream {
				req.reply.Resolve(strings.ToUpper(req.body))
			}
		}()
		reply, err := p.Request(context.Background(), func(r Reply[string]) error {
			return s.TrySend(request{r, "hello"})
		})
		if reply != "HELLO" || err != nil {
			t.Errorf("Request = %q, %v; want HELLO, nil", reply, err)
		}
		if got := p.Len(); got != 0 {
			t.Errorf("Len after the reply = %d, want 0", got)
		}
		mustShutdown(t, c)
	})
}

// TestPendingEveryExitReleases checks every way out of Request: each must
// return its error, and leave no waiter behind.
func TestPendingEveryExitReleases(t *testing.T) {
	errGone := errors.New("client went away")
	for _, tc := range []struct {
		name string
		// run makes one Request and returns its error; p has room for one.
		run  func(p *Pending[string]) error
		want error
	}{
		{"send refused: not started", func(p *Pending[string]) error {
			var c Channel[request]
			_, err := p.Request(context.Background(), func(r Reply[string]) error { return c.TrySend(request{reply: r}) })
			return err
		}, ErrNotStarted},
		{"send refused: closed", func(p *Pending[string]) error {
			c := New[request](1)
			c.Start()
			c.Shutdown(context.Background())
			_, err := p.Request(context.Background(), func(r Reply[string]) error { return c.TrySend(request{reply: r}) })
			return err
		}, ErrClosed},
		{"send refused: full", func(p *Pending[string]) error {
			c := New[request](0)
			c.Start()
			defer c.Shutdown(context.Background())
			_, err := p.Request(context.Background(), func(r Reply[string]) error { return c.TrySend(request{reply: r}) })
			return err
		}, ErrFull},
		{"send refused: adapter error", func(p *Pending[string]) error {
			_, err := p.Request(context.Background(), func(Reply[string]) error { return errGone })
			return err
		}, errGone},
		{"timeout, as the reference's 60s", func(p *Pending[string]) error {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			_, err := p.Request(ctx, func(Reply[string]) error { return nil })
			return err
		}, context.DeadlineExceeded},
		{"caller gone", func(p *Pending[string]) error {
			ctx, cancel := context.WithCancel(context.Background())
			r := goCall(func() error {
				_, err := p.Request(ctx, func(Reply[string]) error { return nil })
				return err
			})
			synctest.Wait()
			cancel()
			return <-r.ch
		}, context.Canceled},
		{"closed while waiting", func(p *Pending[string]) error {
			r := goCall(func() error {
				_, err := p.Request(context.Background(), func(Reply[string]) error { return nil })
				return err
			})
			synctest.Wait()
			p.Close()
			return <-r.ch
		}, ErrClosed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := NewPending[string](1)
				if err := tc.run(p); err != tc.want {
					t.Errorf("Request = %v, want %v", err, tc.want)
				}
				if got := p.Len(); got != 0 {
					t.Errorf("Len after %s = %d, want 0: a waiter leaked", tc.name, got)
				}
				if (Reply[string]{p, 1}).Resolve("late") {
					t.Error("Resolve after the request ended = true, want false")
				}
			})
		})
	}
}

// TestPendingNoLeakAfterManyFailures is the reference system's failure: a
// hundred failed requests must not use up the hundred slots.
func TestPendingNoLeakAfterManyFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := NewPending[string](100)
		for range 1000 {
			p.Request(context.Background(), func(Reply[string]) error { return ErrFull })
			ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
			p.Request(ctx, func(Reply[string]) error { return nil })
			cancel()
		}
		var waiting sync.WaitGroup
		ids := make(chan Reply[string], 100)
		for range 100 {
			waiting.Go(func() {
				reply, err := p.Request(context.Background(), func(r Reply[string]) error { ids <- r; return nil })
				if err != nil || reply != "ok" {
					t.Errorf("Request after 2000 failures = %q, %v; want ok, nil", reply, err)
				}
			})
		}
		synctest.Wait()
		if got := p.Len(); got != 100 {
			t.Errorf("Len = %d, want 100 waiting", got)
		}
		for range 100 {
			(<-ids).Resolve("ok")
		}
		waiting.Wait()
	})
}

// TestPendingCap: the cap check and the registration are one step; racing
// callers never have more than max waiting, and the rest are refused with
// ErrTooManyPending without sending.
func TestPendingCap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const max = 10
		p := NewPending[int](max)
		var sent, refused atomic.Int64
		var wg sync.WaitGroup
		for range 100 {
			wg.Go(func() {
				_, err := p.Request(context.Background(), func(Reply[int]) error {
					if n := p.Len(); n > max {
						t.Errorf("Len inside send = %d, want at most %d", n, max)
					}
					sent.Add(1)
					return nil
				})
				if err == ErrTooManyPending {
					refused.Add(1)
				}
			})
		}
		synctest.Wait()
		if sent.Load() != max || refused.Load() != 100-max {
			t.Errorf("sent %d and refused %d, want %d and %d", sent.Load(), refused.Load(), max, 100-max)
		}
		p.Close()
		wg.Wait()
	})
}

func TestPendingResolve(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := NewPending[string](4)
		if (Reply[string]{p, 42}).Resolve("nobody") {
			t.Error("Resolve of an unknown request = true, want false")
		}
		if (Reply[string]{}).Resolve("nobody") || (Reply[string]{}).Wanted() {
			t.Error("the zero Reply is wanted or resolves, want neither")
		}
		var handle Reply[string]
		r := goCall(func() error {
			reply, err := p.Request(context.Background(), func(h Reply[string]) error { handle = h; return nil })
			if reply != "first" {
				return fmt.Errorf("reply %q, want first", reply)
			}
			return err
		})
		synctest.Wait()
		if !handle.Wanted() || !handle.Resolve("first") {
			t.Error("first Resolve = false, want true")
		}
		if handle.Resolve("second") {
			t.Error("second Resolve = true, want false")
		}
		if err := <-r.ch; err != nil {
			t.Error(err)
		}
	})
}

// TestPendingResolveRacesCancel: Resolve reports true if and only if the
// requester gets the reply, even when its ctx ends at the same moment.
func TestPendingResolveRacesCancel(t *testing.T) {
	// Room for every request at once: a refused one would never call send,
	// and this test would wait for its Resolve for ever.
	p := NewPending[int](2000)
	var wg sync.WaitGroup
	var mismatches atomic.Int64
	for i := range 2000 {
		wg.Go(func() {
			ctx, cancel := context.WithCancel(context.Background())
			resolved := make(chan bool, 1)
			reply, err := p.Request(ctx, func(r Reply[int]) error {
				go func() { resolved <- r.Resolve(i) }()
				go cancel()
				return nil
			})
			cancel()
			got := err == nil
			if got && reply != i {
				t.Errorf("Request got reply %d, want %d", reply, i)
			}
			if got != <-resolved {
				mismatches.Add(1)
			}
		})
	}
	wg.Wait()
	if n := mismatches.Load(); n != 0 {
		t.Errorf("%d requests disagreed with Resolve about delivery", n)
	}
	if got := p.Len(); got != 0 {
		t.Errorf("Len = %d, want 0", got)
	}
}

// TestPendingSendPanics: a send function that panics (net/http recovers
// such panics per request) must not leak its slot.
func TestPendingSendPanics(t *testing.T) {
	p := NewPending[string](3)
	for i := range 10 {
		func() {
			defer func() {
				if recover() == nil {
					t.Fatalf("Request %d: send's panic did not reach the caller", i)
				}
			}()
			p.Request(context.Background(), func(Reply[string]) error { panic("adapter bug") })
		}()
	}
	if got := p.Len(); got != 0 {
		t.Errorf("Len after 10 panicking sends = %d, want 0: slots leaked", got)
	}
	_, err := p.Request(context.Background(), func(Reply[string]) error { return ErrFull })
	if err != ErrFull {
		t.Errorf("Request after the panics = %v, want ErrFull (send called): the cap was used up", err)
	}
}

func TestNewPendingPanics(t *testing.T) {
	if msg := panicMessage(func() { NewPending[int](0) }); !strings.HasPrefix(msg, "fanin: NewPending") {
		t.Errorf("NewPending(0) panicked with %q, want a fanin: message", msg)
	}
}
