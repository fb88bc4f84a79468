package arm_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/kusto/armkusto"

	"odx/internal/auth"
)

// TestGoSDKReaderIsForbidden: a principal holding only Reader can read
// clusters and data connections but gets ARM's 403 AuthorizationFailed on
// every write, through the real armkusto client.
func TestGoSDKReaderIsForbidden(t *testing.T) {
	s := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	owner := s.goClients(t)
	cp, err := owner.NewClustersClient().BeginCreateOrUpdate(ctx, rg, cluster, armkusto.Cluster{
		Location: to.Ptr("westeurope"), SKU: &armkusto.AzureSKU{Name: to.Ptr(armkusto.AzureSKUNameDevNoSLAStandardE2AV4), Tier: to.Ptr(armkusto.AzureSKUTierBasic)},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cp.PollUntilDone(ctx, poll); err != nil {
		t.Fatal(err)
	}

	readerID, readerSecret, err := auth.AddPrincipal(s.dir, "reader", []string{auth.RoleReader})
	if err != nil {
		t.Fatal(err)
	}
	reader := s.goClientsAs(t, readerID, readerSecret).NewClustersClient()
	if got, err := reader.Get(ctx, rg, cluster, nil); err != nil || *got.Name != cluster {
		t.Fatalf("Reader GET: %v", err)
	}
	_, err = reader.BeginUpdate(ctx, rg, cluster, armkusto.ClusterUpdate{Properties: &armkusto.ClusterProperties{EnableStreamingIngest: to.Ptr(true)}}, nil)
	re := responseError(t, err, http.StatusForbidden)
	if re.ErrorCode != "AuthorizationFailed" || !strings.Contains(err.Error(), "Microsoft.Kusto/clusters/write") || !strings.Contains(err.Error(), readerID) {
		t.Errorf("Reader PATCH: %s %v", re.ErrorCode, err)
	}
	_, err = reader.BeginDelete(ctx, rg, cluster, nil)
	responseError(t, err, http.StatusForbidden)
	if _, err := owner.NewClustersClient().Get(ctx, rg, cluster, nil); err != nil {
		t.Errorf("the cluster must survive the Reader's attempts: %v", err)
	}
}
