// Command agent runs three adapters that fan into one consumer loop, the
// shape of an AI agent that talks to the world through several channels:
//
//   - ticker sends a heartbeat every 100ms;
//   - batch emits 4 messages every 250ms, like a plugin callback, through a
//     rate limiter of 10 a second (bursts of 5); it stops at the limit and
//     retries exactly the rest next time, so nothing is duplicated; what is
//     still unsent at shutdown counts as refused;
//   - client asks a question every 50ms and waits up to 200ms for the
//     agent's reply, answering "busy" itself when the buffer is full.
//
// After a few seconds the group shuts down and the program prints, per
// adapter, how many messages were accepted, refused and replied to, checks
// that the agent received exactly the accepted messages, and that no
// goroutine is left.
//
//	go run ./examples/agent
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
	"sync/atomic"
	"time"

	"github.com/fanin-go/fanin"
)

// Message is what every adapter sends to the agent.
type Message struct {
	From  string
	Text  string
	Reply fanin.Reply[string] // wanted when the sender waits for a reply
}

// counts are one adapter's tallies.
type counts struct {
	accepted, refused, replied, timedOut atomic.Int64
}

func main() {
	runFor := flag.Duration("for", 3*time.Second, "how long to run before shutting down")
	think := flag.Duration("think", 4*time.Millisecond, "time the agent spends on each message")
	flag.Parse()
	if *runFor <= 0 || *think < 0 {
		fmt.Fprintln(os.Stderr, "agent: -for must be positive and -think not negative")
		os.Exit(2)
	}
	os.Exit(run(*runFor, *think))
}

func run(runFor, think time.Duration) int {
	baseline := runtime.NumGoroutine()
	tally := map[string]*counts{"ticker": {}, "batch": {}, "client": {}}
	pending := fanin.NewPending[string](100)

	var g fanin.Group[Message]
	must(g.Add(context.Background(), fanin.AdapterFunc("ticker", ticker(tally["ticker"]))))
	must(g.Add(context.Background(), fanin.AdapterFunc("batch", batch(tally["batch"]))))
	must(g.Add(context.Background(), fanin.AdapterFunc("client", client(tally["client"], pending))))

	stream, err := g.Start(context.Background())
	if err != nil {
		fmt.Println("start:", err)
		return 1
	}

	// The agent loop: one message at a time, replying where asked.
	received := map[string]int{}
	agentDone := make(chan struct{})
	go func() {
		defer close(agentDone)
		for m := range stream.All() {
			received[m.From]++
			time.Sleep(think)
			m.Reply.Resolve("answer to " + m.Text)
		}
	}()

	time.Sleep(runFor)
	for _, st := range g.Stats().Adapters {
		fmt.Printf("%-7s %v\n", st.Name, st.State)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := g.Shutdown(ctx); err != nil {
		fmt.Println("shutdown:", err)
		return 1
	}
	took := time.Since(start)
	<-agentDone
	pending.Close()
	fmt.Printf("shut down in %v\n\n", took.Round(time.Microsecond))

	ok := true
	names := make([]string, 0, len(tally))
	for name := range tally {
		names = append(names, name)
	}
	sort.Strings(names)
	fmt.Printf("%-7s %9s %8s %8s %9s %9s\n", "adapter", "accepted", "refused", "replied", "timed out", "received")
	for _, name := range names {
		c := tally[name]
		fmt.Printf("%-7s %9d %8d %8d %9d %9d\n", name, c.accepted.Load(), c.refused.Load(),
			c.replied.Load(), c.timedOut.Load(), received[name])
		if int64(received[name]) != c.accepted.Load() {
			ok = false
		}
	}
	fmt.Printf("\nreceived == accepted for every adapter: %v\n", ok)
	fmt.Printf("pending replies left: %d\n", pending.Len())

	left := runtime.NumGoroutine() - baseline
	for deadline := time.Now().Add(time.Second); left > 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
		left = runtime.NumGoroutine() - baseline
	}
	fmt.Printf("goroutines left: %d\n", left)
	if !ok || left > 0 || pending.Len() != 0 {
		return 1
	}
	return 0
}

func ticker(c *counts) func(context.Context, fanin.Sink[Message]) error {
	return func(ctx context.Context, s fanin.Sink[Message]) error {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for n := 1; ; n++ {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
			if err := s.Send(ctx, Message{From: "ticker", Text: fmt.Sprint("tick ", n)}); err != nil {
				c.refused.Add(1)
				continue
			}
			c.accepted.Add(1)
		}
	}
}

func batch(c *counts) func(context.Context, fanin.Sink[Message]) error {
	return func(ctx context.Context, s fanin.Sink[Message]) error {
		lim := fanin.NewLimiter(fanin.Band{Events: 10, Interval: time.Second, Burst: 5})
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		var backlog []Message
		for n := 0; ; {
			select {
			case <-ctx.Done():
				c.refused.Add(int64(len(backlog)))
				return nil
			case <-t.C:
			}
			for range 4 {
				n++
				backlog = append(backlog, Message{From: "batch", Text: fmt.Sprint("event ", n)})
			}
			// Stopped by the limit or by shutdown, SendBatch says how many
			// went out: exactly the rest is retried next time.
			sent, _ := fanin.SendBatch(ctx, s, lim, backlog, fanin.RefuseOverLimit)
			c.accepted.Add(int64(sent))
			backlog = backlog[sent:]
		}
	}
}

func client(c *counts, pending *fanin.Pending[string]) func(context.Context, fanin.Sink[Message]) error {
	return func(ctx context.Context, s fanin.Sink[Message]) error {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for n := 1; ; n++ {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
			wait, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
			_, err := pending.Request(wait, func(r fanin.Reply[string]) error {
				err := s.TrySend(Message{From: "client", Text: fmt.Sprint("question ", n), Reply: r})
				if err == nil {
					c.accepted.Add(1)
				}
				return err
			})
			cancel()
			switch {
			case err == nil:
				c.replied.Add(1)
			case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
				c.timedOut.Add(1)
			default: // busy (ErrFull) or shut down: the client is told at once
				c.refused.Add(1)
			}
		}
	}
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}
