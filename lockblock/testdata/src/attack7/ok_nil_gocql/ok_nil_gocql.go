package ok_nil_gocql

import (
	"context"
	"net"
	"sync"
	"time"
)

type callResp struct{ err error }

type callReq struct {
	resp    chan callResp
	timeout chan struct{}
}

type ErrorHandler interface {
	HandleError(c *Conn, err error, closed bool)
}

type Conn struct {
	conn         net.Conn
	mu           sync.Mutex
	calls        map[int]*callReq
	closed       bool
	cancel       context.CancelFunc
	errorHandler ErrorHandler
}

func (c *Conn) releaseStream(id int) {}

func (c *Conn) close() error { return c.conn.Close() }

func (c *Conn) closeWithError(err error) {
	if c == nil {
		return
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	var callsToClose map[int]*callReq
	if err != nil {
		callsToClose = c.calls
		c.calls = nil
	}
	c.mu.Unlock()
	c.cancel()
	connErr := c.close()
	_ = connErr
	for id, req := range callsToClose {
		c.releaseStream(id)
		select {
		case req.resp <- callResp{err: err}:
		case <-req.timeout:
		}
	}
	if err != nil {
		c.errorHandler.HandleError(c, err, true)
	}
}

func (c *Conn) Close() {
	c.closeWithError(nil)
}

type hostConnPool struct {
	mu    sync.RWMutex
	conns []*Conn
}

func (pool *hostConnPool) Close() {
	pool.mu.Lock()
	defer pool.mu.Unlock()
	for _, conn := range pool.conns {
		conn.Close()
	}
	time.Now()
}
