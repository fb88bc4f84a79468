package eventgrid

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Event types a connection can ingest on (blobStorageEventType).
const (
	BlobCreated = "Microsoft.Storage.BlobCreated"
	BlobRenamed = "Microsoft.Storage.BlobRenamed"
)

// Notice is one storage event of a notification, in either schema.
type Notice struct {
	ID      string
	Type    string // Microsoft.Storage.BlobCreated, ...
	Topic   string // the storage account's resource id (topic or source)
	Subject string
	API     string // PutBlob, PutBlockList, CopyBlob, CreateFile, FlushWithClose, RenameFile, ...
	// URL is the blob to ingest: data.url, or data.destinationUrl for
	// BlobRenamed.
	URL string
	// ContentLength is data.contentLength; -1 when the event has none.
	ContentLength int64
}

// rawEvent has the fields of both schemas: Event Grid (eventType, topic)
// and CloudEvents 1.0 (type, source, specversion).
type rawEvent struct {
	ID          string          `json:"id"`
	EventType   string          `json:"eventType"`
	Type        string          `json:"type"`
	Topic       string          `json:"topic"`
	Source      string          `json:"source"`
	Subject     string          `json:"subject"`
	SpecVersion string          `json:"specversion"`
	Data        json.RawMessage `json:"data"`
}

type rawData struct {
	API            string       `json:"api"`
	URL            string       `json:"url"`
	DestinationURL string       `json:"destinationUrl"`
	ContentLength  *json.Number `json:"contentLength"`
}

// ParseNotification reads one event hub message: one event or a JSON array
// of events, in the Event Grid schema or CloudEvents 1.0. A message that is
// not such JSON is an error (ADX discards events the Event Grid SDK cannot
// parse).
func ParseNotification(body []byte) ([]Notice, error) {
	body = bytes.TrimSpace(body)
	var raws []rawEvent
	switch {
	case len(body) == 0:
		return nil, fmt.Errorf("the notification is empty")
	case body[0] == '[':
		if err := json.Unmarshal(body, &raws); err != nil {
			return nil, fmt.Errorf("the notification is not a JSON array of Event Grid events: %v", err)
		}
	case body[0] == '{':
		var r rawEvent
		if err := json.Unmarshal(body, &r); err != nil {
			return nil, fmt.Errorf("the notification is not an Event Grid event: %v", err)
		}
		raws = []rawEvent{r}
	default:
		return nil, fmt.Errorf("the notification is not JSON (it starts with %q); Event Grid delivers JSON events", firstBytes(body))
	}
	out := make([]Notice, 0, len(raws))
	for i, r := range raws {
		n := Notice{ID: r.ID, Type: r.EventType, Topic: r.Topic, Subject: r.Subject, ContentLength: -1}
		if n.Type == "" {
			n.Type, n.Topic = r.Type, r.Source // CloudEvents 1.0
		}
		if n.Type == "" {
			return nil, fmt.Errorf("event %d of the notification has neither eventType (Event Grid schema) nor type (CloudEvents)", i+1)
		}
		if len(r.Data) > 0 && !bytes.Equal(r.Data, []byte("null")) {
			var d rawData
			dec := json.NewDecoder(bytes.NewReader(r.Data))
			dec.UseNumber()
			if err := dec.Decode(&d); err != nil {
				return nil, fmt.Errorf("event %d (%s): data is not a storage event's data object: %v", i+1, n.Type, err)
			}
			n.API, n.URL = d.API, d.URL
			if strings.EqualFold(n.Type, BlobRenamed) {
				n.URL = d.DestinationURL
			}
			if d.ContentLength != nil {
				if v, err := d.ContentLength.Int64(); err == nil {
					n.ContentLength = v
				}
			}
		}
		out = append(out, n)
	}
	return out, nil
}

func firstBytes(b []byte) string {
	if len(b) > 16 {
		b = b[:16]
	}
	return string(b)
}

// accountOfTopic is the storage account a topic (.../storageAccounts/<name>)
// names, "" when it names none.
func accountOfTopic(topic string) string {
	parts := strings.Split(strings.Trim(topic, "/"), "/")
	for i := 0; i+1 < len(parts); i++ {
		if strings.EqualFold(parts[i], "storageAccounts") {
			return strings.ToLower(parts[i+1])
		}
	}
	return ""
}
