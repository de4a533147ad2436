package fanin_test

import (
	"context"
	"sync"

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
