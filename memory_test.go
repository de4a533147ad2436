//go:build !race

// The race detector changes what goroutines and allocations cost, so these
// tests are built only without it; CI runs them in a step of their own.

package fanin

import "testing"

// TestIdleAdapterMemory: an adapter that waits and never sends, with the
// default lane and a 128-byte message type, holds at most 16 KiB: its
// goroutine, its lane and the group's bookkeeping. A lane makes its buffer
// (256 values of 128 bytes, 32 KiB) only at its first send.
func TestIdleAdapterMemory(t *testing.T) {
	const limit = 16 << 10
	per := idleAdapterMemory(t, 10_000)
	if per > limit {
		t.Errorf("an idle adapter holds %.0f bytes, want at most %d", per, limit)
	}
	t.Logf("an idle adapter holds %.0f bytes", per)
}
