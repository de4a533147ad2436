package fanin

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// An EventKind says what happened to an adapter of a [Group]: one of
// EventStarted, EventExited, EventFailed, EventPanicked, EventRestarting,
// EventDegraded, EventGaveUp, EventStopped, EventReplaced, EventRemoved and
// EventReplaceFailed.
type EventKind int

const (
	EventStarted       EventKind = iota // its Start succeeded (or it has none) and Run is being called
	EventExited                         // its Run returned nil by itself
	EventFailed                         // its Start or Run returned an error
	EventPanicked                       // its Start or Run panicked; Err is a *PanicError
	EventRestarting                     // it will be started again after Delay; Attempt counts restarts in the window
	EventGaveUp                         // it exceeded its restart intensity: it stays Failed, and its *AdapterError ends the run
	EventStopped                        // it returned after the group stopped it
	EventReplaced                       // Replace installed a new adapter under its name
	EventRemoved                        // Remove took it out of the group
	EventDegraded                       // it exceeded its restart intensity and, kept trying (WithKeepTrying), restarts at its maximum backoff
	EventReplaceFailed                  // the adapter a Replace was starting failed to start; Err says why, and the one it would have replaced serves on
)

var eventNames = [...]string{"started", "exited", "failed", "panicked", "restarting", "gave up", "stopped", "replaced", "removed", "degraded", "replace failed"}

func (k EventKind) String() string {
	if k >= 0 && int(k) < len(eventNames) {
		return eventNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// An AdapterEvent is one step in the life of an adapter of a [Group],
// delivered on Group.Events and logged to Group.Logger. The events of one
// name arrive in the order its state changed, whichever goroutine caused
// them, across Remove and Add of the name and across runs; events of
// different names are not ordered with each other.
type AdapterEvent struct {
	Time    time.Time
	Adapter string // its name
	Kind    EventKind
	Err     error         // for Failed, Panicked, Restarting, Degraded, GaveUp and ReplaceFailed: the error; for Stopped: what Run returned, if anything
	Attempt int           // for Restarting: this restart's number within the intensity window; for GaveUp and Degraded: the number of the restart over the limit
	Delay   time.Duration // for Restarting: the backoff before the restart
}

// An eventQueue holds the events of one name that wait to be delivered, in
// the order they were recorded. The queue belongs to the name, not to the
// member, so that the events of an adapter that was removed and the one
// added under its name after it keep their order.
type eventQueue struct {
	events   []AdapterEvent
	emitting bool // some goroutine is delivering them (see flush)
}

// eventLocked records event e of the adapter named name, to be delivered
// by flush in the order the events were recorded. Recording under g.mu,
// where the state changes, is what keeps the events of one name in order
// although different goroutines cause them. It requires that g.mu is held.
func (g *Group[T]) eventLocked(name string, e AdapterEvent) {
	if g.Events == nil && g.Logger == nil {
		return
	}
	e.Time = time.Now()
	e.Adapter = name
	q := g.queues[name]
	if q == nil {
		if g.queues == nil {
			g.queues = map[string]*eventQueue{}
		}
		q = &eventQueue{}
		g.queues[name] = q
	}
	q.events = append(q.events, e)
}

// flush delivers the recorded events of name, unless another goroutine is
// doing so already, in which case that one delivers these too. It is called
// with no lock held, since delivering calls code that is not the group's;
// it takes g.mu only between events.
func (g *Group[T]) flush(name string) {
	g.mu.Lock()
	q := g.queues[name]
	if q == nil || q.emitting {
		g.mu.Unlock()
		return
	}
	q.emitting = true
	for len(q.events) > 0 {
		batch := q.events
		q.events = nil
		g.mu.Unlock()
		for _, e := range batch {
			g.deliver(e)
		}
		g.mu.Lock()
	}
	// An empty queue that nobody delivers from is dropped, so that names
	// that come and go leave nothing behind.
	delete(g.queues, name)
	g.mu.Unlock()
}

// deliver offers e to Events without waiting, and logs it.
func (g *Group[T]) deliver(e AdapterEvent) {
	if g.Events != nil {
		select {
		case g.Events <- e:
		default:
			g.dropped.Add(1)
		}
	}
	if g.Logger == nil {
		return
	}
	level := slog.LevelInfo
	switch e.Kind {
	case EventFailed, EventPanicked, EventRestarting, EventDegraded, EventReplaceFailed:
		level = slog.LevelWarn
	case EventGaveUp:
		level = slog.LevelError
	}
	attrs := []slog.Attr{slog.String("adapter", e.Adapter), slog.String("event", e.Kind.String())}
	if e.Err != nil {
		attrs = append(attrs, slog.Any("err", e.Err))
		if pe, ok := e.Err.(*PanicError); ok {
			attrs = append(attrs, slog.String("stack", string(pe.Stack)))
		}
	}
	if e.Kind == EventRestarting || e.Kind == EventGaveUp || e.Kind == EventDegraded {
		attrs = append(attrs, slog.Int("attempt", e.Attempt))
	}
	if e.Kind == EventRestarting {
		attrs = append(attrs, slog.Duration("delay", e.Delay))
	}
	g.Logger.LogAttrs(context.Background(), level, "fanin: adapter "+e.Kind.String(), attrs...)
}
