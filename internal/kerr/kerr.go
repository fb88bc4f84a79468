// Package kerr is odx's error model: every error that reaches a client carries
// a Kusto-style code, a category that decides the HTTP status, a message that
// says what to do, and, for query text, the line and column it points at.
package kerr

import (
	"errors"
	"fmt"
	"net/http"
)

// Category groups codes by how a client should react; it alone decides the
// HTTP status (see Status).
type Category uint8

const (
	Internal     Category = iota // a bug or an unexpected failure inside odx: 500
	BadRequest                   // the request itself is wrong (syntax, semantics, arguments): 400
	NotFound                     // a named entity does not exist: 404
	Conflict                     // the entity exists already or is in use: 409
	Unauthorized                 // no or bad credentials: 401
	Forbidden                    // valid credentials, missing role: 403
	TooLarge                     // payload over a limit: 413
	Timeout                      // servertimeout or a cancelled request: 504 (Kusto uses 504 for timeouts)
	Unavailable                  // a dependency is down; retry later: 503
)

// Status maps a category to its HTTP status code.
func (c Category) Status() int {
	switch c {
	case BadRequest:
		return http.StatusBadRequest
	case NotFound:
		return http.StatusNotFound
	case Conflict:
		return http.StatusConflict
	case Unauthorized:
		return http.StatusUnauthorized
	case Forbidden:
		return http.StatusForbidden
	case TooLarge:
		return http.StatusRequestEntityTooLarge
	case Timeout:
		return http.StatusGatewayTimeout
	case Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// Well-known Kusto codes (the `error.code` of a Kusto error response).
const (
	CodeSyntax          = "BadRequest_SyntaxError"
	CodeSemantic        = "BadRequest_SemanticError" // with a SEMxxxx detail in Semantic
	CodeBadRequest      = "BadRequest"
	CodeEntityNotFound  = "BadRequest_EntityNotFound"
	CodeEntityExists    = "BadRequest_EntityAlreadyExists"
	CodeDatabaseMissing = "BadRequest_DatabaseNotExist"
	CodeTableMissing    = "BadRequest_TableNotExist"
	CodeUnauthorized    = "Unauthorized"
	CodeForbidden       = "Forbidden"
	CodeTimeout         = "RequestExecutionTimeout"
	CodeTooLarge        = "BadRequest_RequestTooLarge"
	CodeInternal        = "Internal service error"
	CodeLimitsExceeded  = "LimitsExceeded"
)

// Error is an error a client can act on.
type Error struct {
	Category Category
	Code     string // Kusto code, e.g. BadRequest_SyntaxError
	Semantic string // Kusto semantic error id (SEM0100, ...) when Code is semantic
	Message  string
	// Line and Column (1-based) locate the error in the query text; 0 when not applicable.
	Line, Column int
	Err          error // the underlying cause, if any
}

func (e *Error) Error() string {
	msg := e.Message
	if e.Line > 0 {
		msg = fmt.Sprintf("%s (line %d, column %d)", msg, e.Line, e.Column)
	}
	if e.Semantic != "" {
		msg = e.Semantic + ": " + msg
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an error of the given category and code.
func New(cat Category, code, format string, args ...any) *Error {
	return &Error{Category: cat, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Syntax is a syntax error at a position in the query text.
func Syntax(line, col int, format string, args ...any) *Error {
	return &Error{Category: BadRequest, Code: CodeSyntax, Line: line, Column: col, Message: fmt.Sprintf(format, args...)}
}

// Semantic is a semantic error (unknown name, type mismatch) with Kusto's SEM id.
func Semantic(sem string, line, col int, format string, args ...any) *Error {
	return &Error{Category: BadRequest, Code: CodeSemantic, Semantic: sem, Line: line, Column: col, Message: fmt.Sprintf(format, args...)}
}

// BadRequestf is a generic invalid-request error.
func BadRequestf(format string, args ...any) *Error {
	return New(BadRequest, CodeBadRequest, format, args...)
}

// NotFoundf reports a missing entity.
func NotFoundf(format string, args ...any) *Error {
	return New(BadRequest, CodeEntityNotFound, format, args...)
}

// Wrap attaches a category and code to an underlying error.
func Wrap(err error, cat Category, code, format string, args ...any) *Error {
	return &Error{Category: cat, Code: code, Message: fmt.Sprintf(format, args...) + ": " + err.Error(), Err: err}
}

// As returns err as an *Error, wrapping unknown errors as internal ones.
func As(err error) *Error {
	if err == nil {
		return nil
	}
	var ke *Error
	if errors.As(err, &ke) {
		return ke
	}
	return &Error{Category: Internal, Code: CodeInternal, Message: err.Error(), Err: err}
}
