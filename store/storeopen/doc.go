// Package storeopen opens a store backend from a DSN. It is separate from
// package store because it imports the backends, which import store.
package storeopen
