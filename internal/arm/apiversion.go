package arm

import (
	"net/http"
	"strings"
)

// apiVersions are the stable Microsoft.Kusto api-versions (adx-data-connections.md §1)
// plus the previews; odx serves the 2025-02-14 superset for every one of them.
var apiVersions = []string{
	"2017-09-07-privatepreview", "2018-09-07-preview", "2019-01-21", "2019-05-15",
	"2019-09-07", "2019-11-09", "2020-01-01-preview", "2020-02-15", "2020-06-14",
	"2020-09-18", "2021-01-01", "2021-08-27", "2022-02-01", "2022-07-07", "2022-11-11",
	"2022-12-29", "2023-05-02", "2023-08-15", "2024-04-13", "2025-02-14",
}

// newestAPIVersion is what odx writes into URLs it makes up itself.
const newestAPIVersion = "2025-02-14"

func supportedAPIVersion(v string) bool {
	for _, s := range apiVersions {
		if strings.EqualFold(s, v) {
			return true
		}
	}
	return false
}

// checkAPIVersion answers the request with ARM's error when api-version is
// missing or unknown; resourceType names the type in the message, as ARM does.
func checkAPIVersion(r *http.Request, resourceType string) *apiError {
	v := r.URL.Query().Get("api-version")
	if v == "" {
		return newError(http.StatusBadRequest, "MissingApiVersionParameter",
			"The api-version query parameter (?api-version=) is required for all requests.")
	}
	if supportedAPIVersion(v) {
		return nil
	}
	newestFirst := make([]string, 0, len(apiVersions))
	for i := len(apiVersions) - 1; i >= 0; i-- {
		newestFirst = append(newestFirst, apiVersions[i])
	}
	return newError(http.StatusBadRequest, "NoRegisteredProviderFound",
		"No registered resource provider found for location 'global' and API version '%s' for type '%s'. The supported api-versions are '%s'.",
		v, resourceType, strings.Join(newestFirst, ", "))
}
