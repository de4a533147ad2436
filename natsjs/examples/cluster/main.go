// Command cluster carries webhook messages across processes on NATS
// JetStream and shows that nothing accepted is lost when the agent dies.
//
// It runs, in one process, what would be several machines: a NATS server
// with JetStream and a file store, two webhook ingress nodes that answer
// 202 only once JetStream has stored a message, and an agent that reads
// the stream through a natsjs.Source in a fanin.Group. A load of signed
// requests goes to both ingress nodes. Halfway through, the agent dies as
// a killed process does: its connection is cut, whatever it holds is
// dropped, nothing is acknowledged or given back, and the message it was
// handling has had its effect but no ack. A new agent then starts on the
// same durable consumer. Before that, while the load runs, the server
// itself is killed with SIGKILL (it runs in a process of its own, this
// program started again with -serve) and restarted on the same store: the
// ingress nodes answer 503 meanwhile and their callers send again, and
// the agent's Group restarts its Source, which waits for the server. The
// program prints what was accepted, handled, redelivered and lost, and
// exits 1 if anything accepted was lost.
//
// With -ack-first the agents acknowledge a message before its effect, the
// mistake at-least-once delivery exists to prevent: the message the first
// agent acked and died before handling is lost, and the program says so.
//
//	go run ./examples/cluster
//	go run ./examples/cluster -n 5000 -clients 32 -ackwait 3s
//	go run ./examples/cluster -ack-first      # lost 1, exit status 1
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fanin-go/fanin"
	"github.com/fanin-go/fanin/natsjs"
	"github.com/fanin-go/fanin/natsjs/internal/embed"
	"github.com/fanin-go/fanin/webhook"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const (
	streamName = "WEBHOOK"
	subject    = "webhook.in"
	durable    = "agent"
)

var secret = []byte("cluster demo secret")

// quiet keeps the clients from printing each failed write while the server
// is down on purpose; the program reports the outage itself.
var quiet = nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {})

func main() {
	n := flag.Int("n", 2000, "signed requests to send")
	clients := flag.Int("clients", 16, "concurrent callers")
	ackWait := flag.Duration("ackwait", 2*time.Second, "the consumer's AckWait: how soon a dead agent's messages come back")
	work := flag.Duration("work", 500*time.Microsecond, "how long the agent works on each message")
	ackFirst := flag.Bool("ack-first", false, "acknowledge before the effect (wrong), to see a message lost")
	serve := flag.String("serve", "", "run only a NATS server on this store (the program starts itself so)")
	port := flag.Int("port", 0, "with -serve: the port (0: a free one)")
	flag.Parse()
	if *serve != "" {
		if err := serveStore(*serve, *port); err != nil {
			fmt.Fprintln(os.Stderr, "cluster server:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*n, *clients, *ackWait, *work, *ackFirst); err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
}

func run(n, clients int, ackWait, work time.Duration, ackFirst bool) error {
	start := time.Now()
	dir, err := os.MkdirTemp("", "fanin-cluster-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	srv := &serverProcess{dir: dir}
	if err := srv.start(); err != nil {
		return err
	}
	defer srv.kill()
	fmt.Printf("NATS server with JetStream at %s (process %d), file store in %s\n", srv.URL(), srv.cmd.Process.Pid, dir)

	admin, err := nats.Connect(srv.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond), quiet)
	if err != nil {
		return err
	}
	defer admin.Close()
	js, err := jetstream.New(admin)
	if err != nil {
		return err
	}
	if err := createStream(js); err != nil {
		return err
	}

	var nodes []*ingress
	for _, name := range []string{"A", "B"} {
		node, err := startIngress(name, srv.URL())
		if err != nil {
			return err
		}
		defer node.stop()
		nodes = append(nodes, node)
		fmt.Printf("ingress %s on %s\n", name, node.url)
	}

	// The agent's dedupe store: in a real system a table written in the
	// same transaction as the effect. It outlives the agents.
	store := newStore()

	// The load runs while the first agent works; it is killed halfway.
	loadDone := make(chan loadResult, 1)
	go func() { loadDone <- sendLoad(nodes, n, clients) }()

	// A quarter of the way, the server is killed as a crash kills it, and
	// restarted on its store.
	crashed := make(chan error, 1)
	go func() {
		for store.handled() < n/4 {
			time.Sleep(10 * time.Millisecond)
		}
		srv.kill()
		fmt.Printf("server: killed with SIGKILL after the agent handled %d messages\n", store.handled())
		err := srv.start()
		if err == nil {
			fmt.Printf("server: restarted on the same store (process %d)\n", srv.cmd.Process.Pid)
		}
		crashed <- err
	}()

	fmt.Println("agent 1: started")
	a := agent{url: srv.URL(), ackWait: ackWait, work: work, ackFirst: ackFirst, store: store}
	killed, err := a.run(1, func() bool { return store.handled() >= n/2 }, nil)
	if err != nil {
		return err
	}
	if err := <-crashed; err != nil {
		return err
	}
	fmt.Printf("agent 1: killed after handling %d messages; %d were pulled and never acked\n", killed.handled, killed.unacked)

	load := <-loadDone
	fmt.Printf("load: %d requests accepted (202) by ingress A and B; %d answered 503 and sent again\n", len(load.accepted), load.retried)

	fmt.Println("agent 2: started on the same durable consumer")
	if _, err := a.run(2, nil, func() bool { return drained(js) }); err != nil {
		return err
	}

	lost := 0
	for _, id := range load.accepted {
		if !store.has(id) {
			lost++
		}
	}
	fmt.Println()
	fmt.Printf("accepted     %6d  answered 202 by an ingress node\n", len(load.accepted))
	fmt.Printf("handled      %6d  distinct messages the agents handled\n", store.handled())
	fmt.Printf("redelivered  %6d  deliveries of a message delivered before\n", store.redelivered.Load())
	fmt.Printf("duplicates   %6d  redeliveries of a handled message, skipped by the dedupe on message id\n", store.duplicates.Load())
	fmt.Printf("lost         %6d  accepted but never handled\n", lost)
	fmt.Printf("(in %v)\n", time.Since(start).Round(time.Millisecond))
	if lost > 0 {
		return fmt.Errorf("%d accepted messages were lost", lost)
	}
	return nil
}

// createStream makes the stream the ingress nodes publish into, with the
// settings under which nothing accepted is lost.
func createStream(js jetstream.JetStream) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := js.CreateStream(ctx, natsjs.SafeStreamConfig(streamName, subject))
	return err
}

// serveStore runs a NATS server on the store dir until it is killed, or
// stopped gracefully by SIGTERM; it prints "ready <port>" once it serves.
func serveStore(dir string, port int) error {
	srv, err := embed.Start(dir, port)
	if err != nil {
		return err
	}
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM, os.Interrupt)
	fmt.Printf("ready %d\n", srv.Port())
	<-term
	srv.Stop()
	return nil
}

// A serverProcess is the NATS server, in a process of its own so that it
// can be killed as a crash would kill it: this program started with -serve.
type serverProcess struct {
	dir  string
	port int
	cmd  *exec.Cmd
}

// start starts the server on the store and, after the first start, on the
// same port, and waits until it serves.
func (p *serverProcess) start() error {
	cmd := exec.Command(os.Args[0], "-serve", p.dir, "-port", strconv.Itoa(p.port))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	port, ok := strings.CutPrefix(strings.TrimSpace(line), "ready ")
	if err == nil && ok {
		p.port, err = strconv.Atoi(port)
	} else if err == nil {
		err = fmt.Errorf("server said %q", line)
	}
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return fmt.Errorf("server process: %w", err)
	}
	p.cmd = cmd
	return nil
}

// kill kills the server with SIGKILL and waits for it: no goodbye, no
// flush of what it had not written.
func (p *serverProcess) kill() {
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Kill()
	p.cmd.Wait()
	p.cmd = nil
}

// URL returns the address clients connect to.
func (p *serverProcess) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", p.port) }

// drained reports whether the consumer has nothing left to deliver and
// nothing delivered waits for its ack.
func drained(js jetstream.JetStream) bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c, err := js.Consumer(ctx, streamName, durable)
	if err != nil {
		return false
	}
	info, err := c.Info(ctx)
	return err == nil && info.NumPending == 0 && info.NumAckPending == 0
}

// An ingress is one webhook node: an HTTP server whose handler is attached
// to a natsjs.Publisher, so it answers 202 only for stored messages.
type ingress struct {
	url  string
	nc   *nats.Conn
	pub  *natsjs.Publisher[webhook.Message]
	http *http.Server
	done chan struct{}
}

func startIngress(name, url string) (*ingress, error) {
	nc, err := nats.Connect(url, nats.Name("ingress "+name), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond), quiet)
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	pub := natsjs.NewPublisher(js, subject, 0, encode)
	h := webhook.New(webhook.Config{
		Name:      "ingress " + name,
		Verifiers: []webhook.Verifier{webhook.HMACSHA256("", secret)},
	})
	h.Attach(pub)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		nc.Close()
		return nil, err
	}
	node := &ingress{
		url:  "http://" + ln.Addr().String() + "/",
		nc:   nc,
		pub:  pub,
		http: &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second},
		done: make(chan struct{}),
	}
	go func() {
		defer close(node.done)
		node.http.Serve(ln)
	}()
	return node, nil
}

// stop stops serving, lets the publishes in flight finish, and closes the
// node's connection.
func (node *ingress) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	node.http.Shutdown(ctx)
	<-node.done
	node.pub.Close(ctx)
	node.nc.Close()
}

// encode publishes a webhook message as JSON under the id the handler gave
// it, which the Source hands on as Meta.ID; a sender's own delivery ID,
// where the request has one, would be the better id (see the README).
// EncodeJSON refuses a request that waits for the agent's reply, which
// cannot travel back through the stream, with natsjs.ErrReplyWanted, which
// the handler answers 422 refused.
var encode = natsjs.EncodeJSON(func(m webhook.Message) string { return m.ID })

type loadResult struct {
	accepted []string // message ids answered 202
	retried  int      // requests answered 503, sent again
}

// sendLoad sends n signed requests from the given number of callers,
// alternating between the nodes; a 503 is sent again, as a caller would.
func sendLoad(nodes []*ingress, n, clients int) loadResult {
	var (
		mu  sync.Mutex
		res loadResult
		wg  sync.WaitGroup
	)
	next := atomic.Int64{}
	client := &http.Client{Timeout: 10 * time.Second}
	for range clients {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				body, _ := json.Marshal(map[string]string{"sender": fmt.Sprintf("caller-%d", i%clients), "content": fmt.Sprintf("message %d", i)})
				for try := 0; ; try++ {
					id, code := post(client, nodes[(i+try)%len(nodes)].url, body)
					if code == http.StatusAccepted {
						mu.Lock()
						res.accepted = append(res.accepted, id)
						mu.Unlock()
						break
					}
					mu.Lock()
					res.retried++
					mu.Unlock()
					time.Sleep(50 * time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	return res
}

// post sends one signed request and returns the message id and status.
func post(client *http.Client, url string, body []byte) (string, int) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return "", 0
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(webhook.DefaultSignatureHeader, "sha256="+hex.EncodeToString(webhook.Sign(secret, body)))
	resp, err := client.Do(req)
	if err != nil {
		return "", 0
	}
	defer resp.Body.Close()
	var a struct {
		MessageID string `json:"message_id"`
	}
	json.NewDecoder(resp.Body).Decode(&a)
	return a.MessageID, resp.StatusCode
}

// store records which messages were handled. It stands for the table an
// agent writes its effects to: the effect and the message id go in
// together, so a redelivered message is recognised and skipped.
type store struct {
	mu   sync.Mutex
	seen map[string]bool

	redelivered atomic.Int64
	duplicates  atomic.Int64
}

func newStore() *store { return &store{seen: map[string]bool{}} }

// apply records id and reports whether it was new.
func (s *store) apply(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen[id] {
		return false
	}
	s.seen[id] = true
	return true
}

func (s *store) has(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[id]
}

func (s *store) handled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen)
}

// cutter dials the agent's connections and can cut them, as the death of
// its process would.
type cutter struct {
	mu    sync.Mutex
	conns []net.Conn
}

func (c *cutter) Dial(network, address string) (net.Conn, error) {
	conn, err := net.Dial(network, address)
	if err == nil {
		c.mu.Lock()
		c.conns = append(c.conns, conn)
		c.mu.Unlock()
	}
	return conn, err
}

func (c *cutter) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conn := range c.conns {
		conn.Close()
	}
}

type agentResult struct {
	handled int    // distinct messages handled when the agent ended
	unacked uint64 // deliveries pulled and never settled
}

var errKilled = errors.New("killed")

// An agent handles the stream: a fanin.Group holding one natsjs.Source,
// consumed by g.Run. The lane holds as many deliveries as the consumer's
// MaxAckPending, so the Source never waits for room.
type agent struct {
	url      string
	ackWait  time.Duration
	work     time.Duration
	ackFirst bool
	store    *store
}

// run runs agent number num. If kill reports true while a message is being
// handled, the agent dies there: its connection is cut and g.Run returns at
// once, dropping what its lane held. If done reports true, the agent shuts
// down in order instead.
func (a agent) run(num int, kill, done func() bool) (agentResult, error) {
	var c cutter
	src := natsjs.NewSource(natsjs.SourceConfig{
		Name:    fmt.Sprintf("agent %d", num),
		URL:     a.url,
		Options: []nats.Option{nats.SetCustomDialer(&c), quiet},
		Stream:  streamName,
		Consumer: jetstream.ConsumerConfig{
			Durable:       durable,
			AckWait:       a.ackWait,
			MaxAckPending: fanin.DefaultCapacity,
		},
	}, natsjs.DecodeJSON[webhook.Message])
	var g fanin.Group[natsjs.Delivery[webhook.Message]]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := g.Add(ctx, src, fanin.WithLane(fanin.DefaultCapacity, 1)); err != nil {
		return agentResult{}, err
	}
	if done != nil {
		// Watch for the end of the work, then shut down in order.
		go func() {
			for !done() {
				select {
				case <-ctx.Done():
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
			cancel()
		}()
	}
	deadline := time.AfterFunc(30*time.Second, cancel) // never run for ever
	defer deadline.Stop()
	die := func() error {
		c.cut()
		return errKilled
	}

	st := a.store
	err := g.Run(ctx, func(d natsjs.Delivery[webhook.Message]) error {
		if d.Meta.NumDelivered > 1 {
			st.redelivered.Add(1)
		}
		if a.ackFirst {
			if d.AckSync(ctx) != nil {
				return nil // not acked (the server died): it comes again
			}
			if kill != nil && kill() {
				return die() // acked, and the effect never happens: lost
			}
		}
		if !st.apply(d.Meta.ID) {
			st.duplicates.Add(1)
			d.Ack() // already handled: acknowledge, do nothing
			return nil
		}
		time.Sleep(a.work) // the effect
		if kill != nil && !a.ackFirst && kill() {
			return die() // the effect happened, the ack never will: redelivered
		}
		d.Ack()
		return nil
	})
	stats := src.Stats()
	closeCtx, cancelClose := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelClose()
	src.Close(closeCtx) // a dead agent's connection is gone: this gives nothing back
	res := agentResult{handled: st.handled(), unacked: stats.Received - stats.Acked - stats.Poison - stats.Returned}
	if errors.Is(err, errKilled) {
		return res, nil
	}
	if err != nil {
		return res, err
	}
	if done != nil && !done() {
		return res, errors.New("the agent stopped before the consumer was drained")
	}
	return res, nil
}
