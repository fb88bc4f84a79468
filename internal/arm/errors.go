package arm

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// errorBody is ARM's error envelope (common-types ErrorResponse).
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string        `json:"code"`
	Message string        `json:"message"`
	Target  string        `json:"target,omitempty"`
	Details []errorDetail `json:"details,omitempty"`
}

// ARMError writes ARM's error envelope
// {"error":{"code":..,"message":..}} with the given HTTP status. The auth
// middleware uses it for its 401 and 403 answers so every ARM error looks alike.
func ARMError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, errorBody{Error: errorDetail{Code: code, Message: message}})
}

// apiError is an error that knows its ARM answer.
type apiError struct {
	status  int
	code    string
	message string
	target  string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func newError(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

// badRequest uses the Kusto RP's habit of prefixing messages with the category.
func badRequest(target, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "BadRequest", target: target,
		message: "[BadRequest] " + fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) *apiError {
	return &apiError{status: http.StatusNotFound, code: "NotFound",
		message: "[NotFound] " + fmt.Sprintf(format, args...)}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"error":{"code":"InternalServerError","message":"odx could not encode the response"}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
