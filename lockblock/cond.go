package lockblock

import (
	"go/token"
	"go/types"
	"strings"

	"golang.org/x/tools/go/ssa"
)

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

// findCondLocks records, for each struct field that holds a sync.Cond of
// this package, the path of its lock relative to the same struct: from
// c.cond = sync.NewCond(&c.mu) and from c.cond.L = &c.mu.
func (c *checker) findCondLocks(fns []*ssa.Function) {
	for _, fn := range fns {
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				st, ok := instr.(*ssa.Store)
				if !ok {
					continue
				}
				fa, ok := st.Addr.(*ssa.FieldAddr)
				if !ok {
					continue
				}
				if lock, ok := isNewCond(st.Val); ok {
					c.recordCondLock(fa, lock)
					continue
				}
				// c.cond.L = &c.mu
				if inner, ok := fa.X.(*ssa.FieldAddr); ok && fieldName(fa.X.Type(), fa.Field) == "L" && isCond(inner.Type()) {
					c.recordCondLock(inner, st.Val)
				}
			}
		}
	}
}

// recordCondLock records that the Cond in field fa uses lock, if lock is
// reached from the same variable as fa.
func (c *checker) recordCondLock(fa *ssa.FieldAddr, lock ssa.Value) {
	f := fieldVar(fa.X.Type(), fa.Field)
	if f == nil {
		return
	}
	rootKey, _ := c.path(fa.X)
	lockKey, _ := c.path(lock)
	if suffix, ok := strings.CutPrefix(lockKey, rootKey); ok && suffix != "" {
		c.condL[f] = suffix
	}
}

func isCond(t types.Type) bool {
	if p, ok := t.Underlying().(*types.Pointer); ok {
		t = p.Elem()
	}
	n, ok := types.Unalias(t).(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == "sync" && n.Obj().Name() == "Cond"
}

// withoutCondLock returns the locks of cur other than the lock of cond,
// which Cond.Wait releases while it waits.
//
// The Cond's lock is known when cond was made by sync.NewCond in the same
// function, or is a field whose lock findCondLocks recorded. Otherwise a
// held lock reached from the same variable as the Cond (c.mu beside
// c.cond) is taken for its lock; failing that, a single held lock is,
// since Wait requires its lock to be held and panics on unlocking one
// that is not.
func (c *checker) withoutCondLock(cond ssa.Value, cur lockset) lockset {
	var lockKey, root string
	if lock, ok := isNewCond(cond); ok {
		lockKey, _ = c.path(lock)
	} else {
		v := cond
		if u, ok := v.(*ssa.UnOp); ok && u.Op == token.MUL {
			v = u.X
		}
		if fa, ok := v.(*ssa.FieldAddr); ok {
			root, _ = c.path(fa.X)
			if suffix, ok := c.condL[fieldVar(fa.X.Type(), fa.Field)]; ok {
				lockKey = root + suffix
			}
		}
	}
	out := lockset{}
	for k, h := range cur {
		key := strings.TrimSuffix(k, "#r")
		switch {
		case lockKey != "":
			if key == lockKey {
				continue
			}
		case root != "" && strings.HasPrefix(key, root) && len(key) > len(root) && strings.ContainsRune(".^", rune(key[len(root)])):
			continue
		}
		out[k] = h
	}
	if lockKey == "" && len(out) == 1 && len(cur) == 1 {
		return nil
	}
	return out
}
