package lanes

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fanin-go/fanin"
)

func lane(accepted uint64, length int) fanin.Stats {
	return fanin.Stats{Accepted: accepted, Len: length, Capacity: 4}
}

// TestRowsFoldBeyondTheLimitAndKeepNames checks that the first max names
// keep their rows, that the rest fold into Other, and that the rows add up
// to the group's totals, removed adapters included.
func TestRowsFoldBeyondTheLimitAndKeepNames(t *testing.T) {
	f := NewFolder(2)
	gs := fanin.GroupStats{
		Stats:    fanin.Stats{Accepted: 1 + 2 + 3 + 10 + 100, Len: 1 + 1 + 1 + 2, Capacity: 4 * 5, Runs: 7},
		Injected: lane(10, 2),
		Adapters: []fanin.AdapterStats{
			{Name: "a", State: fanin.Running, Restarts: 1, Stats: lane(1, 1)},
			{Name: "b", State: fanin.Restarting, Restarts: 2, Degraded: true, Stats: lane(2, 1)},
			{Name: "c", State: fanin.Running, Restarts: 3, Stats: lane(3, 1)},
		},
	}
	gs.Stats.Capacity -= 4 // the removed adapter's lane is gone; what it counted stays
	got := f.Rows(gs)
	var running, restarting [numStates]int
	running[fanin.Running] = 1
	restarting[fanin.Restarting] = 1
	want := []Row{
		{Name: "a", Adapter: true, Stats: lane(1, 1), Restarts: 1, States: running},
		{Name: "b", Adapter: true, Stats: lane(2, 1), Restarts: 2, States: restarting, Degraded: 1},
		{Name: Other, Adapter: true, Stats: lane(3, 1), Restarts: 3, States: running},
		{Name: Injected, Stats: lane(10, 2)},
		{Name: Removed, Stats: fanin.Stats{Accepted: 100}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Rows mismatch (-want +got):\n%s", d)
	}

	// "a" leaves and "d" comes: "a"'s place is not given to "c" or "d".
	gs.Adapters = []fanin.AdapterStats{gs.Adapters[1], gs.Adapters[2], {Name: "d", Stats: lane(0, 0)}}
	gs.Stats.Capacity = 4 * 4
	names := []string{}
	for _, r := range f.Rows(gs) {
		names = append(names, r.Name)
	}
	if d := cmp.Diff([]string{"b", Other, Injected, Removed}, names); d != "" {
		t.Errorf("rows after a change of adapters (-want +got):\n%s", d)
	}
}

// TestRowsFoldNamesOfTheirOwnRows checks that an adapter named like one of
// the rows that are not an adapter's own is folded into Other, so that no
// two rows share a name (a registry refuses two series with the same
// labels, and an OpenTelemetry SDK silently adds them up), and that the
// rows still add up to the group's totals.
func TestRowsFoldNamesOfTheirOwnRows(t *testing.T) {
	for _, name := range []string{Injected, Other, Removed} {
		t.Run(name, func(t *testing.T) {
			f := NewFolder(100)
			gs := fanin.GroupStats{
				Stats:    fanin.Stats{Accepted: 1 + 2 + 10 + 100, Len: 2, Capacity: 4 * 3},
				Injected: lane(10, 0),
				Adapters: []fanin.AdapterStats{
					{Name: name, State: fanin.Running, Stats: lane(1, 1)},
					{Name: "a", State: fanin.Running, Stats: lane(2, 1)},
				},
			}
			seen := map[string]bool{}
			var sum uint64
			for _, r := range f.Rows(gs) {
				if seen[r.Name] {
					t.Errorf("two rows named %q", r.Name)
				}
				seen[r.Name] = true
				sum += r.Accepted
				if r.Name == Other && r.Accepted != 1 {
					t.Errorf("Other row Accepted = %d, want 1: the adapter named %q", r.Accepted, name)
				}
			}
			if !seen[Other] || !seen[Removed] || sum != gs.Accepted {
				t.Errorf("rows %v add up to %d, want an Other and a Removed row and %d", seen, sum, gs.Accepted)
			}
		})
	}
}
