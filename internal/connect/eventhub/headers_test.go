package eventhub

import "testing"

func TestHeaderValue(t *testing.T) {
	cases := []struct {
		in   []byte
		want string
	}{
		{[]byte("Weather"), "Weather"},
		{append([]byte{0xa1, 7}, "Weather"...), "Weather"},    // AMQP str8-utf8
		{append([]byte{0xb1, 0, 0, 0, 4}, "json"...), "json"}, // AMQP str32-utf8
		{append([]byte{0xa3, 3}, "csv"...), "csv"},            // AMQP sym8
		{[]byte{0xa1, 9, 'x'}, string([]byte{0xa1, 9, 'x'})},  // wrong length: raw
		{[]byte{}, ""},
		{[]byte("ünïcode"), "ünïcode"},
	}
	for _, c := range cases {
		if got := headerValue(c.in); got != c.want {
			t.Errorf("headerValue(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
