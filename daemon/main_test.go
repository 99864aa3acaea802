package daemon

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind: every
// daemon started must shut down completely.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
