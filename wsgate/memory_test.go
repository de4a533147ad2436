//go:build !race

package wsgate

import (
	"net"
	"runtime"
	"testing"
)

// memoryInUse returns the heap and stack in use after a collection.
func memoryInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse + ms.StackInuse
}

// TestMemoryPerIdleConnection measures what an idle connection costs the
// process: the gateway's side (its goroutines, buffers, outbox, timers)
// and the few hundred bytes of the test's own end of each TCP connection,
// which uses no WebSocket library. The goal is at most 32 KiB. It runs
// without the race detector, which changes what memory costs.
func TestMemoryPerIdleConnection(t *testing.T) {
	const n = 500
	s := serve(t, Config{MaxConns: n}, streamWords)
	before := memoryInUse()
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range n {
		conns = append(conns, rawUpgrade(t, s.gw.Addr().String()))
	}
	eventually(t, "every connection registered", func() bool { return s.gw.Stats().Conns == n })
	after := memoryInUse()
	per := (int64(after) - int64(before)) / n
	t.Logf("%d idle connections: %d bytes each (heap and stack in use)", n, per)
	if per > 32<<10 {
		t.Errorf("an idle connection costs %d bytes, want at most 32 KiB", per)
	}
}
