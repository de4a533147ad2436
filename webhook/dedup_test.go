package webhook

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fanin-go/fanin"
)

// drain shuts the channel down and returns what it still held.
func (e *env) drain() []Message {
	e.t.Helper()
	e.c.Shutdown(context.Background())
	var out []Message
	for m := range e.stream {
		out = append(out, m)
	}
	return out
}

func checkRepeat(t *testing.T, first, again reply) {
	t.Helper()
	if again.code != first.code || again.answer != first.answer {
		t.Errorf("repeat answered %d %+v, want the first answer %d %+v", again.code, again.answer, first.code, first.answer)
	}
	if again.header.Get("Idempotent-Replayed") != "true" {
		t.Error("repeat answer lacks Idempotent-Replayed: true")
	}
}

// TestDuplicateSequential sends each scheme's delivery twice: the second
// gets the first answer and nothing more enters the stream.
func TestDuplicateSequential(t *testing.T) {
	gh := []byte("github secret")
	body := []byte(`{"action":"opened"}`)
	ghHeader := hmacHeader("X-Hub-Signature-256", gh, body)
	ghHeader.Set("X-GitHub-Delivery", "d-1")
	jsonBody := msg("alice", "once", false)
	for _, tc := range []struct {
		name string
		cfg  Config
		body []byte
		hdr  func() http.Header
	}{
		{"standard webhooks", Config{Raw: true, Verifiers: []Verifier{mustStandard(t, vectorSecret)}}, body,
			func() http.Header { return standardHeader(t, vectorSecret, "msg_1", vectorTime.Unix(), body) }},
		{"github", Config{Raw: true, Verifiers: []Verifier{GitHub(gh)}}, body, func() http.Header { return ghHeader.Clone() }},
		{"idempotency key", Config{Verifiers: signed}, jsonBody, func() http.Header {
			h := hmacHeader(DefaultSignatureHeader, secret, jsonBody)
			h.Set("Idempotency-Key", "k-1")
			return h
		}},
		{"quoted idempotency key", Config{Verifiers: signed}, jsonBody, func() http.Header {
			h := hmacHeader(DefaultSignatureHeader, secret, jsonBody)
			h.Set("Idempotency-Key", `"k-1"`)
			return h
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.cfg, 8)
			first := e.post(tc.body, "application/json", tc.hdr())
			check(t, first, 202, "accepted")
			if first.header.Get("Idempotent-Replayed") != "" {
				t.Error("first answer says it is replayed")
			}
			e.clk.Add(time.Minute) // a retry a minute later
			checkRepeat(t, first, e.post(tc.body, "application/json", tc.hdr()))
			checkRepeat(t, first, e.post(tc.body, "application/json", tc.hdr()))
			if got := e.drain(); len(got) != 1 || got[0].ID != first.answer.MessageID {
				t.Errorf("stream held %d messages, want exactly the first", len(got))
			}
		})
	}
}

// TestDuplicateConcurrent sends 50 copies of one delivery at once, while
// the first is held in flight by a full buffer: exactly one message enters
// the stream, and every copy is answered with its message_id.
func TestDuplicateConcurrent(t *testing.T) {
	for _, wait := range []bool{false, true} {
		t.Run(fmt.Sprint("wait=", wait), func(t *testing.T) {
			const copies = 50
			// Unbuffered: the first waits for the consumer. Copies that wait
			// hold places of MaxPending, as the first does when it waits.
			e := newEnv(t, Config{Verifiers: signed, MaxPending: copies}, 0)
			var repeats atomic.Int64
			var sending atomic.Bool
			allWaiting := make(chan struct{})
			e.h.hook = func(step string) {
				switch step {
				case "send":
					if sending.Swap(true) {
						t.Error("a second copy reached the stream")
					}
				case "repeat waits":
					if repeats.Add(1) == copies-1 {
						close(allWaiting)
					}
				}
			}
			body := msg("alice", "exactly once", wait)
			hdr := hmacHeader(DefaultSignatureHeader, secret, body)
			hdr.Set("Idempotency-Key", "the-one")
			answers := make(chan reply, copies)
			var clients sync.WaitGroup
			for range copies {
				clients.Go(func() {
					r, err := doRequest(e.client, mustRequest(t, e.srv.URL, body, hdr))
					if err != nil {
						t.Error(err)
					}
					answers <- r
				})
			}
			<-allWaiting // 49 copies wait on the first, which waits for room
			m := <-e.stream
			m.Reply.Resolve("the reply")
			clients.Wait()
			close(answers)
			code, status := 202, "accepted"
			if wait {
				code, status = 200, "replied"
			}
			replayed := 0
			for r := range answers {
				check(t, r, code, status)
				if r.answer.MessageID != m.ID {
					t.Errorf("a copy was answered message_id %q, want %q", r.answer.MessageID, m.ID)
				}
				if wait && r.answer.Response != "the reply" {
					t.Errorf("a copy was answered %q, want the reply", r.answer.Response)
				}
				if r.header.Get("Idempotent-Replayed") == "true" {
					replayed++
				}
			}
			if replayed != copies-1 {
				t.Errorf("%d answers say they are repeats, want %d", replayed, copies-1)
			}
			if rest := e.drain(); len(rest) != 0 {
				t.Errorf("stream held %d more messages, want none", len(rest))
			}
		})
	}
}

func mustRequest(t *testing.T, url string, body []byte, hdr http.Header) *http.Request {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = hdr.Clone()
	req.Header.Set("Content-Type", "application/json")
	return req
}

// TestDuplicateAfterRefusal: a delivery whose first request was refused
// (its message never entered the stream) is not remembered: copies that
// waited on it share the refusal, and a later retry is delivered.
func TestDuplicateAfterRefusal(t *testing.T) {
	const copies = 5
	e := newEnv(t, Config{Verifiers: signed}, 0)
	var repeats atomic.Int64
	allWaiting := make(chan struct{})
	e.h.hook = func(step string) {
		if step == "repeat waits" && repeats.Add(1) == copies-1 {
			close(allWaiting)
		}
	}
	body := msg("alice", "retried", false)
	hdr := hmacHeader(DefaultSignatureHeader, secret, body)
	hdr.Set("Idempotency-Key", "retry-me")
	answers := make(chan reply, copies)
	for range copies {
		go func() {
			r, err := doRequest(e.client, mustRequest(t, e.srv.URL, body, hdr))
			if err != nil {
				t.Error(err)
			}
			answers <- r
		}()
	}
	<-allWaiting
	e.c.Shutdown(context.Background()) // the first's send is refused: closed
	for range copies {
		r := <-answers
		check(t, r, 503, "closed")
		// A shared refusal replays no delivery: there is none.
		if got := r.header.Get("Idempotent-Replayed"); got != "" {
			t.Errorf("shared refusal marked Idempotent-Replayed: %q, want no mark", got)
		}
	}

	c := fanin.New[Message](4)
	stream, _ := c.Start()
	defer c.Shutdown(context.Background())
	s, _ := c.Sender()
	e.h.Attach(s)
	r := e.post(body, "application/json", hdr)
	check(t, r, 202, "accepted")
	if m := <-stream; m.ID != r.answer.MessageID {
		t.Errorf("delivered %q, want the retry's %q", m.ID, r.answer.MessageID)
	}
	checkRepeat(t, r, e.post(body, "application/json", hdr))
}

func TestIDReusedForAnotherBody(t *testing.T) {
	e := newEnv(t, Config{Raw: true, Verifiers: []Verifier{mustStandard(t, vectorSecret)}}, 4)
	a, b := []byte(`{"n":1}`), []byte(`{"n":2}`)
	check(t, e.post(a, "application/json", standardHeader(t, vectorSecret, "same", vectorTime.Unix(), a)), 202, "accepted")
	check(t, e.post(b, "application/json", standardHeader(t, vectorSecret, "same", vectorTime.Unix(), b)), 422, "id_reused")
	if got := e.drain(); len(got) != 1 {
		t.Errorf("stream held %d messages, want 1", len(got))
	}
}

// TestReplay replays a captured Standard Webhooks request: within the
// tolerance it is answered from the table, after it the timestamp is
// stale; it never reaches the stream twice, and the table entry outlives
// the tolerance even with a window shorter than it.
func TestReplay(t *testing.T) {
	e := newEnv(t, Config{Raw: true, Verifiers: []Verifier{mustStandard(t, vectorSecret)}, DedupWindow: time.Second}, 4)
	body := []byte(`{"type":"invoice.paid"}`)
	// Signed 5 minutes ahead of the handler's clock: fresh for 10 minutes.
	captured := standardHeader(t, vectorSecret, "msg_pay", vectorTime.Unix()+300, body)
	first := e.post(body, "application/json", captured)
	check(t, first, 202, "accepted")
	for _, after := range []time.Duration{time.Second, 5 * time.Minute, 5*time.Minute - time.Second} {
		e.clk.Add(after) // up to exactly 10 minutes later: still fresh
		checkRepeat(t, first, e.post(body, "application/json", captured))
	}
	e.clk.Add(time.Second)
	r := e.post(body, "application/json", captured)
	if r.code != 401 || r.answer.Error != "timestamp outside the tolerance" {
		t.Errorf("replay after the tolerance = %d %q, want 401 stale", r.code, r.answer.Error)
	}
	if got := e.drain(); len(got) != 1 {
		t.Errorf("stream held %d messages, want 1", len(got))
	}
}

// TestDedupWindow: a delivery ID without a timestamp is remembered for
// DedupWindow, then a repeat is a new delivery.
func TestDedupWindow(t *testing.T) {
	e := newEnv(t, Config{Verifiers: signed}, 4)
	body := msg("alice", "hi", false)
	hdr := hmacHeader(DefaultSignatureHeader, secret, body)
	hdr.Set("Idempotency-Key", "k")
	first := e.post(body, "application/json", hdr)
	check(t, first, 202, "accepted")
	e.clk.Add(DefaultDedupWindow - time.Nanosecond)
	checkRepeat(t, first, e.post(body, "application/json", hdr))
	e.clk.Add(time.Nanosecond)
	later := e.post(body, "application/json", hdr)
	check(t, later, 202, "accepted")
	if later.answer.MessageID == first.answer.MessageID || later.header.Get("Idempotent-Replayed") != "" {
		t.Errorf("after the window: %+v, want a new delivery", later.answer)
	}
	if got := e.drain(); len(got) != 2 {
		t.Errorf("stream held %d messages, want 2", len(got))
	}
}

// TestDedupFull: IDs that no signature covers take at most half of
// MaxDeliveries; a new one over it is refused with a Retry-After of when
// room comes, never let through unremembered.
func TestDedupFull(t *testing.T) {
	e := newEnv(t, Config{Verifiers: signed, MaxDeliveries: 6}, 16)
	post := func(id string) reply {
		body := msg("alice", id, false)
		hdr := hmacHeader(DefaultSignatureHeader, secret, body)
		hdr.Set("Idempotency-Key", id)
		return e.post(body, "application/json", hdr)
	}
	for i := range 3 {
		check(t, post(fmt.Sprint("id", i)), 202, "accepted")
		e.clk.Add(time.Minute)
	}
	r := post("id3")
	check(t, r, 503, "busy")
	// The oldest expires 10-3 minutes from now, and leaves the table
	// ReadTimeout (10 s) later, once no request that arrived before it
	// expired can still be looking it up.
	if got := r.header.Get("Retry-After"); got != "430" {
		t.Errorf("Retry-After = %q, want 430", got)
	}
	check(t, e.send("alice", "no delivery ID, no entry", false), 202, "accepted")
	if n := e.h.dedup.len(); n != 3 {
		t.Errorf("table holds %d IDs, want 3", n)
	}
	e.clk.Add(7*time.Minute + 9*time.Second)
	check(t, post("id3"), 503, "busy")
	e.clk.Add(time.Second)
	check(t, post("id3"), 202, "accepted")
	if n := e.h.dedup.len(); n != 3 {
		t.Errorf("table holds %d IDs, want 3", n)
	}
}

// TestDuplicateOfReply: repeats of a delivery that waited for a reply get
// the reply, while the reply budget lasts; past it, they are told that the
// message is in the stream and its reply is not kept, never "replied"
// without the reply.
func TestDuplicateOfReply(t *testing.T) {
	e := newEnv(t, Config{Verifiers: signed}, 4)
	replyWith := make(chan string, 2)
	go agent(e.stream, func(Message) string { return <-replyWith })
	post := func(id string) reply {
		body := msg("alice", "question "+id, true)
		hdr := hmacHeader(DefaultSignatureHeader, secret, body)
		hdr.Set("Idempotency-Key", id)
		return e.post(body, "application/json", hdr)
	}
	replyWith <- "short answer"
	first := post("q1")
	check(t, first, 200, "replied")
	checkRepeat(t, first, post("q1"))

	big := strings.Repeat("x", maxKeptReplyBytes)
	replyWith <- big
	first = post("q2")
	check(t, first, 200, "replied")
	again := post("q2")
	check(t, again, 202, "reply_not_kept")
	if again.answer.MessageID != first.answer.MessageID || again.answer.Response != "" ||
		again.answer.Error != "the reply is not kept for repeated deliveries" || again.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("repeat of an unkept reply = %+v (replayed %q), want the first message_id, no response, the reason, replayed",
			again.answer, again.header.Get("Idempotent-Replayed"))
	}
}

// TestRepeatOfCanceledFirst: the first caller of a delivery leaves while
// waiting for its reply (answered 499, nobody reading); a repeat, whose
// own caller stays, is told that the message is in the stream and its
// reply was not kept, not 499, and nothing enters the stream again.
func TestRepeatOfCanceledFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stream, s := rvStream(t, 4)
		h := New(Config{Verifiers: signed})
		h.Attach(s)
		body := msg("alice", "question", true)
		req := func(ctx context.Context) *http.Request {
			r := httptest.NewRequestWithContext(ctx, http.MethodPost, "/", bytes.NewReader(body))
			r.Header = hmacHeader(DefaultSignatureHeader, secret, body)
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Idempotency-Key", "leaves")
			return r
		}
		ctx, leave := context.WithCancel(context.Background())
		first := make(chan *httptest.ResponseRecorder, 1)
		go func() { w, _ := rvServe(h, req(ctx)); first <- w }()
		m := <-stream
		leave()
		if w := <-first; w.Code != statusClientClosed {
			t.Fatalf("first caller, gone: %d, want %d", w.Code, statusClientClosed)
		}
		w, a := rvServe(h, req(context.Background()))
		if w.Code != http.StatusAccepted || a.Status != "reply_not_kept" || a.MessageID != m.ID ||
			a.Error != "the first caller left before the reply" || w.Header().Get("Idempotent-Replayed") != "true" {
			t.Errorf("repeat of a delivery whose caller left: %d %+v replayed %q; want 202 reply_not_kept, message_id %s, replayed",
				w.Code, a, w.Header().Get("Idempotent-Replayed"), m.ID)
		}
		if m.Reply.Resolve("late") {
			t.Error("Resolve after every caller went = true, want false")
		}
		if extra := rvDrain(stream); len(extra) != 0 {
			t.Errorf("%d more messages in the stream, want none", len(extra))
		}
	})
}

// panicSink panics on the first Send, as a program's Map function might.
type panicSink struct {
	fanin.Sink[Message]
	panicked atomic.Bool
}

func (p *panicSink) Send(ctx context.Context, m Message) error {
	if !p.panicked.Swap(true) {
		panic("the program's conversion failed")
	}
	return p.Sink.Send(ctx, m)
}

// TestPanicDoesNotWedgeDelivery: a first request that panics (net/http
// recovers it) settles its entry, so a retry is delivered.
func TestPanicDoesNotWedgeDelivery(t *testing.T) {
	e := newEnv(t, Config{Verifiers: signed}, 4)
	e.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the recovered panic
	s, _ := e.c.Sender()
	e.h.Attach(&panicSink{Sink: s})
	body := msg("alice", "hi", false)
	hdr := hmacHeader(DefaultSignatureHeader, secret, body)
	hdr.Set("Idempotency-Key", "p")
	if _, err := doRequest(e.client, mustRequest(t, e.srv.URL, body, hdr)); err == nil {
		t.Error("the panicking request was answered, want the connection dropped")
	}
	if n := e.h.dedup.len(); n != 0 {
		t.Errorf("table holds %d entries after the panic, want 0", n)
	}
	if n := e.h.verifying.Load(); n != 0 {
		t.Errorf("%d places of MaxVerifying still held after the panic", n)
	}
	check(t, e.post(body, "application/json", hdr), 202, "accepted")
}

// TestDedupMillionIDs feeds a million distinct IDs to the table, at a rate
// the window allows and all at one instant: it never holds more than
// MaxDeliveries entries, and its memory stays under the bound the package
// documentation states (about 300 bytes an entry).
func TestDedupMillionIDs(t *testing.T) {
	if testing.Short() {
		t.Skip("a million IDs")
	}
	const (
		n      = 1_000_000
		maxIDs = 100_000
		window = 10 * time.Minute
	)
	for _, tc := range []struct {
		name string
		n    int
		step time.Duration // between IDs
	}{
		// An ID is kept ReadTimeout past its window (see dedup), so the
		// rate the table allows is that of the two together.
		{"a million at the window's rate", n, (window + DefaultReadTimeout) / maxIDs},
		// Once the table is full every further ID takes the same path:
		// three times its size shows it.
		{"all at once", 3 * maxIDs, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := heapBytes()
			d := newDedup(window, DefaultReadTimeout, maxIDs)
			now := vectorTime
			accepted, full := 0, 0
			messageID := rand.Text()
			var id []byte
			for i := range tc.n {
				id = strconv.AppendInt(append(id[:0], "delivery-"...), int64(i), 10)
				e, _, c, _ := d.claim(d.key(true, string(id), 0), uint64(i), true, time.Time{}, now, func() time.Time { return now })
				switch c {
				case claimFirst:
					accepted++
					// Each entry holds a message ID of its own, as in use.
					d.finish(e, delivered(202, "accepted", strings.Clone(messageID), "", ""), true, now, time.Time{})
				case claimFull:
					full++
				default:
					t.Fatalf("claim of a new ID = %v", c)
				}
				if got := len(d.heap) + d.flying; got > maxIDs || len(d.entries) > got {
					t.Fatalf("table holds %d entries, over the bound %d", got, maxIDs)
				}
				now = now.Add(tc.step)
			}
			grown := heapBytes() - before
			perEntry := float64(grown) / float64(len(d.entries))
			t.Logf("accepted %d, refused %d, %d entries, heap grew %.1f MB (%.0f bytes an entry)",
				accepted, full, len(d.entries), float64(grown)/1e6, perEntry)
			if tc.step > 0 && full != 0 {
				t.Errorf("%d IDs refused at a rate the window allows, want 0", full)
			}
			if tc.step == 0 && (accepted != maxIDs || full != tc.n-maxIDs) {
				t.Errorf("accepted %d and refused %d at one instant, want %d and %d", accepted, full, maxIDs, tc.n-maxIDs)
			}
			if perEntry > 300 {
				t.Errorf("%.0f bytes an entry, over the documented 300", perEntry)
			}
			runtime.KeepAlive(d)
		})
	}
}

// heapBytes returns the live heap after a collection.
func heapBytes() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// trickle starts a request on a new pipe connection to ln: it writes the
// request line, headers and all of body but its last byte, and returns a
// function that writes that byte, and the channel of the answer.
func trickle(ln *pipeListener, head http.Header, body string) (finish func(), answerOf <-chan res2) {
	var b strings.Builder
	b.WriteString("POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n")
	head.Write(&b)
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", len(body))
	b.WriteString(body[:len(body)-1])
	c := ln.dial()
	out := make(chan res2, 1)
	go func() {
		defer c.Close()
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			out <- res2{code: -1}
			return
		}
		var a answer
		raw, _ := io.ReadAll(resp.Body)
		_ = json.Unmarshal(raw, &a)
		out <- res2{resp.StatusCode, a, resp.Header}
	}()
	written := make(chan struct{})
	go func() { _, _ = io.WriteString(c, b.String()); close(written) }()
	return func() { <-written; _, _ = io.WriteString(c, body[len(body)-1:]) }, out
}

// TestReplayWithSlowBodyNeverReachesStream: a replay that arrives while its
// delivery is remembered, and whose body then takes almost ReadTimeout to
// arrive while other requests come and go, gets the first answer; it is
// never delivered again, whatever the window and the sender's clock. Each
// case used to deliver the replay a second time: the table was consulted
// only after the body, and other requests had expired the ID meanwhile.
func TestReplayWithSlowBodyNeverReachesStream(t *testing.T) {
	const body = `{"type":"invoice.paid","data":{"n":1}}`
	for _, tc := range []struct {
		name   string
		window time.Duration // DedupWindow; 0 for the default
		skew   int64         // the sender's clock ahead of the handler's, in seconds
		key    bool          // an Idempotency-Key retry of an HMAC delivery instead
		replay time.Duration // when the replay arrives after the first
	}{
		{"default window, sender 295 s fast", 0, 295, false, 595 * time.Second},
		{"one-minute window, sender on time", time.Minute, 0, false, 300 * time.Second},
		{"Idempotency-Key retry at the end of the window", 0, 0, true, 10*time.Minute - time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				stream, s := rvStream(t, 8)
				sw := mustStandard(t, rvSecret)
				h := New(Config{Verifiers: []Verifier{sw, HMACSHA256("", rvKey)}, Raw: true, DedupWindow: tc.window})
				ln, cancel, done := rvRunPipe(t, h, s)
				defer func() { cancel(); <-done }()
				head := func() http.Header {
					if tc.key {
						return http.Header{DefaultSignatureHeader: {"sha256=" + hex.EncodeToString(Sign(rvKey, []byte(body)))}, "Idempotency-Key": {"k-1"}}
					}
					return standardHeader(t, rvSecret, "msg_1", time.Now().Unix()+tc.skew, []byte(body))
				}()
				finish, first := trickle(ln, head, body)
				finish()
				a := <-first
				if a.code != 202 {
					t.Fatalf("first delivery: %d %+v, want 202", a.code, a.a)
				}
				time.Sleep(tc.replay) // the bubble's fake clock moves; nothing waits on it
				finish, replay := trickle(ln, head, body)
				synctest.Wait()
				time.Sleep(DefaultReadTimeout - time.Second) // fake time: the body trickles in
				// Another delivery meanwhile, which expires what is due.
				other := `{"type":"other"}`
				finishOther, o := trickle(ln, standardHeader(t, rvSecret, "msg_2", time.Now().Unix(), []byte(other)), other)
				finishOther()
				if r := <-o; r.code != 202 {
					t.Fatalf("other delivery: %d %+v, want 202", r.code, r.a)
				}
				finish()
				r := <-replay
				if r.code != 202 || r.a.MessageID != a.a.MessageID || r.hd.Get("Idempotent-Replayed") != "true" {
					t.Errorf("replay: %d %+v replayed %q, want the first answer (id %s)", r.code, r.a, r.hd.Get("Idempotent-Replayed"), a.a.MessageID)
				}
				if got := rvDrain(stream); len(got) != 2 {
					t.Errorf("stream holds %d messages, want 2: the first and the other", len(got))
				}
			})
		})
	}
}

// TestLateBodyRefusedWhenMounted: mounted where the handler cannot set a
// read deadline (a writer without one), a body that arrives after
// ReadTimeout is refused 408, so that a replay whose body was held back
// until its delivery was forgotten cannot reach the stream.
func TestLateBodyRefusedWhenMounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stream, s := rvStream(t, 8)
		h := New(Config{Verifiers: []Verifier{mustStandard(t, rvSecret)}, Raw: true})
		h.Attach(s)
		const body = `{"type":"t"}`
		hdr := standardHeader(t, rvSecret, "msg_1", time.Now().Unix(), []byte(body))
		serve := func(r io.Reader) (*httptest.ResponseRecorder, answer) {
			req := httptest.NewRequest(http.MethodPost, "/", r)
			req.Header = hdr.Clone()
			req.Header.Set("Content-Type", "application/json")
			return rvServe(h, req)
		}
		w, first := serve(strings.NewReader(body))
		if w.Code != 202 {
			t.Fatalf("first: %d %+v", w.Code, first)
		}
		time.Sleep(5 * time.Minute) // fake time: the replay comes within the tolerance
		pr, pw := io.Pipe()
		got := make(chan *httptest.ResponseRecorder, 1)
		go func() { w, _ := serve(pr); got <- w }()
		time.Sleep(10 * time.Minute) // fake time: the body is held back until the ID is forgotten
		// Another delivery, whose lookup expires what is due.
		other := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		other.Header = standardHeader(t, rvSecret, "msg_2", time.Now().Unix(), []byte(body))
		other.Header.Set("Content-Type", "application/json")
		if w, a := rvServe(h, other); w.Code != 202 {
			t.Fatalf("other delivery: %d %+v", w.Code, a)
		}
		io.WriteString(pw, body)
		pw.Close()
		w = <-got
		if w.Code == 202 && w.Header().Get("Idempotent-Replayed") == "" {
			t.Errorf("late replay delivered again: %d %s", w.Code, w.Body)
		}
		if w.Code != 408 {
			t.Errorf("late body: %d %s, want 408 request_timeout", w.Code, w.Body)
		}
		if got := rvDrain(stream); len(got) != 2 {
			t.Errorf("stream holds %d messages, want 2: the first and the other", len(got))
		}
	})
}

// TestIDsSharedAcrossVerifiers: one delivery ID is one delivery, whichever
// verifier accepted it. A sender that signs with an old and a new secret,
// each held by its own verifier, is answered from the table when a replay
// carries only one of the signatures; it used to be delivered again.
func TestIDsSharedAcrossVerifiers(t *testing.T) {
	const oldSecret, newSecret = vectorSecret, "whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"
	e := newEnv(t, Config{Raw: true, Verifiers: []Verifier{mustStandard(t, oldSecret), mustStandard(t, newSecret)}}, 4)
	body := []byte(`{"type":"t"}`)
	both := standardHeader(t, oldSecret, "msg_1", vectorTime.Unix(), body)
	onlyNew := standardHeader(t, newSecret, "msg_1", vectorTime.Unix(), body)
	both.Add("Webhook-Signature", onlyNew.Get("Webhook-Signature"))
	first := e.post(body, "application/json", both)
	check(t, first, 202, "accepted")
	checkRepeat(t, first, e.post(body, "application/json", onlyNew))
	if got := e.drain(); len(got) != 1 {
		t.Errorf("stream held %d messages, want 1", len(got))
	}
}

// TestUnsignedIDCannotSpoilDelivery: GitHub's delivery ID and an
// Idempotency-Key are not signed, so a holder of one captured request can
// send its body under any ID. That must not refuse a genuine delivery
// that comes later with that ID: it used to be answered 422 id_reused, and
// its event was lost.
func TestUnsignedIDCannotSpoilDelivery(t *testing.T) {
	gh := []byte("github secret")
	for _, tc := range []struct {
		name  string
		v     Verifier
		key   []byte
		sig   string
		idHdr string
	}{
		{"GitHub", GitHub(gh), gh, "X-Hub-Signature-256", "X-GitHub-Delivery"},
		{"Idempotency-Key", HMACSHA256("", secret), secret, DefaultSignatureHeader, "Idempotency-Key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Config{Verifiers: []Verifier{tc.v}}, 4)
			captured := msg("mallory", "an old event", false)
			genuine := msg("alice", "a new event", false)
			hdr := func(body []byte, id string) http.Header {
				h := hmacHeader(tc.sig, tc.key, body)
				h.Set(tc.idHdr, id)
				return h
			}
			check(t, e.post(captured, "application/json", hdr(captured, "d-old")), 202, "accepted")
			// The attacker re-sends the captured body under the next ID.
			e.post(captured, "application/json", hdr(captured, "d-new"))
			r := e.post(genuine, "application/json", hdr(genuine, "d-new"))
			check(t, r, 202, "accepted")
			var found bool
			for _, m := range e.drain() {
				found = found || m.Content == "a new event"
			}
			if !found {
				t.Error("the genuine delivery is not in the stream")
			}
		})
	}
}

// TestCopiesCountAsPending: copies of a delivery that wait for its first
// request's outcome wait like a caller waiting for a reply, and count
// against MaxPending; they used to be counted by nothing, so that any
// number of copies waited at once while a new caller was refused.
func TestCopiesCountAsPending(t *testing.T) {
	e := newEnv(t, Config{Verifiers: signed, MaxPending: 2, ResponseTimeout: 5 * time.Second}, 4)
	body := msg("alice", "wait", true)
	hdr := hmacHeader(DefaultSignatureHeader, secret, body)
	hdr.Set("Idempotency-Key", "k-1")
	waits := make(chan struct{}, 8)
	e.h.hook = func(step string) {
		if step == "repeat waits" {
			waits <- struct{}{}
		}
	}
	first := make(chan reply, 1)
	go func() { first <- e.post(body, "application/json", hdr) }()
	m := <-e.stream // the first waits for its reply
	copyAnswer := make(chan reply, 1)
	go func() { copyAnswer <- e.post(body, "application/json", hdr) }()
	<-waits // one copy waits: MaxPending 2 is reached
	check(t, e.post(body, "application/json", hdr), 429, "too_many_pending")
	check(t, e.send("bob", "a new caller", true), 429, "too_many_pending")
	m.Reply.Resolve("pong")
	check(t, <-first, 200, "replied")
	check(t, <-copyAnswer, 200, "replied")
}
