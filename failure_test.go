package fanin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// These tests pin how a failure reaches the program that embeds a Group:
// escalation past the restart intensity, WithKeepTrying, WithFailFast, the
// bounded drain of Run, a panic in handle, and one instance per name.

var errDown = errors.New("dial: connection refused")

// dependency is a service an adapter dials in its Start: down or up.
type dependency struct{ up atomic.Bool }

// client is an adapter that dials dep in Start and, once it runs, sends
// each of msgs once (over its whole life), then serves until ctx ends.
type client struct {
	dep  *dependency
	mu   sync.Mutex
	msgs []string
}

func (c *client) Name() string { return "client" }

func (c *client) Start(context.Context) error {
	if !c.dep.up.Load() {
		return errDown
	}
	return nil
}

func (c *client) Run(ctx context.Context, s Sink[string]) error {
	for {
		c.mu.Lock()
		if len(c.msgs) == 0 {
			c.mu.Unlock()
			break
		}
		m := c.msgs[0]
		c.mu.Unlock()
		if err := s.Send(ctx, m); err != nil {
			return nil
		}
		c.mu.Lock()
		c.msgs = c.msgs[1:]
		c.mu.Unlock()
	}
	<-ctx.Done()
	return nil
}

// burst is an adapter that sends n values at once, counts the ones
// accepted, and then waits for its ctx.
func burst(name string, n int, accepted *atomic.Int64) Adapter[int] {
	return AdapterFunc(name, func(ctx context.Context, s Sink[int]) error {
		for i := range n {
			if err := s.Send(ctx, i); err != nil {
				return nil
			}
			accepted.Add(1)
		}
		<-ctx.Done()
		return nil
	})
}

// TestRunEscalatesAfterDrain: an adapter over its restart intensity ends
// Run with an *AdapterError naming it and wrapping its error, after every
// other adapter has been stopped and every value accepted before has been
// handled.
func TestRunEscalatesAfterDrain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var accepted atomic.Int64
		events := make(chan AdapterEvent, 100)
		g := &Group[int]{Events: events, DrainTimeout: time.Minute}
		mustAdd(t, g, burst("burst", 300, &accepted), WithLane(512, 1))
		mustAdd(t, g, AdapterFunc("bad", func(context.Context, Sink[int]) error { return errConnLost }),
			WithBackoff(time.Second, time.Second, 0), WithIntensity(2, time.Minute))
		start := time.Now()
		var handled []int
		err := g.Run(context.Background(), func(v int) error {
			handled = append(handled, v)
			time.Sleep(100 * time.Millisecond) // 300 values: 30 s, far past the escalation at 2 s
			return nil
		})
		var ae *AdapterError
		if !errors.As(err, &ae) || ae.Name != "bad" || !ae.GaveUp || !errors.Is(err, errConnLost) {
			t.Fatalf("Run = %v, want an *AdapterError for bad that gave up on %v", err, errConnLost)
		}
		if want := `fanin: adapter "bad" exceeded its restart intensity: connection lost`; err.Error() != want {
			t.Errorf("Run's error says %q, want %q", err, want)
		}
		if len(handled) != 300 || int64(len(handled)) != accepted.Load() || !slices.IsSorted(handled) {
			t.Errorf("handled %d values of %d accepted, want all 300 in order", len(handled), accepted.Load())
		}
		if d := time.Since(start); d != 30*time.Second {
			t.Errorf("Run returned after %v, want 30s: the drain of 300 values", d)
		}
		if got := adapterStatesOf(g.Stats()); !cmp.Equal(got, map[string]AdapterState{"bad": Failed, "burst": Stopped}) {
			t.Errorf("states after Run: %v, want bad failed, burst stopped", got)
		}
		if st := g.Stats(); st.Escalations != 1 || st.Abandoned != 0 {
			t.Errorf("Escalations %d, Abandoned %d; want 1, 0", st.Escalations, st.Abandoned)
		}
		// The escalation is reported, and the other adapter is stopped.
		// Events of different names are not ordered with each other (each
		// name has its own queue), so the two are compared as a set.
		var got []string
		for len(events) > 0 {
			e := <-events
			if e.Kind == EventGaveUp || e.Kind == EventStopped {
				got = append(got, e.Adapter+" "+e.Kind.String())
			}
		}
		slices.Sort(got)
		if want := []string{"bad gave up", "burst stopped"}; !slices.Equal(got, want) {
			t.Errorf("events %q, want %q", got, want)
		}
	})
}

// adapterStatesOf maps each adapter of st to its state.
func adapterStatesOf(st GroupStats) map[string]AdapterState {
	out := map[string]AdapterState{}
	for _, a := range st.Adapters {
		out[a.Name] = a.State
	}
	return out
}

// TestDependencyDownLongerThanWindow: a dependency that is down for five
// minutes, longer than the one-minute intensity window. By default the
// adapter escalates once its intensity is spent, at a known instant; kept
// trying, it rides out the outage at its maximum backoff, reports that it
// is degraded, and serves again once the dependency is back.
func TestDependencyDownLongerThanWindow(t *testing.T) {
	backoff := WithBackoff(100*time.Millisecond, 10*time.Second, 0)

	t.Run("default escalates", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			dep := &dependency{}
			g := &Group[string]{}
			mustAdd(t, g, &client{dep: dep}, backoff)
			start := time.Now()
			err := g.Run(context.Background(), func(string) error { return nil })
			var ae *AdapterError
			if !errors.As(err, &ae) || ae.Name != "client" || !errors.Is(err, errDown) {
				t.Fatalf("Run = %v, want an *AdapterError for client wrapping %v", err, errDown)
			}
			// 10 restarts: 0.1+0.2+0.4+0.8+1.6+3.2+6.4+10+10+10 s; the 11th is refused.
			if d := time.Since(start); d != 42700*time.Millisecond {
				t.Errorf("Run returned after %v, want 42.7s", d)
			}
			if a := g.Stats().Adapters[0]; a.State != Failed || a.Restarts != 10 || a.KeepTrying {
				t.Errorf("client: %v, %d restarts, keep trying %v; want failed, 10, false", a.State, a.Restarts, a.KeepTrying)
			}
		})
	})

	t.Run("kept trying serves again", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			dep := &dependency{}
			events := make(chan AdapterEvent, 1000)
			g := &Group[string]{Events: events}
			c := &client{dep: dep, msgs: []string{"after the outage"}}
			mustAdd(t, g, c, backoff, WithKeepTrying())
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() {
				time.Sleep(2 * time.Minute)
				a := g.Stats().Adapters[0]
				if a.State != Restarting || !a.Degraded || !a.KeepTrying || a.Err != errDown {
					t.Errorf("during the outage: %v, degraded %v, keep trying %v, err %v; want restarting, true, true, %v", a.State, a.Degraded, a.KeepTrying, a.Err, errDown)
				}
				time.Sleep(3 * time.Minute)
				dep.up.Store(true)
			}()
			var got []string
			var at time.Duration
			start := time.Now()
			err := g.Run(ctx, func(m string) error {
				got = append(got, m)
				at = time.Since(start)
				cancel()
				return nil
			})
			if err != nil {
				t.Fatalf("Run = %v, want nil", err)
			}
			if !slices.Equal(got, []string{"after the outage"}) {
				t.Errorf("handled %q, want the message sent after the outage", got)
			}
			// Up at 5m; restarts over the intensity come every 10 s
			// (the maximum backoff) from 42.7 s on: 42.7 + 26·10 = 302.7 s.
			if at != 302700*time.Millisecond {
				t.Errorf("served again at %v, want 5m2.7s: the first restart at the maximum backoff after the dependency came back", at)
			}
			var degraded, gaveUp int
			for len(events) > 0 {
				switch (<-events).Kind {
				case EventDegraded:
					degraded++
				case EventGaveUp:
					gaveUp++
				}
			}
			if degraded != 1 || gaveUp != 0 {
				t.Errorf("%d degraded and %d gave-up events, want 1 and 0", degraded, gaveUp)
			}
			if st := g.Stats(); st.Escalations != 0 || st.Adapters[0].Degraded {
				t.Errorf("Escalations %d, Degraded %v after the run; want 0, false", st.Escalations, st.Adapters[0].Degraded)
			}
		})
	})
}

// TestStreamErrAfterEscalation: a consumer of Start's Stream learns of the
// escalation from Stream.Err once it has received every value.
func TestStreamErrAfterEscalation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var accepted atomic.Int64
		g := &Group[int]{}
		sent := make(chan struct{})
		mustAdd(t, g, AdapterFunc("burst", func(ctx context.Context, s Sink[int]) error {
			for i := range 10 {
				if s.Send(ctx, i) == nil {
					accepted.Add(1)
				}
			}
			close(sent)
			<-ctx.Done()
			return nil
		}))
		mustAdd(t, g, AdapterFunc("bad", func(context.Context, Sink[int]) error { <-sent; return errConnLost }), WithIntensity(0, time.Minute))
		stream := mustGroupStart(t, g)
		synctest.Wait()
		if err := stream.Err(); err == nil {
			t.Fatal("Stream.Err = nil after the escalation, want an *AdapterError")
		}
		got := drainStream(stream)
		if len(got) != 10 || accepted.Load() != 10 {
			t.Errorf("received %d of %d accepted, want 10", len(got), accepted.Load())
		}
		var ae *AdapterError
		if err := stream.Err(); !errors.As(err, &ae) || ae.Name != "bad" || !errors.Is(err, errConnLost) {
			t.Errorf("Stream.Err = %v, want bad's *AdapterError", err)
		}
		if err := g.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown = %v, want nil", err)
		}
	})
}

// TestFailFast: an adapter added WithFailFast whose first Start fails
// fails Start (and Run) with its error; values other adapters had sent are
// abandoned, not lost; nothing is left running. On a running group, Add
// returns the error and leaves the adapter out.
func TestFailFast(t *testing.T) {
	bad := &testAdapter{name: "listener", start: func(context.Context) error { return errDown }}

	t.Run("Start", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var accepted atomic.Int64
			var abandoned []int
			g := &Group[int]{Abandon: func(v int) { abandoned = append(abandoned, v) }}
			mustAdd(t, g, burst("burst", 5, &accepted))
			// Map: the listener has another message type; the failure is the same.
			mustAdd(t, g, Map(Adapter[string](bad), func(s string) int { return len(s) }), WithFailFast())
			// The burst runs before the listener's Start returns.
			mustAdd(t, g, AdapterFunc("zz-gate", func(ctx context.Context, _ Sink[int]) error { <-ctx.Done(); return nil }))
			stream, err := g.Start(context.Background())
			var ae *AdapterError
			if stream != nil || !errors.As(err, &ae) || ae.Name != "listener" || ae.GaveUp || !errors.Is(err, errDown) {
				t.Fatalf("Start = %v, %v; want nil and an *AdapterError for listener", stream, err)
			}
			if want := `fanin: adapter "listener" failed to start: dial: connection refused`; err.Error() != want {
				t.Errorf("Start's error says %q, want %q", err, want)
			}
			if int64(len(abandoned)) != accepted.Load() || g.Stats().Abandoned != uint64(accepted.Load()) {
				t.Errorf("abandoned %v (Stats %d), want the %d accepted", abandoned, g.Stats().Abandoned, accepted.Load())
			}
			states := adapterStatesOf(g.Stats())
			if states["listener"] != Failed || states["burst"] != Stopped {
				t.Errorf("states %v, want listener failed, burst stopped", states)
			}
			if _, err := g.Sender(); err != ErrClosed {
				t.Errorf("Sender after a failed Start = %v, want ErrClosed", err)
			}
			if _, err := g.Start(context.Background()); !errors.As(err, &ae) {
				t.Errorf("second Start = %v, want the same failure again", err)
			}
		})
	})

	t.Run("Run", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			g := &Group[string]{}
			mustAdd(t, g, bad, WithFailFast())
			handled := 0
			err := g.Run(context.Background(), func(string) error { handled++; return nil })
			if !errors.Is(err, errDown) || handled != 0 {
				t.Errorf("Run = %v after %d values, want %v at once", err, handled, errDown)
			}
		})
	})

	t.Run("Add", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			g := &Group[string]{}
			stream := mustGroupStart(t, g)
			if err := g.Add(context.Background(), bad, WithFailFast()); err != errDown {
				t.Errorf("Add = %v, want %v", err, errDown)
			}
			if st := g.Stats(); len(st.Adapters) != 0 {
				t.Errorf("after a failed Add the group holds %v, want nothing", st.Adapters)
			}
			if err := g.Add(context.Background(), &testAdapter{name: "listener"}, WithFailFast()); err != nil {
				t.Errorf("Add of the name again = %v, want nil", err)
			}
			if got := recv(t, stream); got != "listener" {
				t.Errorf("received %q, want listener", got)
			}
			g.Shutdown(context.Background())
			drainStream(stream)
		})
	})

	t.Run("succeeds", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			g := &Group[string]{}
			mustAdd(t, g, &testAdapter{name: "listener"}, WithFailFast())
			stream := mustGroupStart(t, g)
			if got := recv(t, stream); got != "listener" {
				t.Errorf("received %q, want listener", got)
			}
			g.Shutdown(context.Background())
			drainStream(stream)
		})
	})
}

// TestRunDrainIsBounded: after ctx ends, Run hands values to handle for
// DrainTimeout, then hands the rest to Abandon, in order, reports their
// count, and returns; handled and abandoned add up to what was accepted.
func TestRunDrainIsBounded(t *testing.T) {
	for _, withAbandon := range []bool{true, false} {
		t.Run(fmt.Sprintf("Abandon set %v", withAbandon), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var accepted atomic.Int64
				var abandoned []int
				g := &Group[int]{DrainTimeout: 10 * time.Second}
				if withAbandon {
					g.Abandon = func(v int) { abandoned = append(abandoned, v) }
				}
				mustAdd(t, g, burst("burst", 100, &accepted))
				ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
				defer cancel()
				start := time.Now()
				var handled []int
				err := g.Run(ctx, func(v int) error {
					handled = append(handled, v)
					time.Sleep(time.Second)
					return nil
				})
				// ctx ends at 1.5 s, the drain at 11.5 s; the value begun
				// at 11 s is the last, and ends at 12 s.
				if d := time.Since(start); d != 12*time.Second {
					t.Errorf("Run returned after %v, want 12s", d)
				}
				if !errors.Is(err, ErrDrainTimeout) || !strings.Contains(err.Error(), "88 accepted values were not handled") {
					t.Errorf("Run = %v, want ErrDrainTimeout with 88 values", err)
				}
				if len(handled) != 12 || !slices.Equal(handled, seq(0, 12)) {
					t.Errorf("handled %v, want 0..11", handled)
				}
				if withAbandon && !slices.Equal(abandoned, seq(12, 100)) {
					t.Errorf("abandoned %v, want 12..99 in order", abandoned)
				}
				if st := g.Stats(); st.Abandoned != 88 || int64(len(handled))+int64(st.Abandoned) != accepted.Load() {
					t.Errorf("Stats.Abandoned %d, handled %d, accepted %d; want 88 + 12 = 100", st.Abandoned, len(handled), accepted.Load())
				}
			})
		})
	}
}

func seq(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

// TestRunHandleErrorAbandons: an error from handle ends Run with it, and
// what was accepted but not handled goes to Abandon.
func TestRunHandleErrorAbandons(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		errAgent := errors.New("agent broke")
		var accepted atomic.Int64
		var abandoned []int
		g := &Group[int]{Abandon: func(v int) { abandoned = append(abandoned, v) }}
		mustAdd(t, g, burst("burst", 50, &accepted))
		err := g.Run(context.Background(), func(v int) error {
			if v == 0 {
				synctest.Wait() // the burst has placed all 50 and waits for its ctx
			}
			if v == 9 {
				return errAgent
			}
			return nil
		})
		if err != errAgent {
			t.Errorf("Run = %v, want %v", err, errAgent)
		}
		if !slices.Equal(abandoned, seq(10, 50)) || g.Stats().Abandoned != 40 || accepted.Load() != 50 {
			t.Errorf("abandoned %v (Stats %d) of %d accepted, want 10..49", abandoned, g.Stats().Abandoned, accepted.Load())
		}
	})
}

// TestRunPanicInHandleEndsGroupFirst: a panic in handle reaches Run's
// caller unchanged, and only after every adapter has been stopped and has
// returned, and the values left have been abandoned.
func TestRunPanicInHandleEndsGroupFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var accepted atomic.Int64
		var returned atomic.Bool
		var abandoned []int
		g := &Group[int]{Abandon: func(v int) { abandoned = append(abandoned, v) }}
		mustAdd(t, g, AdapterFunc("burst", func(ctx context.Context, s Sink[int]) error {
			defer returned.Store(true)
			return burst("burst", 20, &accepted).Run(ctx, s)
		}))
		errBug := errors.New("bug in the agent")
		var recovered any
		func() {
			defer func() { recovered = recover() }()
			g.Run(context.Background(), func(v int) error {
				if v == 0 {
					time.Sleep(time.Second)
				}
				if v == 3 {
					panic(errBug)
				}
				return nil
			})
		}()
		if recovered != errBug {
			t.Fatalf("recovered %v, want the value handle panicked with", recovered)
		}
		if !returned.Load() {
			t.Error("the adapter had not returned when the panic reached the caller")
		}
		if got := g.Stats().Adapters[0].State; got != Stopped {
			t.Errorf("adapter is %v, want stopped", got)
		}
		if !slices.Equal(abandoned, seq(4, 20)) {
			t.Errorf("abandoned %v, want 4..19", abandoned)
		}
		if _, err := g.Sender(); err != ErrClosed {
			t.Errorf("Sender after the panic = %v, want ErrClosed: the group is not running", err)
		}
		// The group can run again.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := g.Run(ctx, func(int) error { return nil }); err != nil {
			t.Errorf("Run again = %v, want nil", err)
		}
	})
}

// stuck is an adapter that ignores its ctx until released, and counts how
// many of its instances run at once.
type stuck struct {
	name    string
	release chan struct{}
	mu      sync.Mutex
	now     int
	most    int
	runs    int
}

func (a *stuck) Name() string { return a.name }

func (a *stuck) Run(ctx context.Context, s Sink[string]) error {
	a.mu.Lock()
	a.now++
	a.runs++
	a.most = max(a.most, a.now)
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		a.now--
		a.mu.Unlock()
	}()
	s.TrySend(a.name)
	<-ctx.Done()
	<-a.release
	return nil
}

// TestOneInstancePerName: a Start after a Shutdown that gave up waiting for
// a stuck adapter, or an Add after a Remove that did, does not run a second
// instance beside it: the new one is Waiting until the old one returns.
func TestOneInstancePerName(t *testing.T) {
	for _, how := range []string{"Shutdown then Start", "Remove then Add"} {
		t.Run(how, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a := &stuck{name: "a", release: make(chan struct{})}
				g := &Group[string]{}
				mustAdd(t, g, a)
				stream := mustGroupStart(t, g)
				synctest.Wait()
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				if how == "Shutdown then Start" {
					var nr *NotReturnedError
					if err := g.Shutdown(ctx); !errors.As(err, &nr) {
						t.Fatalf("Shutdown = %v, want a NotReturnedError", err)
					}
					drainStream(stream)
					stream = mustGroupStart(t, g)
				} else {
					if err := g.Remove(ctx, "a"); !errors.Is(err, context.DeadlineExceeded) {
						t.Fatalf("Remove = %v, want the deadline", err)
					}
					mustAdd(t, g, a)
				}
				synctest.Wait()
				if got := adapterStates(g)["a"]; got != Waiting {
					t.Errorf("the new instance is %v while the old one runs, want waiting", got)
				}
				close(a.release)
				synctest.Wait()
				if got := adapterStates(g)["a"]; got != Running {
					t.Errorf("the new instance is %v once the old one returned, want running", got)
				}
				g.Shutdown(context.Background())
				drainStream(stream)
				if a.most != 1 || a.runs != 2 {
					t.Errorf("%d runs, at most %d at once; want 2 runs, 1 at once", a.runs, a.most)
				}
			})
		})
	}
}

// TestEventsInNameOrderAcrossRemoveAndAdd: the events of a name keep their
// order when an adapter is removed and another is added under its name,
// even while the removed one has not returned.
func TestEventsInNameOrderAcrossRemoveAndAdd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		events := make(chan AdapterEvent, 100)
		g := &Group[string]{Events: events}
		a := &stuck{name: "a", release: make(chan struct{})}
		mustAdd(t, g, a)
		stream := mustGroupStart(t, g)
		synctest.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		g.Remove(ctx, "a")
		mustAdd(t, g, &testAdapter{name: "a"})
		synctest.Wait()
		close(a.release)
		synctest.Wait()
		g.Shutdown(context.Background())
		drainStream(stream)
		var kinds []EventKind
		for len(events) > 0 {
			kinds = append(kinds, (<-events).Kind)
		}
		want := []EventKind{EventStarted, EventRemoved, EventStopped, EventStarted, EventStopped}
		if diff := cmp.Diff(want, kinds); diff != "" {
			t.Errorf("events of a (-want +got):\n%s", diff)
		}
	})
}

// TestFailedReplaceReportsItself: a Replace whose adapter fails to start
// says so in an event of its own, and leaves the name's state and error to
// the adapter that serves on.
func TestFailedReplaceReportsItself(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		events := make(chan AdapterEvent, 100)
		g := &Group[string]{Events: events}
		mustAdd(t, g, &testAdapter{name: "a"})
		stream := mustGroupStart(t, g)
		recv(t, stream)
		err := g.Replace(context.Background(), &testAdapter{name: "a", start: func(context.Context) error { return errDown }})
		if err != errDown {
			t.Fatalf("Replace = %v, want %v", err, errDown)
		}
		if got := statuses(g); !cmp.Equal(got, []status{{"a", Running, nil}}, sameError) {
			t.Errorf("after the failed Replace: %v, want a running with no error", got)
		}
		var last AdapterEvent
		for len(events) > 0 {
			last = <-events
		}
		if last.Kind != EventReplaceFailed || last.Err != errDown {
			t.Errorf("last event %v (%v), want replace failed (%v)", last.Kind, last.Err, errDown)
		}
		g.Shutdown(context.Background())
		drainStream(stream)
	})
}

// TestRestartsCountsOnlyRestartsThatBegan: a Shutdown during the backoff
// cuts the restart short, and it is not counted.
func TestRestartsCountsOnlyRestartsThatBegan(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &Group[string]{}
		mustAdd(t, g, newFlaky("ws", fail(errConnLost), fail(errConnLost)), WithBackoff(time.Second, time.Second, 0))
		stream := mustGroupStart(t, g)
		time.Sleep(1500 * time.Millisecond) // one restart at 1 s; the second waits until 2 s
		g.Shutdown(context.Background())
		drainStream(stream)
		if got := g.Stats().Adapters[0].Restarts; got != 1 {
			t.Errorf("Restarts = %d, want 1: the second was cut short", got)
		}
	})
}

// TestLaneLimits: WithLane refuses what cannot work where the option is
// made, and the largest weight it takes still gets its turns.
func TestLaneLimits(t *testing.T) {
	for _, tc := range []struct{ capacity, weight int }{
		{MaxCapacity + 1, 1},
		{1 << 62, 1},
		{1, MaxWeight + 1},
		{1, 1 << 59},
		{1, 1 << 60},
	} {
		msg := panicMessage(func() { WithLane(tc.capacity, tc.weight) })
		if !strings.HasPrefix(msg, "fanin: WithLane") || !strings.Contains(msg, "MaxWeight") {
			t.Errorf("WithLane(%d, %d) panicked with %q, want a fanin: message naming the limits", tc.capacity, tc.weight, msg)
		}
	}
	synctest.Test(t, func(t *testing.T) {
		g := &Group[string]{}
		mustAdd(t, g, &testAdapter{name: "heavy"}, WithLane(MaxCapacity, MaxWeight))
		mustAdd(t, g, &testAdapter{name: "light"})
		stream := mustGroupStart(t, g)
		got := []string{recv(t, stream), recv(t, stream)}
		slices.Sort(got)
		if !slices.Equal(got, []string{"heavy", "light"}) {
			t.Errorf("received %q, want both", got)
		}
		g.Shutdown(context.Background())
		if _, err := stream.Recv(context.Background()); err != ErrClosed {
			t.Errorf("Recv after Shutdown = %v, want ErrClosed", err)
		}
	})
}

// TestZeroOptionChangesNothing: the zero Option is harmless.
func TestZeroOptionChangesNothing(t *testing.T) {
	if got, want := defaultConfig([]Option{{}}), defaultConfig(nil); got != want {
		t.Errorf("config with a zero Option = %+v, want the defaults %+v", got, want)
	}
}

// TestRunAbandonsValuesOfSendsInFlight: with bounds so short that they
// pass while sends are still in flight, every accepted value is handled or
// abandoned exactly once, and none is lost.
func TestRunAbandonsValuesOfSendsInFlight(t *testing.T) {
	for iter := range 40 {
		var mu sync.Mutex
		accepted, seen := map[int]bool{}, map[int]int{}
		var next atomic.Int64
		g := &Group[int]{DrainTimeout: time.Nanosecond, ShutdownTimeout: time.Nanosecond}
		g.Abandon = func(v int) { mu.Lock(); seen[v]++; mu.Unlock() }
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Add(1)
			mustAdd(t, g, AdapterFunc(fmt.Sprint("spin", i), func(ctx context.Context, s Sink[int]) error {
				defer wg.Done()
				for {
					v := int(next.Add(1))
					err := s.TrySend(v)
					if err == nil {
						mu.Lock()
						accepted[v] = true
						mu.Unlock()
					}
					if err == ErrClosed {
						return nil
					}
				}
			}), WithLane(4, 1))
		}
		ctx, cancel := context.WithCancel(context.Background())
		n := 0
		g.Run(ctx, func(v int) error {
			mu.Lock()
			seen[v]++
			mu.Unlock()
			if n++; n == 200 {
				cancel()
			}
			return nil
		})
		wg.Wait() // every adapter has returned, so every acceptance is recorded
		for v := range accepted {
			if seen[v] != 1 {
				t.Fatalf("iteration %d: accepted value %d was handled or abandoned %d times, want once", iter, v, seen[v])
			}
		}
		if int(g.Stats().Accepted) != len(accepted) {
			t.Fatalf("iteration %d: Stats.Accepted %d, want %d", iter, g.Stats().Accepted, len(accepted))
		}
	}
}

// TestRunDrainLongerThanShutdownTimeout: a drain that outlasts
// ShutdownTimeout, with every adapter returned long before, is no failure.
func TestRunDrainLongerThanShutdownTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var accepted atomic.Int64
		g := &Group[int]{DrainTimeout: 10 * time.Second, ShutdownTimeout: time.Second}
		mustAdd(t, g, burst("burst", 5, &accepted))
		ctx, cancel := context.WithCancel(context.Background())
		handled := 0
		err := g.Run(ctx, func(v int) error {
			if v == 0 {
				cancel() // the run ends with 4 values left
			}
			handled++
			time.Sleep(time.Second) // 5 s in all: within DrainTimeout, past ShutdownTimeout
			return nil
		})
		if err != nil || handled != 5 {
			t.Errorf("Run = %v, handled %d; want nil, 5", err, handled)
		}
	})
}

// TestFailedReplaceGoexit: a Replace whose adapter calls runtime.Goexit in
// Start is a failed Replace like any other.
func TestFailedReplaceGoexit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		events := make(chan AdapterEvent, 100)
		g := &Group[string]{Events: events}
		mustAdd(t, g, newFlaky("x", fail(errConnLost)), WithBackoff(time.Second, time.Second, 0))
		stream := mustGroupStart(t, g)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		for len(events) > 0 {
			<-events
		}
		err := g.Replace(context.Background(), &testAdapter{name: "x", start: func(context.Context) error {
			runtime.Goexit()
			return nil
		}})
		if err == nil {
			t.Fatal("Replace = nil, want the Goexit error")
		}
		if got := statuses(g); !cmp.Equal(got, []status{{"x", Running, errConnLost}}, sameError) {
			t.Errorf("after the failed Replace: %v, want x running with its own error", got)
		}
		var kinds []EventKind
		for len(events) > 0 {
			kinds = append(kinds, (<-events).Kind)
		}
		if !slices.Equal(kinds, []EventKind{EventReplaceFailed}) {
			t.Errorf("events %v, want [replace failed]", kinds)
		}
		g.Shutdown(context.Background())
		drainStream(stream)
	})
}

// TestFailFastAddRacesRestart: a Shutdown and Start between the failed
// first Start of an Add and its answer never leave the adapter running
// while Add reports it out of the group.
func TestFailFastAddRacesRestart(t *testing.T) {
	for iter := range 300 {
		g := &Group[string]{}
		g.Start(context.Background())
		var starts, live atomic.Int32
		a := &testAdapter{name: "ff",
			start: func(context.Context) error {
				if starts.Add(1) == 1 {
					return errDown
				}
				return nil
			},
			run: func(ctx context.Context, _ Sink[string]) error {
				live.Add(1)
				defer live.Add(-1)
				<-ctx.Done()
				return nil
			}}
		var wg sync.WaitGroup
		wg.Go(func() {
			g.Shutdown(context.Background())
			g.Start(context.Background())
		})
		err := g.Add(context.Background(), a, WithFailFast())
		wg.Wait()
		if err == errDown {
			if n := len(g.Stats().Adapters); n != 0 || live.Load() != 0 {
				t.Fatalf("iteration %d: Add = %v, yet %d instances run and Stats lists %d adapters", iter, err, live.Load(), n)
			}
		}
		g.Shutdown(context.Background())
	}
}

// TestFailFastAfterWaiting: a WithFailFast adapter that waited for an
// earlier instance of its name, and then failed its first Start, ends the
// run that Start or Run had already begun.
func TestFailFastAfterWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := &stuck{name: "ff", release: make(chan struct{})}
		var failing atomic.Bool
		g := &Group[string]{}
		mustAdd(t, g, &startRun{Adapter: a, start: func() error {
			if failing.Load() {
				return errDown
			}
			return nil
		}}, WithFailFast())
		stream := mustGroupStart(t, g)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := g.Shutdown(ctx); err == nil {
			t.Fatal("Shutdown = nil, want the stuck adapter reported")
		}
		drainStream(stream)
		failing.Store(true)
		done := make(chan error)
		go func() { done <- g.Run(context.Background(), func(string) error { return nil }) }()
		synctest.Wait()
		if got := adapterStates(g)["ff"]; got != Waiting {
			t.Errorf("ff is %v, want waiting", got)
		}
		close(a.release)
		err := <-done
		var ae *AdapterError
		if !errors.As(err, &ae) || ae.Name != "ff" || ae.GaveUp || !errors.Is(err, errDown) {
			t.Errorf("Run = %v, want ff's failed start", err)
		}
	})
}

// startRun adds a Start to an adapter.
type startRun struct {
	Adapter[string]
	start func() error
}

func (a *startRun) Start(context.Context) error { return a.start() }

// blockingHandler is a slog.Handler that blocks while it logs an event of
// one kind, until release is closed.
type blockingHandler struct {
	kind    string
	inside  *atomic.Int32
	release chan struct{}
}

func (h blockingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h blockingHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h blockingHandler) WithGroup(string) slog.Handler            { return h }
func (h blockingHandler) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "event" && a.Value.String() == h.kind {
			h.inside.Add(1)
			<-h.release
			h.inside.Add(-1)
		}
		return true
	})
	return nil
}

// TestEscalatingAdapterIsWaitedFor: the goroutine of the adapter that
// escalates belongs to the run like any other: Run and Shutdown wait for
// it, up to their bounds, and report it while it has not returned.
func TestEscalatingAdapterIsWaitedFor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var inside atomic.Int32
		release := make(chan struct{})
		g := &Group[int]{ShutdownTimeout: time.Second}
		g.Logger = slog.New(blockingHandler{kind: "gave up", inside: &inside, release: release})
		mustAdd(t, g, AdapterFunc("a", func(context.Context, Sink[int]) error { return errConnLost }), WithIntensity(0, time.Minute))
		err := g.Run(context.Background(), func(int) error { return nil })
		var ae *AdapterError
		var nr *NotReturnedError
		if !errors.As(err, &ae) || !errors.As(err, &nr) || nr.Names[0] != "a" {
			t.Errorf("Run = %v, want the AdapterError and a NotReturnedError naming a, which is still logging", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := g.Shutdown(ctx); !errors.As(err, &nr) {
			t.Errorf("Shutdown = %v while a logs, want a NotReturnedError", err)
		}
		close(release)
		if err := g.Shutdown(context.Background()); err != nil || inside.Load() != 0 {
			t.Errorf("Shutdown = %v once a could return (%d inside the logger), want nil", err, inside.Load())
		}
	})
}

// TestEarlyEscalationDrains: an adapter that escalates while Run is still
// starting ends the run like any escalation: what it sent is handled.
func TestEarlyEscalationDrains(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &Group[int]{}
		mustAdd(t, g, AdapterFunc("a", func(ctx context.Context, s Sink[int]) error {
			s.Send(ctx, 1)
			s.Send(ctx, 2)
			return errConnLost
		}), WithIntensity(0, time.Minute))
		handled := 0
		err := g.Run(context.Background(), func(int) error { handled++; return nil })
		var ae *AdapterError
		if !errors.As(err, &ae) || errors.Is(err, ErrDrainTimeout) || handled != 2 || g.Stats().Abandoned != 0 {
			t.Errorf("Run = %v after handling %d (abandoned %d), want the AdapterError alone after handling both", err, handled, g.Stats().Abandoned)
		}
	})
}

// goexitAdapter calls runtime.Goexit in its Start (inStart) or its Run.
type goexitAdapter struct {
	name    string
	inStart bool
}

func (a goexitAdapter) Name() string { return a.name }
func (a goexitAdapter) Start(context.Context) error {
	if a.inStart {
		runtime.Goexit()
	}
	return nil
}
func (a goexitAdapter) Run(ctx context.Context, _ Sink[int]) error {
	if !a.inStart {
		runtime.Goexit()
	}
	<-ctx.Done()
	return nil
}

// TestGoexitIsAFailureThatCannotRestart: runtime.Goexit in Start or Run
// ends the adapter for good, so it escalates unless the program said it
// can live without it, and under WithFailFast it fails the start.
func TestGoexitIsAFailureThatCannotRestart(t *testing.T) {
	t.Run("WithFailFast Start", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			g := &Group[int]{}
			mustAdd(t, g, goexitAdapter{"ff", true}, WithFailFast())
			var ae *AdapterError
			if _, err := g.Start(context.Background()); !errors.As(err, &ae) || ae.GaveUp || !errors.Is(err, errGoexit) {
				t.Errorf("Start = %v, want ff's failed start", err)
			}
		})
	})
	t.Run("WithFailFast Add", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			g := &Group[int]{}
			stream := mustGroupStart(t, g)
			if err := g.Add(context.Background(), goexitAdapter{"ff", true}, WithFailFast()); err != errGoexit {
				t.Errorf("Add = %v, want %v", err, errGoexit)
			}
			if n := len(g.Stats().Adapters); n != 0 {
				t.Errorf("the group holds %d adapters after the failed Add, want 0", n)
			}
			g.Shutdown(context.Background())
			drainStream(stream)
		})
	})
	for _, tc := range []struct {
		name      string
		opts      []Option
		escalates bool
	}{
		{"default", nil, true},
		{"WithKeepTrying", []Option{WithKeepTrying()}, false},
		{"RestartNever", []Option{never}, false},
	} {
		t.Run("Run "+tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g := &Group[int]{}
				mustAdd(t, g, goexitAdapter{"a", false}, tc.opts...)
				ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
				defer cancel()
				err := g.Run(ctx, func(int) error { return nil })
				var ae *AdapterError
				if got := errors.As(err, &ae) && ae.GaveUp && errors.Is(err, errGoexit); got != tc.escalates {
					t.Errorf("Run = %v; escalated %v, want %v", err, got, tc.escalates)
				}
				if want := `cannot be restarted`; tc.escalates && !strings.Contains(fmt.Sprint(err), want) {
					t.Errorf("Run's error %q does not say it %s", err, want)
				}
			})
		})
	}
}

// TestKeepTryingBackoffLongerThanWindow: kept trying with a maximum backoff
// longer than the intensity window, an adapter whose dependency stays down
// goes over once, waits the maximum backoff before every restart after,
// and stays degraded, since it never starts.
func TestKeepTryingBackoffLongerThanWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		events := make(chan AdapterEvent, 1000)
		g := &Group[string]{Events: events}
		mustAdd(t, g, &client{dep: &dependency{}}, WithKeepTrying(), WithIntensity(1, 5*time.Second), WithBackoff(time.Second, 10*time.Second, 0))
		stream := mustGroupStart(t, g)
		for range 120 {
			time.Sleep(time.Second)
			if a := g.Stats().Adapters[0]; a.Restarts > 1 && !a.Degraded {
				t.Fatalf("after %d restarts the adapter is not degraded, though it never started", a.Restarts)
			}
		}
		g.Shutdown(context.Background())
		drainStream(stream)
		close(events)
		over, degraded := false, 0
		for e := range events {
			switch e.Kind {
			case EventDegraded:
				degraded++
				over = true
			case EventRestarting:
				if over && e.Delay != 10*time.Second {
					t.Errorf("restart %d after going over waits %v, want the maximum, 10s", e.Attempt, e.Delay)
				}
			}
		}
		if degraded != 1 {
			t.Errorf("%d degraded events for one outage, want 1", degraded)
		}
	})
}

// TestReplaceKeepsNewAdaptersError: once Replace has installed an adapter,
// the name's error is that adapter's own, even if it failed at once.
func TestReplaceKeepsNewAdaptersError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &Group[string]{}
		mustAdd(t, g, &testAdapter{name: "a"})
		stream := mustGroupStart(t, g)
		recv(t, stream)
		err := g.Replace(context.Background(), &testAdapter{name: "a", run: func(context.Context, Sink[string]) error { return errConnLost }}, never)
		if err != nil {
			t.Fatalf("Replace = %v", err)
		}
		synctest.Wait()
		if got := statuses(g); !cmp.Equal(got, []status{{"a", Failed, errConnLost}}, sameError) {
			t.Errorf("after Replace: %v, want a failed with its own error", got)
		}
		g.Shutdown(context.Background())
		drainStream(stream)
	})
}

// TestHandleErrorKeepsEscalation: an error from handle while Run drains
// after an escalation is returned with the escalation, not instead of it.
func TestHandleErrorKeepsEscalation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &Group[int]{}
		proceed := make(chan struct{})
		mustAdd(t, g, AdapterFunc("a", func(ctx context.Context, s Sink[int]) error {
			s.Send(ctx, 1)
			s.Send(ctx, 2)
			<-proceed
			return errConnLost
		}), WithIntensity(0, time.Minute))
		errAgent := errors.New("agent broke")
		err := g.Run(context.Background(), func(int) error {
			close(proceed)
			synctest.Wait() // a has escalated
			return errAgent
		})
		var ae *AdapterError
		if !errors.Is(err, errAgent) || !errors.As(err, &ae) {
			t.Errorf("Run = %v, want both handle's error and the AdapterError", err)
		}
	})
}

// TestRunCtxEndsDuringFailFastStart: a WithFailFast Start that fails
// because Run's ctx ended is no failure of the adapter.
func TestRunCtxEndsDuringFailFastStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &Group[int]{}
		slow := &testAdapter{name: "listener", start: func(ctx context.Context) error {
			select {
			case <-time.After(time.Second):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}}
		mustAdd(t, g, Map(Adapter[string](slow), func(s string) int { return len(s) }), WithFailFast())
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		if err := g.Run(ctx, func(int) error { return nil }); err != nil || g.Stats().Escalations != 0 {
			t.Errorf("Run = %v (escalations %d) after its ctx ended while the listener started, want nil", err, g.Stats().Escalations)
		}
	})
}
