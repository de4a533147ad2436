package natsjs

import (
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// fakeMsg records when InProgress was called, on the synctest clock.
type fakeMsg struct {
	jetstream.Msg // nil: calling anything else panics
	mu            sync.Mutex
	start         time.Time
	progress      []time.Duration // since start
	acks          int
}

func (m *fakeMsg) InProgress() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.progress = append(m.progress, time.Since(m.start))
	return nil
}

func (m *fakeMsg) Ack() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.acks++
	return nil
}

func (m *fakeMsg) times() []time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.progress)
}

// TestKeeperExtendsEveryThirdOfAckWaitUpToMaxExtension checks the exact
// instants at which the keeper sends InProgress, on the synctest clock:
// AckWait 3 s (a tick of 1 s), MaxExtension 5 s.
func TestKeeperExtendsEveryThirdOfAckWaitUpToMaxExtension(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &sourceState{cfg: SourceConfig{MaxExtension: 5 * time.Second}}
		sess := &session{
			src:      src,
			ackWait:  3 * time.Second,
			window:   8,
			closeNC:  func() {},
			isClosed: func() bool { return false },
			open:     make(map[*delivery]struct{}),
		}
		start := time.Now()
		early := &fakeMsg{start: start}   // received at 0
		late := &fakeMsg{start: start}    // received at 1.5 s
		settled := &fakeMsg{start: start} // received at 0, acked at 2.5 s
		dEarly := sess.track(early, time.Now())
		dSettled := sess.track(settled, time.Now())

		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() { src.keep(sess, nil, func(error) {}, stop) })

		time.Sleep(1500 * time.Millisecond)
		dLate := sess.track(late, time.Now())
		time.Sleep(time.Second)
		if err := dSettled.settle(&src.stats.acked, jetstream.Msg.Ack); err != nil {
			t.Fatalf("settle = %v, want nil", err)
		}
		// The program's own InProgress on the late delivery at 4.25 s
		// restarts its AckWait, so the keeper skips it at 5 s.
		time.Sleep(1750 * time.Millisecond)
		if err := dLate.extend(); err != nil {
			t.Fatalf("extend = %v, want nil", err)
		}
		time.Sleep(10 * time.Second)
		close(stop)
		wg.Wait()

		s := time.Second
		for _, c := range []struct {
			name string
			m    *fakeMsg
			want []time.Duration
		}{
			// Received at 0: every tick while under MaxExtension (the
			// tick at 5 s is not: it is 5 s old).
			{"early", early, []time.Duration{1 * s, 2 * s, 3 * s, 4 * s}},
			// Received at 1.5 s: first due at the tick a whole tick
			// later (3 s), extended by the program at 4.25 s, then by
			// the keeper at 6 s, the last tick under 1.5 s + 5 s.
			{"late", late, []time.Duration{3 * s, 4 * s, 4250 * time.Millisecond, 6 * s}},
			// Acked at 2.5 s: no extension after.
			{"settled", settled, []time.Duration{1 * s, 2 * s}},
		} {
			if got := c.m.times(); !slices.Equal(got, c.want) {
				t.Errorf("%s: InProgress at %v, want %v", c.name, got, c.want)
			}
		}
		if n := src.stats.extended.Load(); n != 9 {
			t.Errorf("extended = %d, want 9 (the keeper's, not the program's)", n)
		}
		if err := dEarly.settle(&src.stats.acked, jetstream.Msg.Ack); err != nil {
			t.Errorf("settle = %v, want nil", err)
		}
	})
}
