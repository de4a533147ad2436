package lockblock_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/fanin-go/fanin/lockblock"
	"golang.org/x/tools/go/analysis/analysistest"
)

// sameWait begins the message of a related position that names another
// site of a group.
const sameWait = "the same wait here, holding "

// TestGroups checks the grouped findings of the group package against its
// wants, that two runs give the same bytes, and that the first finding
// lists its two other sites, named by their own locks, after its own
// related positions.
func TestGroups(t *testing.T) {
	pkgs := []string{"group", "attackgroup/app", "attackgroup/p"}
	results := analysistest.Run(t, analysistest.TestData(), lockblock.Analyzer, pkgs...)
	if second := analysistest.Run(t, analysistest.TestData(), lockblock.Analyzer, pkgs...); render(results) != render(second) {
		t.Errorf("two runs differ:\n--- first\n%s--- second\n%s", render(results), render(second))
	}
	var got []string
	for _, r := range results {
		for _, d := range r.Diagnostics {
			if p := r.Pass.Fset.Position(d.Pos); p.Line != 22 || !strings.HasSuffix(p.Filename, "group.go") {
				continue
			}
			for _, rel := range d.Related {
				got = append(got, fmt.Sprintf("%d %s", r.Pass.Fset.Position(rel.Pos).Line, rel.Message))
			}
		}
	}
	want := []string{
		"21 s.mu locked here",
		"14 waits here",
		"28 " + sameWait + "s.mu",
		"34 " + sameWait + "list[0].mu",
	}
	if !slices.Equal(got, want) {
		t.Errorf("related positions of the finding at group.go:22:\n got %q\nwant %q", got, want)
	}
}

// sites returns the position of each site that results name: of each
// finding and, grouped, of each related position that names another site
// of a group; and the number of findings. It checks that no message is
// longer than maxMessage.
func sites(t *testing.T, results []*analysistest.Result) (found []string, findings int) {
	t.Helper()
	for _, r := range results {
		for _, d := range r.Diagnostics {
			if !strings.Contains(d.Message, " may be held") {
				continue // a directive without a reason
			}
			findings++
			found = append(found, r.Pass.Fset.Position(d.Pos).String())
			if len(d.Message) > maxMessage {
				t.Errorf("%v: message of %d bytes, want at most %d: %s", r.Pass.Fset.Position(d.Pos), len(d.Message), maxMessage, d.Message)
			}
			for _, rel := range d.Related {
				if strings.HasPrefix(rel.Message, sameWait) {
					found = append(found, r.Pass.Fset.Position(rel.Pos).String())
				}
			}
		}
	}
	return found, findings
}

// checkGrouping checks that grouping loses no site and adds none: each
// site that a run with -group=false reports is named exactly once by the
// grouped run, as a finding or as another site of one; and that the
// grouped run reports fewer findings.
func checkGrouping(t *testing.T, each, grouped []*analysistest.Result) {
	t.Helper()
	eachSites, nEach := sites(t, each)
	groupedSites, nGrouped := sites(t, grouped)
	slices.Sort(eachSites)
	slices.Sort(groupedSites)
	if !slices.Equal(eachSites, groupedSites) {
		t.Errorf("sites with -group=false:\n%s\nnamed with grouping:\n%s", strings.Join(eachSites, "\n"), strings.Join(groupedSites, "\n"))
	}
	if nGrouped >= nEach {
		t.Errorf("%d findings grouped, %d with -group=false: want fewer grouped", nGrouped, nEach)
	}
}
