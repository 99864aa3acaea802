// Package storetest is the conformance suite every store backend must pass,
// so that the backends are interchangeable behind store.Store.
package storetest
