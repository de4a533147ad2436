package webhook

// Attacks on the promises of the package documentation, each kept as a
// test once it held (or once what it broke was fixed).

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fanin-go/fanin"
)

// TestManySignatureEntriesCostNothing: a webhook-signature header with
// tens of thousands of entries is scanned without allocating for each: the
// work before the body is read must not grow in memory with what an
// unverified caller writes. It used to collect the entries in a slice.
func TestManySignatureEntriesCostNothing(t *testing.T) {
	v := mustStandard(t, vectorSecret)
	body := []byte(vectorPayload)
	good := standardHeader(t, vectorSecret, vectorID, vectorTime.Unix(), body)
	allocs := func(entries int) float64 {
		hdr := good.Clone()
		hdr.Set("Webhook-Signature", strings.Repeat(vectorWrong+" ", entries)+good.Get("Webhook-Signature"))
		return testing.AllocsPerRun(20, func() {
			if _, err := v.Verify(NewRequest(hdr, body, vectorTime)); err != nil {
				t.Fatalf("Verify with %d entries = %v", entries, err)
			}
		})
	}
	few, many := allocs(1), allocs(20_000)
	if many > few {
		t.Errorf("Verify allocates %.0f times with 20,000 entries, %.0f with 1: per-entry allocation", many, few)
	}
}

// TestRunWithEndedContext: a Group calls Run after a successful Start even
// when the run has already ended, so that Run releases what Start bound:
// Run must return at once, close the listener, and leave nothing behind.
func TestRunWithEndedContext(t *testing.T) {
	h := New(Config{Verifiers: signed, Addr: "127.0.0.1:0"})
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	addr := h.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var c fanin.Channel[Message]
	c.Start()
	defer c.Shutdown(context.Background())
	s, _ := c.Sender()
	if err := h.Run(ctx, s); err != nil {
		t.Errorf("Run with an ended context = %v, want nil", err)
	}
	if h.Addr() != nil {
		t.Error("Addr is still set after Run returned")
	}
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Error("the listener still accepts after Run returned")
	}
	checkServerGone(t)
}

// TestExpiresIsBounded: a verifier whose Delivery.Expires is absurdly far
// away cannot make the table keep an ID for ever: at most DedupWindow plus
// a day.
func TestExpiresIsBounded(t *testing.T) {
	forever := VerifierFunc(func(r *Request) (Delivery, error) {
		if r.Header.Get("X-Token") != "ok" {
			return Delivery{}, ErrNoSignature
		}
		return Delivery{ID: r.Header.Get("X-Id"), Expires: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)}, nil
	})
	e := newEnv(t, Config{Raw: true, Verifiers: []Verifier{forever}}, 4)
	hdr := http.Header{"X-Token": {"ok"}, "X-Id": {"d"}}
	first := e.post([]byte("x"), "text/plain", hdr)
	check(t, first, 202, "accepted")
	e.clk.Add(DefaultDedupWindow + 24*time.Hour - time.Second)
	checkRepeat(t, first, e.post([]byte("x"), "text/plain", hdr))
	e.clk.Add(time.Second)
	again := e.post([]byte("x"), "text/plain", hdr)
	check(t, again, 202, "accepted")
	if again.answer.MessageID == first.answer.MessageID {
		t.Error("the ID is still remembered past the window and a day")
	}
}

// TestVerifierPanic: a verifier that panics after reading the body (net/http
// recovers it) gives back its place of MaxVerifying.
func TestVerifierPanic(t *testing.T) {
	boom := VerifierFunc(func(r *Request) (Delivery, error) {
		if _, err := r.Body(); err != nil {
			return Delivery{}, err
		}
		if r.Header.Get("X-Boom") != "" {
			panic("a verifier of one's own went wrong")
		}
		return Delivery{}, ErrNoSignature
	})
	e := newEnv(t, Config{Verifiers: []Verifier{boom, signed[0]}, MaxVerifying: 1}, 4)
	e.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	body := msg("alice", "hi", false)
	hdr := hmacHeader(DefaultSignatureHeader, secret, body)
	hdr.Set("X-Boom", "1")
	if _, err := doRequest(e.client, mustRequest(t, e.srv.URL, body, hdr)); err == nil {
		t.Error("the panicking request was answered, want the connection dropped")
	}
	check(t, e.send("alice", "after the panic", false), 202, "accepted")
}

// blockingPanicSink blocks the first Send until released, then panics.
type blockingPanicSink struct {
	fanin.Sink[Message]
	entered, release chan struct{}
	first            atomic.Bool
}

func (p *blockingPanicSink) Send(ctx context.Context, m Message) error {
	if !p.first.Swap(true) {
		close(p.entered)
		<-p.release
		panic("the program's conversion failed")
	}
	return p.Sink.Send(ctx, m)
}

// TestRepeatsOfPanickingFirst: copies waiting on a first delivery that
// panics are answered busy, not left waiting, and a retry is delivered.
func TestRepeatsOfPanickingFirst(t *testing.T) {
	const copies = 5
	e := newEnv(t, Config{Verifiers: signed}, 4)
	e.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	s, _ := e.c.Sender()
	sink := &blockingPanicSink{Sink: s, entered: make(chan struct{}), release: make(chan struct{})}
	e.h.Attach(sink)
	var repeats atomic.Int64
	allWaiting := make(chan struct{})
	e.h.hook = func(step string) {
		if step == "repeat waits" && repeats.Add(1) == copies-1 {
			close(allWaiting)
		}
	}
	body := msg("alice", "hi", false)
	hdr := hmacHeader(DefaultSignatureHeader, secret, body)
	hdr.Set("Idempotency-Key", "boom")
	answers := make(chan reply, copies)
	for range copies {
		go func() {
			r, _ := doRequest(&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}, mustRequest(t, e.srv.URL, body, hdr))
			answers <- r
		}()
	}
	<-sink.entered
	<-allWaiting
	close(sink.release)
	busy := 0
	for range copies {
		if r := <-answers; r.code == 503 && r.answer.Status == "busy" {
			busy++
		}
	}
	if busy != copies-1 {
		t.Errorf("%d copies answered busy, want %d (the first's connection drops)", busy, copies-1)
	}
	check(t, e.post(body, "application/json", hdr), 202, "accepted")
}

// TestIdempotencyKeyEdges: malformed keys are refused, an empty one among
// them, quoted or not: a sender that sends the header asks for
// deduplication, and a key taken as none would let every copy in.
func TestIdempotencyKeyEdges(t *testing.T) {
	e := newEnv(t, Config{Verifiers: signed}, 16)
	for _, tc := range []struct {
		key    string
		code   int
		status string
	}{
		{strings.Repeat("k", 256), 202, "accepted"},
		{strings.Repeat("k", 257), 400, "bad_request"},
		{"has space", 400, "bad_request"},
		{`""`, 400, "bad_request"},
		{"", 400, "bad_request"},
		{`"quoted"`, 202, "accepted"},
		{"é", 400, "bad_request"},
	} {
		body := msg("alice", tc.key, false)
		hdr := hmacHeader(DefaultSignatureHeader, secret, body)
		hdr.Set("Idempotency-Key", tc.key)
		r := e.post(body, "application/json", hdr)
		if r.code != tc.code || r.answer.Status != tc.status {
			t.Errorf("Idempotency-Key %.20q: %d %s (%s), want %d %s", tc.key, r.code, r.answer.Status, r.answer.Error, tc.code, tc.status)
		}
	}
}

// TestDedupStress mixes concurrent deliveries of a pool of IDs, new and
// repeated, with a table too small for all of them: every ID reaches the
// stream at most once, and every 2xx answer for an ID names that one
// message.
func TestDedupStress(t *testing.T) {
	const (
		workers = 8
		each    = 150
		ids     = 40
	)
	e := newEnv(t, Config{Verifiers: signed, MaxDeliveries: 25}, 64)
	delivered := map[string][]string{} // delivery ID -> message IDs
	consumed := make(chan struct{})
	go func() {
		defer close(consumed)
		for m := range e.stream {
			delivered[m.DeliveryID] = append(delivered[m.DeliveryID], m.ID)
		}
	}()
	var answered [ids]atomic.Pointer[string]
	var conflicts atomic.Int64
	var clients sync.WaitGroup
	for w := range workers {
		clients.Go(func() {
			client := &http.Client{Transport: &http.Transport{}}
			defer client.CloseIdleConnections()
			for i := range each {
				n := (w*7 + i*13) % ids
				body := msg("alice", fmt.Sprint("delivery ", n), false)
				hdr := hmacHeader(DefaultSignatureHeader, secret, body)
				hdr.Set("Idempotency-Key", fmt.Sprint("id-", n))
				r, err := doRequest(client, mustRequest(t, e.srv.URL, body, hdr))
				if err != nil {
					t.Error(err)
					return
				}
				switch {
				case r.code == 202:
					id := r.answer.MessageID
					if prev := answered[n].Swap(&id); prev != nil && *prev != id {
						conflicts.Add(1)
					}
				case r.code == 503 && r.answer.Status == "busy":
				default:
					t.Errorf("answer %d %+v", r.code, r.answer)
				}
			}
		})
	}
	clients.Wait()
	e.c.Shutdown(context.Background())
	<-consumed
	if n := conflicts.Load(); n > 0 {
		t.Errorf("%d times an ID was answered with two different message IDs", n)
	}
	total := 0
	for id, ms := range delivered {
		total += len(ms)
		if len(ms) > 1 {
			t.Errorf("delivery %s reached the stream %d times", id, len(ms))
		}
	}
	if total == 0 || total > 25 {
		t.Errorf("%d deliveries reached the stream, want 1 to 25 (the table's size)", total)
	}
}

// TestRunShutdownStress stops Run at once and after a moment, over and
// over, while clients send every kind of request: signed, unsigned,
// waiting for replies, stalling in the body, stalling in the headers.
// Every time Run returns promptly and leaves no goroutine, and the
// consumer receives exactly the messages whose answers said they were in
// the stream.
func TestRunShutdownStress(t *testing.T) {
	if testing.Short() {
		t.Skip("stress")
	}
	for iter := range 12 {
		rn := serveRun(t, Config{Verifiers: signed, ShutdownGrace: 200 * time.Millisecond, SendTimeout: 50 * time.Millisecond}, 4)
		addr := strings.TrimPrefix(strings.TrimSuffix(rn.url, "/"), "http://")
		received := map[string]bool{}
		consumed := make(chan struct{})
		go func() {
			defer close(consumed)
			for m := range rn.stream {
				received[m.ID] = true
				m.Reply.Resolve("ok")
			}
		}()
		var mu sync.Mutex
		var inStream []string
		stop := make(chan struct{})
		var clients sync.WaitGroup
		for w := range 6 {
			clients.Go(func() {
				client := &http.Client{Transport: &http.Transport{}}
				defer client.CloseIdleConnections()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					switch (w + i) % 5 {
					case 0, 1: // signed, some waiting for the reply
						body := msg("alice", fmt.Sprint(w, i), i%2 == 0)
						r, err := doRequest(client, mustRequest(t, rn.url, body, hmacHeader(DefaultSignatureHeader, secret, body)))
						if err == nil && (r.code == 200 || r.code == 202 || r.code == 504) && r.answer.MessageID != "" {
							mu.Lock()
							inStream = append(inStream, r.answer.MessageID)
							mu.Unlock()
						}
					case 2: // unsigned
						doRequest(client, mustRequest(t, rn.url, msg("x", "y", false), http.Header{}))
					case 3, 4: // stalls in the body or in the headers until Run ends it
						c, err := net.DialTimeout("tcp", addr, time.Second)
						if err != nil {
							continue
						}
						body := msg("alice", "stall", false)
						if (w+i)%5 == 3 {
							startPostConn(c, hmacHeader(DefaultSignatureHeader, secret, body), len(body), 3)
						} else {
							io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\n")
						}
						go func() { io.Copy(io.Discard, c); c.Close() }()
					}
				}
			})
		}
		if iter%2 == 1 {
			time.Sleep(20 * time.Millisecond) // let the load build: pacing, not synchronisation
		}
		took := stopWithin(t, rn, 5*time.Second)
		close(stop)
		clients.Wait()
		<-consumed
		for _, id := range inStream {
			if !received[id] {
				t.Errorf("iteration %d: message %s answered as in the stream, never received", iter, id)
			}
		}
		if len(received) != len(inStream) {
			t.Errorf("iteration %d: received %d messages, %d answers said in the stream", iter, len(received), len(inStream))
		}
		if took > time.Second {
			t.Logf("iteration %d: Run took %v to return", iter, took)
		}
	}
}

// startPostConn is startPost for use outside the test's goroutine.
func startPostConn(c net.Conn, hdr http.Header, length, sent int) {
	fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: %d\r\n", length)
	hdr.Write(c)
	io.WriteString(c, "\r\n"+strings.Repeat("x", sent))
}

// TestBodySizeEdges: a body of exactly MaxBodyBytes is read, one byte
// more is refused, with a Content-Length and without one.
func TestBodySizeEdges(t *testing.T) {
	const max = 64
	e := newEnv(t, Config{Raw: true, Verifiers: signed, MaxBodyBytes: max}, 8)
	for _, tc := range []struct {
		size    int
		chunked bool
		code    int
	}{
		{max, false, 202}, {max + 1, false, 413},
		{max, true, 202}, {max + 1, true, 413},
	} {
		body := []byte(strings.Repeat("b", tc.size))
		req := mustRequest(t, e.srv.URL, body, hmacHeader(DefaultSignatureHeader, secret, body))
		if tc.chunked {
			req.Body = io.NopCloser(strings.NewReader(string(body)))
			req.ContentLength = -1
		}
		r := e.do(req)
		if r.code != tc.code {
			t.Errorf("%d bytes (chunked %v): answer %d %q, want %d", tc.size, tc.chunked, r.code, r.answer.Error, tc.code)
		}
	}
}
