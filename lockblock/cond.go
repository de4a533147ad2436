package lockblock

import (
	"go/token"
	"go/types"
	"slices"
	"strings"

	"golang.org/x/tools/go/ssa"
)

// A condLock is the lock of a sync.Cond: its key (ending in "#r" for the
// read side of an RWMutex) and name, for a field relative to the struct
// that holds the Cond (".mu"), for a package variable in full.
type condLock struct {
	key, name string
	// ptr is the pointer field of the struct that holds the lock's
	// address, when the Cond's lock is given as that field's value (see
	// recordCondLock); nil otherwise.
	ptr *types.Var
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
	sets := map[*types.Var]int{}
	unknown := false
	// setL counts a setting of the lock of the Cond at addr.
	setL := func(addr ssa.Value) {
		switch a := addr.(type) {
		case *ssa.FieldAddr:
			if f := fieldVar(a.X.Type(), a.Field); f != nil {
				sets[f]++
				return
			}
		case *ssa.Global, *ssa.Alloc:
			// A package variable's Cond, or a new one.
			return
		}
		unknown = true
	}
	for _, fn := range fns {
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				st, ok := instr.(*ssa.Store)
				if !ok {
					continue
				}
				if lock, ok := newCondLock(st.Val); ok {
					c.recordCondLock(st.Addr, lock)
					if _, ok := st.Addr.(*ssa.FieldAddr); ok {
						setL(st.Addr)
					}
					continue
				}
				// c.cond.L = &c.mu
				if fa, ok := st.Addr.(*ssa.FieldAddr); ok && fieldName(fa.X.Type(), fa.Field) == "L" && isCond(fa.X.Type()) {
					c.recordCondLock(fa.X, st.Val)
					setL(fa.X)
					continue
				}
				if isCond(st.Val.Type()) {
					// A Cond stored whole, or a pointer to one.
					setL(st.Addr)
				}
			}
		}
	}
	// A Cond whose lock is kept beside it must get its lock once, where
	// it is kept: set again, anywhere, or anywhere through a pointer this
	// package cannot follow, it may be another lock.
	for f, l := range c.condL {
		if l.ptr != nil && (unknown || sets[f] != 1) {
			delete(c.condL, f)
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
			return
		}
		if g := c.keptBeside(a, lock); g != nil {
			// vs.mu = mu; vs.writerCond.L = mu: the lock is what vs.mu
			// points to.
			c.condL[f] = condLock{key: "." + g.Name() + "^", name: "." + g.Name(), ptr: g}
		}
	case *ssa.Global:
		if strings.HasPrefix(key, "g{") {
			c.condG[a] = condLock{key: key, name: name}
		}
	}
}

// keptBeside returns the pointer field g of the struct that holds the
// Cond at a when the function of a stores lock, the Cond's lock, into g of
// the same struct value too (vs.mu = mu beside vs.writerCond.L = mu), and
// g is an unexported field of type *sync.Mutex or *sync.RWMutex that the
// package stores into nowhere else and uses only by loads, so that it
// points to the Cond's lock for the struct's life; nil otherwise.
func (c *checker) keptBeside(a *ssa.FieldAddr, lock ssa.Value) *types.Var {
	if mi, ok := lock.(*ssa.MakeInterface); ok {
		// c.L is a sync.Locker.
		lock = mi.X
	}
	var g *types.Var
	for _, b := range a.Parent().Blocks {
		for _, instr := range b.Instrs {
			st, ok := instr.(*ssa.Store)
			if !ok || st.Val != lock {
				continue
			}
			fa, ok := st.Addr.(*ssa.FieldAddr)
			if !ok || fa.X != a.X || fa == a {
				continue
			}
			v := fieldVar(fa.X.Type(), fa.Field)
			if v == nil || v.Exported() || !isMutexPtr(v.Type()) || g != nil {
				return nil
			}
			g = v
		}
	}
	if g == nil {
		return nil
	}
	if stores, ok := c.fieldStores(g); !ok || len(stores) != 1 {
		return nil
	}
	recv, ok := a.X.(*ssa.Parameter)
	if !ok {
		return nil
	}
	param, ok := lock.(*ssa.Parameter)
	if !ok {
		return nil
	}
	var pairs []ptrPair
	if !c.pairsOf(recv, param, &pairs, 0) || len(pairs) == 0 {
		return nil
	}
	c.ptrPairs[g] = pairs
	return g
}

// A ptrPair says where the lock is that a kept pointer field points to:
// for the struct reached as root+recv (".mu.versions^"), it is the lock
// field field reached as root+lock (".mu.Mutex").
type ptrPair struct {
	recv, lock string
	field      *types.Var
}

// pairsOf adds to pairs, for the constructor of a kept pointer field
// whose receiver is recv and whose lock is the parameter lock of the same
// function, where each call of it comes from: a call that hands it a
// struct loaded from a pointer field (d.mu.versions) and the address of a
// lock field reached from the same root (&d.mu.Mutex), or a function of
// the package that hands it two parameters of its own, whose calls are
// followed in turn. The function must be unexported and only called
// directly (not as a value, nor through an interface method of its
// name), and the pointer field the struct is loaded from only ever set
// to a new struct, so that each struct reached through it was given that
// lock. It reports false if a call is of any other form.
func (c *checker) pairsOf(recv, lock *ssa.Parameter, pairs *[]ptrPair, depth int) bool {
	fn := recv.Parent()
	ri, li := slices.Index(fn.Params, recv), slices.Index(fn.Params, lock)
	if depth > 8 || ri < 0 || li < 0 || fn.Object() == nil || fn.Object().Exported() || fn.Parent() != nil {
		return false
	}
	calls := 0
	for _, g := range c.allFns {
		for _, b := range g.Blocks {
			for _, instr := range b.Instrs {
				call, isCall := instr.(ssa.CallInstruction)
				if isCall && call.Common().IsInvoke() && call.Common().Method.Name() == fn.Name() {
					// Perhaps this method, through an interface.
					return false
				}
				for _, op := range instr.Operands(nil) {
					if *op == ssa.Value(fn) && (!isCall || call.Common().Value != ssa.Value(fn)) {
						// Used as a value: called with anything.
						return false
					}
				}
				if !isCall || call.Common().Value != ssa.Value(fn) {
					continue
				}
				args := call.Common().Args
				if ri >= len(args) || li >= len(args) {
					return false
				}
				rp, ok1 := args[ri].(*ssa.Parameter)
				lp, ok2 := args[li].(*ssa.Parameter)
				if ok1 && ok2 && rp.Parent() == g && lp.Parent() == g {
					if g == fn || !c.pairsOf(rp, lp, pairs, depth+1) {
						return false
					}
					calls++
					continue
				}
				pair, ok := c.pairAt(args[ri], args[li])
				if !ok {
					return false
				}
				if !slices.Contains(*pairs, pair) {
					*pairs = append(*pairs, pair)
				}
				calls++
			}
		}
	}
	return calls > 0
}

// pairAt returns the pair of a constructor call handed recv, a struct
// loaded from a pointer field that the package only sets to new structs,
// and lock, the address of a sync.Mutex or sync.RWMutex field, both
// reached from one root.
func (c *checker) pairAt(recv, lock ssa.Value) (ptrPair, bool) {
	load, ok := recv.(*ssa.UnOp)
	if !ok || load.Op != token.MUL {
		return ptrPair{}, false
	}
	via, ok := load.X.(*ssa.FieldAddr)
	if !ok {
		return ptrPair{}, false
	}
	lf, ok := lock.(*ssa.FieldAddr)
	if !ok {
		return ptrPair{}, false
	}
	field := fieldVar(lf.X.Type(), lf.Field)
	if field == nil || !isMutexPtr(types.NewPointer(field.Type())) {
		return ptrPair{}, false
	}
	if !c.onlyNewStructs(fieldVar(via.X.Type(), via.Field)) {
		return ptrPair{}, false
	}
	// Not c.path(recv), which names a struct just stored into a new
	// struct's field by what was stored: the pair is of the field.
	root, _ := c.path(via.X)
	rk := root + "." + fieldName(via.X.Type(), via.Field) + "^"
	lk, _ := c.path(lock)
	// The longest root both are reached from.
	i := 0
	for i < len(rk) && i < len(lk) && rk[i] == lk[i] {
		i++
	}
	for i > 0 && !(i < len(rk) && i < len(lk) && rk[i] == '.' && lk[i] == '.') {
		i--
	}
	if i == 0 {
		return ptrPair{}, false
	}
	return ptrPair{recv: rk[i:], lock: lk[i:], field: field}, true
}

// onlyNewStructs reports whether every store into the pointer field v
// stores a struct new in its function (&T{...}, new(T)).
func (c *checker) onlyNewStructs(v *types.Var) bool {
	if v == nil || v.Exported() {
		return false
	}
	stores, ok := c.fieldStores(v)
	if !ok {
		return false
	}
	for _, st := range stores {
		if _, ok := st.Val.(*ssa.Alloc); !ok {
			return false
		}
	}
	return true
}

// fieldStores returns the stores into the field v in the package; ok is
// false if its address is taken for anything but loads and those stores,
// or a struct that holds it is copied or stored whole, which could bring
// in any value.
func (c *checker) fieldStores(v *types.Var) (stores []*ssa.Store, ok bool) {
	for _, fn := range c.allFns {
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				fa, ok := instr.(*ssa.FieldAddr)
				if !ok || fieldVar(fa.X.Type(), fa.Field) != v {
					continue
				}
				for _, ref := range *fa.Referrers() {
					switch r := ref.(type) {
					case *ssa.DebugRef:
					case *ssa.UnOp:
						if r.Op != token.MUL {
							return nil, false
						}
					case *ssa.Store:
						if r.Addr != ssa.Value(fa) {
							return nil, false
						}
						stores = append(stores, r)
					default:
						return nil, false
					}
				}
			}
		}
		if !c.noWholeCopy(fn, v) {
			return nil, false
		}
	}
	return stores, true
}

// pairedKeys returns the keys of the locks that key, a lock reached
// through the kept pointer field ptr (root+recv+".mu^"), may be by the
// pairs of ptr: root+lock, with the lock field each must be.
func (c *checker) pairedKeys(key string, ptr *types.Var) []ptrPair {
	prefix, ok := strings.CutSuffix(key, "."+ptr.Name()+"^")
	if !ok {
		return nil
	}
	var out []ptrPair
	for _, p := range c.ptrPairs[ptr] {
		if root, ok := strings.CutSuffix(prefix, p.recv); ok && root != "" {
			out = append(out, ptrPair{lock: root + p.lock, field: p.field})
		}
	}
	return out
}

// noWholeCopy reports whether fn reads no struct that holds the field g
// as a value (a Field of it, which is a copy) and stores no such struct
// whole.
func (c *checker) noWholeCopy(fn *ssa.Function, g *types.Var) bool {
	for _, b := range fn.Blocks {
		for _, instr := range b.Instrs {
			switch in := instr.(type) {
			case *ssa.Field:
				if fieldVar(in.X.Type(), in.Field) == g {
					return false
				}
			case *ssa.Store:
				if st, ok := in.Val.Type().Underlying().(*types.Struct); ok && structHas(st, g) {
					return false
				}
			}
		}
	}
	return true
}

// structHas reports whether g is a field of st.
func structHas(st *types.Struct, g *types.Var) bool {
	for i := range st.NumFields() {
		if st.Field(i) == g {
			return true
		}
	}
	return false
}

// isMutexPtr reports whether t is *sync.Mutex or *sync.RWMutex.
func isMutexPtr(t types.Type) bool {
	p, ok := types.Unalias(t).(*types.Pointer)
	if !ok {
		return false
	}
	n, ok := types.Unalias(p.Elem()).(*types.Named)
	if !ok || n.Obj().Pkg() == nil || n.Obj().Pkg().Path() != "sync" {
		return false
	}
	return n.Obj().Name() == "Mutex" || n.Obj().Name() == "RWMutex"
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

// condPtr returns the pointer field through which the lock of the Cond
// that cond points to is reached, if recordCondLock learnt it so.
func (c *checker) condPtr(cond ssa.Value) *types.Var {
	v := cond
	if u, ok := v.(*ssa.UnOp); ok && u.Op == token.MUL {
		v = u.X
	}
	if fa, ok := v.(*ssa.FieldAddr); ok {
		return c.condL[fieldVar(fa.X.Type(), fa.Field)].ptr
	}
	return nil
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
		if ptr := c.condPtr(cond); ptr != nil {
			// Known as what a pointer field points to, which the
			// function may hold under another name.
			key = c.pairedHeld(cur, key, strings.HasSuffix(key, "#r"), ptr)
		}
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
