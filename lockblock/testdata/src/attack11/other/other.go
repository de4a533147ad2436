// Package other is the package whose lock or generic function a served
// queue's reader reaches in the cases beside it.
package other

import "sync"

// Mu is a lock that the importer's senders may hold.
var Mu sync.Mutex

// Touch takes Mu.
func Touch() { Mu.Lock(); Mu.Unlock() }

// Each1 calls x's Do: a method of the importer's type.
func Each1[T interface{ Do() }](x T) { x.Do() }
