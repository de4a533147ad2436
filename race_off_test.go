//go:build !race

package fanin

// raceEnabled says that the tests run under the race detector, which
// allows at most 8,128 live goroutines and makes each one dearer.
const raceEnabled = false
