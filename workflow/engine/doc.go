// Package engine runs xdrlink's long-running operations durably on River.
//
// An operation is a row in the store (the truth clients read) plus a River
// job on the same database that moves it forward, inserted in one
// transaction. The job runs the operation's steps in order, recording each
// step in the operation's metadata and what it changed in Azure in the
// tenant's status. A crash anywhere leaves a row and a job that resume: every
// step is idempotent, and what a step is about to change is checkpointed
// before the write.
//
// The job pauses instead of blocking: a transient Azure error snoozes it
// until the next attempt (the step shows next_attempt_time), and a step that
// needs the customer's delegated sign-in snoozes it between device-code
// polls, so a restart loses nothing. The device code and the refresh token
// are sealed (encrypted) in the operation's secret row, never in job
// arguments, responses or logs, and deleted when the operation ends.
package engine
