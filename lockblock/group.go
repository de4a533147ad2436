package lockblock

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/ssa"
)

// A finding is one site that may wait with locks held.
type finding struct {
	d     analysis.Diagnostic
	group string // the classes of its locks and the operation it waits in
	locks string // the names of its locks, as its message gives them
}

// report reports that bl may wait while the locks are held, at once with
// -group=false, and otherwise after the whole package is checked, with
// the other sites of its group.
func (c *checker) report(fn *ssa.Function, bl blocker, locks lockset) {
	d := c.diagnostic(bl, locks)
	if !c.cfg.group {
		c.pass.Report(d)
		return
	}
	c.found = append(c.found, finding{d: d, group: groupKey(fn, bl, locks), locks: lockNames(locks)})
}

// groupKey returns what the sites of one group share: the classes of the
// locks held, and the operation at the end of the chain, with the function
// it is in when it is reached through calls. A lock that is a struct field
// is of the field's class, whatever value it is reached through (fs.mu
// and fs.blks[i].mu of the same type are one); a package variable is its
// own class; any other lock (a local variable, a parameter) is a class of
// its own in each function, for nothing says two of them are one.
//
// This is how lock-order checkers such as Linux's lockdep count: by lock
// class, not by call site. A design that holds a lock across a wait is one
// defect however many calls reach the wait, and the user who fixes it or
// declares it deliberate wants to see it once, with every call site.
func groupKey(fn *ssa.Function, bl blocker, locks lockset) string {
	classes := make([]string, 0, len(locks))
	for key, h := range locks {
		var class string
		switch {
		case h.field != nil:
			class = fmt.Sprintf("field %p", h.field.Origin())
			if h.read {
				class += "#r"
			}
		case strings.HasPrefix(key, "g{"):
			class = key
		default:
			class = fmt.Sprintf("%p %s", fn, key)
		}
		classes = append(classes, class)
	}
	slices.Sort(classes)
	classes = slices.Compact(classes)
	op := strings.Split(bl.why, " → ")
	if len(op) > 2 {
		op = op[len(op)-2:]
	}
	return strings.Join(classes, ",") + "|" + bl.io + "|" + strings.Join(op, " → ")
}

// lockNames returns the names of the locks, in the order they were taken.
func lockNames(locks lockset) string {
	hs := sortedHeld(locks)
	var names []string
	for i, h := range hs {
		if i == maxNamed {
			names = append(names, fmt.Sprintf("%d more", len(hs)-maxNamed))
			break
		}
		names = append(names, h.name)
	}
	return strings.Join(names, " and ")
}

// reportGroups reports each group of findings once, at its first site in
// source order: that site's message, with the count of the others, and
// the others as related positions after its own. A site silenced by a
// directive was never found, so a group is reported at its first site
// that is not silenced.
func (c *checker) reportGroups() {
	// Source order is by file name and offset: the order of token.Pos
	// values is the order in which the files were parsed, which a driver
	// that parses them in parallel does not fix.
	fset := c.pass.Fset
	slices.SortStableFunc(c.found, func(a, b finding) int {
		pa, pb := fset.Position(a.d.Pos), fset.Position(b.d.Pos)
		return cmp.Or(cmp.Compare(pa.Filename, pb.Filename), cmp.Compare(pa.Offset, pb.Offset), cmp.Compare(a.d.Message, b.d.Message))
	})
	var order []string
	groups := map[string][]finding{}
	for _, f := range c.found {
		if groups[f.group] == nil {
			order = append(order, f.group)
		}
		groups[f.group] = append(groups[f.group], f)
	}
	for _, g := range order {
		fs := groups[g]
		d := fs[0].d
		if n := len(fs) - 1; n > 0 {
			sites := "sites wait"
			if n == 1 {
				sites = "site waits"
			}
			d.Message = fit(d.Message + fmt.Sprintf("; %d more %s the same way", n, sites))
			d.Related = slices.Clone(d.Related)
			for _, f := range fs[1:] {
				d.Related = append(d.Related, analysis.RelatedInformation{Pos: f.d.Pos, Message: "the same wait here, holding " + f.locks})
			}
		}
		c.pass.Report(d)
	}
}
