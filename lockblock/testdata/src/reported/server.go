package reported

import (
	"context"
	"net/http"
	"sync"
)

type admin struct {
	mu  sync.Mutex
	srv *http.Server
}

// Shutdown waits for the connections to go idle; Close closes the
// listeners and connections at once and is not reported.
func (a *admin) stop(ctx context.Context, graceful bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if graceful {
		a.srv.Shutdown(ctx) // want `call to http.Server.Shutdown, which may block`
		return
	}
	a.srv.Close()
}
