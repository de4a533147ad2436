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
// wants, and that the first finding lists its two other sites, named by
// their own locks, after its own related positions.
func TestGroups(t *testing.T) {
	results := analysistest.Run(t, analysistest.TestData(), lockblock.Analyzer, "group")
	var got []string
	for _, r := range results {
		for _, d := range r.Diagnostics {
			if r.Pass.Fset.Position(d.Pos).Line != 22 {
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

// sites runs the analyzer with -group set to group over every package of
// cases and returns each site it names: the position of each finding and,
// grouped, of each related position that names another site of a group;
// and the rendered output, to compare runs.
func sites(t *testing.T, group string) (found []string, findings int, text string) {
	t.Helper()
	setFlag(t, "group", group)
	// The wants of the cases name every site, so a grouped run misses
	// some: what analysistest would report is compared here instead.
	results := analysistest.Run(&quiet{}, analysistest.TestData(), lockblock.Analyzer, casePkgs...)
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
	return found, findings, render(results)
}

// TestGroupsKeepEverySite checks, over every package of cases, that
// grouping loses no site and adds none: each site that -group=false
// reports is named exactly once with grouping, as a finding or as another
// site of one, with the operation it waits in; that it reports fewer
// findings; and that two grouped runs give the same bytes.
func TestGroupsKeepEverySite(t *testing.T) {
	each, nEach, _ := sites(t, "false")
	grouped, nGrouped, first := sites(t, "true")
	_, _, second := sites(t, "true")
	slices.Sort(each)
	slices.Sort(grouped)
	if !slices.Equal(each, grouped) {
		t.Errorf("sites with -group=false:\n%s\nnamed with grouping:\n%s", strings.Join(each, "\n"), strings.Join(grouped, "\n"))
	}
	if nGrouped >= nEach {
		t.Errorf("%d findings grouped, %d with -group=false: want fewer grouped", nGrouped, nEach)
	}
	if first != second {
		t.Error("two grouped runs differ")
	}
	t.Logf("%d sites, %d findings grouped", nEach, nGrouped)
}
