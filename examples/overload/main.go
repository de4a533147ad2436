// Command overload reproduces the situation that deadlocked the system fanin
// was written to replace, and shows that a fanin.Channel shuts down through it.
//
// Many producers send into one bounded stream read by a slow consumer, an
// agent loop that handles one message at a time. The buffer fills and the
// producers block. Then, while the agent is busy with a long turn and reads
// nothing, the program shuts the stream down.
//
//	go run ./examples/overload          # fanin.Channel: Shutdown returns at once
//	go run ./examples/overload -naive   # a read lock held across the send: it hangs
//
// With -naive the same load runs against the anti-pattern, written below: a
// sender guarded by a sync.RWMutex whose read lock is held across the
// blocking send. Shutdown needs the write lock, the blocked senders hold the
// read lock until the agent reads, and the agent reads again only after
// Shutdown: a watchdog ends the program and says so, with exit status 1.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fanin-go/fanin"
)

// stream is what the demonstration needs of either implementation.
type stream interface {
	Start() (<-chan int, error)
	Send(ctx context.Context, v int) error
	Shutdown(ctx context.Context) error
}

func main() {
	var (
		naive     = flag.Bool("naive", false, "use the lock-across-send anti-pattern instead of fanin.Channel")
		producers = flag.Int("producers", 1000, "number of producer goroutines")
		capacity  = flag.Int("capacity", fanin.DefaultCapacity, "buffer size")
		load      = flag.Duration("load", time.Second, "how long to run under load before shutting down")
		pace      = flag.Duration("pace", time.Millisecond, "time the agent spends on each message")
		watchdog  = flag.Duration("watchdog", 3*time.Second, "how long Shutdown may take before it is declared hung")
	)
	flag.Parse()
	if *producers < 1 || *capacity < 0 || *load < 0 || *pace < 0 || *watchdog <= 0 {
		fmt.Fprintln(os.Stderr, "overload: -producers must be at least 1; -capacity, -load and -pace must not be negative; -watchdog must be positive")
		os.Exit(2)
	}

	var s stream = fanin.New[int](*capacity)
	name := "fanin.Channel"
	if *naive {
		s = &lockedChannel{capacity: *capacity}
		name = "RWMutex held across the send (anti-pattern)"
	}
	fmt.Printf("%s: %d producers, buffer %d, agent takes %v a message\n", name, *producers, *capacity, *pace)
	os.Exit(run(s, *producers, *load, *pace, *watchdog))
}

func run(s stream, producers int, load, pace, watchdog time.Duration) int {
	baseline := runtime.NumGoroutine()
	msgs, err := s.Start()
	if err != nil {
		fmt.Println("start:", err)
		return 1
	}

	// The agent loop: one message at a time. When a long turn begins it
	// reads nothing until the turn ends, which here is after Shutdown.
	longTurn := make(chan struct{})
	turnOver := make(chan struct{})
	var delivered atomic.Int64
	agentDone := make(chan struct{})
	go func() {
		defer close(agentDone)
		for {
			select {
			case <-longTurn:
				<-turnOver
				for range msgs { // drain what was accepted, until the close
					delivered.Add(1)
				}
				return
			case _, ok := <-msgs:
				if !ok {
					return
				}
				delivered.Add(1)
				time.Sleep(pace)
			}
		}
	}()

	var accepted, rejected atomic.Int64
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for i := 0; ; i++ {
				err := s.Send(context.Background(), p*1_000_000+i)
				if err == nil {
					accepted.Add(1)
					continue
				}
				rejected.Add(1)
				if errors.Is(err, fanin.ErrClosed) {
					return
				}
			}
		})
	}

	time.Sleep(load)
	close(longTurn)
	fmt.Printf("under load for %v: %d accepted so far; the agent starts a long turn and Shutdown begins\n",
		load, accepted.Load())

	start := time.Now()
	shutdownDone := make(chan error, 1)
	go func() { shutdownDone <- s.Shutdown(context.Background()) }()
	select {
	case err := <-shutdownDone:
		if err != nil {
			fmt.Println("shutdown:", err)
			return 1
		}
	case <-time.After(watchdog):
		fmt.Printf("DEADLOCK: Shutdown has not returned after %v. The blocked senders hold the read lock\n", watchdog)
		fmt.Println("until the agent reads, and the agent reads only after Shutdown: nothing can move.")
		return 1
	}
	took := time.Since(start)
	close(turnOver)
	wg.Wait()
	<-agentDone

	fmt.Printf("Shutdown took %v with a full buffer and %d producers blocked\n", took.Round(time.Microsecond), producers)
	fmt.Printf("accepted %d, rejected %d, delivered %d\n", accepted.Load(), rejected.Load(), delivered.Load())
	ok := accepted.Load() == delivered.Load()
	fmt.Printf("delivered == accepted: %v\n", ok)

	// Goroutines that have returned may take a moment to be counted out.
	left := runtime.NumGoroutine() - baseline
	for deadline := time.Now().Add(time.Second); left > 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
		left = runtime.NumGoroutine() - baseline
	}
	fmt.Printf("goroutines left: %d\n", left)
	if !ok || left > 0 {
		return 1
	}
	return 0
}

// lockedChannel is the reference system's design, kept here only to show
// why fanin exists: the read lock is held across a send that can block.
type lockedChannel struct {
	capacity int

	mu     sync.RWMutex
	ch     chan int
	closed bool
}

func (l *lockedChannel) Start() (<-chan int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ch = make(chan int, l.capacity)
	l.closed = false
	return l.ch, nil
}

func (l *lockedChannel) Send(_ context.Context, v int) error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.ch == nil || l.closed {
		return fanin.ErrClosed
	}
	l.ch <- v // THE BUG: blocks on a full buffer while holding the read lock
	return nil
}

func (l *lockedChannel) Shutdown(context.Context) error {
	l.mu.Lock() // waits for every blocked sender to release its read lock
	defer l.mu.Unlock()
	if !l.closed {
		l.closed = true
		close(l.ch)
	}
	return nil
}
