package fanin

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// An EventKind says what happened to an adapter of a [Group].
type EventKind int

const (
	EventStarted    EventKind = iota // its Start succeeded (or it has none) and Run is being called
	EventExited                      // its Run returned nil by itself
	EventFailed                      // its Start or Run returned an error
	EventPanicked                    // its Start or Run panicked; Err is a *PanicError
	EventRestarting                  // it will be started again after Delay; Attempt counts restarts in the window
	EventGaveUp                      // its restart intensity was exceeded: it stays Failed
	EventStopped                     // it returned after the group stopped it
	EventReplaced                    // Replace installed a new adapter under its name
	EventRemoved                     // Remove took it out of the group
)

var eventNames = [...]string{"started", "exited", "failed", "panicked", "restarting", "gave up", "stopped", "replaced", "removed"}

func (k EventKind) String() string {
	if k >= 0 && int(k) < len(eventNames) {
		return eventNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// An AdapterEvent is one step in the life of an adapter of a [Group],
// delivered on Group.Events and logged to Group.Logger. The events of one
// adapter (one name) arrive in the order its state changed, whichever
// goroutine caused them; events of different adapters are not ordered with
// each other.
type AdapterEvent struct {
	Time    time.Time
	Adapter string // its name
	Kind    EventKind
	Err     error         // for Failed, Panicked, Restarting and GaveUp: the error; for Stopped: what Run returned, if anything
	Attempt int           // for Restarting: this restart's number within the intensity window; for GaveUp: the number the refused one would have had
	Delay   time.Duration // for Restarting: the backoff before the restart
}

// eventLocked records event e of member m, to be delivered by flush in the
// order the events were recorded. Recording under g.mu, where the state
// changes, is what keeps the events of one adapter in order although
// different goroutines cause them. It requires that g.mu is held.
func (g *Group[T]) eventLocked(m *member[T], e AdapterEvent) {
	if g.Events == nil && g.Logger == nil {
		return
	}
	e.Time = time.Now()
	e.Adapter = m.name
	m.events = append(m.events, e)
}

// flush delivers m's recorded events, unless another goroutine is doing so
// already, in which case that one delivers these too. It is called with no
// lock held, since delivering calls code that is not the group's; it takes
// g.mu only between events.
func (g *Group[T]) flush(m *member[T]) {
	g.mu.Lock()
	if m.emitting {
		g.mu.Unlock()
		return
	}
	m.emitting = true
	for len(m.events) > 0 {
		batch := m.events
		m.events = nil
		g.mu.Unlock()
		for _, e := range batch {
			g.deliver(e)
		}
		g.mu.Lock()
	}
	m.emitting = false
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
	case EventFailed, EventPanicked, EventRestarting:
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
	if e.Kind == EventRestarting || e.Kind == EventGaveUp {
		attrs = append(attrs, slog.Int("attempt", e.Attempt))
	}
	if e.Kind == EventRestarting {
		attrs = append(attrs, slog.Duration("delay", e.Delay))
	}
	g.Logger.LogAttrs(context.Background(), level, "fanin: adapter "+e.Kind.String(), attrs...)
}
