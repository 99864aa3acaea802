// Package progress follows a long-running operation until it is done and
// shows how it goes: for a terminal, a live bar with the count of children
// in each state; otherwise one plain line per change. Either way, each
// tenant that waits for a person (who, where, which code) gets a line as
// soon as it appears.
package progress
