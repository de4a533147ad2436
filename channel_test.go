package fanin

import (
	"context"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// drain reads stream until it is closed and returns what it received.
func drain[T any](stream <-chan T) []T {
	var got []T
	for v := range stream {
		got = append(got, v)
	}
	return got
}

// fill sends capacity values 0, 1, ... with TrySend.
func fill(t *testing.T, c *Channel[int]) {
	t.Helper()
	for i := range c.Cap() {
		if err := c.TrySend(i); err != nil {
			t.Fatalf("TrySend(%d) = %v, want nil", i, err)
		}
	}
}

func mustStart[T any](t *testing.T, c *Channel[T]) <-chan T {
	t.Helper()
	stream, err := c.Start()
	if err != nil {
		t.Fatalf("Start() = %v, want nil", err)
	}
	return stream
}

func mustShutdown[T any](t *testing.T, c *Channel[T]) {
	t.Helper()
	if err := c.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown() = %v, want nil", err)
	}
}

// The states a Channel can be in, each built from a fresh Channel of
// capacity 2. A state whose run is active leaves a stream that nobody reads.
var states = []struct {
	name  string
	setup func(t *testing.T, c *Channel[int])
}{
	{"never started", func(t *testing.T, c *Channel[int]) {}},
	{"running", func(t *testing.T, c *Channel[int]) {
		mustStart(t, c)
	}},
	{"full", func(t *testing.T, c *Channel[int]) {
		mustStart(t, c)
		fill(t, c)
	}},
	{"shut down", func(t *testing.T, c *Channel[int]) {
		mustStart(t, c)
		fill(t, c)
		mustShutdown(t, c)
	}},
	{"restarted", func(t *testing.T, c *Channel[int]) {
		mustStart(t, c)
		fill(t, c)
		mustShutdown(t, c)
		mustStart(t, c)
	}},
}

// TestCallsInEveryState runs every call in every state. Where a call adds a
// value it must add exactly one if and only if it returned nil.
func TestCallsInEveryState(t *testing.T) {
	type want map[string]error // by state name
	calls := []struct {
		name  string
		call  func(c *Channel[int]) error
		sends bool // a nil result must mean one more value buffered
		want  want
	}{
		{
			name: "Send",
			call: func(c *Channel[int]) error {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				return c.Send(ctx, 99)
			},
			sends: true,
			want: want{"never started": ErrNotStarted, "running": nil,
				"full": context.DeadlineExceeded, "shut down": ErrClosed, "restarted": nil},
		},
		{
			name: "Send with ended context",
			call: func(c *Channel[int]) error {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return c.Send(ctx, 99)
			},
			sends: true,
			want: want{"never started": ErrNotStarted, "running": context.Canceled,
				"full": context.Canceled, "shut down": ErrClosed, "restarted": context.Canceled},
		},
		{
			name:  "TrySend",
			call:  func(c *Channel[int]) error { return c.TrySend(99) },
			sends: true,
			want: want{"never started": ErrNotStarted, "running": nil,
				"full": ErrFull, "shut down": ErrClosed, "restarted": nil},
		},
		{
			name: "Sender.Send",
			call: func(c *Channel[int]) error {
				s, err := c.Sender()
				if err != nil {
					return err
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				return s.Send(ctx, 99)
			},
			sends: true,
			want: want{"never started": ErrNotStarted, "running": nil,
				"full": context.DeadlineExceeded, "shut down": ErrClosed, "restarted": nil},
		},
		{
			name: "Sender",
			call: func(c *Channel[int]) error { _, err := c.Sender(); return err },
			want: want{"never started": ErrNotStarted, "running": nil,
				"full": nil, "shut down": ErrClosed, "restarted": nil},
		},
		{
			name: "Start",
			call: func(c *Channel[int]) error { _, err := c.Start(); return err },
			want: want{"never started": nil, "running": ErrStarted,
				"full": ErrStarted, "shut down": nil, "restarted": ErrStarted},
		},
		{
			name: "Shutdown",
			call: func(c *Channel[int]) error { return c.Shutdown(context.Background()) },
			want: want{"never started": nil, "running": nil,
				"full": nil, "shut down": nil, "restarted": nil},
		},
	}
	for _, call := range calls {
		for _, st := range states {
			t.Run(call.name+"/"+st.name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					if _, ok := call.want[st.name]; !ok {
						t.Fatalf("table has no result for %s in state %q", call.name, st.name)
					}
					c := New[int](2)
					st.setup(t, c)
					before := c.Len()
					err := call.call(c)
					if want := call.want[st.name]; err != want {
						t.Errorf("%s = %v, want %v", call.name, err, want)
					}
					if call.sends {
						added, wantAdded := c.Len()-before, 0
						if err == nil {
							wantAdded = 1
						}
						if added != wantAdded {
							t.Errorf("%s = %v and added %d values, want %d", call.name, err, added, wantAdded)
						}
					}
					c.Shutdown(context.Background())
				})
			})
		}
	}
}

func TestZeroChannelUsesDefaultCapacity(t *testing.T) {
	var c Channel[string]
	if got := c.Cap(); got != DefaultCapacity {
		t.Errorf("Cap() = %d, want %d", got, DefaultCapacity)
	}
	stream := mustStart(t, &c)
	if got := cap(stream); got != DefaultCapacity {
		t.Errorf("cap(stream) = %d, want %d", got, DefaultCapacity)
	}
	if err := c.TrySend("x"); err != nil {
		t.Errorf("TrySend = %v, want nil", err)
	}
	if got := c.Len(); got != 1 {
		t.Errorf("Len() = %d, want 1", got)
	}
	mustShutdown(t, &c)
	if got := drain(stream); !slices.Equal(got, []string{"x"}) {
		t.Errorf("stream = %q, want [x]", got)
	}
}

func TestNewNegativeCapacityPanics(t *testing.T) {
	defer func() {
		r := recover()
		msg, _ := r.(string)
		if !strings.HasPrefix(msg, "fanin: ") {
			t.Errorf("New(-1) panicked with %v, want a message starting with \"fanin: \"", r)
		}
	}()
	New[int](-1)
	t.Error("New(-1) did not panic")
}

func TestUnbuffered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := New[int](0)
		stream := mustStart(t, c)
		if err := c.TrySend(1); err != ErrFull {
			t.Errorf("TrySend with no receiver = %v, want %v", err, ErrFull)
		}
		got := make(chan int)
		go func() { got <- <-stream }()
		synctest.Wait() // the receiver is waiting
		if err := c.TrySend(2); err != nil {
			t.Errorf("TrySend with a waiting receiver = %v, want nil", err)
		}
		if v := <-got; v != 2 {
			t.Errorf("received %d, want 2", v)
		}
		mustShutdown(t, c)
		if rest := drain(stream); len(rest) != 0 {
			t.Errorf("stream after Shutdown = %v, want nothing", rest)
		}
	})
}

func TestZeroSender(t *testing.T) {
	var zero Sender[int]
	var nilSender *Sender[int]
	for _, s := range []*Sender[int]{&zero, nilSender} {
		if err := s.Send(context.Background(), 1); err != ErrNotStarted {
			t.Errorf("Send on zero Sender = %v, want %v", err, ErrNotStarted)
		}
		if err := s.TrySend(1); err != ErrNotStarted {
			t.Errorf("TrySend on zero Sender = %v, want %v", err, ErrNotStarted)
		}
		if d := s.Done(); d != nil {
			t.Errorf("Done on zero Sender = %v, want nil", d)
		}
	}
}

// TestBufferedValuesSurviveShutdown checks that Shutdown keeps what was
// accepted: the consumer reads every buffered value, in order, then the close.
func TestBufferedValuesSurviveShutdown(t *testing.T) {
	c := New[int](8)
	stream := mustStart(t, c)
	for i := range 5 {
		if err := c.Send(context.Background(), i); err != nil {
			t.Fatalf("Send(%d) = %v, want nil", i, err)
		}
	}
	mustShutdown(t, c)
	if err := c.Send(context.Background(), 5); err != ErrClosed {
		t.Errorf("Send after Shutdown = %v, want %v", err, ErrClosed)
	}
	if diff := cmp.Diff([]int{0, 1, 2, 3, 4}, drain(stream)); diff != "" {
		t.Errorf("stream after Shutdown (-want +got):\n%s", diff)
	}
}

// TestStaleSenderNeverDeliversIntoLaterRun holds a Sender across a restart.
func TestStaleSenderNeverDeliversIntoLaterRun(t *testing.T) {
	c := New[int](4)
	first := mustStart(t, c)
	old, err := c.Sender()
	if err != nil {
		t.Fatalf("Sender() = %v, want nil", err)
	}
	if err := old.Send(context.Background(), 1); err != nil {
		t.Fatalf("Send = %v, want nil", err)
	}
	mustShutdown(t, c)
	select {
	case <-old.Done():
	default:
		t.Error("Done() of the shut-down run is not closed")
	}
	second := mustStart(t, c)
	if err := old.Send(context.Background(), 2); err != ErrClosed {
		t.Errorf("stale Send = %v, want %v", err, ErrClosed)
	}
	if err := old.TrySend(3); err != ErrClosed {
		t.Errorf("stale TrySend = %v, want %v", err, ErrClosed)
	}
	cur, err := c.Sender()
	if err != nil || cur == old {
		t.Fatalf("Sender() after restart = %p, %v; want a new Sender, nil", cur, err)
	}
	select {
	case <-cur.Done():
		t.Error("Done() of the new run is closed")
	default:
	}
	if err := cur.Send(context.Background(), 4); err != nil {
		t.Errorf("Send on new run = %v, want nil", err)
	}
	mustShutdown(t, c)
	if diff := cmp.Diff([]int{1}, drain(first)); diff != "" {
		t.Errorf("first run (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{4}, drain(second)); diff != "" {
		t.Errorf("second run (-want +got):\n%s", diff)
	}
}

// TestShutdownContextEndsFirst holds a call in flight so that the stream
// cannot close, and checks that Shutdown returns ctx.Err() and that the
// close still happens when the call leaves.
func TestShutdownContextEndsFirst(t *testing.T) {
	c := New[int](1)
	stream := mustStart(t, c)
	s, _ := c.Sender()
	if s.enter() { // a send between its entry and its exit
		t.Fatal("enter() on a running Sender reported stopped")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Shutdown(ctx); err != context.Canceled {
		t.Errorf("Shutdown(canceled ctx) with a send in flight = %v, want %v", err, context.Canceled)
	}
	select {
	case _, ok := <-stream:
		t.Fatalf("stream received (_, %v) while a send was in flight, want nothing", ok)
	default:
	}
	if err := c.Send(context.Background(), 1); err != ErrClosed {
		t.Errorf("Send after Shutdown began = %v, want %v", err, ErrClosed)
	}
	s.exit()
	if _, ok := <-stream; ok {
		t.Error("stream still open after the last send left, want closed")
	}
	mustShutdown(t, c) // idempotent, and now returns nil
}

// TestStressDeliveredIffNil checks point 1 of the contract exactly: across
// random cancellations, Shutdowns and restarts, the values received are
// exactly the values whose Send or TrySend returned nil, each once.
func TestStressDeliveredIffNil(t *testing.T) {
	const producers = 8
	restarts := 200
	if testing.Short() {
		restarts = 20
	}

	c := New[int](4)
	var (
		mu        sync.Mutex
		delivered []int
		accepted  []int
		errs      = map[error]int{}
	)
	var consumers sync.WaitGroup
	consume := func(stream <-chan int) {
		consumers.Go(func() {
			got := drain(stream)
			mu.Lock()
			delivered = append(delivered, got...)
			mu.Unlock()
		})
	}
	consume(mustStart(t, c))

	stop := make(chan struct{})
	var prod sync.WaitGroup
	for p := range producers {
		prod.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(p), 1))
			var mine []int
			seen := map[error]int{}
			for i := 0; ; i++ {
				select {
				case <-stop:
					mu.Lock()
					accepted = append(accepted, mine...)
					for err, n := range seen {
						errs[err] += n
					}
					mu.Unlock()
					return
				default:
				}
				v := i*producers + p
				var err error
				switch rng.IntN(4) {
				case 0:
					err = c.TrySend(v)
				case 1:
					ctx, cancel := context.WithTimeout(context.Background(),
						time.Duration(rng.IntN(20))*time.Microsecond)
					err = c.Send(ctx, v)
					cancel()
				default:
					err = c.Send(context.Background(), v)
				}
				switch err {
				case nil:
					mine = append(mine, v)
				case ErrClosed:
					runtime.Gosched() // let the controller restart
				case ErrFull, context.DeadlineExceeded:
				default:
					t.Errorf("Send(%d) = %v, want nil, ErrClosed, ErrFull or DeadlineExceeded", v, err)
				}
				seen[err]++
			}
		})
	}

	// The controller shuts down and restarts at random while producers
	// run, sometimes with a context that has already ended, so that the
	// stream is closed by the last sender to leave rather than by Shutdown.
	rng := rand.New(rand.NewPCG(99, 1))
	for range restarts {
		for range rng.IntN(2000) {
			runtime.Gosched()
		}
		ctx, cancel := context.WithCancel(context.Background())
		if rng.IntN(3) == 0 {
			cancel()
		}
		if err := c.Shutdown(ctx); err != nil && err != context.Canceled {
			t.Errorf("Shutdown = %v, want nil or %v", err, context.Canceled)
		}
		cancel()
		consume(mustStart(t, c))
	}
	close(stop)
	prod.Wait()
	mustShutdown(t, c)
	consumers.Wait()

	t.Logf("%d restarts, %d delivered; errors: %v", restarts, len(delivered), errs)
	if len(accepted) == 0 || errs[ErrClosed] == 0 {
		t.Errorf("accepted %d and closed %d, want both > 0: the test exercised nothing", len(accepted), errs[ErrClosed])
	}
	slices.Sort(accepted)
	slices.Sort(delivered)
	if diff := cmp.Diff(accepted, delivered); diff != "" {
		t.Fatalf("delivered differs from accepted (-accepted +delivered):\n%s", diff)
	}
}

// withSenders runs f with GOMAXPROCS set so that a run has n Senders.
func withSenders(t *testing.T, n int) {
	t.Helper()
	old := runtime.GOMAXPROCS(n)
	t.Cleanup(func() { runtime.GOMAXPROCS(old) })
	if got := sendersPerRun(); got != n {
		t.Fatalf("sendersPerRun() = %d with GOMAXPROCS %d, want %d", got, n, n)
	}
}

// TestSenderHandsOutEachInTurn: a run has one Sender per P, handed out in
// turn, the first being the one Channel.Send counts on; every one of them
// is refused once Shutdown has returned.
func TestSenderHandsOutEachInTurn(t *testing.T) {
	withSenders(t, 4)
	c := New[int](8)
	stream := mustStart(t, c)
	var got []*Sender[int]
	for range 8 {
		s, err := c.Sender()
		if err != nil {
			t.Fatalf("Sender() = %v, want nil", err)
		}
		got = append(got, s)
	}
	if got[0] != c.run.Load() {
		t.Errorf("the first Sender is not the one Channel.Send uses")
	}
	for i := range 4 {
		if got[i] != got[i+4] {
			t.Errorf("Sender %d and %d differ, want the same: 4 are handed out in turn", i, i+4)
		}
		for j := range i {
			if got[i] == got[j] {
				t.Errorf("Sender %d and %d are the same, want 4 different ones", i, j)
			}
		}
		if err := got[i].Send(context.Background(), i); err != nil {
			t.Errorf("Send = %v, want nil", err)
		}
	}
	mustShutdown(t, c)
	for i, s := range got[:4] {
		if err := s.TrySend(i); err != ErrClosed {
			t.Errorf("TrySend after Shutdown = %v, want %v", err, ErrClosed)
		}
	}
	if vs := drain(stream); len(vs) != 4 {
		t.Errorf("received %v, want the 4 values accepted", vs)
	}
	if st := c.Stats(); st.Accepted != 4 || st.Closed != 4 {
		t.Errorf("Stats() = %+v, want 4 accepted and 4 closed", st)
	}
}

// TestShutdownWakesBlockedSendsOfEverySender: with the buffer full and
// nobody reading, 100 sends block on each of 8 Senders. Shutdown returns
// without any fake time passing, every blocked send returns ErrClosed, and
// the stream then gives exactly the values accepted and ends.
func TestShutdownWakesBlockedSendsOfEverySender(t *testing.T) {
	withSenders(t, 8)
	synctest.Test(t, func(t *testing.T) {
		c := New[int](4)
		stream := mustStart(t, c)
		fill(t, c)
		var closed atomic.Int64
		var wg sync.WaitGroup
		for range 8 {
			s, _ := c.Sender()
			for i := range 100 {
				wg.Go(func() {
					if err := s.Send(context.Background(), i); err != ErrClosed {
						t.Errorf("Send = %v, want %v", err, ErrClosed)
					}
					closed.Add(1)
				})
			}
		}
		synctest.Wait() // all 800 are blocked
		if st := c.Stats(); st.Blocked != 800 {
			t.Fatalf("Stats().Blocked = %d, want 800", st.Blocked)
		}
		start := time.Now()
		mustShutdown(t, c)
		if d := time.Since(start); d != 0 {
			t.Errorf("Shutdown took %v of fake time, want 0", d)
		}
		wg.Wait()
		if closed.Load() != 800 {
			t.Errorf("%d sends returned, want 800", closed.Load())
		}
		if vs := drain(stream); len(vs) != 4 {
			t.Errorf("received %v, want the 4 values that filled the buffer", vs)
		}
	})
}

// TestStressSendersDeliveredIffNil is TestStressDeliveredIffNil with every
// producer sending through a Sender of its own (8 to a run, more than the
// machine's cores), taking a new one from each run: the stream is closed
// only once no send is in flight in any of them, and the values received
// are exactly those whose send returned nil.
func TestStressSendersDeliveredIffNil(t *testing.T) {
	withSenders(t, 8)
	const producers = 16
	restarts := 200
	if testing.Short() {
		restarts = 20
	}
	c := New[int](4)
	var (
		mu                  sync.Mutex
		delivered, accepted []int
		closed              int
	)
	var consumers sync.WaitGroup
	consume := func(stream <-chan int) {
		consumers.Go(func() {
			got := drain(stream)
			mu.Lock()
			delivered = append(delivered, got...)
			mu.Unlock()
		})
	}
	consume(mustStart(t, c))
	stop := make(chan struct{})
	var prod sync.WaitGroup
	for p := range producers {
		prod.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(p), 2))
			var mine []int
			var s *Sender[int]
			nclosed := 0
			for i := 0; ; i++ {
				select {
				case <-stop:
					mu.Lock()
					accepted = append(accepted, mine...)
					closed += nclosed
					mu.Unlock()
					return
				default:
				}
				if s == nil {
					var err error
					if s, err = c.Sender(); err != nil {
						runtime.Gosched() // between runs
						continue
					}
				}
				v := i*producers + p
				var err error
				if rng.IntN(4) == 0 {
					err = s.TrySend(v)
				} else {
					err = s.Send(context.Background(), v)
				}
				switch err {
				case nil:
					mine = append(mine, v)
				case ErrClosed:
					nclosed++
					s = nil // that run is over: take a Sender of the next
				case ErrFull:
				default:
					t.Errorf("Send(%d) = %v, want nil, ErrClosed or ErrFull", v, err)
				}
			}
		})
	}
	rng := rand.New(rand.NewPCG(98, 1))
	for range restarts {
		for range rng.IntN(2000) {
			runtime.Gosched()
		}
		ctx, cancel := context.WithCancel(context.Background())
		if rng.IntN(3) == 0 {
			cancel() // the stream is then closed by the last sender to leave
		}
		if err := c.Shutdown(ctx); err != nil && err != context.Canceled {
			t.Errorf("Shutdown = %v, want nil or %v", err, context.Canceled)
		}
		cancel()
		consume(mustStart(t, c))
	}
	close(stop)
	prod.Wait()
	mustShutdown(t, c)
	consumers.Wait()
	t.Logf("%d restarts, %d delivered, %d refused as closed", restarts, len(delivered), closed)
	if len(accepted) == 0 || closed == 0 {
		t.Errorf("accepted %d and closed %d, want both > 0: the test exercised nothing", len(accepted), closed)
	}
	slices.Sort(accepted)
	slices.Sort(delivered)
	if diff := cmp.Diff(accepted, delivered); diff != "" {
		t.Fatalf("delivered differs from accepted (-accepted +delivered):\n%s", diff)
	}
	if st := c.Stats(); st.Accepted != uint64(len(delivered)) {
		t.Errorf("Stats().Accepted = %d, want the %d delivered", st.Accepted, len(delivered))
	}
}
