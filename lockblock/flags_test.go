package lockblock_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/fanin-go/fanin/lockblock"
	"golang.org/x/tools/go/analysis/analysistest"
)

// setFlag sets a flag of the Analyzer for one test and restores it after.
func setFlag(t *testing.T, name, value string) {
	t.Helper()
	f := lockblock.Analyzer.Flags.Lookup(name)
	old := f.Value.String()
	if err := f.Value.Set(value); err != nil {
		t.Fatalf("Set(%q, %q) = %v", name, value, err)
	}
	t.Cleanup(func() {
		if name == "blocking" || name == "nonblocking" {
			// A list flag appends: empty it through its zero form.
			old = ""
			lockblock.Analyzer.Flags.Lookup(name).Value.(interface{ Reset() }).Reset()
			return
		}
		if err := f.Value.Set(old); err != nil {
			t.Errorf("restoring -%s: %v", name, err)
		}
	})
}

// TestChainFlag checks that -chain shows every link of the chain.
func TestChainFlag(t *testing.T) {
	setFlag(t, "group", "false")
	setFlag(t, "chain", "true")
	analysistest.Run(t, analysistest.TestData(), lockblock.Analyzer, "chain")
}

// TestDeclareFlags checks -blocking, on a function and on an interface
// method, and -nonblocking.
func TestDeclareFlags(t *testing.T) {
	setFlag(t, "group", "false")
	setFlag(t, "blocking", "declaredflags.Park,io.Writer.Write")
	setFlag(t, "nonblocking", "declaredflags.Pool")
	analysistest.Run(t, analysistest.TestData(), lockblock.Analyzer, "declaredflags")
}

// quiet collects what analysistest would report as errors.
type quiet struct{ errs []string }

func (q *quiet) Errorf(format string, args ...any) {
	q.errs = append(q.errs, fmt.Sprintf(format, args...))
}

// TestIOFlag checks that -io=false drops every wait for I/O and only
// those: the package of I/O waits gives nothing, and its wants are all
// that is missing.
func TestIOFlag(t *testing.T) {
	setFlag(t, "group", "false")
	setFlag(t, "io", "false")
	q := &quiet{}
	results := analysistest.Run(q, analysistest.TestData(), lockblock.Analyzer, "iokind")
	for _, r := range results {
		for _, d := range r.Diagnostics {
			t.Errorf("with -io=false: %v: %s", r.Pass.Fset.Position(d.Pos), d.Message)
		}
	}
	if len(q.errs) == 0 {
		t.Fatal("with -io=false, no want of iokind went missing; want every one missing")
	}
	for _, e := range q.errs {
		if !strings.Contains(e, "no diagnostic was reported") {
			t.Errorf("with -io=false: %s", e)
		}
	}
}

// render returns the diagnostics of results as text: position, category,
// message and every related position, in the order reported.
func render(results []*analysistest.Result) string {
	var b strings.Builder
	for _, r := range results {
		for _, d := range r.Diagnostics {
			fmt.Fprintf(&b, "%v [%s] %s\n", r.Pass.Fset.Position(d.Pos), d.Category, d.Message)
			for _, rel := range d.Related {
				fmt.Fprintf(&b, "\t%v %s\n", r.Pass.Fset.Position(rel.Pos), rel.Message)
			}
		}
	}
	return b.String()
}

// maxMessage is the longest message a person reads in one glance.
const maxMessage = 300

// TestMessages checks that two runs give byte-identical diagnostics, that
// each message is short, and that each names its lock sites as related
// positions.
func TestMessages(t *testing.T) {
	setFlag(t, "group", "false")
	pkgs := []string{"reported", "pathsense", "limiter", "closure", "factb"}
	results := analysistest.Run(t, analysistest.TestData(), lockblock.Analyzer, pkgs...)
	first := render(results)
	second := render(analysistest.Run(t, analysistest.TestData(), lockblock.Analyzer, pkgs...))
	if first != second {
		t.Fatalf("two runs differ:\n--- first\n%s--- second\n%s", first, second)
	}
	if first == "" {
		t.Fatal("no diagnostics to compare")
	}
	for _, r := range results {
		for _, d := range r.Diagnostics {
			if len(d.Message) > maxMessage {
				t.Errorf("%v: message of %d bytes, want at most %d: %s", r.Pass.Fset.Position(d.Pos), len(d.Message), maxMessage, d.Message)
			}
			if strings.Contains(d.Message, "may be held") && len(d.Related) == 0 {
				t.Errorf("%v: no related position for the lock: %s", r.Pass.Fset.Position(d.Pos), d.Message)
			}
		}
	}
}
