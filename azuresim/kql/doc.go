// Package kql parses and evaluates the subset of the Kusto Query Language that
// xdrlink sends to the Log Analytics query API. azuresim uses it to answer
// those queries from its emulated world; anything outside the subset is
// rejected with a *SyntaxError or *SemanticError that the emulator turns into
// the service's BadArgumentError shape, so an unsupported query fails loudly
// instead of returning plausible but wrong numbers.
//
// # Pipeline
//
// Text -> [Parse] -> *Query (AST) -> [Compile] against a [Catalog] (the table
// names and columns the caller provides) -> *Plan -> [Plan.Run] over a [Source]
// (rows per table) -> *Result. [Eval] does all three.
//
// Rows carry a Weight: one Row with Weight n stands for n identical events.
// This lets the emulator synthesize ingestion batches (for example one row per
// table per five minutes) instead of materializing every event, while count()
// and sum() still return exact event counts. Results are expanded back to
// plain rows (capped, see [Env.MaxRows]).
//
// The planner pushes time bounds down to the Source as a [Window]: the
// request timespan plus every TimeGenerated comparison with a constant in the
// where clauses that directly follow the source. The Source may omit rows
// outside the window; the evaluator still applies every predicate itself, so
// the window is a hint and never changes results. Constant subexpressions
// (ago(7d), now() - 1h) are computed once per run, not per row.
//
// # Grammar (EBNF)
//
// KQL is case-sensitive: keywords, function names and identifiers must match
// exactly.
//
//	Query       = Source { "|" Operator } .
//	Source      = TableName
//	            | "union" { UnionParam } TableName { "," TableName } .
//	UnionParam  = "withsource" "=" Ident
//	            | "isfuzzy" "=" ( "true" | "false" ) .
//	Operator    = "where" Expr
//	            | "summarize" [ Aggregation { "," Aggregation } ] [ "by" GroupKey { "," GroupKey } ]  // not both empty
//	            | "project" NamedExpr { "," NamedExpr }
//	            | "extend" NamedExpr { "," NamedExpr }
//	            | ( "take" | "limit" ) LongLiteral
//	            | ( "order" | "sort" ) "by" OrderKey { "," OrderKey } .
//	Aggregation = [ Ident "=" ] AggCall .
//	AggCall     = "count" "(" ")"
//	            | ( "sum" | "min" | "max" ) "(" Expr ")"
//	            | ( "arg_max" | "arg_min" ) "(" Expr "," ( "*" | Ident { "," Ident } ) ")" .
//	GroupKey    = [ Ident "=" ] Expr .        // a column, bin(column, span) or a named Expr
//	NamedExpr   = [ Ident "=" ] Expr .        // unnamed only for a plain column
//	OrderKey    = Ident [ "asc" | "desc" ] .  // default desc, as in Kusto
//	Expr        = AndExpr { "or" AndExpr } .
//	AndExpr     = CmpExpr { "and" CmpExpr } .
//	CmpExpr     = AddExpr [ CmpOp AddExpr
//	                      | InOp "(" Expr { "," Expr } ")" ] .
//	CmpOp       = "==" | "!=" | "<" | "<=" | ">" | ">=" | "=~" | "!~" .
//	InOp        = "in" | "!in" | "in~" | "!in~" .
//	AddExpr     = Primary { ( "+" | "-" ) Primary } .
//	Primary     = Literal | Ident | Call | "(" Expr ")" .
//	Call        = FuncName "(" [ Expr { "," Expr } ] ")" .
//	FuncName    = "ago" | "now" | "bin" | "not" | "isempty" | "isnotempty" .
//	Literal     = String | Long | Real | Timespan | "true" | "false"
//	            | "datetime" "(" RawDateTime ")" .
//	Timespan    = Number ( "d" | "h" | "m" | "s" | "ms" | "microsecond" | "tick" ) .
//	String      = '"' { char | escape } '"' | "'" { char | escape } "'"
//	            | "@" ( '"' { char } '"' | "'" { char } "'" ) .
//	Ident       = ( letter | "_" ) { letter | digit | "_" } .
//	Comment     = "//" { any char but newline } .
//
// Types: string, long (also int), real, bool, datetime, timespan, guid (a
// string), dynamic (opaque: may be projected, not compared). Column types come
// from the Catalog; expressions are type-checked at Compile time.
//
// Semantics that the verification queries rely on:
//   - summarize without "by" over no rows returns one row (count() = 0,
//     max() = null); with "by" it returns no rows.
//   - default column names: count() -> count_, sum(X) -> sum_X, min(X) ->
//     min_X, max(X) -> max_X, bin(X, s) -> X; arg_max(X, *) returns X and every
//     other input column except the group keys.
//   - union withsource=C adds a string column C (first) naming each row's
//     table; isfuzzy=true skips tables the Catalog does not know; without it,
//     or when none of them exists, the first unknown table is a semantic error
//     ("Failed to resolve table expression named 'X'").
//   - comparisons with null are false; max/min skip nulls.
//   - output group order is the order in which groups were first seen.
package kql
