// Command lockblock reports a sync.Mutex or sync.RWMutex held across a
// blocking operation. Run it alone on packages,
//
//	lockblock ./...
//
// or under go vet:
//
//	go vet -vettool=$(which lockblock) ./...
//
// See the documentation of package lockblock for what it reports.
package main

import (
	"github.com/fanin-go/fanin/lockblock"
	"golang.org/x/tools/go/analysis/singlechecker"
)

func main() { singlechecker.Main(lockblock.Analyzer) }
