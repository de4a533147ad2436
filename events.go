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
// adapter arrive in the order they happened; events of different adapters
// are not ordered with each other.
type AdapterEvent struct {
	Time    time.Time
	Adapter string // its name
	Kind    EventKind
	Err     error         // for Failed, Panicked, Restarting and GaveUp: the error; for Stopped: what Run returned, if anything
	Attempt int           // for Restarting and GaveUp: restarts within the intensity window, this one included
	Delay   time.Duration // for Restarting: the backoff before the restart
}

// emit reports a step of launch l. It is called with no lock held.
func (g *Group[T]) emit(l *launch[T], kind EventKind, err error) {
	g.emitEvent(AdapterEvent{Adapter: l.m.name, Kind: kind, Err: err})
}

// emitEvent logs e and offers it to Events without waiting. It is called
// with no lock held, since both call code that is not the group's.
func (g *Group[T]) emitEvent(e AdapterEvent) {
	e.Time = time.Now()
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
