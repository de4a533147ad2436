package lockblock

import (
	"go/constant"
	"go/token"
	"go/types"

	"golang.org/x/tools/go/ssa"
)

// Flag words.
//
// Servers keep a connection's state in the bits of one integer field and
// test them later in another function: markConnAsClosed(reason) does
// c.flags.set(skipFlushOnClose) for some reasons and then calls
// flushAndClose, which flushes only if !c.flags.isSet(skipFlushOnClose).
// The flush, which may wait on the socket, is never reached from those
// reasons. So the analysis of a function for constant arguments also
// tracks, along each path, the bits known to be set in the integer fields
// of the structs its parameters point to, and hands them to the functions
// it calls with the same pointer. A test of such a bit (x&bit != 0, or a
// one-line method of the package that returns it) then decides its
// branch.
//
// A bit is known set after a store of field|K, or a call of a setter of
// the package (one block that does *p |= v and nothing else) on the
// field's address, with K constant. A test counts the bits as they stand
// where the word is loaded, in the block of the test. A bit is forgotten
// at any other store to a field of the same name (a struct converted to
// another type of the same layout writes the same word), at a store of a
// whole struct that holds one, at copy, clear or append into a slice of
// such structs, at a call that is handed the field's address, and at a
// call of a function of the package that may do any of these. Only
// unexported integer fields count, no other package can write them, and
// only those whose address stays put. A write made through a func value
// or an interface method, or by another goroutine, is not seen.

// A slot is what a binding is about: the value of a parameter (field
// nil), or the bits known to be set in a field of the struct it points to.
type slot struct {
	param int
	field *types.Var
}

// flagField reports whether f is a field whose bits are tracked: an
// unexported field of integer type whose address the package only loads
// from, stores to, or hands to a function of the package that does no
// more with it (an address kept anywhere could be written through later,
// unseen).
func (c *checker) flagField(f *types.Var) bool {
	if !intField(f) {
		return false
	}
	if t, ok := c.trackable[f]; ok {
		return t
	}
	t := c.addressStaysPut(f)
	c.trackable[f] = t
	return t
}

// addressStaysPut reports whether every address of the field f that the
// package takes is only loaded from, stored to, or handed to a function
// of the package that only loads from and stores to it.
func (c *checker) addressStaysPut(f *types.Var) bool {
	for fn := range c.funcs {
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				fa, ok := instr.(*ssa.FieldAddr)
				if !ok || fieldVar(fa.X.Type(), fa.Field) != f {
					continue
				}
				for _, ref := range *fa.Referrers() {
					switch ref := ref.(type) {
					case *ssa.UnOp, *ssa.DebugRef:
					case *ssa.Store:
						if ref.Addr != fa {
							return false
						}
					case ssa.CallInstruction:
						callee := c.localCallee(ref.Common())
						if callee == nil || len(callee.Params) != len(ref.Common().Args) {
							return false
						}
						for i, a := range ref.Common().Args {
							if a == ssa.Value(fa) && !onlyThrough(callee.Params[i]) {
								return false
							}
						}
					default:
						return false
					}
				}
			}
		}
	}
	return true
}

// onlyThrough reports whether the pointer p is only loaded from and
// stored through.
func onlyThrough(p *ssa.Parameter) bool {
	for _, ref := range *p.Referrers() {
		switch ref := ref.(type) {
		case *ssa.UnOp, *ssa.DebugRef:
		case *ssa.Store:
			if ref.Addr != ssa.Value(p) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// wholeFields returns the integer fields that a store through addr
// overwrites as a whole: those of the struct (or array of structs) it
// points to, and of the structs nested in it.
func (c *checker) wholeFields(addr ssa.Value) []*types.Var {
	if fa, ok := addr.(*ssa.FieldAddr); ok {
		if f := fieldVar(fa.X.Type(), fa.Field); f != nil && intField(f) {
			return nil // the field itself, handled as such
		}
	}
	pt, ok := addr.Type().Underlying().(*types.Pointer)
	if !ok {
		return nil
	}
	return fieldsIn(pt.Elem())
}

// builtinFields returns the integer fields that a call of the builtin
// copy, clear or append may overwrite in the elements of the slice it
// is handed first (append may write into its backing array).
func builtinFields(call *ssa.CallCommon) []*types.Var {
	b, ok := call.Value.(*ssa.Builtin)
	if !ok || len(call.Args) == 0 {
		return nil
	}
	switch b.Name() {
	case "copy", "clear", "append":
		if sl, ok := call.Args[0].Type().Underlying().(*types.Slice); ok {
			return fieldsIn(sl.Elem())
		}
	}
	return nil
}

// intField reports whether f is an unexported field of integer type.
func intField(f *types.Var) bool {
	if f == nil || f.Exported() {
		return false
	}
	b, ok := f.Type().Underlying().(*types.Basic)
	return ok && b.Info()&types.IsInteger != 0
}

// fieldsIn returns the unexported integer fields of the struct t, or of
// the structs in the array t, and of the structs nested in them.
func fieldsIn(t types.Type) []*types.Var {
	var out []*types.Var
	var walk func(t types.Type, depth int)
	walk = func(t types.Type, depth int) {
		if depth > 4 {
			return
		}
		switch u := t.Underlying().(type) {
		case *types.Struct:
			for i := range u.NumFields() {
				g := u.Field(i)
				if intField(g.Origin()) {
					out = append(out, g.Origin())
				}
				walk(g.Type(), depth+1)
			}
		case *types.Array:
			walk(u.Elem(), depth+1)
		}
	}
	walk(t, 0)
	return out
}

// fieldOf returns the field that the address v names, and the index of
// the parameter of fn whose struct it is in (-1 if it is in another).
func fieldOf(v ssa.Value, fn *ssa.Function) (*types.Var, int) {
	fa, ok := v.(*ssa.FieldAddr)
	if !ok {
		return nil, -1
	}
	st, ok := fa.X.Type().Underlying().(*types.Pointer)
	if !ok {
		return nil, -1
	}
	s, ok := st.Elem().Underlying().(*types.Struct)
	if !ok {
		return nil, -1
	}
	f := s.Field(fa.Field).Origin()
	p := -1
	if param, ok := fa.X.(*ssa.Parameter); ok && fn != nil {
		for i, q := range fn.Params {
			if q == param {
				p = i
			}
		}
	}
	return f, p
}

// orBits returns the constant K if v is the value at addr or K, the value
// that field |= K stores.
func orBits(v, addr ssa.Value) (uint64, bool) {
	or, ok := v.(*ssa.BinOp)
	if !ok || or.Op != token.OR {
		return 0, false
	}
	for _, xy := range [][2]ssa.Value{{or.X, or.Y}, {or.Y, or.X}} {
		ld, ok := xy[0].(*ssa.UnOp)
		if !ok || ld.Op != token.MUL || !sameAddr(ld.X, addr) {
			continue
		}
		if k, ok := xy[1].(*ssa.Const); ok {
			return constBits(k.Value)
		}
	}
	return 0, false
}

// sameAddr reports whether a and b are the address of one field of one
// value.
func sameAddr(a, b ssa.Value) bool {
	if a == b {
		return true
	}
	fa, ok := a.(*ssa.FieldAddr)
	fb, ok2 := b.(*ssa.FieldAddr)
	return ok && ok2 && fa.X == fb.X && fa.Field == fb.Field
}

func constBits(k constant.Value) (uint64, bool) {
	if k == nil || k.Kind() != constant.Int {
		return 0, false
	}
	u, exact := constant.Uint64Val(k)
	return u, exact
}

// isSetter reports whether fn, a function of the package, sets bits on
// every call and does nothing else: its first parameter is a pointer to
// an integer, it is one block, the only store it makes is *p = *p | v of
// its second, and it calls nothing.
func (c *checker) isSetter(fn *ssa.Function) bool {
	if s, ok := c.setters[fn]; ok {
		return s
	}
	c.setters[fn] = false
	if len(fn.Params) != 2 || len(fn.Blocks) != 1 {
		// A setter sets on every path: one block, no branch.
		return false
	}
	p, v := fn.Params[0], fn.Params[1]
	pt, ok := p.Type().Underlying().(*types.Pointer)
	if !ok {
		return false
	}
	if b, ok := pt.Elem().Underlying().(*types.Basic); !ok || b.Info()&types.IsInteger == 0 {
		return false
	}
	stores := 0
	for _, b := range fn.Blocks {
		for _, instr := range b.Instrs {
			switch in := instr.(type) {
			case ssa.CallInstruction:
				return false
			case *ssa.Store:
				or, ok := in.Val.(*ssa.BinOp)
				if in.Addr != p || !ok || or.Op != token.OR {
					return false
				}
				ld, ok := or.X.(*ssa.UnOp)
				y := or.Y
				if !ok || ld.X != p {
					ld, ok = or.Y.(*ssa.UnOp)
					y = or.X
				}
				if !ok || ld.Op != token.MUL || ld.X != p || y != ssa.Value(v) {
					return false
				}
				stores++
			}
		}
	}
	c.setters[fn] = stores > 0
	return stores > 0
}

// clears returns the names of the integer fields that fn, a function of
// the package, may clear bits of: by a store other than field |= K, by a
// store of a whole struct that holds one, by copy, clear or append into a
// slice of such structs, by handing the field's address to a function
// other than a setter, or by calling a function of the package that
// does. The first call works it out for every function of the package at
// once, repeating until nothing changes, so that functions that call each
// other see each other's stores.
func (c *checker) clears(fn *ssa.Function) map[string]bool {
	if c.clearing == nil {
		c.findClears()
	}
	return c.clearing[fn]
}

func (c *checker) findClears() {
	c.clearing = map[*ssa.Function]map[string]bool{}
	calls := map[*ssa.Function][]*ssa.Function{}
	add := func(fn *ssa.Function, name string) bool {
		m := c.clearing[fn]
		if m == nil {
			m = map[string]bool{}
			c.clearing[fn] = m
		}
		if m[name] {
			return false
		}
		m[name] = true
		return true
	}
	for fn := range c.funcs {
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				switch in := instr.(type) {
				case *ssa.Store:
					if f, _ := fieldOf(in.Addr, fn); intField(f) {
						if _, ok := orBits(in.Val, in.Addr); !ok {
							add(fn, f.Name())
						}
					}
					for _, f := range c.wholeFields(in.Addr) {
						add(fn, f.Name())
					}
				case ssa.CallInstruction:
					call := in.Common()
					for _, f := range builtinFields(call) {
						add(fn, f.Name())
					}
					callee := c.localCallee(call)
					if callee != nil && c.isSetter(callee) {
						continue
					}
					for _, a := range call.Args {
						if f, _ := fieldOf(a, fn); intField(f) {
							add(fn, f.Name())
						}
					}
					if callee != nil {
						calls[fn] = append(calls[fn], callee)
					}
				}
			}
		}
		if p := fn.Parent(); p != nil {
			// What a closure clears, the function that makes it may.
			calls[p] = append(calls[p], fn)
		}
	}
	for changed := true; changed; {
		changed = false
		for fn, callees := range calls {
			for _, g := range callees {
				for name := range c.clearing[g] {
					if add(fn, name) {
						changed = true
					}
				}
			}
		}
	}
}

// setsFlags reports whether fn may set a tracked bit, so that following
// its paths may learn one.
func (c *checker) setsFlags(fn *ssa.Function) bool {
	if s, ok := c.setting[fn]; ok {
		return s
	}
	out := false
	for _, b := range fn.Blocks {
		for _, instr := range b.Instrs {
			switch in := instr.(type) {
			case *ssa.Store:
				if f, p := fieldOf(in.Addr, fn); p >= 0 && c.flagField(f) {
					out = true
				}
			case *ssa.Call:
				callee := c.localCallee(in.Common())
				if callee != nil && len(in.Call.Args) == 2 && c.isSetter(callee) {
					if f, p := fieldOf(in.Call.Args[0], fn); p >= 0 && c.flagField(f) {
						out = true
					}
				}
			}
		}
	}
	c.setting[fn] = out
	return out
}

// hasFlags reports whether env knows bits of a field.
func (b bindings) hasFlags() bool {
	for s := range b {
		if s.field != nil {
			return true
		}
	}
	return false
}

// flagStep updates env, the bindings that hold before instr in fn, to
// those after it.
func (c *checker) flagStep(instr ssa.Instruction, fn *ssa.Function, env bindings) {
	if len(env) == 0 && !c.setsFlags(fn) {
		return
	}
	// A field is forgotten by name: a struct of another type with the
	// same layout, converted from this one, writes the same word.
	forget := func(name string) {
		for s := range env {
			if s.field != nil && s.field.Name() == name {
				delete(env, s)
			}
		}
	}
	learn := func(f *types.Var, p int, bits uint64) {
		if p < 0 || bits == 0 {
			return
		}
		s := slot{p, f}
		old, _ := constBits(env[s])
		env[s] = constant.MakeUint64(old | bits)
	}
	switch in := instr.(type) {
	case *ssa.Store:
		for _, f := range c.wholeFields(in.Addr) {
			forget(f.Name())
		}
		f, p := fieldOf(in.Addr, fn)
		if !intField(f) {
			return
		}
		if bits, ok := orBits(in.Val, in.Addr); ok && c.flagField(f) {
			learn(f, p, bits)
			return
		}
		forget(f.Name())
	case *ssa.Call:
		call := in.Common()
		for _, f := range builtinFields(call) {
			forget(f.Name())
		}
		callee := c.localCallee(call)
		if callee != nil && len(call.Args) == 2 && c.isSetter(callee) {
			if f, p := fieldOf(call.Args[0], fn); c.flagField(f) {
				if k, ok := call.Args[1].(*ssa.Const); ok {
					if bits, ok := constBits(k.Value); ok {
						learn(f, p, bits)
					}
				}
			}
			return
		}
		for _, a := range call.Args {
			if f, _ := fieldOf(a, fn); intField(f) {
				forget(f.Name())
			}
		}
		if callee != nil {
			for name := range c.clears(callee) {
				forget(name)
			}
		}
	}
}

// A reached holds, for each block of a function, the bindings in force on
// entry, nil if the block is not reached.
type reached []bindings

// reach returns the blocks of fn that its entry (or its recover block)
// reaches when its parameters have the values of env, env nil for none,
// with the bindings in force at the entry of each: env, with the bits of
// flag words known there. An edge whose condition those bindings decide
// the other way is not followed.
func (c *checker) reach(fn *ssa.Function, env bindings) reached {
	if len(fn.Blocks) == 0 {
		return nil
	}
	in, taken := c.reachPass(fn, env, nil)
	if len(env) == 0 || !openPhi(fn, in, taken) {
		return in
	}
	// A φ whose every edge that is taken brings one constant is that
	// constant: var calls map[int]*req; if err != nil { calls = c.calls }
	// ranges over nil when err is. The edges of the first pass are a
	// superset of those of the second, so what they decide holds.
	live := func(phi *ssa.Phi, i int) bool {
		b := phi.Block()
		p := b.Preds[i]
		for k, s := range p.Succs {
			if s == b && taken[p.Index] != nil && taken[p.Index][k] {
				return true
			}
		}
		return false
	}
	in, _ = c.reachPass(fn, env, live)
	return in
}

// openPhi reports whether a reached block of fn has a φ with an edge
// that is not taken.
func openPhi(fn *ssa.Function, in reached, taken [][]bool) bool {
	for _, b := range fn.Blocks {
		if in[b.Index] == nil || len(b.Instrs) == 0 {
			continue
		}
		if _, ok := b.Instrs[0].(*ssa.Phi); !ok {
			continue
		}
		for _, p := range b.Preds {
			followed := false
			for k, s := range p.Succs {
				followed = followed || (s == b && taken[p.Index] != nil && taken[p.Index][k])
			}
			if !followed {
				return true
			}
		}
	}
	return false
}

// reachPass is a pass of reach; live, if not nil, says which edges of
// each φ may be taken. It also returns, for each reached block, which of
// its edges out were followed.
func (c *checker) reachPass(fn *ssa.Function, env bindings, live func(*ssa.Phi, int) bool) (reached, [][]bool) {
	flags := env.hasFlags() || c.setsFlags(fn)
	in := make(reached, len(fn.Blocks))
	taken := make([][]bool, len(fn.Blocks))
	start := env
	if start == nil {
		start = bindings{}
	}
	in[0] = start
	work := []*ssa.BasicBlock{fn.Blocks[0]}
	if r := fn.Recover; r != nil && r.Index != 0 {
		// Reached when a deferred call recovers from a panic, after
		// writes not known here.
		in[r.Index] = withoutFlags(start)
		work = append(work, r)
	}
	queued := make([]bool, len(fn.Blocks))
	for _, b := range work {
		queued[b.Index] = true
	}
	for len(work) > 0 {
		b := work[len(work)-1]
		work = work[:len(work)-1]
		queued[b.Index] = false
		cur := in[b.Index]
		if flags {
			cur = cloneMap(cur)
			for _, instr := range b.Instrs {
				c.flagStep(instr, fn, cur)
			}
		}
		if taken[b.Index] == nil {
			taken[b.Index] = make([]bool, len(b.Succs))
		}
		first, last := 0, len(b.Succs)
		if v, ok := c.branch(b, in[b.Index], flags, live); ok {
			if v {
				last = 1
			} else {
				first = 1
			}
		}
		for i := first; i < last; i++ {
			s := b.Succs[i]
			taken[b.Index][i] = true
			changed := false
			if in[s.Index] == nil {
				in[s.Index] = cur
				changed = true
			} else if flags {
				in[s.Index], changed = meetFlags(in[s.Index], cur)
			}
			if changed && !queued[s.Index] {
				queued[s.Index] = true
				work = append(work, s)
			}
		}
	}
	return in, taken
}

// branch returns the value of the condition of the If that ends b, if
// it is constant given entry, the bindings at the entry of b, and live
// (see frame). A flag word's bits count as they stand where it is loaded,
// if that is in b: entry knows them there, and a change to entry makes
// b be judged again.
func (c *checker) branch(b *ssa.BasicBlock, entry bindings, flags bool, live func(*ssa.Phi, int) bool) (bool, bool) {
	if len(b.Instrs) == 0 {
		return false, false
	}
	iff, ok := b.Instrs[len(b.Instrs)-1].(*ssa.If)
	if !ok {
		return false, false
	}
	fr := &frame{fn: b.Parent(), env: entry, live: live}
	if flags {
		fr.bitsAt = func(at ssa.Instruction, s slot) uint64 {
			if at.Block() != b {
				return 0
			}
			env := cloneMap(entry)
			for _, instr := range b.Instrs {
				if instr == at {
					break
				}
				c.flagStep(instr, b.Parent(), env)
			}
			bits, _ := constBits(env[s])
			return bits
		}
	}
	k, ok := evalIn(iff.Cond, fr)
	if !ok || k.Kind() != constant.Bool {
		return false, false
	}
	return constant.BoolVal(k), true
}

// blocks returns the blocks that r says are reached, in the order of
// fn.Blocks.
func (r reached) blocks(fn *ssa.Function) []*ssa.BasicBlock {
	var out []*ssa.BasicBlock
	for i, env := range r {
		if env != nil {
			out = append(out, fn.Blocks[i])
		}
	}
	return out
}

// withoutFlags returns env without the bits of flag words.
func withoutFlags(env bindings) bindings {
	out := bindings{}
	for s, v := range env {
		if s.field == nil {
			out[s] = v
		}
	}
	return out
}

// meetFlags returns the bindings that hold where paths from dst and src
// join: the bits known on both; and whether that differs from dst.
func meetFlags(dst, src bindings) (bindings, bool) {
	var out bindings
	for s, v := range dst {
		if s.field == nil {
			continue
		}
		a, _ := constBits(v)
		b, _ := constBits(src[s])
		if a&b == a {
			continue
		}
		if out == nil {
			out = cloneMap(dst)
		}
		if a&b == 0 {
			delete(out, s)
		} else {
			out[s] = constant.MakeUint64(a & b)
		}
	}
	if out == nil {
		return dst, false
	}
	return out, true
}

// A frame is a function whose value is being evaluated: the function the
// analysis is in, with env, or a one-line function of the package that
// it calls, with args, the values it is called with, in up.
type frame struct {
	fn   *ssa.Function
	env  bindings
	args []ssa.Value
	call *ssa.Call // the call of fn in up, for a one-line function
	up   *frame
	// bitsAt, if not nil, gives the bits known in a flag word just
	// before an instruction of fn.
	bitsAt func(ssa.Instruction, slot) uint64
	// live, if not nil, says which edges of a φ of fn may be taken; busy
	// holds the φs being evaluated.
	live func(*ssa.Phi, int) bool
	busy map[*ssa.Phi]bool
}

// maxInline bounds how deep evaluation follows one-line functions.
const maxInline = 2

// inlined returns the value that the call v returns, with its frame, if
// v calls a function of the package made of one block that returns one
// value: a flag test such as func (f flags) isSet(b flags) bool { return
// f&b != 0 }.
func inlined(v *ssa.Call, fr *frame) (ssa.Value, *frame, bool) {
	callee, ok := v.Call.Value.(*ssa.Function)
	if !ok || len(callee.Blocks) != 1 || len(callee.Params) != len(v.Call.Args) {
		return nil, nil, false
	}
	depth := 0
	for f := fr; f.up != nil; f = f.up {
		depth++
	}
	if depth >= maxInline {
		return nil, nil, false
	}
	b := callee.Blocks[0]
	ret, ok := b.Instrs[len(b.Instrs)-1].(*ssa.Return)
	if !ok || len(ret.Results) != 1 {
		return nil, nil, false
	}
	for _, instr := range b.Instrs {
		switch instr.(type) {
		case *ssa.Store, *ssa.MapUpdate, ssa.CallInstruction, *ssa.Send:
			// Not a test: it may change what it tests.
			return nil, nil, false
		}
	}
	return ret.Results[0], &frame{fn: callee, args: v.Call.Args, call: v, up: fr}, true
}

// param returns the value that the parameter v stands for, with its frame,
// if fr is a one-line function's.
func (fr *frame) param(v *ssa.Parameter) (ssa.Value, *frame, bool) {
	if fr.args == nil {
		return nil, nil, false
	}
	for i, p := range fr.fn.Params {
		if p == v {
			return fr.args[i], fr.up, true
		}
	}
	return nil, nil, false
}

// knownBits returns bits that are surely set in v, an integer. A load of
// a flag word counts only where fr knows the bits at the point it is
// made (see branch).
func knownBits(v ssa.Value, fr *frame) uint64 {
	switch v := v.(type) {
	case *ssa.Const:
		bits, _ := constBits(v.Value)
		return bits
	case *ssa.Parameter:
		if a, up, ok := fr.param(v); ok {
			return knownBits(a, up)
		}
	case *ssa.BinOp:
		if v.Op == token.OR {
			return knownBits(v.X, fr) | knownBits(v.Y, fr)
		}
	case *ssa.UnOp:
		if v.Op != token.MUL {
			break
		}
		x, xfr := v.X, fr
		if p, ok := x.(*ssa.Parameter); ok {
			if a, up, ok := fr.param(p); ok {
				x, xfr = a, up
			}
		}
		if xfr.args != nil || xfr.bitsAt == nil {
			break
		}
		f, p := fieldOf(x, xfr.fn)
		if p < 0 {
			break
		}
		// The load is made at v, or, in a one-line function, at the
		// call of it in the function analysed.
		at := ssa.Instruction(v)
		for g := fr; g.args != nil; g = g.up {
			at = g.call
		}
		return xfr.bitsAt(at, slot{p, f})
	}
	return 0
}

// flagTest returns the value of v, a comparison of x&K with zero, if a bit
// of K is known set in x.
func flagTest(v *ssa.BinOp, fr *frame) (bool, bool) {
	zero := func(x ssa.Value) bool {
		k, ok := evalIn(x, fr)
		bits, isInt := constBits(k)
		return ok && isInt && bits == 0
	}
	var and ssa.Value
	switch {
	case zero(v.Y):
		and = v.X
	case zero(v.X):
		and = v.Y
	default:
		return false, false
	}
	a, ok := and.(*ssa.BinOp)
	if !ok || a.Op != token.AND {
		return false, false
	}
	for _, xy := range [][2]ssa.Value{{a.X, a.Y}, {a.Y, a.X}} {
		k, ok := evalIn(xy[1], fr)
		if !ok {
			continue
		}
		if mask, ok := constBits(k); ok && knownBits(xy[0], fr)&mask != 0 {
			return v.Op == token.NEQ, true
		}
	}
	return false, false
}
