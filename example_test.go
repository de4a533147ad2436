package fanin_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/fanin-go/fanin"
)

// A consumer reads the stream until Shutdown closes it; producers send.
func ExampleChannel_Send() {
	c := fanin.New[string](8)
	stream, err := c.Start()
	if err != nil {
		panic(err)
	}

	var done sync.WaitGroup
	done.Go(func() {
		for msg := range stream {
			fmt.Println("agent got:", msg)
		}
		fmt.Println("stream closed")
	})

	ctx := context.Background()
	for _, msg := range []string{"hello", "from", "the webhook"} {
		if err := c.Send(ctx, msg); err != nil {
			fmt.Println("send failed:", err)
		}
	}
	if err := c.Shutdown(ctx); err != nil {
		panic(err)
	}
	done.Wait()

	// After Shutdown, sends are refused; nothing refused is ever delivered.
	fmt.Println(c.Send(ctx, "too late"))
	// Output:
	// agent got: hello
	// agent got: from
	// agent got: the webhook
	// stream closed
	// fanin: channel closed
}

// An adapter takes a Sender for the run and stops when the run ends.
func ExampleChannel_Sender() {
	var c fanin.Channel[int] // the zero Channel buffers DefaultCapacity values
	stream, _ := c.Start()

	s, err := c.Sender()
	if err != nil {
		panic(err)
	}
	var adapter sync.WaitGroup
	adapter.Go(func() {
		for i := 0; ; i++ {
			if err := s.Send(context.Background(), i); err != nil {
				fmt.Println("adapter stops:", err)
				return
			}
			if i == 2 {
				<-s.Done() // wait, as an idle adapter would, for the end of the run
			}
		}
	})

	fmt.Println(<-stream, <-stream, <-stream)
	c.Shutdown(context.Background())
	adapter.Wait()

	// A restart begins a new run; the old Sender never delivers into it.
	c.Start()
	fmt.Println("old sender:", s.TrySend(99))
	fmt.Println("new run buffered:", c.Len())
	c.Shutdown(context.Background())
	// Output:
	// 0 1 2
	// adapter stops: fanin: channel closed
	// old sender: fanin: channel closed
	// new run buffered: 0
}

// An adapter that must answer at once, such as an HTTP handler, uses
// TrySend and turns a full buffer into a "busy" reply instead of hanging.
func ExampleSender_TrySend() {
	c := fanin.New[string](2) // a consumer that has fallen behind
	c.Start()
	s, _ := c.Sender()

	handle := func(body string) string {
		switch err := s.TrySend(body); {
		case err == nil:
			return "202 accepted"
		case errors.Is(err, fanin.ErrFull):
			return "503 busy, retry later"
		default:
			return "503 " + err.Error()
		}
	}

	for _, body := range []string{"a", "b", "c"} {
		fmt.Println(body, "->", handle(body))
	}
	c.Shutdown(context.Background())
	fmt.Println("d ->", handle("d"))
	// Output:
	// a -> 202 accepted
	// b -> 202 accepted
	// c -> 503 busy, retry later
	// d -> 503 fanin: channel closed
}

// Shutdown wakes a sender blocked on a full buffer, with nobody reading.
func ExampleChannel_Shutdown() {
	c := fanin.New[int](1)
	stream, _ := c.Start()
	c.Send(context.Background(), 1) // the buffer is now full

	blocked := make(chan error)
	go func() { blocked <- c.Send(context.Background(), 2) }()

	if err := c.Shutdown(context.Background()); err != nil {
		panic(err)
	}
	fmt.Println("blocked sender:", <-blocked)
	for v := range stream {
		fmt.Println("still delivered:", v)
	}
	// Output:
	// blocked sender: fanin: channel closed
	// still delivered: 1
}

// A plugin callback returns a batch of messages. SendBatch takes one token
// right before each, and on hitting the limit reports exactly how many went
// out, so the caller can retry the rest later without duplicates.
func ExampleSendBatch() {
	c := fanin.New[string](16)
	stream, _ := c.Start()
	s, _ := c.Sender()

	// At most 3 at once, then one a minute.
	lim := fanin.NewLimiter(fanin.Band{Events: 1, Interval: time.Minute, Burst: 3})
	batch := []string{"a", "b", "c", "d", "e"}

	n, err := fanin.SendBatch(context.Background(), s, lim, batch, fanin.RefuseOverLimit)
	fmt.Println("sent", batch[:n], "stopped by:", err)
	fmt.Println("retry later:", batch[n:])

	c.Shutdown(context.Background())
	for msg := range stream {
		fmt.Print(msg, " ")
	}
	fmt.Println()
	// Output:
	// sent [a b c] stopped by: fanin: rate limited
	// retry later: [d e]
	// a b c
}

// An HTTP handler limits each caller separately, in bounded memory, and
// answers over-limit callers with 429 and a Retry-After.
func ExampleKeyedLimiter() {
	perCaller := fanin.NewKeyedLimiter[string](10_000,
		fanin.Band{Events: 2, Interval: time.Minute, Burst: 2})

	handle := func(caller string) string {
		retry, err := perCaller.Take(caller)
		if err != nil {
			return fmt.Sprintf("429 (retry after %v)", retry.Round(time.Second))
		}
		return "200"
	}
	for _, caller := range []string{"alice", "alice", "alice", "bob"} {
		fmt.Println(caller, handle(caller))
	}
	// Output:
	// alice 200
	// alice 200
	// alice 429 (retry after 30s)
	// bob 200
}

// A group runs several adapters into one stream, and replaces one by name
// without a gap: the new adapter starts before the old one stops.
func ExampleGroup() {
	var g fanin.Group[string]
	greeter := func(greeting string) func(context.Context, fanin.Sink[string]) error {
		return func(ctx context.Context, s fanin.Sink[string]) error {
			if err := s.Send(ctx, greeting); err != nil {
				return err
			}
			<-ctx.Done() // serve until the group stops this adapter
			return nil
		}
	}
	ctx := context.Background()
	g.Add(ctx, fanin.AdapterFunc("webhook", greeter("hello from the webhook")))
	stream, err := g.Start(ctx)
	if err != nil {
		panic(err)
	}
	msg, _ := stream.Recv(ctx)
	fmt.Println(msg)

	g.Replace(ctx, fanin.AdapterFunc("webhook", greeter("hello from webhook v2")))
	msg, _ = stream.Recv(ctx)
	fmt.Println(msg)
	for _, a := range g.Stats().Adapters {
		fmt.Println(a.Name, a.State)
	}

	if err := g.Shutdown(ctx); err != nil {
		panic(err)
	}
	_, err = stream.Recv(ctx)
	fmt.Println("after Shutdown:", err)
	for _, a := range g.Stats().Adapters {
		fmt.Println(a.Name, a.State, a.Accepted)
	}
	// Output:
	// hello from the webhook
	// hello from webhook v2
	// webhook running
	// after Shutdown: fanin: channel closed
	// webhook stopped 2
}

// A caller sends a question carrying a Reply handle and waits for the
// consumer's answer. Every way out of Request releases the request's slot,
// so failures cannot use them up.
func ExamplePending() {
	type question struct {
		reply fanin.Reply[string]
		text  string
	}
	c := fanin.New[question](8)
	stream, _ := c.Start()
	answers := fanin.NewPending[string](100)

	go func() { // the agent loop
		for q := range stream {
			q.reply.Resolve("42")
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	reply, err := answers.Request(ctx, func(r fanin.Reply[string]) error {
		return c.TrySend(question{r, "what is the answer?"})
	})
	fmt.Println(reply, err)

	c.Shutdown(context.Background())
	_, err = answers.Request(ctx, func(r fanin.Reply[string]) error {
		return c.TrySend(question{r, "anyone there?"})
	})
	fmt.Println(err, "- waiting:", answers.Len())
	// Output:
	// 42 <nil>
	// fanin: channel closed - waiting: 0
}

// Stats are plain values; exporting them takes no metrics library. Here
// they are written in the Prometheus text exposition format, which a
// Prometheus server scrapes as it is (serve it from an http.HandlerFunc).
func ExampleGroup_Stats() {
	var g fanin.Group[string]
	g.Add(context.Background(), fanin.AdapterFunc("webhook", func(ctx context.Context, s fanin.Sink[string]) error {
		for _, m := range []string{"a", "b", "c"} {
			s.Send(ctx, m)
		}
		<-ctx.Done()
		return nil
	}), fanin.WithLane(2, 1))
	stream, _ := g.Start(context.Background())
	for range 3 {
		stream.Recv(context.Background())
	}
	g.Shutdown(context.Background())

	w := os.Stdout
	st := g.Stats()
	fmt.Fprintln(w, "# TYPE fanin_accepted_total counter")
	for _, a := range st.Adapters {
		fmt.Fprintf(w, "fanin_accepted_total{adapter=%q} %d\n", a.Name, a.Accepted)
	}
	fmt.Fprintln(w, "# TYPE fanin_refused_total counter")
	for _, a := range st.Adapters {
		for reason, n := range map[string]uint64{"closed": a.Closed, "full": a.Full} {
			fmt.Fprintf(w, "fanin_refused_total{adapter=%q,reason=%q} %d\n", a.Name, reason, n)
		}
	}
	fmt.Fprintln(w, "# TYPE fanin_restarts_total counter")
	for _, a := range st.Adapters {
		fmt.Fprintf(w, "fanin_restarts_total{adapter=%q} %d\n", a.Name, a.Restarts)
	}
	fmt.Fprintln(w, "# TYPE fanin_buffered gauge")
	fmt.Fprintf(w, "fanin_buffered %d\n", st.Len)
	// Unordered output:
	// # TYPE fanin_accepted_total counter
	// fanin_accepted_total{adapter="webhook"} 3
	// # TYPE fanin_refused_total counter
	// fanin_refused_total{adapter="webhook",reason="closed"} 0
	// fanin_refused_total{adapter="webhook",reason="full"} 0
	// # TYPE fanin_restarts_total counter
	// fanin_restarts_total{adapter="webhook"} 0
	// # TYPE fanin_buffered gauge
	// fanin_buffered 0
}

// Run is the main loop of an agent: it starts the group, hands every
// message to the handler, and, once ctx ends, shuts down and lets the
// handler finish what was accepted.
func ExampleGroup_Run() {
	var g fanin.Group[string]
	g.Add(context.Background(), fanin.AdapterFunc("greeter", func(ctx context.Context, s fanin.Sink[string]) error {
		for _, m := range []string{"hello", "from", "the greeter"} {
			if err := s.Send(ctx, m); err != nil {
				return err
			}
		}
		<-ctx.Done()
		return nil
	}))
	ctx, cancel := context.WithCancel(context.Background()) // signal.NotifyContext in a real program
	handled := 0
	err := g.Run(ctx, func(m string) error {
		fmt.Println("agent:", m)
		if handled++; handled == 3 {
			cancel() // as Ctrl-C would
		}
		return nil
	})
	fmt.Println("Run returned", err)
	// Output:
	// agent: hello
	// agent: from
	// agent: the greeter
	// Run returned <nil>
}

// An adapter written for its own message type joins a group of the
// program's type through Map; a reply handle travels in the converted value.
func ExampleMap() {
	type Event struct {
		Text  string
		Reply fanin.Reply[string]
	}
	type chatMessage struct {
		User, Body string
		Reply      fanin.Reply[string]
	}
	answers := fanin.NewPending[string](10)
	chat := fanin.AdapterFunc("chat", func(ctx context.Context, s fanin.Sink[chatMessage]) error {
		answer, err := answers.Request(ctx, func(r fanin.Reply[string]) error {
			return s.Send(ctx, chatMessage{User: "ana", Body: "ping", Reply: r})
		})
		fmt.Println("chat got:", answer, err)
		<-ctx.Done()
		return nil
	})

	var g fanin.Group[Event]
	g.Add(context.Background(), fanin.Map(chat, func(m chatMessage) Event {
		return Event{Text: m.User + ": " + m.Body, Reply: m.Reply}
	}))
	stream, _ := g.Start(context.Background())
	e, _ := stream.Recv(context.Background())
	fmt.Println("agent got:", e.Text)
	e.Reply.Resolve("pong")
	g.Shutdown(context.Background())
	// Output:
	// agent got: ana: ping
	// chat got: pong <nil>
}

func ExamplePendingStreams() {
	type question struct {
		reply fanin.StreamReply[string]
		text  string
	}
	c := fanin.New[question](8)
	stream, _ := c.Start()
	answers := fanin.NewPendingStreams[string](100, 16) // 16 chunks of slack per answer

	go func() { // the agent loop; a real one hands each answer to a goroutine
		for q := range stream {
			for _, w := range []string{"forty", "-", "two"} {
				if q.reply.Send(w) != nil {
					break // the requester left or fell behind
				}
			}
			q.reply.End()
		}
	}()

	rd, err := answers.Open(func(r fanin.StreamReply[string]) error {
		return c.TrySend(question{r, "what is the answer?"})
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for {
		chunk, err := rd.Next(context.Background())
		if err == io.EOF {
			fmt.Println("(end)")
			break
		}
		if err != nil {
			fmt.Println("cut:", err)
			break
		}
		fmt.Println(chunk)
	}
	c.Shutdown(context.Background())
	fmt.Println("open:", answers.Len())
	// Output:
	// forty
	// -
	// two
	// (end)
	// open: 0
}
