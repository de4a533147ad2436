package lockblock

import (
	"cmp"
	"fmt"
	"go/constant"
	"go/token"
	"go/types"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/ssa"
)

// A lockOp is what a call does to a lock.
type lockOp int

const (
	notLockOp lockOp = iota
	opLock
	opRLock
	opUnlock
	opRUnlock
	opTryLock
	opTryRLock
)

var lockMethods = map[string]lockOp{
	"(*sync.Mutex).Lock":       opLock,
	"(*sync.Mutex).Unlock":     opUnlock,
	"(*sync.Mutex).TryLock":    opTryLock,
	"(*sync.RWMutex).Lock":     opLock,
	"(*sync.RWMutex).Unlock":   opUnlock,
	"(*sync.RWMutex).TryLock":  opTryLock,
	"(*sync.RWMutex).RLock":    opRLock,
	"(*sync.RWMutex).RUnlock":  opRUnlock,
	"(*sync.RWMutex).TryRLock": opTryRLock,
	// A sync.Locker, or a type parameter constrained by it, locks
	// whatever it holds.
	"(sync.Locker).Lock":   opLock,
	"(sync.Locker).Unlock": opUnlock,
}

// A lockRef is what a call does to a lock, and the lock.
type lockRef struct {
	op    lockOp
	key   string
	name  string
	field *types.Var // the struct field that is the lock, if it is one
	ptr   *types.Var // the kept pointer field it is reached through (see effect.ptr)
}

// lockCall returns what call does to a lock, and the lock.
func (c *checker) lockCall(call *ssa.CallCommon) lockRef {
	var obj *types.Func
	var recv ssa.Value
	if call.IsInvoke() {
		obj, recv = call.Method, call.Value
	} else {
		callee := call.StaticCallee()
		if callee == nil {
			return lockRef{}
		}
		obj, _ = callee.Object().(*types.Func)
		if mc, ok := call.Value.(*ssa.MakeClosure); ok && len(mc.Bindings) == 1 {
			// A method value (mu.Lock taken as a func) binds its receiver.
			recv = mc.Bindings[0]
		} else if len(call.Args) > 0 {
			recv = call.Args[0]
		}
	}
	if obj == nil || recv == nil {
		return lockRef{}
	}
	op := lockMethods[obj.Origin().FullName()]
	if op == notLockOp {
		return lockRef{}
	}
	key, name, read := c.lockOf(recv)
	if read {
		// The Locker of an RWMutex's read side.
		switch op {
		case opLock:
			op = opRLock
		case opUnlock:
			op = opRUnlock
		}
	}
	return lockRef{op: op, key: key, name: name, field: lockField(recv), ptr: c.keptPtr(recv)}
}

// keptPtr returns the pointer field that v, the receiver of a Lock-like
// call, is loaded from, if it holds a Cond's lock (keptBeside).
func (c *checker) keptPtr(v ssa.Value) *types.Var {
	if mi, ok := v.(*ssa.MakeInterface); ok {
		v = mi.X
	}
	load, ok := v.(*ssa.UnOp)
	if !ok || load.Op != token.MUL {
		return nil
	}
	fa, ok := load.X.(*ssa.FieldAddr)
	if !ok {
		return nil
	}
	if g := fieldVar(fa.X.Type(), fa.Field); c.ptrPairs[g] != nil {
		return g
	}
	return nil
}

// lockOf returns the key and name of the lock that v, the receiver of a
// Lock-like call, stands for, and whether it is the read side of an
// RWMutex: a *sync.Mutex or *sync.RWMutex, a sync.Locker made of one, or
// the Locker that RLocker returns.
func (c *checker) lockOf(v ssa.Value) (key, name string, read bool) {
	switch v := v.(type) {
	case *ssa.MakeInterface:
		if k, n := embeddedLock(v.X.Type()); k != "" {
			// A struct that embeds its lock, as a sync.Locker.
			key, name = c.path(v.X)
			return key + k, name + n, false
		}
		return c.lockOf(v.X)
	case *ssa.UnOp:
		// c.L of a Cond whose lock is known.
		if fa, ok := v.X.(*ssa.FieldAddr); ok && v.Op == token.MUL && isCond(fa.X.Type()) && fieldName(fa.X.Type(), fa.Field) == "L" {
			if key, name, ok := c.lockOfCond(fa.X); ok {
				return strings.TrimSuffix(key, "#r"), name, strings.HasSuffix(key, "#r")
			}
		}
	case *ssa.Call:
		call := v.Common()
		if callee := call.StaticCallee(); callee != nil && len(call.Args) == 1 {
			if obj, ok := callee.Object().(*types.Func); ok && obj.FullName() == "(*sync.RWMutex).RLocker" {
				key, name, _ = c.lockOf(call.Args[0])
				return key, name, true
			}
		}
	}
	key, name = c.path(v)
	return key, name, false
}

// lockField returns the struct field that v, the receiver of a Lock-like
// call, addresses, or nil.
func lockField(v ssa.Value) *types.Var {
	for {
		switch x := v.(type) {
		case *ssa.MakeInterface:
			v = x.X
			continue
		case *ssa.ChangeType:
			v = x.X
			continue
		case *ssa.FieldAddr:
			return fieldVar(x.X.Type(), x.Field)
		}
		return nil
	}
}

// held is one lock that may be held.
type held struct {
	name  string     // as the message names it: "s.mu"
	pos   token.Pos  // where it was taken
	read  bool       // by RLock or TryRLock
	count int        // how many times it may be held (read locks nest), at most maxCount
	field *types.Var // the struct field that is the lock, if it is one
	// cond, if not nil, is a bool value (a TryLock's result, or a value
	// it flowed into) that is true wherever the lock is held.
	cond ssa.Value
	// nilErr, if not nil, is an error value (the result of a helper that
	// locks or fails) that is nil wherever the lock is held.
	nilErr ssa.Value
	// lits are branch conditions with the values they had on every path
	// to where the lock was taken (inside if c { mu.Lock() }, c was
	// true), so wherever it is held; a later if on the same value drops
	// the lock on the other branch.
	lits []lit
}

// A lit is a bool value that was true (neg false) or false (neg true).
type lit struct {
	v   ssa.Value
	neg bool
}

func sameHeld(a, b held) bool {
	return a.name == b.name && a.pos == b.pos && a.read == b.read && a.count == b.count && a.field == b.field &&
		a.cond == b.cond && a.nilErr == b.nilErr && slices.Equal(a.lits, b.lits)
}

// commonLits returns the literals of a that b has too.
func commonLits(a, b []lit) []lit {
	if slices.Equal(a, b) {
		return a
	}
	var out []lit
	for _, l := range a {
		if slices.Contains(b, l) {
			out = append(out, l)
		}
	}
	return out
}

// A lockset maps the key of each lock that may be held to how it was
// taken. A read lock's key ends in "#r", so that RUnlock and Unlock of one
// RWMutex release only what they should. A lockset is never changed once
// it is stored in a block's entry state.
type lockset map[string]held

func modeKey(key string, read bool) string {
	if read {
		return key + "#r"
	}
	return key
}

// An effect is a lock that a function leaves held, or releases, for its
// caller: one reached from a parameter, a captured variable or a package
// variable, which the caller can name too.
type effect struct {
	root       string // "p0" (parameter 0), "f1" (free variable 1), or a global's key
	suffix     string // the path from the root: ".mu"
	nameSuffix string
	name       string // the whole name in the function, for a caller that has none
	// local is the key of the lock within the function, where it is not
	// root+suffix: a parameter that a closure captures is reached through
	// its cell (see releaseOf).
	local string
	read  bool
	field *types.Var // the struct field that is the lock, if it is one
	// result is 1 + the index of a bool result that is true wherever the
	// lock is left held (a TryLock helper), or of an error result that is
	// nil wherever it is (nilErr); 0 if there is none.
	result int
	nilErr bool
	// count is how many times a read lock is taken, or let go for good;
	// 0 is once.
	count int
	// ptr, if not nil, is the pointer field through which the lock is
	// let go, by an unlock or a Cond.Wait, a field that holds a Cond's
	// lock (keptBeside): whatever the caller calls the lock, it is the one
	// lock of the caller's that the package pairs with that pointer field
	// (pairedHeld).
	ptr *types.Var
}

// times returns how many times e takes or lets go of its lock.
func (e effect) times() int {
	return max(e.count, 1)
}

// sameLockOf reports whether a and b are effects on the same lock.
func sameLockOf(a, b effect) bool {
	return a.root == b.root && a.suffix == b.suffix && a.read == b.read
}

// lockEffects is what a function does to its caller's locks.
type lockEffects struct {
	acquired []effect // may be held at some return
	released []effect // of drops, those released at every return
	drops    []effect // unlocked on some path without having been locked in the function
	// holding holds, by the key of a drop, the first wait that the
	// function may make holding it (its own, or else a call), for the
	// drops it may wait holding; letGo, how many times it has let go of
	// a read lock on every path to that wait, so that a caller holding it
	// more often still holds it there.
	holding map[string]blocker
	letGo   map[string]int
}

func sortEffects(es []effect) {
	slices.SortFunc(es, func(a, b effect) int {
		return cmp.Or(cmp.Compare(a.root, b.root), cmp.Compare(a.suffix, b.suffix))
	})
}

// effectOf returns the effect for a lock of fn with the given key and
// name, if the caller can name it.
func (c *checker) effectOf(fn *ssa.Function, key, name string, read bool, field *types.Var) (effect, bool) {
	root := rootOf(key)
	var rootName string
	switch {
	case strings.HasPrefix(root, "g{"):
		rootName, _, _ = strings.Cut(name, ".")
	case strings.HasPrefix(root, "p"):
		i, err := strconv.Atoi(root[1:])
		if err != nil || i >= len(fn.Params) {
			return effect{}, false
		}
		rootName = fn.Params[i].Name()
	case strings.HasPrefix(root, "f"):
		i, err := strconv.Atoi(root[1:])
		if err != nil || i >= len(fn.FreeVars) {
			return effect{}, false
		}
		rootName = fn.FreeVars[i].Name()
	default:
		return effect{}, false
	}
	return effect{
		root:       root,
		suffix:     key[len(root):],
		nameSuffix: strings.TrimPrefix(name, rootName),
		name:       name,
		read:       read,
		field:      field,
	}, true
}

// key returns the key of the lock of e within its function.
func (e effect) key() string {
	return cmp.Or(e.local, e.root+e.suffix)
}

// releaseOf is effectOf for a lock that fn releases without having taken
// it. Such a lock may be reached through the cell that SSA makes for a
// parameter that a closure captures (a function that defers a closure
// using its receiver, say); the caller names it through the parameter.
// Only releases are named so: a lock taken through a cell and released
// by a closure stays the function's own, because the conditions under
// which closures take and release it are not followed.
func (c *checker) releaseOf(fn *ssa.Function, key, name string, read bool, field *types.Var) (effect, bool) {
	if e, ok := c.effectOf(fn, key, name, read, field); ok {
		return e, true
	}
	root := rootOf(key)
	rest, ok := strings.CutPrefix(key[len(root):], "^")
	if !ok || !strings.HasPrefix(root, "a") {
		return effect{}, false
	}
	for _, b := range fn.Blocks {
		for _, instr := range b.Instrs {
			alloc, ok := instr.(*ssa.Alloc)
			if !ok || "a"+alloc.Name() != root {
				continue
			}
			p := spilledParam(alloc)
			i := slices.Index(fn.Params, p)
			if p == nil || i < 0 {
				return effect{}, false
			}
			e, ok := c.effectOf(fn, "p"+strconv.Itoa(i)+rest, name, read, field)
			e.local = key
			return e, ok
		}
	}
	return effect{}, false
}

// A site is a call of a function of this package, with the values it
// passes for that function's parameters and free variables.
type site struct {
	fn     *ssa.Function
	params []ssa.Value
	free   []ssa.Value
}

// siteOf returns the function of this package that call runs, with the
// values that stand for its parameters: the arguments of a direct call
// (and the bindings of a func literal's closure), the receiver bound by a
// method value followed by the arguments, or those of a method expression.
// ok is false if it runs none, or its values do not line up with the
// function's parameters (a wrapper of a promoted method, say).
func (c *checker) siteOf(call *ssa.CallCommon) (s site, ok bool) {
	callee := c.localCallee(call)
	if callee == nil {
		return site{}, false
	}
	direct := call.StaticCallee()
	if o := direct.Origin(); o != nil {
		direct = o
	}
	s.fn = callee
	switch {
	case direct == callee:
		s.params = call.Args
		if mc, ok := call.Value.(*ssa.MakeClosure); ok {
			s.free = mc.Bindings
		}
		return s, true
	case strings.HasPrefix(direct.Synthetic, "bound method wrapper"):
		mc, ok := call.Value.(*ssa.MakeClosure)
		if !ok || len(mc.Bindings) != 1 {
			return site{}, false
		}
		s.params = append([]ssa.Value{mc.Bindings[0]}, call.Args...)
	case strings.HasPrefix(direct.Synthetic, "thunk"):
		s.params = call.Args
	default:
		return site{}, false
	}
	if len(s.params) != len(callee.Params) || len(s.params) == 0 || !sameRecv(s.params[0].Type(), callee.Params[0].Type()) {
		return site{}, false
	}
	return s, true
}

// sameRecv reports whether a value of type a can stand for a receiver of
// type b without a conversion: both are the same named type, or pointers
// to it. A generic type matches its instances.
func sameRecv(a, b types.Type) bool {
	named := func(t types.Type) (*types.Named, bool) {
		ptr := false
		if p, ok := types.Unalias(t).(*types.Pointer); ok {
			t, ptr = p.Elem(), true
		}
		n, _ := types.Unalias(t).(*types.Named)
		return n, ptr
	}
	na, pa := named(a)
	nb, pb := named(b)
	return na != nil && nb != nil && pa == pb && na.Origin().Obj() == nb.Origin().Obj()
}

// bind returns the key and name, at a call site, of an effect of the
// function it runs.
func (c *checker) bind(s site, e effect) (key, name string, read, ok bool) {
	var arg ssa.Value
	switch {
	case strings.HasPrefix(e.root, "g{"):
		return e.root + e.suffix, e.name, e.read, true
	case strings.HasPrefix(e.root, "p"):
		i, _ := strconv.Atoi(e.root[1:])
		if i >= len(s.params) {
			return "", "", false, false
		}
		arg = s.params[i]
	case strings.HasPrefix(e.root, "f"):
		i, _ := strconv.Atoi(e.root[1:])
		if i >= len(s.free) {
			return "", "", false, false
		}
		arg = s.free[i]
	default:
		return "", "", false, false
	}
	if e.suffix == "" {
		// A sync.Locker parameter, given what RLocker returned (the
		// helper's Lock and Unlock are the read lock's), or a struct
		// that embeds its lock.
		if key, name, read := c.lockOf(arg); read && !e.read {
			return key, name, true, true
		}
		x := arg
		if mi, ok := arg.(*ssa.MakeInterface); ok {
			x = mi.X
		}
		if k, n := embeddedLock(x.Type()); k != "" {
			// Also for a type parameter constrained by sync.Locker.
			key, name = c.path(x)
			return key + k, name + n, e.read, true
		}
	}
	if cv, ok := arg.(cell); ok {
		// A lock reached through the variable of a captured parameter.
		rest, ok := strings.CutPrefix(e.suffix, "^")
		if !ok {
			return "", "", false, false
		}
		key, name = c.path(cv.Value)
		if name == "" {
			return key + rest, e.name, e.read, true
		}
		return key + rest, name + strings.ReplaceAll(rest, "^", ""), e.read, true
	}
	if alloc, ok := arg.(*ssa.Alloc); ok {
		// A helper's tx.db.mu, at a call with a new tx := &Tx{db: db}.
		field, rest, _ := strings.Cut(strings.TrimPrefix(e.suffix, "."), "^")
		if s := structOf(alloc.Type()); s != nil && strings.HasPrefix(e.suffix, ".") {
			for i := range s.NumFields() {
				if s.Field(i).Name() != field {
					continue
				}
				if val := storedOnce(alloc, i); val != nil {
					key, name = c.path(val)
					if name == "" {
						return key + rest, e.name, e.read, true
					}
					return key + rest, name + strings.ReplaceAll(rest, "^", ""), e.read, true
				}
			}
		}
	}
	key, name = c.path(arg)
	if name == "" {
		return key + e.suffix, e.name, e.read, true
	}
	return key + e.suffix, name + e.nameSuffix, e.read, true
}

// rootOf returns the variable part of a lock key: "p0" of "p0.mu^".
func rootOf(key string) string {
	if strings.HasPrefix(key, "g{") {
		if i := strings.Index(key, "}"); i >= 0 {
			return key[:i+1]
		}
	}
	if i := strings.IndexAny(key, ".^["); i >= 0 {
		return key[:i]
	}
	return key
}

// lockAt returns how a lock is held after a Lock-like call at pos: once,
// and named as the source spells it where its path gives no name.
func (c *checker) lockAt(ref lockRef, pos token.Pos, read bool) held {
	name := ref.name
	if src, ok := c.lockExpr[pos]; ok && (name == "" || strings.HasPrefix(ref.key, "v")) {
		name = src
	}
	if name == "" {
		name = "a mutex"
	}
	return held{name: name, pos: pos, read: read, count: 1, field: ref.field}
}

// path returns a key that identifies the lock that v points to within
// its function, built from the variable it is reached from and the fields,
// elements and pointers on the way (p0.mu: field mu of parameter 0), and
// the name a message gives it. Two loads of one field give one key: a
// pointer field that is reassigned between Lock and Unlock is taken for
// the same lock.
func (c *checker) path(v ssa.Value) (key, name string) {
	switch v := v.(type) {
	case *ssa.Parameter:
		if c.yields[v.Parent()] != nil {
			// A loop variable of a range-over-func body, which is
			// analyzed within its enclosing function: not a parameter
			// of that function.
			return "v" + v.Parent().Name() + "." + v.Name(), v.Name()
		}
		if i := slices.Index(v.Parent().Params, v); i >= 0 {
			return "p" + strconv.Itoa(i), v.Name()
		}
	case *ssa.FreeVar:
		i := slices.Index(v.Parent().FreeVars, v)
		if mc := c.yields[v.Parent()]; mc != nil && i >= 0 && i < len(mc.Bindings) {
			// A variable of the enclosing function, seen from the body
			// of a range-over-func loop.
			return c.path(mc.Bindings[i])
		}
		if i >= 0 {
			return "f" + strconv.Itoa(i), v.Name()
		}
	case *ssa.Global:
		name := v.Name()
		if v.Pkg != nil && v.Pkg.Pkg != c.pass.Pkg {
			name = v.Pkg.Pkg.Name() + "." + name
		}
		return "g{" + v.RelString(nil) + "}", name
	case *ssa.Alloc:
		if c.yields[v.Parent()] != nil {
			// A variable of the body of a range-over-func loop, which is
			// analyzed within its enclosing function, whose variables
			// SSA names alike.
			// The offset of the body in its file tells them apart: the
			// bodies of one function are in one file.
			return "a" + v.Name() + "@" + strconv.Itoa(c.pass.Fset.Position(v.Parent().Pos()).Offset), v.Comment
		}
		return "a" + v.Name(), v.Comment
	case *ssa.FieldAddr:
		key, name := c.path(v.X)
		f := fieldName(v.X.Type(), v.Field)
		return key + "." + f, join(name, f)
	case *ssa.Field:
		key, name := c.path(v.X)
		f := fieldName(v.X.Type(), v.Field)
		return key + "." + f, join(name, f)
	case *ssa.UnOp:
		if v.Op == token.MUL {
			if fa, ok := v.X.(*ssa.FieldAddr); ok {
				if alloc, ok := fa.X.(*ssa.Alloc); ok {
					if val := storedOnce(alloc, fa.Field); val != nil {
						// tx := &Tx{db: db}; tx.db.mu is db.mu.
						return c.path(val)
					}
				}
			}
			key, name := c.path(v.X)
			return key + "^", name
		}
	case *ssa.IndexAddr:
		key, name := c.path(v.X)
		i := indexText(v.Index)
		return key + "[" + i + "]", name + "[" + i + "]"
	case *ssa.Index:
		key, name := c.path(v.X)
		i := indexText(v.Index)
		return key + "[" + i + "]", name + "[" + i + "]"
	case *ssa.Lookup:
		key, name := c.path(v.X)
		i := indexText(v.Index)
		return key + "[" + i + "]", name + "[" + i + "]"
	case *ssa.ChangeType:
		return c.path(v.X)
	case *ssa.MakeInterface:
		return c.path(v.X)
	case *ssa.Call:
		if key, ok := c.callKey(v.Common()); ok {
			return key, ""
		}
	}
	return "v" + v.Name(), ""
}

// spilledParam returns the parameter that v, a cell of the function,
// holds, if v is the cell that SSA makes for a parameter captured by a
// closure, and nothing stores into it but that parameter: the closures
// that capture it only read it, and its address goes nowhere else.
func spilledParam(v ssa.Value) *ssa.Parameter {
	alloc, ok := v.(*ssa.Alloc)
	if !ok || !alloc.Heap {
		return nil
	}
	var param *ssa.Parameter
	for _, ref := range *alloc.Referrers() {
		switch ref := ref.(type) {
		case *ssa.Store:
			p, ok := ref.Val.(*ssa.Parameter)
			if !ok || ref.Addr != alloc || param != nil {
				return nil
			}
			param = p
		case *ssa.UnOp:
			if ref.Op != token.MUL {
				return nil
			}
		case *ssa.MakeClosure:
			fn := ref.Fn.(*ssa.Function)
			for i, b := range ref.Bindings {
				if b == alloc && !onlyLoaded(fn.FreeVars[i]) {
					return nil
				}
			}
		case *ssa.DebugRef:
		default:
			return nil
		}
	}
	return param
}

// onlyLoaded reports whether a closure only reads the cell fv.
func onlyLoaded(fv *ssa.FreeVar) bool {
	for _, ref := range *fv.Referrers() {
		switch ref := ref.(type) {
		case *ssa.UnOp:
			if ref.Op != token.MUL {
				return false
			}
		case *ssa.MakeClosure:
			fn := ref.Fn.(*ssa.Function)
			for i, b := range ref.Bindings {
				if b == fv && !onlyLoaded(fn.FreeVars[i]) {
					return false
				}
			}
		case *ssa.DebugRef:
		default:
			return false
		}
	}
	return true
}

// embeddedLock returns the path, as a key suffix and a name suffix, from a
// value of type t to the sync.Mutex or sync.RWMutex that its Lock and
// Unlock methods lock, if they are those of an embedded one (at any depth,
// through pointers too) and t does not declare its own; or "", "".
func embeddedLock(t types.Type) (key, name string) {
	if types.IsInterface(t) {
		return "", ""
	}
	var path []int
	for _, m := range []string{"Lock", "Unlock"} {
		obj, index, _ := types.LookupFieldOrMethod(t, true, nil, m)
		fn, ok := obj.(*types.Func)
		if !ok || len(index) < 2 || path != nil && !slices.Equal(path, index[:len(index)-1]) {
			return "", ""
		}
		recv := fn.Signature().Recv().Type()
		if p, ok := recv.(*types.Pointer); ok {
			recv = p.Elem()
		}
		n, ok := types.Unalias(recv).(*types.Named)
		if !ok || n.Obj().Pkg() == nil || n.Obj().Pkg().Path() != "sync" ||
			n.Obj().Name() != "Mutex" && n.Obj().Name() != "RWMutex" {
			return "", ""
		}
		path = index[:len(index)-1]
	}
	cur := t
	for _, i := range path {
		if p, ok := types.Unalias(cur).(*types.Pointer); ok {
			cur = p.Elem()
		}
		st, ok := cur.Underlying().(*types.Struct)
		if !ok {
			return "", ""
		}
		f := st.Field(i)
		key += "." + f.Name()
		name += "." + f.Name()
		cur = f.Type()
		if _, ok := types.Unalias(cur).(*types.Pointer); ok {
			key += "^"
		}
	}
	return key, name
}

// storedOnce returns the value stored in field i of alloc, a struct made in
// the function, if it is stored exactly once; or nil.
func storedOnce(alloc *ssa.Alloc, i int) ssa.Value {
	var val ssa.Value
	for _, ref := range *alloc.Referrers() {
		fa, ok := ref.(*ssa.FieldAddr)
		if !ok || fa.Field != i {
			continue
		}
		for _, fr := range *fa.Referrers() {
			if st, ok := fr.(*ssa.Store); ok && st.Addr == fa {
				if val != nil {
					return nil
				}
				val = st.Val
			}
		}
	}
	return val
}

// callKey returns a key for the result of a call: the function and the
// keys of its arguments, so that two calls of one function with the same
// arguments are taken to return the same lock (s.lockFor(k).Lock(), then
// s.lockFor(k).Unlock()).
func (c *checker) callKey(call *ssa.CallCommon) (string, bool) {
	var b strings.Builder
	b.WriteString("c{")
	switch {
	case call.IsInvoke():
		k, _ := c.path(call.Value)
		b.WriteString(k + "." + call.Method.Name())
	case call.StaticCallee() != nil:
		b.WriteString(call.StaticCallee().String())
		if mc, ok := call.Value.(*ssa.MakeClosure); ok {
			for _, v := range mc.Bindings {
				k, _ := c.path(v)
				b.WriteString("[" + k + "]")
			}
		}
	default:
		return "", false
	}
	b.WriteString("(")
	for i, a := range call.Args {
		if i > 0 {
			b.WriteString(",")
		}
		k, _ := c.path(a)
		b.WriteString(k)
	}
	b.WriteString(")}")
	return b.String(), true
}

func join(name, field string) string {
	if name == "" {
		return ""
	}
	return name + "." + field
}

func indexText(v ssa.Value) string {
	if k, ok := v.(*ssa.Const); ok && k.Value != nil && k.Value.Kind() != constant.Unknown {
		return k.Value.ExactString()
	}
	return "..."
}

// structOf returns the struct type that t, or what t points to, is.
func structOf(t types.Type) *types.Struct {
	u := t.Underlying()
	if p, ok := u.(*types.Pointer); ok {
		u = p.Elem().Underlying()
	}
	s, _ := u.(*types.Struct)
	return s
}

func fieldName(t types.Type, i int) string {
	if s := structOf(t); s != nil && i < s.NumFields() {
		return s.Field(i).Name()
	}
	return "field" + strconv.Itoa(i)
}

func fieldVar(t types.Type, i int) *types.Var {
	if s := structOf(t); s != nil && i < s.NumFields() {
		return s.Field(i).Origin()
	}
	return nil
}

// checkFunc reports each blocking operation of fn at which a lock may be
// held. A deferred call is reported once, with the locks that may be held
// when it runs at any return. The body of a range-over-func loop is
// checked with the function that holds the loop.
func (c *checker) checkFunc(fn *ssa.Function) {
	if c.yields[fn] != nil {
		return
	}
	f := c.analyze(fn)
	if f == nil {
		return
	}
	deferred := map[*ssa.Defer]lockset{}
	quiet := c.quietByFlags(fn)
	f.visit(func(instr ssa.Instruction, cur lockset) {
		bl, locks := c.blockedAt(instr, cur, nil)
		if len(locks) == 0 || quiet(instr) {
			return
		}
		if d, ok := instr.(*ssa.Defer); ok {
			deferred[d], _ = unionLocks(deferred[d], locks)
			return
		}
		c.report(fn, bl, locks)
	})
	for _, d := range slices.SortedFunc(maps.Keys(deferred), func(a, b *ssa.Defer) int { return cmp.Compare(a.Pos(), b.Pos()) }) {
		bl, _ := c.blocking(d)
		c.report(fn, bl, deferred[d])
	}
}

// quietByFlags returns a test of whether a call of fn, which may block
// for its arguments, does not for the bits of flag words that fn has set
// before it on every path: c.flags.set(skip); c.flushAndClose().
func (c *checker) quietByFlags(fn *ssa.Function) func(ssa.Instruction) bool {
	if !c.setsFlags(fn) {
		return func(ssa.Instruction) bool { return false }
	}
	r := c.reach(fn, nil)
	return func(instr ssa.Instruction) bool {
		call, ok := instr.(*ssa.Call)
		if !ok || instr.Parent() != fn || r[instr.Block().Index] == nil {
			return false
		}
		env := cloneMap(r[instr.Block().Index])
		for _, in := range instr.Block().Instrs {
			if in == instr {
				break
			}
			c.flagStep(in, fn, env)
		}
		callee, consts := c.constArgs(call.Common(), fn, env)
		if !consts.hasFlags() {
			return false
		}
		s := c.specWhy(callee, consts, 0)
		return s.why == "" && (s.ioWhy == "" || !c.cfg.io)
	}
}

// blockedAt returns how instr may block, if it may and is not silenced,
// and the locks of cur that stay held while it waits; env binds
// parameters of instr's function to constants, or is nil.
func (c *checker) blockedAt(instr ssa.Instruction, cur lockset, env bindings) (blocker, lockset) {
	if len(cur) == 0 {
		return blocker{}, nil
	}
	bl, ok := c.blocking(instr)
	if !ok || c.dirs.silenced(c.pass.Fset, bl.pos) {
		return blocker{}, nil
	}
	return c.heldAcross(instr, bl, cur, env)
}

// maxNamed is how many locks a message names; the others are counted.
const maxNamed = 2

// diagnostic says what blocks, which locks may be held and where they were
// taken, and how to fix it, in one line; the lock sites and the site of
// the operation that waits (when it is in this package) are its related
// positions. Locks are named in the order they were taken.
func (c *checker) diagnostic(bl blocker, locks lockset) analysis.Diagnostic {
	hs := sortedHeld(locks)
	taken := func(h held) string {
		if h.read {
			return "read-locked at " + c.where(h.pos)
		}
		return "locked at " + c.where(h.pos)
	}
	var which string
	if len(hs) == 1 {
		which = fmt.Sprintf("%s may be held (%s)", hs[0].name, taken(hs[0]))
	} else {
		var parts []string
		for i, h := range hs {
			if i == maxNamed {
				parts = append(parts, fmt.Sprintf("%d more", len(hs)-maxNamed))
				break
			}
			parts = append(parts, fmt.Sprintf("%s (%s)", h.name, taken(h)))
		}
		which = strings.Join(parts, " and ") + " may be held"
	}
	d := analysis.Diagnostic{
		Pos:     bl.pos,
		Message: fit(fmt.Sprintf("%s while %s: %s%s", bl.what, which, advice, bl.noun)),
	}
	if bl.io != "" {
		d.Category = "io"
	} else {
		d.Category = "wait"
	}
	for _, h := range hs {
		verb := "locked here"
		if h.read {
			verb = "read-locked here"
		}
		d.Related = append(d.Related, analysis.RelatedInformation{Pos: h.pos, Message: h.name + " " + verb})
	}
	if bl.root.pos.IsValid() && bl.root.pos != bl.pos {
		d.Related = append(d.Related, analysis.RelatedInformation{Pos: bl.root.pos, Message: "waits here"})
	}
	return d
}

// maxMessage is the length, in bytes, of a message read in one glance; a
// longer one gives its advice in fewer words.
const maxMessage = 300

const (
	advice      = "copy what you need out of the lock and unlock it before the "
	shortAdvice = "unlock it before the "
)

// takenAt matches where a message says a lock was taken, which its
// related positions say too.
var takenAt = regexp.MustCompile(` \((?:read-)?locked at [^()]*\)`)

// fit returns msg shortened, if it is longer than maxMessage, in steps
// that lose least first: the advice in fewer words, then where each lock
// was taken, which the related positions keep.
func fit(msg string) string {
	if len(msg) <= maxMessage {
		return msg
	}
	msg = strings.Replace(msg, advice, shortAdvice, 1)
	if len(msg) <= maxMessage {
		return msg
	}
	return takenAt.ReplaceAllString(msg, "")
}

// sortedHeld returns the locks in the order they were taken, each once.
func sortedHeld(locks lockset) []held {
	hs := slices.SortedFunc(maps.Values(locks), func(a, b held) int {
		return cmp.Or(cmp.Compare(a.pos, b.pos), cmp.Compare(a.name, b.name), boolCmp(a.read, b.read))
	})
	return slices.CompactFunc(hs, func(a, b held) bool { return a.pos == b.pos && a.name == b.name && a.read == b.read })
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}
