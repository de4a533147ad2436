package wsgate

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/fanin-go/fanin"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// patience bounds every wait of a test: generous, for a loaded machine.
const patience = 30 * time.Second

// server is a Gateway running on loopback in front of a fanin.Channel
// whose consumer hands each message to handle.
type server struct {
	gw     *Gateway
	url    string // ws://host/ws
	cancel context.CancelFunc
	ran    chan error
	done   chan struct{}
	ch     *fanin.Channel[Message]
}

// serve starts a gateway with cfg (Addr is set to loopback) and a
// consumer that calls handle for each message in its own goroutine, as
// an agent that streams replies does. stop ends it all.
func serve(t testing.TB, cfg Config, handle func(Message)) *server {
	t.Helper()
	return serveWith(t, cfg, 64, nil, handle)
}

// serveWith is serve with a stream of capacity values, whose consumer
// takes nothing from it until hold is closed, if hold is not nil.
func serveWith(t testing.TB, cfg Config, capacity int, hold <-chan struct{}, handle func(Message)) *server {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	gw := New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	if err := gw.Start(ctx); err != nil {
		t.Fatalf("Start = %v", err)
	}
	ch := fanin.New[Message](capacity)
	stream, err := ch.Start()
	if err != nil {
		t.Fatalf("Channel.Start = %v", err)
	}
	snd, _ := ch.Sender()
	s := &server{gw: gw, url: "ws://" + gw.Addr().String() + "/ws", cancel: cancel, ran: make(chan error, 1), done: make(chan struct{}), ch: ch}
	go func() { s.ran <- gw.Run(ctx, snd) }()
	go func() {
		defer close(s.done)
		if hold != nil {
			<-hold
		}
		var wg sync.WaitGroup
		for m := range stream {
			wg.Go(func() { handle(m) })
		}
		wg.Wait()
	}()
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop ends the run, once.
func (s *server) stop(t testing.TB) {
	t.Helper()
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	select {
	case err := <-s.ran:
		if err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	case <-time.After(patience):
		t.Fatalf("Run did not return within %v of its context's end", patience)
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := s.ch.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown = %v", err)
	}
	<-s.done
}

// streamWords is an agent that answers a message "n" with n chunks
// "w0 ", "w1 ", ..., and anything else with its words one by one.
func streamWords(m Message) {
	var n int
	if _, err := fmt.Sscan(m.Text, &n); err == nil {
		for i := range n {
			if m.Reply.Send(fmt.Sprintf("w%d ", i)) != nil {
				return
			}
		}
		m.Reply.End()
		return
	}
	for _, w := range strings.Fields(m.Text) {
		if m.Reply.Send(w+" ") != nil {
			return
		}
	}
	m.Reply.End()
}

func dial(t testing.TB, url string, h http.Header) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		t.Fatalf("Dial = %v", err)
	}
	c.SetReadLimit(-1)
	return c
}

func send(t testing.TB, c *websocket.Conn, id, text string) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"id": id, "text": text})
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, b); err != nil {
		t.Fatalf("Write = %v", err)
	}
}

// next reads one frame, or returns the read error (a close among them).
func next(c *websocket.Conn) (frame, error) {
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		return frame{}, err
	}
	var f frame
	if err := json.Unmarshal(b, &f); err != nil {
		return frame{}, fmt.Errorf("frame %q: %v", b, err)
	}
	return f, nil
}

// reply reads the frames of the reply to id, which must be the only one in
// flight, and returns its chunks and its last frame.
func reply(t testing.TB, c *websocket.Conn, id string) ([]string, frame) {
	t.Helper()
	var chunks []string
	for {
		f, err := next(c)
		if err != nil {
			t.Fatalf("reading the reply to %s: %v", id, err)
		}
		if f.ID != id {
			t.Fatalf("frame %+v, want one for %s", f, id)
		}
		switch f.Type {
		case "accepted":
		case "chunk":
			chunks = append(chunks, f.Text)
		default:
			return chunks, f
		}
	}
}

// closedWith reads until the connection ends and returns its close code
// and reason.
func closedWith(t testing.TB, c *websocket.Conn) (websocket.StatusCode, string) {
	t.Helper()
	for {
		_, err := next(c)
		if err == nil {
			continue
		}
		var ce websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code, ce.Reason
		}
		return -1, err.Error()
	}
}

// eventually waits until cond holds; the deadline only bounds a failure.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, patience)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// rawUpgrade opens a TCP connection and completes a WebSocket handshake by
// hand, so that the client reads nothing more than the server's answer: a
// client that will never read, or never answer a ping.
func rawUpgrade(t testing.TB, addr string) net.Conn {
	t.Helper()
	nc := deafDial(t, addr)
	fmt.Fprintf(nc, "GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", addr)
	nc.SetReadDeadline(time.Now().Add(patience))
	buf := make([]byte, 1024)
	n, err := nc.Read(buf)
	if err != nil || !strings.HasPrefix(string(buf[:n]), "HTTP/1.1 101") {
		t.Fatalf("handshake: %q, %v", buf[:n], err)
	}
	nc.SetReadDeadline(time.Time{})
	return nc
}

// deafDial opens a TCP connection with a small receive buffer, set before
// connecting so that the window is small from the start: the client's side
// fills after kilobytes, not megabytes.
func deafDial(t testing.TB, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: patience, Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		rc.Control(func(fd uintptr) { err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4<<10) })
		return err
	}}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	return nc
}

func rawDial(t testing.TB, addr string) net.Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, patience)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	return nc
}

// maskedText is a client's text frame (masked, as RFC 6455 requires) with
// payload p.
func maskedText(p []byte) []byte { return clientFrame(true, opText, p) }

// Frame opcodes of RFC 6455.
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opPing         = 0x9
)

// clientFrame is a client's frame, masked, with opcode op and payload p;
// fin marks the last frame of a message.
func clientFrame(fin bool, op byte, p []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	b := []byte{b0}
	switch n := len(p); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n <= 0xffff:
		b = append(b, 0x80|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	key := [4]byte{1, 2, 3, 4}
	b = append(b, key[:]...)
	for i, c := range p {
		b = append(b, c^key[i%4])
	}
	return b
}
