package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
)

// The multi-step examples of Microsoft's scan operator page, with their
// documented outputs.
var scanStepCases = []string{
	`{"id": "scan-sessions", "query": "let Events = datatable (Ts: timespan, Event: string) [0m, \"A\", 1m, \"A\", 2m, \"B\", 3m, \"D\", 32m, \"B\", 36m, \"C\", 38m, \"D\", 41m, \"E\", 75m, \"A\"]; Events | sort by Ts asc | scan with_match_id=session_id declare (sessionStart: timespan) with (step inSession: true => sessionStart = iff(isnull(inSession.sessionStart), Ts, inSession.sessionStart); step endSession output=none: Ts - inSession.sessionStart > 30m;)",
	  "expected": {"columns": [{"name": "Ts", "type": "timespan"}, {"name": "Event", "type": "string"}, {"name": "sessionStart", "type": "timespan"}, {"name": "session_id", "type": "long"}],
	  "rows": [["00:00:00", "A", "00:00:00", 0], ["00:01:00", "A", "00:00:00", 0], ["00:02:00", "B", "00:00:00", 0], ["00:03:00", "D", "00:00:00", 0], ["00:32:00", "B", "00:32:00", 1], ["00:36:00", "C", "00:32:00", 1], ["00:38:00", "D", "00:32:00", 1], ["00:41:00", "E", "00:32:00", 1], ["01:15:00", "A", "01:15:00", 2]]}, "ordered": true}`,
	`{"id": "scan-start-stop", "query": "let Events = datatable (Ts: timespan, Event: string) [0m, \"A\", 1m, \"Start\", 2m, \"B\", 3m, \"D\", 4m, \"Stop\", 6m, \"C\", 8m, \"Start\", 11m, \"E\", 12m, \"Stop\"]; Events | sort by Ts asc | scan with_match_id=m_id with (step s1: Event == \"Start\"; step s2: Event != \"Start\" and Event != \"Stop\" and Ts - s1.Ts <= 5m; step s3: Event == \"Stop\" and Ts - s1.Ts <= 5m;)",
	  "expected": {"columns": [{"name": "Ts", "type": "timespan"}, {"name": "Event", "type": "string"}, {"name": "m_id", "type": "long"}],
	  "rows": [["00:01:00", "Start", 0], ["00:02:00", "B", 0], ["00:03:00", "D", 0], ["00:04:00", "Stop", 0], ["00:08:00", "Start", 1], ["00:11:00", "E", 1], ["00:12:00", "Stop", 1]]}, "ordered": true}`,
	`{"id": "scan-login-logout", "query": "datatable(Timestamp:datetime, userID:int, EventType:string) [datetime(2024-05-28 08:15:23), 1, \"login\", datetime(2024-05-28 12:30:45), 1, \"logout\"] | sort by Timestamp asc | scan declare (start: datetime, end: datetime, sessionDuration: timespan) with (step s1 output=none: EventType == \"login\" => start = Timestamp; step s2 output=all: EventType == \"logout\" => start = s1.start, end = Timestamp, sessionDuration = Timestamp - s1.start;) | project start, end, userID, sessionDuration",
	  "expected": {"columns": [{"name": "start", "type": "datetime"}, {"name": "end", "type": "datetime"}, {"name": "userID", "type": "int"}, {"name": "sessionDuration", "type": "timespan"}],
	  "rows": [["2024-05-28T08:15:23Z", "2024-05-28T12:30:45Z", 1, "04:15:22"]]}, "ordered": true}`,
	`{"id": "scan-partition-sessions", "query": "let LogsEvents = datatable(Timestamp:datetime, userID:int, EventType:string) [datetime(2024-05-28 08:15:23), 1, \"login\", datetime(2024-05-28 08:30:15), 2, \"login\", datetime(2024-05-28 09:10:27), 3, \"login\", datetime(2024-05-28 12:30:45), 1, \"logout\", datetime(2024-05-28 11:45:32), 2, \"logout\", datetime(2024-05-28 13:25:19), 3, \"logout\"]; LogsEvents | sort by userID, Timestamp | partition hint.strategy=native by userID (sort by Timestamp asc | scan declare (start: datetime, end: datetime, sessionDuration: timespan) with (step s1 output=none: EventType == \"login\" => start = Timestamp; step s2 output=all: EventType == \"logout\" => start = s1.start, end = Timestamp, sessionDuration = Timestamp - s1.start;)) | project start, end, userID, sessionDuration",
	  "expected": {"columns": [{"name": "start", "type": "datetime"}, {"name": "end", "type": "datetime"}, {"name": "userID", "type": "int"}, {"name": "sessionDuration", "type": "timespan"}],
	  "rows": [["2024-05-28T08:15:23Z", "2024-05-28T12:30:45Z", 1, "04:15:22"], ["2024-05-28T09:10:27Z", "2024-05-28T13:25:19Z", 3, "04:14:52"], ["2024-05-28T08:30:15Z", "2024-05-28T11:45:32Z", 2, "03:15:17"]]}, "ordered": false}`,
	`{"id": "scan-reset-sums", "query": "range x from 1 to 5 step 1 | extend y = 2 * x | scan declare (cumulative_x:long=0, cumulative_y:long=0) with (step s1: true => cumulative_x = iff(s1.cumulative_x >= 10, x, x + s1.cumulative_x), cumulative_y = iff(s1.cumulative_y >= 10, y, y + s1.cumulative_y);)",
	  "expected": {"columns": [{"name": "x", "type": "long"}, {"name": "y", "type": "long"}, {"name": "cumulative_x", "type": "long"}, {"name": "cumulative_y", "type": "long"}],
	  "rows": [[1, 2, 1, 2], [2, 4, 3, 6], [3, 6, 6, 12], [4, 8, 10, 8], [5, 10, 5, 18]]}, "ordered": true}`,
	`{"id": "scan-output-last", "query": "datatable(i:long, v:string) [1, \"a\", 2, \"b\", 3, \"b\", 4, \"b\", 5, \"a\", 6, \"b\"] | sort by i asc | scan with (step s1 output=none: v == \"a\"; step s2 output=last: v == \"b\";)",
	  "expected": {"columns": [{"name": "i", "type": "long"}, {"name": "v", "type": "string"}],
	  "rows": [[4, "b"], [6, "b"]]}, "ordered": true}`,
}

func TestScanSteps(t *testing.T) {
	db := openEngine(t)
	for _, src := range scanStepCases {
		var c Case
		dec := json.NewDecoder(bytes.NewReader([]byte(src)))
		dec.UseNumber()
		if err := dec.Decode(&c); err != nil {
			t.Fatalf("bad case: %v", err)
		}
		if reason := runCase(db, c); reason != "" {
			t.Errorf("%s: %s", c.ID, reason)
		}
	}
}

func TestScanInsideMvApply(t *testing.T) {
	db := openEngine(t)
	// per row: the running sum over the row's own array
	names, rows := queryRows(t, db, `datatable(id:long, a:dynamic) [1, dynamic([1, 2, 3]), 2, dynamic([10, 20])] | mv-apply x = a to typeof(long) on (scan declare (s:long = 0) with (step k: true => s = k.s + x;)) | project id, x, s`)
	if fmt.Sprint(names, rows) != "[id x s] [[1 1 1] [1 2 3] [1 3 6] [2 10 10] [2 20 30]]" {
		t.Errorf("got %v %v", names, rows)
	}
}
