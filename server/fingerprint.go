package server

import (
	"crypto/sha256"

	"google.golang.org/protobuf/proto"
)

// Fingerprint identifies a request's content apart from its request_id, so
// that the engine recognises a retry with the same id and refuses a
// different request reusing it (AIP-155).
func Fingerprint(msg proto.Message) []byte {
	m := proto.Clone(msg)
	if f := m.ProtoReflect().Descriptor().Fields().ByName("request_id"); f != nil {
		m.ProtoReflect().Clear(f)
	}
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(m) // a request that was received always marshals
	sum := sha256.Sum256(b)
	return sum[:]
}
