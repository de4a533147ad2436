package wsgate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/fanin-go/fanin"
)

// TestShutdownEndsStreamsAndSaysGoingAway: a reply in progress when the
// run ends gets its grace, then an error "going_away" after the chunks
// already sent, and the connection a close 1001; the agent learns that the
// answer was not received, and Run returns within its bound.
func TestShutdownEndsStreamsAndSaysGoingAway(t *testing.T) {
	const grace = 200 * time.Millisecond
	handed := make(chan fanin.StreamReply[string], 1)
	s := serve(t, Config{ShutdownGrace: grace}, func(m Message) {
		m.Reply.Send("first ")
		handed <- m.Reply // the agent is still thinking
	})
	c := dial(t, s.url, nil)
	defer c.CloseNow()
	send(t, c, "q", "hello")
	r := <-handed

	frames := make(chan frame, 10)
	closed := make(chan websocket.StatusCode, 1)
	go func() {
		for {
			f, err := next(c)
			if err != nil {
				var ce websocket.CloseError
				errors.As(err, &ce)
				closed <- ce.Code
				close(frames)
				return
			}
			frames <- f
		}
	}()
	start := time.Now()
	s.stop(t)
	took := time.Since(start)
	// The bound of Run's doc: ShutdownGrace and about one second. The
	// margin is for a loaded machine.
	if took > grace+patience {
		t.Errorf("Run took %v to return", took)
	}
	var got []frame
	for f := range frames {
		got = append(got, f)
	}
	if len(got) != 3 || got[0].Type != "accepted" || got[1].Text != "first " || got[2].Type != "error" || got[2].Error != "going_away" {
		t.Errorf("frames = %+v, want accepted, chunk, error going_away", got)
	}
	if code := <-closed; code != websocket.StatusGoingAway {
		t.Errorf("close code = %v, want 1001", code)
	}
	if err := r.Send("late"); err != fanin.ErrReplyEnded {
		t.Errorf("agent's Send after shutdown = %v, want ErrReplyEnded", err)
	}
	<-r.Done()
	if r.Received() {
		t.Error("Received = true for a reply cut by shutdown")
	}
}

// TestShutdownWaitsForRepliesWithinGrace: a reply that ends within the
// grace reaches its client whole.
func TestShutdownWaitsForRepliesWithinGrace(t *testing.T) {
	release := make(chan struct{})
	s := serve(t, Config{ShutdownGrace: time.Minute}, func(m Message) {
		m.Reply.Send("a ")
		<-release
		m.Reply.Send("b")
		m.Reply.End()
	})
	c := dial(t, s.url, nil)
	defer c.CloseNow()
	send(t, c, "q", "x")
	if f, err := next(c); err != nil || f.Type != "accepted" {
		t.Fatalf("frame %+v, %v; want accepted", f, err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { s.stop(t) })
	eventually(t, "the run is stopping", func() bool {
		s.gw.mu.Lock()
		defer s.gw.mu.Unlock()
		return s.gw.stopping
	})
	close(release)
	chunks, last := reply(t, c, "q")
	if len(chunks) != 2 || last.Type != "end" {
		t.Errorf("reply = %q then %+v, want two chunks and end", chunks, last)
	}
	if code, _ := closedWith(t, c); code != websocket.StatusGoingAway {
		t.Errorf("close code = %v, want 1001", code)
	}
	wg.Wait()
}

// TestClientLeavingMidStreamEndsTheReply: the agent's next Send is refused,
// it learns the answer was not received, and the stream's slot is freed.
func TestClientLeavingMidStreamEndsTheReply(t *testing.T) {
	handed := make(chan fanin.StreamReply[string], 1)
	s := serve(t, Config{}, func(m Message) {
		m.Reply.Send("first ")
		handed <- m.Reply
	})
	c := dial(t, s.url, nil)
	send(t, c, "q", "hello")
	r := <-handed
	c.Close(websocket.StatusGoingAway, "page reloaded")
	<-r.Done()
	if r.Received() {
		t.Error("Received = true for a client that left")
	}
	if err := r.Send("more"); err != fanin.ErrReplyEnded {
		t.Errorf("Send after the client left = %v, want ErrReplyEnded", err)
	}
	eventually(t, "no stream open", func() bool { return s.gw.pending.Load().Len() == 0 })
	eventually(t, "the connection gone", func() bool { return s.gw.Stats().Conns == 0 })
}

// TestUnansweredMessageTimesOut: a reply the agent never ends is given up
// after ReplyTimeout, and the client is told.
func TestUnansweredMessageTimesOut(t *testing.T) {
	handed := make(chan fanin.StreamReply[string], 1)
	s := serve(t, Config{ReplyTimeout: 100 * time.Millisecond}, func(m Message) { handed <- m.Reply })
	c := dial(t, s.url, nil)
	defer c.CloseNow()
	send(t, c, "q", "hello")
	r := <-handed
	if _, last := reply(t, c, "q"); last.Type != "error" || last.Error != "timeout" {
		t.Errorf("last frame %+v, want error timeout", last)
	}
	<-r.Done()
	if r.End() {
		t.Error("End after the timeout = true, want false")
	}
}

// TestTooManyInflight: a client may have MaxInflight replies open; one
// more message is refused and put nowhere.
func TestTooManyInflight(t *testing.T) {
	release := make(chan struct{})
	var delivered sync.WaitGroup
	s := serve(t, Config{MaxInflight: 2}, func(m Message) {
		delivered.Done()
		<-release
		m.Reply.End()
	})
	delivered.Add(2)
	c := dial(t, s.url, nil)
	defer c.CloseNow()
	send(t, c, "a", "x")
	send(t, c, "b", "x")
	send(t, c, "c", "x")
	delivered.Wait()
	refused := false
	for range 3 {
		f, err := next(c)
		if err != nil {
			t.Fatal(err)
		}
		if f.Type == "refused" {
			refused = f.ID == "c" && f.Error == "too_many_pending"
		}
	}
	if !refused {
		t.Error("the third message was not refused too_many_pending")
	}
	close(release)
	for range 2 {
		if f, err := next(c); err != nil || f.Type != "end" {
			t.Errorf("frame %+v, %v; want end", f, err)
		}
	}
	if st := s.gw.Stats(); st.Messages != 2 || st.Rejected != 1 {
		t.Errorf("Stats = %+v, want 2 messages, 1 rejected", st)
	}
}

// TestShutdownWithAStalledClientIsBounded: a client that never reads, its
// writer blocked on a full socket, cannot hold Run past its bound
// (ShutdownGrace and about 2 seconds), however long WriteTimeout is.
func TestShutdownWithAStalledClientIsBounded(t *testing.T) {
	s := serve(t, Config{WriteTimeout: 2 * patience, WriteBuffer: 16 << 10, ShutdownGrace: -1}, streamWords)
	nc := rawUpgrade(t, s.gw.Addr().String())
	defer nc.Close()
	eventually(t, "registered", func() bool { return s.gw.Stats().Conns == 1 })
	big := strings.Repeat("s", 64<<10)
	for range 100 { // 6.4 MB: far more than the socket buffers hold, less than the outbox
		if n := s.gw.Broadcast(big); n != 1 {
			t.Fatalf("Broadcast = %d, want 1", n)
		}
	}
	start := time.Now()
	s.stop(t)
	if took := time.Since(start); took > patience {
		t.Errorf("Run took %v with a stalled client, want about 2 s", took)
	} else {
		t.Logf("Run returned %v after its context ended", took)
	}
	if s.gw.Stats().SlowClosed != 0 {
		t.Error("the outbox overflowed: the test no longer blocks the writer on the socket")
	}
}

// TestShutdownWhileMessagesWaitForRoom: messages waiting for room in a
// full stream hold Run no longer than its bound, however long SendTimeout
// is, and each of them is refused "going_away" and never reaches the
// stream; the one message that found room was answered "accepted" and is
// there.
func TestShutdownWhileMessagesWaitForRoom(t *testing.T) {
	const clients = 5
	hold := make(chan struct{})
	got := make(chan string, clients)
	s := serveWith(t, Config{SendTimeout: 2 * patience, PongTimeout: 3 * patience, ShutdownGrace: -1}, 1, hold,
		func(m Message) { got <- m.ID })
	answers := make([]chan frame, clients) // each client's frames, until its close
	for i := range clients {
		c := dial(t, s.url, nil)
		defer c.CloseNow()
		send(t, c, fmt.Sprint("m", i), "x")
		answers[i] = make(chan frame, 8)
		go func() {
			defer close(answers[i])
			for {
				f, err := next(c)
				if err != nil {
					return
				}
				answers[i] <- f
			}
		}()
	}
	// One message in the stream, the others waiting for room in it.
	eventually(t, "every message in flight", func() bool { return s.gw.pending.Load().Len() == clients })
	s.cancel()
	s.cancel = nil
	select {
	case err := <-s.ran:
		if err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	case <-time.After(patience):
		t.Fatalf("Run did not return within %v with messages waiting for room (SendTimeout %v)", patience, 2*patience)
	}
	var accepted []string
	for i, frames := range answers {
		id := fmt.Sprint("m", i)
		for f := range frames {
			switch {
			case f.Type == "accepted":
				accepted = append(accepted, id)
			case f.Type == "refused" && f.Error != "going_away":
				t.Errorf("%s refused %q, want going_away", id, f.Error)
			}
		}
	}
	close(hold)
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := s.ch.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown = %v", err)
	}
	<-s.done
	close(got)
	var inStream []string
	for id := range got {
		inStream = append(inStream, id)
	}
	if len(accepted) != 1 || len(inStream) != 1 || accepted[0] != inStream[0] {
		t.Errorf("accepted %q, in the stream %q: want the same one message", accepted, inStream)
	}
}
