// Package pending serves the API methods whose capability this server
// version does not provide yet. Each answers UNIMPLEMENTED with reason
// NOT_IMPLEMENTED and names the capability, so clients can tell "not yet"
// from "no such method". Later work replaces these one service at a time.
package pending
