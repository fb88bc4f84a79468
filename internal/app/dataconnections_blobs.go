package app

import "odx/internal/connect/connectcmd"

// blobCounts gives `.show data connections` the blobs of Event Grid
// connections (pending, ingested, failed).
func (d *dataConnections) blobCounts(id string) (connectcmd.BlobCounts, bool) {
	if d.grid == nil {
		return connectcmd.BlobCounts{}, false
	}
	st, ok := d.grid.Blobs(id)
	return connectcmd.BlobCounts{Pending: st.Pending, Ingested: st.Ingested, Failed: st.Failed}, ok
}
