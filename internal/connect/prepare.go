package connect

import "context"

// Preparer is optionally implemented by a Sink that can do a commit in two
// steps, so that a connector decodes its next commit while the previous one
// is being stored: Prepare decodes and maps the items and stores nothing;
// the Prepared's Store then commits the rows, the failures and the positions
// in one transaction, with Ingest's guarantees. Ingest(c) is Prepare(c)
// followed by Store.
//
// Several Prepare calls may run at once; the Batcher stores prepared
// commits one at a time, in the order their Commits were made, and never
// stores one whose predecessor failed (its positions would skip the
// predecessor's events).
type Preparer interface {
	Prepare(ctx context.Context, c Commit) (Prepared, error)
}

// Prepared is a decoded commit waiting to be stored.
type Prepared interface {
	Store(ctx context.Context) (Report, error)
}
