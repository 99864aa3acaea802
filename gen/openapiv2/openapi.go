// Package openapiv2 embeds the generated OpenAPI description of the REST API
// (xdrlink.swagger.json) so the server can serve it. This file is written by
// hand; the JSON beside it is generated.
package openapiv2

import _ "embed"

// JSON is the OpenAPI (v2) document.
//
//go:embed xdrlink.swagger.json
var JSON []byte
