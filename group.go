package fanin

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

var (
	// ErrAdapterExists is returned, wrapped with the adapter's name, by
	// [Group.Add] for a name already in the group.
	ErrAdapterExists = errors.New("fanin: adapter already in group")

	// ErrNoAdapter is returned, wrapped with the adapter's name, by
	// [Group.Remove] and [Group.Replace] for a name that is not in the
	// group, and by Replace when the adapter it was replacing was removed
	// or replaced by another call meanwhile.
	ErrNoAdapter = errors.New("fanin: no such adapter")
)

// DefaultShutdownTimeout is how long [Group.Run] waits for adapters to
// return once its context has ended, when Group.ShutdownTimeout is zero.
const DefaultShutdownTimeout = 10 * time.Second

// An Adapter produces messages for a [Group]: an HTTP webhook, a websocket,
// a chat bridge, a plugin runtime. The group calls Run in a goroutine of its
// own with the [Sink] of the adapter's lane; Run sends through it until ctx
// ends, then returns. A Group may call Run again after it returned (see
// [RestartPolicy]), so an adapter must be restartable.
//
// An Adapter that must prepare before it can serve (bind a port, dial a
// server) also implements [Starter]. After a Start that succeeded, the
// group always calls Run, if need be with a ctx that has already ended, so
// that Run can release what Start acquired.
//
// An adapter of another message type joins a group through [Map].
type Adapter[T any] interface {
	// Name identifies the adapter in its group.
	Name() string
	// Run serves until ctx ends and returns nil, or returns an error if it
	// cannot go on. It must return promptly once ctx ends.
	Run(ctx context.Context, s Sink[T]) error
}

// A Starter is an [Adapter] with a preparation step. Start must return
// promptly once ctx ends, and must leave nothing running if it fails: a
// failed Start means the adapter is not running.
type Starter interface {
	Start(ctx context.Context) error
}

// AdapterFunc returns an [Adapter] with the given name whose Run calls run.
func AdapterFunc[T any](name string, run func(ctx context.Context, s Sink[T]) error) Adapter[T] {
	return funcAdapter[T]{name, run}
}

type funcAdapter[T any] struct {
	name string
	run  func(context.Context, Sink[T]) error
}

func (f funcAdapter[T]) Name() string                             { return f.name }
func (f funcAdapter[T]) Run(ctx context.Context, s Sink[T]) error { return f.run(ctx, s) }

// An AdapterState is where an adapter of a [Group] is in its life.
type AdapterState int

const (
	Idle       AdapterState = iota // in the group, which is not running
	Starting                       // its Start is being called
	Running                        // its Run has been called and has not returned
	Restarting                     // it ended, and waits out its backoff before starting again
	Exited                         // its Run returned nil by itself, and it is not restarted
	Stopped                        // it returned after the group stopped it (Shutdown, Remove, Replace)
	Failed                         // it failed and is not restarted: policy, or the intensity limit
)

var stateNames = [...]string{"idle", "starting", "running", "restarting", "exited", "stopped", "failed"}

func (s AdapterState) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("AdapterState(%d)", int(s))
}

// A Group runs a set of named adapters that all feed one consumer, and
// supervises them. Each adapter sends into a bounded lane of its own, and
// the consumer receives from the lanes in a fair, weighted order through a
// [Stream], so that an adapter that floods fills only its own lane.
//
// [Group.Start] starts every adapter and returns the run's Stream;
// [Group.Shutdown] stops them; [Group.Run] does both around a consumer
// function. Adapters can be added, removed and replaced while the group
// runs; a replacement starts before the adapter it replaces stops.
//
// Each adapter runs in a goroutine of its own. A panic in its Start or Run
// is recovered there and recorded as a [*PanicError]; an adapter that fails
// is restarted as its [RestartPolicy] says, with exponential backoff, until
// its restart intensity is exceeded (see [WithBackoff], [WithIntensity]).
//
// No lock of the group is held while adapter code runs, while anything
// waits, or while an event is logged or delivered: a slow or stuck adapter
// can hold up only the call that waits for it, and that call gives up when
// its context ends.
//
// The zero Group is ready to use. Its exported fields must be set before
// its first use and not changed after. A Group is safe for simultaneous use
// by multiple goroutines and must not be copied after first use.
type Group[T any] struct {
	// Logger, if not nil, receives a record of every lifecycle event. The
	// group logs nothing otherwise.
	Logger *slog.Logger

	// Events, if not nil, receives every lifecycle event. The group never
	// waits for room: an event that does not fit is dropped and counted in
	// GroupStats.EventsDropped, so a slow reader cannot stall the group.
	// The group never closes it.
	Events chan<- AdapterEvent

	// ShutdownTimeout bounds how long Run waits for adapters to return
	// after its context ends; zero means DefaultShutdownTimeout.
	ShutdownTimeout time.Duration

	dropped atomic.Uint64 // events that did not fit in Events

	mu       sync.Mutex
	members  map[string]*member[T] // guarded by mu
	run      *groupRun[T]          // the current run; nil when not running; guarded by mu
	last     *groupRun[T]          // the latest run, running or not; guarded by mu
	runs     int                   // runs begun; guarded by mu
	inject   counters              // of every run's injection lane
	injLanes []*Sender[T]          // injection lanes that may hold values; guarded by mu
	// Removed members whose lanes may still hold values, and the counters
	// of those that are gone for good: Stats of the group cover them.
	retired      []*member[T] // guarded by mu
	retiredStats Stats        // guarded by mu
}

// The life of an adapter in a group.
//
// A member is a name in the group: the adapter registered under it, its
// options and its counters. It outlives runs: Shutdown leaves it, Start
// launches it again.
//
// A launch is one member's adapter in one run: one goroutine, one context,
// one lane, from the moment the run (or Add, or Replace) creates it until
// that goroutine ends; restarts happen within a launch. Every launch has
// its context and lane from birth, so stopping one (cancel its context,
// stop its lane) works in every state. All decisions about which launch is
// current are made under Group.mu, and so is every start: a launch checks
// its context under the lock before it calls Start, so no start begins
// after a stop.
//
//	          ┌─────────────── backoff over ───────────────┐
//	          v                                            │
//	(new) → Starting ──ok──→ Running ──returned──→ policy: restart? ──yes──→ Restarting
//	          │                                        │ no
//	          └──Start failed──→ policy ───────────────┤
//	                                                   v
//	                                     Exited (nil) or Failed (error, panic,
//	                                     or restart intensity exceeded)
//
//	any state ──stop (Shutdown, Remove, Replace)──→ Stopped, once Start and Run
//	have returned (a Start that succeeded is followed by Run with an ended ctx)
//
// A member's current launch (member.cur) changes only when a run begins
// (Start, Add), and when Replace commits: under mu, only if the member is
// still in the group, no later Replace has installed an adapter (each
// Replace draws a generation number; the highest installed wins), and the
// run is still the one its new launch was made for. A Replace whose run
// ended while its adapter started tries again in the new run, or, if the
// group is not running, installs the adapter for the next Start.
//
// Every field of a member is guarded by Group.mu.
type member[T any] struct {
	name      string
	adapter   Adapter[T]
	cfg       adapterConfig
	cur       *launch[T]   // in the current or last run; nil if never launched
	launches  []*launch[T] // every launch of the member not yet ended, of any run
	lanes     []*Sender[T] // lanes that may still hold values, for Stats
	restarts  int
	lastErr   error
	stats     counters // of every lane this member had
	replaces  uint64   // generations drawn by Replace calls
	installed uint64   // the generation of the adapter installed; 0 for Add's

	// events waits to be delivered, in the order the state changed;
	// emitting is set while some goroutine delivers them (see flush).
	events   []AdapterEvent
	emitting bool
}

// groupRun is one run of a Group.
type groupRun[T any] struct {
	ctx      context.Context // canceled by Shutdown; every launch's ctx derives from it
	cancel   context.CancelFunc
	stream   *Stream[T]
	inject   *Sender[T]
	launches map[*launch[T]]struct{} // launches not yet ended; guarded by Group.mu
	lanes    []*Sender[T]            // lanes of the run that may hold values; guarded by Group.mu

	// Set by the Shutdown that ends the run, under Group.mu: what every
	// Shutdown of this run waits for.
	final      []*launch[T]
	finalLanes []*Sender[T]
}

// launch is one member's adapter in one run; see the state machine above.
type launch[T any] struct {
	m       *member[T]
	adapter Adapter[T]
	cfg     adapterConfig
	run     *groupRun[T]
	lane    *Sender[T]
	gen     uint64          // the Replace generation of its adapter; see member
	ctx     context.Context // canceled to stop the launch
	cancel  context.CancelFunc
	// retryStart says whether a failed first Start is restarted by the
	// policy (Start, Add) or ends the launch (Replace, which then keeps
	// the old adapter).
	retryStart bool

	state AdapterState // guarded by Group.mu
	err   error        // the last error of Start or Run; guarded by Group.mu

	started  chan struct{} // closed when the first Start returned, or the launch ended before
	startErr error         // the first Start's error; written before started is closed
	done     chan struct{} // closed when the launch's goroutine ends, after its last event
}

func (g *Group[T]) newRun() *groupRun[T] {
	ctx, cancel := context.WithCancel(context.Background())
	r := &groupRun[T]{ctx: ctx, cancel: cancel, stream: newStream[T](), launches: map[*launch[T]]struct{}{}}
	r.inject = newSender[T](DefaultCapacity, &g.inject, r.stream.wake)
	r.lanes = append(r.lanes, r.inject)
	r.stream.add(&lane[T]{r.inject, DefaultWeight})
	g.inject.runs.Add(1)
	g.injLanes = append(pruneLanes(g.injLanes), r.inject)
	g.last = r
	return r
}

// launchLocked creates a launch of adapter a for member m in run r and
// starts its goroutine. startCtx, the caller's context, also bounds the
// first Start. It requires that g.mu is held.
func (g *Group[T]) launchLocked(r *groupRun[T], m *member[T], a Adapter[T], cfg adapterConfig, gen uint64, startCtx context.Context, retryStart bool) *launch[T] {
	ctx, cancel := context.WithCancel(r.ctx)
	l := &launch[T]{
		m: m, adapter: a, cfg: cfg, run: r, gen: gen, ctx: ctx, cancel: cancel, retryStart: retryStart,
		lane:    newSender[T](cfg.capacity, &m.stats, r.stream.wake),
		state:   Starting,
		started: make(chan struct{}),
		done:    make(chan struct{}),
	}
	r.launches[l] = struct{}{}
	m.launches = append(m.launches, l)
	// Lanes that are closed and drained are dropped as new ones come, so
	// that a long run of Replaces holds only the lanes that matter.
	r.lanes = append(pruneLanes(r.lanes), l.lane)
	m.lanes = append(pruneLanes(m.lanes), l.lane)
	r.stream.add(&lane[T]{l.lane, cfg.weight})
	go g.supervise(l, startCtx)
	return l
}

// stopLocked stops launch l in whatever state it is: its context ends, so
// that Start, Run or a backoff wait returns, and its lane stops, so that
// blocked sends return ErrClosed. Values already in the lane stay for the
// consumer. It requires that g.mu is held, and never blocks.
func (g *Group[T]) stopLocked(l *launch[T]) {
	// The lane first: a send blocked on it wakes with ErrClosed, the
	// documented answer, rather than with the ctx error.
	l.lane.stop()
	l.cancel()
}

// supervise is the goroutine of launch l: it starts and runs the adapter,
// and restarts it as its policy says, until the launch is stopped or the
// policy lets it end. Every change of state, and the event that reports
// it, happens under g.mu; events are delivered after the lock is released.
func (g *Group[T]) supervise(l *launch[T], startCtx context.Context) {
	m := l.m
	first := true
	ended := false
	defer func() {
		if !ended {
			// Start or Run called runtime.Goexit (t.FailNow does): the
			// goroutine is going away and cannot go on supervising.
			g.mu.Lock()
			m.lastErr = errGoexit
			if first {
				first = false
				l.startErr = errGoexit
				close(l.started)
			}
			g.endLocked(l, Failed, errGoexit, false)
			g.eventLocked(m, AdapterEvent{Kind: EventFailed, Err: errGoexit})
			g.mu.Unlock()
			g.flush(m)
		}
		// done is closed last, after the final event: whoever waits for
		// the launch (Shutdown, Remove, Replace) sees its goroutine end.
		close(l.done)
	}()
	end := func(final AdapterState, err error, e AdapterEvent) {
		g.endLocked(l, final, err, first)
		g.eventLocked(m, e)
		g.mu.Unlock()
		g.flush(m)
		ended = true
	}
	var rs restarts
	for {
		g.mu.Lock()
		if l.ctx.Err() != nil {
			end(Stopped, l.err, AdapterEvent{Kind: EventStopped})
			return
		}
		l.state = Starting
		g.mu.Unlock()

		err := call(func() error { return startAdapter(l, startCtx, first) })
		g.mu.Lock()
		if err == nil {
			l.state = Running
			m.stats.runs.Add(1)
			g.eventLocked(m, AdapterEvent{Kind: EventStarted})
			g.signalStartedLocked(l, &first, nil)
			g.mu.Unlock()
			g.flush(m)
			// After a Start that succeeded Run is always called, with an
			// ended ctx if the launch was stopped meanwhile, so that it
			// can release what Start acquired.
			err = call(func() error { return l.adapter.Run(l.ctx, l.lane) })
			g.mu.Lock()
		} else if first {
			g.signalStartedLocked(l, &first, err)
			if !l.retryStart && l.ctx.Err() == nil {
				m.lastErr = err
				end(Failed, err, AdapterEvent{Kind: outcome(err), Err: err})
				return
			}
		}

		if l.ctx.Err() != nil {
			// Stopped by the group: whatever it returned is no failure.
			end(Stopped, err, AdapterEvent{Kind: EventStopped, Err: err})
			return
		}
		if err != nil {
			m.lastErr = err
		}
		restart := l.cfg.policy == RestartAlways || (l.cfg.policy == RestartOnFailure && err != nil)
		if !restart {
			final := Exited
			if err != nil {
				final = Failed
			}
			end(final, err, AdapterEvent{Kind: outcome(err), Err: err})
			return
		}
		g.eventLocked(m, AdapterEvent{Kind: outcome(err), Err: err})
		delay, n, ok := rs.next(&l.cfg, time.Now())
		if !ok {
			end(Failed, err, AdapterEvent{Kind: EventGaveUp, Err: err, Attempt: n})
			return
		}
		l.state, l.err = Restarting, err
		m.restarts++
		g.eventLocked(m, AdapterEvent{Kind: EventRestarting, Err: err, Attempt: n, Delay: delay})
		g.mu.Unlock()
		g.flush(m)

		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-l.ctx.Done():
			t.Stop()
		}
		// The loop's first step sees a stop that came during the wait.
	}
}

// errGoexit is recorded for an adapter whose Start or Run called
// runtime.Goexit.
var errGoexit = errors.New("fanin: adapter called runtime.Goexit in Start or Run (t.FailNow does); it is not restarted")

// startAdapter calls l's Start, if it has one. The first Start is also
// bounded by the context of the call that launched it.
func startAdapter[T any](l *launch[T], startCtx context.Context, first bool) error {
	s, ok := l.adapter.(Starter)
	if !ok {
		return nil
	}
	ctx := l.ctx
	if first && startCtx != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		defer context.AfterFunc(startCtx, cancel)()
	}
	return s.Start(ctx)
}

// signalStartedLocked tells the caller that launched l the outcome of its
// first Start, once. A launch stopped meanwhile (Shutdown, Remove, a later
// Replace) reports ErrClosed, whatever Start returned. It requires that
// g.mu is held.
func (g *Group[T]) signalStartedLocked(l *launch[T], first *bool, err error) {
	if !*first {
		return
	}
	*first = false
	if l.ctx.Err() != nil {
		err = ErrClosed
	}
	l.startErr = err
	close(l.started)
}

// endLocked ends launch l in state final. If the first Start never
// returned (the launch was stopped before), the launcher is told
// ErrClosed. It requires that g.mu is held.
func (g *Group[T]) endLocked(l *launch[T], final AdapterState, err error, neverStarted bool) {
	l.state, l.err = final, err
	delete(l.run.launches, l)
	l.m.launches = slices.DeleteFunc(l.m.launches, func(x *launch[T]) bool { return x == l })
	l.lane.stop()
	l.cancel()
	if neverStarted {
		l.startErr = ErrClosed
		close(l.started)
	}
}

// outcome names what an ended Start or Run did.
func outcome(err error) EventKind {
	switch {
	case err == nil:
		return EventExited
	case isPanic(err):
		return EventPanicked
	}
	return EventFailed
}

// Start begins a run: it starts every adapter, concurrently, and returns
// the run's [Stream] once each has started or failed to. ctx bounds each
// adapter's first [Starter.Start]. An adapter that fails to start does not
// stop the others, nor the group: its restart policy applies, and
// [Group.Stats] reports it. Start returns [ErrStarted] if the group is
// running.
//
// Start does not fail when every adapter fails, because the group may
// already hold values then: an adapter added while Start ran, or a send
// through [Group.Sender], may have been accepted, and only the Stream
// handed to the caller can deliver them.
func (g *Group[T]) Start(ctx context.Context) (*Stream[T], error) {
	r, err := g.start(ctx)
	if err != nil {
		return nil, err
	}
	return r.stream, nil
}

func (g *Group[T]) start(ctx context.Context) (*groupRun[T], error) {
	g.mu.Lock()
	if g.run != nil {
		g.mu.Unlock()
		return nil, ErrStarted
	}
	r := g.newRun()
	g.run = r
	g.runs++
	ls := make([]*launch[T], 0, len(g.members))
	// In name order, so that the lanes' turns come in an order that does
	// not change from run to run.
	for _, name := range slices.Sorted(maps.Keys(g.members)) {
		m := g.members[name]
		m.cur = g.launchLocked(r, m, m.adapter, m.cfg, m.installed, ctx, true)
		ls = append(ls, m.cur)
	}
	g.mu.Unlock()
	for _, l := range ls {
		<-l.started
	}
	return r, nil
}

// Add adds an adapter to the group with the given options and, if the
// group is running, starts it and returns the error of its first
// [Starter.Start], if any, or [ErrClosed] if the run was shut down first.
// The adapter stays in the group either way: its restart policy applies to
// a failed Start, and [Group.Stats] reports it. Add returns an error
// matching [ErrAdapterExists], and adds nothing, if the name is taken.
func (g *Group[T]) Add(ctx context.Context, a Adapter[T], opts ...Option) error {
	m := &member[T]{name: a.Name(), adapter: a, cfg: defaultConfig(opts)}
	g.mu.Lock()
	if _, ok := g.members[m.name]; ok {
		g.mu.Unlock()
		return fmt.Errorf("%w: %q", ErrAdapterExists, m.name)
	}
	if g.members == nil {
		g.members = map[string]*member[T]{}
	}
	g.members[m.name] = m
	r := g.run
	if r == nil {
		g.mu.Unlock()
		return nil
	}
	l := g.launchLocked(r, m, a, m.cfg, 0, ctx, true)
	m.cur = l
	g.mu.Unlock()
	<-l.started
	return l.startErr
}

// Remove takes the named adapter out of the group, stops it in whatever
// state it is (starting, running, waiting to restart), and waits for it to
// return. If ctx ends first, Remove returns a [*NotReturnedError] that
// names the adapter and matches ctx.Err(); the adapter is out of the group
// regardless, and [Group.Shutdown] still waits for it. Values it sent
// before are still received, and still counted in the group's Stats.
// Remove returns an error matching [ErrNoAdapter] if no adapter has the
// name.
func (g *Group[T]) Remove(ctx context.Context, name string) error {
	g.mu.Lock()
	m, ok := g.members[name]
	if !ok {
		g.mu.Unlock()
		return fmt.Errorf("%w: %q", ErrNoAdapter, name)
	}
	delete(g.members, name)
	g.pruneRetiredLocked()
	g.retired = append(g.retired, m)
	wait := slices.Clone(m.launches)
	for _, l := range wait {
		g.stopLocked(l)
	}
	g.eventLocked(m, AdapterEvent{Kind: EventRemoved})
	g.mu.Unlock()
	g.flush(m)
	return waitLaunches(ctx, wait)
}

// Replace puts a, with the given options, in the place of the adapter of
// the same name. If the group is running, a is started first, and the old
// adapter is stopped only once a runs: its [Starter.Start], if any, has
// succeeded and its Run is being called. If a fails to start, Replace
// returns its error and the old adapter goes on serving (or keeps waiting
// to restart). Replace then waits, bounded by ctx, for every earlier
// instance of the name to return; if ctx ends first it returns a
// [*NotReturnedError] that names it and matches ctx.Err(), and a serves
// regardless. A Replace whose run is shut down while a starts installs a
// for the next run, or, if a new run has begun, starts a there.
//
// Of concurrent Replaces of one name, the one called last that succeeds
// wins: an earlier one that would install its adapter after it returns an
// error matching [ErrNoAdapter] (its adapter is stopped again), and so does
// a Replace whose adapter was removed meanwhile, or whose name is not in
// the group.
func (g *Group[T]) Replace(ctx context.Context, a Adapter[T], opts ...Option) error {
	name, cfg := a.Name(), defaultConfig(opts)
	g.mu.Lock()
	m, ok := g.members[name]
	if !ok {
		g.mu.Unlock()
		return fmt.Errorf("%w: %q", ErrNoAdapter, name)
	}
	m.replaces++
	gen := m.replaces
	g.mu.Unlock()

	superseded := func(l *launch[T]) error {
		if l != nil {
			g.stopLocked(l)
		}
		g.mu.Unlock()
		var err error
		if l != nil {
			err = waitLaunches(ctx, []*launch[T]{l})
		}
		return errors.Join(fmt.Errorf("%w: %q changed during Replace", ErrNoAdapter, name), err)
	}
	for {
		g.mu.Lock()
		if g.members[name] != m || m.installed > gen {
			return superseded(nil)
		}
		r := g.run
		if r == nil {
			g.installLocked(m, a, cfg, gen)
			g.mu.Unlock()
			g.flush(m)
			return nil
		}
		l := g.launchLocked(r, m, a, cfg, gen, ctx, false)
		g.mu.Unlock()

		<-l.started

		g.mu.Lock()
		if g.members[name] != m || m.installed > gen {
			return superseded(l)
		}
		if r.ctx.Err() != nil {
			// The run ended while a started, and l ends with it: install
			// a for the next run, or start it in the one that began.
			g.mu.Unlock()
			continue
		}
		if l.startErr != nil {
			g.mu.Unlock()
			return l.startErr
		}
		// Stop every older instance of the name: the current one, and an
		// earlier Replace's that has not installed yet (it will find
		// itself superseded), but not a later Replace's, which may still
		// win; then wait for them.
		old := slices.DeleteFunc(slices.Clone(m.launches), func(x *launch[T]) bool { return x == l || x.gen > gen })
		for _, o := range old {
			g.stopLocked(o)
		}
		g.installLocked(m, a, cfg, gen)
		m.cur = l
		g.mu.Unlock()
		g.flush(m)
		return waitLaunches(ctx, old)
	}
}

// installLocked makes a, with cfg, the adapter of member m from the next
// launch on, as Replace generation gen, and records the event. It requires
// that g.mu is held.
func (g *Group[T]) installLocked(m *member[T], a Adapter[T], cfg adapterConfig, gen uint64) {
	m.adapter, m.cfg, m.installed = a, cfg, gen
	g.eventLocked(m, AdapterEvent{Kind: EventReplaced})
}

// waitLaunches waits for every launch in ls to end, bounded by ctx.
func waitLaunches[T any](ctx context.Context, ls []*launch[T]) error {
	var late []string
	for _, l := range ls {
		select {
		case <-l.done:
			continue
		case <-ctx.Done():
		}
		select {
		case <-l.done:
		default:
			late = append(late, l.m.name)
		}
	}
	if late != nil {
		slices.Sort(late)
		late = slices.Compact(late)
		return &NotReturnedError{Names: late, Err: ctx.Err()}
	}
	return nil
}

// Shutdown stops the group's run. In order: it stops intake into every lane
// and wakes every blocked send with [ErrClosed], marks the run's [Stream] so
// that the consumer, having received every value accepted before, sees the
// end, and cancels every adapter's context. A send that overlaps Shutdown
// may still be accepted (and is then received); every send that begins
// after Shutdown has returned gets ErrClosed. Once Shutdown has begun no
// adapter is started or restarted with a live context: a Start or Run
// already on its way is called with its context ended. Shutdown then waits
// for every adapter the run launched (removed and replaced ones included)
// to return, and for every send in flight to leave. It never waits for the
// consumer or for room in a lane.
//
// If ctx ends first, Shutdown returns a [*NotReturnedError] that names
// every adapter still running and matches ctx.Err(), or ctx.Err() if only
// sends were still in flight; calling Shutdown again waits for the same
// run. Shutdown returns nil once the run has ended, at once if the group
// was never started, and is safe to call concurrently with every other
// method: concurrent calls wait for the same end. After Shutdown the
// adapters stay in the group, and [Group.Start] runs them again.
func (g *Group[T]) Shutdown(ctx context.Context) error {
	return g.shutdown(ctx, nil)
}

// shutdown ends run want, or the current run if want is nil, and waits for
// it as Shutdown describes. A run that is already shut down is waited for.
func (g *Group[T]) shutdown(ctx context.Context, want *groupRun[T]) error {
	g.mu.Lock()
	r := want
	if r == nil {
		r = g.run
		if r == nil {
			r = g.last // shut down already: wait for it as well
		}
	}
	if r == nil {
		g.mu.Unlock()
		return nil
	}
	if g.run == r {
		g.run = nil
		// Lanes first, so that blocked sends wake with ErrClosed; then
		// the adapters' contexts.
		for _, s := range r.lanes {
			s.stop()
		}
		r.stream.stop()
		r.cancel()
		r.final = make([]*launch[T], 0, len(r.launches))
		for l := range r.launches {
			r.final = append(r.final, l)
		}
		r.finalLanes = slices.Clone(r.lanes)
	}
	final, lanes := r.final, r.finalLanes
	g.mu.Unlock()

	if err := waitLaunches(ctx, final); err != nil {
		return err
	}
	for _, s := range lanes {
		select {
		case <-s.drained:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Run starts the group, hands every value the adapters send to handle, one
// at a time in the Stream's fair order, and shuts down the run it started
// when ctx ends. After ctx ends it goes on handing handle every value
// accepted before the shutdown, so nothing accepted is lost, and returns
// once the stream has ended and every adapter has returned: nil, or a
// [*NotReturnedError] if some adapter did not return within
// ShutdownTimeout. It is the main loop of a typical agent:
//
//	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
//	defer stop()
//	err := g.Run(ctx, func(m Message) error { ...; return nil })
//
// If handle returns an error, Run shuts its run down, returns that error,
// and the values still in the lanes are not handled. Run returns
// [ErrStarted] if the group is already running. If another goroutine
// calls Shutdown, Run returns once the stream has ended, with nil.
func (g *Group[T]) Run(ctx context.Context, handle func(T) error) error {
	r, err := g.start(ctx)
	if err != nil {
		return err
	}
	timeout := cmp.Or(g.ShutdownTimeout, DefaultShutdownTimeout)
	shutdown := func() error {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		return g.shutdown(sctx, r)
	}
	stopped := make(chan error, 1)
	unwatch := context.AfterFunc(ctx, func() { stopped <- shutdown() })

	for v := range r.stream.All() {
		if err := handle(v); err != nil {
			if unwatch() {
				shutdown()
			} else {
				<-stopped
			}
			return err
		}
	}
	if unwatch() {
		// The stream ended without ctx ending: another goroutine shut the
		// run down, and owns the outcome of its Shutdown.
		return nil
	}
	return <-stopped
}

// Sender returns a handle for sending into the group's current run from
// outside any adapter: an injection point for background tasks. Its values
// go into a lane of their own, of [DefaultCapacity] and weight 1. It
// returns [ErrNotStarted] before the first Start and [ErrClosed] while the
// group is shut down.
func (g *Group[T]) Sender() (*Sender[T], error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.run != nil:
		return g.run.inject, nil
	case g.runs == 0:
		return nil, ErrNotStarted
	}
	return nil, ErrClosed
}

// GroupStats describes a [Group]: its lanes together, the injection lane of
// [Group.Sender], and each adapter. Counters cover every run of the group;
// Capacity, Len and Blocked are of the moment.
type GroupStats struct {
	Stats                        // every lane together; Runs counts the group's runs
	Injected      Stats          // the lane of Group.Sender
	Adapters      []AdapterStats // sorted by name
	EventsDropped uint64         // events that did not fit in Group.Events
}

// AdapterStats describes one adapter of a [Group]. Its counters cover every
// lane the name has had, across runs and replacements; Runs counts calls
// of its Run.
type AdapterStats struct {
	Name     string
	State    AdapterState
	Err      error // the last error of its Start or Run, a *PanicError for a panic; nil if none
	Restarts int   // restarts by its policy
	Stats
}

// Stats returns a snapshot of the group's counters; see [Stats] for how
// exact it is. The totals cover every adapter the group has had, removed
// ones included; Adapters lists those in the group now. It takes the
// group's lock briefly and calls no adapter.
func (g *Group[T]) Stats() GroupStats {
	g.mu.Lock()
	defer g.mu.Unlock()
	var gs GroupStats
	gs.Adapters = make([]AdapterStats, 0, len(g.members))
	for _, m := range g.members {
		as := AdapterStats{Name: m.name, State: Idle, Restarts: m.restarts, Err: m.lastErr}
		if m.cur != nil {
			as.State = m.cur.state
		}
		as.Stats = m.stats.snapshot()
		m.lanes = liveLanes(&as.Stats, m.lanes)
		gs.Stats.add(as.Stats)
		gs.Adapters = append(gs.Adapters, as)
	}
	slices.SortFunc(gs.Adapters, func(a, b AdapterStats) int { return cmp.Compare(a.Name, b.Name) })

	g.pruneRetiredLocked()
	for _, m := range g.retired {
		st := m.stats.snapshot()
		m.lanes = liveLanes(&st, m.lanes)
		gs.Stats.add(st)
	}
	gs.Stats.add(g.retiredStats)

	gs.Injected = g.inject.snapshot()
	g.injLanes = liveLanes(&gs.Injected, g.injLanes)
	gs.Stats.add(gs.Injected)
	gs.Runs = g.runs
	gs.EventsDropped = g.dropped.Load()
	return gs
}

// pruneRetiredLocked lets go of removed members that are done: no launch
// left and every lane closed and drained. Their final counters join
// retiredStats. It requires that g.mu is held.
func (g *Group[T]) pruneRetiredLocked() {
	keep := g.retired[:0]
	for _, m := range g.retired {
		m.lanes = pruneLanes(m.lanes)
		if len(m.lanes) > 0 || len(m.launches) > 0 {
			keep = append(keep, m)
			continue
		}
		g.retiredStats.add(m.stats.snapshot())
	}
	clear(g.retired[len(keep):])
	g.retired = keep
}

// liveLanes adds each lane's gauges and unfinished count to st, and returns
// the lanes that may still matter; see pruneLanes.
func liveLanes[T any](st *Stats, lanes []*Sender[T]) []*Sender[T] {
	lanes = pruneLanes(lanes)
	for _, s := range lanes {
		addRun(st, s)
	}
	return lanes
}

// pruneLanes drops the lanes that are closed and empty: such a lane has
// given its count to the totals and holds nothing more.
func pruneLanes[T any](lanes []*Sender[T]) []*Sender[T] {
	keep := lanes[:0]
	for _, s := range lanes {
		if !s.isFinished() || len(s.stream) > 0 {
			keep = append(keep, s)
		}
	}
	clear(lanes[len(keep):])
	return keep
}

// A NotReturnedError reports adapters that had not returned when a
// [Group.Shutdown], [Group.Remove] or [Group.Replace] stopped waiting for
// them. It matches the context error that ended the wait.
type NotReturnedError struct {
	Names []string // sorted
	Err   error    // ctx.Err()
}

func (e *NotReturnedError) Error() string {
	return fmt.Sprintf("fanin: adapters did not return: %s: %v", strings.Join(e.Names, ", "), e.Err)
}

func (e *NotReturnedError) Unwrap() error { return e.Err }
