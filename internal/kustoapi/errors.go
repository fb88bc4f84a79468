package kustoapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/google/uuid"

	"odx/internal/kerr"
	"odx/internal/kql/types"
)

// oneAPIError is Kusto's error object, both the body of a failed HTTP
// response and an element of the v2 `OneApiErrors` arrays:
// {"error":{"code":...,"message":...,"@type":...,"@message":...,"@context":{...},"@permanent":...}}.
type oneAPIError struct {
	Error errorBody `json:"error"`
}

// errorBody lists the fields in the order the real service writes them.
type errorBody struct {
	Code      string       `json:"code"`
	Message   string       `json:"message"`
	Type      string       `json:"@type"`
	Detail    string       `json:"@message"`
	Context   errorContext `json:"@context"`
	Permanent bool         `json:"@permanent"`
	Text      string       `json:"@text,omitempty"`
	Database  string       `json:"@database,omitempty"`
	ErrorCode string       `json:"@errorCode,omitempty"` // SYN0002 / SEMxxxx
	Line      string       `json:"@line,omitempty"`      // 1-based, as a string like the real service
	Pos       string       `json:"@pos,omitempty"`       // 1-based column
}

type errorContext struct {
	Timestamp        string `json:"timestamp"`
	ServiceAlias     string `json:"serviceAlias"`
	MachineName      string `json:"machineName"`
	ProcessName      string `json:"processName"`
	ProcessID        int    `json:"processId"`
	ThreadID         int    `json:"threadId"`
	ClientRequestID  string `json:"clientRequestId"`
	ActivityID       string `json:"activityId"`
	SubActivityID    string `json:"subActivityId"`
	ActivityType     string `json:"activityType"`
	ParentActivityID string `json:"parentActivityId"`
	ActivityStack    string `json:"activityStack"`
}

// activity identifies one request in logs and error contexts.
type activity struct {
	ID, SubID, ParentID string
	ClientRequestID     string
	Type                string // e.g. "DN.RestApi.Query"
}

func newActivity(clientRequestID, kind string) activity {
	return activity{ID: uuid.NewString(), SubID: uuid.NewString(), ParentID: uuid.NewString(), ClientRequestID: clientRequestID, Type: kind}
}

var (
	hostName, _ = os.Hostname()
	processID   = os.Getpid()
)

// syntaxErrorCode is Kusto's generic parser error id ("a recognition error occurred").
const syntaxErrorCode = "SYN0002"

// classify turns any error from the executor (or from this package) into
// a Kusto error; context deadlines become Kusto timeouts.
func classify(err error) *kerr.Error {
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return timeoutError()
	}
	if errors.Is(err, context.Canceled) {
		return kerr.New(kerr.Timeout, kerr.CodeTimeout, "the request was cancelled before it completed")
	}
	return kerr.As(err)
}

func timeoutError() *kerr.Error {
	return kerr.New(kerr.Timeout, kerr.CodeTimeout,
		"Request execution timeout: the query ran longer than its servertimeout; raise the servertimeout client request property (at most 1 hour) or make the query cheaper")
}

// exceptionType is the .NET exception class the real service names in `@type`.
func exceptionType(e *kerr.Error) string {
	switch e.Code {
	case kerr.CodeSyntax:
		return "Kusto.Data.Exceptions.SyntaxException"
	case kerr.CodeSemantic:
		return "Kusto.Data.Exceptions.SemanticException"
	case kerr.CodeDatabaseMissing:
		return "Kusto.Data.Exceptions.DatabaseNotFoundException"
	case kerr.CodeTableMissing:
		return "Kusto.Data.Exceptions.TableNotFoundException"
	case kerr.CodeEntityNotFound:
		return "Kusto.Data.Exceptions.EntityNotFoundException"
	case kerr.CodeEntityExists:
		return "Kusto.Data.Exceptions.EntityAlreadyExistsException"
	case kerr.CodeLimitsExceeded:
		return "Kusto.Data.Exceptions.KustoServicePartialQueryFailureLimitsExceededException"
	case kerr.CodeTimeout:
		return "Kusto.Data.Exceptions.KustoServiceTimeoutException"
	}
	switch e.Category {
	case kerr.BadRequest, kerr.NotFound:
		return "Kusto.Data.Exceptions.KustoBadRequestException"
	case kerr.Conflict:
		return "Kusto.Data.Exceptions.KustoConflictException"
	case kerr.Forbidden, kerr.Unauthorized:
		return "Kusto.Data.Exceptions.KustoRequestDeniedException"
	case kerr.TooLarge:
		return "Kusto.Data.Exceptions.KustoRequestPayloadTooLargeException"
	case kerr.Timeout:
		return "Kusto.Data.Exceptions.KustoServiceTimeoutException"
	}
	return "Kusto.Data.Exceptions.KustoServiceException"
}

// permanent says whether retrying the same request is pointless.
func permanent(e *kerr.Error) bool {
	if e.Code == kerr.CodeLimitsExceeded {
		return false // the real service marks partial failures as transient
	}
	switch e.Category {
	case kerr.Internal, kerr.Timeout, kerr.Unavailable:
		return false
	}
	return true
}

// buildError renders e in Kusto's error shape for the request req.
func buildError(e *kerr.Error, req *Request, act activity) oneAPIError {
	body := errorBody{
		Code:      e.Code,
		Message:   e.Error(),
		Type:      exceptionType(e),
		Permanent: permanent(e),
		Context: errorContext{
			Timestamp:        types.FormatDateTime(time.Now()),
			ServiceAlias:     "ODX",
			MachineName:      hostName,
			ProcessName:      "odx",
			ProcessID:        processID,
			ClientRequestID:  act.ClientRequestID,
			ActivityID:       act.ID,
			SubActivityID:    act.SubID,
			ActivityType:     act.Type,
			ParentActivityID: act.ParentID,
			ActivityStack:    "(Activity stack: CRID=" + act.ClientRequestID + " ARID=" + act.ID + ")",
		},
	}
	if body.Code == "" {
		body.Code = kerr.CodeInternal
	}
	body.Detail = body.Message
	if req != nil {
		body.Text = req.Text
		body.Database = req.Database
	}
	switch e.Code {
	case kerr.CodeSyntax:
		body.ErrorCode = syntaxErrorCode
		body.Detail = "Syntax error: " + e.Message
	case kerr.CodeSemantic:
		body.ErrorCode = e.Semantic
		body.Detail = "Semantic error: " + e.Error()
	}
	if e.Line > 0 {
		body.Line = strconv.Itoa(e.Line)
		body.Pos = strconv.Itoa(e.Column)
		// The real service ends the detail with the position and the query.
		body.Detail += " [line:position=" + body.Line + ":" + body.Pos + "]"
		if req != nil {
			body.Detail += ". Query: '" + req.Text + "'"
		}
	}
	return oneAPIError{Error: body}
}

// writeError answers a request that failed before any result byte was sent.
func writeError(w http.ResponseWriter, e *kerr.Error, req *Request, act activity) {
	b, err := json.Marshal(buildError(e, req, act))
	if err != nil {
		// Only plain strings go in there; this cannot fail.
		b = []byte(`{"error":{"code":"Internal service error","message":"error encoding failed"}}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Del("Content-Encoding")
	w.WriteHeader(e.Category.Status())
	_, _ = w.Write(b)
}
