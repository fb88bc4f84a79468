package storage

import (
	"context"
	"strings"
	"time"

	"odx/internal/engine"
)

// Doc is a stored document (an ARM resource, an async operation, ...).
type Doc struct {
	Kind    string
	ID      string // as first written; lookups ignore case, as ARM ids do
	Body    []byte
	Updated time.Time
}

// PutDoc creates or replaces the document kind/id.
func (s *Store) PutDoc(ctx context.Context, kind, id string, body []byte) error {
	s.docsMu.Lock()
	defer s.docsMu.Unlock()
	return s.retryConflicts(ctx, func(tx *engine.Tx) error {
		key := strings.ToLower(id)
		if _, err := tx.Exec(`DELETE FROM odx_meta.documents WHERE kind = ? AND id_key = ?`, kind, key); err != nil {
			return err
		}
		_, err := tx.Exec(`INSERT INTO odx_meta.documents VALUES (?, ?, ?, ?, ?)`, kind, key, id, string(body), s.now().UTC())
		return err
	})
}

// GetDoc reads the document kind/id.
func (s *Store) GetDoc(ctx context.Context, kind, id string) ([]byte, bool, error) {
	var body []byte
	found := false
	err := queryAll(ctx, s.db, `SELECT body FROM odx_meta.documents WHERE kind = ? AND id_key = ?`, func(v []any) error {
		body, found = []byte(str(v[0])), true
		return nil
	}, kind, strings.ToLower(id))
	return body, found, err
}

// ListDocs lists the documents of a kind whose id starts with idPrefix
// (case-insensitively), sorted by id.
func (s *Store) ListDocs(ctx context.Context, kind, idPrefix string) ([]Doc, error) {
	var out []Doc
	err := queryAll(ctx, s.db, `SELECT id, body, updated FROM odx_meta.documents WHERE kind = ? AND starts_with(id_key, ?) ORDER BY id_key`, func(v []any) error {
		out = append(out, Doc{Kind: kind, ID: str(v[0]), Body: []byte(str(v[1])), Updated: tm(v[2])})
		return nil
	}, kind, strings.ToLower(idPrefix))
	return out, err
}

// DeleteDoc deletes the document kind/id; it reports whether it existed.
func (s *Store) DeleteDoc(ctx context.Context, kind, id string) (bool, error) {
	s.docsMu.Lock()
	defer s.docsMu.Unlock()
	var n int64
	err := s.retryConflicts(ctx, func(tx *engine.Tx) error {
		var err error
		n, err = tx.Exec(`DELETE FROM odx_meta.documents WHERE kind = ? AND id_key = ?`, kind, strings.ToLower(id))
		return err
	})
	return n > 0, err
}
