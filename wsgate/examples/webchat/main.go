// Command webchat is a web chat with an agent that streams its answers word
// by word: open the address it prints, type, and watch the answer arrive.
// The agent also pushes a notice to every open page every 30 seconds.
//
//	go run ./examples/webchat              # serves http://127.0.0.1:8080/
//	go run ./examples/webchat -selftest    # one exchange through the gateway, then exit
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/coder/websocket"
	"github.com/fanin-go/fanin"
	"github.com/fanin-go/fanin/wsgate"
)

// Event is what the agent handles: here only chat messages, but a real
// agent would merge webhooks, timers and plugins into the same type.
type Event struct {
	From  wsgate.ConnID
	Text  string
	Reply fanin.StreamReply[string]
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to serve on")
	pace := flag.Duration("pace", 120*time.Millisecond, "time the agent takes per word")
	selftest := flag.Bool("selftest", false, "send one message through the gateway, check the streamed answer, and exit")
	flag.Parse()
	if *selftest {
		*addr = "127.0.0.1:0"
		*pace = time.Millisecond
	}
	if err := run(*addr, *pace, *selftest); err != nil {
		log.Fatal(err)
	}
}

func run(addr string, pace time.Duration, selftest bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	gw := wsgate.New(wsgate.Config{
		Addr:      addr,
		RateLimit: []fanin.Band{{Events: 30, Interval: time.Minute, Burst: 10}},
	})
	var g fanin.Group[Event]
	toEvent := func(m wsgate.Message) Event { return Event{From: m.Conn, Text: m.Text, Reply: m.Reply} }
	if err := g.Add(ctx, fanin.Map(gw, toEvent), fanin.WithFailFast()); err != nil {
		return err
	}

	var answers sync.WaitGroup
	defer answers.Wait()
	ran := make(chan error, 1)
	go func() {
		// The consumer never streams itself: it hands each answer to a
		// goroutine, so one long answer holds up no other message.
		ran <- g.Run(ctx, func(e Event) error {
			answers.Go(func() { answer(e, pace) })
			return nil
		})
	}()
	for gw.Addr() == nil {
		select {
		case err := <-ran:
			return err
		case <-time.After(10 * time.Millisecond):
		}
	}
	url := "http://" + gw.Addr().String() + "/"
	log.Printf("webchat: open %s", url)

	if selftest {
		err := check("ws://" + gw.Addr().String() + "/ws")
		stop()
		if err2 := <-ran; err == nil {
			err = err2
		}
		if err == nil {
			log.Print("webchat: selftest passed: the answer streamed word by word and ended")
		}
		return err
	}

	notices := time.NewTicker(30 * time.Second)
	defer notices.Stop()
	for {
		select {
		case err := <-ran:
			return err
		case t := <-notices.C:
			n := gw.Broadcast("The agent is still here, at " + t.Format("15:04:05") + ".")
			log.Printf("webchat: notice pushed to %d pages; %+v", n, gw.Stats())
		}
	}
}

// answer streams a reply word by word, as a model produces it, and stops
// as soon as nobody listens.
func answer(e Event, pace time.Duration) {
	words := strings.Fields(fmt.Sprintf("You said %q. An agent built on fanin answers you word by word, and no slow page can make it wait.", e.Text))
	for _, w := range words {
		time.Sleep(pace) // the model thinking
		if err := e.Reply.Send(w + " "); err != nil {
			return // the page left or fell behind; the gateway has told it
		}
	}
	e.Reply.End()
}

// check is the selftest: a client that sends one message and reads the
// streamed answer to its end.
func check(url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		return err
	}
	defer c.CloseNow()
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"id":"1","text":"hello"}`)); err != nil {
		return err
	}
	var text strings.Builder
	chunks := 0
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			return err
		}
		var f struct{ Type, ID, Text, Error string }
		if err := json.Unmarshal(b, &f); err != nil {
			return err
		}
		switch f.Type {
		case "accepted":
		case "chunk":
			chunks++
			text.WriteString(f.Text)
		case "end":
			if chunks < 2 || !strings.Contains(text.String(), `"hello"`) {
				return fmt.Errorf("selftest: the answer came in %d chunks: %q", chunks, text.String())
			}
			log.Printf("webchat: %d chunks: %s", chunks, strings.TrimSpace(text.String()))
			return c.Close(websocket.StatusNormalClosure, "")
		default:
			return errors.New("selftest: unexpected frame " + string(b))
		}
	}
}
