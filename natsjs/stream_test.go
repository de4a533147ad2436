package natsjs

import (
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// TestCheckStreamRefusesWhatCanLoseAcceptedMessages: CheckStream passes
// the configuration that SafeStreamConfig returns, and refuses each
// setting under which a message answered "accepted" can be lost or stored
// twice, naming it.
func TestCheckStreamRefusesWhatCanLoseAcceptedMessages(t *testing.T) {
	safe := SafeStreamConfig("S", "s.>")
	if err := CheckStream(safe); err != nil {
		t.Fatalf("CheckStream(SafeStreamConfig) = %v, want nil", err)
	}
	if safe.Storage != jetstream.FileStorage || safe.Name != "S" || len(safe.Subjects) != 1 || safe.Subjects[0] != "s.>" {
		t.Errorf("SafeStreamConfig = %+v, want S on s.> with file storage", safe)
	}
	for _, c := range []struct {
		name   string
		change func(*jetstream.StreamConfig)
	}{
		{"memory storage", func(c *jetstream.StreamConfig) { c.Storage = jetstream.MemoryStorage }},
		{"interest retention", func(c *jetstream.StreamConfig) { c.Retention = jetstream.InterestPolicy }},
		{"max age, discard old", func(c *jetstream.StreamConfig) { c.MaxAge = time.Hour }},
		{"max msgs, discard old", func(c *jetstream.StreamConfig) { c.MaxMsgs = 1000 }},
		{"max bytes, discard old", func(c *jetstream.StreamConfig) { c.MaxBytes = 1 << 20 }},
		{"max msgs per subject, discard old", func(c *jetstream.StreamConfig) { c.MaxMsgsPerSubject = 1 }},
		{"short duplicate window", func(c *jetstream.StreamConfig) { c.Duplicates = PublishAttemptTimeout }},
		{"max age, discard new", func(c *jetstream.StreamConfig) {
			c.MaxAge, c.Discard = time.Hour, jetstream.DiscardNew
		}},
		{"max msgs per subject, discard new for the stream only", func(c *jetstream.StreamConfig) {
			c.MaxMsgsPerSubject, c.Discard = 1, jetstream.DiscardNew
		}},
	} {
		cfg := SafeStreamConfig("S", "s.>")
		c.change(&cfg)
		if err := CheckStream(cfg); !errors.Is(err, ErrUnsafeStream) {
			t.Errorf("CheckStream with %s = %v, want ErrUnsafeStream", c.name, err)
		}
	}
	// Limits with DiscardNew refuse a publish instead: Send returns an
	// error, nothing accepted is lost.
	cfg := SafeStreamConfig("S", "s.>")
	cfg.MaxMsgs, cfg.MaxBytes, cfg.Discard = 1000, 1<<20, jetstream.DiscardNew
	if err := CheckStream(cfg); err != nil {
		t.Errorf("CheckStream with limits and DiscardNew = %v, want nil", err)
	}
}
