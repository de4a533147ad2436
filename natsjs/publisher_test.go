package natsjs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/fanin-go/fanin"
	"github.com/fanin-go/fanin/webhook"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// streamMsgs returns how many messages the stream holds.
func (f *fixture) streamMsgs() uint64 {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	s, err := f.js.Stream(ctx, streamName)
	if err != nil {
		f.t.Fatalf("Stream: %v", err)
	}
	return s.CachedInfo().State.Msgs
}

// down stops the server; up starts it again on the same store and port.
func (f *fixture) down() { f.srv.Stop() }

func (f *fixture) up() {
	f.t.Helper()
	srv, err := f.srv.Again()
	if err != nil {
		f.t.Fatalf("Again: %v", err)
	}
	f.srv = srv
}

func TestPublishSameIDIsStoredOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	first, err := f.pub.Publish(ctx, "a|one")
	if err != nil {
		t.Fatalf("Publish = %v, want nil", err)
	}
	again, err := f.pub.Publish(ctx, "a|one, sent again")
	if err != nil {
		t.Fatalf("Publish again = %v, want nil", err)
	}
	if first.Duplicate || !again.Duplicate || again.Sequence != first.Sequence {
		t.Errorf("PubAcks %+v then %+v, want the second a duplicate of the first", first, again)
	}
	if n := f.streamMsgs(); n != 1 {
		t.Errorf("stream holds %d messages, want 1", n)
	}
	if err := f.pub.TrySend("b|two"); err != nil {
		t.Errorf("TrySend with a free slot = %v, want nil", err)
	}
	if err := f.pub.TrySend("b|two, sent again"); err != nil {
		t.Errorf("TrySend of a duplicate = %v, want nil", err)
	}
	if n := f.streamMsgs(); n != 2 {
		t.Errorf("stream holds %d messages, want 2", n)
	}
	if got, want := f.pub.Stats(), (PublisherStats{Published: 2, Duplicates: 2}); got != want {
		t.Errorf("Stats() = %+v, want %+v", got, want)
	}
}

// TestPublishRetriesThroughOutageStoredOnce publishes while the server is
// down for longer than one attempt: every attempt of a publish reaches the
// server once it is back (the client buffers them), and the stream keeps
// one copy of each message.
func TestPublishRetriesThroughOutageStoredOnce(t *testing.T) {
	f := newFixture(t)
	f.down()
	// Once the client knows, it buffers what is published until it has
	// reconnected, so no attempt is lost on the dead socket.
	eventually(t, "client reconnecting", func() bool { return f.nc.Status() == nats.RECONNECTING })
	const n = 5
	acks := make([]*jetstream.PubAck, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	ctx, cancel := context.WithTimeout(context.Background(), 4*wait)
	defer cancel()
	for i := range n {
		wg.Go(func() { acks[i], errs[i] = f.pub.Publish(ctx, fmt.Sprintf("out-%d|x", i)) })
	}
	// Pacing, not proof: the outage must outlast one attempt, so that
	// each publish is sent at least twice.
	time.Sleep(PublishAttemptTimeout + 500*time.Millisecond)
	f.up()
	wg.Wait()
	dups := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Publish across the outage = %v, want nil", errs[i])
		}
		if acks[i].Duplicate {
			dups++
		}
	}
	if dups == 0 {
		t.Errorf("no PubAck was a duplicate: the retries did not reach the server")
	}
	st := f.pub.Stats()
	if st.Published+st.Duplicates != n || st.Duplicates != uint64(dups) || st.Retries < n || st.Failed != 0 {
		t.Errorf("Stats() = %+v, want %d PubAcks, %d of them duplicates, at least one retry each, no failure", st, n, dups)
	}
	if got := f.streamMsgs(); got != n {
		t.Errorf("stream holds %d messages, want %d: one per id", got, n)
	}
}

func TestPublishFailureIsAnError(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()

	// No stream captures the subject: nobody answers, which may be a
	// stream being restored, so it is retried until ctx ends.
	nowhere := NewPublisher(f.js, "nowhere.in", 1, encodeString)
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if _, err := nowhere.Publish(short, "x|y"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Publish with no stream = %v, want context.DeadlineExceeded", err)
	}
	nowhere.Close(ctx)

	// The stream refuses an oversized message: that is final.
	if _, err := f.js.CreateStream(ctx, jetstream.StreamConfig{
		Name: "SMALL", Subjects: []string{"small.>"}, MaxMsgSize: 16,
	}); err != nil {
		t.Fatalf("CreateStream: %v", err)
	}
	small := NewPublisher(f.js, "small.in", 1, encodeString)
	defer small.Close(ctx)
	long, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var apiErr *jetstream.APIError
	if _, err := small.Publish(long, "big|0123456789abcdef0123456789"); !errors.As(err, &apiErr) {
		t.Errorf("Publish of an oversized message = %v, want the stream's refusal", err)
	}
	if got := small.Stats(); got.Failed != 1 || got.Published != 0 || got.Retries != 0 {
		t.Errorf("Stats() after a refused publish = %+v, want one failure and no retry", got)
	}

	// A message that cannot be encoded is refused before it is sent.
	if err := f.pub.Send(ctx, "no id"); err == nil {
		t.Errorf("Send of an unencodable message = nil, want an error")
	}
	if n := f.streamMsgs(); n != 0 {
		t.Errorf("stream holds %d messages, want 0", n)
	}
}

// TestPublisherBoundsInFlightAndCloses holds two publishes in flight by
// keeping the server down, and checks the bound, TrySend's ErrFull, and
// that Close waits for the publishes in flight.
func TestPublisherBoundsInFlightAndCloses(t *testing.T) {
	f := newFixture(t)
	p := NewPublisher(f.js, subject, 2, encodeString)
	f.down()
	ctx, cancel := context.WithTimeout(context.Background(), 4*wait)
	defer cancel()
	errs := make(chan error, 2)
	for i := range 2 {
		go func() { errs <- p.Send(ctx, fmt.Sprintf("slow-%d|x", i)) }()
	}
	eventually(t, "both slots taken", func() bool { return len(p.slots) == 2 })
	if err := p.TrySend("try|x"); !errors.Is(err, fanin.ErrFull) {
		t.Errorf("TrySend with every slot taken = %v, want ErrFull", err)
	}
	short, cancelShort := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancelShort()
	if err := p.Send(short, "late|x"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Send waiting for a slot = %v, want DeadlineExceeded", err)
	}
	closeShort, cancelClose := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancelClose()
	if err := p.Close(closeShort); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close with publishes in flight = %v, want DeadlineExceeded", err)
	}
	select {
	case <-p.Done():
	default:
		t.Errorf("Done not closed after Close")
	}
	if err := p.Send(ctx, "after|x"); !errors.Is(err, fanin.ErrClosed) {
		t.Errorf("Send after Close = %v, want fanin.ErrClosed", err)
	}
	if err := p.TrySend("after|x"); !errors.Is(err, fanin.ErrClosed) {
		t.Errorf("TrySend after Close = %v, want fanin.ErrClosed", err)
	}
	f.up()
	for range 2 {
		if err := <-errs; err != nil {
			t.Errorf("Send in flight during Close = %v, want nil", err)
		}
	}
	if err := p.Close(ctx); err != nil {
		t.Errorf("Close once the publishes finished = %v, want nil", err)
	}
	if n := f.streamMsgs(); n != 2 {
		t.Errorf("stream holds %d messages, want 2", n)
	}
}

func TestNewPublisherPanicsOnProgrammerError(t *testing.T) {
	f := newFixture(t)
	for name, call := range map[string]func(){
		"nil js":        func() { NewPublisher[string](nil, subject, 0, encodeString) },
		"empty subject": func() { NewPublisher(f.js, "", 0, encodeString) },
		"nil encode":    func() { NewPublisher[string](f.js, subject, 0, nil) },
		"negative":      func() { NewPublisher(f.js, subject, -1, encodeString) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewPublisher with %s did not panic", name)
				}
			}()
			call()
		}()
	}
}

// TestPublishRefusesAnEmptyID: a message with an empty id could be stored
// twice by the Publisher's own retries; it is refused before anything is
// published, by Send and TrySend alike.
func TestPublishRefusesAnEmptyID(t *testing.T) {
	f := newFixture(t)
	p := NewPublisher(f.js, subject, 0, func(s string) (string, []byte, error) { return "", []byte(s), nil })
	defer p.Close(context.Background())
	if err := p.Send(context.Background(), "x"); !errors.Is(err, ErrEmptyID) {
		t.Errorf("Send with an empty id = %v, want ErrEmptyID", err)
	}
	if err := p.TrySend("x"); !errors.Is(err, ErrEmptyID) {
		t.Errorf("TrySend with an empty id = %v, want ErrEmptyID", err)
	}
	if n := f.streamMsgs(); n != 0 {
		t.Errorf("stream holds %d messages, want 0", n)
	}
}

// countingJS is a jetstream.JetStream that counts publishes and answers
// each with a PubAck at once.
type countingJS struct {
	jetstream.JetStream // nil: calling anything else panics
	mu                  sync.Mutex
	published           int // guarded by mu
}

func (js *countingJS) PublishMsg(context.Context, *nats.Msg, ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	js.mu.Lock()
	defer js.mu.Unlock()
	js.published++
	return &jetstream.PubAck{}, nil
}

// TestCloseRefusesASendThatFindsASlotFree: a call that has begun before
// Close and has not sent yet returns ErrClosed, even when a slot is free
// as it comes to wait for one (both cases of its select are then ready,
// and Go picks one at random, so the case runs many times).
func TestCloseRefusesASendThatFindsASlotFree(t *testing.T) {
	for _, try := range []bool{false, true} {
		name := "Send"
		if try {
			name = "TrySend"
		}
		t.Run(name, func(t *testing.T) {
			for range 64 {
				js := &countingJS{}
				var p *Publisher[string]
				closed := make(chan error, 1)
				// encode runs after the call has begun and before it
				// takes a slot: Close happens there.
				p = NewPublisher(js, subject, 1, func(s string) (string, []byte, error) {
					go func() { closed <- p.Close(context.Background()) }()
					<-p.Done()
					return s, []byte(s), nil
				})
				var err error
				if try {
					err = p.TrySend("x")
				} else {
					err = p.Send(context.Background(), "x")
				}
				if !errors.Is(err, fanin.ErrClosed) {
					t.Fatalf("%s that began before Close = %v, want ErrClosed", name, err)
				}
				if err := <-closed; err != nil {
					t.Fatalf("Close = %v, want nil", err)
				}
				if js.published != 0 {
					t.Fatalf("%d published after Close, want 0", js.published)
				}
			}
		})
	}
}

// TestEncodeJSONFindsTheReplyHandle: EncodeJSON refuses a message that
// waits for a reply wherever JSON would reach its handle (the message
// itself, a field, a promoted field of an embedded struct, through
// pointers, interfaces, slices and maps), and encodes the same messages
// when their handle wants no reply.
func TestEncodeJSONFindsTheReplyHandle(t *testing.T) {
	type msg struct {
		Text  string
		Reply fanin.Reply[string]
	}
	type embedded struct {
		webhook.Message
		Kind string
	}
	type embeddedPtr struct{ *webhook.Message }
	type embeddedReply struct {
		fanin.Reply[string]
		ID string
	}
	type ptrField struct{ Reply *fanin.Reply[string] }
	type anyField struct{ Payload any }
	type batch struct{ Messages []webhook.Message }
	type byKey struct{ Messages map[string]*msg }
	pending := fanin.NewPending[string](1)
	defer pending.Close()
	var wanted fanin.Reply[string]
	pending.Request(context.Background(), func(r fanin.Reply[string]) error {
		wanted = r
		return errors.New("not sent") // Request returns at once; r stays Wanted
	})
	if !wanted.Wanted() {
		t.Fatal("the handle of a request does not report Wanted")
	}
	// Each case encodes one message with its handle wanted (r = wanted)
	// and the same message with the zero handle.
	cases := []struct {
		name   string
		encode func(r fanin.Reply[string]) error
	}{
		{"struct", encodeWith(func(r fanin.Reply[string]) msg { return msg{Text: "x", Reply: r} })},
		{"pointer", encodeWith(func(r fanin.Reply[string]) *msg { return &msg{Reply: r} })},
		{"handle", encodeWith(func(r fanin.Reply[string]) fanin.Reply[string] { return r })},
		{"embedded webhook.Message", encodeWith(func(r fanin.Reply[string]) embedded {
			return embedded{Message: webhook.Message{ID: "x", Reply: r}}
		})},
		{"embedded *webhook.Message", encodeWith(func(r fanin.Reply[string]) embeddedPtr {
			return embeddedPtr{&webhook.Message{ID: "x", Reply: r}}
		})},
		{"embedded handle", encodeWith(func(r fanin.Reply[string]) embeddedReply { return embeddedReply{Reply: r} })},
		{"pointer field", encodeWith(func(r fanin.Reply[string]) ptrField { return ptrField{&r} })},
		{"handle in an any field", encodeWith(func(r fanin.Reply[string]) anyField { return anyField{r} })},
		{"message in an any field", encodeWith(func(r fanin.Reply[string]) anyField { return anyField{&msg{Reply: r}} })},
		{"handle as any", encodeWith(func(r fanin.Reply[string]) any { return r })},
		{"webhook.Message as any", encodeWith(func(r fanin.Reply[string]) any { return webhook.Message{ID: "x", Reply: r} })},
		{"slice element", encodeWith(func(r fanin.Reply[string]) batch {
			return batch{[]webhook.Message{{ID: "a"}, {ID: "b", Reply: r}}}
		})},
		{"map value", encodeWith(func(r fanin.Reply[string]) byKey { return byKey{map[string]*msg{"a": nil, "b": {Reply: r}}} })},
	}
	for _, c := range cases {
		err := c.encode(wanted)
		if !errors.Is(err, ErrReplyWanted) || !errors.Is(err, fanin.ErrRefused) {
			t.Errorf("%s, wanted: EncodeJSON = %v, want ErrReplyWanted, matching fanin.ErrRefused", c.name, err)
		}
		if err := c.encode(fanin.Reply[string]{}); err != nil {
			t.Errorf("%s, zero handle: EncodeJSON = %v, want nil", c.name, err)
		}
	}
	_, _, err := EncodeJSON(func(*msg) string { return "id" })(nil)
	if err != nil {
		t.Errorf("nil pointer: EncodeJSON = %v, want nil", err)
	}
	_, _, err = EncodeJSON(func(any) string { return "id" })(nil)
	if err != nil {
		t.Errorf("nil any: EncodeJSON = %v, want nil", err)
	}
}

// encodeWith returns a function that encodes with EncodeJSON the message
// that build makes around a reply handle.
func encodeWith[M any](build func(fanin.Reply[string]) M) func(fanin.Reply[string]) error {
	encode := EncodeJSON(func(M) string { return "id" })
	return func(r fanin.Reply[string]) error {
		_, _, err := encode(build(r))
		return err
	}
}

// TestEncodeJSONChecksOnlyTypesThatCanHoldAHandle: a message type with no
// handle and no interface anywhere in it gets no checker, so EncodeJSON
// costs it nothing but its encoding; one with an interface field does.
func TestEncodeJSONChecksOnlyTypesThatCanHoldAHandle(t *testing.T) {
	type plain struct {
		ID    string
		Tags  []string
		Inner struct{ N map[string]int }
		Next  *plain // a recursive type ends the search
	}
	type open struct {
		ID      string
		Payload any
	}
	if checkerFor(reflect.TypeFor[plain]()) != nil {
		t.Errorf("checkerFor(plain) != nil, want nil: it can hold no handle")
	}
	if checkerFor(reflect.TypeFor[open]()) == nil {
		t.Errorf("checkerFor(open) = nil, want a checker: its any may hold a handle")
	}
}

// TestEncodeJSONRefusesWhatItCannotEncode: a value that encoding/json
// cannot encode (a NaN, a cyclic value) is refused with an error that
// matches fanin.ErrRefused and the encoding error, and the walk that
// looks for reply handles ends on a cycle. Through a Publisher nothing is
// published.
func TestEncodeJSONRefusesWhatItCannotEncode(t *testing.T) {
	type node struct {
		Next    *node
		Payload any
	}
	cyclic := &node{}
	cyclic.Next = cyclic
	_, _, err := EncodeJSON(func(*node) string { return "id" })(cyclic)
	var unsupported *json.UnsupportedValueError
	if !errors.Is(err, fanin.ErrRefused) || !errors.As(err, &unsupported) {
		t.Errorf("EncodeJSON(cyclic) = %v, want an error matching fanin.ErrRefused and *json.UnsupportedValueError", err)
	}

	js := &countingJS{}
	pub := NewPublisher(js, subject, 0, EncodeJSON(func(float64) string { return "nan" }))
	defer pub.Close(context.Background())
	err = pub.Send(context.Background(), math.NaN())
	if !errors.Is(err, fanin.ErrRefused) || !errors.As(err, &unsupported) {
		t.Errorf("Send(NaN) = %v, want an error matching fanin.ErrRefused and *json.UnsupportedValueError", err)
	}
	js.mu.Lock()
	n := js.published
	js.mu.Unlock()
	if n != 0 {
		t.Errorf("Send(NaN) published %d times, want 0", n)
	}
	// An error of any encode function is the message's fault.
	bad := errors.New("bad message")
	pub2 := NewPublisher(js, subject, 0, func(string) (string, []byte, error) { return "", nil, bad })
	defer pub2.Close(context.Background())
	if err := pub2.Send(context.Background(), "x"); !errors.Is(err, fanin.ErrRefused) || !errors.Is(err, bad) {
		t.Errorf("Send with a failing encode = %v, want an error matching fanin.ErrRefused and the encode error", err)
	}
}
