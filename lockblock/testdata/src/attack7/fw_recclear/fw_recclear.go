package fw_recclear

import (
	"net"
	"sync"
)

const skipFlush = 1

type conn struct {
	mu    sync.Mutex
	flags uint8
	nc    net.Conn
	buf   []byte
}

func clearWord(p *uint8) { *p = 0 }

// reset and resetMore call each other; reset clears the flag word (it
// hands the field's address to clearWord).
func (c *conn) reset(n int) {
	if n > 0 {
		c.resetMore(n - 1)
	}
	clearWord(&c.flags)
}

func (c *conn) resetMore(n int) {
	c.reset(n)
}

func (c *conn) flushAndClose() {
	if c.flags&skipFlush == 0 {
		c.nc.Write(c.buf)
	}
	c.nc.Close()
}

func (c *conn) a() {
	c.flags |= 2
	c.reset(1)
}

// resetMore clears the word (through reset), so the flush is reached.
func (c *conn) markClosed() {
	c.flags |= skipFlush
	c.resetMore(0)
	c.flushAndClose()
}

type server struct{ mu sync.Mutex }

func (s *server) drop(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.markClosed() // want `call to fw_recclear\.conn\.markClosed, which may wait for I/O \(network write: call to net\.Conn\.Write at fw_recclear\.go:34\)`
}
