package azuresim

import "sync"

// maxIssuedSecrets bounds the record of issued secrets: only the most recent
// are kept, so a long-running sandbox holds a few megabytes at most.
const maxIssuedSecrets = 10_000

// issuedLog is a bounded record of the secrets the emulator has handed out,
// oldest first. The zero value is ready to use.
type issuedLog struct {
	mu   sync.Mutex
	ring []string
	next int // once the ring is full, the index of the oldest entry
}

func (l *issuedLog) add(secret string) {
	if secret == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.ring) < maxIssuedSecrets {
		l.ring = append(l.ring, secret)
		return
	}
	l.ring[l.next] = secret
	l.next = (l.next + 1) % maxIssuedSecrets
}

func (l *issuedLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]string, 0, len(l.ring))
	out = append(out, l.ring[l.next:]...)
	return append(out, l.ring[:l.next]...)
}

// IssuedSecrets returns every secret the emulator has issued, oldest first:
// device codes (the device_code a client polls with, not the user code a
// person types), and the access, id and refresh tokens of every grant and of
// IssueAppToken and IssueUserToken. Only the most recent 10,000 are kept.
//
// It is for leak tests: a product that must never store, log or return such
// a value in the clear can be checked against all of them. The apps' client
// secrets are not issued by the emulator; the generated worlds' is
// GeneratedAppSecret.
func (s *Sim) IssuedSecrets() []string {
	return s.tokens.issued.list()
}
