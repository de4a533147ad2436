package lockblock

import (
	"cmp"
	"fmt"
	"go/types"
	"slices"
	"strconv"
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
	c.found = append(c.found, finding{d: d, group: c.groupKey(fn, bl, locks), locks: lockNames(locks)})
}

// groupKey returns what the sites of one group share: the classes of the
// locks held, the operation at the end of the chain (by its position), and
// whether the site is in a test file. A lock that is a struct field is of
// the field's class, whatever value it is reached through (fs.mu and
// fs.blks[i].mu of the same type are one), also through a pointer field
// or RLocker; a package variable is its own class; any other lock (a local
// variable, a parameter, an element of a slice or map) is a class of its
// own at each place it is taken, for nothing says two of them are one.
// The sites of test files are grouped apart, so that the package and its
// test variant report the package's own groups alike.
//
// This is how lock-order checkers such as Linux's lockdep count: by lock
// class, not by call site. A design that holds a lock across a wait is one
// defect however many calls reach the wait, and the user who fixes it or
// declares it deliberate wants to see it once, with every call site.
func (c *checker) groupKey(fn *ssa.Function, bl blocker, locks lockset) string {
	classes := make([]string, 0, len(locks))
	for key, h := range locks {
		key := strings.TrimSuffix(key, "#r")
		var class string
		if f := h.field; f != nil || c.keyField(fn, key) != nil {
			if f == nil {
				f = c.keyField(fn, key)
			}
			class = fmt.Sprintf("field %p", f.Origin())
		} else if strings.HasPrefix(key, "g{") && !strings.Contains(key, "[") {
			class = key
		} else {
			class = "site " + c.pass.Fset.Position(h.pos).String()
		}
		if h.read {
			class += "#r"
		}
		classes = append(classes, class)
	}
	slices.Sort(classes)
	classes = slices.Compact(classes)
	wait := bl.root.at
	if wait == "" {
		wait = bl.why
	}
	test := strings.HasSuffix(c.pass.Fset.Position(bl.pos).Filename, "_test.go")
	return fmt.Sprintf("%s|%s|%s|%t", strings.Join(classes, ","), bl.io, wait, test)
}

// keyField returns the struct field that key, the key of a lock in fn
// rooted at a parameter or a free variable, ends in (p0.mu, p0.mu^,
// p0.blks[i].mu), or nil.
func (c *checker) keyField(fn *ssa.Function, key string) *types.Var {
	root := rootOf(key)
	if len(root) < 2 {
		return nil
	}
	i, err := strconv.Atoi(root[1:])
	if err != nil || i < 0 {
		return nil
	}
	var t types.Type
	switch {
	case root[0] == 'p' && i < len(fn.Params):
		t = fn.Params[i].Type()
	case root[0] == 'f' && i < len(fn.FreeVars):
		t = fn.FreeVars[i].Type()
	default:
		return nil
	}
	var last *types.Var
	for rest := key[len(root):]; rest != ""; {
		switch rest[0] {
		case '^':
			rest = rest[1:]
			if p, ok := t.Underlying().(*types.Pointer); ok {
				t = p.Elem()
			}
		case '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil
			}
			rest = rest[end+1:]
			switch u := deref(t).Underlying().(type) {
			case *types.Slice:
				t = u.Elem()
			case *types.Array:
				t = u.Elem()
			case *types.Map:
				t = u.Elem()
			default:
				return nil
			}
			last = nil
		case '.':
			name := rest[1:]
			if end := strings.IndexAny(name, ".^["); end >= 0 {
				name = name[:end]
			}
			rest = rest[1+len(name):]
			st, ok := deref(t).Underlying().(*types.Struct)
			if !ok {
				return nil
			}
			last = nil
			for k := range st.NumFields() {
				if st.Field(k).Name() == name {
					last = st.Field(k)
				}
			}
			if last == nil {
				return nil
			}
			t = last.Type()
		default:
			return nil
		}
	}
	return last
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
