package fanin_test

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/fanin-go/fanin"
)

// startRun is an adapter with a Starter, both as functions.
type startRun struct {
	name  string
	start func(ctx context.Context) error
	run   func(ctx context.Context, s fanin.Sink[int]) error
}

func (a *startRun) Name() string                    { return a.name }
func (a *startRun) Start(ctx context.Context) error { return a.start(ctx) }
func (a *startRun) Run(ctx context.Context, s fanin.Sink[int]) error {
	if a.run == nil {
		<-ctx.Done()
		return nil
	}
	return a.run(ctx, s)
}

// waitCtx is a Run that serves until its context ends.
func waitCtx(ctx context.Context, _ fanin.Sink[int]) error {
	<-ctx.Done()
	return nil
}

// runCounter counts calls of Run per adapter identity.
type runCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *runCounter) adapter(name, id string) fanin.Adapter[int] {
	return fanin.AdapterFunc(name, func(ctx context.Context, s fanin.Sink[int]) error {
		c.mu.Lock()
		if c.n == nil {
			c.n = map[string]int{}
		}
		c.n[id]++
		c.mu.Unlock()
		<-ctx.Done()
		return nil
	})
}

func (c *runCounter) get(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[id]
}

func (c *runCounter) inc(id string) {
	c.mu.Lock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[id]++
	c.mu.Unlock()
}

// reentrantHandler is a slog.Handler that calls back into its group.
type reentrantHandler struct {
	g     *fanin.Group[int]
	calls atomic.Int32
	once  sync.Once
}

func (h *reentrantHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *reentrantHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *reentrantHandler) WithGroup(string) slog.Handler            { return h }
func (h *reentrantHandler) Handle(_ context.Context, r slog.Record) error {
	h.calls.Add(1)
	h.g.Stats()
	var adapter, event string
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "adapter":
			adapter = a.Value.String()
		case "event":
			event = a.Value.String()
		}
		return true
	})
	ctx := context.Background()
	switch {
	case adapter == "flaky" && event == "restarting":
		h.once.Do(func() { h.g.Remove(ctx, "victim") })
	case adapter == "flaky" && event == "gave up":
		h.g.Replace(ctx, fanin.AdapterFunc("flaky", waitCtx))
	}
	return nil
}

func newLogger(h slog.Handler) *slog.Logger { return slog.New(h) }

// nameCallsBack is an adapter whose Name calls back into the group.
type nameCallsBack struct {
	g    *fanin.Group[int]
	name string
}

func (a *nameCallsBack) Name() string {
	a.g.Stats()
	return a.name
}

func (a *nameCallsBack) Run(ctx context.Context, s fanin.Sink[int]) error {
	a.g.Stats()
	<-ctx.Done()
	return nil
}
