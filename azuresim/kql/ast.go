package kql

// Query is a parsed query: a source and the operators piped after it.
type Query struct {
	source sourceExpr
	ops    []operator
	text   string
}

// String returns the text the query was parsed from.
func (q *Query) String() string { return q.text }

type sourceExpr struct {
	pos        Pos
	union      bool
	withSource string // "" when not set
	isFuzzy    bool
	tables     []tableRef
}

type tableRef struct {
	name string
	pos  Pos
}

type operator interface{ opName() string }

type whereOp struct {
	pos  Pos
	pred expr
}

type summarizeOp struct {
	pos  Pos
	aggs []aggregation
	by   []namedExpr
}

type aggregation struct {
	pos  Pos
	name string // output name; "" for the default
	fn   string
	args []expr
	star bool // arg_max(X, *)
}

type projectOp struct {
	pos    Pos
	extend bool // extend keeps the input columns
	cols   []namedExpr
}

type takeOp struct {
	pos Pos
	n   int64
}

type orderOp struct {
	pos  Pos
	keys []orderKey
}

type orderKey struct {
	pos    Pos
	column string
	desc   bool
}

type namedExpr struct {
	name string // "" when not named
	e    expr
}

func (whereOp) opName() string     { return "where" }
func (summarizeOp) opName() string { return "summarize" }
func (o projectOp) opName() string {
	if o.extend {
		return "extend"
	}
	return "project"
}
func (takeOp) opName() string  { return "take" }
func (orderOp) opName() string { return "order" }

// expr is a scalar expression node.
type expr interface{ position() Pos }

type identExpr struct {
	pos  Pos
	name string
}

type literalExpr struct {
	pos Pos
	typ Type
	val any
}

type binaryExpr struct {
	pos  Pos
	op   string // and or == != < <= > >= =~ !~ + -
	l, r expr
}

type inExpr struct {
	pos    Pos
	not    bool
	fold   bool // in~: case-insensitive
	l      expr
	values []expr
}

type callExpr struct {
	pos  Pos
	name string
	args []expr
}

func (e identExpr) position() Pos   { return e.pos }
func (e literalExpr) position() Pos { return e.pos }
func (e binaryExpr) position() Pos  { return e.pos }
func (e inExpr) position() Pos      { return e.pos }
func (e callExpr) position() Pos    { return e.pos }
