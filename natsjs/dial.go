package natsjs

import (
	"context"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// A startDialer dials the connections of one nats.Connect made by Start,
// and the reconnections of that connection if the program turned them on.
// nats.Connect takes no context, so while Start waits for it, the dialer
// ties every dial, and the handshake on every connection it makes, to
// Start's ctx: when ctx ends, the dial fails or the connection is closed
// under the handshake, and nats.Connect returns at once. Once Start has its
// connection, release unties them, so that ctx ending later (Start's ctx
// ends when Start returns, in a Group) leaves the connection alone.
//
// The rejected design ran nats.Connect in a goroutine that Start stopped
// waiting for: the goroutine, and a connection it might still make, would
// outlive Start by up to the connect timeout.
//
// It dials as nats.Connect would have: the program's dialer if it set one
// (nats.SetCustomDialer), through its DialContext method if it has one;
// else a net.Dialer with the connect timeout, shared among the addresses
// of the host. It resolves a host name itself, with ctx, instead of
// letting nats do it without one, and shuffles the addresses as nats does.
type startDialer struct {
	inner     nats.CustomDialer // the program's dialer, or nil
	net       net.Dialer        // used when inner is nil
	lookup    bool              // resolve host names (the program did not set SkipHostLookup)
	randomize bool              // shuffle a host's addresses (the program did not set DontRandomize)

	mu    sync.Mutex
	ctx   context.Context // Start's ctx; nil once released; guarded by mu
	stops []func() bool   // each stops the close tied to ctx of one connection; guarded by mu
}

// newStartDialer returns a dialer tied to ctx until release.
func newStartDialer(ctx context.Context) *startDialer {
	return &startDialer{ctx: ctx}
}

// option returns the option that puts d in place of the connection's
// dialer. It must come after every other option, to see what they set.
func (d *startDialer) option() nats.Option {
	return func(o *nats.Options) error {
		d.inner = o.CustomDialer
		switch {
		case o.Dialer != nil:
			d.net = *o.Dialer
		case o.Timeout > 0:
			d.net = net.Dialer{Timeout: o.Timeout}
		default:
			d.net = net.Dialer{Timeout: nats.DefaultTimeout}
		}
		if o.AllowMultipathTCP != nil {
			d.net.SetMultipathTCP(*o.AllowMultipathTCP)
		}
		d.lookup = !o.SkipHostLookup
		d.randomize = !o.NoRandomize
		o.SkipHostLookup = true // done by Dial, with ctx
		o.CustomDialer = d
		return nil
	}
}

// release unties the connections from Start's ctx. A connection that ctx
// closed already stays closed: the caller checks ctx.Err() afterwards.
func (d *startDialer) release() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ctx = nil
	for _, stop := range d.stops {
		stop()
	}
	d.stops = nil
}

// Dial implements nats.CustomDialer.
func (d *startDialer) Dial(network, address string) (net.Conn, error) {
	d.mu.Lock()
	ctx := d.ctx
	d.mu.Unlock()
	tied := ctx != nil
	if !tied {
		ctx = context.Background()
	}
	addrs := []string{address}
	if host, port, err := net.SplitHostPort(address); err == nil && d.lookup && net.ParseIP(host) == nil {
		ips, _ := net.DefaultResolver.LookupHost(ctx, host)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if len(ips) > 0 { // else dial the name, as nats does
			addrs = addrs[:0]
			for _, ip := range ips {
				addrs = append(addrs, net.JoinHostPort(ip, port))
			}
		}
	}
	if d.randomize {
		rand.Shuffle(len(addrs), func(i, j int) { addrs[i], addrs[j] = addrs[j], addrs[i] })
	}
	var conn net.Conn
	var err error
	for _, a := range addrs {
		if conn, err = d.dialOne(ctx, network, a, len(addrs)); err == nil {
			break
		}
	}
	if err != nil || !tied {
		return conn, err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	d.mu.Lock()
	released := d.ctx == nil
	if !released {
		d.stops = append(d.stops, stop)
	}
	d.mu.Unlock()
	if released && !stop() {
		// A reconnection that read Start's ctx just before release, which
		// has ended since and closed the connection.
		return nil, ctx.Err()
	}
	return conn, nil
}

// dialOne dials one address, as one of n.
func (d *startDialer) dialOne(ctx context.Context, network, address string, n int) (net.Conn, error) {
	switch inner := d.inner.(type) {
	case nil:
		nd := d.net
		nd.Timeout /= time.Duration(n)
		return nd.DialContext(ctx, network, address)
	case interface {
		DialContext(ctx context.Context, network, address string) (net.Conn, error)
	}:
		return inner.DialContext(ctx, network, address)
	default:
		// A dialer without a context: ctx bounds only the handshake.
		return inner.Dial(network, address)
	}
}

// SkipTLSHandshake passes on the program's dialer's choice, which nats
// asks the dialer in place.
func (d *startDialer) SkipTLSHandshake() bool {
	sd, ok := d.inner.(interface{ SkipTLSHandshake() bool })
	return ok && sd.SkipTLSHandshake()
}
