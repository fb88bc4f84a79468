package arm

import (
	"context"
	"crypto/sha1"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Operation statuses (ARM's Status enum).
const (
	statusRunning   = "Running"
	statusSucceeded = "Succeeded"
	statusFailed    = "Failed"
)

// Provisioning states the provider writes.
const (
	stateCreating  = "Creating"
	stateUpdating  = "Updating"
	stateDeleting  = "Deleting"
	stateSucceeded = "Succeeded"
	stateFailed    = "Failed"
)

// action is the work an operation does; the record keeps it so a restart can
// finish it.
type action string

const (
	actClusterPut           action = "cluster.put"
	actClusterDelete        action = "cluster.delete"
	actClusterStop          action = "cluster.stop"
	actClusterStart         action = "cluster.start"
	actDatabasePut          action = "database.put"
	actDatabaseDelete       action = "database.delete"
	actDataConnectionPut    action = "dataconnection.put"
	actDataConnectionDelete action = "dataconnection.delete"
	actValidation           action = "dataconnection.validate"
	actPrincipalPut         action = "principalassignment.put"
	actPrincipalDelete      action = "principalassignment.delete"
)

// operationRecord is the stored state of one async operation.
type operationRecord struct {
	OperationID   string          `json:"operationId"`
	Subscription  string          `json:"subscription"`
	Location      string          `json:"location"`
	OperationKind string          `json:"operationKind"`
	Action        action          `json:"action"`
	ResourceID    string          `json:"resourceId"` // the resource the operation acts on
	ClusterID     string          `json:"clusterId"`  // lock scope
	Input         json.RawMessage `json:"input,omitempty"`
	Status        string          `json:"status"`
	StartTime     time.Time       `json:"startTime"`
	EndTime       time.Time       `json:"endTime,omitzero"`
	Error         *errorDetail    `json:"error,omitempty"`
	ErrorStatus   int             `json:"errorStatus,omitempty"`
	Result        json.RawMessage `json:"result,omitempty"` // final payload of a validation
}

// operationRetention is how long finished operations stay readable; they
// are swept at start.
const operationRetention = 48 * time.Hour

func operationKey(subscription, opID string) string {
	return key("/subscriptions/" + subscription + "/operationResults/" + opID)
}

// operationStatus is the status document behind Azure-AsyncOperation.
type operationStatus struct {
	ID              string               `json:"id"`
	Name            string               `json:"name"`
	Status          string               `json:"status"`
	StartTime       string               `json:"startTime"`
	EndTime         string               `json:"endTime,omitempty"`
	PercentComplete float64              `json:"percentComplete"`
	Properties      operationStatusProps `json:"properties"`
	Error           *errorDetail         `json:"error,omitempty"`
}

type operationStatusProps struct {
	OperationKind  string `json:"operationKind"`
	OperationState string `json:"operationState"`
}

func (op *operationRecord) statusURLPath() string {
	return "/subscriptions/" + op.Subscription + "/providers/Microsoft.Kusto/locations/" +
		op.Location + "/operationResults/" + op.OperationID
}

// startOperation stores a Running operation, launches its worker and sets the
// polling headers on w. Call it with the cluster lock held, after the
// resource document is written.
func (h *Handler) startOperation(w http.ResponseWriter, r *http.Request, op *operationRecord) error {
	op.OperationID = uuid.NewString()
	op.Status = statusRunning
	op.StartTime = h.now().UTC()
	if op.Location == "" {
		op.Location = "global"
	}
	if err := h.docs.PutDoc(r.Context(), KindOperation, operationKey(op.Subscription, op.OperationID), mustJSON(op)); err != nil {
		return err
	}
	h.launch(op)

	version := r.URL.Query().Get("api-version")
	if version == "" {
		version = newestAPIVersion
	}
	status := h.requestBase(r) + op.statusURLPath() + "?api-version=" + url.QueryEscape(version)
	w.Header().Set("Azure-AsyncOperation", status)
	w.Header().Set("Location", status+"&operationResultResponseType=Location")
	w.Header().Set("Retry-After", h.retryAfterSeconds())
	return nil
}

func (h *Handler) launch(op *operationRecord) {
	h.workers.Add(1)
	go func() {
		defer h.workers.Done()
		h.runOperation(op)
	}()
}

// resumeOperations restarts the workers of operations a previous run left Running.
func (h *Handler) resumeOperations() {
	docs, err := h.docs.ListDocs(h.ctx, KindOperation, "")
	if err != nil {
		h.log.Error("cannot list async operations to resume them", "err", err)
		return
	}
	for _, d := range docs {
		var op operationRecord
		if err := json.Unmarshal(d.Body, &op); err != nil {
			h.log.Warn("skipping unreadable async operation", "id", d.ID, "err", err)
			continue
		}
		if op.Status != statusRunning && h.now().Sub(op.EndTime) > operationRetention {
			// ARM keeps operation results for a while; two days is plenty for any poller.
			if _, err := h.docs.DeleteDoc(h.ctx, KindOperation, d.ID); err != nil {
				h.log.Warn("cannot delete an old async operation", "id", d.ID, "err", err)
			}
			continue
		}
		if op.Status == statusRunning {
			h.log.Info("resuming async operation", "operation", op.OperationID, "action", op.Action, "resource", op.ResourceID)
			h.launch(&op)
		}
	}
}

func (h *Handler) runOperation(op *operationRecord) {
	ctx := h.ctx
	unlock := h.lockCluster(op.ClusterID)
	result, err := h.execute(ctx, op)
	unlock()
	if ctx.Err() != nil {
		return // shutting down: the record stays Running and resumes next start
	}
	op.EndTime = h.now().UTC()
	if err != nil {
		op.Status = statusFailed
		var ae *apiError
		if errors.As(err, &ae) {
			op.Error = &errorDetail{Code: ae.code, Message: ae.message}
			op.ErrorStatus = ae.status
		} else {
			op.Error = &errorDetail{Code: "InternalServerError", Message: "[InternalServerError] " + err.Error()}
			op.ErrorStatus = http.StatusInternalServerError
		}
		h.log.Warn("async operation failed", "operation", op.OperationID, "action", op.Action, "resource", op.ResourceID, "err", err)
	} else {
		op.Status = statusSucceeded
		op.Result = result
	}
	if err := h.docs.PutDoc(ctx, KindOperation, operationKey(op.Subscription, op.OperationID), mustJSON(op)); err != nil {
		h.log.Error("cannot record the outcome of an async operation", "operation", op.OperationID, "err", err)
	}
}

// execute does the work of one operation. It runs with the cluster lock held
// and must be idempotent: a restart may run it again.
func (h *Handler) execute(ctx context.Context, op *operationRecord) (json.RawMessage, error) {
	switch op.Action {
	case actClusterPut:
		return nil, h.finishClusterPut(ctx, op)
	case actClusterDelete:
		return nil, h.finishClusterDelete(ctx, op)
	case actClusterStop:
		return nil, h.finishClusterPower(ctx, op, "Stopped")
	case actClusterStart:
		return nil, h.finishClusterPower(ctx, op, "Running")
	case actDatabasePut:
		return nil, h.finishDatabasePut(ctx, op)
	case actDatabaseDelete:
		return nil, h.finishDatabaseDelete(ctx, op)
	case actDataConnectionPut:
		return nil, h.finishDataConnectionPut(ctx, op)
	case actDataConnectionDelete:
		return nil, h.finishDataConnectionDelete(ctx, op)
	case actValidation:
		return h.finishValidation(ctx, op)
	case actPrincipalPut:
		return nil, h.finishPrincipalPut(ctx, op)
	case actPrincipalDelete:
		return nil, h.finishPrincipalDelete(ctx, op)
	}
	return nil, fmt.Errorf("unknown operation action %q", op.Action)
}

// getOperationResult serves both views of an operation: the status document
// (Azure-AsyncOperation) and, with operationResultResponseType=Location, the
// final payload (202 while running).
func (h *Handler) getOperationResult(w http.ResponseWriter, r *http.Request, rt route) error {
	body, ok, err := h.docs.GetDoc(r.Context(), KindOperation, operationKey(rt.subscription, rt.operationID))
	if err != nil {
		return err
	}
	if !ok {
		return newError(http.StatusNotFound, "NotFound",
			"[NotFound] The operation '%s' was not found in subscription '%s'.", rt.operationID, rt.subscription)
	}
	var op operationRecord
	if err := json.Unmarshal(body, &op); err != nil {
		return err
	}
	if !equalFoldQuery(r, "operationResultResponseType", "Location") {
		if op.Status == statusRunning {
			// Pollers take the wait before the next poll from the last response;
			// without it Python and Go wait 30 s.
			w.Header().Set("Retry-After", h.retryAfterSeconds())
		}
		writeJSON(w, http.StatusOK, op.statusDocument())
		return nil
	}
	switch op.Status {
	case statusRunning:
		self := h.requestBase(r) + op.statusURLPath() + "?api-version=" + url.QueryEscape(r.URL.Query().Get("api-version"))
		w.Header().Set("Azure-AsyncOperation", self)
		w.Header().Set("Location", self+"&operationResultResponseType=Location")
		w.Header().Set("Retry-After", h.retryAfterSeconds())
		w.WriteHeader(http.StatusAccepted)
		return nil
	case statusFailed:
		status := op.ErrorStatus
		if status == 0 {
			status = http.StatusInternalServerError
		}
		writeJSON(w, status, errorBody{Error: *op.Error})
		return nil
	}
	switch op.Action {
	case actValidation:
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(op.Result)
		return nil
	case actClusterDelete, actDatabaseDelete, actDataConnectionDelete, actPrincipalDelete, actClusterStop, actClusterStart:
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	return h.writeResource(w, r, op.ResourceID)
}

func (op *operationRecord) statusDocument() operationStatus {
	st := operationStatus{
		ID: op.statusURLPath(), Name: op.OperationID, Status: op.Status,
		StartTime:  timestamp(op.StartTime),
		Properties: operationStatusProps{OperationKind: op.OperationKind, OperationState: op.Status},
		Error:      op.Error,
	}
	if op.Status != statusRunning {
		st.EndTime = timestamp(op.EndTime)
		st.PercentComplete = 100
	}
	return st
}

// writeResource answers with the current state of the resource an operation
// created or updated.
func (h *Handler) writeResource(w http.ResponseWriter, r *http.Request, id string) error {
	ctx := r.Context()
	var v any
	var ok bool
	var err error
	switch resourceKindOf(id) {
	case KindCluster:
		var c clusterResource
		ok, err = h.load(ctx, KindCluster, id, &c)
		v = c
	case KindDatabase:
		var d databaseResource
		ok, err = h.load(ctx, KindDatabase, id, &d)
		v = d
	case KindDataConnection:
		var dc DataConnectionResource
		ok, err = h.load(ctx, KindDataConnection, id, &dc)
		v = dc
	case KindPrincipalAssignment:
		var p principalAssignmentResource
		ok, err = h.load(ctx, KindPrincipalAssignment, id, &p)
		v = p
	}
	if err != nil {
		return err
	}
	if !ok {
		return notFound("The resource '%s' no longer exists.", id)
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func equalFoldQuery(r *http.Request, name, want string) bool {
	for k, vs := range r.URL.Query() {
		if strings.EqualFold(k, name) {
			for _, v := range vs {
				if strings.EqualFold(v, want) {
					return true
				}
			}
		}
	}
	return false
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("arm: marshalling an internal record: " + err.Error()) // only plain structs reach here
	}
	return b
}

// nameUUID returns a stable (version 5 style) UUID derived from s; the
// provider uses it for identities it makes up (managedIdentityObjectId).
func nameUUID(s string) string {
	sum := sha1.Sum([]byte("odx:" + s))
	var b [16]byte
	copy(b[:], sum[:16])
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	return uuid.UUID(b).String()
}

// resourceKindOf tells which document kind an ARM id belongs to.
func resourceKindOf(id string) string {
	k := key(id)
	switch {
	case strings.Contains(k, "/dataconnections/"):
		return KindDataConnection
	case strings.Contains(k, "/principalassignments/"):
		return KindPrincipalAssignment
	case strings.Contains(k, "/databases/"):
		return KindDatabase
	}
	return KindCluster
}

func (h *Handler) retryAfterSeconds() string {
	return strconv.Itoa(int((h.retry + time.Second - 1) / time.Second))
}
