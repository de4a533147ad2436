// Package embed runs a NATS server with JetStream inside the process, for
// the module's tests, benchmarks and demonstration: loopback only, a file
// store in a directory the caller owns, no logging, no signal handlers.
package embed

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// readyTimeout bounds how long Start waits for the server to accept
// clients; a loopback server with an empty store is ready in milliseconds.
const readyTimeout = 10 * time.Second

// A Server is a running embedded server.
type Server struct {
	*server.Server
	dir  string
	port int
}

// Start starts a server whose JetStream file store lives in dir. A port of
// 0 picks a free loopback port; Restart uses the same port again, so that
// clients configured with [Server.URL] find the server after a restart.
func Start(dir string, port int) (*Server, error) {
	if port == 0 {
		port = server.RANDOM_PORT
	}
	opts := &server.Options{
		Host:                   "127.0.0.1",
		Port:                   port,
		JetStream:              true,
		StoreDir:               dir,
		NoLog:                  true,
		NoSigs:                 true,
		DisableJetStreamBanner: true,
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, err
	}
	s.Start()
	if !s.ReadyForConnections(readyTimeout) {
		s.Shutdown()
		s.WaitForShutdown()
		return nil, errors.New("embed: server not ready in time")
	}
	addr, ok := s.Addr().(*net.TCPAddr)
	if !ok {
		s.Shutdown()
		s.WaitForShutdown()
		return nil, fmt.Errorf("embed: unexpected listen address %v", s.Addr())
	}
	return &Server{Server: s, dir: dir, port: addr.Port}, nil
}

// URL returns the address clients connect to.
func (s *Server) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", s.port) }

// Port returns the loopback port the server listens on.
func (s *Server) Port() int { return s.port }

// Stop shuts the server down and waits until it has released its port,
// its store and every goroutine it started.
func (s *Server) Stop() {
	s.Shutdown()
	s.WaitForShutdown()
}

// Again starts a new server on the store and port of s, which must be
// stopped.
func (s *Server) Again() (*Server, error) { return Start(s.dir, s.port) }

// Restart stops s and starts a new server on the same store and port.
func (s *Server) Restart() (*Server, error) {
	s.Stop()
	return s.Again()
}
