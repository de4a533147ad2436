package fanin

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// flaky is an adapter whose Run calls are scripted: each call records the
// time it began and returns the next outcome. Once the script is used up,
// Run serves until its ctx ends.
type flaky struct {
	name string

	mu     sync.Mutex
	script []func() error
	starts []time.Duration // when each Run began, since t0
	t0     time.Time
}

func newFlaky(name string, script ...func() error) *flaky {
	return &flaky{name: name, script: script, t0: time.Now()}
}

func (f *flaky) Name() string { return f.name }

func (f *flaky) Run(ctx context.Context, s Sink[string]) error {
	f.mu.Lock()
	f.starts = append(f.starts, time.Since(f.t0))
	var next func() error
	if len(f.script) > 0 {
		next, f.script = f.script[0], f.script[1:]
	}
	f.mu.Unlock()
	if next != nil {
		return next()
	}
	<-ctx.Done()
	return nil
}

func (f *flaky) runs() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.starts...)
}

func fail(err error) func() error { return func() error { return err } }

func repeat(n int, f func() error) []func() error {
	out := make([]func() error, n)
	for i := range out {
		out[i] = f
	}
	return out
}

var errConnLost = errors.New("connection lost")

// TestRestartBackoffInstants: with no jitter, an adapter that fails at once
// every time is restarted at exactly min, 2min, 4min... after each failure,
// capped at max.
func TestRestartBackoffInstants(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFlaky("ws", repeat(6, fail(errConnLost))...)
		g := &Group[string]{}
		mustAdd(t, g, f, WithBackoff(100*time.Millisecond, time.Second, 0))
		stream := mustGroupStart(t, g)
		time.Sleep(time.Minute) // the fake clock: every restart is due by now
		synctest.Wait()
		ms := time.Millisecond
		want := []time.Duration{0, 100 * ms, 300 * ms, 700 * ms, 1500 * ms, 2500 * ms, 3500 * ms}
		if diff := cmp.Diff(want, f.runs()); diff != "" {
			t.Errorf("Run began at (-want +got):\n%s", diff)
		}
		st := g.Stats().Adapters[0]
		if st.State != Running || st.Restarts != 6 || st.Err != errConnLost || st.Runs != 7 {
			t.Errorf("stats = %v, %d restarts, err %v, %d runs; want running, 6, %v, 7", st.State, st.Restarts, st.Err, st.Runs, errConnLost)
		}
		g.Shutdown(context.Background())
		drainStream(stream)
	})
}

// TestRestartJitterStaysInRange: jitter draws each delay from
// [delay*(1-jitter), delay].
func TestRestartJitterStaysInRange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFlaky("ws", repeat(20, fail(errConnLost))...)
		g := &Group[string]{}
		mustAdd(t, g, f, WithBackoff(time.Second, time.Second, 0.5), WithIntensity(100, time.Hour))
		stream := mustGroupStart(t, g)
		time.Sleep(time.Hour)
		synctest.Wait()
		runs := f.runs()
		if len(runs) != 21 {
			t.Fatalf("%d runs, want 21", len(runs))
		}
		distinct := map[time.Duration]bool{}
		for i := 1; i < len(runs); i++ {
			d := runs[i] - runs[i-1]
			distinct[d] = true
			if d < 500*time.Millisecond || d > time.Second {
				t.Errorf("delay %d = %v, want within [500ms, 1s]", i, d)
			}
		}
		if len(distinct) < 2 {
			t.Errorf("every delay was %v: jitter drew nothing", runs[1]-runs[0])
		}
		g.Shutdown(context.Background())
		drainStream(stream)
	})
}

// TestRestartIntensityGivesUp: the (N+1)-th restart within the window is
// refused; the adapter stays Failed, the run ends with an *AdapterError
// that the Stream reports, and Replace with a new Start revives the name.
func TestRestartIntensityGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		events := make(chan AdapterEvent, 100)
		f := newFlaky("ws", repeat(10, fail(errConnLost))...)
		g := &Group[string]{Events: events}
		mustAdd(t, g, f, WithBackoff(time.Second, time.Second, 0), WithIntensity(3, time.Minute))
		stream := mustGroupStart(t, g)
		time.Sleep(time.Hour)
		synctest.Wait()
		if got := len(f.runs()); got != 4 {
			t.Errorf("%d runs, want 4: the first and 3 restarts", got)
		}
		st := g.Stats()
		if a := st.Adapters[0]; a.State != Failed || a.Err != errConnLost || a.Restarts != 3 {
			t.Errorf("after giving up: %v, err %v, %d restarts; want failed, %v, 3", a.State, a.Err, a.Restarts, errConnLost)
		}
		if st.Escalations != 1 {
			t.Errorf("Escalations = %d, want 1", st.Escalations)
		}
		var kinds []EventKind
		for len(events) > 0 {
			kinds = append(kinds, (<-events).Kind)
		}
		want := []EventKind{
			EventStarted, EventFailed, EventRestarting,
			EventStarted, EventFailed, EventRestarting,
			EventStarted, EventFailed, EventRestarting,
			EventStarted, EventFailed, EventGaveUp,
		}
		if diff := cmp.Diff(want, kinds); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
		if _, err := stream.Recv(context.Background()); err != ErrClosed {
			t.Fatalf("Recv after the escalation = %v, want ErrClosed", err)
		}
		var ae *AdapterError
		if err := stream.Err(); !errors.As(err, &ae) || ae.Name != "ws" || !ae.GaveUp || !errors.Is(err, errConnLost) {
			t.Fatalf("Stream.Err = %v, want an *AdapterError for ws that gave up on %v", err, errConnLost)
		}
		if _, err := g.Sender(); err != ErrClosed {
			t.Errorf("Sender after the escalation = %v, want ErrClosed: the group is not running", err)
		}
		if err := g.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown after the escalation = %v, want nil", err)
		}

		// Replace installs a working adapter; the next run serves.
		if err := g.Replace(context.Background(), &testAdapter{name: "ws"}); err != nil {
			t.Fatalf("Replace of a failed adapter = %v", err)
		}
		if a := g.Stats().Adapters[0]; a.State != Idle || a.Err != nil {
			t.Errorf("after Replace while stopped: %v, err %v; want idle, nil", a.State, a.Err)
		}
		stream = mustGroupStart(t, g)
		if got := recv(t, stream); got != "ws" {
			t.Errorf("received %q from the replacement, want ws", got)
		}
		g.Shutdown(context.Background())
		drainStream(stream)
		if err := stream.Err(); err != nil {
			t.Errorf("Stream.Err after Shutdown = %v, want nil", err)
		}
	})
}

// TestRestartWindowForgets: failures spaced wider than the window never
// trip the limit, and the backoff starts again from min.
func TestRestartWindowForgets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Each Run serves for two minutes, then fails.
		serveThenFail := func() error { time.Sleep(2 * time.Minute); return errConnLost }
		f := newFlaky("ws", repeat(5, serveThenFail)...)
		g := &Group[string]{}
		mustAdd(t, g, f, WithBackoff(time.Second, time.Minute, 0), WithIntensity(1, time.Minute))
		stream := mustGroupStart(t, g)
		time.Sleep(time.Hour)
		synctest.Wait()
		runs := f.runs()
		if len(runs) != 6 {
			t.Fatalf("%d runs, want 6: no failure should trip a limit of 1 a minute", len(runs))
		}
		for i := 1; i < len(runs); i++ {
			if d := runs[i] - runs[i-1]; d != 2*time.Minute+time.Second {
				t.Errorf("run %d began %v after the last, want 2m1s (min backoff)", i, d)
			}
		}
		g.Shutdown(context.Background())
		drainStream(stream)
	})
}

func TestRestartPolicies(t *testing.T) {
	for _, tc := range []struct {
		name    string
		policy  RestartPolicy
		outcome error
		runs    int
		final   AdapterState
	}{
		{"on-failure, error", RestartOnFailure, errConnLost, 2, Running},
		{"on-failure, nil", RestartOnFailure, nil, 1, Exited},
		{"always, nil", RestartAlways, nil, 2, Running},
		{"always, error", RestartAlways, errConnLost, 2, Running},
		{"never, error", RestartNever, errConnLost, 1, Failed},
		{"never, nil", RestartNever, nil, 1, Exited},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFlaky("a", fail(tc.outcome))
				g := &Group[string]{}
				mustAdd(t, g, f, WithRestart(tc.policy))
				stream := mustGroupStart(t, g)
				time.Sleep(time.Minute)
				synctest.Wait()
				if got := len(f.runs()); got != tc.runs {
					t.Errorf("%d runs, want %d", got, tc.runs)
				}
				if got := g.Stats().Adapters[0].State; got != tc.final {
					t.Errorf("state %v, want %v", got, tc.final)
				}
				g.Shutdown(context.Background())
				drainStream(stream)
			})
		})
	}
}

// TestPanicsAreContained: a panic in Start or in Run is recovered in the
// adapter's goroutine, recorded with its value and stack, and restarted by
// policy; the other adapters and the consumer go on.
func TestPanicsAreContained(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		errBoom := errors.New("boom")
		startPanics := 1
		g := &Group[string]{}
		mustAdd(t, g, &testAdapter{name: "good"})
		err := g.Add(context.Background(), &testAdapter{name: "bad-start", start: func(context.Context) error {
			if startPanics > 0 {
				startPanics--
				panic("nil map in Start")
			}
			return nil
		}}, WithBackoff(time.Second, time.Second, 0))
		if err != nil {
			t.Fatalf("Add while stopped = %v", err)
		}
		mustAdd(t, g, newFlaky("bad-run", func() error { panic(errBoom) }), WithBackoff(time.Second, time.Second, 0))
		stream := mustGroupStart(t, g)
		synctest.Wait()

		byName := map[string]AdapterStats{}
		for _, a := range g.Stats().Adapters {
			byName[a.Name] = a
		}
		for _, name := range []string{"bad-start", "bad-run"} {
			a := byName[name]
			var pe *PanicError
			if a.State != Restarting || !errors.As(a.Err, &pe) {
				t.Fatalf("%s: %v with err %v, want restarting with a *PanicError", name, a.State, a.Err)
			}
			if !bytes.Contains(pe.Stack, []byte("supervise_test.go")) {
				t.Errorf("%s: the panic's stack does not show where it happened:\n%s", name, pe.Stack)
			}
		}
		if !errors.Is(byName["bad-run"].Err, errBoom) {
			t.Errorf("panic(err) does not unwrap to err: %v", byName["bad-run"].Err)
		}
		if !strings.Contains(byName["bad-start"].Err.Error(), "nil map in Start") {
			t.Errorf("PanicError's message %q does not carry the value", byName["bad-start"].Err)
		}
		if got := recv(t, stream); got != "good" {
			t.Errorf("the consumer received %q, want good: the others must run on", got)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if got := adapterStates(g); got["bad-start"] != Running || got["bad-run"] != Running {
			t.Errorf("after the backoff: %v, want both running again", got)
		}
		g.Shutdown(context.Background())
		drainStream(stream)
	})
}

// TestShutdownDuringBackoff: Shutdown returns at once while an adapter
// waits out its backoff, and no restart happens after.
func TestShutdownDuringBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFlaky("ws", fail(errConnLost))
		g := &Group[string]{}
		mustAdd(t, g, f, WithBackoff(time.Hour, time.Hour, 0))
		stream := mustGroupStart(t, g)
		synctest.Wait()
		if got := adapterStates(g)["ws"]; got != Restarting {
			t.Fatalf("ws is %v, want restarting", got)
		}
		start := time.Now()
		if err := g.Shutdown(context.Background()); err != nil {
			t.Fatalf("Shutdown = %v", err)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("Shutdown took %v of fake time, want 0: it waited for the backoff", d)
		}
		time.Sleep(2 * time.Hour)
		synctest.Wait()
		if got := len(f.runs()); got != 1 {
			t.Errorf("%d runs, want 1: restarted after Shutdown", got)
		}
		if got := adapterStates(g)["ws"]; got != Stopped {
			t.Errorf("ws is %v, want stopped", got)
		}
		drainStream(stream)
	})
}

// TestShutdownEndsRestartLoops races Shutdown against adapters that fail
// with no backoff at all: Shutdown returns, and once it has, no Run begins
// and none is running.
func TestShutdownEndsRestartLoops(t *testing.T) {
	for range 50 {
		var g Group[string]
		var running, began atomic.Int64
		for _, name := range []string{"a", "b", "c"} {
			mustAdd(t, &g, AdapterFunc(name, func(ctx context.Context, s Sink[string]) error {
				began.Add(1)
				running.Add(1)
				defer running.Add(-1)
				return errConnLost
			}), WithBackoff(0, 0, 0), WithIntensity(1<<30, time.Hour))
		}
		stream := mustGroupStart(t, &g)
		if err := g.Shutdown(context.Background()); err != nil {
			t.Fatalf("Shutdown = %v", err)
		}
		after := began.Load()
		if n := running.Load(); n != 0 {
			t.Fatalf("%d Runs still running after Shutdown returned", n)
		}
		drainStream(stream)
		runtime.Gosched()
		if n := began.Load(); n != after {
			t.Fatalf("%d Runs began after Shutdown returned", n-after)
		}
	}
}

// TestReplaceDuringBackoffWins: Replace of an adapter that waits to restart
// installs the new adapter; the old one never runs again.
func TestReplaceDuringBackoffWins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		old := newFlaky("ws", fail(errConnLost))
		g := &Group[string]{}
		mustAdd(t, g, old, WithBackoff(time.Minute, time.Minute, 0))
		stream := mustGroupStart(t, g)
		synctest.Wait()
		if err := g.Replace(context.Background(), &testAdapter{name: "ws"}); err != nil {
			t.Fatalf("Replace during backoff = %v", err)
		}
		if got := recv(t, stream); got != "ws" {
			t.Errorf("received %q, want the replacement's ws", got)
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		if got := len(old.runs()); got != 1 {
			t.Errorf("the replaced adapter ran %d times, want 1", got)
		}
		if got := adapterStates(g)["ws"]; got != Running {
			t.Errorf("ws is %v, want running", got)
		}
		g.Shutdown(context.Background())
		drainStream(stream)
	})
}

// TestEventsNeverStall: a full Events channel that nobody reads costs
// dropped events, counted, and nothing else.
func TestEventsNeverStall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &Group[string]{Events: make(chan AdapterEvent)} // unbuffered, never read
		mustAdd(t, g, &testAdapter{name: "a"})
		mustAdd(t, g, newFlaky("b", fail(errConnLost)), never)
		stream := mustGroupStart(t, g)
		recv(t, stream)
		synctest.Wait()
		if err := g.Remove(context.Background(), "a"); err != nil {
			t.Fatal(err)
		}
		// started a, started b, failed b, removed a, stopped a.
		if got := g.Stats().EventsDropped; got != 5 {
			t.Errorf("EventsDropped = %d, want 5", got)
		}
		g.Shutdown(context.Background())
		drainStream(stream)
	})
}

// TestLogger: the group logs nothing unless given a Logger; with one, each
// event is a record with the adapter's name.
func TestLogger(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		g := &Group[string]{Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{
			ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
				if a.Key == slog.TimeKey || a.Key == "stack" {
					return slog.Attr{}
				}
				return a
			},
		}))}
		mustAdd(t, g, newFlaky("ws", fail(errConnLost)), WithBackoff(time.Second, time.Second, 0), WithIntensity(1, time.Minute))
		stream := mustGroupStart(t, g)
		time.Sleep(time.Minute)
		synctest.Wait()
		g.Shutdown(context.Background())
		drainStream(stream)
		want := `level=INFO msg="fanin: adapter started" adapter=ws event=started
level=WARN msg="fanin: adapter failed" adapter=ws event=failed err="connection lost"
level=WARN msg="fanin: adapter restarting" adapter=ws event=restarting err="connection lost" attempt=1 delay=1s
level=INFO msg="fanin: adapter started" adapter=ws event=started
level=INFO msg="fanin: adapter stopped" adapter=ws event=stopped
`
		if diff := cmp.Diff(want, buf.String()); diff != "" {
			t.Errorf("log (-want +got):\n%s", diff)
		}
	})
}

func TestOptionPanics(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"WithRestart(7)", func() { WithRestart(7) }},
		{"WithBackoff negative min", func() { WithBackoff(-1, time.Second, 0) }},
		{"WithBackoff max < min", func() { WithBackoff(time.Second, time.Millisecond, 0) }},
		{"WithBackoff jitter 1", func() { WithBackoff(0, time.Second, 1) }},
		{"WithIntensity negative", func() { WithIntensity(-1, time.Second) }},
		{"WithIntensity zero window", func() { WithIntensity(1, 0) }},
		{"WithLane capacity 0", func() { WithLane(0, 1) }},
		{"WithLane weight 0", func() { WithLane(1, 0) }},
	} {
		if msg := panicMessage(tc.f); !strings.HasPrefix(msg, "fanin: With") {
			t.Errorf("%s panicked with %q, want a fanin: message", tc.name, msg)
		}
	}
}

// TestBackoffNeverOverflows: a huge min or many restarts cap at max, and
// the doubling goes on for as long as min·2^(n-1) stays under max.
func TestBackoffNeverOverflows(t *testing.T) {
	c := defaultConfig([]Option{WithBackoff(time.Duration(1<<62), time.Duration(1<<62), 0), WithIntensity(100, time.Hour)})
	var rs restarts
	now := time.Now()
	for i := range 100 {
		d, n, over := rs.next(&c, now)
		if over || n != i+1 || d != time.Duration(1<<62) {
			t.Fatalf("restart %d: delay %v, n %d, over %v; want the cap, %d, false", i+1, d, n, over, i+1)
		}
	}

	// From 1 ns to the largest duration: restart n waits 2^(n-1) ns up to
	// the 63rd (2^62 ns), and the cap from then on.
	c = defaultConfig([]Option{WithBackoff(1, math.MaxInt64, 0), WithIntensity(100, time.Hour)})
	rs = restarts{}
	for n := 1; n <= 100; n++ {
		want := time.Duration(math.MaxInt64)
		if n <= 63 {
			want = time.Duration(1) << (n - 1)
		}
		if d, _, _ := rs.next(&c, now); d != want {
			t.Fatalf("restart %d waits %v (%d ns), want %d ns", n, d, int64(d), int64(want))
		}
	}
}

// TestStartPanicInsideAdd: a Start that panics while Add waits for it is
// returned by Add as a *PanicError, never wedges the group's bookkeeping,
// and Shutdown does not report the adapter as not returned.
func TestStartPanicInsideAdd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &Group[string]{}
		stream := mustGroupStart(t, g)
		err := g.Add(context.Background(), &testAdapter{name: "bad", start: func(context.Context) error { panic("bad config") }}, never)
		var pe *PanicError
		if !errors.As(err, &pe) || pe.Value != "bad config" {
			t.Fatalf("Add = %v, want a *PanicError carrying the value", err)
		}
		if got := adapterStates(g)["bad"]; got != Failed {
			t.Errorf("bad is %v, want failed", got)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := g.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown = %v, want nil: nothing is left running", err)
		}
		drainStream(stream)
	})
}
