package eventhub

import "encoding/binary"

// headerValue decodes a Kafka record header as a string.
//
// Producers that send to Azure Event Hubs over AMQP (the Event Hubs SDKs)
// have their application properties delivered to Kafka consumers AMQP
// encoded: a type byte, a length, then the bytes. Kafka producers send raw
// bytes. Strings and symbols are decoded; anything else is taken as is. The
// AMQP type codes used here (0xa1, 0xb1, 0xa3, 0xb3) are UTF-8
// continuation bytes, so no valid raw UTF-8 header is mistaken for one.
func headerValue(b []byte) string {
	if len(b) >= 2 && (b[0] == 0xa1 || b[0] == 0xa3) && int(b[1]) == len(b)-2 {
		return string(b[2:])
	}
	if len(b) >= 5 && (b[0] == 0xb1 || b[0] == 0xb3) && int(binary.BigEndian.Uint32(b[1:5])) == len(b)-5 {
		return string(b[5:])
	}
	return string(b)
}
