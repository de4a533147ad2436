// Package iokind holds waits for the network and the disk under a lock:
// each is reported as I/O, with its category, and none is reported with
// -io=false (TestIOFlag).
package iokind

import (
	"context"
	"crypto/tls"
	"database/sql"
	"net"
	"net/http"
	"os"
	"sync"
)

type Client struct {
	mu   sync.Mutex
	conn *net.TCPConn
	tc   *tls.Conn
	f    *os.File
	ln   *net.TCPListener
	addr string
	c    net.Conn
}

func (c *Client) read(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.conn.Read(b) // want `^call to net\.TCPConn\.Read, which waits for I/O \(network read\) while c\.mu may be held`
}

func (c *Client) write(b []byte) {
	c.mu.Lock()
	c.conn.Write(b) // want `waits for I/O \(network write\) while c\.mu may be held`
	c.mu.Unlock()
}

// dialLocked dials and shakes hands with the lock held, as a client that
// connects under its connection lock does.
func (c *Client) dialLocked() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	conn, err := net.Dial("tcp", c.addr) // want `^call to net\.Dial, which waits for I/O \(dial\)`
	if err != nil {
		return err
	}
	c.c = conn
	c.tc = tls.Client(conn, &tls.Config{})
	return c.tc.Handshake() // want `waits for I/O \(TLS handshake\)`
}

func (c *Client) accept() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ln.Accept() // want `waits for I/O \(accept\)`
}

func (c *Client) file(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.f.Read(b)  // want `waits for I/O \(file read\)`
	c.f.Write(b) // want `waits for I/O \(file write\)`
	c.f.Sync()   // want `waits for I/O \(file sync\)`
}

func (c *Client) get() {
	c.mu.Lock()
	defer c.mu.Unlock()
	http.Get(c.addr) // want `waits for I/O \(HTTP request\)`
}

// flush writes through a helper: the caller's message names the category.
func (c *Client) flush(b []byte) { c.conn.Write(b) }

func (c *Client) flushLocked(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flush(b) // want `^call to iokind\.Client\.flush, which may wait for I/O \(network write: call to net\.TCPConn\.Write at iokind\.go:\d+\)`
}

// Not reported: the I/O runs after the unlock.
func (c *Client) unlocked(b []byte) {
	c.mu.Lock()
	conn := c.conn
	c.mu.Unlock()
	conn.Write(b)
}

// A net.Conn waits for its peer whatever stands behind it.
func (c *Client) viaInterface(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.c.Write(b) // want `^call to net\.Conn\.Write, which waits for I/O \(network write\)`
}

// A connection dialed under the lock and written through the net.Conn it
// returns.
func (c *Client) dialWrite(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	conn, err := net.Dial("tcp", c.addr) // want `waits for I/O \(dial\)`
	if err != nil {
		return
	}
	conn.Write(b) // want `waits for I/O \(network write\)`
}

// A listener and a packet connection through their interfaces.
func acceptAny(mu *sync.Mutex, ln net.Listener, pc net.PacketConn, b []byte) {
	mu.Lock()
	defer mu.Unlock()
	ln.Accept()    // want `^call to net\.Listener\.Accept, which waits for I/O \(accept\)`
	pc.ReadFrom(b) // want `waits for I/O \(network read\)`
}

// A query waits for the database, behind the driver's interfaces.
func query(ctx context.Context, mu *sync.Mutex, db *sql.DB) {
	mu.Lock()
	defer mu.Unlock()
	rows, err := db.QueryContext(ctx, "SELECT 1") // want `^call to sql\.DB\.QueryContext, which waits for I/O \(database call\)`
	if err != nil {
		return
	}
	defer rows.Close()
	for rows.Next() { // want `waits for I/O \(database call\)`
	}
}

// Datagram holds a UDP socket. A datagram write hands the packet to the
// kernel and returns, and dialing a resolved address only binds a
// socket: neither waits for the peer. Reading waits for one.
type Datagram struct {
	mu   sync.Mutex
	udp  *net.UDPConn
	ip   *net.IPConn
	unix *net.UnixConn
	addr *net.UDPAddr
	host string
}

func (d *Datagram) send(b []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.udp == nil {
		conn, err := net.DialUDP("udp", nil, d.addr)
		if err != nil {
			return err
		}
		d.udp = conn
	}
	d.udp.Write(b)
	d.udp.WriteToUDP(b, d.addr)
	d.udp.WriteMsgUDP(b, nil, d.addr)
	d.ip.Write(b)
	_, err := d.ip.WriteToIP(b, &net.IPAddr{})
	return err
}

func (d *Datagram) receive(b []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.udp.Read(b)           // want `waits for I/O \(network read\)`
	d.udp.ReadFromUDP(b)    // want `waits for I/O \(network read\)`
	d.unix.Write(b)         // want `waits for I/O \(network write\)`
	net.Dial("udp", d.host) // want `waits for I/O \(dial\)`
}
