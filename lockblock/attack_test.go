package lockblock_test

import (
	"testing"

	"github.com/fanin-go/fanin/lockblock"
	"golang.org/x/tools/go/analysis/analysistest"
)

// TestAttack runs the adversarial packages: each want states what the
// Doc and README promise.
func TestAttack(t *testing.T) {
	for _, pkg := range []string{
		"attackdefer",
		"attacktry",
		"attackhelper",
		"attackcond",
		"attackrange",
		"attackfresh",
		"attackdirective",
		"attacklocker",
		"attackheld",
		"attackfacta",
		"attackfactb",
		"attackfanin",
	} {
		t.Run(pkg, func(t *testing.T) {
			analysistest.Run(t, analysistest.TestData(), lockblock.Analyzer, pkg)
		})
	}
}
