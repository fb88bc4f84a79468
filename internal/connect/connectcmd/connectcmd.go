// Package connectcmd is odx's management command that shows the data
// connections of a database with their live state, something ADX does not
// give its users:
//
//	.show data connections                      the request's database (every database the caller may monitor when none)
//	.show database <db> data connections
//	.show data connections partitions           one row per partition instead of per connection
//	.show database <db> data connections partitions
//
// It reads the connect.Manager and answers a result.Set; the management
// command dispatcher calls Handles and Execute.
package connectcmd

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"odx/internal/access"
	"odx/internal/connect"
	"odx/internal/kerr"
	"odx/internal/kql/types"
	"odx/internal/result"
)

// Command runs `.show data connections`.
type Command struct {
	Manager *connect.Manager
	// Roles returns the caller's roles in a database (storage knows them);
	// a caller sees a database's connections with the Monitor operation.
	Roles func(database string, caller access.Caller) []string
	// Blobs returns the blob counters of a connection (by lower-case ARM
	// id) that ingests blobs; nil or false leaves the blob columns null.
	Blobs func(id string) (BlobCounts, bool)
}

type parsed struct {
	database   string // "" when not named
	partitions bool
}

// Handles reports whether text is one of the command's forms.
func Handles(text string) bool {
	_, ok := parse(text)
	return ok
}

func parse(text string) (parsed, bool) {
	f := strings.Fields(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(text), ";")))
	var p parsed
	if len(f) < 3 || !strings.EqualFold(f[0], ".show") {
		return p, false
	}
	f = f[1:]
	if strings.EqualFold(f[0], "database") {
		if len(f) < 4 {
			return p, false
		}
		p.database = unquote(f[1])
		f = f[2:]
	}
	if len(f) < 2 || !strings.EqualFold(f[0], "data") || !strings.EqualFold(f[1], "connections") {
		return p, false
	}
	switch {
	case len(f) == 2:
	case len(f) == 3 && strings.EqualFold(f[2], "partitions"):
		p.partitions = true
	default:
		return p, false
	}
	return p, true
}

// unquote accepts db, ['db'] and ["db"].
func unquote(s string) string {
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		s = s[1 : len(s)-1]
	}
	if len(s) >= 2 && (s[0] == '\'' || s[0] == '"') && s[len(s)-1] == s[0] {
		s = s[1 : len(s)-1]
	}
	return s
}

var connectionColumns = []result.Column{
	col("Database", types.String), col("Name", types.String), col("Kind", types.String), col("State", types.String),
	col("StateSince", types.DateTime), col("Source", types.String), col("ConsumerGroup", types.String),
	col("OwnedPartitions", types.Int), col("Lag", types.Long), col("Events", types.Long), col("Bytes", types.Long),
	col("Failures", types.Long), col("LastError", types.String), col("LastErrorTime", types.DateTime),
	col("NextAttempt", types.DateTime), col("Restarts", types.Long), col("LastFailure", types.String),
	col("LastCommit", types.DateTime), col("Partitions", types.Dynamic),
}

var partitionColumns = []result.Column{
	col("Database", types.String), col("Name", types.String), col("Partition", types.Int), col("Owned", types.Bool),
	col("CommittedOffset", types.Long), col("HighWatermark", types.Long), col("Lag", types.Long),
	col("Events", types.Long), col("Bytes", types.Long), col("Failures", types.Long),
	col("LastError", types.String), col("LastErrorTime", types.DateTime), col("LastCommit", types.DateTime),
}

func col(name string, t types.Type) result.Column { return result.Column{Name: name, Type: t} }

// Execute runs the command for caller, with database as the request's database.
func (c Command) Execute(_ context.Context, caller access.Caller, database, text string) (*result.Set, error) {
	p, ok := parse(text)
	if !ok {
		return nil, kerr.BadRequestf("expected .show [database <name>] data connections [partitions]")
	}
	if database == access.DefaultDatabase {
		database = ""
	}
	if p.database != "" {
		database = p.database
	}
	var list []connect.Status
	if database != "" {
		if !c.may(caller, database) {
			return nil, access.Forbidden(caller, access.OpMonitor, database)
		}
		list = c.Manager.List(database)
	} else {
		for _, st := range c.Manager.List("") {
			if c.may(caller, st.Database) {
				list = append(list, st)
			}
		}
	}
	if p.partitions {
		rows := [][]any{}
		for _, st := range list {
			for _, ps := range st.Partitions {
				rows = append(rows, []any{st.Database, st.Name, ps.Partition, ps.Owned, offset(ps.Committed), offset(ps.HighWatermark),
					ps.Lag, ps.Events, ps.Bytes, ps.Failures, ps.LastError, timeOrNil(ps.LastErrorAt), timeOrNil(ps.LastCommit)})
			}
		}
		return set(partitionColumns, rows), nil
	}
	rows := [][]any{}
	for _, st := range list {
		var owned int32
		var lag int64
		var lastCommit time.Time
		type partJSON struct {
			Partition       int32  `json:"Partition"`
			Owned           bool   `json:"Owned"`
			CommittedOffset *int64 `json:"CommittedOffset"`
			Lag             int64  `json:"Lag"`
			Events          int64  `json:"Events"`
			Failures        int64  `json:"Failures"`
		}
		parts := []partJSON{}
		for _, ps := range st.Partitions {
			if ps.Owned {
				owned++
				lag += ps.Lag
			}
			if ps.LastCommit.After(lastCommit) {
				lastCommit = ps.LastCommit
			}
			pj := partJSON{Partition: ps.Partition, Owned: ps.Owned, Lag: ps.Lag, Events: ps.Events, Failures: ps.Failures}
			if ps.Committed >= 0 {
				n := ps.Committed
				pj.CommittedOffset = &n
			}
			parts = append(parts, pj)
		}
		pj, _ := json.Marshal(parts)
		rows = append(rows, append([]any{st.Database, st.Name, st.Kind, string(st.State), timeOrNil(st.Since), st.Source, st.Group,
			owned, lag, st.Events, st.Bytes, st.Failures, st.LastError, timeOrNil(st.LastErrorAt), timeOrNil(st.NextAttempt),
			st.Restarts, st.LastFailure, timeOrNil(lastCommit), json.RawMessage(pj)}, c.blobValues(st.ID)...))
	}
	return set(append(slices.Clip(connectionColumns), blobColumns...), rows), nil
}

func (c Command) may(caller access.Caller, database string) bool {
	if caller.HasClusterRole(access.ClusterAdmin) || caller.HasClusterRole(access.ClusterViewer) {
		return true
	}
	if c.Roles == nil {
		return false
	}
	return caller.Can(access.OpMonitor, c.Roles(database, caller))
}

func set(cols []result.Column, rows [][]any) *result.Set {
	return &result.Set{Tables: []result.Table{&result.Static{TableName: "Table_0", Cols: cols, Rows: rows}}}
}

func timeOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

func offset(n int64) any {
	if n < 0 {
		return nil
	}
	return n
}
