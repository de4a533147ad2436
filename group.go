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

// ErrDrainTimeout is returned, wrapped with a count, by [Group.Run] when
// values that had been accepted were still waiting to be handled
// DrainTimeout after the run ended. Those values were handed to
// Group.Abandon, if set, and are counted in GroupStats.Abandoned.
var ErrDrainTimeout = errors.New("fanin: drain timed out")

// Defaults of a [Group]'s bounds on the end of a run.
const (
	// DefaultShutdownTimeout is how long [Group.Run] waits for adapters to
	// return once its run has ended, when Group.ShutdownTimeout is zero.
	DefaultShutdownTimeout = 10 * time.Second

	// DefaultDrainTimeout is how long [Group.Run] goes on handing accepted
	// values to its handle function once its run has ended, when
	// Group.DrainTimeout is zero.
	DefaultDrainTimeout = 10 * time.Second
)

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

// An AdapterState is where an adapter of a [Group] is in its life: one of
// Idle, Starting, Running, Restarting, Exited, Stopped, Failed and Waiting.
type AdapterState int

const (
	Idle       AdapterState = iota // in the group, which is not running
	Starting                       // its Start is being called
	Running                        // its Run has been called and has not returned
	Restarting                     // it ended, and waits out its backoff before starting again
	Exited                         // its Run returned nil by itself, and it is not restarted
	Stopped                        // it returned after the group stopped it (Shutdown, Remove, Replace, another adapter's escalation)
	Failed                         // it failed and is not restarted: its policy, its intensity limit, or a failed Start under WithFailFast
	Waiting                        // an earlier instance of its name (of an earlier run, or removed) has not returned; it starts once that one has
)

var stateNames = [...]string{"idle", "starting", "running", "restarting", "exited", "stopped", "failed", "waiting"}

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
// Then, as an Erlang/OTP supervisor exits when a child exceeds its
// intensity, the group escalates: it ends the run, and the run's
// [*AdapterError] reaches the program through [Group.Run]'s result or
// [Stream.Err]. An adapter the program can live without is added
// [WithKeepTrying] and restarted at its maximum backoff instead, as suture
// restarts a failing service. A failure is never both silent and final.
//
// At most one instance of a name runs at a time, except while [Group.Replace]
// starts the new adapter before it stops the old one.
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
	// after its run ends (and Start, after a failed start under
	// WithFailFast); zero means DefaultShutdownTimeout.
	ShutdownTimeout time.Duration

	// DrainTimeout bounds how long Run goes on handing accepted values to
	// its handle function after its run ends; zero means
	// DefaultDrainTimeout. Values still waiting then are abandoned.
	DrainTimeout time.Duration

	// Abandon, if not nil, is handed every value that was accepted but
	// will not be handled: those still waiting when Run's DrainTimeout
	// passed, when handle returned an error or panicked, or when Start
	// failed under WithFailFast. It is called in the goroutine of Run (or
	// Start), one value at a time, in the order the stream gives them,
	// after the run has ended, so that the program can persist them,
	// return them to where they came from (nak a queue message) or answer
	// a caller that waits. Abandoned values are counted in
	// GroupStats.Abandoned whether or not Abandon is set.
	Abandon func(T)

	dropped   atomic.Uint64 // events that did not fit in Events
	abandoned atomic.Uint64 // values accepted and never handled

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

	queues      map[string]*eventQueue // events waiting to be delivered, by name; guarded by mu
	escalations int                    // runs ended by an adapter's failure; guarded by mu
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
//	(new) ──an earlier instance of the name still running──→ Waiting ──it returned──┐
//	  │                                                                              │
//	  │       ┌─────────────── backoff over ───────────────┐                         │
//	  v       v                                            │                         │
//	Starting ←─────────────────────────────────────────────┼─────────────────────────┘
//	  │   └──ok──→ Running ──returned──→ policy: restart? ──yes──→ Restarting
//	  │                                        │ no          (over the intensity
//	  └──Start failed──→ policy ───────────────┤             and kept trying: at
//	                                           v              the maximum backoff)
//	                    Exited (nil) or Failed (error, panic, a first Start under
//	                    WithFailFast, or the intensity exceeded: the run ends)
//
//	any state ──stop (Shutdown, Remove, Replace, the run ending)──→ Stopped, once
//	Start and Run have returned (a Start that succeeded is followed by Run with
//	an ended ctx)
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
}

// groupRun is one run of a Group.
type groupRun[T any] struct {
	ctx      context.Context // canceled by Shutdown; every launch's ctx derives from it
	cancel   context.CancelFunc
	stream   *Stream[T]
	inject   *Sender[T]
	launches map[*launch[T]]struct{} // launches not yet ended; guarded by Group.mu
	lanes    []*Sender[T]            // lanes of the run that may hold values; guarded by Group.mu
	pruned   int                     // len(lanes) after launchLocked last pruned them; guarded by Group.mu
	endedAt  time.Time               // when the run ended (ctx canceled); guarded by Group.mu
	err      *AdapterError           // the failure that ended the run, if one did; guarded by Group.mu

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
	kind    launchKind
	byAdd   bool // launched by Add, which waits for its first Start
	// prev are the launches of the name that must return before this one
	// starts: of earlier runs, or of a member removed before; see supervise.
	prev []*launch[T]

	state    AdapterState // guarded by Group.mu
	err      error        // the last error of Start or Run; guarded by Group.mu
	degraded bool         // over its intensity (WithKeepTrying) and not started since; guarded by Group.mu

	started  chan struct{} // closed when the first Start returned, or the launch ended before
	startErr error         // the first Start's error; written before started is closed
	done     chan struct{} // closed when the launch's goroutine ends, after its last event
}

// A launchKind says what a failed first Start of a launch does.
type launchKind int

const (
	launchPolicy   launchKind = iota // Start or Add: the restart policy applies
	launchFailFast                   // Start or Add under WithFailFast: the launch fails, and so does the call
	launchReplace                    // Replace: the launch ends, and the old adapter serves on
)

func (g *Group[T]) newRun() *groupRun[T] {
	ctx, cancel := context.WithCancel(context.Background())
	r := &groupRun[T]{ctx: ctx, cancel: cancel, stream: newStream[T](), launches: map[*launch[T]]struct{}{}}
	r.inject = r.stream.newLane(DefaultCapacity, &g.inject, DefaultWeight)
	r.lanes = append(r.lanes, r.inject)
	g.inject.runs.Add(1)
	g.injLanes = append(pruneLanes(g.injLanes), r.inject)
	g.last = r
	return r
}

// launchLocked creates a launch of adapter a for member m in run r and
// starts its goroutine. startCtx, the caller's context, also bounds the
// first Start. replacing says that Replace launches it. It requires that
// g.mu is held.
func (g *Group[T]) launchLocked(r *groupRun[T], m *member[T], a Adapter[T], cfg adapterConfig, gen uint64, startCtx context.Context, replacing bool) *launch[T] {
	ctx, cancel := context.WithCancel(r.ctx)
	kind := launchPolicy
	switch {
	case replacing:
		kind = launchReplace
	case cfg.failFast:
		kind = launchFailFast
	}
	l := &launch[T]{
		m: m, adapter: a, cfg: cfg, run: r, gen: gen, ctx: ctx, cancel: cancel, kind: kind,
		lane:    r.stream.newLane(cfg.capacity, &m.stats, cfg.weight),
		state:   Starting,
		started: make(chan struct{}),
		done:    make(chan struct{}),
	}
	// One instance of a name at a time: every launch of the name that is
	// still running, except those of this member in this run (the overlap
	// that Replace documents), must return first. They are of an earlier
	// run whose Shutdown gave up waiting, or of a member that Remove took
	// out while they did not return.
	for _, x := range m.launches {
		if x.run != r {
			l.prev = append(l.prev, x)
		}
	}
	for _, old := range g.retired {
		if old.name == m.name {
			l.prev = append(l.prev, old.launches...)
		}
	}
	r.launches[l] = struct{}{}
	m.launches = append(m.launches, l)
	// Lanes that are closed and drained are dropped as new ones come, so
	// that a long run of Replaces holds only the lanes that matter.
	if len(r.lanes) >= 2*r.pruned {
		// Only when the lanes have doubled, so that adding n adapters
		// costs O(n), not O(n²).
		r.lanes = pruneLanes(r.lanes)
		r.pruned = max(len(r.lanes), 8)
	}
	r.lanes = append(r.lanes, l.lane)
	m.lanes = append(pruneLanes(m.lanes), l.lane)
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
	name := m.name
	first := true      // the caller that launched l waits for its first Start
	attempted := false // a Start of l has returned
	ended := false
	end := func(final AdapterState, err error, e AdapterEvent) {
		g.endLocked(l, final, err, first)
		g.eventLocked(name, e)
		g.mu.Unlock()
		g.flush(name)
		ended = true
	}
	// fail ends l after a failure that is not restarted, with the
	// consequence its kind and options call for. The run, if it fails, is
	// ended before l leaves it, so that whoever waits for the run waits
	// for l too. canRestart says the policy would restart l and cannot:
	// its intensity is exceeded, or its goroutine is ending (Goexit).
	fail := func(err error, canRestart bool) {
		callerWaits := first
		g.signalStartedLocked(l, &first, err)
		firstStart := !attempted && decidesOnFirstStart(l, startCtx)
		switch {
		case firstStart && l.kind == launchReplace:
			// The adapter Replace was starting failed: the name's own
			// adapter serves on, and its error and state are not this
			// one's.
			l.err = err
			end(Failed, err, AdapterEvent{Kind: EventReplaceFailed, Err: err})
			return
		case firstStart && l.kind == launchFailFast:
			g.setErrLocked(l, err)
			if l.byAdd && callerWaits {
				// Add returns the error, and the adapter leaves the
				// group: its lane never had a sender, so nothing is
				// lost, and its counters join the group's totals.
				if g.members[name] == m {
					delete(g.members, name)
					g.retired = append(g.retired, m)
				}
			} else {
				// Start waits for it, or Start or Add was answered
				// already (it waited for an earlier instance of its
				// name): the run ends with its error.
				g.failRunLocked(l.run, &AdapterError{Name: name, Err: err})
			}
			end(Failed, err, AdapterEvent{Kind: outcome(err), Err: err})
			return
		case canRestart && !l.cfg.keepTrying && l.cfg.policy != RestartNever:
			// Escalate: the run cannot go on as if this adapter were
			// serving. Its event comes before the others' stopped.
			g.setErrLocked(l, err)
			g.failRunLocked(l.run, &AdapterError{Name: name, Err: err, GaveUp: true})
			end(Failed, err, AdapterEvent{Kind: EventGaveUp, Err: err})
			return
		}
		g.setErrLocked(l, err)
		end(Failed, err, AdapterEvent{Kind: outcome(err), Err: err})
	}
	defer func() {
		if !ended {
			// Start or Run called runtime.Goexit (t.FailNow does): the
			// goroutine is going away and cannot go on supervising, nor
			// be restarted.
			g.mu.Lock()
			if l.ctx.Err() != nil {
				end(Stopped, errGoexit, AdapterEvent{Kind: EventStopped, Err: errGoexit})
			} else {
				fail(errGoexit, true)
			}
		}
		// done is closed last, after the final event: whoever waits for
		// the launch (Shutdown, Remove, Replace, a later instance of the
		// name) sees its goroutine end.
		close(l.done)
	}()
	var waitErr error
	if len(l.prev) > 0 {
		waitErr = g.awaitPrev(l, startCtx, &first)
	}
	var rs restarts
	restarting := false
	for {
		g.mu.Lock()
		if l.ctx.Err() != nil {
			end(Stopped, l.err, AdapterEvent{Kind: EventStopped})
			return
		}
		if restarting {
			// Counted here, not when the backoff began, so that a
			// restart that a stop cut short is not counted.
			m.restarts++
			restarting = false
		}
		l.state = Starting
		g.mu.Unlock()

		err := waitErr
		waitErr = nil
		if err == nil {
			err = call(func() error { return g.startAdapter(l, startCtx, first) })
		}
		g.mu.Lock()
		if err == nil {
			attempted = true
			l.state = Running
			l.degraded = false // serving: no longer in an outage, whatever its history
			m.stats.runs.Add(1)
			g.eventLocked(name, AdapterEvent{Kind: EventStarted})
			g.signalStartedLocked(l, &first, nil)
			g.mu.Unlock()
			g.flush(name)
			// After a Start that succeeded Run is always called, with an
			// ended ctx if the launch was stopped meanwhile, so that it
			// can release what Start acquired.
			err = call(func() error { return l.adapter.Run(l.ctx, l.lane) })
			g.mu.Lock()
		}

		if l.ctx.Err() != nil {
			// Stopped by the group: whatever it returned is no failure.
			g.signalStartedLocked(l, &first, err)
			end(Stopped, err, AdapterEvent{Kind: EventStopped, Err: err})
			return
		}
		if !attempted && decidesOnFirstStart(l, startCtx) {
			fail(err, false) // a first Start under Replace or WithFailFast
			return
		}
		attempted = true
		g.signalStartedLocked(l, &first, err)
		restart := l.cfg.policy == RestartAlways || (l.cfg.policy == RestartOnFailure && err != nil)
		if !restart {
			if err == nil {
				end(Exited, nil, AdapterEvent{Kind: EventExited})
				return
			}
			fail(err, false)
			return
		}
		if err != nil {
			g.setErrLocked(l, err)
		}
		g.eventLocked(name, AdapterEvent{Kind: outcome(err), Err: err})
		wasOver := rs.over
		delay, n, over := rs.next(&l.cfg, time.Now())
		if over && !l.cfg.keepTrying {
			g.failRunLocked(l.run, &AdapterError{Name: name, Err: err, GaveUp: true})
			end(Failed, err, AdapterEvent{Kind: EventGaveUp, Err: err, Attempt: n})
			return
		}
		if over {
			if !wasOver {
				g.eventLocked(name, AdapterEvent{Kind: EventDegraded, Err: err, Attempt: n})
			}
			l.degraded = true // until it starts again
		}
		l.state, l.err = Restarting, err
		restarting = true
		g.eventLocked(name, AdapterEvent{Kind: EventRestarting, Err: err, Attempt: n, Delay: delay})
		g.mu.Unlock()
		g.flush(name)

		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-l.ctx.Done():
			t.Stop()
		}
		// The loop's first step sees a stop that came during the wait.
	}
}

// decidesOnFirstStart reports whether a failure of l's first Start ends l
// without its policy: for Replace, which then keeps the old adapter, and
// for WithFailFast, unless the caller's ctx ended (the caller gave up, and
// the Start was not given its chance).
func decidesOnFirstStart[T any](l *launch[T], startCtx context.Context) bool {
	switch l.kind {
	case launchReplace:
		return true
	case launchFailFast:
		return startCtx == nil || startCtx.Err() == nil
	}
	return false
}

// setErrLocked records err as the last error of launch l, and of its
// name while l is the name's current launch: a launch that Replace has
// not installed yet does not speak for the name. It requires that g.mu
// is held.
func (g *Group[T]) setErrLocked(l *launch[T], err error) {
	l.err = err
	if l.m.cur == l {
		l.m.lastErr = err
	}
}

// awaitPrev waits until every launch in l.prev has returned, so that no
// two instances of a name run at once, or until l is stopped. While it
// waits, l is Waiting. A launch of Start or Add reports to its caller at
// once, since the instance it waits for may never return; one of Replace
// waits within the bound of Replace's ctx, and returns its error when that
// ends first, as a failed Start would.
func (g *Group[T]) awaitPrev(l *launch[T], startCtx context.Context, first *bool) error {
	g.mu.Lock()
	l.state = Waiting
	if l.kind != launchReplace {
		g.signalStartedLocked(l, first, nil)
	}
	g.mu.Unlock()
	var bound <-chan struct{}
	if *first && startCtx != nil {
		bound = startCtx.Done()
	}
	for _, p := range l.prev {
		select {
		case <-p.done:
		case <-l.ctx.Done():
			return nil // the loop sees the stop
		case <-bound:
			return startCtx.Err()
		}
	}
	return nil
}

// errGoexit is recorded for an adapter whose Start or Run called
// runtime.Goexit.
var errGoexit = errors.New("fanin: adapter called runtime.Goexit in Start or Run (t.FailNow does); it is not restarted")

// startAdapter calls l's Start, if it has one. The first Start is also
// bounded by the context of the call that launched it.
func (g *Group[T]) startAdapter(l *launch[T], startCtx context.Context, first bool) error {
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
	// A barrier, not a critical section: if a stop is under way (its
	// cancel reaches the launches' contexts one by one, under g.mu), wait
	// until it is done, so that a Start called after anyone saw the stop
	// sees its own context ended too.
	g.mu.Lock()
	//lint:ignore SA2001 the empty critical section is the barrier
	g.mu.Unlock()
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
// An adapter added [WithFailFast] is the exception: if its first Start
// fails, Start shuts the run down, waits up to ShutdownTimeout for every
// adapter to return, hands every value that was accepted meanwhile (by
// other adapters, or through [Group.Sender]) to Group.Abandon, and returns
// an [*AdapterError] that names it and wraps its error (joined with a
// [*NotReturnedError] if some adapter did not return). The group is then
// not running, and Start may be called again. An adapter that escalates
// (see [WithIntensity]) while Start runs ends the run as it would later:
// Start returns the Stream, which delivers what was accepted and then
// ends, and [Stream.Err] reports the failure.
//
// Otherwise Start does not fail when every adapter fails, because the
// group may already hold values then, and only the Stream handed to the
// caller can deliver them. An adapter whose earlier instance has not
// returned (see [Waiting]) is not waited for.
func (g *Group[T]) Start(ctx context.Context) (*Stream[T], error) {
	r, err := g.start(ctx)
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	failure := r.err
	g.mu.Unlock()
	if failure != nil && !failure.GaveUp {
		// A failed start under WithFailFast: nobody holds the Stream,
		// so what was accepted meanwhile goes to Abandon.
		_, err := g.finishRun(r)
		return nil, joinErrors(failure, err)
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
		m.cur = g.launchLocked(r, m, m.adapter, m.cfg, m.installed, ctx, false)
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
// a failed Start, and [Group.Stats] reports it; except that an adapter
// added [WithFailFast] whose first Start failed is taken out again. If an
// earlier instance of the name (removed, or of an earlier run) has not
// returned, the adapter waits for it (see [Waiting]) and Add returns nil
// at once. Add returns an error matching [ErrAdapterExists], and adds
// nothing, if the name is taken.
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
	l := g.launchLocked(r, m, a, m.cfg, 0, ctx, false)
	l.byAdd = true // read by its goroutine only after it takes g.mu
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
	g.eventLocked(name, AdapterEvent{Kind: EventRemoved})
	g.mu.Unlock()
	g.flush(name)
	return waitLaunches(ctx, wait)
}

// Replace puts a, with the given options, in the place of the adapter of
// the same name. If the group is running, a is started first, and the old
// adapter is stopped only once a runs: its [Starter.Start], if any, has
// succeeded and its Run is being called. If a fails to start, Replace
// returns its error, the old adapter goes on serving (or keeps waiting to
// restart), and an [EventReplaceFailed] reports it; the name's state and
// last error in [Group.Stats] stay the old adapter's. Replace then waits, bounded by ctx, for every earlier
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
			g.installLocked(m, a, cfg, gen, nil)
			g.mu.Unlock()
			g.flush(name)
			return nil
		}
		l := g.launchLocked(r, m, a, cfg, gen, ctx, true)
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
		g.installLocked(m, a, cfg, gen, l)
		g.mu.Unlock()
		g.flush(name)
		return waitLaunches(ctx, old)
	}
}

// installLocked makes a, with cfg, the adapter of member m from the next
// launch on, as Replace generation gen, with l as its current launch (nil
// while the group is not running), and records the event. The last error
// and the state of the adapter it replaces are not a's: the name's error
// becomes l's (none, without l), and its state l's (Idle, without l). It
// requires that g.mu is held.
func (g *Group[T]) installLocked(m *member[T], a Adapter[T], cfg adapterConfig, gen uint64, l *launch[T]) {
	m.adapter, m.cfg, m.installed = a, cfg, gen
	m.cur, m.lastErr = l, nil
	if l != nil {
		m.lastErr = l.err
	}
	g.eventLocked(m.name, AdapterEvent{Kind: EventReplaced})
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
	g.endRunLocked(r)
	final, lanes := r.final, r.finalLanes
	g.mu.Unlock()

	if err := waitLaunches(ctx, final); err != nil {
		return err
	}
	for _, s := range lanes {
		select {
		case <-s.drained:
			continue // drained wins over a ctx that has ended too
		default:
		}
		select {
		case <-s.drained:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// endRunLocked ends run r, if it is the current one: in order, it stops
// intake into every lane and wakes every blocked send with ErrClosed,
// marks the Stream so that the consumer, having received every value
// accepted before, sees the end, and cancels every adapter's context. It
// records what every Shutdown of the run then waits for. It requires that
// g.mu is held, and never blocks.
func (g *Group[T]) endRunLocked(r *groupRun[T]) {
	if g.run != r {
		return
	}
	g.run = nil
	r.endedAt = time.Now()
	// Lanes first, so that blocked sends wake with ErrClosed; then the
	// adapters' contexts.
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

// failRunLocked ends run r because of failure err, if r is still the
// current run: the escalation of an adapter that gave up, or a failed
// start under WithFailFast. The first failure of a run is the one
// reported. It requires that g.mu is held, and never blocks.
func (g *Group[T]) failRunLocked(r *groupRun[T], err *AdapterError) {
	if g.run != r {
		return // shut down already: whoever ended it owns the outcome
	}
	r.err = err
	r.stream.fail(err)
	g.escalations++
	g.endRunLocked(r)
}

// finishRun is the end of a run that Run (or a failed Start) ended: it
// hands every value still in the run's lanes to Abandon, then waits for
// every adapter to return, both until ShutdownTimeout after the run ended.
// It returns the number of values abandoned, and a *NotReturnedError if
// some adapter did not return in time.
func (g *Group[T]) finishRun(r *groupRun[T]) (int, error) {
	g.mu.Lock()
	ended := r.endedAt
	g.mu.Unlock()
	ctx, cancel := context.WithDeadline(context.Background(), ended.Add(cmp.Or(g.ShutdownTimeout, DefaultShutdownTimeout)))
	defer cancel()
	n := 0
	for {
		// Every lane has been stopped, so the stream ends as soon as the
		// sends in flight have left, and a send in flight waits for
		// nobody: this needs no bound, and must have none, since a value
		// that such a send places after a bound passed would be lost.
		v, err := r.stream.Recv(context.Background())
		if err != nil {
			break
		}
		n++
		g.abandoned.Add(1)
		if g.Abandon != nil {
			g.Abandon(v)
		}
	}
	return n, g.shutdown(ctx, r)
}

// joinErrors joins the errors that are not nil, and returns a lone error
// as it is, so that it can still be compared with ==.
func joinErrors(errs ...error) error {
	errs = slices.DeleteFunc(errs, func(err error) bool { return err == nil })
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

// Run starts the group, hands every value the adapters send to handle, one
// at a time in the Stream's fair order, and ends the run it started when
// ctx ends, or when an adapter's failure ends it (see [WithIntensity]). It
// is the main loop of a typical agent, and returns once the run is over:
//
//  1. The run ends: intake stops and every adapter's context ends, as
//     [Group.Shutdown] describes.
//  2. Run goes on handing handle the values accepted before, for at most
//     DrainTimeout after the run ended (checked before each value; a
//     handle call in progress is not interrupted).
//  3. Values still waiting then are handed to Group.Abandon, if set, and
//     counted in [GroupStats].Abandoned: none is dropped silently.
//  4. Run waits for every adapter to return, until ShutdownTimeout after
//     the run ended.
//
// So Run returns at most the greater of DrainTimeout and ShutdownTimeout
// after ctx ends, plus the handle call then in progress and the calls of
// Abandon. It returns nil if ctx ended (or another goroutine called
// Shutdown) and all went well. Otherwise it returns every failure, joined:
// the [*AdapterError] of an adapter whose failure ended the run (with
// [WithFailFast], a failed first Start; by default, an adapter that
// exceeded its restart intensity), an error matching [ErrDrainTimeout]
// that says how many values were abandoned, and a [*NotReturnedError] if
// some adapter did not return in time.
//
// If handle returns an error, Run ends the run, abandons what remains
// (steps 3 and 4), and returns that error, joined with the run's
// AdapterError and a NotReturnedError, if any. If handle panics, or calls runtime.Goexit, Run does the same and
// then lets the panic go on up the caller's goroutine, unchanged: handle
// is the program's own loop, as errgroup's goroutines are parts of one
// computation, so a panic there is the program's bug to see, not an
// adapter's failure to survive; ending the group first means that nothing
// runs on behind a main loop that is gone. Run returns [ErrStarted] if the
// group is already running.
//
// A program ends the drain early by ending the process: with the idiom
//
//	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
//	defer stop()
//	context.AfterFunc(ctx, stop) // the first signal drains; a second one ends the process
//	err := g.Run(ctx, func(m Message) error { ...; return nil })
//
// the first signal ends ctx, and stop restores the default action of the
// signals, so that a second one ends the process at once.
func (g *Group[T]) Run(ctx context.Context, handle func(T) error) error {
	r, err := g.start(ctx)
	if err != nil {
		return err
	}
	defer context.AfterFunc(ctx, func() { g.endRun(r) })()
	finished := false
	defer func() {
		if !finished {
			// handle panicked or called runtime.Goexit: end the run and
			// let every adapter return before the panic goes on.
			g.endRun(r)
			g.finishRun(r)
		}
	}()
	drain := cmp.Or(g.DrainTimeout, DefaultDrainTimeout)
	var deadline time.Time // set once the run has ended
	var herr error
	cut := false
	for {
		rctx, cancel := context.Background(), context.CancelFunc(func() {})
		if deadline.IsZero() && r.ctx.Err() != nil {
			g.mu.Lock()
			deadline = r.endedAt.Add(drain)
			g.mu.Unlock()
		}
		if !deadline.IsZero() {
			if !time.Now().Before(deadline) {
				cut = true
				break
			}
			rctx, cancel = context.WithDeadline(rctx, deadline)
		}
		v, err := r.stream.Recv(rctx)
		cancel()
		if err != nil {
			cut = err != ErrClosed
			break
		}
		if herr = handle(v); herr != nil {
			g.endRun(r)
			break
		}
	}
	finished = true
	n, werr := g.finishRun(r)
	g.mu.Lock()
	var failure error
	if r.err != nil {
		failure = r.err
	}
	g.mu.Unlock()
	if herr != nil {
		return joinErrors(herr, failure, werr)
	}
	var derr error
	if cut && n > 0 {
		derr = fmt.Errorf("%w: %d accepted values were not handled", ErrDrainTimeout, n)
	}
	return joinErrors(failure, derr, werr)
}

// endRun ends run r, if it is the current one, without waiting.
func (g *Group[T]) endRun(r *groupRun[T]) {
	g.mu.Lock()
	g.endRunLocked(r)
	g.mu.Unlock()
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
	Stats                        // every lane together; Runs counts the runs begun, one a failed start under WithFailFast ended included
	Injected      Stats          // the lane of Group.Sender
	Adapters      []AdapterStats // sorted by name
	EventsDropped uint64         // events that did not fit in Group.Events
	Escalations   int            // runs ended by an adapter's failure (an *AdapterError)
	Abandoned     uint64         // values accepted and never handled: handed to Group.Abandon, or counted only
}

// AdapterStats describes one adapter of a [Group]. Its counters cover
// every lane the name has had since it was added, across runs and
// replacements; Runs counts calls of its Run. [Group.Remove] ends them: a
// later Add of the name starts from zero, while the group's totals keep
// what the removed adapter counted.
type AdapterStats struct {
	Name       string
	State      AdapterState
	Err        error // the last error of its Start or Run, a *PanicError for a panic; nil if none, and cleared by Replace
	Restarts   int   // restarts by its policy that began (not those a stop cut short during the backoff)
	KeepTrying bool  // added WithKeepTrying: over its intensity it is restarted, and does not escalate
	Degraded   bool  // kept trying over its intensity, and not running since: its restarts wait the maximum backoff
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
		as := AdapterStats{Name: m.name, State: Idle, Restarts: m.restarts, Err: m.lastErr, KeepTrying: m.cfg.keepTrying}
		if m.cur != nil {
			as.State, as.Degraded = m.cur.state, m.cur.degraded
		}
		as.Stats = m.stats.read(func(st *Stats) { m.lanes = liveLanes(st, m.lanes) })
		gs.Stats.add(as.Stats)
		gs.Adapters = append(gs.Adapters, as)
	}
	slices.SortFunc(gs.Adapters, func(a, b AdapterStats) int { return cmp.Compare(a.Name, b.Name) })

	g.pruneRetiredLocked()
	for _, m := range g.retired {
		gs.Stats.add(m.stats.read(func(st *Stats) { m.lanes = liveLanes(st, m.lanes) }))
	}
	gs.Stats.add(g.retiredStats)

	gs.Injected = g.inject.read(func(st *Stats) { g.injLanes = liveLanes(st, g.injLanes) })
	gs.Stats.add(gs.Injected)
	gs.Runs = g.runs
	gs.EventsDropped = g.dropped.Load()
	gs.Escalations = g.escalations
	gs.Abandoned = g.abandoned.Load()
	return gs
}

// pruneRetiredLocked lets go of removed members that are done: no launch
// left and every lane closed and drained. Their final counters join
// retiredStats. It requires that g.mu is held.
func (g *Group[T]) pruneRetiredLocked() {
	keep := g.retired[:0]
	for _, m := range g.retired {
		// A lane is pruned once it is finished, which it is a moment
		// before its count has joined m.stats: read waits for that.
		st := m.stats.read(func(*Stats) { m.lanes = pruneLanes(m.lanes) })
		if len(m.lanes) > 0 || len(m.launches) > 0 {
			keep = append(keep, m)
			continue
		}
		g.retiredStats.add(st)
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
		if !s.isFinished() || len(s.stream()) > 0 {
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

// An AdapterError reports the adapter whose failure ended a run of a
// [Group]: it exceeded its restart intensity (GaveUp), or its first Start
// failed under [WithFailFast]. [Group.Run] and [Group.Start] return it, and
// [Stream.Err] reports it. It unwraps to the adapter's last error, so that
// errors.Is and errors.As see what the adapter returned.
type AdapterError struct {
	Name   string // the adapter's name
	Err    error  // its last error: what Start or Run returned, or a *PanicError
	GaveUp bool   // it could not be restarted (its intensity exceeded, or it called runtime.Goexit); false for a failed start under WithFailFast
}

func (e *AdapterError) Error() string {
	switch {
	case e.GaveUp && e.Err == errGoexit:
		return fmt.Sprintf("fanin: adapter %q cannot be restarted: %v", e.Name, e.Err)
	case e.GaveUp:
		return fmt.Sprintf("fanin: adapter %q exceeded its restart intensity: %v", e.Name, e.Err)
	}
	return fmt.Sprintf("fanin: adapter %q failed to start: %v", e.Name, e.Err)
}

func (e *AdapterError) Unwrap() error { return e.Err }
