package natsjs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// replyMsg is a delivery's message whose AckSync waits until the test
// answers it; it records every reply sent on it.
type replyMsg struct {
	jetstream.Msg // nil: calling anything else panics
	answer        chan error

	mu   sync.Mutex
	sent []string // guarded by mu
}

func newReplyMsg() *replyMsg { return &replyMsg{answer: make(chan error)} }

func (m *replyMsg) record(reply string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, reply)
}

func (m *replyMsg) replies() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.sent)
}

func (m *replyMsg) DoubleAck(ctx context.Context) error {
	m.record("AckSync")
	select {
	case err := <-m.answer:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (m *replyMsg) Ack() error        { m.record("Ack"); return nil }
func (m *replyMsg) Nak() error        { m.record("Nak"); return nil }
func (m *replyMsg) InProgress() error { m.record("InProgress"); return nil }

// replySession is a session that no Run serves any longer, holding one
// delivery of a replyMsg. Closing its connection fails an AckSync waiting
// on it, as closing a nats.Conn does.
type replySession struct {
	*session
	msg    *replyMsg
	d      Delivery[string]
	closes int // connection closes; read after the goroutines have ended
}

func newReplySession() *replySession {
	rs := &replySession{msg: newReplyMsg()}
	rs.session = &session{
		src:      &sourceState{},
		ackWait:  time.Minute,
		isClosed: func() bool { return false },
		gone:     make(chan struct{}),
		open:     make(map[*delivery]struct{}),
		ended:    true,
	}
	rs.closeNC = func() {
		rs.closes++
		select {
		case rs.msg.answer <- nats.ErrConnectionClosed:
		default:
		}
	}
	rs.d = Delivery[string]{d: rs.track(rs.msg, time.Now())}
	return rs
}

// ackSync starts an AckSync and returns where its result will be sent,
// once it waits for the server.
func (rs *replySession) ackSync(ctx context.Context) <-chan error {
	res := make(chan error, 1)
	go func() { res <- rs.d.AckSync(ctx) }()
	synctest.Wait()
	return res
}

func (rs *replySession) unsettled() int {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return len(rs.open)
}

// TestAckDuringAckSyncIsFinal: an Ack, Nak or Term made while an AckSync
// waits is refused with ErrSettled at once, and stays true: the
// delivery is settled however the AckSync ends.
func TestAckDuringAckSyncIsFinal(t *testing.T) {
	for _, fail := range []bool{false, true} {
		t.Run(fmt.Sprintf("AckSync fails %v", fail), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rs := newReplySession()
				res := rs.ackSync(context.Background())
				if err := rs.d.Ack(); !errors.Is(err, ErrSettled) {
					t.Fatalf("Ack during AckSync = %v, want ErrSettled", err)
				}
				var want error
				if fail {
					want = errors.New("no answer")
				}
				rs.msg.answer <- want
				if err := <-res; err != want {
					t.Errorf("AckSync = %v, want %v", err, want)
				}
				if err := rs.d.Nak(0); !errors.Is(err, ErrSettled) {
					t.Errorf("Nak after the AckSync (failed %v) ended = %v, want ErrSettled", fail, err)
				}
				if err := rs.d.InProgress(); !errors.Is(err, ErrSettled) {
					t.Errorf("InProgress after the AckSync (failed %v) ended = %v, want ErrSettled", fail, err)
				}
				if got, want := rs.msg.replies(), []string{"AckSync"}; !slices.Equal(got, want) {
					t.Errorf("replies sent = %v, want %v", got, want)
				}
				if n := rs.unsettled(); n != 0 || rs.closes != 1 {
					t.Errorf("%d unsettled and %d connection closes, want 0 and 1", n, rs.closes)
				}
			})
		})
	}
}

// TestAckSyncWaitsForAckSync: a second AckSync waits for the first; it
// learns the first's success as ErrSettled, and after the first's failure
// sends its own. InProgress goes out while an AckSync waits.
func TestAckSyncWaitsForAckSync(t *testing.T) {
	for _, firstFails := range []bool{false, true} {
		t.Run(fmt.Sprintf("first fails %v", firstFails), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rs := newReplySession()
				first := rs.ackSync(context.Background())
				second := rs.ackSync(context.Background())
				if err := rs.d.InProgress(); err != nil {
					t.Errorf("InProgress during AckSync = %v, want nil", err)
				}
				if got, want := rs.msg.replies(), []string{"AckSync", "InProgress"}; !slices.Equal(got, want) {
					t.Fatalf("replies sent while the first AckSync waits = %v, want %v: the second must wait", got, want)
				}
				if !firstFails {
					rs.msg.answer <- nil
					if err := <-first; err != nil {
						t.Errorf("first AckSync = %v, want nil", err)
					}
					if err := <-second; !errors.Is(err, ErrSettled) {
						t.Errorf("second AckSync after the first succeeded = %v, want ErrSettled", err)
					}
					return
				}
				lost := errors.New("no answer")
				rs.msg.answer <- lost
				if err := <-first; err != lost {
					t.Errorf("first AckSync = %v, want %v", err, lost)
				}
				synctest.Wait()
				rs.msg.answer <- nil
				if err := <-second; err != nil {
					t.Errorf("second AckSync after the first failed = %v, want nil", err)
				}
				if got, want := rs.msg.replies(), []string{"AckSync", "InProgress", "AckSync"}; !slices.Equal(got, want) {
					t.Errorf("replies sent = %v, want %v", got, want)
				}
				if n := rs.src.stats.acked.Load(); n != 1 {
					t.Errorf("acked = %d, want 1", n)
				}
			})
		})
	}
}

// TestGiveBackWaitsForAckSync: Close's give-back waits for an AckSync in
// flight, naks the delivery if the AckSync failed, and returns with the
// connection closed; if its ctx ends first, it closes the connection,
// which fails the AckSync, and leaves nothing unsettled.
func TestGiveBackWaitsForAckSync(t *testing.T) {
	t.Run("AckSync fails", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rs := newReplySession()
			res := rs.ackSync(context.Background())
			back := make(chan error, 1)
			go func() { back <- rs.giveBack(context.Background()) }()
			synctest.Wait()
			select {
			case err := <-back:
				t.Fatalf("give-back returned %v while an AckSync waits, want it to wait", err)
			default:
			}
			lost := errors.New("no answer")
			rs.msg.answer <- lost
			if err := <-back; err != nil {
				t.Errorf("give-back = %v, want nil", err)
			}
			if err := <-res; err != lost {
				t.Errorf("AckSync = %v, want %v", err, lost)
			}
			if got, want := rs.msg.replies(), []string{"AckSync", "Nak"}; !slices.Equal(got, want) {
				t.Errorf("replies sent = %v, want %v", got, want)
			}
			if n := rs.unsettled(); n != 0 || rs.closes != 1 || rs.src.stats.returned.Load() != 1 {
				t.Errorf("%d unsettled, %d connection closes, %d returned; want 0, 1, 1", n, rs.closes, rs.src.stats.returned.Load())
			}
		})
	})
	t.Run("ctx ends", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rs := newReplySession()
			res := rs.ackSync(context.Background())
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			if err := rs.giveBack(ctx); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("give-back with ctx ending = %v, want context.DeadlineExceeded", err)
			}
			if err := <-res; !errors.Is(err, nats.ErrConnectionClosed) {
				t.Errorf("AckSync cut off = %v, want nats.ErrConnectionClosed", err)
			}
			if err := rs.d.Ack(); !errors.Is(err, ErrSettled) {
				t.Errorf("Ack after give-back = %v, want ErrSettled", err)
			}
			if n := rs.unsettled(); n != 0 || rs.closes != 1 {
				t.Errorf("%d unsettled, %d connection closes; want 0, 1", n, rs.closes)
			}
		})
	})
}

// TestInProgressOnAClosedConnection: once the Source has closed a
// delivery's connection (Run's stop outlasted DrainTimeout), InProgress
// on the unsettled delivery reports the closed connection, not
// ErrSettled.
func TestInProgressOnAClosedConnection(t *testing.T) {
	rs := newReplySession()
	rs.forceClose()
	if err := rs.d.InProgress(); !errors.Is(err, nats.ErrConnectionClosed) {
		t.Errorf("InProgress after the connection was closed = %v, want nats.ErrConnectionClosed", err)
	}
	if got := rs.msg.replies(); len(got) != 0 {
		t.Errorf("replies sent on a closed connection = %v, want none", got)
	}
}
