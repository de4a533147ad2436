// Package flagword holds connections that keep their state in the bits of
// one field: a bit set for some reasons and tested by a later function
// decides whether that function waits on the socket.
package flagword

import (
	"net"
	"sync"
)

type connFlag uint16

const (
	skipFlush connFlag = 1 << iota
	closed
	writeLoop
)

func (f *connFlag) set(b connFlag)         { *f |= b }
func (f *connFlag) clear(b connFlag)       { *f &^= b }
func (f connFlag) isSet(b connFlag) bool   { return f&b != 0 }
func (f connFlag) isClear(b connFlag) bool { return f&b == 0 }

type reason int

const (
	readError reason = iota
	writeError
	protocolError
	clientClosed
)

type conn struct {
	mu    sync.Mutex
	flags connFlag
	nc    net.Conn
	out   chan []byte
	buf   []byte
}

type server struct {
	mu    sync.Mutex
	conns map[int]*conn
}

// flush waits for the peer.
func (c *conn) flush() {
	c.nc.Write(c.buf)
}

func (c *conn) flushAndClose() {
	if !c.flags.isSet(skipFlush) {
		c.flush()
	}
	c.nc.Close()
}

// markClosed flushes in place unless the reason says the socket is gone.
func (c *conn) markClosed(r reason) {
	switch r {
	case readError, writeError:
		c.flags.set(skipFlush)
	}
	if c.flags.isSet(closed) {
		return
	}
	c.flags.set(closed)
	c.flushAndClose()
}

// A read error sets skipFlush before the flush is tested: no wait.
func (s *server) dropOnReadError(id int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conns[id].markClosed(readError)
}

// A protocol error flushes to the peer under s.mu.
func (s *server) dropOnProtocolError(id int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conns[id].markClosed(protocolError) // want `call to flagword.conn.markClosed, which may wait for I/O \(network write: call to net.Conn.Write`
}

// The bit is set, then cleared by a method of the package before the
// test: the flush is reached.
func (c *conn) setThenClear(r reason) {
	c.flags.set(skipFlush)
	if r == clientClosed {
		c.flags.clear(skipFlush)
	}
	c.flushAndClose()
}

func (s *server) clearedBit(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.setThenClear(clientClosed) // want `call to flagword.conn.setThenClear, which may wait for I/O`
}

func (s *server) keptBit(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.setThenClear(readError)
}

// A store to the field other than |= forgets what was known.
func (c *conn) resetFlags(r reason) {
	if r == readError {
		c.flags |= skipFlush
	}
	c.flags = 0
	c.flushAndClose()
}

func (s *server) resetBits(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.resetFlags(readError) // want `call to flagword.conn.resetFlags, which may wait for I/O`
}

// A direct store of field|K is a set; a bit set on one path only is not
// known after the paths join.
func (c *conn) onePath(r reason, always bool) {
	if always {
		c.flags |= skipFlush
	}
	if r == readError {
		c.flags |= skipFlush
	}
	c.flushAndClose()
}

func (s *server) setOnOnePath(c *conn, always bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.onePath(writeError, always) // want `call to flagword.conn.onePath, which may wait for I/O`
	c.onePath(readError, always)
}

// A helper that is handed the field's address may clear it.
func reset(f *connFlag) { *f = 0 }

func (c *conn) handedOn(r reason) {
	if r == readError {
		c.flags.set(skipFlush)
	}
	reset(&c.flags)
	c.flushAndClose()
}

func (s *server) addressHandedOn(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.handedOn(readError) // want `call to flagword.conn.handedOn, which may wait for I/O`
}

// A function of the package that clears the bit, called between the set
// and the test, forgets it.
func (c *conn) forget() { c.flags.clear(skipFlush) }

func (c *conn) clearedByCallee(r reason) {
	if r == readError {
		c.flags.set(skipFlush)
	}
	c.forget()
	c.flushAndClose()
}

func (s *server) clearedInCallee(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.clearedByCallee(readError) // want `call to flagword.conn.clearedByCallee, which may wait for I/O`
}

// A bit set on another connection says nothing of this one's.
func (c *conn) other(o *conn, r reason) {
	if r == readError {
		o.flags.set(skipFlush)
	}
	c.flushAndClose()
}

func (s *server) otherConn(c, o *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.other(o, readError) // want `call to flagword.conn.other, which may wait for I/O`
}

// The test written out in the branch, and in a method of its own that
// compares with zero the other way round.
func (c *conn) closeInline() {
	if c.flags&skipFlush == 0 {
		c.flush()
	}
}

func (c *conn) closeIsClear() {
	if c.flags.isClear(skipFlush) {
		c.flush()
	}
}

func (c *conn) abort(inline bool) {
	c.flags.set(skipFlush | closed)
	if inline {
		c.closeInline()
	} else {
		c.closeIsClear()
	}
}

func (s *server) abortBoth(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.abort(true)
	c.abort(false)
}

// An exported field may be written by other packages: it is not tracked.
type Conn struct {
	mu    sync.Mutex
	Flags connFlag
	nc    net.Conn
}

func (c *Conn) close(r reason) {
	if r == readError {
		c.Flags.set(skipFlush)
	}
	if !c.Flags.isSet(skipFlush) {
		c.nc.Write(nil)
	}
}

func (c *Conn) exported() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.close(readError) // want `call to flagword.Conn.close, which may wait for I/O`
}
