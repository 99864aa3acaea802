// Package armclient is the thin layer every xdrlink ARM client sits on: an azcore
// arm.Client whose pipeline does the work (auth, retries, limits, telemetry — see package
// outbound), request helpers that send JSON and classify failures through azerr, nextLink
// paging, and the one place where ARM api-versions are pinned ([apiversions.go]).
package armclient
