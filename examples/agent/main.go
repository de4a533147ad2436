// Command agent is the shape of an AI agent that talks to the world through
// several adapters, all feeding one consumer loop of the program's own
// message type, Event:
//
//   - webhook: the package's signed HTTP ingress, a Group adapter of
//     webhook.Message joined to the group through fanin.Map; a built-in
//     caller posts signed requests, half of them waiting for the reply;
//   - ticker: a heartbeat every 100ms, sent with TrySend so it never waits;
//   - stdin: one request per input line, each waiting for the agent's reply
//     through a fanin.Reply handle carried in the Event; it reads a
//     scripted conversation unless -stdin is given;
//   - flaky: a plugin that panics on every 7th event; the group recovers
//     the panic and restarts it with backoff. The agent can live without
//     it, so it is added WithKeepTrying: failing more often than its
//     restart intensity allows slows its restarts down instead of ending
//     the agent.
//
// The agent serves its metrics at /metrics on -metrics (a loopback port of
// its own by default): the group, the webhook and its rate limit through
// package faninprom's collectors, and the same counts through package
// faninotel's OpenTelemetry instruments, exported by OpenTelemetry's
// Prometheus exporter under the otel_ prefix, so that one scrape shows
// both. At the end it scrapes itself once and checks that both are there.
//
// The webhook is added WithFailFast: if its address cannot be bound, g.Run
// returns the error at once, as http.ListenAndServe would.
//
// g.Run is the main loop: it starts the group, hands each event to the
// agent, and on the first Ctrl-C (or after -for) shuts down and lets the
// agent finish what was accepted, for at most -drain; a second Ctrl-C ends
// the process at once. What the drain could not handle is abandoned: a
// waiting caller is told the agent is shutting down. At the end the
// program prints the group's Stats and checks that the agent handled or
// abandoned exactly what the adapters were told was accepted, and that no
// goroutine is left.
//
// It is a module of its own, so that fanin itself depends on no metrics
// library; from the repository root:
//
//	cd examples/agent
//	go run .                                   # about 3 seconds
//	go run . -for 10s                          # longer
//	go run . -stdin                            # type lines; each gets a reply
//	go run . -addr 127.0.0.1:8080              # if the address is in use, Run fails at once
//	go run . -for 1m -metrics 127.0.0.1:9464   # curl http://127.0.0.1:9464/metrics meanwhile
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/fanin-go/fanin"
	"github.com/fanin-go/fanin/faninotel"
	"github.com/fanin-go/fanin/faninprom"
	"github.com/fanin-go/fanin/webhook"
)

// Event is the program's own message type: what the agent consumes.
type Event struct {
	From  string
	Text  string
	Reply fanin.Reply[string] // wanted when the sender waits for the answer
}

// accepted counts, per adapter, the sends the adapters were told succeeded.
type accepted struct {
	mu sync.Mutex
	n  map[string]int
}

func (a *accepted) add(name string) {
	a.mu.Lock()
	a.n[name]++
	a.mu.Unlock()
}

func main() {
	runFor := flag.Duration("for", 3*time.Second, "how long to run before shutting down (Ctrl-C stops it sooner)")
	think := flag.Duration("think", 2*time.Millisecond, "time the agent spends on each event")
	stdin := flag.Bool("stdin", false, "read requests from standard input instead of a scripted conversation")
	addr := flag.String("addr", "127.0.0.1:0", "the webhook's listening address")
	drain := flag.Duration("drain", 2*time.Second, "how long the agent may go on handling accepted events after the run ends")
	metricsAddr := flag.String("metrics", "127.0.0.1:0", "where /metrics is served")
	flag.Parse()
	if *runFor <= 0 || *think < 0 || *drain <= 0 {
		fmt.Fprintln(os.Stderr, "agent: -for and -drain must be positive and -think not negative")
		os.Exit(2)
	}
	var in io.Reader = strings.NewReader("hello\nwhat is the time?\nthank you\n")
	if *stdin {
		in = os.Stdin
	}
	os.Exit(run(*runFor, *think, *drain, *addr, *metricsAddr, in, *stdin))
}

func run(runFor, think, drain time.Duration, addr, metricsAddr string, in io.Reader, interactive bool) int {
	// The first Ctrl-C (or SIGTERM) ends ctx, and g.Run drains; stop then
	// restores the signals' default action, so that a second one ends the
	// process at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop)
	ctx, cancel := context.WithTimeout(ctx, runFor)
	defer cancel()
	baseline := runtime.NumGoroutine() // the signal watchers are not ours to count

	counts := &accepted{n: map[string]int{}}
	replies := fanin.NewPending[string](100)
	defer replies.Close()

	secret := rand.Text()
	hook := webhook.New(webhook.Config{
		Verifiers: []webhook.Verifier{webhook.HMACSHA256("", []byte(secret))},
		Addr:      addr,
		RateLimit: []fanin.Band{{Events: 40, Interval: time.Second, Burst: 10}}, // per caller
	})

	events := make(chan fanin.AdapterEvent, 64)
	abandoned := map[string]int{}
	g := &fanin.Group[Event]{
		Events:       events,
		DrainTimeout: drain,
		// What the drain could not handle: answer a caller who waits,
		// and count it. A real agent might persist it instead.
		Abandon: func(e Event) {
			abandoned[e.From]++
			e.Reply.Resolve("the agent is shutting down; try again")
		},
	}
	add := func(a fanin.Adapter[Event], opts ...fanin.Option) {
		if err := g.Add(ctx, a, opts...); err != nil {
			panic(err)
		}
	}
	add(fanin.Map(hook, func(m webhook.Message) Event {
		return Event{From: "webhook", Text: m.Sender + ": " + m.Content, Reply: m.Reply}
	}), fanin.WithFailFast()) // an address in use ends Run at once
	add(fanin.AdapterFunc("ticker", ticker(counts)), fanin.WithLane(8, 1)) // a short lane: stale heartbeats are worth nothing
	add(fanin.AdapterFunc("stdin", lines(in, replies, counts)))
	add(fanin.AdapterFunc("flaky", flaky(counts)), fanin.WithBackoff(50*time.Millisecond, time.Second, 0.2),
		fanin.WithKeepTrying()) // the agent can live without it

	metrics, err := serveMetrics(metricsAddr, g, hook)
	if err != nil {
		fmt.Println("metrics:", err)
		return 1
	}
	fmt.Printf("metrics: http://%s/metrics\n", metrics.addr)

	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { // report restarts as they happen
		for e := range events {
			if e.Kind == fanin.EventPanicked || e.Kind == fanin.EventRestarting || e.Kind == fanin.EventDegraded {
				fmt.Printf("event: %s %s (%v)\n", e.Adapter, e.Kind, firstLine(e.Err))
			}
		}
	})
	callerStats := &callerCounts{}
	callerDone := make(chan struct{})
	wg.Go(func() {
		defer close(callerDone)
		caller(ctx, hook, secret, callerStats)
	})

	handled := map[string]int{}
	err = g.Run(ctx, func(e Event) error { // the agent loop, one event at a time
		handled[e.From]++
		time.Sleep(think)
		e.Reply.Resolve("you said " + e.Text)
		return nil
	})
	close(events)
	scraped := metrics.check()
	metrics.close()
	if err != nil {
		fmt.Println("run:", err)
		cancel() // the built-in caller stops too
		wg.Wait()
		return 1
	}
	// The answer to the caller's last request may still be on its way
	// back after its event was handled: count it before comparing.
	cancel()
	<-callerDone
	if !scraped {
		return 1
	}
	counts.n["webhook"] = int(callerStats.accepted.Load())
	// A terminal's reader may still wait for a line; a scripted one has
	// ended with its input.
	allowed := 0
	if interactive {
		allowed = 1
	}
	return report(g.Stats(), counts.n, handled, abandoned, callerStats, replies, baseline+allowed, &wg)
}

// metricsServer serves /metrics: faninprom's collectors and faninotel's
// instruments, side by side in one scrape.
type metricsServer struct {
	addr string
	srv  *http.Server
	mp   *sdkmetric.MeterProvider
	done chan struct{}
}

func serveMetrics(addr string, g *fanin.Group[Event], hook *webhook.Handler) (*metricsServer, error) {
	// Prometheus: a registry, the collectors, a handler (below).
	reg := prometheus.NewRegistry()
	reg.MustRegister(faninprom.NewGroupCollector(g), faninprom.NewWebhookCollector(hook))

	// OpenTelemetry: a meter, the instruments of the group and of the
	// webhook. The program chooses the exporter; here it is
	// OpenTelemetry's own Prometheus exporter, on a registry of its own,
	// so that the same scrape shows its names under otel_.
	otelReg := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(otelReg), otelprom.WithNamespace("otel"))
	if err != nil {
		return nil, err
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	meter := mp.Meter("github.com/fanin-go/fanin")
	if _, err := faninotel.ObserveGroup(meter, g); err != nil {
		return nil, err
	}
	if _, err := faninotel.ObserveWebhook(meter, hook); err != nil {
		return nil, err
	}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		mp.Shutdown(context.Background())
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(prometheus.Gatherers{reg, otelReg}, promhttp.HandlerOpts{}))
	m := &metricsServer{addr: ln.Addr().String(), srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, mp: mp, done: make(chan struct{})}
	go func() {
		defer close(m.done)
		m.srv.Serve(ln) // returns at Shutdown
	}()
	return m, nil
}

// check scrapes /metrics once and reports whether both the Prometheus
// collector's and the OpenTelemetry instruments' restarts of flaky are
// there, printing them.
func (m *metricsServer) check() bool {
	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	resp, err := client.Get("http://" + m.addr + "/metrics")
	if err != nil {
		fmt.Println("metrics: scrape:", err)
		return false
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		fmt.Println("metrics: scrape:", resp.Status, err)
		return false
	}
	ok := true
	for _, prefix := range []string{`fanin_adapter_restarts_total{adapter="flaky"}`, `otel_fanin_adapter_restarts_total{fanin_adapter_name="flaky"`} {
		line := ""
		for l := range strings.Lines(string(body)) {
			if strings.HasPrefix(l, prefix) {
				line = strings.TrimSpace(l)
			}
		}
		if line == "" {
			fmt.Printf("metrics: no %s in the scrape\n", prefix)
			ok = false
			continue
		}
		fmt.Println("metrics:", line)
	}
	return ok
}

// close stops serving and the meter provider.
func (m *metricsServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m.srv.Shutdown(ctx)
	<-m.done
	m.mp.Shutdown(ctx)
}

// ticker sends a heartbeat every 100ms without ever waiting for room.
func ticker(counts *accepted) func(context.Context, fanin.Sink[Event]) error {
	return func(ctx context.Context, s fanin.Sink[Event]) error {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for n := 1; ; n++ {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
			if s.TrySend(Event{From: "ticker", Text: fmt.Sprint("tick ", n)}) == nil {
				counts.add("ticker")
			}
		}
	}
}

// lines sends one request per line of in and prints the agent's reply.
// Reading is not interruptible, so the reader runs in a goroutine of its
// own that ends when in does; Run returns when ctx ends.
func lines(in io.Reader, replies *fanin.Pending[string], counts *accepted) func(context.Context, fanin.Sink[Event]) error {
	input := make(chan string)
	go func() {
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			input <- sc.Text()
		}
		close(input)
	}()
	return func(ctx context.Context, s fanin.Sink[Event]) error {
		for {
			var line string
			var ok bool
			select {
			case <-ctx.Done():
				return nil
			case line, ok = <-input:
			}
			if !ok {
				<-ctx.Done() // input is over; stay until the group stops
				return nil
			}
			wait, cancel := context.WithTimeout(ctx, 2*time.Second)
			reply, err := replies.Request(wait, func(r fanin.Reply[string]) error {
				err := s.Send(wait, Event{From: "stdin", Text: line, Reply: r})
				if err == nil {
					counts.add("stdin")
				}
				return err
			})
			cancel()
			if err != nil {
				fmt.Printf("stdin: %q: %v\n", line, err)
				continue
			}
			fmt.Printf("stdin: %q -> %q\n", line, reply)
		}
	}
}

// flaky is a plugin with a bug: it panics on every 7th event. The group
// recovers the panic in this adapter's goroutine and restarts it.
func flaky(counts *accepted) func(context.Context, fanin.Sink[Event]) error {
	var n atomic.Int64
	return func(ctx context.Context, s fanin.Sink[Event]) error {
		t := time.NewTicker(40 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
			i := n.Add(1)
			if i%7 == 0 {
				panic(fmt.Sprintf("plugin: no handler for event %d", i))
			}
			if s.Send(ctx, Event{From: "flaky", Text: fmt.Sprint("plugin event ", i)}) == nil {
				counts.add("flaky")
			}
		}
	}
}

// callerCounts are the built-in webhook caller's tallies.
type callerCounts struct {
	accepted, replied, refused atomic.Int64
}

// caller posts a signed request every 20ms until ctx ends; every other one
// waits for the agent's reply.
func caller(ctx context.Context, hook *webhook.Handler, secret string, c *callerCounts) {
	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		addr := hook.Addr()
		if addr == nil {
			continue
		}
		body := fmt.Sprintf(`{"sender":"caller","content":"request %d","wait_for_response":%v}`, n, n%2 == 0)
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr.String()+"/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(webhook.DefaultSignatureHeader, "sha256="+hex.EncodeToString(webhook.Sign([]byte(secret), []byte(body))))
		resp, err := client.Do(req)
		if err != nil {
			c.refused.Add(1)
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusOK: // replied: in the stream, and answered
			c.accepted.Add(1)
			c.replied.Add(1)
		case http.StatusAccepted, http.StatusGatewayTimeout, 499: // in the stream
			c.accepted.Add(1)
		default:
			c.refused.Add(1)
		}
	}
}

func report(st fanin.GroupStats, counts, handled, abandoned map[string]int, caller *callerCounts, replies *fanin.Pending[string], baseline int, wg *sync.WaitGroup) int {
	ok := true
	fmt.Printf("\n%-8s %-8s %8s %8s %8s %8s %9s %8s\n", "adapter", "state", "accepted", "refused", "restarts", "handled", "abandoned", "told ok")
	for _, a := range st.Adapters {
		refused := a.Full + a.Closed + a.Canceled + a.RateLimited
		fmt.Printf("%-8s %-8s %8d %8d %8d %8d %9d %8d\n", a.Name, a.State, a.Accepted, refused, a.Restarts, handled[a.Name], abandoned[a.Name], counts[a.Name])
		if n := handled[a.Name] + abandoned[a.Name]; int(a.Accepted) != n || n != counts[a.Name] {
			ok = false
		}
	}
	fmt.Printf("\nwebhook caller: %d accepted, %d replied, %d refused\n", caller.accepted.Load(), caller.replied.Load(), caller.refused.Load())
	fmt.Printf("handled + abandoned == accepted == told ok, for every adapter: %v (%d abandoned)\n", ok, st.Abandoned)
	fmt.Printf("the flaky adapter was restarted after panics: %v\n", restarts(st, "flaky") > 0)
	fmt.Printf("pending replies left: %d\n", replies.Len())

	wg.Wait()
	left := runtime.NumGoroutine() - baseline
	for deadline := time.Now().Add(time.Second); left > 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond) // the HTTP client's idle connections close
		left = runtime.NumGoroutine() - baseline
	}
	fmt.Printf("goroutines left: %d\n", left)
	if left > 0 && os.Getenv("AGENT_DEBUG") != "" {
		buf := make([]byte, 1<<20)
		os.Stderr.Write(buf[:runtime.Stack(buf, true)])
	}
	if !ok || restarts(st, "flaky") == 0 || replies.Len() != 0 || left > 0 {
		return 1
	}
	return 0
}

func restarts(st fanin.GroupStats, name string) int {
	for _, a := range st.Adapters {
		if a.Name == name {
			return a.Restarts
		}
	}
	return 0
}

func firstLine(err error) string {
	if err == nil {
		return ""
	}
	var pe *fanin.PanicError
	if errors.As(err, &pe) {
		return fmt.Sprint("panic: ", pe.Value)
	}
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}
