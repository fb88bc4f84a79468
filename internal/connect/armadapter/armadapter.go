// Package armadapter lets the ARM resource provider (internal/arm) drive
// the data connection manager: it converts arm.DataConnectionResource into
// connect.Spec and connect.Status into arm.ConnectionStatus. It lives apart
// from connect so that connect never depends on arm (arm may one day
// import connect's types).
package armadapter

import (
	"context"
	"fmt"
	"strings"
	"time"

	"odx/internal/arm"
	"odx/internal/connect"
)

// Connections implements arm.Connections over a connect.Manager.
type Connections struct {
	M *connect.Manager
}

var _ arm.Connections = Connections{}

// New adapts m.
func New(m *connect.Manager) Connections { return Connections{M: m} }

// Apply starts or restarts the connection.
func (c Connections) Apply(ctx context.Context, dc arm.DataConnectionResource) error {
	s, err := Spec(dc)
	if err != nil {
		return err
	}
	return c.M.Apply(ctx, s)
}

// Remove stops and forgets the connection.
func (c Connections) Remove(ctx context.Context, id string) error { return c.M.Remove(ctx, id) }

// Validate checks what only the connectors know (the source resolves, the
// format and system properties are ones they serve).
func (c Connections) Validate(ctx context.Context, dc arm.DataConnectionResource) []string {
	s, err := Spec(dc)
	if err != nil {
		return []string{err.Error()}
	}
	return c.M.Validate(ctx, s)
}

// Status reports the connection in ARM's terms: Running, Stopped, Failed
// (retrying; Message says why and when the next attempt is) or Unknown.
func (c Connections) Status(id string) arm.ConnectionStatus {
	st, ok := c.M.Status(id)
	if !ok {
		return arm.ConnectionStatus{State: "Unknown", Message: "the data connection manager does not run this connection"}
	}
	switch st.State {
	case connect.Running:
		return arm.ConnectionStatus{State: "Running"}
	case connect.Retrying:
		msg := st.LastError
		if !st.NextAttempt.IsZero() {
			msg += fmt.Sprintf(" (retrying at %s)", st.NextAttempt.UTC().Format(time.RFC3339))
		}
		return arm.ConnectionStatus{State: "Failed", Message: msg}
	default:
		return arm.ConnectionStatus{State: "Stopped", Message: st.LastError}
	}
}

// Spec converts an ARM data connection into the manager's definition.
func Spec(dc arm.DataConnectionResource) (connect.Spec, error) {
	p := dc.Properties
	s := connect.Spec{
		ID:            dc.ID,
		Database:      dc.DatabaseName(),
		Name:          dc.ConnectionName(),
		Kind:          dc.Kind,
		ConsumerGroup: p.ConsumerGroup,
		Table:         p.TableName,
		Format:        p.DataFormat,
		Mapping:       p.MappingRuleName,
		Compression:   p.Compression,
		MultiDatabase: strings.EqualFold(p.DatabaseRouting, "Multi"),
	}
	switch {
	case dc.EventHubID() != "":
		s.Source = dc.EventHubID()
	case p.IotHubResourceID != "":
		s.Source = p.IotHubResourceID
	default:
		s.Source = dc.StorageAccountID()
	}
	if p.EventSystemProperties != nil {
		s.SystemProperties = append([]string(nil), (*p.EventSystemProperties)...)
	}
	if p.RetrievalStartDate != "" {
		t, err := time.Parse(time.RFC3339Nano, p.RetrievalStartDate)
		if err != nil {
			return s, fmt.Errorf("retrievalStartDate %q is not an RFC 3339 time", p.RetrievalStartDate)
		}
		s.RetrievalStart = t
	}
	extra := map[string]string{}
	add := func(k, v string) {
		if v != "" {
			extra[k] = v
		}
	}
	add("eventGridResourceId", p.EventGridResourceID)
	add("eventHubResourceId", dc.EventHubID())
	add("sharedAccessPolicyName", p.SharedAccessPolicyName)
	add("blobStorageEventType", p.BlobStorageEventType)
	add("managedIdentityResourceId", p.ManagedIdentityResourceID)
	add("iotHubResourceId", p.IotHubResourceID)
	add("storageAccountResourceId", dc.StorageAccountID())
	if p.IgnoreFirstRecord != nil {
		extra["ignoreFirstRecord"] = fmt.Sprint(*p.IgnoreFirstRecord)
	}
	if len(extra) > 0 {
		s.Extra = extra
	}
	return s, nil
}
