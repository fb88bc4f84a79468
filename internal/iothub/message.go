package iothub

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"odx/internal/kql/types"
)

// System property names on the built-in endpoint (Kafka record headers),
// as IoT Hub names them on its Event Hub-compatible endpoint.
const (
	PropMessageID        = "message-id"
	PropCorrelationID    = "correlation-id"
	PropUserID           = "user-id"
	PropContentType      = "content-type"
	PropContentEncoding  = "content-encoding"
	PropDeviceID         = "iothub-connection-device-id"
	PropModuleID         = "iothub-connection-module-id"
	PropAuthMethod       = "iothub-connection-auth-method"
	PropAuthGenerationID = "iothub-connection-auth-generation-id"
	PropEnqueuedTime     = "iothub-enqueuedtime"
	PropCreationTimeUTC  = "iothub-creation-time-utc"
	PropMessageSource    = "iothub-message-source"
	PropDataSchema       = "dt-dataschema"
	PropSubject          = "dt-subject"
)

// SystemProperties are the system properties a built-in endpoint message
// may carry, in the order odx writes them.
var SystemProperties = []string{PropMessageID, PropCorrelationID, PropUserID, PropContentType, PropContentEncoding,
	PropDeviceID, PropModuleID, PropAuthMethod, PropAuthGenerationID, PropEnqueuedTime, PropCreationTimeUTC,
	PropMessageSource, PropDataSchema, PropSubject}

// bagSystemKeys maps the property bag's system keys to system properties.
// $.to and $.exp (absolute expiry) have no use on device-to-cloud messages
// and are dropped, as are unknown $. keys.
var bagSystemKeys = map[string]string{
	"$.mid":   PropMessageID,
	"$.cid":   PropCorrelationID,
	"$.uid":   PropUserID,
	"$.ct":    PropContentType,
	"$.ce":    PropContentEncoding,
	"$.sub":   PropSubject,
	"$.ctime": PropCreationTimeUTC,
}

// BuiltInEventHub is the embedded event hub (Kafka topic) that carries an
// embedded IoT hub's messages: "__iothub." + the hub name in lower case.
// Event hub names must start with a letter or digit, so no user event hub
// (nor, in kfake, one that differs only in '.' versus '_') can collide with it.
func BuiltInEventHub(hub string) string { return "__iothub." + strings.ToLower(hub) }

// Property is one named string value.
type Property struct{ Name, Value string }

// ParseTelemetryTopic splits devices/{device}/messages/events/{bag} and
// devices/{device}/modules/{module}/messages/events/{bag}.
func ParseTelemetryTopic(topic string) (device, module, bag string, ok bool) {
	rest, ok := strings.CutPrefix(topic, "devices/")
	if !ok {
		return "", "", "", false
	}
	device, rest, ok = strings.Cut(rest, "/")
	if !ok || device == "" {
		return "", "", "", false
	}
	if r, isModule := strings.CutPrefix(rest, "modules/"); isModule {
		module, rest, ok = strings.Cut(r, "/")
		if !ok || module == "" {
			return "", "", "", false
		}
	}
	if rest == "messages/events" {
		return device, module, "", true
	}
	bag, ok = strings.CutPrefix(rest, "messages/events/")
	return device, module, bag, ok
}

// ParsePropertyBag reads a URL-encoded property bag (k1=v1&k2=v2): the
// application properties in order, and the system properties its $. keys
// set (nil when it sets none: most device messages carry none, and this
// runs for every one). An iothub-creation-time-utc application property is
// the creation time system property, as IoT Hub treats it.
func ParsePropertyBag(bag string) (app []Property, sys map[string]string, err error) {
	setSys := func(name, value string) {
		if sys == nil {
			sys = map[string]string{}
		}
		sys[name] = value
	}
	for rest := bag; rest != ""; {
		var kv string
		kv, rest, _ = strings.Cut(rest, "&")
		if kv == "" {
			continue
		}
		rk, rv, _ := strings.Cut(kv, "=")
		k, err := unescape(rk)
		if err != nil {
			return nil, nil, fmt.Errorf("property bag key %q is not URL-encoded: %w", rk, err)
		}
		v, err := unescape(rv)
		if err != nil {
			return nil, nil, fmt.Errorf("property bag value %q of %q is not URL-encoded: %w", rv, k, err)
		}
		if name, ok := bagSystemKeys[k]; ok {
			setSys(name, v)
			continue
		}
		if strings.HasPrefix(k, "$.") || k == "" {
			continue
		}
		if k == PropCreationTimeUTC {
			setSys(PropCreationTimeUTC, v)
			continue
		}
		app = append(app, Property{k, v})
	}
	return app, sys, nil
}

// withContentType adds an MQTT 5 message's content type to its system
// properties (made when nil), unless its property bag set one ($.ct wins).
func withContentType(sys map[string]string, contentType string) map[string]string {
	if _, ok := sys[PropContentType]; ok || contentType == "" {
		return sys
	}
	if sys == nil {
		sys = map[string]string{}
	}
	sys[PropContentType] = contentType
	return sys
}

// unescape is url.QueryUnescape, without its copy when there is nothing
// to unescape (the usual case).
func unescape(s string) (string, error) {
	if !strings.ContainsAny(s, "%+") {
		return s, nil
	}
	return url.QueryUnescape(s)
}

// Headers are a message's record headers on the built-in endpoint:
// the application properties (minus names that clash with a system
// property, which the system property wins), then the system properties.
func Headers(id Identity, app []Property, sys map[string]string, enqueued time.Time) []Property {
	return appendHeaders(make([]Property, 0, len(app)+len(SystemProperties)), id, app, sys, enqueued,
		func(name, value string) Property { return Property{name, value} })
}

// appendHeaders appends Headers to dst, each made by mk: the endpoint
// builds its records' headers directly, without an intermediate list.
func appendHeaders[H any](dst []H, id Identity, app []Property, sys map[string]string, enqueued time.Time, mk func(name, value string) H) []H {
	// No map of all properties: this runs for every device message, and
	// the fixed ones are looked up by name instead.
	enq := types.FormatDateTime(enqueued) // IoT Hub writes times as Kusto does
	value := func(name string) (string, bool) {
		switch name {
		case PropDeviceID:
			return id.Device, true
		case PropModuleID:
			if id.Module != "" {
				return id.Module, true
			}
		case PropAuthMethod:
			if id.Scope != "" { // a broker-bound hub's messages did not authenticate with odx
				return id.AuthMethod(), true
			}
		case PropAuthGenerationID:
			return id.GenerationID, true
		case PropEnqueuedTime:
			return enq, true
		case PropMessageSource:
			return "Telemetry", true
		case PropDataSchema:
			if id.ModelID != "" {
				return id.ModelID, true
			}
		}
		v, ok := sys[name]
		return v, ok
	}
	for _, p := range app {
		if _, clash := value(p.Name); !clash {
			dst = append(dst, mk(p.Name, p.Value))
		}
	}
	for _, n := range SystemProperties {
		if v, ok := value(n); ok && v != "" {
			dst = append(dst, mk(n, v))
		}
	}
	return dst
}
