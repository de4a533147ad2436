package fanin_test

import (
	"context"
	"errors"
	"fmt"
	"sync"

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
