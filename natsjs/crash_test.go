package natsjs

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fanin-go/fanin/natsjs/internal/embed"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The test binary runs as a server process when serverDirEnv names its
// store; serverPortEnv then names its port ("0": any free one).
const (
	serverDirEnv  = "NATSJS_TEST_SERVER_DIR"
	serverPortEnv = "NATSJS_TEST_SERVER_PORT"
)

// serveForParent runs a server on the store dir and port, tells the parent
// its port on stdout, and runs until it is killed; SIGTERM shuts it down
// gracefully first, as nats-server does.
func serveForParent(dir, port string) {
	p, _ := strconv.Atoi(port)
	srv, err := embed.Start(dir, p)
	if err != nil {
		fmt.Fprintln(os.Stderr, "server process:", err)
		os.Exit(2)
	}
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	fmt.Printf("ready %d\n", srv.Port())
	<-term
	srv.Stop()
	os.Exit(0)
}

// A serverProcess is a NATS server with JetStream in a process of its own,
// on a file store that outlives it, so that it can be killed as a crash
// would kill it.
type serverProcess struct {
	t    *testing.T
	dir  string
	port int
	cmd  *exec.Cmd
}

// startServerProcess starts a server process on a new store.
func startServerProcess(t *testing.T) *serverProcess {
	t.Helper()
	p := &serverProcess{t: t, dir: t.TempDir()}
	p.start()
	t.Cleanup(func() { p.stop(syscall.SIGKILL) })
	return p
}

// start starts the process on p's store and port, and waits until it
// serves.
func (p *serverProcess) start() {
	p.t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), serverDirEnv+"="+p.dir, serverPortEnv+"="+strconv.Itoa(p.port))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		p.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("server process: %v", err)
	}
	p.cmd = cmd
	line, err := bufio.NewReader(out).ReadString('\n')
	port, ok := strings.CutPrefix(strings.TrimSpace(line), "ready ")
	if err != nil || !ok {
		p.t.Fatalf("server process said %q, %v; want ready and its port", line, err)
	}
	if p.port, err = strconv.Atoi(port); err != nil {
		p.t.Fatalf("server process port %q: %v", port, err)
	}
}

// stop sends sig to the process and waits for it to end.
func (p *serverProcess) stop(sig syscall.Signal) {
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Signal(sig)
	p.cmd.Wait()
	p.cmd = nil
}

// restart stops the process with sig and starts a new one on the same
// store and port.
func (p *serverProcess) restart(sig syscall.Signal) {
	p.t.Helper()
	p.stop(sig)
	p.start()
}

func (p *serverProcess) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", p.port) }

// TestWhatSurvivesAServerCrash runs a Source against a server process,
// handles 100 messages, AckSyncs half of them, and stops the server: with
// SIGTERM, or with SIGKILL at once, or with SIGKILL a second after the last
// AckSync returned; then starts it again on the same store. In every case
// each message is still stored, each one not acked comes again with the
// Meta.ID it was published with, and nothing is lost. An AckSync'd message
// does not come again after a graceful stop, nor after a crash a second
// later; a crash right after the AckSync may deliver it again, because
// the server writes the consumer's state asynchronously (at most 10 times
// a second), and with the same lag for the delivery counts, a redelivery
// may then come with NumDelivered 1. The package documentation states
// exactly that.
func TestWhatSurvivesAServerCrash(t *testing.T) {
	for _, c := range []struct {
		name       string
		sig        syscall.Signal
		after      time.Duration // between the last AckSync and the signal
		ackedStays bool          // no AckSync'd message may come again
	}{
		{"SIGTERM", syscall.SIGTERM, 0, true},
		{"SIGKILL at once", syscall.SIGKILL, 0, false},
		{"SIGKILL a second later", syscall.SIGKILL, time.Second, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			const n, acks = 100, 50
			proc := startServerProcess(t)
			nc, err := nats.Connect(proc.url(), nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond),
				nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}))
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			js, err := jetstream.New(nc)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*wait)
			defer cancel()
			if _, err := js.CreateStream(ctx, jetstream.StreamConfig{
				Name: streamName, Subjects: []string{"events.>"}, Storage: jetstream.FileStorage,
			}); err != nil {
				t.Fatal(err)
			}
			pub := NewPublisher(js, subject, 0, encodeString)
			defer pub.Close(ctx)
			for i := range n {
				if err := pub.Send(ctx, fmt.Sprintf("m-%03d|payload", i)); err != nil {
					t.Fatalf("Send = %v", err)
				}
			}

			src := NewSource(SourceConfig{
				URL: proc.url(), Stream: streamName,
				Consumer: jetstream.ConsumerConfig{Durable: durable, AckWait: 2 * time.Second, MaxAckPending: n},
			}, decodeString)
			defer src.Close(context.Background())
			r := startRun(t, src, n)
			acked := map[string]bool{}
			for i := range n {
				d := r.recv()
				if i < acks {
					if err := d.AckSync(ctx); err != nil {
						t.Fatalf("AckSync = %v, want nil", err)
					}
					acked[d.Meta.ID] = true
				}
			}
			time.Sleep(c.after) // the variable under test, not a synchronisation
			proc.restart(c.sig)
			if err := r.wait(); err == nil && c.sig == syscall.SIGKILL {
				t.Errorf("Run after SIGKILL = nil, want ErrConnLost")
			}
			r.ch.Shutdown(context.Background())

			// The Source dials again (waiting for the server, as a Group's
			// restart would) and reads what is left.
			again := startRun(t, src, n)
			unacked := map[string]bool{}
			ackedBack, firstLooking := 0, 0
			deadline := time.After(2 * wait)
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for done := false; !done; {
				select {
				case d := <-again.stream:
					if id := idOf(d); d.Meta.ID != id {
						t.Errorf("Meta.ID = %q for the message published as %q", d.Meta.ID, id)
					}
					if d.Meta.NumDelivered == 1 {
						firstLooking++
					}
					if acked[d.Meta.ID] {
						ackedBack++
					} else {
						unacked[d.Meta.ID] = true
					}
					if err := d.AckSync(ctx); err != nil {
						t.Fatalf("AckSync after the restart = %v", err)
					}
				case <-tick.C:
					info, err := js.Consumer(ctx, streamName, durable)
					done = err == nil && len(unacked) == n-acks &&
						info.CachedInfo().NumPending == 0 && info.CachedInfo().NumAckPending == 0
				case <-deadline:
					t.Fatalf("after the restart: %d of the %d messages not acked came again, want all", len(unacked), n-acks)
				}
			}
			t.Logf("%d of %d AckSync'd messages came again; %d of the %d redeliveries came with NumDelivered 1",
				ackedBack, acks, firstLooking, ackedBack+len(unacked))
			if c.ackedStays && ackedBack > 0 {
				t.Errorf("%d AckSync'd messages came again, want 0", ackedBack)
			}
			st, err := js.Stream(ctx, streamName)
			if err != nil {
				t.Fatal(err)
			}
			if got := st.CachedInfo().State.Msgs; got != n {
				t.Errorf("stream holds %d messages after the restart, want %d", got, n)
			}
			if err := again.stop(); err != nil {
				t.Errorf("Run = %v, want nil", err)
			}
		})
	}
}

// TestAcceptedSurvivesASIGKILLUnderLoad kills the server process with
// SIGKILL while 16 goroutines publish, and starts it again on the same
// store: every message for which Send returned nil is in the stream, and
// none is stored twice, although the publishes cut off by the crash were
// retried (with the same id) or failed.
func TestAcceptedSurvivesASIGKILLUnderLoad(t *testing.T) {
	proc := startServerProcess(t)
	nc, err := nats.Connect(proc.url(), nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond),
		nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*wait)
	defer cancel()
	if _, err := js.CreateStream(ctx, SafeStreamConfig(streamName, "events.>")); err != nil {
		t.Fatal(err)
	}
	pub := NewPublisher(js, subject, 0, encodeString)
	defer pub.Close(context.Background())

	var mu sync.Mutex
	accepted := map[string]bool{} // guarded by mu
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(accepted)
	}
	stop := make(chan struct{})
	var publishers sync.WaitGroup
	for w := range 16 {
		publishers.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("w%02d-%05d", w, i)
				sctx, scancel := context.WithTimeout(context.Background(), 2*wait)
				err := pub.Send(sctx, id+"|x")
				scancel()
				if err == nil {
					mu.Lock()
					accepted[id] = true
					mu.Unlock()
				}
			}
		})
	}
	eventually(t, "200 accepted", func() bool { return count() >= 200 })
	proc.restart(syscall.SIGKILL)
	after := count()
	eventually(t, "200 more accepted after the restart", func() bool { return count() >= after+200 })
	close(stop)
	publishers.Wait()

	stream, err := js.Stream(ctx, streamName)
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	oc, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]int{}
	for range info.State.Msgs {
		m, err := oc.Next(jetstream.FetchMaxWait(wait))
		if err != nil {
			t.Fatalf("reading the stream: %v", err)
		}
		stored[m.Headers().Get(jetstream.MsgIDHeader)]++
	}
	for id := range accepted {
		if stored[id] == 0 {
			t.Errorf("%s: Send returned nil, but the stream does not hold it", id)
		}
	}
	for id, n := range stored {
		if n > 1 {
			t.Errorf("%s stored %d times, want once", id, n)
		}
	}
	t.Logf("%d accepted, %d stored", len(accepted), len(stored))
}
