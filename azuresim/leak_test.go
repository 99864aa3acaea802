package azuresim

import (
	"testing"

	"go.uber.org/goleak"
)

// runWithLeakCheck runs the package's tests and fails on leaked goroutines
// (the sim starts a server goroutine and connection goroutines per client).
func runWithLeakCheck(m *testing.M) int {
	code := m.Run()
	if code != 0 {
		return code
	}
	if err := goleak.Find(); err != nil {
		println("goleak:", err.Error())
		return 1
	}
	return 0
}
