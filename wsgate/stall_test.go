package wsgate

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/fanin-go/fanin"
)

// These tests try to make the agent wait through a client, each as the
// package documentation describes the client's way in; in each the agent's
// calls return at once and only the client's own connection pays.

// TestSlowReaderNeverHoldsTheAgent: a client that reads, but slowly, is
// sent a long answer. Every Send of the agent returns while the client is
// still reading, and the client is closed as too slow or told its answer
// was cut.
func TestSlowReaderNeverHoldsTheAgent(t *testing.T) {
	agentDone := make(chan int, 1)
	chunk := strings.Repeat("x", 1<<10)
	s := serve(t, Config{Outbox: 16, WriteBuffer: 16 << 10}, func(m Message) {
		sent := 0
		for range 5000 {
			if m.Reply.Send(chunk) != nil {
				break
			}
			sent++
		}
		m.Reply.End()
		agentDone <- sent
	})
	c := dial(t, s.url, nil)
	defer c.CloseNow()
	send(t, c, "q", "long")
	var read atomic.Int64
	end := make(chan string, 1)
	go func() {
		for {
			f, err := next(c)
			if err != nil {
				code, reason := websocket.CloseStatus(err), ""
				var ce websocket.CloseError
				if errors.As(err, &ce) {
					reason = ce.Reason
				}
				end <- code.String() + " " + reason
				return
			}
			if f.Type == "error" {
				end <- "error " + f.Error
				return
			}
			read.Add(1)
			time.Sleep(20 * time.Millisecond) // a slow reader: the pace is the attack
		}
	}()
	sent := <-agentDone
	if n := read.Load(); n >= int64(sent) {
		t.Errorf("the agent finished only after the client read %d of %d chunks: it waited for the client", n, sent)
	}
	got := <-end
	if got != "StatusPolicyViolation too slow: outbox full" && got != "error overflow" {
		t.Errorf("the slow client ended with %q, want closed too slow or told overflow", got)
	}
}

// TestHugeFrameIsRefusedAtTheLimit: a frame that declares 2^40 bytes is
// refused with 1009 once MaxMessageBytes of it have come, with no more
// read or buffered; one that declares it and sends nothing more is closed
// when it cannot answer a ping.
func TestHugeFrameIsRefusedAtTheLimit(t *testing.T) {
	s := serve(t, Config{MaxMessageBytes: 1024, PingInterval: 50 * time.Millisecond, PongTimeout: 200 * time.Millisecond}, streamWords)
	hdr := []byte{0x81, 0x80 | 127}
	hdr = binary.BigEndian.AppendUint64(hdr, 1<<40)
	hdr = append(hdr, 1, 2, 3, 4) // mask key

	nc := rawUpgrade(t, s.gw.Addr().String())
	defer nc.Close()
	nc.Write(append(hdr, make([]byte, 1025)...))
	nc.SetReadDeadline(time.Now().Add(patience))
	code, err := readClose(bufio.NewReader(nc))
	if err != nil || code != websocket.StatusMessageTooBig {
		t.Errorf("close = %v, %v; want 1009", code, err)
	}
	eventually(t, "counted as bad input", func() bool { return s.gw.Stats().BadInput == 1 })

	silent := rawUpgrade(t, s.gw.Addr().String())
	defer silent.Close()
	silent.Write(hdr)
	eventually(t, "the header-only client closed for its missing pong", func() bool { return s.gw.Stats().PingClosed == 1 })
}

// TestHalfAFrameThenSilence: a client that sends part of a frame and
// stalls holds only its own reader; it cannot answer the ping behind the
// frame, and is closed for it.
func TestHalfAFrameThenSilence(t *testing.T) {
	s := serve(t, Config{PingInterval: 50 * time.Millisecond, PongTimeout: 200 * time.Millisecond}, streamWords)
	nc := rawUpgrade(t, s.gw.Addr().String())
	defer nc.Close()
	frame := maskedText([]byte(`{"id":"a","text":"hello there"}`))
	nc.Write(frame[:10])
	eventually(t, "closed for the missing pong", func() bool { return s.gw.Stats().PingClosed == 1 })
	c := dial(t, s.url, nil)
	defer c.CloseNow()
	send(t, c, "b", "2")
	if _, last := reply(t, c, "b"); last.Type != "end" {
		t.Errorf("another client got %+v, want its reply", last)
	}
}

// TestBroadcastToManyStalledClientsNeverWaits: with many clients that
// never read, Broadcast keeps returning, and each of them is closed.
func TestBroadcastToManyStalledClientsNeverWaits(t *testing.T) {
	const stalled = 20
	s := serve(t, Config{Outbox: 4, WriteBuffer: 16 << 10}, streamWords)
	for range stalled {
		nc := rawUpgrade(t, s.gw.Addr().String())
		defer nc.Close()
	}
	eventually(t, "every client registered", func() bool { return s.gw.Stats().Conns == stalled })
	big := strings.Repeat("y", 32<<10)
	for i := 0; s.gw.Stats().SlowClosed < stalled; i++ {
		if i > 10_000 {
			t.Fatalf("after %d broadcasts only %d of %d stalled clients were closed", i, s.gw.Stats().SlowClosed, stalled)
		}
		s.gw.Broadcast(big)
	}
	eventually(t, "every stalled connection gone", func() bool { return s.gw.Stats().Conns == 0 })
	if n := s.gw.Broadcast("anyone?"); n != 0 {
		t.Errorf("Broadcast after they left = %d, want 0", n)
	}
}

// TestInflightRepliesOfAClosedClientEnd: a client closed as too slow with
// replies in progress: the agent's Sends on them are refused and the
// slots freed.
func TestInflightRepliesOfAClosedClientEnd(t *testing.T) {
	replies := make(chan fanin.StreamReply[string], 4)
	s := serve(t, Config{Outbox: 4, WriteBuffer: 16 << 10}, func(m Message) { replies <- m.Reply })
	nc := rawUpgrade(t, s.gw.Addr().String())
	defer nc.Close()
	for _, id := range []string{"a", "b"} {
		nc.Write(maskedText([]byte(`{"id":"` + id + `","text":"x"}`)))
	}
	ra, rb := <-replies, <-replies
	big := strings.Repeat("z", 8<<10)
	for s.gw.Stats().SlowClosed == 0 {
		if err := ra.Send(big); err != nil {
			break
		}
	}
	eventually(t, "the slow client closed", func() bool { return s.gw.Stats().SlowClosed == 1 })
	for _, r := range []fanin.StreamReply[string]{ra, rb} {
		<-r.Done()
		if err := r.Send("more"); err != fanin.ErrReplyEnded {
			t.Errorf("Send after the close = %v, want ErrReplyEnded", err)
		}
	}
	eventually(t, "no stream open", func() bool { return s.gw.pending.Load().Len() == 0 })
}

// readClose reads server frames until a close frame and returns its code.
func readClose(r *bufio.Reader) (websocket.StatusCode, error) {
	for {
		var h [2]byte
		if _, err := io.ReadFull(r, h[:]); err != nil {
			return 0, err
		}
		n := int64(h[1] & 0x7f)
		switch n {
		case 126:
			var b [2]byte
			if _, err := io.ReadFull(r, b[:]); err != nil {
				return 0, err
			}
			n = int64(binary.BigEndian.Uint16(b[:]))
		case 127:
			var b [8]byte
			if _, err := io.ReadFull(r, b[:]); err != nil {
				return 0, err
			}
			n = int64(binary.BigEndian.Uint64(b[:]))
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(r, p); err != nil {
			return 0, err
		}
		if h[0]&0x0f == 0x8 && len(p) >= 2 {
			return websocket.StatusCode(binary.BigEndian.Uint16(p)), nil
		}
	}
}

// TestFloodWithoutRateLimitIsBounded: with no RateLimit, a client that
// floods messages and reads nothing gets at most MaxInflight of them to
// the agent while their replies are open, the rest are refused, and it is
// closed as too slow once the refusals fill its outbox.
func TestFloodWithoutRateLimitIsBounded(t *testing.T) {
	var delivered atomic.Int64
	held := make(chan fanin.StreamReply[string], 100)
	s := serve(t, Config{Outbox: 16, WriteBuffer: 16 << 10, MaxInflight: 4}, func(m Message) {
		delivered.Add(1)
		held <- m.Reply // the agent is slow: no reply ends while the flood lasts
	})
	nc := rawUpgrade(t, s.gw.Addr().String())
	defer nc.Close()
	msg := maskedText([]byte(`{"id":"f","text":"flood"}`))
	for s.gw.Stats().SlowClosed == 0 {
		nc.SetWriteDeadline(time.Now().Add(patience))
		if _, err := nc.Write(msg); err != nil {
			break // closed while flooding
		}
	}
	eventually(t, "the flooder closed as too slow", func() bool { return s.gw.Stats().SlowClosed == 1 })
	// The consumer takes what was placed in the stream a little later.
	eventually(t, "MaxInflight messages reach the agent", func() bool { return delivered.Load() >= 4 })
	for range 4 {
		r := <-held
		<-r.Done()
		if r.Send("late") != fanin.ErrReplyEnded {
			t.Error("a held reply of the closed flooder still takes chunks")
		}
	}
	s.stop(t) // everything placed in the stream has reached the agent
	if n := delivered.Load(); n != 4 {
		t.Errorf("the agent was given %d of the flood, want MaxInflight (4)", n)
	}
	if st := s.gw.Stats(); st.Rejected == 0 {
		t.Errorf("Stats = %+v: no message refused", st)
	}
}
