package iothub_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"strconv"
)

func hmacSHA256(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
