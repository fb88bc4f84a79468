package arm

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// DataConnections returns every stored data connection of every cluster.
func (h *Handler) DataConnections(ctx context.Context) ([]DataConnectionResource, error) {
	return listUnder[DataConnectionResource](ctx, h, KindDataConnection, "/subscriptions")
}

// StartConnections hands every provisioned data connection to the
// connection manager (Connections.Apply). The wiring calls it once at start,
// after the manager is ready, so connections run again after a restart.
// Connections whose operation is still in flight are left to that operation.
func (h *Handler) StartConnections(ctx context.Context) error {
	conns, err := h.DataConnections(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, dc := range conns {
		if dc.Properties.ProvisioningState != stateSucceeded {
			continue
		}
		if err := h.conns.Apply(ctx, dc); err != nil {
			h.log.Error("cannot start data connection", "id", dc.ID, "err", err)
			errs = append(errs, fmt.Errorf("data connection %s: %w", dc.ID, err))
		}
	}
	return errors.Join(errs...)
}

// StreamingIngestEnabled reports whether the cluster of dc has
// properties.enableStreamingIngest, the cluster half of the condition for
// streaming ingestion through a data connection.
func (h *Handler) StreamingIngestEnabled(ctx context.Context, dc DataConnectionResource) (bool, error) {
	i := strings.Index(strings.ToLower(dc.ID), "/databases/")
	if i < 0 {
		return false, fmt.Errorf("%q is not a data connection id", dc.ID)
	}
	var c clusterResource
	ok, err := h.load(ctx, KindCluster, dc.ID[:i], &c)
	if err != nil || !ok {
		return false, err
	}
	enabled, _ := c.Properties["enableStreamingIngest"].(bool)
	return enabled, nil
}
