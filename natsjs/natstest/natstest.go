// Package natstest runs a real NATS server with JetStream inside a test's
// process, as net/http/httptest runs a real HTTP server: loopback only, a
// file store in the test's temporary directory, no logging. It is for the
// tests of programs that use natsjs, not for production: a production
// server is a nats-server process (or cluster) of its own.
//
//	srv := natstest.NewServer(t)
//	nc, _ := nats.Connect(srv.URL())
//	js, _ := jetstream.New(nc)
//	js.CreateStream(ctx, natsjs.SafeStreamConfig("WEBHOOK", "webhook.in"))
package natstest

import (
	"testing"

	"github.com/fanin-go/fanin/natsjs/internal/embed"
)

// A Server is a NATS server with JetStream running in the test's process.
// Its methods must be called from the test's goroutine, or otherwise one
// at a time.
type Server struct {
	t   testing.TB
	srv *embed.Server // nil while stopped
	old *embed.Server // the last one stopped, whose store and port Start reuses
}

// NewServer starts a server with a file store in a new directory of
// t.TempDir(), on a free loopback port, and stops it when the test ends.
// It fails the test if the server does not start within 10 s.
func NewServer(t testing.TB) *Server {
	t.Helper()
	srv, err := embed.Start(t.TempDir(), 0)
	if err != nil {
		t.Fatalf("natstest: %v", err)
	}
	s := &Server{t: t, srv: srv}
	t.Cleanup(s.Stop)
	return s
}

// URL returns the address clients connect to, "nats://127.0.0.1:<port>";
// it stays the same across Stop and Start.
func (s *Server) URL() string {
	if s.srv != nil {
		return s.srv.URL()
	}
	return s.old.URL()
}

// Stop shuts the server down gracefully and waits until it has released
// its port and every goroutine it started; its store stays, for Start.
// Stop does nothing if the server is stopped.
func (s *Server) Stop() {
	if s.srv == nil {
		return
	}
	s.srv.Stop()
	s.old, s.srv = s.srv, nil
}

// Start starts a stopped server again on the same store and port, as a
// restarted server process would be: the streams, their messages and the
// consumers' state are as the graceful Stop left them. It fails the test
// if the server cannot start. Start does nothing if the server runs.
func (s *Server) Start() {
	s.t.Helper()
	if s.srv != nil {
		return
	}
	srv, err := s.old.Again()
	if err != nil {
		s.t.Fatalf("natstest: %v", err)
	}
	s.srv = srv
}

// Restart stops the server and starts it again on the same store and port.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.Start()
}
