package lockblock

import (
	"go/token"
	"go/types"
	"strings"

	"golang.org/x/tools/go/ssa"
)

// A condLock is the lock of a sync.Cond: its key (ending in "#r" for the
// read side of an RWMutex) and name, for a field relative to the struct
// that holds the Cond (".mu"), for a package variable in full.
type condLock struct {
	key, name string
}

// isNewCond reports whether v is a call of sync.NewCond, and returns the
// lock it was given.
func isNewCond(v ssa.Value) (ssa.Value, bool) {
	call, ok := v.(*ssa.Call)
	if !ok {
		return nil, false
	}
	callee := call.Common().StaticCallee()
	if callee == nil || len(call.Common().Args) != 1 {
		return nil, false
	}
	if obj, ok := callee.Object().(*types.Func); !ok || obj.FullName() != "sync.NewCond" {
		return nil, false
	}
	return call.Common().Args[0], true
}

// newCondLock returns the lock of a Cond made where v is: by sync.NewCond,
// or as a composite literal &sync.Cond{L: lock}.
func newCondLock(v ssa.Value) (ssa.Value, bool) {
	if lock, ok := isNewCond(v); ok {
		return lock, true
	}
	alloc, ok := v.(*ssa.Alloc)
	if !ok || !isCond(alloc.Type()) {
		return nil, false
	}
	for _, ref := range *alloc.Referrers() {
		fa, ok := ref.(*ssa.FieldAddr)
		if !ok || fieldName(alloc.Type(), fa.Field) != "L" {
			continue
		}
		for _, fr := range *fa.Referrers() {
			if st, ok := fr.(*ssa.Store); ok && st.Addr == fa {
				return st.Val, true
			}
		}
	}
	return nil, false
}

// isCondWait reports whether call is a call of sync.Cond.Wait, and returns
// the Cond.
func isCondWait(call *ssa.CallCommon) (ssa.Value, bool) {
	callee := call.StaticCallee()
	if callee == nil || call.IsInvoke() || len(call.Args) != 1 {
		return nil, false
	}
	if obj, ok := callee.Object().(*types.Func); !ok || obj.FullName() != "(*sync.Cond).Wait" {
		return nil, false
	}
	return call.Args[0], true
}

// findCondLocks records the lock of each Cond that a struct field or a
// package variable of this package holds: from c.cond = sync.NewCond(&c.mu),
// c.cond = &sync.Cond{L: &c.mu} and c.cond.L = &c.mu, and the same with a
// package variable for c.cond.
func (c *checker) findCondLocks(fns []*ssa.Function) {
	for _, fn := range fns {
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				st, ok := instr.(*ssa.Store)
				if !ok {
					continue
				}
				if lock, ok := newCondLock(st.Val); ok {
					c.recordCondLock(st.Addr, lock)
					continue
				}
				// c.cond.L = &c.mu
				if fa, ok := st.Addr.(*ssa.FieldAddr); ok && fieldName(fa.X.Type(), fa.Field) == "L" && isCond(fa.X.Type()) {
					c.recordCondLock(fa.X, st.Val)
				}
			}
		}
	}
}

// recordCondLock records that the Cond at addr, a struct field or a package
// variable, uses lock: for a field, if lock is reached from the same
// variable; for a package variable, if lock is a package variable too.
func (c *checker) recordCondLock(addr, lock ssa.Value) {
	key, name, read := c.lockOf(lock)
	key = modeKey(key, read)
	switch a := addr.(type) {
	case *ssa.FieldAddr:
		f := fieldVar(a.X.Type(), a.Field)
		if f == nil {
			return
		}
		rootKey, rootName := c.path(a.X)
		if suffix, ok := strings.CutPrefix(key, rootKey); ok && suffix != "" {
			c.condL[f] = condLock{key: suffix, name: strings.TrimPrefix(name, rootName)}
		}
	case *ssa.Global:
		if strings.HasPrefix(key, "g{") {
			c.condG[a] = condLock{key: key, name: name}
		}
	}
}

func isCond(t types.Type) bool {
	if p, ok := t.Underlying().(*types.Pointer); ok {
		t = p.Elem()
	}
	n, ok := types.Unalias(t).(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == "sync" && n.Obj().Name() == "Cond"
}

// lockOfCond returns the key (a modeKey) and name of the lock of the Cond
// that cond points to, if it is known: made by sync.NewCond or a composite
// literal in the same function, or a field or package variable whose lock
// findCondLocks recorded.
func (c *checker) lockOfCond(cond ssa.Value) (key, name string, ok bool) {
	if lock, ok := newCondLock(cond); ok {
		key, name, read := c.lockOf(lock)
		return modeKey(key, read), name, true
	}
	v := cond
	if u, ok := v.(*ssa.UnOp); ok && u.Op == token.MUL {
		v = u.X
	}
	switch v := v.(type) {
	case *ssa.FieldAddr:
		if l, ok := c.condL[fieldVar(v.X.Type(), v.Field)]; ok {
			root, rootName := c.path(v.X)
			return root + l.key, rootName + l.name, true
		}
	case *ssa.Global:
		if l, ok := c.condG[v]; ok {
			return l.key, l.name, true
		}
	}
	return "", "", false
}

// withoutCondLock returns the locks of cur other than the lock of cond,
// which Cond.Wait releases while it waits.
//
// The Cond's lock is known when lockOfCond knows it. Otherwise the Cond's
// own L (locked as c.L.Lock()) is its lock, and so is a held lock reached
// from the same variable as the Cond (c.mu beside c.cond); failing that,
// a single held lock is, since Wait requires its lock to be held and
// panics on unlocking one that is not.
func (c *checker) withoutCondLock(cond ssa.Value, cur lockset) lockset {
	out := lockset{}
	if key, _, ok := c.lockOfCond(cond); ok {
		for k, h := range cur {
			if k != key {
				out[k] = h
			}
		}
		return out
	}
	own, _ := c.path(cond)
	own += ".L^"
	var root string
	v := cond
	if u, ok := v.(*ssa.UnOp); ok && u.Op == token.MUL {
		v = u.X
	}
	if fa, ok := v.(*ssa.FieldAddr); ok {
		root, _ = c.path(fa.X)
	}
	for k, h := range cur {
		key := strings.TrimSuffix(k, "#r")
		if key == own {
			continue
		}
		if root != "" && strings.HasPrefix(key, root) && len(key) > len(root) && strings.ContainsRune(".^", rune(key[len(root)])) {
			continue
		}
		out[k] = h
	}
	if len(out) == 1 && len(cur) == 1 {
		return nil
	}
	return out
}
