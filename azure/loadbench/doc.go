// Package loadbench holds the load benchmark of the Azure access layer: a
// generated 1,000-tenant azuresim world driven with 10,000 mixed requests
// (ARM reads and writes, Graph, Log Analytics) through the real clients,
// credentials and outbound pipeline over HTTPS, reporting throughput and
// p50/p99 latency. It has no code of its own:
//
//	go test -run '^$' -bench . -benchtime 1x ./azure/loadbench/
package loadbench
