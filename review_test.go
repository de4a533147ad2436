package fanin_test

// Reproductions of broken promises found by an adversarial review of the
// documentation; each failed before the fix it names.

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fanin-go/fanin"
)

// Removing an adapter keeps what it sent in the group's totals, and its
// buffered values in Len until they are received.
func TestReviewStatsKeepRemovedAdapters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		var g fanin.Group[int]
		g.Add(ctx, fanin.AdapterFunc("a", func(ctx context.Context, s fanin.Sink[int]) error {
			for i := range 5 {
				if err := s.Send(ctx, i); err != nil {
					return err
				}
			}
			<-ctx.Done()
			return nil
		}))
		st, _ := g.Start(ctx)
		synctest.Wait()
		if err := g.Remove(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		if gs := g.Stats(); gs.Accepted != 5 || gs.Len != 5 || gs.Len != st.Len() {
			t.Errorf("after Remove: %d accepted, %d buffered (Stream says %d); want 5, 5, 5", gs.Accepted, gs.Len, st.Len())
		}
		for range 5 {
			st.Recv(ctx)
		}
		g.Shutdown(ctx)
		if gs := g.Stats(); gs.Accepted != 5 || gs.Len != 0 {
			t.Errorf("after Shutdown: %d accepted, %d buffered; want 5 and 0", gs.Accepted, gs.Len)
		}
	})
}

// Len counts the injected values of an earlier run that its Stream still
// holds.
func TestReviewStatsLenCountsEarlierRuns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		var g fanin.Group[int]
		st1, _ := g.Start(ctx)
		s, _ := g.Sender()
		for i := range 3 {
			s.Send(ctx, i)
		}
		g.Shutdown(ctx)
		g.Start(ctx)
		if got, want := g.Stats().Len, st1.Len(); got != want || got != 3 {
			t.Errorf("GroupStats.Len = %d, the first run's Stream holds %d; want 3 and 3", got, want)
		}
		for range st1.All() {
		}
		g.Shutdown(ctx)
	})
}

// A Replace made while the group is stopped wins over an earlier Replace
// whose adapter was still starting when the run was shut down.
func TestReviewLaterReplaceWinsWhileStopped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		var g fanin.Group[int]
		var rc runCounter
		g.Add(ctx, rc.adapter("x", "old"))
		g.Start(ctx)
		inj, _ := g.Sender()
		aStarting := make(chan struct{})
		var aStarts atomic.Int32
		a := &startRun{name: "x",
			start: func(ctx context.Context) error {
				if aStarts.Add(1) > 1 {
					return nil
				}
				close(aStarting)
				<-ctx.Done()
				time.Sleep(time.Second) // slow to release what it took
				return ctx.Err()
			},
			run: func(ctx context.Context, s fanin.Sink[int]) error {
				rc.inc("A")
				<-ctx.Done()
				return nil
			}}
		errA := make(chan error, 1)
		go func() { errA <- g.Replace(ctx, a) }()
		<-aStarting
		shut := make(chan error, 1)
		go func() { shut <- g.Shutdown(ctx) }()
		<-inj.Done() // Shutdown has begun
		if err := g.Replace(ctx, rc.adapter("x", "B")); err != nil {
			t.Fatalf("Replace B = %v, want nil", err)
		}
		if err := <-errA; !errors.Is(err, fanin.ErrNoAdapter) {
			t.Errorf("Replace A, superseded by B = %v, want ErrNoAdapter", err)
		}
		<-shut
		g.Start(ctx)
		synctest.Wait()
		if rc.get("B") != 1 || rc.get("A") != 0 {
			t.Errorf("runs of A = %d, of B = %d; want B, the latest Replace, to run, and A not", rc.get("A"), rc.get("B"))
		}
		g.Shutdown(ctx)
	})
}

// A later Replace that fails to start does not void an earlier one.
func TestReviewFailedLaterReplaceKeepsEarlier(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		var g fanin.Group[int]
		var rc runCounter
		g.Add(ctx, rc.adapter("x", "old"))
		g.Start(ctx)
		aStarting := make(chan struct{})
		var aRuns atomic.Int32
		a := &startRun{name: "x",
			start: func(ctx context.Context) error { // a slow dial
				close(aStarting)
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(time.Second):
					return nil
				}
			},
			run: func(ctx context.Context, s fanin.Sink[int]) error { aRuns.Add(1); <-ctx.Done(); return nil }}
		errA := make(chan error, 1)
		go func() { errA <- g.Replace(ctx, a) }()
		<-aStarting
		errBoom := errors.New("b cannot start")
		if err := g.Replace(ctx, &startRun{name: "x", start: func(context.Context) error { return errBoom }}); !errors.Is(err, errBoom) {
			t.Fatalf("Replace B = %v, want %v", err, errBoom)
		}
		if err := <-errA; err != nil {
			t.Errorf("Replace A = %v, want nil: B failed, so A is the latest that succeeds", err)
		}
		synctest.Wait()
		if aRuns.Load() != 1 {
			t.Errorf("A ran %d times, want 1", aRuns.Load())
		}
		g.Shutdown(ctx)
	})
}

// A Shutdown after one that timed out, or concurrent with one still
// waiting, waits for the same adapters.
func TestReviewShutdownAgainWaits(t *testing.T) {
	for _, concurrent := range []bool{false, true} {
		t.Run(fmt.Sprint("concurrent=", concurrent), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				var g fanin.Group[int]
				release := make(chan struct{})
				var returned atomic.Bool
				g.Add(ctx, fanin.AdapterFunc("slow", func(ctx context.Context, s fanin.Sink[int]) error {
					<-ctx.Done()
					<-release // slow to clean up
					returned.Store(true)
					return nil
				}))
				g.Start(ctx)
				if concurrent {
					go g.Shutdown(ctx)
					synctest.Wait()
				} else {
					tctx, cancel := context.WithTimeout(ctx, time.Second)
					var nr *fanin.NotReturnedError
					if err := g.Shutdown(tctx); !errors.As(err, &nr) {
						t.Fatalf("first Shutdown = %v, want a *NotReturnedError", err)
					}
					cancel()
				}
				second := make(chan error, 1)
				go func() { second <- g.Shutdown(ctx) }()
				synctest.Wait()
				select {
				case err := <-second:
					t.Fatalf("second Shutdown = %v while the adapter has not returned", err)
				default:
				}
				close(release)
				if err := <-second; err != nil || !returned.Load() {
					t.Errorf("second Shutdown = %v (adapter returned: %v), want nil once it returned", err, returned.Load())
				}
			})
		})
	}
}

// hookCtx runs hook the first time its Done is called.
type hookCtx struct {
	context.Context
	once *atomic.Bool
	hook func()
}

func (c hookCtx) Done() <-chan struct{} {
	if c.once.CompareAndSwap(false, true) {
		c.hook()
	}
	return c.Context.Done()
}

// Once Shutdown has begun, a Start already on its way is called only with
// its context ended, and Add reports ErrClosed.
func TestReviewStartAfterShutdownBeganSeesEndedContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bg := context.Background()
		var g fanin.Group[int]
		otherStopped := make(chan struct{})
		g.Add(bg, fanin.AdapterFunc("other", func(ctx context.Context, s fanin.Sink[int]) error {
			<-ctx.Done()
			close(otherStopped)
			return nil
		}))
		g.Start(bg)
		shut := make(chan error, 1)
		var liveAfterShutdown atomic.Bool
		a := &startRun{name: "late", start: func(ctx context.Context) error {
			select {
			case <-otherStopped:
				if ctx.Err() == nil {
					liveAfterShutdown.Store(true)
				}
			default:
			}
			return ctx.Err()
		}}
		hc := hookCtx{Context: bg, once: new(atomic.Bool), hook: func() {
			// Called between the decision to start and the call of Start.
			go func() { shut <- g.Shutdown(bg) }()
			<-otherStopped
		}}
		addErr := g.Add(hc, a)
		<-shut
		if liveAfterShutdown.Load() {
			t.Error("Start was called with a live context after Shutdown began")
		}
		if addErr != fanin.ErrClosed {
			t.Errorf("Add = %v, want ErrClosed: the run was shut down first", addErr)
		}
	})
}

// Run shuts down the run it started, never one another goroutine began.
func TestReviewRunShutsDownOnlyItsRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bg := context.Background()
		var g fanin.Group[int]
		g.Add(bg, fanin.AdapterFunc("a", func(ctx context.Context, s fanin.Sink[int]) error {
			s.Send(ctx, 1)
			<-ctx.Done()
			return nil
		}))
		ctx, cancel := context.WithCancel(bg)
		inHandle := make(chan struct{})
		release := make(chan struct{})
		runErr := make(chan error, 1)
		go func() {
			runErr <- g.Run(ctx, func(int) error {
				close(inHandle)
				<-release
				return nil
			})
		}()
		<-inHandle
		if err := g.Shutdown(bg); err != nil { // another goroutine ends Run's run
			t.Fatal(err)
		}
		st2, err := g.Start(bg) // and begins its own
		if err != nil {
			t.Fatal(err)
		}
		cancel()
		synctest.Wait()
		if _, err := g.Sender(); err != nil {
			t.Errorf("after Run's ctx ended, the run another goroutine began was shut down (Sender = %v)", err)
		}
		close(release)
		if err := <-runErr; err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
		g.Shutdown(bg)
		for range st2.All() {
		}
	})
}

// The events of one adapter arrive in the order its state changed, though
// Remove, Replace and the adapter's own goroutine cause them.
func TestReviewEventOrderPerAdapter(t *testing.T) {
	ctx := context.Background()
	bad := map[string]int{}
	for range 300 {
		events := make(chan fanin.AdapterEvent, 64)
		g := fanin.Group[int]{Events: events}
		g.Add(ctx, fanin.AdapterFunc("x", waitCtx))
		g.Add(ctx, fanin.AdapterFunc("y", waitCtx))
		g.Start(ctx)
		g.Replace(ctx, fanin.AdapterFunc("y", waitCtx))
		g.Remove(ctx, "x")
		g.Shutdown(ctx)
		close(events)
		var xs, ys []fanin.EventKind
		for e := range events {
			switch e.Adapter {
			case "x":
				xs = append(xs, e.Kind)
			case "y":
				ys = append(ys, e.Kind)
			}
		}
		if fmt.Sprint(xs) != "[started removed stopped]" {
			bad["x "+fmt.Sprint(xs)]++
		}
		if fmt.Sprint(ys) != "[started started replaced stopped stopped]" {
			bad["y "+fmt.Sprint(ys)]++
		}
	}
	for k, n := range bad {
		t.Errorf("%d of 300 rounds: events %s", n, k)
	}
}

// runtime.Goexit in Run (t.FailNow in an adapter under test) ends the
// adapter as Failed instead of leaving it "running" for ever.
func TestReviewGoexitInRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		var g fanin.Group[int]
		g.Add(ctx, fanin.AdapterFunc("x", func(ctx context.Context, s fanin.Sink[int]) error {
			runtime.Goexit()
			return nil
		}), fanin.WithRestart(fanin.RestartAlways))
		g.Start(ctx)
		synctest.Wait()
		if as := g.Stats().Adapters[0]; as.State != fanin.Failed || as.Err == nil {
			t.Errorf("after Goexit in Run: %v with err %v, want failed with an error", as.State, as.Err)
		}
		if err := g.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown = %v", err)
		}
	})
}

// runtime.Goexit in the first Start: Add returns instead of waiting for
// ever.
func TestReviewGoexitInStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		var g fanin.Group[int]
		g.Start(ctx)
		err := g.Add(ctx, &startRun{name: "x", start: func(context.Context) error {
			runtime.Goexit()
			return nil
		}})
		if err == nil {
			t.Error("Add of an adapter whose Start called Goexit = nil, want an error")
		}
		g.Shutdown(ctx)
	})
}

// Replaces within one run, with nobody reading, do not each keep a lane
// alive until Shutdown.
func TestReviewReplacesDoNotRetainLanes(t *testing.T) {
	ctx := context.Background()
	var g fanin.Group[[64]byte]
	serve := func(ctx context.Context, s fanin.Sink[[64]byte]) error { <-ctx.Done(); return nil }
	g.Add(ctx, fanin.AdapterFunc("x", serve))
	g.Start(ctx)
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	const n = 2000
	for range n {
		if err := g.Replace(ctx, fanin.AdapterFunc("x", serve)); err != nil {
			t.Fatal(err)
		}
	}
	grew := int64(heap()) - int64(before)
	if grew/n > 4096 {
		t.Errorf("each Replace in a run retains %d bytes (a lane's buffer is 16 KiB)", grew/n)
	}
	g.Shutdown(ctx)
}
