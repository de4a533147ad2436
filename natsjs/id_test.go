package natsjs

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/fanin-go/fanin"
)

// idCandidates returns distinct ids that put each byte value at the
// start, in the middle and at the end of an id, and ids made only of
// blanks.
func idCandidates() []string {
	var ids []string
	for b := range 256 {
		c := string([]byte{byte(b)})
		ids = append(ids, c+"<", ">"+c+"<", ">"+c)
	}
	ids = append(ids, " ", "\t", "  ", "\r\n", " \t ")
	slices.Sort(ids)
	return slices.Compact(ids)
}

// TestIDIsCarriedExactlyOrRefused sends ids holding every byte value, and
// checks that each is either refused at once, without publishing, or
// stored and delivered exactly as sent: the wire never trims or rewrites
// an id, so two distinct ids never collapse into one and Meta.ID always
// equals the id sent.
func TestIDIsCarriedExactlyOrRefused(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := NewPublisher(f.js, subject, 0, func(id string) (string, []byte, error) { return id, []byte("x"), nil })
	defer p.Close(ctx)
	sent := map[uint64]string{} // stream sequence -> id
	refused := 0
	for _, id := range idCandidates() {
		ack, err := p.Publish(ctx, id)
		switch {
		case errors.Is(err, ErrEmptyID) || errors.Is(err, ErrInvalidID):
			refused++
			continue
		case err != nil:
			t.Fatalf("Publish(%q) = %v, want nil, ErrEmptyID or ErrInvalidID", id, err)
		case ack.Duplicate:
			t.Errorf("Publish(%q) was stored as a duplicate of sequence %d (%q)", id, ack.Sequence, sent[ack.Sequence])
			continue
		}
		sent[ack.Sequence] = id
	}
	if n := f.streamMsgs(); n != uint64(len(sent)) {
		t.Errorf("stream holds %d messages, want the %d accepted", n, len(sent))
	}
	t.Logf("%d ids carried, %d refused", len(sent), refused)

	src := f.source(func(cfg *SourceConfig) { cfg.Consumer.MaxAckPending = 1024 })
	r := startRun(t, src, 1024)
	for range len(sent) {
		d := r.recv()
		if want := sent[d.Meta.StreamSeq]; d.Meta.ID != want {
			t.Errorf("delivery of sequence %d: Meta.ID = %q, want %q", d.Meta.StreamSeq, d.Meta.ID, want)
		}
		d.Ack()
	}
	if err := r.stop(); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
}

// TestIDsTheWireWouldAlterAreRefused names the ids that nats.go would
// trim or rewrite in the Nats-Msg-Id header: a blank id is refused as
// empty, one with surrounding blanks or a line break as invalid, both
// matching fanin.ErrRefused, and nothing is published.
func TestIDsTheWireWouldAlterAreRefused(t *testing.T) {
	f := newFixture(t)
	p := NewPublisher(f.js, subject, 0, func(id string) (string, []byte, error) { return id, []byte("x"), nil })
	defer p.Close(context.Background())
	for _, c := range []struct {
		id   string
		want error
	}{
		{" ", ErrEmptyID},
		{"\t", ErrEmptyID},
		{"\r\n", ErrEmptyID},
		{"order-1 ", ErrInvalidID},
		{" order-1", ErrInvalidID},
		{"a\nb", ErrInvalidID},
		{"a\rb", ErrInvalidID},
		{"x\r\n", ErrInvalidID},
		{"a\tb", ErrInvalidID},
		{"a\x00b", ErrInvalidID},
	} {
		if err := p.Send(context.Background(), c.id); !errors.Is(err, c.want) {
			t.Errorf("Send(%q) = %v, want %v", c.id, err, c.want)
		}
		err := p.TrySend(c.id)
		if !errors.Is(err, c.want) {
			t.Errorf("TrySend(%q) = %v, want %v", c.id, err, c.want)
		}
		if !errors.Is(err, fanin.ErrRefused) {
			t.Errorf("TrySend(%q) = %v, want an error matching fanin.ErrRefused: a webhook answers it 422", c.id, err)
		}
	}
	if n := f.streamMsgs(); n != 0 {
		t.Errorf("stream holds %d messages, want 0", n)
	}
}
