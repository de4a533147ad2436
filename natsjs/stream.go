package natsjs

import (
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrUnsafeStream is returned, wrapped with every setting at fault, by
// [CheckStream] for a stream configuration under which a message that a
// [Publisher] reported stored can be lost before an agent acks it, or be
// stored twice by the Publisher's own retries.
var ErrUnsafeStream = errors.New("natsjs: stream can lose or duplicate accepted messages")

// MinDuplicates is the shortest duplicate window (the stream's
// Duplicates) that [CheckStream] accepts. A Publisher retries a publish
// whose PubAck was lost, with the same id, for as long as its caller's
// context lasts, each attempt waiting up to [PublishAttemptTimeout]; a
// retry that comes after the window is stored a second time. A minute
// covers a webhook's send (5 s by default) many times over; JetStream's
// default is 2 minutes.
const MinDuplicates = time.Minute

// SafeStreamConfig returns the configuration of a stream named name that
// captures subjects and keeps every message until it is removed on
// purpose: file storage, limits retention without limits, JetStream's
// default duplicate window of 2 minutes. [CheckStream] accepts it. Pass it
// to jetstream.JetStream's CreateStream or CreateOrUpdateStream, after
// setting Replicas, say, for a cluster.
func SafeStreamConfig(name string, subjects ...string) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:       name,
		Subjects:   subjects,
		Storage:    jetstream.FileStorage,
		Retention:  jetstream.LimitsPolicy,
		Discard:    jetstream.DiscardOld,
		Duplicates: 2 * time.Minute,
	}
}

// CheckStream returns nil if cfg keeps every message a [Publisher] stores
// until an agent acks it, and stores a Publisher's retries of one message
// once; otherwise an error matching [ErrUnsafeStream] that names each
// setting at fault:
//
//   - memory storage, which a restart of the server empties;
//   - interest retention, which keeps nothing while no consumer is
//     interested;
//   - MaxAge, which removes old messages whatever Discard says;
//   - MaxMsgs or MaxBytes with DiscardOld, which remove the oldest
//     messages, consumed or not (with DiscardNew the stream refuses the
//     publish instead, and Send returns that error);
//   - MaxMsgsPerSubject, unless Discard is DiscardNew with
//     DiscardNewPerSubject;
//   - a Duplicates window shorter than [MinDuplicates] (0 means
//     JetStream's default, 2 minutes).
//
// Check a stream that exists with its CachedInfo().Config. Work-queue
// retention passes: it removes a message only once it is acked.
func CheckStream(cfg jetstream.StreamConfig) error {
	var faults []error
	fault := func(format string, args ...any) { faults = append(faults, fmt.Errorf(format, args...)) }
	if cfg.Storage == jetstream.MemoryStorage {
		fault("memory storage loses every message when the server restarts")
	}
	if cfg.Retention == jetstream.InterestPolicy {
		fault("interest retention keeps nothing while no consumer is interested")
	}
	if cfg.MaxAge > 0 {
		fault("MaxAge %v removes unacked messages", cfg.MaxAge)
	}
	if cfg.Discard == jetstream.DiscardOld {
		if cfg.MaxMsgs > 0 {
			fault("MaxMsgs %d with DiscardOld removes unacked messages", cfg.MaxMsgs)
		}
		if cfg.MaxBytes > 0 {
			fault("MaxBytes %d with DiscardOld removes unacked messages", cfg.MaxBytes)
		}
	}
	if cfg.MaxMsgsPerSubject > 0 && !(cfg.Discard == jetstream.DiscardNew && cfg.DiscardNewPerSubject) {
		fault("MaxMsgsPerSubject %d without DiscardNew and DiscardNewPerSubject removes unacked messages", cfg.MaxMsgsPerSubject)
	}
	if cfg.Duplicates > 0 && cfg.Duplicates < MinDuplicates {
		fault("Duplicates %v is shorter than %v: a retry after a lost PubAck may be stored twice", cfg.Duplicates, MinDuplicates)
	}
	if len(faults) == 0 {
		return nil
	}
	return fmt.Errorf("%w: stream %q: %w", ErrUnsafeStream, cfg.Name, errors.Join(faults...))
}
