// Package tablestate keeps what xdrlink knows about a tenant's tables: the
// desired set (the tenant's connector.tables, the only place it is stored),
// what was observed in Azure and how (status.tables), and the comparison of
// the two that TableSettings shows. It also checks a desired set against
// the table catalog, so every API that takes tables refuses the same names
// for the same reasons.
package tablestate
