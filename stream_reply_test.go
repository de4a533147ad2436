package fanin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// question is a message that asks for a streamed reply.
type question struct {
	reply StreamReply[string]
	words int
}

// readAll reads rd to its end and returns the chunks and the final error.
func readAll(t *testing.T, rd *ReplyReader[string]) ([]string, error) {
	t.Helper()
	var got []string
	for {
		c, err := rd.Next(context.Background())
		if err != nil {
			return got, err
		}
		got = append(got, c)
	}
}

func TestStreamReplyRoundTrip(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := New[question](4)
		stream := mustStart(t, c)
		s, _ := c.Sender()
		p := NewPendingStreams[string](10, 8)
		var sent sync.WaitGroup
		sent.Go(func() { // the consumer: an agent that streams word by word
			for q := range stream {
				for i := range q.words {
					time.Sleep(10 * time.Millisecond) // the model's pace, on synctest's clock
					if err := q.reply.Send(fmt.Sprint("w", i)); err != nil {
						t.Errorf("Send = %v, want nil: the reader keeps up", err)
					}
				}
				if !q.reply.End() {
					t.Error("End = false, want true")
				}
				<-q.reply.Done()
				if !q.reply.Received() {
					t.Error("Received = false after the reader read the end, want true")
				}
			}
		})
		rd, err := p.Open(func(r StreamReply[string]) error { return s.TrySend(question{r, 50}) })
		if err != nil {
			t.Fatalf("Open = %v, want nil", err)
		}
		got, err := readAll(t, rd)
		if err != io.EOF {
			t.Errorf("Next at the end = %v, want io.EOF", err)
		}
		want := make([]string, 50)
		for i := range want {
			want[i] = fmt.Sprint("w", i)
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("chunks = %q, want %q", got, want)
		}
		if _, err := rd.Next(context.Background()); err != io.EOF {
			t.Errorf("Next after the end = %v, want io.EOF again", err)
		}
		if n := p.Len(); n != 0 {
			t.Errorf("Len after the end = %d, want 0", n)
		}
		mustShutdown(t, c)
		sent.Wait()
	})
}

// TestStreamReplyConsumerNeverWaits proves that a requester that reads
// nothing cannot hold the consumer: every call returns at once (under
// synctest a blocked call would deadlock the bubble and fail the test),
// the overflow cuts the stream, and the requester learns it.
func TestStreamReplyConsumerNeverWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := NewPendingStreams[string](1, 3)
		var h StreamReply[string]
		rd, err := p.Open(func(r StreamReply[string]) error { h = r; return nil })
		if err != nil {
			t.Fatalf("Open = %v", err)
		}
		for i := range 3 {
			if err := h.Send(fmt.Sprint(i)); err != nil {
				t.Fatalf("Send(%d) = %v, want nil", i, err)
			}
		}
		if err := h.Send("3"); err != ErrReplyOverflow {
			t.Errorf("Send on a full buffer = %v, want ErrReplyOverflow", err)
		}
		if err := h.Send("4"); err != ErrReplyEnded {
			t.Errorf("Send after the cut = %v, want ErrReplyEnded", err)
		}
		if h.End() {
			t.Error("End after the cut = true, want false")
		}
		got, err := readAll(t, rd)
		if err != ErrReplyOverflow || strings.Join(got, "") != "012" {
			t.Errorf("reader got %q, %v; want \"012\", ErrReplyOverflow", got, err)
		}
		<-h.Done()
		if h.Received() {
			t.Error("Received = true for a cut stream, want false")
		}
		if n := p.Len(); n != 0 {
			t.Errorf("Len = %d, want 0", n)
		}
	})
}

// TestStreamReplyEveryExitReleases checks every way out of Open and of a
// stream: each leaves no slot behind, and a consumer holding the handle
// learns that nobody listens.
func TestStreamReplyEveryExitReleases(t *testing.T) {
	errGone := errors.New("client went away")
	for _, tc := range []struct {
		name string
		// run opens one stream in p (room for one) and ends it some way;
		// it returns Open's error and the handle the consumer was given.
		run  func(p *PendingStreams[string]) (StreamReply[string], error)
		want error
	}{
		{"send refused", func(p *PendingStreams[string]) (StreamReply[string], error) {
			var h StreamReply[string]
			_, err := p.Open(func(r StreamReply[string]) error { h = r; return errGone })
			return h, err
		}, errGone},
		{"send panicked", func(p *PendingStreams[string]) (h StreamReply[string], err error) {
			defer func() {
				if recover() == nil {
					err = errors.New("the panic did not reach the caller")
				} else {
					err = errGone
				}
			}()
			_, err = p.Open(func(r StreamReply[string]) error { h = r; panic("send") })
			return h, err
		}, errGone},
		{"reader closed", func(p *PendingStreams[string]) (StreamReply[string], error) {
			var h StreamReply[string]
			rd, err := p.Open(func(r StreamReply[string]) error { h = r; return nil })
			h.Send("a")
			rd.Close()
			rd.Close()
			if _, err := rd.Next(context.Background()); err != ErrReplyEnded {
				return h, fmt.Errorf("Next after Close = %v, want ErrReplyEnded", err)
			}
			return h, err
		}, nil},
		{"failed", func(p *PendingStreams[string]) (StreamReply[string], error) {
			var h StreamReply[string]
			rd, err := p.Open(func(r StreamReply[string]) error { h = r; return nil })
			h.Fail(nil)
			if _, err := rd.Next(context.Background()); err != io.ErrUnexpectedEOF {
				return h, fmt.Errorf("Next after Fail(nil) = %v, want io.ErrUnexpectedEOF", err)
			}
			return h, err
		}, nil},
		{"failed with a reason", func(p *PendingStreams[string]) (StreamReply[string], error) {
			var h StreamReply[string]
			rd, err := p.Open(func(r StreamReply[string]) error { h = r; return nil })
			h.Fail(errGone)
			if _, err := rd.Next(context.Background()); err != errGone {
				return h, fmt.Errorf("Next after Fail = %v, want the reason", err)
			}
			return h, err
		}, nil},
		{"closed", func(p *PendingStreams[string]) (StreamReply[string], error) {
			var h StreamReply[string]
			rd, err := p.Open(func(r StreamReply[string]) error { h = r; return nil })
			h.Send("a")
			p.Close()
			got, end := readAll(t, rd)
			if end != ErrClosed || len(got) != 1 {
				return h, fmt.Errorf("reader after Close got %q, %v; want [a], ErrClosed", got, end)
			}
			if _, err := p.Open(func(StreamReply[string]) error { return nil }); err != ErrClosed {
				return h, fmt.Errorf("Open after Close = %v, want ErrClosed", err)
			}
			return h, err
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := NewPendingStreams[string](1, 4)
			h, err := tc.run(p)
			if err != tc.want {
				t.Errorf("run = %v, want %v", err, tc.want)
			}
			if n := p.Len(); n != 0 {
				t.Errorf("Len = %d, want 0", n)
			}
			select {
			case <-h.Done():
			default:
				t.Error("Done not closed")
			}
			if h.Received() {
				t.Error("Received = true, want false")
			}
			if err := h.Send("late"); err != ErrReplyEnded {
				t.Errorf("Send after the end = %v, want ErrReplyEnded", err)
			}
			if h.End() {
				t.Error("End after the end = true, want false")
			}
		})
	}
}

func TestStreamReplyTooMany(t *testing.T) {
	p := NewPendingStreams[string](1, 1)
	rd, err := p.Open(func(StreamReply[string]) error { return nil })
	if err != nil {
		t.Fatalf("Open = %v", err)
	}
	called := false
	if _, err := p.Open(func(StreamReply[string]) error { called = true; return nil }); err != ErrTooManyPending || called {
		t.Errorf("Open over max = %v (send called: %v), want ErrTooManyPending, not called", err, called)
	}
	rd.Close()
	if rd, err := p.Open(func(StreamReply[string]) error { return nil }); err != nil {
		t.Errorf("Open after a slot was released = %v, want nil", err)
	} else {
		rd.Close()
	}
}

// TestStreamReplyNextWaits proves that Next waits for a chunk, wakes for
// it, and that a ctx ending leaves the stream to a later Next.
func TestStreamReplyNextWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := NewPendingStreams[string](1, 4)
		var h StreamReply[string]
		rd, _ := p.Open(func(r StreamReply[string]) error { h = r; return nil })
		ctx, cancel := context.WithCancel(context.Background())
		var got string
		var err error
		returned := make(chan struct{})
		go func() {
			got, err = rd.Next(ctx)
			close(returned)
		}()
		synctest.Wait()
		select {
		case <-returned:
			t.Fatalf("Next returned %q, %v with nothing sent", got, err)
		default:
		}
		cancel()
		<-returned
		if err != context.Canceled {
			t.Errorf("Next after ctx ended = %v, want context.Canceled", err)
		}
		returned = make(chan struct{})
		go func() {
			got, err = rd.Next(context.Background())
			close(returned)
		}()
		synctest.Wait()
		h.Send("x")
		<-returned
		if got != "x" || err != nil {
			t.Errorf("Next = %q, %v; want x, nil", got, err)
		}
		h.End()
		if _, err := rd.Next(context.Background()); err != io.EOF {
			t.Errorf("Next = %v, want io.EOF", err)
		}
	})
}

func TestStreamReplyZero(t *testing.T) {
	var h StreamReply[int]
	if h.Wanted() || h.End() || h.Fail(nil) || h.Received() || h.Done() != nil {
		t.Error("zero StreamReply: want Wanted, End, Fail, Received false and Done nil")
	}
	if err := h.Send(1); err != ErrReplyEnded {
		t.Errorf("Send = %v, want ErrReplyEnded", err)
	}
}

func TestNewPendingStreamsPanics(t *testing.T) {
	for _, tc := range [][2]int{{0, 1}, {1, 0}, {-1, 5}} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "fanin: NewPendingStreams") {
					t.Errorf("NewPendingStreams(%d, %d) panic = %v, want one naming fanin: NewPendingStreams", tc[0], tc[1], r)
				}
			}()
			NewPendingStreams[int](tc[0], tc[1])
		}()
	}
}

// TestStreamReplyConcurrent races a consumer, readers that give up at
// random points, and Close: each reader sees a prefix of the answer in
// order, and every slot is released.
func TestStreamReplyConcurrent(t *testing.T) {
	p := NewPendingStreams[int](64, 16)
	var wg sync.WaitGroup
	for i := range 64 {
		var h StreamReply[int]
		rd, err := p.Open(func(r StreamReply[int]) error { h = r; return nil })
		if err != nil {
			t.Fatalf("Open = %v", err)
		}
		wg.Go(func() {
			for j := range 1000 {
				if h.Send(j) != nil {
					return
				}
			}
			h.End()
		})
		wg.Go(func() {
			for j := 0; ; j++ {
				if i%4 == 0 && j == i*10 {
					rd.Close()
				}
				c, err := rd.Next(context.Background())
				if err != nil {
					return
				}
				if c != j {
					t.Errorf("chunk %d = %d: out of order", j, c)
					rd.Close()
					return
				}
			}
		})
	}
	p.Close()
	wg.Wait()
	if n := p.Len(); n != 0 {
		t.Errorf("Len = %d, want 0", n)
	}
}

// TestStreamReplyCloseWakesNext: Close from another goroutine wakes a Next
// that waits for a chunk, which returns ErrReplyEnded; so does
// PendingStreams.Close, with ErrClosed.
func TestStreamReplyCloseWakesNext(t *testing.T) {
	for _, tc := range []struct {
		name  string
		close func(*PendingStreams[string], *ReplyReader[string])
		want  error
	}{
		{"ReplyReader.Close", func(_ *PendingStreams[string], rd *ReplyReader[string]) { rd.Close() }, ErrReplyEnded},
		{"PendingStreams.Close", func(p *PendingStreams[string], _ *ReplyReader[string]) { p.Close() }, ErrClosed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := NewPendingStreams[string](1, 4)
				var h StreamReply[string]
				rd, _ := p.Open(func(r StreamReply[string]) error { h = r; return nil })
				var err error
				returned := make(chan struct{})
				go func() {
					_, err = rd.Next(context.Background())
					close(returned)
				}()
				synctest.Wait() // Next waits for a chunk
				tc.close(p, rd)
				<-returned // a Next that is not woken deadlocks the bubble
				if !errors.Is(err, tc.want) {
					t.Errorf("Next = %v, want %v", err, tc.want)
				}
				<-h.Done()
				if h.Received() || p.Len() != 0 {
					t.Errorf("Received %v, Len %d; want false, 0", h.Received(), p.Len())
				}
			})
		})
	}
}
