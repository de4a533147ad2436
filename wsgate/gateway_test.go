package wsgate

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/fanin-go/fanin"
)

func TestStreamedReplyArrivesWholeAndInOrder(t *testing.T) {
	s := serve(t, Config{}, streamWords)
	c := dial(t, s.url, nil)
	defer c.CloseNow()
	for i := range 3 {
		id := fmt.Sprint("m", i)
		send(t, c, id, "50")
		chunks, last := reply(t, c, id)
		if last.Type != "end" {
			t.Fatalf("reply ended with %+v, want end", last)
		}
		if len(chunks) != 50 {
			t.Fatalf("got %d chunks, want 50", len(chunks))
		}
		for j, ch := range chunks {
			if want := fmt.Sprintf("w%d ", j); ch != want {
				t.Fatalf("chunk %d = %q, want %q", j, ch, want)
			}
		}
	}
	c.Close(websocket.StatusNormalClosure, "")
	s.stop(t)
	st := s.gw.Stats()
	if st.Messages != 3 || st.Replies != 3 || st.Accepted != 1 {
		t.Errorf("Stats = %+v, want 3 messages, 3 replies, 1 connection", st)
	}
}

// TestGroupDeliversThroughMap runs the gateway as an adapter of a Group of
// another message type, as a program does.
func TestGroupDeliversThroughMap(t *testing.T) {
	type event struct {
		text  string
		reply fanin.StreamReply[string]
	}
	gw := New(Config{Addr: "127.0.0.1:0"})
	var g fanin.Group[event]
	ctx, cancel := context.WithCancel(context.Background())
	if err := g.Add(ctx, fanin.Map(gw, func(m Message) event { return event{m.Text, m.Reply} }), fanin.WithFailFast()); err != nil {
		t.Fatalf("Add = %v", err)
	}
	ran := make(chan error, 1)
	go func() {
		ran <- g.Run(ctx, func(e event) error {
			go func() {
				e.reply.Send(strings.ToUpper(e.text))
				e.reply.End()
			}()
			return nil
		})
	}()
	eventually(t, "the gateway bound", func() bool { return gw.Addr() != nil })
	c := dial(t, "ws://"+gw.Addr().String()+"/ws", nil)
	defer c.CloseNow()
	send(t, c, "x", "hello")
	chunks, last := reply(t, c, "x")
	if strings.Join(chunks, "") != "HELLO" || last.Type != "end" {
		t.Errorf("reply = %q then %+v, want HELLO then end", chunks, last)
	}
	cancel()
	if err := <-ran; err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	if code, _ := closedWith(t, c); code != websocket.StatusGoingAway {
		t.Errorf("close code = %v, want 1001", code)
	}
}

func TestPushAndBroadcast(t *testing.T) {
	ids := make(chan ConnID, 3)
	s := serve(t, Config{}, func(m Message) { ids <- m.Conn; m.Reply.End() })
	var cs [3]*websocket.Conn
	var conns [3]ConnID
	for i := range cs {
		cs[i] = dial(t, s.url, nil)
		defer cs[i].CloseNow()
		send(t, cs[i], "hi", "hi")
		reply(t, cs[i], "hi")
		conns[i] = <-ids
	}
	if n := s.gw.Broadcast("notice"); n != 3 {
		t.Errorf("Broadcast = %d, want 3", n)
	}
	if err := s.gw.Push(conns[1], "just you"); err != nil {
		t.Errorf("Push = %v, want nil", err)
	}
	for i, c := range cs {
		f, err := next(c)
		if err != nil || f.Type != "push" || f.Text != "notice" {
			t.Errorf("client %d: %+v, %v; want the broadcast", i, f, err)
		}
	}
	if f, err := next(cs[1]); err != nil || f.Text != "just you" {
		t.Errorf("client 1: %+v, %v; want the push", f, err)
	}
	if err := s.gw.Push(12345, "nobody"); err != ErrNoConn {
		t.Errorf("Push to no connection = %v, want ErrNoConn", err)
	}
}

func TestOriginAndAuthentication(t *testing.T) {
	s := serve(t, Config{
		OriginPatterns: []string{"chat.example.com"},
		Authenticate: func(r *http.Request) (string, error) {
			if tok := r.URL.Query().Get("token"); tok != "" {
				return "user-" + tok, nil
			}
			return "", errors.New("no token")
		},
	}, func(m Message) { m.Reply.Send(m.User); m.Reply.End() })
	for _, tc := range []struct {
		name, query, origin string
		want                int // 0: accepted
	}{
		{"no origin header (not a browser)", "?token=a", "", 0},
		{"same origin", "?token=a", "http://" + s.gw.Addr().String(), 0},
		{"allowed origin", "?token=a", "https://chat.example.com", 0},
		{"cross-site origin", "?token=a", "https://evil.example", http.StatusForbidden},
		{"the gateway's host as a prefix", "?token=a", "http://" + s.gw.Addr().String() + ".evil.example", http.StatusForbidden},
		{"the allowed host as a prefix", "?token=a", "https://chat.example.com.evil.example", http.StatusForbidden},
		{"a subdomain of the allowed host", "?token=a", "https://x.chat.example.com", http.StatusForbidden},
		{"an opaque origin", "?token=a", "null", http.StatusForbidden},
		{"no token", "", "", http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.origin != "" {
				h.Set("Origin", tc.origin)
			}
			ctx, cancel := context.WithTimeout(context.Background(), patience)
			defer cancel()
			c, resp, err := websocket.Dial(ctx, s.url+tc.query, &websocket.DialOptions{HTTPHeader: h})
			if tc.want != 0 {
				if err == nil || resp == nil || resp.StatusCode != tc.want {
					t.Errorf("Dial = %v (response %v), want refused %d", err, resp, tc.want)
				}
				if c != nil {
					c.CloseNow()
				}
				return
			}
			if err != nil {
				t.Fatalf("Dial = %v, want accepted", err)
			}
			defer c.CloseNow()
			send(t, c, "u", "who")
			if chunks, _ := reply(t, c, "u"); len(chunks) != 1 || chunks[0] != "user-a" {
				t.Errorf("the message carried user %q, want user-a", chunks)
			}
		})
	}
	if got := s.gw.Stats().Refused; got != 6 {
		t.Errorf("Stats.Refused = %d, want 6", got)
	}
}

func TestMaxConns(t *testing.T) {
	s := serve(t, Config{MaxConns: 1}, streamWords)
	c := dial(t, s.url, nil)
	defer c.CloseNow()
	over := dial(t, s.url, nil)
	defer over.CloseNow()
	if code, reason := closedWith(t, over); code != websocket.StatusTryAgainLater || reason != "too many connections" {
		t.Errorf("close = %v %q, want 1013 too many connections", code, reason)
	}
	send(t, c, "a", "3")
	if _, last := reply(t, c, "a"); last.Type != "end" {
		t.Errorf("the connection within the limit got %+v, want its reply", last)
	}
}

// TestBadInputClosesOnlyItsConnection sends each kind of bad input on a
// connection of its own, while a bystander streams a reply: each bad
// client gets its close code, and the bystander notices nothing.
func TestBadInputClosesOnlyItsConnection(t *testing.T) {
	s := serve(t, Config{
		MaxMessageBytes: 1024,
		RateLimit:       []fanin.Band{{Events: 1, Interval: time.Minute, Burst: 5}},
	}, streamWords)
	for _, tc := range []struct {
		name   string
		send   func(c *websocket.Conn) error
		code   websocket.StatusCode
		reason string
	}{
		{"oversized", func(c *websocket.Conn) error {
			return c.Write(context.Background(), websocket.MessageText, []byte(`{"text":"`+strings.Repeat("x", 2000)+`"}`))
		}, websocket.StatusMessageTooBig, ""},
		{"binary", func(c *websocket.Conn) error {
			return c.Write(context.Background(), websocket.MessageBinary, []byte(`{"text":"hi"}`))
		}, websocket.StatusUnsupportedData, "binary messages are not accepted: send JSON text"},
		{"invalid UTF-8", func(c *websocket.Conn) error {
			return c.Write(context.Background(), websocket.MessageText, []byte("{\"text\":\"\xff\xfe\"}"))
		}, websocket.StatusInvalidFramePayloadData, "message is not valid UTF-8"},
		{"not JSON", func(c *websocket.Conn) error {
			return c.Write(context.Background(), websocket.MessageText, []byte("hello"))
		}, websocket.StatusInvalidFramePayloadData, `message is not {"id": "...", "text": "..."}`},
		{"no text", func(c *websocket.Conn) error {
			return c.Write(context.Background(), websocket.MessageText, []byte(`{"id":"a"}`))
		}, websocket.StatusInvalidFramePayloadData, `message is not {"id": "...", "text": "..."}`},
		{"flood", func(c *websocket.Conn) error {
			for i := range 50 {
				err := c.Write(context.Background(), websocket.MessageText, fmt.Appendf(nil, `{"id":"%d","text":"1"}`, i))
				if err != nil {
					return nil // closed while flooding: expected
				}
			}
			return nil
		}, websocket.StatusPolicyViolation, "rate limit exceeded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bystander := dial(t, s.url, nil)
			defer bystander.CloseNow()
			send(t, bystander, "b", "200")
			bad := dial(t, s.url, nil)
			defer bad.CloseNow()
			if err := tc.send(bad); err != nil {
				t.Fatalf("send = %v", err)
			}
			code, reason := closedWith(t, bad)
			if code != tc.code || (tc.reason != "" && reason != tc.reason) {
				t.Errorf("close = %v %q, want %v %q", code, reason, tc.code, tc.reason)
			}
			chunks, last := reply(t, bystander, "b")
			if len(chunks) != 200 || last.Type != "end" {
				t.Errorf("bystander got %d chunks and %+v, want 200 and end", len(chunks), last)
			}
		})
	}
	st := s.gw.Stats()
	if st.BadInput != 5 || st.RateClosed != 1 {
		t.Errorf("Stats = %+v, want BadInput 5, RateClosed 1", st)
	}
}

// TestStalledClientIsClosedAndBlocksNobody: a client that never reads is
// pushed large frames until its socket buffers and its outbox are full;
// every Broadcast returns, the client is closed as too slow, and another
// client receives everything meanwhile.
func TestStalledClientIsClosedAndBlocksNobody(t *testing.T) {
	s := serve(t, Config{Outbox: 8}, streamWords)
	stalled := rawUpgrade(t, s.gw.Addr().String())
	defer stalled.Close()
	reader := dial(t, s.url, nil)
	defer reader.CloseNow()
	eventually(t, "both connections registered", func() bool { return s.gw.Stats().Conns == 2 })

	big := strings.Repeat("x", 64<<10)
	var received atomic.Int64
	readDone := make(chan error, 1)
	go func() {
		for {
			f, err := next(reader)
			if err != nil {
				readDone <- err
				return
			}
			if f.Type == "push" {
				received.Add(1)
			}
		}
	}()
	pushes := 0
	for s.gw.Stats().SlowClosed == 0 {
		if pushes > 100_000 {
			t.Fatal("the stalled client was never closed")
		}
		s.gw.Broadcast(big)
		pushes++
		// Let the reading client keep up; the stalled one cannot.
		eventually(t, "the reading client took the push", func() bool { return received.Load() == int64(pushes) })
	}
	eventually(t, "the stalled connection is gone", func() bool { return s.gw.Stats().Conns == 1 })
	if st := s.gw.Stats(); st.SlowClosed != 1 {
		t.Errorf("SlowClosed = %d, want 1", st.SlowClosed)
	}
	if err := s.gw.Push(1, "x"); err != ErrNoConn {
		t.Errorf("Push to the stalled connection = %v, want ErrNoConn", err)
	}
	send(t, reader, "after", "2")
	eventually(t, "the reading client is still served", func() bool {
		return s.gw.Stats().Replies == 1
	})
	reader.Close(websocket.StatusNormalClosure, "")
	<-readDone
}

// TestSilentClients: a TCP connection that never sends its upgrade request
// is closed after HandshakeTimeout, and an upgraded one that never answers
// a ping is closed 1008 "ping timeout".
func TestSilentClients(t *testing.T) {
	s := serve(t, Config{HandshakeTimeout: 200 * time.Millisecond, PingInterval: 100 * time.Millisecond, PongTimeout: 300 * time.Millisecond}, streamWords)
	addr := s.gw.Addr().String()

	silent := rawDial(t, addr)
	defer silent.Close()
	silent.SetReadDeadline(time.Now().Add(patience))
	if n, err := silent.Read(make([]byte, 1)); err == nil {
		t.Errorf("a silent TCP connection read %d bytes, want it closed", n)
	} else if strings.Contains(err.Error(), "timeout") {
		t.Errorf("a silent TCP connection was not closed within %v", patience)
	}

	deaf := rawUpgrade(t, addr)
	defer deaf.Close()
	deaf.SetReadDeadline(time.Now().Add(patience))
	if code, err := readClose(bufio.NewReader(deaf)); err != nil || code != websocket.StatusPolicyViolation {
		t.Errorf("the deaf connection's close = %v, %v; want 1008 ping timeout", code, err)
	}
	eventually(t, "the deaf connection closed for its missing pong", func() bool { return s.gw.Stats().PingClosed == 1 })
	eventually(t, "the deaf connection gone", func() bool { return s.gw.Stats().Conns == 0 })

	// A client that answers pings (the library's client does, while it
	// reads) stays.
	var pings atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	c, _, err := websocket.Dial(ctx, s.url, &websocket.DialOptions{
		OnPingReceived: func(context.Context, []byte) bool { pings.Add(1); return true },
	})
	if err != nil {
		t.Fatalf("Dial = %v", err)
	}
	defer c.CloseNow()
	readCtx := c.CloseRead(ctx)
	eventually(t, "five pings answered", func() bool { return pings.Load() >= 5 })
	if readCtx.Err() != nil || s.gw.Stats().PingClosed != 1 {
		t.Errorf("a client that answers pings was closed")
	}
}

func TestNewPanicsOnNegativeBounds(t *testing.T) {
	for _, cfg := range []Config{{Outbox: -1}, {MaxConns: -1}, {PongTimeout: -time.Second}} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.HasPrefix(fmt.Sprint(r), "wsgate: New called with Config.") {
					t.Errorf("New(%+v) panic = %v, want one naming the field", cfg, r)
				}
			}()
			New(cfg)
		}()
	}
	New(Config{ShutdownGrace: -1}) // negative means none: no panic
	func() {
		defer func() {
			if r := recover(); r == nil || !strings.HasPrefix(fmt.Sprint(r), "fanin: NewLimiter") {
				t.Errorf("New with a RateLimit band of no events: panic = %v, want fanin.NewLimiter's", r)
			}
		}()
		New(Config{RateLimit: []fanin.Band{{Events: 0, Interval: time.Second, Burst: 1}}})
	}()
}

// TestIdleConnectionStaysOpen: a client that was answered and then idles
// for longer than WriteTimeout is still pinged, its own ping is answered,
// and its close is echoed. The deadline of the last frame written must not
// fail the writes that come after it, the library's pings, pongs and close
// among them.
func TestIdleConnectionStaysOpen(t *testing.T) {
	const writeTimeout = 50 * time.Millisecond
	s := serve(t, Config{WriteTimeout: writeTimeout, PingInterval: 2 * writeTimeout}, streamWords)
	var answered atomic.Int64 // when the reply ended, in UnixNano; 0 before
	var late atomic.Int64     // pings received over writeTimeout after it
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	c, _, err := websocket.Dial(ctx, s.url, &websocket.DialOptions{
		OnPingReceived: func(context.Context, []byte) bool {
			if a := answered.Load(); a != 0 && time.Since(time.Unix(0, a)) > writeTimeout {
				late.Add(1)
			}
			return true
		},
	})
	if err != nil {
		t.Fatalf("Dial = %v", err)
	}
	defer c.CloseNow()
	send(t, c, "a", "3")
	if _, last := reply(t, c, "a"); last.Type != "end" {
		t.Fatalf("reply ended with %+v, want end", last)
	}
	answered.Store(time.Now().UnixNano())
	readCtx := c.CloseRead(ctx)
	// The first late ping was received after the deadline of the last
	// frame had passed; the second was written after the first's pong came
	// back, so after that deadline too.
	eventually(t, "two pings after the reply's write deadline", func() bool { return late.Load() >= 2 || readCtx.Err() != nil })
	if readCtx.Err() != nil {
		t.Fatalf("the idle connection was closed; Stats = %+v", s.gw.Stats())
	}
	if err := c.Ping(ctx); err != nil {
		t.Errorf("the client's Ping = %v, want its pong", err)
	}
	if err := c.Close(websocket.StatusNormalClosure, "bye"); err != nil {
		t.Errorf("Close = %v, want the close echoed", err)
	}
	if st := s.gw.Stats(); st.PingClosed != 0 {
		t.Errorf("Stats.PingClosed = %d, want 0", st.PingClosed)
	}
}

// TestRateLimitIsPerConnection: connections closed for going over
// RateLimit leave nothing behind. After more of them than twice MaxConns
// (what a limiter of the whole gateway keyed by connection could hold),
// a new client still sends its whole burst and is answered.
func TestRateLimitIsPerConnection(t *testing.T) {
	const burst = 2
	s := serve(t, Config{
		MaxConns:  1,
		RateLimit: []fanin.Band{{Events: 1, Interval: time.Hour, Burst: burst}},
	}, streamWords)
	const flooders = 3
	for i := range flooders {
		c := dial(t, s.url, nil)
		for j := range burst + 1 {
			send(t, c, fmt.Sprint(j), "1")
		}
		if code, reason := closedWith(t, c); code != websocket.StatusPolicyViolation || reason != "rate limit exceeded" {
			t.Errorf("flooder %d: close = %v %q, want 1008 rate limit exceeded", i, code, reason)
		}
		c.CloseNow()
		eventually(t, "the flooder gone", func() bool { return s.gw.Stats().Conns == 0 })
	}
	c := dial(t, s.url, nil)
	defer c.CloseNow()
	for j := range burst {
		id := fmt.Sprint("later", j)
		send(t, c, id, "1")
		if _, last := reply(t, c, id); last.Type != "end" {
			t.Errorf("the later client's message %d: %+v, want its reply", j, last)
		}
	}
	if st := s.gw.Stats(); st.RateClosed != flooders {
		t.Errorf("Stats.RateClosed = %d, want %d", st.RateClosed, flooders)
	}
}

// TestPlainHTTPRequestsAreBounded: a connection that is not a WebSocket
// is bounded by time alone (it is not counted in MaxConns): a client that
// asks for the page again and again and reads none of it is closed once
// an answer has waited WriteTimeout, and one that is idle after the page
// once HandshakeTimeout passes.
func TestPlainHTTPRequestsAreBounded(t *testing.T) {
	s := serve(t, Config{HandshakeTimeout: 100 * time.Millisecond, WriteTimeout: 100 * time.Millisecond, WriteBuffer: 16 << 10}, streamWords)
	addr := s.gw.Addr().String()
	t.Run("never read", func(t *testing.T) {
		nc := deafDial(t, addr)
		defer nc.Close()
		req := []byte("GET / HTTP/1.1\r\nHost: " + addr + "\r\n\r\n")
		// The writes block once the answers fill both sides' buffers and
		// the server, stuck writing, reads no more requests; they fail
		// once the server gives the connection up.
		nc.SetWriteDeadline(time.Now().Add(patience))
		var err error
		for err == nil {
			_, err = nc.Write(req)
		}
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Errorf("a client that never reads its answers was held for %v", patience)
		}
	})
	t.Run("idle after the page", func(t *testing.T) {
		nc := rawDial(t, addr)
		defer nc.Close()
		fmt.Fprintf(nc, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
		nc.SetReadDeadline(time.Now().Add(patience))
		br := bufio.NewReader(nc)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("ReadResponse = %v", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("the page: status %d, want 200", resp.StatusCode)
		}
		if n, err := br.Read(make([]byte, 1)); err == nil {
			t.Errorf("read %d bytes more, want the connection closed", n)
		} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Errorf("an idle connection after the page was held for %v", patience)
		}
	})
}

// TestRunAgainAfterStart: a gateway serves a second run after a new Start.
func TestRunAgainAfterStart(t *testing.T) {
	gw := New(Config{Addr: "127.0.0.1:0"})
	for round := range 2 {
		ctx, cancel := context.WithCancel(context.Background())
		if err := gw.Start(ctx); err != nil {
			t.Fatalf("round %d: Start = %v", round, err)
		}
		ch := fanin.New[Message](4)
		stream, err := ch.Start()
		if err != nil {
			t.Fatalf("Channel.Start = %v", err)
		}
		snd, _ := ch.Sender()
		ran := make(chan error, 1)
		go func() { ran <- gw.Run(ctx, snd) }()
		consumed := make(chan struct{})
		go func() {
			defer close(consumed)
			for m := range stream {
				m.Reply.Send(fmt.Sprint("round ", round))
				m.Reply.End()
			}
		}()
		c := dial(t, "ws://"+gw.Addr().String()+"/ws", nil)
		send(t, c, "r", "x")
		if chunks, last := reply(t, c, "r"); len(chunks) != 1 || chunks[0] != fmt.Sprint("round ", round) || last.Type != "end" {
			t.Errorf("round %d: reply %q then %+v", round, chunks, last)
		}
		cancel()
		if code, _ := closedWith(t, c); code != websocket.StatusGoingAway {
			t.Errorf("round %d: close = %v, want 1001", round, code)
		}
		if err := <-ran; err != nil {
			t.Errorf("round %d: Run = %v, want nil", round, err)
		}
		sctx, scancel := context.WithTimeout(context.Background(), patience)
		if err := ch.Shutdown(sctx); err != nil {
			t.Errorf("Shutdown = %v", err)
		}
		scancel()
		<-consumed
	}
}

// TestEachInputAcceptedOrClosedWithItsCode sends, each on a connection of
// its own, messages at the edges of what is accepted: each either reaches
// the stream or closes its connection with the documented code, and
// nothing refused reaches the stream.
func TestEachInputAcceptedOrClosedWithItsCode(t *testing.T) {
	s := serve(t, Config{}, func(m Message) { m.Reply.End() })
	exact := `{"id":"e","text":"` + strings.Repeat("a", DefaultMaxMessageBytes-len(`{"id":"e","text":""}`)) + `"}`
	fragmented := func(msg string, size int, ping bool) []byte {
		var b []byte
		for i := 0; i < len(msg); i += size {
			op := byte(opContinuation)
			if i == 0 {
				op = opText
			}
			end := min(i+size, len(msg))
			b = append(b, clientFrame(end == len(msg), op, []byte(msg[i:end]))...)
			if ping && i == 0 {
				b = append(b, clientFrame(true, opPing, []byte("p"))...)
			}
		}
		return b
	}
	for _, tc := range []struct {
		name  string
		frame []byte
		code  websocket.StatusCode // 0: accepted
	}{
		{"exactly MaxMessageBytes", maskedText([]byte(exact)), 0},
		{"one byte over", maskedText([]byte(exact[:len(exact)-2] + `a"}`)), websocket.StatusMessageTooBig},
		{"an unknown field", maskedText([]byte(`{"id":"a","text":"b","x":1}`)), 0},
		{"no id", maskedText([]byte(`{"text":"b"}`)), 0},
		{"one byte at a time, UTF-8 split, a ping among them", fragmented(`{"id":"f","text":"héllo wörld"}`, 1, true), 0},
		{"fragments over MaxMessageBytes", fragmented(`{"text":"`+strings.Repeat("a", DefaultMaxMessageBytes)+`"}`, 1000, false), websocket.StatusMessageTooBig},
		{"text after the object", maskedText([]byte(`{"id":"a","text":"b"} x`)), websocket.StatusInvalidFramePayloadData},
		{"two objects", maskedText([]byte(`{"id":"a","text":"b"}{"id":"c","text":"d"}`)), websocket.StatusInvalidFramePayloadData},
		{"text null", maskedText([]byte(`{"id":"a","text":null}`)), websocket.StatusInvalidFramePayloadData},
		{"text a number", maskedText([]byte(`{"id":"a","text":1}`)), websocket.StatusInvalidFramePayloadData},
		{"an array", maskedText([]byte(`[]`)), websocket.StatusInvalidFramePayloadData},
		{"empty", maskedText(nil), websocket.StatusInvalidFramePayloadData},
		{"an id over 128 bytes", maskedText([]byte(`{"id":"` + strings.Repeat("i", maxIDBytes+1) + `","text":"b"}`)), websocket.StatusInvalidFramePayloadData},
		{"an overlong UTF-8 encoding", maskedText([]byte("{\"text\":\"\xc0\xaf\"}")), websocket.StatusInvalidFramePayloadData},
		{"a UTF-16 surrogate in UTF-8", maskedText([]byte("{\"text\":\"\xed\xa0\x80\"}")), websocket.StatusInvalidFramePayloadData},
		{"binary", clientFrame(true, opBinary, []byte(`{"text":"b"}`)), websocket.StatusUnsupportedData},
		{"a reserved opcode", clientFrame(true, 0x3, []byte("x")), websocket.StatusProtocolError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := s.gw.Stats().Messages
			nc := rawUpgrade(t, s.gw.Addr().String())
			defer nc.Close()
			if _, err := nc.Write(tc.frame); err != nil {
				t.Fatalf("Write = %v", err)
			}
			if tc.code == 0 {
				eventually(t, "the message in the stream", func() bool { return s.gw.Stats().Messages == before+1 })
				return
			}
			nc.SetReadDeadline(time.Now().Add(patience))
			if code, err := readClose(bufio.NewReader(nc)); err != nil || code != tc.code {
				t.Errorf("close = %v, %v; want %v", code, err, tc.code)
			}
			if n := s.gw.Stats().Messages; n != before {
				t.Errorf("Stats.Messages went from %d to %d, want nothing placed", before, n)
			}
		})
	}
}
