// Package simtest starts azuresim for the tests of the azure/... clients and wires the real
// production pieces to it: cloud endpoints, the outbound pipeline, the credential provider
// (real azidentity over HTTPS, instance discovery off) and a recording transport that keeps
// every request and response for assertions on bodies and on leaked secrets. [Env.ARM] and
// [NewClient] build the ARM, Graph, Defender streaming and Log Analytics clients on them.
//
// Only tests import it.
package simtest
