package lockblock

import (
	"cmp"
	"fmt"
	"go/constant"
	"go/token"
	"go/types"
	"maps"
	"slices"
	"strconv"
	"strings"

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
}

// lockCall returns what call does to a lock, and the lock.
func lockCall(call *ssa.CallCommon) (lockOp, ssa.Value) {
	if call.IsInvoke() {
		return notLockOp, nil
	}
	callee := call.StaticCallee()
	if callee == nil {
		return notLockOp, nil
	}
	obj, ok := callee.Object().(*types.Func)
	if !ok {
		return notLockOp, nil
	}
	op := lockMethods[obj.FullName()]
	if op == notLockOp {
		return notLockOp, nil
	}
	// A method value (mu.Lock taken as a func) binds its receiver.
	if mc, ok := call.Value.(*ssa.MakeClosure); ok && len(mc.Bindings) == 1 {
		return op, mc.Bindings[0]
	}
	if len(call.Args) == 0 {
		return notLockOp, nil
	}
	return op, call.Args[0]
}

// held is one lock that may be held.
type held struct {
	name string    // as the message names it: "s.mu"
	pos  token.Pos // where it was taken
	read bool      // by RLock or TryRLock
	// cond, if not nil, is a bool value (a TryLock's result, or a value
	// it flowed into) that is true wherever the lock is held.
	cond ssa.Value
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
	read       bool
	// result is 1 + the index of a bool result that is true wherever the
	// lock is left held (a TryLock helper); 0 if there is none.
	result int
}

// lockEffects is what a function does to its caller's locks.
type lockEffects struct {
	acquired []effect // may be held at some return
	released []effect // unlocked without having been locked in the function
}

func sortEffects(es []effect) {
	slices.SortFunc(es, func(a, b effect) int {
		return cmp.Or(cmp.Compare(a.root, b.root), cmp.Compare(a.suffix, b.suffix))
	})
}

// effectOf returns the effect for a lock of fn with the given key and
// name, if the caller can name it.
func (c *checker) effectOf(fn *ssa.Function, key, name string, read bool) (effect, bool) {
	root := rootOf(key)
	var rootName string
	switch {
	case strings.HasPrefix(root, "g{"):
		rootName, _, _ = strings.Cut(name, ".")
	case strings.HasPrefix(root, "p"):
		i, _ := strconv.Atoi(root[1:])
		rootName = fn.Params[i].Name()
	case strings.HasPrefix(root, "f"):
		i, _ := strconv.Atoi(root[1:])
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
	}, true
}

// bind returns the key and name, in the caller, of an effect of the
// function that call runs.
func (c *checker) bind(call *ssa.CallCommon, e effect) (key, name string, ok bool) {
	var arg ssa.Value
	switch {
	case strings.HasPrefix(e.root, "g{"):
		return e.root + e.suffix, strings.TrimPrefix(e.nameSuffix, "."), true
	case strings.HasPrefix(e.root, "p"):
		i, _ := strconv.Atoi(e.root[1:])
		if i >= len(call.Args) {
			return "", "", false
		}
		arg = call.Args[i]
	case strings.HasPrefix(e.root, "f"):
		i, _ := strconv.Atoi(e.root[1:])
		mc, ok := call.Value.(*ssa.MakeClosure)
		if !ok || i >= len(mc.Bindings) {
			return "", "", false
		}
		arg = mc.Bindings[i]
	default:
		return "", "", false
	}
	key, name = c.path(arg)
	if name == "" {
		return key + e.suffix, e.name, true
	}
	return key + e.suffix, name + e.nameSuffix, true
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

// lockAt returns the key of lock and how it is held after a Lock-like
// call at pos.
func (c *checker) lockAt(lock ssa.Value, pos token.Pos, read bool) (string, held) {
	key, name := c.path(lock)
	if src, ok := c.lockExpr[pos]; ok && (name == "" || strings.HasPrefix(key, "v")) {
		name = src
	}
	if name == "" {
		name = "a mutex"
	}
	return key, held{name: name, pos: pos, read: read}
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
		if i := slices.Index(v.Parent().Params, v); i >= 0 {
			return "p" + strconv.Itoa(i), v.Name()
		}
	case *ssa.FreeVar:
		if i := slices.Index(v.Parent().FreeVars, v); i >= 0 {
			return "f" + strconv.Itoa(i), v.Name()
		}
	case *ssa.Global:
		name := v.Name()
		if v.Pkg != nil && v.Pkg.Pkg != c.pass.Pkg {
			name = v.Pkg.Pkg.Name() + "." + name
		}
		return "g{" + v.RelString(nil) + "}", name
	case *ssa.Alloc:
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
	}
	return "v" + v.Name(), ""
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
// when it runs at any return.
func (c *checker) checkFunc(fn *ssa.Function) {
	f := c.analyze(fn)
	if f == nil {
		return
	}
	deferred := map[*ssa.Defer]lockset{}
	f.visit(func(instr ssa.Instruction, cur lockset) {
		bl, locks := c.blockedAt(instr, cur)
		if len(locks) == 0 {
			return
		}
		if d, ok := instr.(*ssa.Defer); ok {
			deferred[d], _ = unionLocks(deferred[d], locks)
			return
		}
		c.pass.Reportf(bl.pos, "%s", c.message(bl, locks))
	})
	for _, d := range slices.SortedFunc(maps.Keys(deferred), func(a, b *ssa.Defer) int { return cmp.Compare(a.Pos(), b.Pos()) }) {
		bl, _ := c.blocking(d)
		c.pass.Reportf(bl.pos, "%s", c.message(bl, deferred[d]))
	}
}

// blockedAt returns how instr may block, if it may and is not silenced,
// and the locks of cur that stay held while it waits.
func (c *checker) blockedAt(instr ssa.Instruction, cur lockset) (blocker, lockset) {
	if len(cur) == 0 {
		return blocker{}, nil
	}
	bl, ok := c.blocking(instr)
	if !ok || c.dirs.silenced(c.pass.Fset, bl.pos) {
		return blocker{}, nil
	}
	return bl, c.heldAcross(instr, bl, cur)
}

// message says what blocks, which locks may be held and where they were
// taken, and how to fix it, in one line.
func (c *checker) message(bl blocker, locks lockset) string {
	hs := slices.SortedFunc(maps.Values(locks), func(a, b held) int {
		return cmp.Or(cmp.Compare(a.pos, b.pos), cmp.Compare(a.name, b.name))
	})
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
		parts := make([]string, len(hs))
		for i, h := range hs {
			parts[i] = fmt.Sprintf("%s (%s)", h.name, taken(h))
		}
		which = strings.Join(parts, " and ") + " may be held"
	}
	return fmt.Sprintf("%s while %s: copy what you need out of the lock and unlock it before the %s", bl.what, which, bl.noun)
}
