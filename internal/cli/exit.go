package cli

import "fmt"

// Exit codes. A script tells how waited-for work ended from these alone.
const (
	ExitOK = 0
	// ExitError: bad usage, bad input, or the API refused a call.
	ExitError = 1
	// ExitFailed: an operation (or a tenant of a batch) failed, or a
	// prerequisite check failed.
	ExitFailed = 3
	// ExitCancelled: an operation (or a tenant of a batch) was cancelled.
	ExitCancelled = 4
	// ExitActionRequired: --timeout passed while a tenant waited for a person.
	ExitActionRequired = 5
	// ExitTimeout: --timeout passed while work was still running.
	ExitTimeout = 6
)

// exitError carries an exit code other than ExitError out of a command.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func exitWith(code int, format string, a ...any) error {
	return &exitError{code: code, msg: fmt.Sprintf(format, a...)}
}
