package fanin

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testAdapter is an Adapter and a Starter whose behaviour each test sets.
type testAdapter struct {
	name  string
	start func(ctx context.Context) error                 // nil: starts at once
	run   func(ctx context.Context, s Sink[string]) error // nil: sends its name, then waits for ctx
}

func (a *testAdapter) Name() string { return a.name }

func (a *testAdapter) Start(ctx context.Context) error {
	if a.start == nil {
		return nil
	}
	return a.start(ctx)
}

func (a *testAdapter) Run(ctx context.Context, s Sink[string]) error {
	if a.run != nil {
		return a.run(ctx, s)
	}
	if err := s.Send(ctx, a.name); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

func adapterStates(g *Group[string]) map[string]AdapterState {
	out := map[string]AdapterState{}
	for _, st := range g.Stats().Adapters {
		out[st.Name] = st.State
	}
	return out
}

// status is the part of AdapterStats that lifecycle tests compare.
type status struct {
	Name  string
	State AdapterState
	Err   error
}

func statuses(g *Group[string]) []status {
	var out []status
	for _, a := range g.Stats().Adapters {
		out = append(out, status{a.Name, a.State, a.Err})
	}
	return out
}

var sameError = cmp.Comparer(func(a, b error) bool { return a == b })

func mustGroupStart[T any](t *testing.T, g *Group[T]) *Stream[T] {
	t.Helper()
	stream, err := g.Start(context.Background())
	if err != nil {
		t.Fatalf("Start = %v, want nil", err)
	}
	return stream
}

func mustAdd[T any](t *testing.T, g *Group[T], a Adapter[T], opts ...Option) {
	t.Helper()
	if err := g.Add(context.Background(), a, opts...); err != nil {
		t.Fatalf("Add(%s) = %v, want nil", a.Name(), err)
	}
}

// drainStream receives until the end of the run's stream; call it after
// Shutdown, or while another goroutine will call it.
func drainStream[T any](st *Stream[T]) []T {
	var out []T
	for v := range st.All() {
		out = append(out, v)
	}
	return out
}

// recv receives one value, failing the test if the stream has ended.
func recv[T any](t *testing.T, st *Stream[T]) T {
	t.Helper()
	v, err := st.Recv(context.Background())
	if err != nil {
		t.Fatalf("Recv = %v, want a value", err)
	}
	return v
}

var never = WithRestart(RestartNever)

func TestGroupRunsEveryAdapterIntoOneStream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g Group[string]
		for _, name := range []string{"webhook", "websocket", "cli"} {
			mustAdd(t, &g, &testAdapter{name: name})
		}
		if diff := cmp.Diff(map[string]AdapterState{"webhook": Idle, "websocket": Idle, "cli": Idle}, adapterStates(&g)); diff != "" {
			t.Errorf("states before Start (-want +got):\n%s", diff)
		}
		stream := mustGroupStart(t, &g)
		synctest.Wait()
		if diff := cmp.Diff(map[string]AdapterState{"webhook": Running, "websocket": Running, "cli": Running}, adapterStates(&g)); diff != "" {
			t.Errorf("states after Start (-want +got):\n%s", diff)
		}
		if err := g.Shutdown(context.Background()); err != nil {
			t.Fatalf("Shutdown = %v, want nil", err)
		}
		got := drainStream(stream)
		slices.Sort(got)
		if diff := cmp.Diff([]string{"cli", "webhook", "websocket"}, got); diff != "" {
			t.Errorf("stream (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(map[string]AdapterState{"webhook": Stopped, "websocket": Stopped, "cli": Stopped}, adapterStates(&g)); diff != "" {
			t.Errorf("states after Shutdown (-want +got):\n%s", diff)
		}

		// A second run runs them all again, into a new stream.
		stream = mustGroupStart(t, &g)
		synctest.Wait()
		g.Shutdown(context.Background())
		if got := len(drainStream(stream)); got != 3 {
			t.Errorf("second run delivered %d values, want 3", got)
		}
	})
}

func TestGroupReportsEachOutcome(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		errBind := errors.New("address in use")
		errLost := errors.New("connection lost")
		g := &Group[string]{}
		mustAdd(t, g, &testAdapter{name: "ok"})
		mustAdd(t, g, &testAdapter{name: "bad-start", start: func(context.Context) error { return errBind }}, never)
		mustAdd(t, g, &testAdapter{name: "fails", run: func(context.Context, Sink[string]) error { return errLost }}, never)
		mustAdd(t, g, &testAdapter{name: "exits", run: func(context.Context, Sink[string]) error { return nil }})
		if err := g.Add(context.Background(), &testAdapter{name: "ok"}); !errors.Is(err, ErrAdapterExists) {
			t.Errorf("Add of a taken name = %v, want %v", err, ErrAdapterExists)
		}
		stream := mustGroupStart(t, g)
		synctest.Wait()
		want := []status{
			{"bad-start", Failed, errBind},
			{"exits", Exited, nil},
			{"fails", Failed, errLost},
			{"ok", Running, nil},
		}
		if diff := cmp.Diff(want, statuses(g), sameError); diff != "" {
			t.Errorf("Stats (-want +got):\n%s", diff)
		}
		g.Shutdown(context.Background())
		drainStream(stream)
	})
}

// TestGroupFailedStartCanBeReplaced: a group whose every adapter fails to
// start still runs, and a failed adapter's name is not dead: replacing it
// brings it up.
func TestGroupFailedStartCanBeReplaced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		errA, errB := errors.New("a failed"), errors.New("b failed")
		g := &Group[string]{}
		mustAdd(t, g, &testAdapter{name: "a", start: func(context.Context) error { return errA }}, never)
		mustAdd(t, g, &testAdapter{name: "b", start: func(context.Context) error { return errB }}, never)
		stream := mustGroupStart(t, g)
		want := []status{{"a", Failed, errA}, {"b", Failed, errB}}
		if diff := cmp.Diff(want, statuses(g), sameError); diff != "" {
			t.Errorf("Stats (-want +got):\n%s", diff)
		}
		if err := g.Replace(context.Background(), &testAdapter{name: "a"}); err != nil {
			t.Errorf("Replace of a failed adapter = %v, want nil", err)
		}
		if got := recv(t, stream); got != "a" {
			t.Errorf("received %q, want a", got)
		}
		if got := adapterStates(g)["a"]; got != Running {
			t.Errorf("a is %v after Replace, want running", got)
		}
		g.Shutdown(context.Background())
		drainStream(stream)
	})
}

// TestGroupShutdownWithBlockedSenders: adapters blocked on a full buffer
// with nobody reading all return once Shutdown begins.
func TestGroupShutdownWithBlockedSenders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &Group[string]{}
		flood := func(ctx context.Context, s Sink[string]) error {
			for {
				if err := s.Send(ctx, "x"); err != nil {
					return err
				}
			}
		}
		for i := range 5 {
			mustAdd(t, g, &testAdapter{name: fmt.Sprint("flood", i), run: flood}, WithLane(2, 1))
		}
		stream := mustGroupStart(t, g)
		synctest.Wait() // every adapter is blocked on the full buffer
		if err := g.Shutdown(context.Background()); err != nil {
			t.Fatalf("Shutdown = %v, want nil", err)
		}
		for _, st := range g.Stats().Adapters {
			if st.State != Stopped {
				t.Errorf("%s is %v after Shutdown, want stopped", st.Name, st.State)
			}
		}
		if got := len(drainStream(stream)); got != 10 {
			t.Errorf("stream held %d values, want the 2 buffered in each of 5 lanes", got)
		}
	})
}

// TestGroupShutdownNamesStuckAdapter: an adapter that ignores its context
// is named by Shutdown when ctx ends; the others are not.
func TestGroupShutdownNamesStuckAdapter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		g := &Group[string]{}
		mustAdd(t, g, &testAdapter{name: "good"})
		mustAdd(t, g, &testAdapter{name: "stuck", run: func(context.Context, Sink[string]) error {
			<-release // ignores its context
			return nil
		}})
		stream := mustGroupStart(t, g)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		err := g.Shutdown(ctx)
		var nr *NotReturnedError
		if !errors.As(err, &nr) || !slices.Equal(nr.Names, []string{"stuck"}) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Shutdown = %v, want a NotReturnedError naming only stuck, matching DeadlineExceeded", err)
		}
		close(release)
		synctest.Wait()
		if got := adapterStates(g)["stuck"]; got != Stopped {
			t.Errorf("stuck is %v once released, want stopped", got)
		}
		drainStream(stream)
	})
}

// TestGroupReplaceStartsNewBeforeStoppingOld checks the order of a replace:
// the old adapter keeps running while the new one starts, and is canceled
// only once the new one runs.
func TestGroupReplaceStartsNewBeforeStoppingOld(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var log []string
		record := func(s string) {
			mu.Lock()
			log = append(log, s)
			mu.Unlock()
		}
		gate := make(chan struct{})
		g := &Group[string]{}
		mustAdd(t, g, &testAdapter{name: "chat", run: func(ctx context.Context, s Sink[string]) error {
			record("old runs")
			<-ctx.Done()
			record("old stops")
			return nil
		}})
		stream := mustGroupStart(t, g)
		synctest.Wait() // the old adapter is serving

		replaced := goCall(func() error {
			return g.Replace(context.Background(), &testAdapter{
				name: "chat",
				start: func(context.Context) error {
					record("new starting")
					<-gate
					record("new started")
					return nil
				},
				run: func(ctx context.Context, s Sink[string]) error {
					record("new runs")
					<-ctx.Done()
					return nil
				},
			})
		})
		synctest.Wait() // the new adapter is inside Start
		if got := adapterStates(g)["chat"]; got != Running {
			t.Errorf("chat is %v while its replacement starts, want running (the old one)", got)
		}
		close(gate)
		synctest.Wait()
		if err, ok := replaced.returned(); !ok || err != nil {
			t.Errorf("Replace = %v (returned %v), want nil", err, ok)
		}
		// The new Run and the old one's return race each other; what is
		// ordered is that the old one was canceled only after the new one
		// had started.
		mu.Lock()
		order := slices.Clone(log)
		mu.Unlock()
		slices.Sort(order[3:])
		want := []string{"old runs", "new starting", "new started", "new runs", "old stops"}
		if diff := cmp.Diff(want, order); diff != "" {
			t.Errorf("order of events (-want +got):\n%s", diff)
		}
		if got := adapterStates(g)["chat"]; got != Running {
			t.Errorf("chat is %v after Replace, want running (the new one)", got)
		}
		g.Shutdown(context.Background())
		drainStream(stream)
	})
}

// TestGroupFailedReplaceKeepsOld: a replacement that fails to start leaves
// the old adapter serving.
func TestGroupFailedReplaceKeepsOld(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		errStart := errors.New("bad config")
		g := &Group[string]{}
		oldCtx := make(chan context.Context, 1)
		mustAdd(t, g, &testAdapter{name: "chat", run: func(ctx context.Context, s Sink[string]) error {
			oldCtx <- ctx
			<-ctx.Done()
			return nil
		}})
		stream := mustGroupStart(t, g)
		ctx := <-oldCtx
		err := g.Replace(context.Background(), &testAdapter{name: "chat", start: func(context.Context) error { return errStart }})
		if err != errStart {
			t.Errorf("Replace with a failing Start = %v, want %v", err, errStart)
		}
		synctest.Wait()
		if ctx.Err() != nil {
			t.Error("the old adapter was canceled by a failed Replace")
		}
		if got := adapterStates(g)["chat"]; got != Running {
			t.Errorf("chat is %v, want running", got)
		}
		if err := g.Replace(context.Background(), &testAdapter{name: "nobody"}); !errors.Is(err, ErrNoAdapter) {
			t.Errorf("Replace of an unknown name = %v, want %v", err, ErrNoAdapter)
		}
		g.Shutdown(context.Background())
		drainStream(stream)
	})
}

func TestGroupAddAndRemoveWhileRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &Group[string]{}
		stream := mustGroupStart(t, g) // no adapters yet: that is fine
		mustAdd(t, g, &testAdapter{name: "late"})
		if got := recv(t, stream); got != "late" {
			t.Errorf("received %q, want late", got)
		}
		if err := g.Remove(context.Background(), "late"); err != nil {
			t.Errorf("Remove = %v, want nil", err)
		}
		if err := g.Remove(context.Background(), "late"); !errors.Is(err, ErrNoAdapter) {
			t.Errorf("second Remove = %v, want %v", err, ErrNoAdapter)
		}
		if got := g.Stats().Adapters; len(got) != 0 {
			t.Errorf("Stats after Remove = %v, want no adapters", got)
		}
		// Remove of an adapter that ignores its context names it, and
		// Shutdown still waits for it.
		release := make(chan struct{})
		mustAdd(t, g, &testAdapter{name: "stuck", run: func(context.Context, Sink[string]) error {
			<-release
			return nil
		}})
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		var nr *NotReturnedError
		if err := g.Remove(ctx, "stuck"); !errors.As(err, &nr) || nr.Names[0] != "stuck" {
			t.Errorf("Remove of a stuck adapter = %v, want a NotReturnedError naming it", err)
		}
		shutdown := goCall(func() error { return g.Shutdown(context.Background()) })
		synctest.Wait()
		if _, ok := shutdown.returned(); ok {
			t.Error("Shutdown returned while a removed adapter was still running")
		}
		close(release)
		synctest.Wait()
		if err, ok := shutdown.returned(); !ok || err != nil {
			t.Errorf("Shutdown = %v (returned %v), want nil", err, ok)
		}
		drainStream(stream)
	})
}

// TestGroupNoLockWhileAdapterCodeRuns: while an adapter's Start is stuck,
// every other call on the group proceeds.
func TestGroupNoLockWhileAdapterCodeRuns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := make(chan struct{})
		g := &Group[string]{}
		stream := mustGroupStart(t, g)
		adding := goCall(func() error {
			return g.Add(context.Background(), &testAdapter{name: "slow", start: func(context.Context) error {
				<-gate
				return nil
			}})
		})
		synctest.Wait()
		if got := adapterStates(g)["slow"]; got != Starting {
			t.Errorf("slow is %v, want starting", got)
		}
		mustAdd(t, g, &testAdapter{name: "fast"})
		if got := recv(t, stream); got != "fast" {
			t.Errorf("received %q, want fast", got)
		}
		s, err := g.Sender()
		if err != nil {
			t.Fatal(err)
		}
		if err := s.TrySend("injected"); err != nil {
			t.Errorf("TrySend through the group's Sender = %v, want nil", err)
		}
		if err := g.Remove(context.Background(), "fast"); err != nil {
			t.Errorf("Remove(fast) = %v, want nil", err)
		}
		close(gate)
		synctest.Wait()
		if err, ok := adding.returned(); !ok || err != nil {
			t.Errorf("Add(slow) = %v (returned %v), want nil", err, ok)
		}
		g.Shutdown(context.Background())
		if got := drainStream(stream); !slices.Contains(got, "injected") {
			t.Errorf("stream = %v, want it to hold the injected value", got)
		}
	})
}

// TestGroupShutdownDuringStart: an adapter still starting when the group is
// shut down is told so by Add, its Run is called only with an ended context
// (to release what Start acquired), and Shutdown waits for both.
func TestGroupShutdownDuringStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := make(chan struct{})
		var runCtxErr error
		ran := false
		g := &Group[string]{}
		stream := mustGroupStart(t, g)
		adding := goCall(func() error {
			return g.Add(context.Background(), &testAdapter{
				name:  "slow",
				start: func(context.Context) error { <-gate; return nil },
				run: func(ctx context.Context, s Sink[string]) error {
					ran, runCtxErr = true, ctx.Err()
					return s.TrySend("after shutdown")
				},
			})
		})
		synctest.Wait()
		shutdown := goCall(func() error { return g.Shutdown(context.Background()) })
		synctest.Wait()
		if _, ok := shutdown.returned(); ok {
			t.Error("Shutdown returned while an adapter was still in Start")
		}
		close(gate)
		synctest.Wait()
		if err, _ := adding.returned(); err != ErrClosed {
			t.Errorf("Add of an adapter whose run was shut down = %v, want %v", err, ErrClosed)
		}
		if err, ok := shutdown.returned(); !ok || err != nil {
			t.Errorf("Shutdown = %v (returned %v), want nil", err, ok)
		}
		if !ran || runCtxErr == nil {
			t.Errorf("Run called %v with ctx error %v; want it called with an ended ctx", ran, runCtxErr)
		}
		if got := drainStream(stream); len(got) != 0 {
			t.Errorf("stream = %q, want nothing: the run was shut down before the adapter ran", got)
		}
	})
}

// gatedStarter is an adapter whose Start blocks, ignoring its context, until
// its gate is closed, and whose Run sends as long as its sink accepts.
type gatedStarter struct {
	name  string
	gate  chan struct{}
	sent  atomic.Int64 // values its sink accepted
	tried atomic.Int64 // sends it tried
}

func (a *gatedStarter) Name() string { return a.name }
func (a *gatedStarter) Start(context.Context) error {
	<-a.gate
	return nil
}
func (a *gatedStarter) Run(ctx context.Context, s Sink[string]) error {
	for range 99 {
		a.tried.Add(1)
		if s.TrySend(a.name) == nil {
			a.sent.Add(1)
		}
	}
	<-ctx.Done()
	return nil
}

// TestGroupRemoveWhileStarting: Remove of an adapter still in its Start
// stops it: once Start returns, its Run sees an ended context and a closed
// lane, nothing it sends is accepted, and Remove returns without waiting
// for its own ctx to end.
func TestGroupRemoveWhileStarting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &Group[string]{}
		stream := mustGroupStart(t, g)
		a := &gatedStarter{name: "slow", gate: make(chan struct{})}
		adding := goCall(func() error { return g.Add(context.Background(), a) })
		synctest.Wait()
		if got := adapterStates(g)["slow"]; got != Starting {
			t.Fatalf("slow is %v, want starting", got)
		}
		removing := goCall(func() error { return g.Remove(context.Background(), "slow") })
		synctest.Wait()
		if _, ok := removing.returned(); ok {
			t.Fatal("Remove returned while the adapter was still in Start")
		}
		close(a.gate)
		synctest.Wait()
		if err, ok := removing.returned(); !ok || err != nil {
			t.Errorf("Remove = %v (returned %v), want nil once Start returned", err, ok)
		}
		if err, _ := adding.returned(); err != ErrClosed {
			t.Errorf("Add = %v, want ErrClosed: it never ran", err)
		}
		if n := a.sent.Load(); n != 0 {
			t.Errorf("the removed adapter got %d of %d values accepted, want none", n, a.tried.Load())
		}
		g.Shutdown(context.Background())
		if got := drainStream(stream); len(got) != 0 {
			t.Errorf("stream = %q, want nothing from a removed adapter", got)
		}
	})
}

// TestGroupReplaceWhileOldStarting: Replace of an adapter still in its
// Start installs the new one, and the old one never serves; Replace with
// context.Background returns.
func TestGroupReplaceWhileOldStarting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &Group[string]{}
		stream := mustGroupStart(t, g)
		old := &gatedStarter{name: "chat", gate: make(chan struct{})}
		goCall(func() error { return g.Add(context.Background(), old) })
		synctest.Wait()
		replacing := goCall(func() error { return g.Replace(context.Background(), &testAdapter{name: "chat"}) })
		synctest.Wait()
		if got := recv(t, stream); got != "chat" {
			t.Fatalf("received %q, want the new adapter's chat", got)
		}
		close(old.gate)
		synctest.Wait()
		if err, ok := replacing.returned(); !ok || err != nil {
			t.Errorf("Replace = %v (returned %v), want nil", err, ok)
		}
		if n := old.sent.Load(); n != 0 {
			t.Errorf("the replaced adapter got %d values accepted, want none", n)
		}
		if got := adapterStates(g)["chat"]; got != Running {
			t.Errorf("chat is %v, want running", got)
		}
		g.Shutdown(context.Background())
		drainStream(stream)
	})
}

// instances counts, per generation, the Runs of an adapter that are live.
type instances struct {
	mu   sync.Mutex
	live map[int]int
}

func (in *instances) adapter(gen int) Adapter[string] {
	return &genAdapter{in, gen}
}

// genAdapter is one generation of the adapter named "a"; pointers to it
// compare, which funcAdapters do not.
type genAdapter struct {
	in  *instances
	gen int
}

func (a *genAdapter) Name() string { return "a" }

// Start yields a few times, to widen the window in which the run can end
// while the adapter starts.
func (a *genAdapter) Start(context.Context) error {
	for range rand.IntN(4) {
		runtime.Gosched()
	}
	return nil
}

func (a *genAdapter) Run(ctx context.Context, s Sink[string]) error {
	in := a.in
	in.mu.Lock()
	in.live[a.gen]++
	in.mu.Unlock()
	defer func() {
		in.mu.Lock()
		in.live[a.gen]--
		in.mu.Unlock()
	}()
	<-ctx.Done()
	return nil
}

func (in *instances) others(gen int) int {
	in.mu.Lock()
	defer in.mu.Unlock()
	n := 0
	for g, c := range in.live {
		if g != gen {
			n += c
		}
	}
	return n
}

// TestGroupReplaceRacesShutdownAndStart is the race that left a group
// running with no instance of an adapter, or two: Replace against
// Shutdown followed by Start. Once both have returned, the adapter Replace
// installed is the member's, it is the current launch of the running
// group, and no earlier generation is still running.
func TestGroupReplaceRacesShutdownAndStart(t *testing.T) {
	in := &instances{live: map[int]int{}}
	var g Group[string]
	mustAdd(t, &g, in.adapter(0))
	mustGroupStart(t, &g)
	ctx := context.Background()
	for gen := 1; gen <= 1000; gen++ {
		var wg sync.WaitGroup
		var replaceErr error
		replace := func() { replaceErr = g.Replace(ctx, in.adapter(gen)) }
		restart := func() {
			g.Shutdown(ctx)
			g.Start(ctx)
		}
		if gen%2 == 0 {
			replace, restart = restart, replace // vary who goes first
		}
		wg.Go(replace)
		wg.Go(restart)
		wg.Wait()
		if replaceErr != nil {
			t.Fatalf("gen %d: Replace = %v", gen, replaceErr)
		}
		g.mu.Lock()
		m := g.members["a"]
		running := g.run != nil
		cur := m.cur
		installed := m.adapter
		g.mu.Unlock()
		if !running {
			t.Fatalf("gen %d: the group is not running after Start", gen)
		}
		if cur == nil || cur.run != g.run || cur.adapter != installed {
			t.Fatalf("gen %d: the current launch is not the installed adapter's in the current run", gen)
		}
		if st := adapterStates(&g)["a"]; st != Running && st != Starting {
			t.Fatalf("gen %d: a is %v, want running", gen, st)
		}
		if n := in.others(gen); n != 0 {
			t.Fatalf("gen %d: %d instances of earlier generations still run", gen, n)
		}
	}
	g.Shutdown(ctx)
}

// TestGroupStress runs Add, Remove, Replace, Shutdown, Start and Stats from
// several goroutines and checks, after every operation returns, what the
// documentation promises: the adapter a Replace or Add installed is the
// member's adapter (each worker owns its names, so nobody else changes
// them); nothing removed is still running; and, at the end, every value a
// sink accepted was received exactly once, and Stats counted exactly those.
func TestGroupStress(t *testing.T) {
	var g Group[string]
	var (
		mu        sync.Mutex
		accepted  = map[string]int{}
		delivered = map[string]int{}
		live      = map[string]int{} // running Runs per name
		counted   = map[string]int{} // accepted since the name was last added
		consumers sync.WaitGroup
	)
	consume := func(st *Stream[string]) {
		consumers.Go(func() {
			for v := range st.All() {
				mu.Lock()
				delivered[v]++
				mu.Unlock()
			}
		})
	}
	newAdapter := func(name string, gen int) Adapter[string] {
		return &testAdapter{name: name, run: func(ctx context.Context, s Sink[string]) error {
			mu.Lock()
			live[name]++
			mu.Unlock()
			defer func() {
				mu.Lock()
				live[name]--
				mu.Unlock()
			}()
			for i := range 20 {
				v := fmt.Sprintf("%s/%d/%d", name, gen, i)
				if err := s.Send(ctx, v); err != nil {
					return nil
				}
				mu.Lock()
				accepted[v]++
				counted[name]++
				mu.Unlock()
			}
			<-ctx.Done()
			return nil
		}}
	}
	installed := func(name string) Adapter[string] {
		g.mu.Lock()
		defer g.mu.Unlock()
		if m, ok := g.members[name]; ok {
			return m.adapter
		}
		return nil
	}
	if st, err := g.Start(context.Background()); err == nil {
		consume(st)
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 9))
			for i := range 200 {
				name := fmt.Sprintf("w%d-%d", w, rng.IntN(2))
				a := newAdapter(name, i)
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				switch rng.IntN(3) {
				case 0:
					if installed(name) == nil {
						// A new member counts from zero; nobody else
						// adds this name, and its old Runs have returned.
						mu.Lock()
						counted[name] = 0
						mu.Unlock()
					}
					if err := g.Add(ctx, a, WithLane(1+rng.IntN(3), 1+rng.IntN(3))); !errors.Is(err, ErrAdapterExists) {
						if installed(name) != a {
							t.Errorf("after Add(%s) = %v, another adapter is installed", name, err)
						}
					}
				case 1:
					err := g.Remove(ctx, name)
					if err == nil {
						mu.Lock()
						n := live[name]
						mu.Unlock()
						if n != 0 {
							t.Errorf("after Remove(%s) = nil, %d of its Runs are running", name, n)
						}
					}
				default:
					if err := g.Replace(ctx, a); err == nil && installed(name) != a {
						t.Errorf("after Replace(%s) = nil, another adapter is installed", name)
					}
				}
				cancel()
			}
		})
	}
	wg.Go(func() {
		for range 100 {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := g.Shutdown(ctx); err != nil {
				t.Errorf("Shutdown = %v", err)
			}
			if st, err := g.Start(ctx); err == nil {
				consume(st)
			}
			g.Stats()
			cancel()
		}
	})
	wg.Wait()
	if err := g.Shutdown(context.Background()); err != nil {
		t.Fatalf("final Shutdown = %v", err)
	}
	consumers.Wait()
	if len(accepted) == 0 {
		t.Fatal("no value was accepted: the stress tested nothing")
	}
	if diff := cmp.Diff(accepted, delivered); diff != "" {
		t.Errorf("delivered differs from accepted (-accepted +delivered):\n%s", diff)
	}
	for _, a := range g.Stats().Adapters {
		if a.Accepted != uint64(counted[a.Name]) {
			t.Errorf("Stats of %s: %d accepted, want %d", a.Name, a.Accepted, counted[a.Name])
		}
	}
}

// TestGroupStateMachine walks every transition of the state machine in the
// comment above member in group.go, observing the state at each step.
func TestGroupStateMachine(t *testing.T) {
	block := func(ctx context.Context) error { <-ctx.Done(); return nil } // Start that waits to be stopped
	type step struct {
		do   func(g *Group[string]) // nil: let fake time pass
		want AdapterState
	}
	remove := func(g *Group[string]) { goCall(func() error { return g.Remove(context.Background(), "a") }) }
	for _, tc := range []struct {
		name  string
		a     *testAdapter
		opts  []Option
		steps []step
	}{
		{"idle → starting → running → stopped",
			&testAdapter{name: "a"}, nil,
			[]step{{nil, Running}, {func(g *Group[string]) { g.Shutdown(context.Background()) }, Stopped}}},
		{"starting → stopped",
			&testAdapter{name: "a", start: block}, nil,
			[]step{{nil, Starting}, {func(g *Group[string]) { g.Shutdown(context.Background()) }, Stopped}}},
		{"starting → failed",
			&testAdapter{name: "a", start: func(context.Context) error { return errConnLost }}, []Option{never},
			[]step{{nil, Failed}}},
		{"starting → restarting → starting → running",
			&testAdapter{name: "a", start: once(errConnLost)}, []Option{WithBackoff(time.Second, time.Second, 0)},
			[]step{{nil, Restarting}, {wait(time.Second), Running}}},
		{"running → exited",
			&testAdapter{name: "a", run: func(context.Context, Sink[string]) error { return nil }}, nil,
			[]step{{nil, Exited}}},
		{"running → failed",
			&testAdapter{name: "a", run: func(context.Context, Sink[string]) error { return errConnLost }}, []Option{never},
			[]step{{nil, Failed}}},
		{"running → restarting → stopped",
			&testAdapter{name: "a", run: func(context.Context, Sink[string]) error { return errConnLost }}, []Option{WithBackoff(time.Hour, time.Hour, 0)},
			[]step{{nil, Restarting}, {func(g *Group[string]) { g.Shutdown(context.Background()) }, Stopped}}},
		{"running → restarting (always) → running",
			&testAdapter{name: "a", run: onceThenServe(nil)}, []Option{WithRestart(RestartAlways), WithBackoff(time.Second, time.Second, 0)},
			[]step{{nil, Restarting}, {wait(time.Second), Running}}},
		{"running → failed by intensity",
			&testAdapter{name: "a", run: func(context.Context, Sink[string]) error { return errConnLost }}, []Option{WithIntensity(0, time.Minute)},
			[]step{{nil, Failed}}},
		{"failed → (Replace) → running",
			&testAdapter{name: "a", run: func(context.Context, Sink[string]) error { return errConnLost }}, []Option{never},
			[]step{{nil, Failed}, {func(g *Group[string]) { g.Replace(context.Background(), &testAdapter{name: "a"}) }, Running}}},
		{"stopped → (Start) → running",
			&testAdapter{name: "a"}, nil,
			[]step{{func(g *Group[string]) { g.Shutdown(context.Background()) }, Stopped}, {func(g *Group[string]) { g.Start(context.Background()) }, Running}}},
		{"starting → (Remove) gone",
			&testAdapter{name: "a", start: block}, nil,
			[]step{{nil, Starting}, {remove, -1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g := &Group[string]{}
				mustAdd(t, g, tc.a, tc.opts...)
				goCall(func() error { _, err := g.Start(context.Background()); return err })
				synctest.Wait()
				for i, st := range tc.steps {
					if st.do != nil {
						st.do(g)
					}
					synctest.Wait()
					got, ok := adapterStates(g)["a"]
					if !ok {
						got = -1
					}
					if got != st.want {
						t.Fatalf("step %d: a is %v, want %v", i, got, st.want)
					}
				}
				g.Shutdown(context.Background())
			})
		})
	}
}

// once returns a Start that fails with err the first time only.
func once(err error) func(context.Context) error {
	var called atomic.Bool
	return func(context.Context) error {
		if called.Swap(true) {
			return nil
		}
		return err
	}
}

// onceThenServe returns a Run that returns err the first time, then serves.
func onceThenServe(err error) func(context.Context, Sink[string]) error {
	var called atomic.Bool
	return func(ctx context.Context, s Sink[string]) error {
		if !called.Swap(true) {
			return err
		}
		<-ctx.Done()
		return nil
	}
}

// wait returns a step action that lets d of fake time pass.
func wait(d time.Duration) func(*Group[string]) {
	return func(*Group[string]) { time.Sleep(d) }
}
