package fanin

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

var (
	// ErrAdapterExists is returned by [Group.Add] for a name already in the
	// group.
	ErrAdapterExists = errors.New("fanin: adapter already in group")

	// ErrNoAdapter is returned by [Group.Remove] and [Group.Replace] for a
	// name that is not in the group, and by Replace when the adapter it was
	// replacing was removed or replaced by another call meanwhile.
	ErrNoAdapter = errors.New("fanin: no such adapter")
)

// An Adapter produces messages for a [Group]: an HTTP webhook, a websocket,
// a chat bridge, a plugin runtime. The group calls Run once per run of the
// group, in a goroutine of its own, with a [Sender] bound to that run; Run
// sends through it until ctx ends, then returns. Adapters of one group share
// one stream and one buffer: a Send goes straight into it.
//
// An Adapter that must prepare before it can serve (bind a port, dial a
// server) also implements [Starter]; a Group starts it before it runs it,
// and counts it as running only once Start has succeeded.
type Adapter[T any] interface {
	// Name identifies the adapter in its group.
	Name() string
	// Run serves until ctx ends and returns nil, or returns an error if it
	// cannot go on. It must return promptly once ctx ends.
	Run(ctx context.Context, s Sink[T]) error
}

// A Starter is an [Adapter] with a preparation step. Start must return
// promptly, and must leave nothing running if it fails: a failed Start
// means the adapter is not running.
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
	Idle     AdapterState = iota // in the group, which is not running
	Starting                     // its Start or Run is being begun
	Running                      // its Run has been called and has not returned
	Exited                       // its Run returned by itself; see the status's Err
	Stopped                      // its Run returned after the group canceled it
	Failed                       // its Start failed; see the status's Err
)

var stateNames = [...]string{"idle", "starting", "running", "exited", "stopped", "failed"}

func (s AdapterState) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("AdapterState(%d)", int(s))
}

// An AdapterStatus reports one adapter of a [Group].
type AdapterStatus struct {
	Name  string
	State AdapterState
	Err   error // from Start when Failed; from Run when Exited or Stopped
}

// A Group runs a set of named adapters that all feed one stream. It owns a
// [Channel]: [Group.Start] starts the channel and every adapter,
// [Group.Shutdown] cancels every adapter, shuts the channel down (waking
// every blocked send) and waits for every adapter to return. Adapters can
// be added, removed and replaced while the group runs; a replacement starts
// before the adapter it replaces stops.
//
// No lock of the group is held while adapter code runs or while anything
// waits: a slow or stuck adapter can hold up only the call that waits for
// it, and that call gives up when its context ends.
//
// The zero Group is ready to use, with a buffer of [DefaultCapacity]. A
// Group is safe for simultaneous use by multiple goroutines and must not be
// copied after first use.
type Group[T any] struct {
	ch Channel[T]

	mu       sync.Mutex
	adapters map[string]*member[T] // guarded by mu
	run      *groupRun[T]          // the current run, nil when not running; guarded by mu
}

// groupRun is one run of a Group.
type groupRun[T any] struct {
	ctx    context.Context // canceled by Shutdown; every adapter's ctx derives from it
	cancel context.CancelFunc
	sender *Sender[T]
	// launched holds every launch of this run that has not ended, of
	// removed and replaced adapters too, so that Shutdown can wait for all
	// of them. Guarded by Group.mu.
	launched map[*launch]string
}

// member is one adapter in a group; cur is its latest launch, nil if it
// was never launched. Guarded by Group.mu.
type member[T any] struct {
	adapter Adapter[T]
	name    string // adapter.Name(), asked once, outside any lock
	cur     *launch
}

// launch is one start and run of an adapter. An adapter whose Run ignored
// its context may still be in an old launch when a new one begins; each
// goroutine writes only to its own launch. Fields are guarded by Group.mu.
type launch struct {
	state  AdapterState
	err    error
	cancel context.CancelFunc // cancels Run; nil until Run is called
	done   chan struct{}      // closed when the launch failed or Run returned
}

// NewGroup returns a Group whose stream buffers up to capacity values. It
// panics if capacity is negative.
func NewGroup[T any](capacity int) *Group[T] {
	if capacity < 0 {
		panic("fanin: NewGroup called with negative capacity")
	}
	return &Group[T]{ch: Channel[T]{capacity: capacity, sized: true}}
}

// Start starts the group's channel and then every adapter, concurrently,
// and returns the stream once each has started or failed to. An adapter
// that fails to start is reported by [Group.Status] as Failed and does not
// stop the others, nor the group: it can be replaced by name with
// [Group.Replace]. Start returns [ErrStarted] if the group is running. ctx
// bounds each adapter's [Starter.Start].
//
// Start does not fail when every adapter fails, because the group may
// already hold values then: an adapter added while Start ran, or a send
// through [Group.Sender], may have been accepted into the stream, and only
// a stream handed to the caller can deliver them.
func (g *Group[T]) Start(ctx context.Context) (<-chan T, error) {
	g.mu.Lock()
	if g.run != nil {
		g.mu.Unlock()
		return nil, ErrStarted
	}
	stream, err := g.ch.Start()
	if err != nil {
		// Only a Group's own Shutdown stops its channel, and it does so
		// with g.mu held, so the channel is never active here.
		g.mu.Unlock()
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	r := &groupRun[T]{ctx: runCtx, cancel: cancel, launched: map[*launch]string{}}
	r.sender, _ = g.ch.Sender()
	g.run = r
	type started struct {
		a Adapter[T]
		l *launch
	}
	todo := make([]started, 0, len(g.adapters))
	for _, m := range g.adapters {
		todo = append(todo, started{m.adapter, g.begin(r, m)})
	}
	g.mu.Unlock()

	var wg sync.WaitGroup
	for _, t := range todo {
		wg.Go(func() { g.launch(ctx, r, t.a, t.l) })
	}
	wg.Wait()
	return stream, nil
}

// begin records a new launch of m in run r and returns it. It requires
// that g.mu is held.
func (g *Group[T]) begin(r *groupRun[T], m *member[T]) *launch {
	m.cur = &launch{state: Starting, done: make(chan struct{})}
	r.launched[m.cur] = m.name
	return m.cur
}

// launch starts a (Starter.Start if it has one) and then runs it in a
// goroutine, recording each step in l, which begin returned. It returns
// the error of Start, or ErrClosed if the run was shut down first.
func (g *Group[T]) launch(ctx context.Context, r *groupRun[T], a Adapter[T], l *launch) error {
	var err error
	if s, ok := a.(Starter); ok {
		err = s.Start(ctx)
	}
	if err == nil && r.ctx.Err() != nil {
		// The run was shut down while a was starting: Run is not called.
		err = ErrClosed
	}
	g.mu.Lock()
	if err != nil {
		l.state, l.err = Failed, err
		g.end(r, l)
		g.mu.Unlock()
		return err
	}
	runCtx, cancel := context.WithCancel(r.ctx)
	l.state, l.cancel = Running, cancel
	g.mu.Unlock()

	go func() {
		err := a.Run(runCtx, r.sender)
		g.mu.Lock()
		l.state, l.err = Exited, err
		if runCtx.Err() != nil {
			l.state = Stopped
		}
		g.end(r, l)
		g.mu.Unlock()
		cancel()
	}()
	return nil
}

// end records that launch l has ended. It requires that g.mu is held.
func (g *Group[T]) end(r *groupRun[T], l *launch) {
	delete(r.launched, l)
	close(l.done)
}

// Add adds an adapter to the group and, if the group is running, starts it
// and returns the error of its [Starter.Start], if any; the adapter stays in
// the group either way, and [Group.Status] reports it. Add returns
// [ErrAdapterExists], and adds nothing, if the name is taken.
func (g *Group[T]) Add(ctx context.Context, a Adapter[T]) error {
	m := &member[T]{adapter: a, name: a.Name()}
	g.mu.Lock()
	if _, ok := g.adapters[m.name]; ok {
		g.mu.Unlock()
		return fmt.Errorf("%w: %q", ErrAdapterExists, m.name)
	}
	if g.adapters == nil {
		g.adapters = map[string]*member[T]{}
	}
	g.adapters[m.name] = m
	r := g.run
	if r == nil {
		g.mu.Unlock()
		return nil
	}
	l := g.begin(r, m)
	g.mu.Unlock()
	return g.launch(ctx, r, a, l)
}

// Remove takes the named adapter out of the group, cancels it, and waits
// for its Run to return. If ctx ends first, Remove returns an error that
// names the adapter and matches ctx.Err(); the adapter is out of the group
// regardless, and [Group.Shutdown] still waits for it.
func (g *Group[T]) Remove(ctx context.Context, name string) error {
	g.mu.Lock()
	m, ok := g.adapters[name]
	if !ok {
		g.mu.Unlock()
		return fmt.Errorf("%w: %q", ErrNoAdapter, name)
	}
	l := m.cur
	delete(g.adapters, name)
	g.mu.Unlock()
	return g.stop(ctx, name, l)
}

// stop cancels launch l of the named adapter and waits, bounded by ctx, for
// it to end. A nil l was never launched.
func (g *Group[T]) stop(ctx context.Context, name string, l *launch) error {
	if l == nil {
		return nil
	}
	g.mu.Lock()
	cancel := l.cancel
	g.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	select {
	case <-l.done:
		return nil
	case <-ctx.Done():
		return &NotReturnedError{Names: []string{name}, Err: ctx.Err()}
	}
}

// Replace puts a in the place of the adapter of the same name. If the group
// is running, a is started first, and the old adapter is canceled only once
// a runs: its [Starter.Start], if any, has succeeded and its Run has been
// launched in its own goroutine. If a fails to start, Replace returns its
// error and the old adapter goes on serving. Replace then waits, bounded by
// ctx, for the old adapter to return; if ctx ends first it returns an error
// that names it and matches ctx.Err(), and a serves regardless. Replace
// returns [ErrNoAdapter] if no adapter has the name, or if another call
// removed or replaced it while a was starting (a is then stopped again).
func (g *Group[T]) Replace(ctx context.Context, a Adapter[T]) error {
	name := a.Name()
	m := &member[T]{adapter: a, name: name}
	g.mu.Lock()
	old, ok := g.adapters[name]
	if !ok {
		g.mu.Unlock()
		return fmt.Errorf("%w: %q", ErrNoAdapter, name)
	}
	r := g.run
	if r == nil {
		g.adapters[name] = m
		g.mu.Unlock()
		return nil
	}
	l := g.begin(r, m)
	g.mu.Unlock()

	if err := g.launch(ctx, r, a, l); err != nil {
		return err
	}

	g.mu.Lock()
	if g.adapters[name] != old {
		g.mu.Unlock()
		err := g.stop(ctx, name, l)
		return errors.Join(fmt.Errorf("%w: %q changed during Replace", ErrNoAdapter, name), err)
	}
	g.adapters[name] = m
	oldLaunch := old.cur
	g.mu.Unlock()
	return g.stop(ctx, name, oldLaunch)
}

// Shutdown stops the group: it cancels every adapter's context, shuts the
// channel down so that every blocked send returns [ErrClosed], and waits for
// every adapter the run started (removed and replaced ones included) to
// return. The stream is closed once the last send in flight has returned,
// as [Channel.Shutdown] describes.
//
// If ctx ends first, Shutdown returns a [*NotReturnedError] that names
// every adapter still running and matches ctx.Err(). Shutdown returns nil
// if the group is not running. After Shutdown the adapters stay in the
// group, and [Group.Start] runs them again.
func (g *Group[T]) Shutdown(ctx context.Context) error {
	g.mu.Lock()
	r := g.run
	if r == nil {
		g.mu.Unlock()
		return nil
	}
	g.run = nil
	r.cancel()
	// Stopping the channel under g.mu orders it before any later Start;
	// stop never blocks.
	r.sender.stop()
	waiting := make(map[*launch]string, len(r.launched))
	for l, name := range r.launched {
		waiting[l] = name
	}
	g.mu.Unlock()

	var late []string
	for l, name := range waiting {
		select {
		case <-l.done:
			continue
		case <-ctx.Done():
		}
		select {
		case <-l.done:
		default:
			late = append(late, name)
		}
	}
	if late != nil {
		slices.Sort(late)
		return &NotReturnedError{Names: late, Err: ctx.Err()}
	}
	select {
	case <-r.sender.drained:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Sender returns a handle bound to the group's current run, for sending
// into the stream from outside any adapter (an injection queue for
// background tasks). It returns [ErrNotStarted] before the first Start and
// [ErrClosed] while the group is shut down.
func (g *Group[T]) Sender() (*Sender[T], error) {
	return g.ch.Sender()
}

// Status reports every adapter in the group, sorted by name.
func (g *Group[T]) Status() []AdapterStatus {
	g.mu.Lock()
	out := make([]AdapterStatus, 0, len(g.adapters))
	for name, m := range g.adapters {
		st := AdapterStatus{Name: name, State: Idle}
		if m.cur != nil {
			st.State, st.Err = m.cur.state, m.cur.err
		}
		out = append(out, st)
	}
	g.mu.Unlock()
	slices.SortFunc(out, func(a, b AdapterStatus) int { return cmp.Compare(a.Name, b.Name) })
	return out
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
