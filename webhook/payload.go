package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/netip"
	"strings"
	"unicode/utf8"
)

// maxSenderBytes bounds the sender name, which keys the rate limiter.
const maxSenderBytes = 256

// jsonMessage is the JSON shape a caller posts outside raw mode.
type jsonMessage struct {
	Sender          string            `json:"sender"`
	Content         string            `json:"content"`
	Thread          string            `json:"thread"`
	Metadata        map[string]string `json:"metadata"`
	WaitForResponse bool              `json:"wait_for_response"`
}

// fieldKinds says, in the package's words, what each field of the message
// shape must be; a decoding error is reported with it rather than with the
// decoder's text, which names Go types.
var fieldKinds = map[string]string{
	"sender":            "a string",
	"content":           "a string",
	"thread":            "a string",
	"metadata":          "an object whose values are strings",
	"wait_for_response": "true or false",
}

// decodeJSON parses a body of the message shape: one JSON object with a
// non-empty sender of at most maxSenderBytes and a non-empty content, and
// nothing after it. Its errors are short sentences for the caller.
func decodeJSON(body []byte) (jsonMessage, error) {
	var req jsonMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil {
		return jsonMessage{}, jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return jsonMessage{}, errors.New("invalid JSON: data after the object")
	}
	switch {
	case strings.TrimSpace(req.Sender) == "":
		return jsonMessage{}, errors.New(`"sender" is required (a handler with Config.Raw takes bodies of any shape)`)
	case len(req.Sender) > maxSenderBytes:
		// The sender is a rate-limit key: an unbounded key would let the
		// limiter's bounded slot count hold unbounded memory.
		return jsonMessage{}, fmt.Errorf(`"sender" is over %d bytes`, maxSenderBytes)
	case req.Content == "":
		return jsonMessage{}, errors.New(`"content" is required`)
	}
	return req, nil
}

// jsonError words a decoding error for the caller.
func jsonError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return errors.New("the body is empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("invalid JSON: the body ends too early")
	case errors.As(err, &syntax):
		return fmt.Errorf("invalid JSON at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		field, _, _ := strings.Cut(typ.Field, ".")
		if kind, ok := fieldKinds[field]; ok {
			return fmt.Errorf("%q must be %s", field, kind)
		}
		return errors.New("the body must be a JSON object")
	}
	return errors.New("invalid JSON")
}

// isJSON reports whether a Content-Type is application/json.
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
}

// truncate returns s cut to at most n bytes without splitting a UTF-8
// character; it is empty if the first character is longer than n.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// fieldValue returns the value at a dot-separated path of a JSON body: a
// string's text, another value's compact JSON, or "" if the body has no
// such field, or has one of the path's names twice in an object.
func fieldValue(body []byte, path string) string {
	cur := json.RawMessage(body)
	for part := range strings.SplitSeq(path, ".") {
		v, ok := member(cur, part)
		if !ok {
			return ""
		}
		cur = v
	}
	var s string
	if json.Unmarshal(cur, &s) == nil {
		return s
	}
	var b bytes.Buffer
	if json.Compact(&b, cur) != nil {
		return ""
	}
	return b.String()
}

// hasMember reports whether body is a JSON object with a member named
// exactly name, once or more.
func hasMember(body []byte, name string) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return false
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		if tok == name {
			return true
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return false
		}
	}
	return false
}

// member returns the value of the member named exactly name (case
// included) of the JSON object in data. It reports false if data is not
// one JSON object, has no such member, or has it more than once: which of
// two a sender meant cannot be told, and decoders differ on it.
// encoding/json's decoding into a struct would match "TYPE" or "Type" for
// "type", and keep the last of several.
func member(data []byte, name string) (json.RawMessage, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	var found json.RawMessage
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		if tok == name {
			if found != nil {
				return nil, false
			}
			found = v
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	return found, found != nil
}

// addrKey returns the rate-limit key of a remote address: the IP without
// the port, and for IPv6 the /64 prefix, which one host usually holds
// whole. net/http writes RemoteAddr as "ip:port", but a middleware that
// puts the client's address there may write the IP alone, with or without
// brackets: each form of one address gives the same key. Anything else is
// its own key, bounded as every rate-limit key is.
func addrKey(remote string) string {
	var ip netip.Addr
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		ip = ap.Addr()
	} else {
		bare := remote
		if len(bare) > 2 && bare[0] == '[' && bare[len(bare)-1] == ']' {
			bare = bare[1 : len(bare)-1]
		}
		if ip, err = netip.ParseAddr(bare); err != nil {
			return boundKey(remote)
		}
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is4() {
		return ip.String()
	}
	p, _ := ip.Prefix(64)
	return p.String()
}
