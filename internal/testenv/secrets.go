package testenv

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
)

// SecretForms are the shapes in which a credential could leak into a log
// line, a report or a queue message: as it is, URL-encoded, JSON-escaped and
// in base64. A test that proves no secret is shown looks for each.
func SecretForms(secret string) map[string]string {
	j, _ := json.Marshal(secret)
	return map[string]string{
		"raw":          secret,
		"URL-encoded":  url.QueryEscape(secret),
		"JSON-escaped": string(j[1 : len(j)-1]),
		"base64":       base64.StdEncoding.EncodeToString([]byte(secret)),
	}
}
