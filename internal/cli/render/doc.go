// Package render prints API responses for people (aligned tables, colours,
// sparklines) and for programs (protojson, or the same as YAML).
package render
