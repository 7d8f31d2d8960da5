package metadatatable

import "context"

// Source fills a Table from one origin and keeps it current.
//
// Start begins loading and must not block on the origin: the source calls
// Table.MarkReady once its initial load is complete. Errors after Start are
// passed to the ReportError callback given at construction. Shutdown is
// idempotent and safe before Start.
type Source interface {
	Start(ctx context.Context) error
	Shutdown(ctx context.Context) error
}
