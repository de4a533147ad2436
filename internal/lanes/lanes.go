// Package lanes turns a snapshot of a fanin.Group into rows of bounded
// cardinality, for the metrics modules faninprom and faninotel: one row per
// adapter up to a limit, the rest folded together, and rows for the
// injection lane and for adapters that were removed. It is shared so that
// both modules fold alike; it is not part of fanin's API.
package lanes

import (
	"sync"

	"github.com/fanin-go/fanin"
)

// Names of the rows that are not an adapter's own.
const (
	Injected = "(injected)" // the lane of Group.Sender
	Other    = "(other)"    // adapters beyond the limit, together
	Removed  = "(removed)"  // what adapters no longer in the group counted
)

// DefaultMaxAdapters is the number of adapters that get a row of their
// own unless the caller says otherwise.
const DefaultMaxAdapters = 100

// States lists every adapter state, in order, for a row per state.
var States = []fanin.AdapterState{
	fanin.Idle, fanin.Starting, fanin.Running, fanin.Restarting,
	fanin.Exited, fanin.Stopped, fanin.Failed, fanin.Waiting,
}

// A Row is one lane's counters and gauges, with the adapter's own numbers
// where the row is adapters'.
type Row struct {
	Name string
	fanin.Stats
	Adapter    bool           // the row is of adapters: Name, or Other
	Restarts   int            // summed over the row's adapters
	States     [numStates]int // adapters of the row in each state, indexed by fanin.AdapterState
	Degraded   int            // adapters of the row that are degraded
	KeepTrying int            // adapters of the row added WithKeepTrying
}

const numStates = 8 // len(States)

// A Folder keeps the names of the adapters that have a row of their own:
// the first max names it sees keep their row for as long as the Folder
// lives, so that a series does not move between a name and Other as
// adapters come and go. It is safe for simultaneous use.
type Folder struct {
	max int

	mu    sync.Mutex
	named map[string]bool // guarded by mu
}

// NewFolder returns a Folder that gives at most max adapters a row of
// their own; max <= 0 means DefaultMaxAdapters.
func NewFolder(max int) *Folder {
	if max <= 0 {
		max = DefaultMaxAdapters
	}
	return &Folder{max: max, named: make(map[string]bool)}
}

// Rows returns the rows of gs: the adapters with a row of their own, in
// gs's order (by name), then Other if any adapter was folded, then
// Injected, then Removed if removed adapters counted anything. The lanes
// of the rows add up to gs.Stats.
func (f *Folder) Rows(gs fanin.GroupStats) []Row {
	rows := make([]Row, 0, min(len(gs.Adapters), f.max)+3)
	var other Row
	folded := false
	rest := gs.Stats
	f.mu.Lock()
	for _, a := range gs.Adapters {
		sub(&rest, a.Stats)
		r := &other
		// A name that is one of the rows' own is folded, or the two
		// would be one series, counted twice.
		if reserved(a.Name) {
			folded = true
		} else if f.named[a.Name] || len(f.named) < f.max {
			f.named[a.Name] = true
			rows = append(rows, Row{Name: a.Name, Adapter: true})
			r = &rows[len(rows)-1]
		} else {
			folded = true
		}
		add(&r.Stats, a.Stats)
		r.Runs += a.Runs
		r.Restarts += a.Restarts
		if a.State >= 0 && int(a.State) < len(r.States) {
			r.States[a.State]++
		}
		if a.Degraded {
			r.Degraded++
		}
		if a.KeepTrying {
			r.KeepTrying++
		}
	}
	f.mu.Unlock()
	if folded {
		other.Name, other.Adapter = Other, true
		rows = append(rows, other)
	}
	sub(&rest, gs.Injected)
	rows = append(rows, Row{Name: Injected, Stats: gs.Injected})
	rest.Runs = 0
	if rest != (fanin.Stats{}) {
		rows = append(rows, Row{Name: Removed, Stats: rest})
	}
	return rows
}

// reserved reports whether name is the name of a row that is not an
// adapter's own.
func reserved(name string) bool {
	return name == Injected || name == Other || name == Removed
}

func add(st *fanin.Stats, o fanin.Stats) {
	st.Capacity += o.Capacity
	st.Len += o.Len
	st.Accepted += o.Accepted
	st.Full += o.Full
	st.Closed += o.Closed
	st.Canceled += o.Canceled
	st.RateLimited += o.RateLimited
	st.Waited += o.Waited
	st.WaitTime += o.WaitTime
	st.Blocked += o.Blocked
}

func sub(st *fanin.Stats, o fanin.Stats) {
	st.Capacity -= o.Capacity
	st.Len -= o.Len
	st.Accepted -= o.Accepted
	st.Full -= o.Full
	st.Closed -= o.Closed
	st.Canceled -= o.Canceled
	st.RateLimited -= o.RateLimited
	st.Waited -= o.Waited
	st.WaitTime -= o.WaitTime
	st.Blocked -= o.Blocked
}
