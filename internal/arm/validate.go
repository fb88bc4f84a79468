package arm

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// dataFormats is the EventHubDataFormat enum of 2025-02-14.
var dataFormats = []string{"MULTIJSON", "JSON", "CSV", "TSV", "SCSV", "SOHSV", "PSV", "TXT", "RAW",
	"SINGLEJSON", "AVRO", "TSVE", "PARQUET", "ORC", "APACHEAVRO", "W3CLOGFILE", "AZMONSTREAM"}

// canonicalFormat accepts a data format in any case (the Python article sends
// "csv") and returns the enum spelling.
func canonicalFormat(f string) (string, bool) {
	for _, c := range dataFormats {
		if strings.EqualFold(c, f) {
			return c, true
		}
	}
	return "", false
}

// mappingKindsFor lists the ingestion mapping kinds that can read a format.
func mappingKindsFor(format string) []string {
	switch format {
	case "JSON", "MULTIJSON", "SINGLEJSON", "AZMONSTREAM":
		return []string{"Json"}
	case "AVRO", "APACHEAVRO":
		return []string{"Avro", "ApacheAvro"}
	case "PARQUET":
		return []string{"Parquet"}
	case "ORC":
		return []string{"Orc"}
	case "W3CLOGFILE":
		return []string{"W3CLogFile"}
	}
	return []string{"Csv"}
}

func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("bad time %q", s)
}

// dataConnectionNameRule: letters, digits, spaces, dots and hyphens, up to 40.
var dataConnectionNameRule = regexp.MustCompile(`^[a-zA-Z0-9 .-]{1,40}$`)

func dataConnectionNameProblem(name string) string {
	if !dataConnectionNameRule.MatchString(name) || strings.TrimSpace(name) == "" {
		return "Name '" + name + "' is not valid: a data connection name has up to 40 letters, digits, spaces, dots or hyphens."
	}
	return ""
}

// Source resource ids, matched case-insensitively like every ARM id.
var (
	eventHubIDRule       = regexp.MustCompile(`(?i)^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.EventHub/namespaces/[^/]+/eventhubs/[^/]+$`)
	storageAccountIDRule = regexp.MustCompile(`(?i)^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Storage/storageAccounts/[^/]+$`)
	iotHubIDRule         = regexp.MustCompile(`(?i)^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Devices/IotHubs/[^/]+$`)
	eventGridIDRule      = regexp.MustCompile(`(?i)^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/.+/providers/Microsoft\.EventGrid/eventSubscriptions/[^/]+$|^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.EventGrid/(systemTopics|topics)/[^/]+/eventSubscriptions/[^/]+$`)
	identityIDRule       = regexp.MustCompile(`(?i)^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/(Microsoft\.ManagedIdentity/userAssignedIdentities|Microsoft\.Kusto/clusters)/[^/]+$`)
)

// validateDataConnectionResource runs the checks shared by PUT and
// dataConnectionValidation and returns one message per problem.
func (h *Handler) validateDataConnectionResource(ctx context.Context, dc DataConnectionResource) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	p := dc.Properties
	db := dc.DatabaseName()

	checkID := func(prop, id string, rule *regexp.Regexp, want string) {
		if id != "" && !rule.MatchString(id) {
			add("properties.%s '%s' is not a valid resource id; expected %s", prop, id, want)
		}
	}
	const ehShape = "/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.EventHub/namespaces/{namespace}/eventhubs/{hub}"
	const saShape = "/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Storage/storageAccounts/{account}"
	checkID("eventHubResourceId", p.EventHubResourceID, eventHubIDRule, ehShape)
	checkID("eventHubResourceIdForManagedIdentity", p.EventHubResourceIDForManagedIdentity, eventHubIDRule, ehShape)
	checkID("storageAccountResourceId", p.StorageAccountResourceID, storageAccountIDRule, saShape)
	checkID("storageAccountResourceIdForManagedIdentity", p.StorageAccountResourceIDForManagedIdentity, storageAccountIDRule, saShape)
	checkID("iotHubResourceId", p.IotHubResourceID, iotHubIDRule,
		"/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Devices/IotHubs/{hub}")
	checkID("eventGridResourceId", p.EventGridResourceID, eventGridIDRule,
		"an Event Grid event subscription id ending in /providers/Microsoft.EventGrid/eventSubscriptions/{name}")
	checkID("managedIdentityResourceId", p.ManagedIdentityResourceID, identityIDRule,
		"a user-assigned identity (.../providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}) or the cluster's id for its system-assigned identity")

	_, dbExists, err := h.dataPlane.GetDatabase(ctx, db)
	switch {
	case err != nil:
		add("Database '%s' could not be checked: %v", db, err)
	case !dbExists:
		add("Database '%s' does not exist", db)
	default:
		if p.TableName != "" {
			ok, err := h.dataPlane.TableExists(ctx, db, p.TableName)
			switch {
			case err != nil:
				add("Table '%s' could not be checked: %v", p.TableName, err)
			case !ok:
				add("Table '%s' does not exist in database '%s'; create it first with .create table (names are case-sensitive)", p.TableName, db)
			}
		}
		if p.MappingRuleName != "" {
			kind, ok, err := h.dataPlane.MappingKind(ctx, db, p.TableName, p.MappingRuleName)
			switch {
			case err != nil:
				add("Mapping '%s' could not be checked: %v", p.MappingRuleName, err)
			case !ok:
				add("Mapping '%s' does not exist for table '%s' in database '%s'; create it first with .create table %s ingestion <kind> mapping",
					p.MappingRuleName, p.TableName, db, p.TableName)
			case p.DataFormat != "":
				if fits := mappingKindsFor(p.DataFormat); !containsFold(fits, kind) {
					add("Mapping '%s' is a %s mapping, which cannot read data format %s (it needs a %s mapping)",
						p.MappingRuleName, kind, p.DataFormat, strings.Join(fits, " or "))
				}
			}
		}
	}

	others, err := listUnder[DataConnectionResource](ctx, h, KindDataConnection, dc.ID[:strings.LastIndex(dc.ID, "/")])
	if err != nil {
		add("Other data connections of database '%s' could not be checked: %v", db, err)
	}
	for _, o := range others {
		if key(o.ID) == key(dc.ID) || !strings.EqualFold(o.Properties.ConsumerGroup, p.ConsumerGroup) {
			continue
		}
		switch {
		case dc.EventHubID() != "" && strings.EqualFold(o.EventHubID(), dc.EventHubID()):
			add("Event hub '%s' with consumer group '%s' is already used by data connection '%s' of database '%s'; use another consumer group",
				dc.EventHubID(), p.ConsumerGroup, o.ConnectionName(), db)
		case p.IotHubResourceID != "" && strings.EqualFold(o.Properties.IotHubResourceID, p.IotHubResourceID):
			add("IoT hub '%s' with consumer group '%s' is already used by data connection '%s' of database '%s'; use another consumer group",
				p.IotHubResourceID, p.ConsumerGroup, o.ConnectionName(), db)
		}
	}
	return append(problems, h.conns.Validate(ctx, dc)...)
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// validationFailed is the PUT answer for a connection that fails validation,
// with the code the real provider uses for Event Hub connections.
func validationFailed(kind string, problems []string) error {
	code := "EventHubValidationErorFound" // sic: the real RP's spelling
	switch {
	case isEventGridKind(kind):
		code = "EventGridValidationErrorFound"
	case kind == KindIotHub:
		code = "IotHubValidationErrorFound"
	}
	return newError(http.StatusBadRequest, code, "[BadRequest] Validation Errors found: %s", strings.Join(problems, "; "))
}

type validationRequest struct {
	DataConnectionName string             `json:"dataConnectionName"`
	Properties         dataConnectionBody `json:"properties"`
}

type validationResult struct {
	ErrorMessage string `json:"errorMessage"`
}

// validateDataConnection serves POST .../dataConnectionValidation: an async
// operation whose final payload (via Location) is {"value":[{"errorMessage"}]},
// empty when the definition is good. It never refuses a bad definition with 4xx.
func (h *Handler) validateDataConnection(w http.ResponseWriter, r *http.Request, rt route) error {
	var req validationRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	ctx := r.Context()
	unlock := h.lockCluster(rt.clusterID())
	defer unlock()
	cluster, err := h.requireParentCluster(ctx, rt)
	if err != nil {
		return err
	}
	input, _ := json.Marshal(req)
	op := &operationRecord{Subscription: rt.subscription, Location: normalizeLocation(cluster.Location),
		OperationKind: "DataConnectionValidation", Action: actValidation, ResourceID: rt.databaseID(),
		ClusterID: rt.clusterID(), Input: input}
	if err := h.startOperation(w, r, op); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func (h *Handler) finishValidation(ctx context.Context, op *operationRecord) (json.RawMessage, error) {
	var req validationRequest
	if err := json.Unmarshal(op.Input, &req); err != nil {
		return nil, err
	}
	rt := parseRoute(mustURL(op.ResourceID))
	var problems []string
	var cluster clusterResource
	if ok, err := h.load(ctx, KindCluster, rt.clusterID(), &cluster); err != nil {
		return nil, err
	} else if !ok {
		problems = append(problems, fmt.Sprintf("Cluster '%s' does not exist", rt.cluster))
	}
	rt.child = req.DataConnectionName
	if msg := dataConnectionNameProblem(req.DataConnectionName); msg != "" {
		problems = append(problems, msg)
		rt.child = "validation"
	}
	db, dbFound, err := h.findDatabase(ctx, rt, cluster)
	if err != nil {
		return nil, err
	}
	if !dbFound {
		db = databaseResource{Name: rt.cluster + "/" + rt.database}
	}
	dc, err := h.buildDataConnection(rt, cluster, db, req.Properties, nil)
	if err != nil {
		if ae, ok := err.(*apiError); ok {
			problems = append(problems, strings.TrimPrefix(ae.message, "[BadRequest] "))
		} else {
			return nil, err
		}
	} else {
		h.fillDefaults(&dc)
		problems = append(problems, h.validateDataConnectionResource(ctx, dc)...)
	}
	out := make([]validationResult, 0, len(problems))
	for _, p := range problems {
		out = append(out, validationResult{ErrorMessage: p})
	}
	return json.Marshal(map[string]any{"value": out})
}

func mustURL(path string) *url.URL { return &url.URL{Path: path} }
