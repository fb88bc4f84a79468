package bulkingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// Kusto is a minimal client of odx's management endpoint: one POST per
// command, v1 answers.
type Kusto struct {
	Endpoint string // https://127.0.0.1:8443
	HTTP     *http.Client
	Cred     azcore.TokenCredential
	// Scope is the token scope; "<Endpoint>/.default" when empty.
	Scope string
}

// Table is one table of a v1 answer.
type Table struct {
	Columns []string
	Rows    [][]any
}

// Col returns the index of a column, or -1.
func (t Table) Col(name string) int {
	for i, c := range t.Columns {
		if c == name {
			return i
		}
	}
	return -1
}

// CommandError is a Kusto error answer.
type CommandError struct {
	Status  int
	Code    string
	Message string
}

func (e *CommandError) Error() string {
	return fmt.Sprintf("%s (HTTP %d, %s)", e.Message, e.Status, e.Code)
}

// Mgmt runs a management command in database db and returns the first table.
func (k *Kusto) Mgmt(ctx context.Context, db, command string) (Table, error) {
	body, _ := json.Marshal(map[string]any{"db": db, "csl": command})
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(body)
	zw.Close()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(k.Endpoint, "/")+"/v1/rest/mgmt", &buf)
	if err != nil {
		return Table{}, err
	}
	scope := k.Scope
	if scope == "" {
		scope = strings.TrimRight(k.Endpoint, "/") + "/.default"
	}
	tok, err := k.Cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
	if err != nil {
		return Table{}, fmt.Errorf("cannot get a token for %s: %w", k.Endpoint, err)
	}
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("x-ms-app", "odx ingest")
	resp, err := k.HTTP.Do(req)
	if err != nil {
		return Table{}, fmt.Errorf("cannot reach odx at %s: %w (is 'odx serve' running?)", k.Endpoint, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return Table{}, err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		json.Unmarshal(raw, &e)
		if e.Error.Message == "" {
			e.Error.Message = strings.TrimSpace(string(raw))
		}
		return Table{}, &CommandError{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message}
	}
	var v1 struct {
		Tables []struct {
			Columns []struct {
				ColumnName string `json:"ColumnName"`
			} `json:"Columns"`
			Rows [][]any `json:"Rows"`
		} `json:"Tables"`
		Exceptions []string `json:"Exceptions"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v1); err != nil {
		return Table{}, fmt.Errorf("odx answered something that is not a Kusto v1 result: %w", err)
	}
	if len(v1.Exceptions) > 0 {
		return Table{}, &CommandError{Status: resp.StatusCode, Message: strings.Join(v1.Exceptions, "; ")}
	}
	if len(v1.Tables) == 0 {
		return Table{}, nil
	}
	t := Table{Rows: v1.Tables[0].Rows}
	for _, c := range v1.Tables[0].Columns {
		t.Columns = append(t.Columns, c.ColumnName)
	}
	return t, nil
}
