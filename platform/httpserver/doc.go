// Package httpserver runs Lattice's HTTP server: net/http with timeouts,
// request IDs, structured access logs, panic recovery, request body limits,
// JSON error bodies, health endpoints and graceful shutdown.
//
// Handlers report failures with WriteError, which turns an *apierror.Error
// into its HTTP status and a body of the form
//
//	{"error": {"code": "slug_taken", "message": "...", "field": "slug", "requestId": "..."}}
//
// and any other error into a 500 whose cause is logged, never shown.
package httpserver
