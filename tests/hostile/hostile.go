// Package hostile is the table of hostile payloads the function must refuse:
// each with the code every one of its messages must end with. The stored
// rows are in hostile.txt; Rows adds those too large or too deep to store.
// function/invoke runs the table through the handler, tests/e2e through the
// compiled binary.
package hostile

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

//go:embed hostile.txt
var table string

// Row is one hostile payload.
type Row struct {
	Name, Code string
	Payload    []byte
	// Messages is how many messages the payload gives (each ends with Code).
	Messages int
	// Generated marks a row built by Generated rather than read from hostile.txt.
	Generated bool
}

// Rows is every row: hostile.txt's, then Generated's.
func Rows() ([]Row, error) {
	stored, err := Stored()
	if err != nil {
		return nil, err
	}
	return append(stored, Generated()...), nil
}

// Stored reads hostile.txt: NAME CODE PAYLOAD per line, the payload a Go
// string literal (strconv.Unquote reads it, so any byte can be written and
// the file stays text). Blank lines and lines starting with # are skipped.
func Stored() ([]Row, error) {
	var rows []Row
	names := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(table))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, rest, _ := strings.Cut(line, " ")
		code, literal, _ := strings.Cut(strings.TrimSpace(rest), " ")
		payload, err := strconv.Unquote(strings.TrimSpace(literal))
		if err != nil || names[name] || code == "" {
			return nil, fmt.Errorf("hostile.txt:%d: cannot read %q (a repeated name, no code, or a bad literal: %v)", n, line, err)
		}
		names[name] = true
		rows = append(rows, Row{Name: name, Code: code, Payload: []byte(payload), Messages: 1})
	}
	return rows, sc.Err()
}

// ValidImage is an Available web image of events/seed/demo.json.
const ValidImage = "m-bp1a2b3c4d5e6f7g8h9i"

// CodePayloadTooLarge is invoke.CodePayloadTooLarge, repeated so that this
// package stays a leaf (its users import both).
const CodePayloadTooLarge = "InvalidParameter.PayloadTooLarge"

// Generated are the rows too large or too deep to store, built here: 10 MB
// and 30 MB bodies (over MAX_PAYLOAD_BYTES's default of 6 MiB), a 5 MB value
// under it, 100,000 levels of nesting, 1,000 bad intents, 1 MB ids and names.
func Generated() []Row {
	mb := func(n int) string { return strings.Repeat("x", n<<20) }
	deep := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	var bad bytes.Buffer
	bad.WriteByte('[')
	for i := range 1000 {
		if i > 0 {
			bad.WriteByte(',')
		}
		fmt.Fprintf(&bad, `{"action":"deprecate","imageId":"i-not-an-image-%d"}`, i)
	}
	bad.WriteByte(']')
	mnsBody := func(body string) string {
		q, _ := json.Marshal(body)
		return `[{"id":"c1","specversion":"1.0","type":"mns:Queue:SendMessage","data":{"messageId":"M1","messageBody":` + string(q) + `}}]`
	}
	rows := []Row{
		{Name: "10 MB body", Code: CodePayloadTooLarge,
			Payload: []byte(`{"action":"modify","imageId":"` + ValidImage + `","attributes":{"description":"` + mb(10) + `"}}`)},
		{Name: "30 MB body", Code: CodePayloadTooLarge,
			Payload: []byte(mnsBody(`{"action":"modify","imageId":"` + ValidImage + `","attributes":{"description":"` + mb(30) + `"}}`))},
		{Name: "5 MB description, under the limit: parsed and refused by the rule", Code: "InvalidDescription.Malformed",
			Payload: []byte(`{"action":"modify","imageId":"` + ValidImage + `","attributes":{"description":"` + mb(5) + `"}}`)},
		{Name: "100k-deep nesting", Code: "InvalidParameter.TooDeep", Payload: []byte(deep)},
		{Name: "100k-deep nesting in an intent field", Code: "InvalidParameter.TooDeep",
			Payload: []byte(`{"action":"deprecate","imageId":"` + ValidImage + `","x":` + deep + `}`)},
		{Name: "100k-deep nesting in an MNS body", Code: "InvalidParameter.TooDeep", Payload: []byte(mnsBody(deep))},
		{Name: "1,000 bad intents", Code: "InvalidImageId.Malformed", Payload: bad.Bytes(), Messages: 1000},
		{Name: "1 MB imageId", Code: "InvalidImageId.Malformed", Payload: []byte(`{"action":"deprecate","imageId":"m-` + mb(1) + `"}`)},
		{Name: "1 MB id", Code: "InvalidParameter.Id", Payload: []byte(`{"action":"deprecate","imageId":"` + ValidImage + `","id":"` + mb(1) + `"}`)},
		{Name: "1 MB field name", Code: "InvalidParameter.UnknownField", Payload: []byte(`{"action":"deprecate","imageId":"` + ValidImage + `","` + mb(1) + `":1}`)},
		{Name: "1 MB MNS message id on a broken body", Code: "InvalidParameter.Payload",
			Payload: []byte(`[{"id":"c1","specversion":"1.0","type":"mns:Queue:SendMessage","data":{"messageId":"` + mb(1) + `","messageBody":"not json!"}}]`)},
		{Name: "1 MB of base64 garbage", Code: "InvalidParameter.Payload",
			Payload: []byte(mnsBody(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef}, 1<<18))))},
	}
	for i := range rows {
		rows[i].Generated = true
		rows[i].Messages = max(rows[i].Messages, 1)
	}
	return rows
}
